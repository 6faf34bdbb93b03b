"""How room events are shown: as text for people, or one JSON object per line."""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO

from meshchat.mesh import (
    MessageReceived,
    MessageUndelivered,
    PeerJoined,
    PeerLeft,
    RoomEvent,
    SentMessage,
    SignallingLost,
    SignallingRestored,
)


class Printer:
    def __init__(self, json_mode: bool, stream: TextIO = sys.stdout) -> None:
        self.json_mode = json_mode
        self._stream = stream

    def ready(self, room: str, client_id: str, nick: str, broker: str, embedded: bool) -> None:
        if self.json_mode:
            self._json(
                event="ready",
                room=room,
                id=client_id,
                nick=nick,
                broker=broker,
                embedded_broker=embedded,
            )
        else:
            where = "an embedded broker" if embedded else broker
            self._line(f"* joined room {room!r} as {nick} ({client_id}) via {where}")
            self._line("* type a message and press Enter; /peers lists peers, /quit leaves")

    def event(self, event: RoomEvent) -> None:
        match event:
            case PeerJoined(peer_id=peer, nick=nick, route=route):
                if self.json_mode:
                    self._json(event="joined", peer=peer, nick=nick, route=route)
                else:
                    self._line(f"* {nick} ({peer}) joined")
            case PeerLeft(peer_id=peer, nick=nick, reason=reason):
                if self.json_mode:
                    self._json(event="left", peer=peer, nick=nick, reason=reason)
                else:
                    self._line(f"* {nick} ({peer}) left: {reason}")
            case MessageReceived(message=m):
                if self.json_mode:
                    self._json(
                        event="message",
                        id=m.id,
                        **{"from": m.sender},
                        nick=m.nick,
                        ts=m.timestamp_ms,
                        text=m.text,
                    )
                else:
                    clock = time.strftime("%H:%M", time.localtime(m.timestamp_ms / 1000))
                    self._line(f"{clock} <{m.nick}> {m.text}")
            case SignallingLost(reason=reason, final=final):
                if self.json_mode:
                    self._json(event="signalling-lost", reason=reason, final=final)
                else:
                    retry = "" if final else "; reconnecting"
                    self._line(
                        f"* signalling lost ({reason}){retry}. Open chats continue; "
                        "no one new can join meanwhile"
                    )
            case MessageUndelivered(message=m, peer_id=peer, reason=reason):
                if self.json_mode:
                    self._json(event="undelivered", id=m.id, peer=peer, reason=reason)
                else:
                    preview = m.text if len(m.text) <= 30 else m.text[:29] + "…"
                    self._line(f"! {preview!r} did not reach {peer}: {reason}")
            case SignallingRestored():
                if self.json_mode:
                    self._json(event="signalling-restored")
                else:
                    self._line("* signalling restored")

    def sent(self, sent: SentMessage) -> None:
        if self.json_mode:
            m = sent.message
            self._json(
                event="sent",
                id=m.id,
                text=m.text,
                ts=m.timestamp_ms,
                to=list(sent.delivered_to),
                queued_for=list(sent.queued_for),
            )
        elif not sent.delivered_to and not sent.queued_for:
            self._line("* nobody is here yet; the message was not delivered")

    def peers(self, peers: dict[str, str]) -> None:
        if self.json_mode:
            self._json(event="peers", peers=[{"id": i, "nick": n} for i, n in peers.items()])
        elif peers:
            self._line("* peers: " + ", ".join(f"{n} ({i})" for i, n in peers.items()))
        else:
            self._line("* no peers connected")

    def error(self, message: str) -> None:
        if self.json_mode:
            self._json(event="error", message=message)
        else:
            self._line(f"! {message}")

    def _json(self, **fields: Any) -> None:
        self._line(json.dumps(fields, ensure_ascii=False))

    def _line(self, text: str) -> None:
        self._stream.write(text + "\n")
        self._stream.flush()
