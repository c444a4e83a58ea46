"""`wire sniff`: live packets from a network interface through a raw `AF_PACKET` socket.

The port filter runs in the kernel: a classic BPF program ("tcp port N" over IPv4 and IPv6,
compiled here instruction by instruction) is attached with SO_ATTACH_FILTER before the socket is
bound, so other traffic is never copied to us. On loopback every packet passes the packet tap
twice (outgoing, then incoming); the program drops the outgoing copy, as libpcap does.

What comes out is the same `Packet` a capture file gives, so everything after this step (TCP
reassembly, the stream decoder, the renderers) is shared with `wire read`.
"""

from __future__ import annotations

import ctypes
import errno
import select
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from mqctl.errors import BadInput, Unreachable
from mqctl.wire.capture import Packet
from mqctl.wire.packets import LINKTYPE_ETHERNET, LINKTYPE_RAW

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
SOL_PACKET = 263
PACKET_STATISTICS = 6
SO_ATTACH_FILTER = 26
SO_TIMESTAMPNS = 35
SO_RCVBUFFORCE = 33
PACKET_OUTGOING = 4
ARPHRD_ETHER = 1
ARPHRD_LOOPBACK = 772
SNAPLEN = 262144
RECEIVE_BUFFER = 32 << 20  # kernel-side slack for bursts while the decoder renders

# Classic BPF opcodes (linux/filter.h, linux/bpf_common.h).
BPF_LD_H_ABS = 0x28
BPF_LD_B_ABS = 0x30
BPF_LD_W_ABS = 0x20
BPF_LD_H_IND = 0x48
BPF_LDX_B_MSH = 0xB1  # X = 4 * (packet[k] & 0x0f): the IPv4 header length
BPF_JEQ_K = 0x15
BPF_JSET_K = 0x45
BPF_RET_K = 0x06
# Ancillary loads: metadata of the packet rather than its bytes.
SKF_AD_OFF = 0xFFFFF000  # -0x1000 as an unsigned 32-bit offset
SKF_AD_PROTOCOL = 0  # skb->protocol: the ethertype, also on cooked (link-header-less) sockets
SKF_AD_PKTTYPE = 4  # PACKET_HOST, PACKET_OUTGOING, ...
SKF_AD_IFINDEX = 8


class BpfInsn(NamedTuple):
    code: int
    jt: int
    jf: int
    k: int


class _Jump(NamedTuple):
    """An instruction whose branch targets are labels until the program is assembled."""

    code: int
    k: int
    true: str | None
    false: str | None


def _assemble(items: list[_Jump | str]) -> list[BpfInsn]:
    """Turn a list of instructions and label strings into BPF with relative jump offsets."""
    labels: dict[str, int] = {}
    position = 0
    for item in items:
        if isinstance(item, str):
            labels[item] = position
        else:
            position += 1
    program: list[BpfInsn] = []
    for item in items:
        if isinstance(item, str):
            continue
        here = len(program)

        def offset(label: str | None, here: int = here) -> int:
            if label is None:
                return 0
            distance = labels[label] - here - 1
            if not 0 <= distance <= 255:
                raise ValueError(f"BPF jump to {label} out of range")
            return distance

        program.append(BpfInsn(item.code, offset(item.true), offset(item.false), item.k))
    return program


def _op(code: int, k: int = 0) -> _Jump:
    return _Jump(code, k, None, None)


def _jeq(k: int, true: str | None, false: str | None) -> _Jump:
    return _Jump(BPF_JEQ_K, k, true, false)


def tcp_port_filter(
    port: int, network_offset: int, drop_outgoing_ifindex: int | None = None
) -> list[BpfInsn]:
    """BPF for "tcp port `port`" over IPv4 (unfragmented or first fragment) and IPv6.

    `network_offset`: where the IP header starts in what the socket sees (14 on Ethernet and
    Linux loopback, 0 on a cooked SOCK_DGRAM socket). The ethertype comes from the packet's
    metadata, so the same program serves both. `drop_outgoing_ifindex`: drop the outgoing copy of
    packets on this interface (loopback; 0 for "whichever interface the socket is bound to").
    """
    n = network_offset
    items: list[_Jump | str] = []
    if drop_outgoing_ifindex is not None:
        if drop_outgoing_ifindex:
            items += [
                _op(BPF_LD_W_ABS, SKF_AD_OFF + SKF_AD_IFINDEX),
                _jeq(drop_outgoing_ifindex, None, "direction_ok"),
            ]
        items += [
            _op(BPF_LD_W_ABS, SKF_AD_OFF + SKF_AD_PKTTYPE),
            _jeq(PACKET_OUTGOING, "drop", None),
            "direction_ok",
        ]
    items += [
        _op(BPF_LD_H_ABS, SKF_AD_OFF + SKF_AD_PROTOCOL),
        _jeq(ETH_P_IPV6, None, "ipv4"),
        _op(BPF_LD_B_ABS, n + 6),  # IPv6 next header (extension headers are not walked)
        _jeq(socket.IPPROTO_TCP, None, "drop"),
        _op(BPF_LD_H_ABS, n + 40),
        _jeq(port, "accept", None),
        _op(BPF_LD_H_ABS, n + 42),
        _jeq(port, "accept", "drop"),
        "ipv4",
        _jeq(ETH_P_IP, None, "drop"),
        _op(BPF_LD_B_ABS, n + 9),  # IPv4 protocol
        _jeq(socket.IPPROTO_TCP, None, "drop"),
        _op(BPF_LD_H_ABS, n + 6),
        _Jump(BPF_JSET_K, 0x1FFF, "drop", None),  # a later fragment has no TCP header
        _op(BPF_LDX_B_MSH, n),
        _op(BPF_LD_H_IND, n),
        _jeq(port, "accept", None),
        _op(BPF_LD_H_IND, n + 2),
        _jeq(port, "accept", "drop"),
        "accept",
        _op(BPF_RET_K, SNAPLEN),
        "drop",
        _op(BPF_RET_K, 0),
    ]
    return _assemble(items)


def attach_filter(sock: socket.socket, program: list[BpfInsn]) -> None:
    """SO_ATTACH_FILTER: the kernel copies the program, so the buffer need only live this call."""
    code = b"".join(struct.pack("HBBI", *insn) for insn in program)
    buffer = ctypes.create_string_buffer(code)
    fprog = struct.pack("HL", len(program), ctypes.addressof(buffer))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


# --- the capture socket ----------------------------------------------------------------------


class CaptureNotPermitted(Unreachable):
    """No CAP_NET_RAW: raw sockets are refused."""


@dataclass(frozen=True)
class SniffSettings:
    interface: str
    port: int = 5672


@dataclass
class SniffStats:
    packets: int = 0
    kernel_drops: int = 0


def _interface_type(name: str) -> int:
    path = Path("/sys/class/net") / name / "type"
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        names = sorted(p.name for p in Path("/sys/class/net").iterdir()) if name else []
        raise BadInput(
            f"no network interface named {name!r}",
            f"pick one of: {', '.join(names) or 'none found'} (or 'any')",
        ) from None


def open_capture_socket(settings: SniffSettings) -> tuple[socket.socket, int]:
    """A filtered AF_PACKET socket and the link type of what it returns."""
    iface = settings.interface
    bind_to: str | None
    lo_index: int | None
    if iface == "any":
        cooked, bind_to, lo_index = True, None, socket.if_nametoindex("lo")
    else:
        kind = _interface_type(iface)
        cooked = kind not in (ARPHRD_ETHER, ARPHRD_LOOPBACK)
        bind_to, lo_index = iface, (0 if kind == ARPHRD_LOOPBACK else None)
    try:
        # Protocol 0 receives nothing until bind(): the filter is in place before any packet.
        sock = socket.socket(
            socket.AF_PACKET,
            socket.SOCK_DGRAM if cooked else socket.SOCK_RAW,
            0 if bind_to else socket.htons(ETH_P_ALL),
        )
    except PermissionError:
        raise CaptureNotPermitted(
            f"capturing on {iface} needs root or the CAP_NET_RAW capability",
            "run it as root (or setcap cap_net_raw+ep on the Python binary), "
            "or watch the traffic without privileges through 'mqctl wire proxy'",
        ) from None
    try:
        attach_filter(sock, tcp_port_filter(settings.port, 0 if cooked else 14, lo_index))
        if bind_to:
            sock.bind((bind_to, ETH_P_ALL))
        else:
            _drain(sock)  # an unbound socket saw traffic before its filter was attached
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RECEIVE_BUFFER)
        except OSError:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.ENODEV:
            raise BadInput(f"no network interface named {iface!r}", "see 'ip link'") from None
        raise Unreachable(f"cannot capture on {iface}: {exc.strerror or exc}") from None
    return sock, LINKTYPE_RAW if cooked else LINKTYPE_ETHERNET


def _drain(sock: socket.socket) -> None:
    sock.setblocking(False)
    try:
        while True:
            sock.recv(SNAPLEN)
    except BlockingIOError:
        pass
    finally:
        sock.setblocking(True)


def kernel_drops(sock: socket.socket) -> int:
    """Packets the kernel dropped since the last call (the counters reset when read)."""
    try:
        _packets, drops = struct.unpack("II", sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
    except OSError:
        return 0
    return int(drops)


_TIMESPEC = struct.Struct("qq")


def sniff_packets(
    sock: socket.socket,
    linktype: int,
    stats: SniffStats,
    stop: threading.Event | None = None,
    poll_interval: float = 0.2,
) -> Iterator[Packet]:
    """Packets as they arrive, until `stop` is set (checked every `poll_interval`; the packets
    already queued in the kernel then still come out) or Ctrl-C."""
    buffer = bytearray(SNAPLEN)
    view = memoryview(buffer)
    ancillary = socket.CMSG_SPACE(_TIMESPEC.size)
    recvmsg_into = sock.recvmsg_into
    fd = sock.fileno()
    stopped_at: float | None = None
    while True:
        if stop is not None:
            if stop.is_set() and stopped_at is None:
                # Stopped: what the kernel queued until now still belongs to the capture, but
                # not what keeps arriving on a busy port.
                stopped_at = time.time()
                sock.setblocking(False)
            if stopped_at is None:
                ready, _, _ = select.select([fd], [], [], poll_interval)
                if not ready:
                    continue
        try:
            wire_len, ancdata, _flags, _addr = recvmsg_into([view], ancillary, socket.MSG_TRUNC)
        except BlockingIOError:
            return
        kept = min(wire_len, SNAPLEN)
        ts = 0.0
        for level, kind, data in ancdata:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                sec, nsec = _TIMESPEC.unpack_from(data)
                ts = sec + nsec * 1e-9
        ts = ts or time.time()
        if stopped_at is not None and ts > stopped_at:
            return
        stats.packets += 1
        yield Packet(ts, linktype, bytes(view[:kept]), wire_len)
