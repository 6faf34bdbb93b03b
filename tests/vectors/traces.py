"""Input -> expected-actions traces of the data-plane core, made by running the Python
core (``mesh/link/dataplane.py``) through scripted conversations with a second Python core.
The browser's core (``broker/web/dataplane.js``) must turn the same inputs into the same
actions (tests/node/vectors.test.mjs).

Keys and message ids are fixed, and Ed25519 signatures are deterministic, so every
frame, signature included, is byte for byte the same in both languages.
"""

from __future__ import annotations

import base64
import itertools
from collections.abc import Callable
from typing import Any
from unittest import mock

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from meshchat.mesh.events import (
    MessageReceived,
    MessageUndelivered,
    PayloadDelivered,
    PayloadUndelivered,
    TransferProgress,
)
from meshchat.mesh.identity import Identity
from meshchat.mesh.link import dataplane as d
from meshchat.mesh.link.chat_frames import HEARTBEAT_FRAME
from meshchat.mesh.link.in_flight import HIGH_WATER
from meshchat.mesh.link.payloads import MAX_JSON_BYTES, MAX_PAYLOAD_BYTES

ROOM = "lobby"
ANA = Identity(Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
BO = Identity(Ed25519PrivateKey.from_private_bytes(bytes(range(32, 64))))
KEYS = {identity.client_id: identity.public_key_b64 for identity in (ANA, BO)}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def plane(
    identity: Identity, nick: str, first_id: int, wanted: set[str] | None = None
) -> d.DataPlane:
    counter = itertools.count(first_id)
    return d.DataPlane(
        identity.client_id,
        nick,
        room=ROOM,
        sign=identity.sign,
        key_of=KEYS.get,
        new_id=lambda: f"{next(counter):032x}",
        wanted=(lambda channel: True) if wanted is None else wanted.__contains__,
    )


def normal(action: d.DataAction) -> dict[str, Any]:
    """An action as plain JSON, the same shape the node test gives the browser's."""
    match action:
        case d.SendFrame(peer_id=peer, frame=str(text)):
            return {"send": peer, "text": text}
        case d.SendFrame(peer_id=peer, frame=bytes(frame)):
            return {"send": peer, "bytes": b64(frame)}
        case d.Pump(peer_id=peer):
            return {"pump": peer}
        case d.FlushAcksAt(when=when):
            return {"flush_at": when}
        case MessageReceived(message=m):
            return {
                "chat": {
                    "id": m.id,
                    "seq": m.seq,
                    "from": m.sender,
                    "ts": m.timestamp_ms,
                    "text": m.text,
                }
            }
        case MessageUndelivered(message=m, peer_id=peer, reason=reason):
            return {"undelivered": {"id": m.id, "peer": peer, "reason": reason}}
        case d.PayloadReceived(header=h, value=value, body=body):
            payload = {
                "id": h.id,
                "from": h.sender,
                "channel": h.channel,
                "seq": h.seq,
                "ts": h.timestamp_ms,
                "kind": h.kind,
                "size": h.size,
                "sha256": h.sha256,
                "to": list(h.to),
            }
            if body is not None:
                body.seek(0)
                payload["bytes"] = b64(body.read())
            else:
                payload["value"] = value
            return {"payload": payload}
        case PayloadDelivered(header=h, peer_id=peer):
            return {"payload_delivered": {"id": h.id, "peer": peer}}
        case PayloadUndelivered(header=h, peer_id=peer, reason=reason):
            return {"payload_undelivered": {"id": h.id, "peer": peer, "reason": reason}}
        case TransferProgress() as p:
            return {
                "progress": {
                    "channel": p.channel,
                    "id": p.message_id,
                    "peer": p.peer_id,
                    "sending": p.sending,
                    "done": p.done,
                    "total": p.total,
                }
            }
        case d.PeerSaidBye(peer_id=peer):
            return {"bye": peer}
        case d.PeerSilent(peer_id=peer, silence=silence):
            return {"silent": peer, "silence": silence}
        case d.PeerMisbehaved(peer_id=peer):
            return {"misbehaved": peer}
        case d.DropPeer(peer_id=peer):
            return {"drop": peer}
        case d.WeStalled(seconds=seconds):
            return {"stalled": seconds}
    raise AssertionError(f"no normal form for {action!r}")


class Trace:
    """Runs the subject core step by step, writing down each input and its actions."""

    def __init__(
        self,
        name: str,
        subject: d.DataPlane,
        rtt_of: str | None = None,
        wanted: set[str] | None = None,
    ) -> None:
        self.name = name
        self.subject = subject
        self.wanted = wanted  # the channels the subject reads (None: all)
        self.steps: list[dict[str, Any]] = []
        self.rtt_of = rtt_of  # a peer whose measured round trip each step writes down

    def step(self, call: dict[str, Any], run: Callable[[], list[d.DataAction]]) -> list[Any]:
        try:
            actions = run()
        except ValueError:
            self.steps.append({**call, "error": True, "forged": self.subject.forged})
            return []
        self.steps.append(
            {**call, "expect": [normal(a) for a in actions], "forged": self.subject.forged}
        )
        if self.rtt_of is not None:
            self.steps[-1]["rtt"] = {self.rtt_of: self.subject.round_trip(self.rtt_of)}
        return actions

    def opened(self, peer: str, now: float) -> None:
        self.step(
            {"call": "opened", "peer": peer, "now": now}, lambda: self.subject.opened(peer, now)
        )

    def closed(self, peer: str, now: float, said_bye: bool) -> None:
        self.step(
            {"call": "closed", "peer": peer, "now": now, "said_bye": said_bye},
            lambda: self.subject.closed(peer, now, said_bye=said_bye),
        )

    def receive(self, peer: str, frame: str | bytes, now: float) -> None:
        wire = {"text": frame} if isinstance(frame, str) else {"bytes": b64(frame)}
        self.step(
            {"call": "receive", "peer": peer, "now": now, **wire},
            lambda: self.subject.receive(peer, frame, now),
        )

    def send_chat(self, text: str, now: float, ts: int) -> None:
        self.step(
            {"call": "send_chat", "text": text, "now": now, "ts": ts},
            lambda: self.subject.send_chat(text, now, ts)[1],
        )

    def send_payload(
        self, channel: str, data: object, now: float, ts: int, to: list[str] | None = None
    ) -> None:
        wire = {"bytes": b64(data)} if isinstance(data, bytes) else {"json": data}
        self.step(
            {"call": "send_payload", "channel": channel, "now": now, "ts": ts, "to": to, **wire},
            lambda: self.subject.send_payload(channel, data, now, ts, to)[1],
        )

    def pump(self, peer: str, buffered: int, now: float) -> None:
        self.step(
            {"call": "pump", "peer": peer, "buffered": buffered, "now": now},
            lambda: self.subject.pump(peer, buffered, now),
        )

    def flush(self, now: float) -> None:
        self.step({"call": "flush", "now": now}, lambda: self.subject.flush(now))

    def tick(self, now: float) -> None:
        self.step({"call": "tick", "now": now}, lambda: self.subject.tick(now))

    def leave(self) -> None:
        self.step({"call": "leave"}, self.subject.leave)

    def render(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "room": ROOM,
            "me": self.subject.client_id,
            "nick": self.subject.nick,
            "keys": KEYS,
            "first_id": 1,
            "wanted": None if self.wanted is None else sorted(self.wanted),
            "steps": self.steps,
        }


def texts(actions: list[d.DataAction]) -> list[str | bytes]:
    return [a.frame for a in actions if isinstance(a, d.SendFrame)]


def all_payload_frames(sender: d.DataPlane, to: str) -> list[str | bytes]:
    frames: list[str | bytes] = []
    while batch := texts(sender.pump(to, 0, 0.0)):
        frames += batch
    return frames


def chat_trace() -> dict[str, Any]:
    a, b = ANA.client_id, BO.client_id
    trace = Trace("chat: acks, duplicates, resends, bye, forgeries", plane(ANA, "ana", 1))
    bo = plane(BO, "bo", 1000)
    bo.opened(a, 0.0)
    trace.opened(b, 0.0)
    trace.tick(0.0)
    trace.send_chat("hi", 0.1, 100)
    (from_bo,) = texts(bo.send_chat("hello 世界 🙂", 0.1, 100)[1])
    trace.receive(b, from_bo, 0.2)
    trace.receive(b, from_bo, 0.21)  # a duplicate: acknowledged again, shown once
    trace.flush(0.25)
    trace.receive(b, '{"type":"ack","acks":[[1,1]]}', 0.3)
    trace.tick(1.0)
    trace.send_chat("later", 1.1, 1_100)
    trace.closed(b, 1.2, False)
    trace.send_chat("while away", 1.3, 1_300)
    trace.opened(b, 2.0)  # both go again
    assert isinstance(from_bo, str)
    trace.receive(b, from_bo.replace("hello", "jello"), 2.05)  # forged
    trace.receive(b, from_bo.replace(b, a), 2.06)  # claims another sender
    trace.receive(b, '{"type":"dance"}', 2.07)
    trace.send_chat("x" * (17 * 1024), 2.08, 2_080)  # too long: refused
    trace.receive(b, '{"type":"bye"}', 2.1)
    trace.closed(b, 2.1, True)
    trace.tick(40.0)
    return trace.render()


def payload_trace() -> dict[str, Any]:
    a, b = ANA.client_id, BO.client_id
    trace = Trace(
        "payloads: chunks, flow control, progress, limits, forgeries", plane(ANA, "ana", 1)
    )
    bo = plane(BO, "bo", 1000)
    bo.opened(a, 0.0)
    trace.opened(b, 0.0)
    blob = bytes(range(256)) * 160  # 40960 bytes: a start frame and two chunks
    trace.send_payload("files", blob, 0.1, 100)
    trace.send_payload("moves", {"x": 1, "list": [True, None, "é"]}, 0.1, 100, to=[b])
    trace.pump(b, HIGH_WATER, 0.15)  # the channel is full: nothing
    trace.pump(b, 0, 0.2)
    trace.send_payload("moves", 1, 0.3, 300, to=["nobody"])  # refused
    trace.send_payload("chat", "no", 0.3, 300)  # refused
    trace.receive(b, '{"type":"ack","acks":[[1,2]]}', 0.4)
    bo.send_payload("files", bytes(range(200)) * 100, 0.5, 500)
    incoming = all_payload_frames(bo, a)
    for n, frame in enumerate(incoming):
        trace.receive(b, frame, 0.5 + n * 0.2)
    bo.send_payload("moves", {"to": "ana"}, 1.5, 1_500, to=[a])
    (json_frame,) = all_payload_frames(bo, a)
    trace.receive(b, json_frame, 1.6)
    trace.receive(b, json_frame, 1.7)  # a duplicate, whole: acknowledged, not shown again
    assert isinstance(json_frame, bytes)
    trace.receive(b, json_frame.replace(b'"seq":2', b'"seq":9'), 1.8)  # forged header
    trace.receive(b, incoming[1], 1.9)  # a chunk of a payload that is not under way
    trace.flush(2.0)
    for _ in range(2):  # two of the largest payloads at once are allowed...
        bo.send_payload("files", bytes(MAX_PAYLOAD_BYTES), 2.1, 2_100)
    bo.send_payload("files", b"one more", 2.1, 2_100)  # ...a third is too much
    starts = [f for f in all_payload_frames(bo, a) if isinstance(f, bytes) and f[0] == 1]
    for frame in starts:
        trace.receive(b, frame, 2.2)
    trace.closed(b, 2.3, False)
    trace.send_payload("files", b"queued", 2.4, 2_400)
    trace.opened(b, 3.0)
    trace.pump(b, 0, 3.0)
    trace.tick(30.0)
    return trace.render()


def payload_budget_trace() -> dict[str, Any]:
    """What a member cannot make us hold or parse: values on channels nobody reads,
    payloads trickled in to hold room, JSON values over the limit."""
    a, b = ANA.client_id, BO.client_id
    wanted = {"files", "moves"}
    trace = Trace(
        "payload budgets: unread channels, trickles, oversize JSON",
        plane(ANA, "ana", 1, wanted),
        wanted=wanted,
    )
    bo = plane(BO, "bo", 1000)
    bo.opened(a, 0.0)
    trace.opened(b, 0.0)
    bo.send_payload("unread", [0] * 9000, 0.1, 100)  # two frames, acknowledged unread
    for n, frame in enumerate(all_payload_frames(bo, a)):
        trace.receive(b, frame, 0.2 + n * 0.1)
    trace.flush(0.8)
    bo.send_payload("files", bytes(range(256)) * 160, 1.0, 1_000)
    trace.receive(b, all_payload_frames(bo, a)[0], 1.0)  # and then nothing much
    for half_seconds in range(2, 64):  # ticking along (a stall of ours would forgive)
        trace.tick(half_seconds / 2)  # at 31.5 s a whole window gained under the rate
    with mock.patch.object(d, "check_json_size", lambda channel, size: None):
        bo.send_payload("moves", "x" * (MAX_JSON_BYTES + 1), 32.0, 32_000)
    trace.receive(b, all_payload_frames(bo, a)[0], 32.1)  # dropped at the header
    trace.send_payload("moves", "x" * MAX_JSON_BYTES, 32.2, 32_200)  # refused
    return trace.render()


def liveness_trace() -> dict[str, Any]:
    """Heartbeats on a steady clock; a peer whose heartbeats stop is suspected once;
    our own stall is not taken for its silence."""
    b = BO.client_id
    trace = Trace("liveness: heartbeats, failure detection, our own stalls", plane(ANA, "ana", 1))
    trace.opened(b, 0.0)
    for tick in range(0, 41):  # ten seconds of bo's heartbeats, a little uneven
        now = tick / 4
        if tick % 4 == 1:
            trace.receive(b, HEARTBEAT_FRAME, now + (0.01 if tick % 8 == 1 else 0.03))
        trace.tick(now)
    trace.tick(14.0)  # we stood still for 3.75 s: bo is not blamed for it
    trace.receive(b, HEARTBEAT_FRAME, 14.01)
    for tick in range(57, 80):  # and then bo goes quiet for good
        trace.tick(tick / 4)
    trace.closed(b, 20.0, False)
    trace.opened(b, 21.0)  # back: judged afresh
    trace.tick(21.25)
    return trace.render()


def round_trip_trace() -> dict[str, Any]:
    """Round trips measured by heartbeats: our ping echoed with the time it was held,
    smoothed; echoes that cannot be true ignored; forgotten with the channel."""
    b = BO.client_id
    trace = Trace("round trips: ping, pong, smoothing", plane(ANA, "ana", 1), rtt_of=b)
    trace.opened(b, 0.5)
    trace.tick(0.5)  # our ping 500
    trace.receive(b, '{"type":"heartbeat","ping":7000}', 0.52)
    trace.receive(b, '{"type":"heartbeat","ping":8000,"pong":[500,40]}', 0.6)  # 60 ms
    trace.tick(1.5)  # our ping 1500, echoing 8000 held 900 ms
    trace.receive(b, '{"type":"heartbeat","ping":9000,"pong":[1500,300]}', 1.9)  # 100 ms
    trace.receive(b, '{"type":"heartbeat","pong":[2900,0]}', 1.95)  # from the future
    trace.receive(b, '{"type":"heartbeat","pong":[1500,900]}', 1.96)  # held too long
    trace.tick(2.5)
    trace.receive(b, '{"type":"heartbeat","pong":[2500,0],"acks":[[1,1]]}', 2.5005)
    trace.closed(b, 3.0, False)
    trace.opened(b, 3.5)
    trace.tick(3.5)  # a new channel: no echo of the old one's ping
    return trace.render()


def traces() -> list[dict[str, Any]]:
    return [
        chat_trace(),
        payload_trace(),
        payload_budget_trace(),
        liveness_trace(),
        round_trip_trace(),
    ]
