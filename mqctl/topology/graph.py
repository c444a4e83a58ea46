"""The routing graph of a topology: a tree for the terminal, Graphviz dot, and Mermaid.

Edges: exchange -> (binding key) -> queue or exchange; an exchange's alternate exchange (AE) and a
queue's dead-letter exchange (DLX) are drawn as marked edges.
"""

from __future__ import annotations

import json
from typing import Any

from mqctl.topology.model import Binding, Exchange, Queue, Topology


def _edges(topology: Topology, vhost: str) -> list[tuple[str, str, str, str]]:
    """(kind, from, to, label) for every edge in one vhost; kinds: bind, ae, dlx."""
    edges: list[tuple[str, str, str, str]] = []
    for b in topology.of(Binding):
        if b.vhost == vhost:
            label = b.routing_key
            if b.arguments:
                label += " " + json.dumps(b.arguments, sort_keys=True, ensure_ascii=False)
            target = f"{'q' if b.destination_type == 'queue' else 'x'}:{b.destination}"
            edges.append(("bind", f"x:{b.source}", target, label))
    for e in topology.of(Exchange):
        if e.vhost == vhost and e.alternate_exchange:
            edges.append(("ae", f"x:{e.name}", f"x:{e.alternate_exchange}", "alternate-exchange"))
    for q in topology.of(Queue):
        if q.vhost == vhost and q.dead_letter_exchange is not None:
            rk = q.arguments.get("x-dead-letter-routing-key")
            label = "dead-letter" + (f" key {rk}" if isinstance(rk, str) else "")
            edges.append(
                ("dlx", f"q:{q.name}", f"x:{q.dead_letter_exchange or '(default)'}", label)
            )
    return edges


def _vhosts(topology: Topology) -> list[str]:
    return topology.vhosts_used() or ["/"]


def graph_tree(topology: Topology) -> list[tuple[str, list[dict[str, Any]]]]:
    """One tree per vhost: exchanges at the root, what they route to beneath."""
    result = []
    for vhost in _vhosts(topology):
        edges = _edges(topology, vhost)
        exchanges = [e.name for e in topology.of(Exchange) if e.vhost == vhost]
        for _, source, _, _ in edges:
            if source.startswith("x:") and source[2:] not in exchanges:
                exchanges.append(source[2:])
        by_source: dict[str, list[tuple[str, str, str]]] = {}
        for kind, source, target, label in edges:
            by_source.setdefault(source, []).append((kind, target, label))

        def grow(
            node: str,
            seen: frozenset[str],
            by_source: dict[str, list[tuple[str, str, str]]] = by_source,
        ) -> list[dict[str, Any]]:
            children = []
            for kind, target, label in by_source.get(node, []):
                name = _display(target)
                if kind == "bind":
                    text = f"[{label}] -> {name}" if label else f"-> {name}"
                    style = ""
                elif kind == "ae":
                    text, style = f"(AE) unroutable -> {name}", "yellow"
                else:
                    text, style = f"(DLX) {label} -> {name}", "magenta"
                child: dict[str, Any] = {"label": text, "style": style}
                if target not in seen:
                    child["children"] = grow(target, seen | {target})
                else:
                    child["label"] += " (cycle)"
                children.append(child)
            return children

        branches = [
            {
                "label": f"exchange {name!r}",
                "style": "bold",
                "children": grow(f"x:{name}", frozenset({f"x:{name}"})),
            }
            for name in exchanges
        ]
        bound = {t for _, _, t, _ in edges}
        for q in topology.of(Queue):
            if q.vhost == vhost and f"q:{q.name}" not in bound:
                branches.append(
                    {
                        "label": f"queue {q.name!r} (no bindings: default exchange only)",
                        "style": "dim",
                    }
                )
        result.append((f"vhost {vhost!r}", branches))
    return result


def _display(node: str) -> str:
    kind, _, name = node.partition(":")
    return f"{'queue' if kind == 'q' else 'exchange'} {name!r}"


def _dot_id(node: str) -> str:
    return json.dumps(node, ensure_ascii=False)


def graph_dot(topology: Topology) -> str:
    lines = ["digraph topology {", "  rankdir=LR;", '  node [fontname="Helvetica"];']
    for index, vhost in enumerate(_vhosts(topology)):
        lines.append(f"  subgraph cluster_{index} {{")
        lines.append(f"    label={json.dumps('vhost ' + vhost, ensure_ascii=False)};")
        nodes = _nodes(topology, vhost)
        for node in nodes:
            shape = "box" if node.startswith("q:") else "ellipse"
            ident = _dot_id(f"{vhost}|{node}")
            label = json.dumps(node[2:] or "(default)", ensure_ascii=False)
            lines.append(f"    {ident} [label={label}, shape={shape}];")
        for kind, source, target, label in _edges(topology, vhost):
            style = {"bind": "solid", "ae": "dashed", "dlx": "dotted"}[kind]
            text = {"bind": label, "ae": "AE", "dlx": "DLX"}[kind]
            lines.append(
                f"    {_dot_id(f'{vhost}|{source}')} -> {_dot_id(f'{vhost}|{target}')} "
                f"[label={json.dumps(text, ensure_ascii=False)}, style={style}];"
            )
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines)


def _nodes(topology: Topology, vhost: str) -> list[str]:
    nodes: dict[str, None] = {}
    for e in topology.of(Exchange):
        if e.vhost == vhost:
            nodes[f"x:{e.name}"] = None
    for q in topology.of(Queue):
        if q.vhost == vhost:
            nodes[f"q:{q.name}"] = None
    for _, source, target, _ in _edges(topology, vhost):
        nodes.setdefault(source, None)
        nodes.setdefault(target, None)
    return list(nodes)


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;")


def graph_mermaid(topology: Topology) -> str:
    lines = ["flowchart LR"]
    ids: dict[str, str] = {}

    def ident(key: str) -> str:
        return ids.setdefault(key, f"n{len(ids)}")

    for vhost in _vhosts(topology):
        lines.append(f'  subgraph v{len(ids)}["vhost {_mermaid_text(vhost)}"]')
        for node in _nodes(topology, vhost):
            name = _mermaid_text(node[2:] or "(default)")
            shape = f'["{name}"]' if node.startswith("q:") else f'(["{name}"])'
            lines.append(f"    {ident(vhost + '|' + node)}{shape}")
        lines.append("  end")
        for kind, source, target, label in _edges(topology, vhost):
            a, b = ident(vhost + "|" + source), ident(vhost + "|" + target)
            if kind == "bind":
                text = _mermaid_text(label) if label else " "
                lines.append(f'  {a} -->|"{text}"| {b}')
            else:
                lines.append(f'  {a} -.->|"{kind.upper()}"| {b}')
    return "\n".join(lines)
