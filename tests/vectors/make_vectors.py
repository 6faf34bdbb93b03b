"""The shared vectors: inputs, and what the Python core makes of them.

    python -m tests.vectors.make_vectors     # rewrites the JSON files beside this one

pytest checks that the files still say what the Python core does (tests/unit/
test_vectors.py); `node --test` checks the browser's core against the same files
(tests/node/vectors.test.mjs). So the two implementations cannot drift silently.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import struct
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from meshchat.cli.terminal_text import for_terminal
from meshchat.mesh.features.filenames import safe_file_name
from meshchat.mesh.features.history import in_order as history_in_order
from meshchat.mesh.identity import Identity
from meshchat.mesh.link.chat_frames import (
    MAX_SEAL_CHARS,
    MAX_SEALED_CHARS,
    MAX_TEXT_BYTES,
    ChannelAck,
    ChannelBye,
    ChatMessage,
    Heartbeat,
    PrivateLine,
    decode_channel_frame,
    encode_chat,
    encode_private,
    private_fields,
    private_signed_content,
    signed_content,
)
from meshchat.mesh.link.dataplane import PeerMisbehaved
from meshchat.mesh.link.payloads import (
    MAX_PAYLOAD_BYTES,
    StartFrame,
    decode_binary_frame,
    encode_header,
    new_header,
)
from meshchat.mesh.link.private_lines import seal_line
from meshchat.mesh.partial.gossip import Forged, Gossip, encode_binary_envelope
from meshchat.mesh.signalling.candidates import CandidateBudget, limit_sdp
from meshchat.mesh.signalling.messages import ProtocolError, clean_nick
from meshchat.wire.keys import b64encode
from meshchat.wire.safety_numbers import fingerprint, safety_number
from meshchat.wire.topics import ably_channel, client_topic, global_topic

from .signalling_traces import signalling_traces
from .traces import traces

HERE = Path(__file__).parent
A, B = "a" * 32, "b1_-" * 8


def chat(**fields: Any) -> str:
    frame: dict[str, Any] = {"type": "chat", "id": "m1", "seq": 1, "from": A, "nick": "ana"}
    frame.update(ts=1_700_000_000_000, text="hi", sig="s1-_" * 21 + "xy")
    frame.update(fields)
    return json.dumps({k: v for k, v in frame.items() if v is not ...}, ensure_ascii=False)


def private(**fields: Any) -> str:
    frame: dict[str, Any] = {"type": "chat", "id": "m2", "seq": 3, "from": A, "nick": "ana"}
    frame.update(ts=1_700_000_000_000, to=[B], seal="Zm9v", sealed="YmFy_-", sig="s1-_" * 21 + "xy")
    frame.update(fields)
    return json.dumps({k: v for k, v in frame.items() if v is not ...}, ensure_ascii=False)


FRAMES = [
    chat(),
    private(),
    private(to=[A, B], acks=[[1, 1]]),
    private(seal="A" * MAX_SEAL_CHARS, sealed="B" * MAX_SEALED_CHARS),
    private(to=[B], text="ignored beside a seal"),
    chat(text="héllo 世界 🙂 <b>", nick="zoë"),
    chat(text="é" * (MAX_TEXT_BYTES // 2)),
    chat(ts=0),
    chat(ts=253_402_300_799_999),
    chat(**{"from": B}, id="Zz_-09"),
    chat(nick="\u202eana\x1b[31m"),
    chat(seq=2**53 - 1, acks=[[1, 3], [7, 7]]),
    '{"type":"ack","acks":[[1,1]]}',
    '{"type":"heartbeat","acks":[[2,9]]}',
    '{"type":"heartbeat"}',
    '{"type":"heartbeat","ping":0}',
    '{"type":"heartbeat","ping":9007199254740991,"pong":[12,60000],"acks":[[1,1]]}',
    '{"type":"heartbeat","ping":null,"pong":null}',
    '{"type":"heartbeat","ping":5.0,"pong":[1.0,2]}',
    '{"type":"bye"}',
    # invalid
    private(to=[]),
    private(to=[B, A]),
    private(to=[A, A]),
    private(to=B),
    private(to=["x" * 65]),
    private(to=[f"p{n:03}" for n in range(65)]),
    private(seal=...),
    private(sealed=...),
    private(seal="not base64!"),
    private(sealed="A" * (MAX_SEALED_CHARS + 1)),
    private(seal="A" * (MAX_SEAL_CHARS + 1)),
    private(sig=...),
    private(seq=0),
    private(ts=-1),
    private(nick=None),
    chat(ts=10**20),
    chat(ts=-1),
    chat(ts=253_402_300_800_000),
    chat(ts=1.5),
    chat(ts=True),
    chat(ts="yesterday"),
    chat(text="é" * (MAX_TEXT_BYTES // 2) + "x"),
    chat(text=5),
    chat(text=...),
    chat(id="has space"),
    chat(seq=0),
    chat(seq=...),
    chat(sig=...),
    chat(sig="A" * 85),
    chat(sig="A" * 87),
    chat(sig="A" * 85 + "="),
    chat(sig=5),
    chat(seq=2**53),
    chat(seq=1.0),
    chat(acks=[[2, 1]]),
    chat(acks=[[1]]),
    chat(acks=[[0, 1]]),
    chat(acks=[[1, 2]] * 65),
    chat(acks={"1": 2}),
    '{"type":"ack","acks":"all"}',
    '{"type":"heartbeat","ping":-1}',
    '{"type":"heartbeat","ping":1.5}',
    '{"type":"heartbeat","ping":"now"}',
    '{"type":"heartbeat","ping":9007199254740992}',
    '{"type":"heartbeat","pong":[1]}',
    '{"type":"heartbeat","pong":[1,60001]}',
    '{"type":"heartbeat","pong":[-1,0]}',
    '{"type":"heartbeat","pong":{"0":1,"1":2}}',
    '{"type":"heartbeat","pong":[1,true]}',
    chat(id=""),
    chat(id="x" * 65),
    chat(**{"from": "not/an/id"}),
    chat(nick=None),
    chat().replace('"hi"', '"\\ud800"'),
    '{"type":"ack","id":"bad id"}',
    '{"type":"dance"}',
    '{"no":"type"}',
    "[1,2]",
    "null",
    "{not json",
    "[" * 5_000 + "]" * 5_000,
    "x" * 70_000,
]

CANDIDATES = [
    "candidate:1 1 udp 2130706431 192.168.1.20 50000 typ host",
    "candidate:1 1 UDP 2130706431 127.0.0.1 1024 typ host",
    "candidate:1 1 udp 1 2001:db8::1 50000 typ host",
    "candidate:1 1 udp 1 0f1e2d3c-aaaa-4bbb-8ccc-112233445566.local 50000 typ host",
    "candidate:2 1 udp 1694498815 203.0.113.9 61000 typ srflx raddr 0.0.0.0 rport 0",
    "candidate:1 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active",
    "candidate:1 1 udp 1 127.0.0.1 22 typ host",
    "candidate:1 1 udp 1 127.0.0.1 65536 typ host",
    "candidate:1 1 udp 1 224.0.0.251 5353 typ host",
    "candidate:1 1 udp 1 0.0.0.0 5000 typ host",
    "candidate:1 1 udp 1 255.255.255.255 5000 typ host",
    "candidate:1 1 udp 1 ff02::1 5000 typ host",
    "candidate:1 1 udp 1 internal.corp.example 5000 typ host",
    "candidate:1 1 udp 1 127.0.0.1",
]

NICKS = ["ana", "  zoë  ", "\u202eana", "a\x1b[31mb", "\u2028x\u2029", "", "\x00\x07", "n" * 80]


def decoded(frame: str) -> dict[str, Any]:
    try:
        message, acks = decode_channel_frame(frame)
    except ProtocolError:
        return {"valid": False}
    ranges = [list(r) for r in acks]
    match message:
        case ChatMessage():
            # The fields as the frame carries them, the nick cleaned as a receiver shows it.
            return {"valid": True, **json.loads(encode_chat(message)), "acks": ranges}
        case PrivateLine():
            return {"valid": True, **json.loads(encode_private(message)), "acks": ranges}
        case ChannelAck():
            return {"valid": True, "type": "ack", "acks": ranges}
        case Heartbeat(ping=ping, pong=pong):
            fields: dict[str, Any] = {"valid": True, "type": "heartbeat", "acks": ranges}
            if ping is not None:
                fields["ping"] = ping
            if pong is not None:
                fields["pong"] = list(pong)
            return fields
        case ChannelBye():
            return {"valid": True, "type": "bye", "acks": ranges}


def sprayed_sdp() -> str:
    lines = [f"a=candidate:{i} 1 udp 2130706431 127.0.0.1 {20000 + i} typ host" for i in range(20)]
    lines += [
        f"a=candidate:x{i} 1 udp 2130706431 10.0.0.{i} {30000 + i} typ host" for i in range(20)
    ]
    return "v=0\r\n" + "\r\n".join(lines) + "\r\na=end-of-candidates\r\n"


def signed_messages() -> list[dict[str, Any]]:
    """Chat messages signed by a fixed key: the page must verify them, and not their
    altered copies."""
    author = Identity(Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
    cases = []
    for text in ("hi", 'héllo 世界 🙂 "quoted" \\ <b>', "tab\tnew\nline\u2028"):
        message = ChatMessage("m-1", author.client_id, "ana", 1_700_000_000_000, text, 42)
        signature = author.sign(signed_content(message, "lobby"))
        cases.append(
            {
                "room": "lobby",
                "pk": author.public_key_b64,
                "message": {
                    "id": message.id,
                    "seq": 42,
                    "from": author.client_id,
                    "ts": message.timestamp_ms,
                    "text": text,
                    "sig": signature,
                },
                "content": signed_content(message, "lobby").decode(),
            }
        )
    return cases


def sealed_line_vectors() -> dict[str, Any]:
    """Private lines sealed by the Python side (fixed keys, for a file that does not
    change): the page must open the one for its key, and refuse the altered copies."""
    author = Identity(Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
    bo = Identity(Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33))))
    cy = Identity(Ed25519PrivateKey.from_private_bytes(bytes(range(2, 34))))
    to = tuple(sorted((bo.client_id, cy.client_id)))
    keys = {bo.client_id: bo.seal_key, cy.client_id: cy.seal_key}
    fixed = (bytes(range(100, 132)), X25519PrivateKey.from_private_bytes(bytes(range(50, 82))))
    message = ChatMessage("p-1", author.client_id, "ana", 1_700_000_000_000, "für euch 🔐", 7)
    line = seal_line(
        message, to, [keys[p].public_key for p in to], "lobby", author.sign, fixed=fixed
    )
    wire = private_fields(line)
    restamped = {**wire, "from": bo.client_id}  # another author claims it: does not open
    return {
        "room": "lobby",
        "pk": author.public_key_b64,
        "text": message.text,
        "line": wire,
        "content": private_signed_content(line, "lobby").decode(),
        "recipients": [
            {
                "id": peer,
                "x": keys[peer].public_key_b64,
                "d": b64encode(keys[peer].private_bytes()),
            }
            for peer in to
        ],
        "not_for": {
            "id": author.client_id,
            "x": author.seal_key.public_key_b64,
            "d": b64encode(author.seal_key.private_bytes()),
        },
        "unopenable": [
            {
                **wire,
                "sealed": wire["sealed"][:-2]
                + ("A" if wire["sealed"][-2] != "A" else "B")
                + wire["sealed"][-1],
            },
            restamped,
            {**wire, "to": [to[1], to[0]]},
        ],
    }


def envelope_vectors() -> list[dict[str, Any]]:
    """Envelopes of a partial mesh (mesh/partial/gossip.py) made by the Python core, and
    altered copies: whether each is its author's."""
    author = Identity(Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
    other = Identity(Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33))))
    core = Gossip(author.client_id, "lobby", key=author.public_key_b64, sign=author.sign)
    cases = []
    bodies: list[tuple[dict[str, Any], tuple[str, ...]]] = [
        ({"type": "chat", "text": 'héllo 世界 🙂 "q" \\ <b>\u2028', "n": [1, 2.5, None]}, ()),
        ({"type": "data", "channel": "moves", "value": {"z": 1, "a": [True, False]}}, (B,)),
        ({"type": "gone", "peer": B}, ()),
    ]
    for body, to in bodies:
        envelope, _ = core.publish(body, 0.0, to)
        wire = json.loads(envelope.frame)
        cases.append({"frame": envelope.frame, "authentic": True})
        altered = dict(wire, body={**wire["body"], "type": wire["body"]["type"] + "x"})
        cases.append({"frame": json.dumps(altered), "authentic": False})
        renumbered = dict(wire, n=wire["n"] + 1)
        cases.append({"frame": json.dumps(renumbered), "authentic": False})
        readdressed = dict(wire, to=[A])
        cases.append({"frame": json.dumps(readdressed), "authentic": False})
        stolen_key = dict(wire, key=other.public_key_b64)
        cases.append({"frame": json.dumps(stolen_key), "authentic": False})
    return cases


def binary_envelope_vectors() -> list[dict[str, Any]]:
    """Envelopes with bytes attached (mesh/partial/gossip.py), made by the Python core, altered
    and broken: what the core makes of each ("authentic", "forged" or "malformed")."""
    author = Identity(Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
    core = Gossip(author.client_id, "lobby", key=author.public_key_b64, sign=author.sign)
    body = {"type": "part", "channel": "moves", "id": "ab" * 16, "ts": 1, "kind": "bytes"}
    envelope, _ = core.publish(body | {"size": 3, "i": 0, "count": 1}, 0.0, attachment=b"abc")
    good = envelope.frame
    assert isinstance(good, bytes)
    text_claim = core.publish({"type": "note", "digest": "0" * 64}, 0.0)[0].frame
    assert isinstance(text_claim, str)
    frames = [
        good,
        good[:-1] + b"d",  # the bytes swapped under a true signature
        good + b"!",  # a byte more
        good.replace(b'"ts":1', b'"ts":2'),  # the signed header altered
        encode_binary_envelope(text_claim, b""),  # a digest, and no bytes to match it
        good[:4],
        b"\x03\x00\x00\x00\x02[]" + b"abc",
        b"\x03" + b"\x00\x00\xff\xff" + good[5:],
    ]
    return [{"frame": frame.hex(), "verdict": judged(frame)} for frame in frames]


def judged(frame: bytes) -> str:
    """What a fresh relaying core makes of ``frame`` from a link."""
    reader = Identity(Ed25519PrivateKey.from_private_bytes(bytes(range(2, 34))))
    core = Gossip(reader.client_id, "lobby", key=reader.public_key_b64, sign=reader.sign)
    actions = core.receive_binary(B, frame, 0.0)
    if any(isinstance(action, Forged) for action in actions):
        return "forged"
    if any(isinstance(action, PeerMisbehaved) for action in actions):
        return "malformed"
    return "authentic"


def binary_frame_vectors() -> list[dict[str, Any]]:
    """Binary (payload) frames, valid and not: whether each decodes."""
    header = new_header(A, "moves", 1, 1_700_000_000_000, "bytes", b"abc", (), "ab" * 16)
    header = dataclasses.replace(header, signature="s1-_" * 21 + "xy")
    good = encode_header(header)

    def start(wire: bytes, tail: bytes = b"abc") -> bytes:
        return struct.pack(">BI", 1, len(wire)) + wire + tail

    def edited(old: str, new: str) -> bytes:
        return start(good.replace(old.encode(), new.encode()))

    frames = [
        start(good),
        start(good, b""),
        edited('"ch":"moves"', '"ch":"zoë\'s board"'),
        edited('"kind":"bytes"', '"kind":"json"'),
        edited('"sig"', '"to":["' + B + '"],"sig"'),
        struct.pack(">B16sQ", 2, bytes(16), 7) + b"data",
        b"",
        b"\x03abc",
        b"\x02" + bytes(24),
        bytes([1]) + bytes(3),
        struct.pack(">BI", 1, 5000) + bytes(5000),
        start(good)[:-5],
        start(b"[1]"),
        start(b"{not json"),
        start(good.replace(b"{", b"\xff{", 1)),
        edited('"kind":"bytes"', '"kind":"exe"'),
        edited('"ch":"moves"', '"ch":"chat"'),
        edited('"ch":"moves"', '"ch":""'),
        edited('"ch":"moves"', '"ch":"' + "c" * 65 + '"'),
        edited('"ch":"moves"', '"ch":"bad\\u001bname"'),
        edited('"ch":"moves"', '"ch":"rtl\\u202e"'),
        edited('"seq":1', '"seq":0'),
        edited('"seq":1', '"seq":1.5'),
        edited('"size":3', '"size":-1'),
        edited('"size":3', f'"size":{MAX_PAYLOAD_BYTES + 1}'),
        edited('"ts":1700000000000', '"ts":true'),
        edited('"sha256":"', '"sha256":"A'),
        edited('"sig":"', '"sig":"x'),
        edited('"id":"', '"id":"X'),
        edited('"from":"' + A, '"from":"not/an/id'),
        edited('"sig"', '"to":[],"sig"'),
        edited('"sig"', '"to":["b","a"],"sig"'),
        edited('"sig"', '"to":["a","a"],"sig"'),
        bytes(16 * 1024 + 1),
    ]
    vectors = []
    for frame in frames:
        try:
            parsed = decode_binary_frame(frame)
        except ProtocolError:
            vectors.append({"frame": base64.b64encode(frame).decode(), "valid": False})
            continue
        vectors.append(
            {
                "frame": base64.b64encode(frame).decode(),
                "valid": True,
                "kind": "start" if isinstance(parsed, StartFrame) else "chunk",
            }
        )
    return vectors


# Text a peer may send: terminal escapes, fake new lines, a one-byte CSI, bidi and
# zero-width format characters, tags, a lone surrogate, private use, separators; and
# text that must stay exactly as it is (scripts, emoji, combining marks).
SHOWN_TEXTS = [
    "plain text",
    "\x1b]0;pwned\x07",
    "\x1b[2J",
    "\r<ana> fake line\n",
    "\x9b31m",
    "https://evil.com\u202egnp.exe",
    "a\u200bb\u2066c\u2069",
    "\U000e0041 tag",
    "lone \ud800 surrogate",
    "private \ue000 use",
    "line\u2028para\u2029",
    "日本語 émoji 🙂 e\u0301 👩\u200d💻",
    "\t tab and \x7f delete",
]


def history_order_vectors() -> list[dict[str, Any]]:
    """Answers in a liar's order, and the order both clients show them in."""
    answers = [
        [("alice", 1, 5), ("alice", 3, 5), ("bob", 1, 6), ("alice", 2, 5)],
        [("alice", 2, 1), ("alice", 1, 9)],  # times that contradict the numbers
        [("bob", 2, 3), ("alice", 1, 2), ("bob", 1, 4), ("alice", 2, 1)],
    ]
    cases = []
    for answer in answers:
        lines = [
            ChatMessage(f"{who}{seq}", who, who, ts, f"{who}{seq}", seq) for who, seq, ts in answer
        ]
        cases.append(
            {
                "lines": [{"from": who, "seq": seq, "ts": ts} for who, seq, ts in answer],
                "shown": [message.text for message in history_in_order(lines)],
            }
        )
    return cases


def safety_number_vectors() -> list[dict[str, str]]:
    """Pairs of keys (base64url), each one's fingerprint and the safety number they share."""
    keys = [
        bytes(32),
        bytes(range(32)),
        b"\xff" * 32,
        Identity(Ed25519PrivateKey.from_private_bytes(b"k" * 32)).public_key,
    ]
    cases = []
    for key, other in zip(keys, keys[1:] + keys[:1], strict=True):
        cases.append(
            {
                "key": b64encode(key),
                "other": b64encode(other),
                "fingerprint": fingerprint(key),
                "safety_number": safety_number(key, other),
            }
        )
    return cases


def vectors() -> dict[str, Any]:
    budget = CandidateBudget()
    return {
        "signed_messages": signed_messages(),
        "channel_frames": [{"frame": f, "expect": decoded(f)} for f in FRAMES],
        "candidates": [
            {"candidate": c, "accepted": CandidateBudget().admit(c) is None} for c in CANDIDATES
        ],
        "sdp_limit": {"sdp": sprayed_sdp(), "expect": limit_sdp(sprayed_sdp(), budget)[0]},
        "nicks": [{"nick": n, "expect": clean_nick(n)} for n in NICKS],
        "binary_frames": binary_frame_vectors(),
        "envelopes": envelope_vectors(),
        "binary_envelopes": binary_envelope_vectors(),
        "topics": [
            {
                "room": room,
                "id": B,
                "global": global_topic(room),
                "client": client_topic(room, B),
                "ably": ably_channel(global_topic(room)),
            }
            for room in ("lobby", "a.b_c-9", "x" * 64)
        ],
        "traces": traces(),
        # The signalling core's decisions, input by input (broker/web/signalling.js).
        "signalling": signalling_traces(),
        # History lines in the order they are shown (by time; each author's by seq).
        "history_order": history_order_vectors(),
        "safety_numbers": safety_number_vectors(),
        # Private lines the page must open, and altered ones it must not (private.js).
        "sealed_lines": sealed_line_vectors(),
        # Text from peers as the app shows it (cli/terminal_text.py); the page alike.
        "visible_text": [{"text": t, "shown": for_terminal(t)} for t in SHOWN_TEXTS],
        # Names of received files, as mesh/features/filenames.py makes them safe.
        "file_names": [{"offered": n, "safe": safe_file_name(n)} for n in OFFERED_FILE_NAMES],
        # scrypt as Python's hashlib (OpenSSL) computes it; the page uses @noble/hashes.
        "scrypt": [
            {
                "password": pw,
                "salt": salt,
                "n": n,
                "r": r,
                "p": p,
                "length": length,
                "key": hashlib.scrypt(
                    pw.encode(), salt=salt.encode(), n=n, r=r, p=p, dklen=length
                ).hex(),
            }
            for pw, salt, n, r, p, length in [
                ("", "", 16, 1, 1, 64),
                ("password", "NaCl", 1024, 8, 16, 64),
                ("sekrit 🔑", "meshchat room v1:lobby", 16384, 8, 1, 32),
            ]
        ],
    }


OFFERED_FILE_NAMES = [
    "report.pdf",
    "../../etc/passwd",
    "/etc/shadow",
    "..\\..\\windows\\system.ini",
    "C:evil.exe",
    "..",
    ".bashrc",
    "",
    "CON",
    "nul.txt",
    "COM1.tar.gz",
    "name. . ",
    "bell\x07\x1b[2Jclear\x9b",
    "invoice\u202egpj.exe",
    "zero\u200bwidth\ufeff",
    "line\u2028break",
    "café ☕.txt",
    "é" * 300 + ".tar",
    "x" * 5000,
    "y" * 300 + ".averyveryverylongextension",
]


def render() -> str:
    return json.dumps(vectors(), ensure_ascii=True, indent=1) + "\n"


if __name__ == "__main__":
    (HERE / "vectors.json").write_text(render())
