"""`wire sniff`: the kernel filter, and a live capture of real traffic on loopback (CI runs as root)."""

from __future__ import annotations

import ctypes
import json
import os
import re
import signal
import struct
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from mqctl.wire.choices import BodyMode
from mqctl.wire.live import proxy_records
from mqctl.wire.packets import LINKTYPE_ETHERNET, LINKTYPE_RAW
from mqctl.wire.pcapwriter import ip_tcp_packet, link_frame
from mqctl.wire.pipeline import WirePipeline
from mqctl.wire.render_jsonl import record_dict
from mqctl.wire.sniff import (
    ETH_P_IP,
    ETH_P_IPV6,
    PACKET_OUTGOING,
    SKF_AD_OFF,
    SNAPLEN,
    BpfInsn,
    tcp_port_filter,
)
from tests.live_traffic import BODIES, mqctl, plain_env, run_session, start_proxy, wait_until
from tests.run import command, start_process, without_mqctl_variables

V4 = (bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
V6 = (bytes(15) + b"\x01", bytes(15) + b"\x02")
PACKET_HOST = 0


def run_bpf(program: list[BpfInsn], packet: bytes, meta: dict[int, int]) -> int:
    """A classic BPF interpreter for the instructions the filter uses (the kernel's semantics:
    a load past the end of the packet rejects it)."""
    a = x = pc = 0
    while True:
        code, jt, jf, k = program[pc]
        pc += 1
        if code in (0x20, 0x28, 0x30, 0x48):  # ld [k] / ld [x + k], word, half, byte
            size = {0x20: 4, 0x28: 2, 0x30: 1, 0x48: 2}[code]
            if code != 0x48 and k >= SKF_AD_OFF:
                a = meta[k - SKF_AD_OFF]
                continue
            offset = k + (x if code == 0x48 else 0)
            if offset + size > len(packet):
                return 0
            a = int.from_bytes(packet[offset : offset + size], "big")
        elif code == 0xB1:  # ldxb 4*([k]&0xf)
            if k >= len(packet):
                return 0
            x = 4 * (packet[k] & 0x0F)
        elif code == 0x15:
            pc += jt if a == k else jf
        elif code == 0x45:
            pc += jt if a & k else jf
        elif code == 0x06:
            return k
        else:
            raise AssertionError(f"unexpected BPF opcode {code:#x}")


def tcp(ipv6: bool, sport: int, dport: int, payload: bytes = b"x") -> bytes:
    src, dst = V6 if ipv6 else V4
    return ip_tcp_packet(src, sport, dst, dport, 1, 1, 0x18, payload)


def meta(ip_packet: bytes, pkttype: int = PACKET_HOST, ifindex: int = 1) -> dict[int, int]:
    return {0: ETH_P_IPV6 if ip_packet[0] >> 4 == 6 else ETH_P_IP, 4: pkttype, 8: ifindex}


@pytest.mark.parametrize("cooked", [False, True], ids=["ethernet", "cooked"])
def test_filter_takes_tcp_on_the_port_only(cooked: bool) -> None:
    program = tcp_port_filter(5672, 0 if cooked else 14)
    assert all(0 <= i.jt <= 255 and 0 <= i.jf <= 255 for i in program)

    def verdict(ip_packet: bytes, **kw: int) -> int:
        frame = ip_packet if cooked else link_frame(LINKTYPE_ETHERNET, ip_packet)
        return run_bpf(program, frame, meta(ip_packet, **kw))

    for ipv6 in (False, True):
        assert verdict(tcp(ipv6, 40000, 5672)) == SNAPLEN  # client to broker
        assert verdict(tcp(ipv6, 5672, 40000)) == SNAPLEN  # broker to client
        assert verdict(tcp(ipv6, 40000, 15672)) == 0  # the management API: not ours
        assert verdict(tcp(ipv6, 5671, 5673)) == 0
    udp = bytearray(tcp(False, 40000, 5672))
    udp[9] = 17
    assert verdict(bytes(udp)) == 0
    later_fragment = bytearray(tcp(False, 40000, 5672))
    later_fragment[6:8] = struct.pack("!H", 185)  # fragment offset 185*8: no TCP header here
    assert verdict(bytes(later_fragment)) == 0
    # IPv4 options move the TCP header: the filter reads the header length (ldxb 4*([n]&0xf)).
    plain = tcp(False, 40000, 5672)
    with_options = bytearray(plain[:20] + b"\x01\x01\x01\x00" + plain[20:])
    with_options[0] = 0x46
    assert verdict(bytes(with_options)) == SNAPLEN
    with_options[24 + 2 : 24 + 4] = struct.pack("!H", 80)
    assert verdict(bytes(with_options)) == 0


def test_filter_drops_the_outgoing_copy_on_loopback() -> None:
    packet = link_frame(LINKTYPE_ETHERNET, tcp(False, 40000, 5672))
    program = tcp_port_filter(5672, 14, drop_outgoing_ifindex=0)
    assert run_bpf(program, packet, meta(packet[14:], PACKET_OUTGOING)) == 0
    assert run_bpf(program, packet, meta(packet[14:], PACKET_HOST)) == SNAPLEN
    # On `any`, only loopback's outgoing copies go; other interfaces' outgoing packets stay.
    raw = tcp(True, 40000, 5672)
    on_any = tcp_port_filter(5672, 0, drop_outgoing_ifindex=1)
    assert run_bpf(on_any, raw, meta(raw, PACKET_OUTGOING, ifindex=1)) == 0
    assert run_bpf(on_any, raw, meta(raw, PACKET_OUTGOING, ifindex=2)) == SNAPLEN
    assert LINKTYPE_RAW == 101


def _drop_net_raw() -> None:
    """In the child, before exec: take CAP_NET_RAW out of the bounding set (root keeps the rest)."""
    libc = ctypes.CDLL(None, use_errno=True)
    pr_capbset_drop, cap_net_raw = 24, 13
    if libc.prctl(pr_capbset_drop, cap_net_raw, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def test_without_cap_net_raw_says_so_and_exits_3() -> None:
    result = subprocess.run(
        command("wire", "sniff", "-i", "lo"),
        capture_output=True,
        timeout=60,
        env=plain_env(),
        preexec_fn=_drop_net_raw if os.geteuid() == 0 else None,
    )
    assert result.returncode == 3
    (line,) = result.stderr.decode().splitlines()
    assert line.startswith("mqctl: error: capturing on lo needs root or the CAP_NET_RAW capability")
    assert "mqctl wire proxy" in line


def test_unknown_interface_is_bad_input() -> None:
    result = mqctl("wire", "sniff", "-i", "nosuchif0")
    assert result.status == 4
    (line,) = result.err.splitlines()
    assert "no network interface named 'nosuchif0'" in line and "lo" in line


def _frames(records: list[dict[str, Any]], conn: int) -> dict[bool, list[tuple[Any, ...]]]:
    """What identifies each frame of a connection, in order, per direction (the two directions
    interleave differently at different observation points)."""
    out: dict[bool, list[tuple[Any, ...]]] = {True: [], False: []}
    for r in records:
        if r["conn"] == conn:
            from_client = not r["src"].endswith(":5672")
            out[from_client].append((r["channel"], r["type"], r.get("method"), r["size"]))
    return out


def _conn_named(records: list[dict[str, Any]], name: str) -> int:
    for r in records:
        if (
            r.get("method") == "Connection.StartOk"
            and r["args"]["client_properties"].get("connection_name") == name
        ):
            return int(r["conn"])
    raise AssertionError(f"no connection named {name}")


def _session_closed(lines: list[bytes], name: str) -> bool:
    """The sniffed records hold the Connection.CloseOk of the connection called `name`."""
    records = [json.loads(line) for line in list(lines)]
    try:
        conn = _conn_named(records, name)
    except AssertionError:
        return False
    return any(r["conn"] == conn and r.get("method") == "Connection.CloseOk" for r in records)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (CI runs as root)")
def test_sniff_loopback_shows_every_frame_of_a_pika_session(
    broker: str, unique: str, tmp_path: Path
) -> None:
    pcap = tmp_path / "sniffed.pcap"
    sniff = ("wire", "sniff", "-i", "lo", "--port", "5672")
    proc = start_process(
        *sniff, "--format", "jsonl", "--write", str(pcap), env=without_mqctl_variables()
    )
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline().decode()
        assert re.search(r"capturing tcp port 5672 on lo", first), first
        # The session goes through an in-process proxy too: the proxy sees the exact bytes of the
        # leg to the broker, which is what the sniffer captures on loopback port 5672.
        lines: list[bytes] = []
        assert proc.stdout is not None
        reader = threading.Thread(target=lines.extend, args=(proc.stdout,), daemon=True)
        reader.start()
        for running in start_proxy(("127.0.0.1", 5672)):
            result = run_session(running.port, unique)
            running.settle(closed=1)
            events = list(running.sink.events)
        wait_until(
            lambda: _session_closed(lines, unique),
            lambda: "the sniffer did not show the session's Connection.CloseOk",
        )
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        reader.join(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 0, err.decode()
    assert result.bodies == BODIES
    assert "packet(s) captured" in err.decode()
    sniffed = [json.loads(line) for line in lines]
    conn = _conn_named(sniffed, unique)

    proxied = [
        record_dict(r, BodyMode.none)
        for r in proxy_records(iter(events), WirePipeline())
        if r.conn.id == 1
    ]
    assert _frames(sniffed, conn) == _frames(proxied, 1)  # every frame, in order, each way
    assert not [r for r in sniffed if r["conn"] == conn and r["type"] in ("gap", "error")]

    # The saved capture holds the same conversation.
    read = mqctl("wire", "read", str(pcap), "--format", "jsonl", "--conn", str(conn))
    assert read.status == 0, read.err
    again = [json.loads(line) for line in read.out.splitlines()]
    assert _frames(again, conn) == _frames(sniffed, conn)


def test_sniff_stops_cleanly_on_sigterm_with_no_traffic() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root (CI runs as root)")
    proc = start_process(
        "wire", "sniff", "-i", "lo", "--port", "1", "--summary", env=without_mqctl_variables()
    )
    assert proc.stderr is not None
    proc.stderr.readline()  # "capturing ...": printed once the SIGTERM handler is in place
    proc.send_signal(signal.SIGTERM)
    out, _err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert out.decode().startswith("Overall: 0 connection(s)")
