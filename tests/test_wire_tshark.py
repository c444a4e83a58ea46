"""Differential test against Wireshark's AMQP dissector: the same captures through `tshark -T pdml`
and `mqctl wire read --format jsonl`, compared frame by frame per direction — types, channels,
sizes, methods, arguments, properties (field tables entry by entry) and bodies.

tshark 4.0 (Debian 12) and 4.4 (Debian 13) are wrong in known places; there the test says so
explicitly (it asserts tshark's wrong answer, so that a fixed tshark is noticed) and checks mqctl
against the spec instead:
- they name Exchange.UnbindOk and Connection.UpdateSecret/UpdateSecretOk "Unknown";
- they show negative decimals as if their value were unsigned;
- 4.4 shows an array's type but none of its entries;
- it decodes nothing of a stream whose protocol header shares a TCP segment with the first frames.

tshark must be installed (scripts/setup installs Debian's): the test fails, never skips, without it.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from mqctl.wire.encoder import PROTOCOL_HEADER, encode_message, encode_method
from mqctl.wire.methods import METHODS, METHODS_BY_ID
from mqctl.wire.packets import LINKTYPE_ETHERNET
from mqctl.wire.pcapwriter import PcapWriter, TcpFlowWriter
from tests.run import run_in_process
from tests.wire_helpers import CLIENT, SERVER

DATA = Path(__file__).resolve().parent / "data"
REAL = ["pika_session.pcapng", "pika_heartbeats.pcap", "amqp_tools.pcap", "amqplib.pcapng"]
TS = 1700000000.0
# tshark 4.0 calls these methods "Unknown" (its tables predate them).
TSHARK_UNKNOWN = {(40, 51), (10, 70), (10, 71)}
FIELD = re.compile(r"^(?P<key>.*?) \((?P<type>[a-z ]+)\)(?:: (?P<value>.*))?$", re.DOTALL)
# Fields tshark adds that are not arguments (its own publish counter).
TSHARK_DERIVED = {"publish_number"}
# tshark's names for arguments the 0-9-1 spec names differently (from the older 0-9 spec).
TSHARK_NAMES = {"filter": "arguments"}


def tshark() -> str:
    found = shutil.which("tshark")
    if found is None:
        pytest.fail("tshark is not installed: run scripts/setup (Debian package tshark)")
    return found


# --- tshark's side ------------------------------------------------------------------------------


def tshark_frames(path: Path) -> dict[str, list[dict[str, Any]]]:
    """Every AMQP frame tshark dissects, grouped by source endpoint, in capture order."""
    xml = subprocess.run(
        [tshark(), "-r", str(path), "-T", "pdml", "-Y", "amqp"],
        capture_output=True,
        check=True,
    ).stdout
    frames: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for packet in ET.fromstring(xml).iter("packet"):
        src = _endpoint(packet)
        for proto in packet.iter("proto"):
            if proto.get("name") == "amqp":
                frames[src].append(_frame(proto))
    return frames


def _endpoint(packet: ET.Element) -> str:
    fields = {f.get("name"): f.get("show") for f in packet.iter("field")}
    addr = fields.get("ip.src") or f"[{fields.get('ipv6.src')}]"
    return f"{addr}:{fields['tcp.srcport']}"


def _frame(proto: ET.Element) -> dict[str, Any]:
    top = {f.get("name"): f for f in proto}
    frame: dict[str, Any] = {
        "type": int(top["amqp.type"].get("show", "0")),
        "channel": int(top["amqp.channel"].get("show", "0")),
        "size": int(top["amqp.length"].get("show", "0")),
    }
    if "amqp.method.class" in top:
        frame["class_id"] = int(top["amqp.method.class"].get("show", "0"))
        frame["method_id"] = int(top["amqp.method.method"].get("show", "0"))
        showname = top["amqp.method.method"].get("showname", "")
        frame["method_name"] = showname.split(": ", 1)[1].rsplit(" (", 1)[0]
        frame["args"] = {
            f.get("name", "").rsplit(".", 1)[1]: _value(f)
            for f in top.get("amqp.method.arguments", ET.Element("x"))
        }
    if "amqp.header.class" in top:
        frame["class_id"] = int(top["amqp.header.class"].get("show", "0"))
        frame["body_size"] = int(top["amqp.header.body-size"].get("show", "0"))
        frame["properties"] = {
            f.get("name", "").rsplit(".", 1)[1]: _value(f)
            for f in top.get("amqp.header.properties", ET.Element("x"))
        }
    if "amqp.payload" in top:
        frame["payload"] = bytes.fromhex(top["amqp.payload"].get("value", ""))
    return frame


def _value(field: ET.Element) -> Any:
    """A method argument or property as tshark shows it: scalars as text, tables as dicts."""
    children = list(field)
    if children and children[0].get("name", "").startswith("amqp.field"):
        return _table(field)
    return field.get("show", "")


def _table(field: ET.Element) -> dict[str, tuple[str, Any]]:
    """Field-table entries as {key: (tshark type, value)}; nested tables and arrays recurse."""
    out: dict[str, tuple[str, Any]] = {}
    for entry in field:
        showname = entry.get("showname", "")
        if showname.startswith(("Name: ", "Type: ", "Value: ")):
            continue  # tshark 4.4 also gives each entry's name, type and value as fields of it
        match = FIELD.match(showname)
        assert match, entry.get("showname")
        kind = match["type"]
        if kind in ("field table", "array"):
            out[match["key"]] = (kind, _table(entry))
        else:
            out[match["key"]] = (kind, match["value"] or "")
    return out


# --- comparing ------------------------------------------------------------------------------------


def mqctl_frames(path: Path) -> dict[str, list[dict[str, Any]]]:
    status, out, err = run_in_process(
        "wire", "read", str(path), "--format", "jsonl", "--body", "full"
    )
    assert status == 0, err
    frames: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in out.splitlines():
        record = json.loads(line)
        if record["type"] in ("method", "header", "body", "heartbeat"):
            frames[record["src"]].append(record)
    return frames


TYPE_CODES = {"method": 1, "header": 2, "body": 3, "heartbeat": 8}
KNOWN_WRONG: list[str] = []  # what tshark got wrong in this run, for the assertion messages


def same_value(ours: Any, theirs: Any, where: str) -> None:
    """Compare one of our JSON values with tshark's shown text (or table)."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict), where
        assert list(ours) == list(theirs), where
        for key, (kind, value) in theirs.items():
            same_field(ours[key], kind, value, f"{where}.{key}")
        return
    if isinstance(ours, dict) and theirs == "":
        assert ours == {}, where  # an empty table has no entries to show
    elif isinstance(ours, bool):
        assert theirs in ("1", "0", "True", "False"), where
        assert ours == (theirs in ("1", "True")), where
    elif isinstance(ours, int):
        assert int(theirs) == ours, where
    elif isinstance(ours, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+Z", ours):
        assert _tshark_time(theirs) == ours, where
    elif isinstance(ours, str):
        # tshark shows long strings as hex bytes, short strings as text
        if re.fullmatch(r"([0-9a-f]{2}:)*[0-9a-f]{2}", theirs) and theirs.replace(":", "") != ours:
            theirs = bytes.fromhex(theirs.replace(":", "")).decode("utf-8")
        if "response" in where:
            return  # the password is masked on our side on purpose
        assert theirs == ours, where
    else:
        raise AssertionError(f"{where}: unexpected value {ours!r}")


def same_field(ours: Any, kind: str, theirs: Any, where: str) -> None:
    if kind == "field table":
        assert isinstance(ours, dict), where
        assert list(ours) == list(theirs), where
        for key, (k, v) in theirs.items():
            same_field(ours[key], k, v, f"{where}.{key}")
    elif kind == "array":
        assert isinstance(ours, list), where
        if ours and not theirs:  # tshark 4.4 shows an array's type, never its entries
            KNOWN_WRONG.append(f"{where}: array shown without its {len(ours)} entries")
            return
        assert len(ours) == len(theirs), where
        for i, (k, v) in enumerate(theirs.values()):
            same_field(ours[i], k, v, f"{where}[{i}]")
    elif kind == "string":
        assert ours == theirs, where
    elif kind == "boolean":
        assert ours == (theirs.lower() == "true"), where  # tshark 4.0 "true", 4.4 "True"
    elif kind in ("float", "double"):
        assert ours == pytest.approx(float(theirs), rel=1e-6), where
    elif kind == "decimal":
        if Decimal(ours) < 0 and Decimal(theirs) != Decimal(ours):
            # tshark 4.0 reads the decimal's value as unsigned: -12.34 shows as 42949660.62
            KNOWN_WRONG.append(f"{where}: negative decimal shown as {theirs}")
            digits = int(Decimal(ours).scaleb(len(ours.split(".")[1])))
            assert Decimal(theirs) == Decimal(digits + 2**32).scaleb(-len(ours.split(".")[1]))
            return
        assert Decimal(ours) == Decimal(theirs), where
    elif kind == "timestamp":
        assert _tshark_time(theirs) == ours, where
    elif kind == "byte array":
        raw = bytes.fromhex(theirs.replace(":", ""))  # tshark 4.4 puts colons between bytes
        assert ours == {"bytes": base64.b64encode(raw).decode()}, where
    elif kind == "void":
        assert ours is None, where
    else:  # every integer type
        assert ours == int(theirs), where


def _tshark_time(text: str) -> str:
    when = dt.datetime.strptime(text.replace(".000000000", ""), "%b %d, %Y %H:%M:%S UTC")
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def compare(path: Path) -> int:
    """Compare every frame; return how many were compared."""
    ours_by_src = mqctl_frames(path)
    theirs_by_src = tshark_frames(path)
    assert set(ours_by_src) == set(theirs_by_src)
    compared = 0
    for src, ours_list in ours_by_src.items():
        theirs_list = theirs_by_src[src]
        assert len(ours_list) == len(theirs_list), src
        for i, (ours, theirs) in enumerate(zip(ours_list, theirs_list, strict=True)):
            where = f"{path.name} {src} frame {i}"
            assert TYPE_CODES[ours["type"]] == theirs["type"], where
            assert ours["channel"] == theirs["channel"], where
            assert ours["size"] == theirs["size"], where
            if ours["type"] == "method":
                ids = (ours["class_id"], ours["method_id"])
                assert ids == (theirs["class_id"], theirs["method_id"]), where
                if ids in TSHARK_UNKNOWN:
                    assert theirs["method_name"] == "Unknown", where
                    KNOWN_WRONG.append(f"{where}: tshark names {ours['method']} Unknown")
                    assert ours["method"] == METHODS_BY_ID[ids].name
                else:
                    tshark_name = theirs["method_name"].replace("-", "").lower()
                    assert ours["method"].split(".")[1].lower() == tshark_name, where
                for name, value in theirs["args"].items():
                    if name not in TSHARK_DERIVED:
                        name = TSHARK_NAMES.get(name, name)
                        same_value(ours["args"][name], value, f"{where} {ours['method']}.{name}")
            elif ours["type"] == "header":
                assert ours["class_id"] == theirs["class_id"], where
                assert ours["body_size"] == theirs["body_size"], where
                assert list(ours["properties"]) == list(theirs["properties"]), where
                for name, value in theirs["properties"].items():
                    same_value(ours["properties"][name], value, f"{where} {name}")
            elif ours["type"] == "body":
                body = base64.b64decode(ours["body"]["bytes"])
                assert body == theirs["payload"], where
            compared += 1
    return compared


@pytest.mark.parametrize("name", REAL)
def test_real_captures_match_tshark(name: str) -> None:
    assert compare(DATA / name) > 20


def every_method_capture(path: Path) -> None:
    """Every method of the spec with its default arguments, one frame per segment, plus content
    with a negative decimal header."""
    out = io.BytesIO()
    writer = PcapWriter(out, LINKTYPE_ETHERNET)
    flow = TcpFlowWriter(writer, CLIENT, SERVER)
    flow.open(TS)
    flow.data(TS, True, PROTOCOL_HEADER)
    for i, spec in enumerate(METHODS):
        channel = 0 if spec.class_id == 10 else 1
        flow.data(TS + i * 0.001, i % 2 == 0, encode_method(channel, spec.name))
    message = encode_message(
        1,
        "Basic.Publish",
        b"body",
        {"headers": {"neg": Decimal("-12.34"), "pos": Decimal("3.14")}, "priority": 1},
        exchange="x",
        routing_key="k",
    )
    flow.data(TS + 1, True, message)
    flow.close(TS + 2)
    path.write_bytes(out.getvalue())


def test_every_method_matches_tshark(tmp_path: Path) -> None:
    path = tmp_path / "every.pcap"
    every_method_capture(path)
    KNOWN_WRONG.clear()
    assert compare(path) == len(METHODS) + 3
    # and the known tshark errors did show up, so the test is checking them
    assert sum("Unknown" in w for w in KNOWN_WRONG) == 3
    assert any("negative decimal" in w for w in KNOWN_WRONG)


def test_header_sharing_a_segment_with_frames(tmp_path: Path) -> None:
    """tshark 4.0 decodes nothing of this client stream; mqctl decodes it all (checked against
    the encoder's bytes, i.e. the spec)."""
    out = io.BytesIO()
    flow = TcpFlowWriter(PcapWriter(out, LINKTYPE_ETHERNET), CLIENT, SERVER)
    frames = [
        encode_method(0, "Connection.StartOk", mechanism="PLAIN", response="\0u\0p"),
        encode_method(0, "Connection.TuneOk", channel_max=10, frame_max=4096, heartbeat=5),
        encode_method(0, "Connection.Open", virtual_host="/"),
    ]
    flow.data(TS, True, PROTOCOL_HEADER + b"".join(frames))
    flow.data(TS, False, encode_method(0, "Connection.OpenOk"))
    flow.close(TS)
    path = tmp_path / "shared.pcap"
    path.write_bytes(out.getvalue())
    theirs = tshark_frames(path)
    client = f"10.0.0.1:{CLIENT[1]}"
    assert client not in theirs  # tshark 4.0: nothing of the client's stream
    assert len(theirs["10.0.0.2:5672"]) == 1
    ours = mqctl_frames(path)[client]
    assert [r["method"] for r in ours] == [
        "Connection.StartOk",
        "Connection.TuneOk",
        "Connection.Open",
    ]
    assert ours[1]["args"] == {"channel_max": 10, "frame_max": 4096, "heartbeat": 5}
    assert [r["size"] + 8 for r in ours] == [len(f) for f in frames]
