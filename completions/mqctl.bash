_mqctl_completion() {
    local IFS=$'\n'
    local -a reply
    reply=( $(env COMP_WORDS="${COMP_WORDS[*]}" COMP_CWORD=$COMP_CWORD \
        COMP_LINE="$COMP_LINE" COMP_POINT=$COMP_POINT COMP_WORDBREAKS="$COMP_WORDBREAKS" \
        _MQCTL_COMPLETE=complete_bash "$1") )
    case ${reply[0]-} in
        files) compopt -o default; COMPREPLY=() ;;
        paths) compopt -o filenames; COMPREPLY=( "${reply[@]:1}" ) ;;
        plain) COMPREPLY=( "${reply[@]:1}" ) ;;
        *) COMPREPLY=() ;;
    esac
    return 0
}

complete -F _mqctl_completion mqctl
