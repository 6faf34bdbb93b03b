"""How room events are shown: as text for people, or one JSON object per line.

Everything a peer chose (nick, text, even reasons built from what it sent) goes through
``terminal_text`` first, and no single event can stop the display: a failure to show
one is reported in its place and the next is shown as usual.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any, TextIO

from meshchat.mesh import (
    FileDelivered,
    FileFailed,
    FileOffered,
    FileProgress,
    FileReceived,
    FileTransfer,
    MessageReceived,
    MessageUndelivered,
    PeerJoined,
    PeerLeft,
    RoomEvent,
    SentMessage,
    SignallingLost,
    SignallingRestored,
)

from .options import human_size
from .terminal_text import for_terminal, json_line

log = logging.getLogger(__name__)

TAG_CHARS = 4  # id characters shown after a nick, more when two peers would look alike


class NickBook:
    """Labels for people: ``nick#tag``, where the tag is the start of the peer's id,
    long enough that no two peers seen in this session look the same."""

    def __init__(self) -> None:
        self._nicks: dict[str, str] = {}  # peer id -> nick

    def learn(self, peer_id: str, nick: str) -> None:
        self._nicks[peer_id] = nick

    def label(self, peer_id: str, nick: str | None = None) -> str:
        nick = nick if nick is not None else self._nicks.get(peer_id, "?")
        namesakes = [i for i, n in self._nicks.items() if n == nick and i != peer_id]
        length = TAG_CHARS
        while length < len(peer_id) and any(i[:length] == peer_id[:length] for i in namesakes):
            length += 2
        return f"{nick}#{peer_id[:length]}"

    def resolve(self, who: str, present: dict[str, str]) -> str:
        """The id of the one present peer called ``who`` (a nick, or nick#tag).
        LookupError, saying why, if there is none or more than one."""
        for peer_id, nick in present.items():
            self.learn(peer_id, nick)
        nick, _, tag = who.partition("#")
        matches = [
            peer_id
            for peer_id, peer_nick in present.items()
            if peer_nick == nick and peer_id.startswith(tag)
        ]
        if not matches:
            raise LookupError(f"no peer here is called {who}")
        if len(matches) > 1:
            labels = ", ".join(self.label(peer_id) for peer_id in matches)
            raise LookupError(f"several peers are called {who}: say which ({labels})")
        return matches[0]


class Printer:
    def __init__(self, json_mode: bool, stream: TextIO = sys.stdout) -> None:
        self.json_mode = json_mode
        self._stream = stream
        self.nicks = NickBook()
        self._files: dict[str, str] = {}  # transfer id -> file name, for progress lines
        self._quarters: dict[tuple[str, str], int] = {}  # (transfer, peer) -> quarters shown

    def ready(
        self,
        room: str,
        client_id: str,
        nick: str,
        broker: str,
        embedded: bool,
        sealed: bool,
    ) -> None:
        self.nicks.learn(client_id, nick)
        if self.json_mode:
            self._json(
                event="ready",
                room=room,
                id=client_id,
                nick=nick,
                broker=broker,
                embedded_broker=embedded,
                sealed=sealed,
            )
            return
        where = "an embedded broker" if embedded else broker
        kind = "sealed" if sealed else "open"
        self._line(
            f"* joined the {kind} room {room!r} as {self.nicks.label(client_id)} via {where}"
        )
        if sealed:
            self._line("* only holders of the room secret can meet you here")
        else:
            self._line("* anyone who knows the room's name can join; --secret seals a room")
        self._line(f"* your id is {client_id}")
        self._line(
            "* type a message and press Enter; /peers lists peers, /send PATH [NICK] sends "
            "a file, /quit leaves"
        )

    def event(self, event: RoomEvent) -> None:
        """Show one event; never raises (a failure is shown in the event's place)."""
        try:
            self._event(event)
        except Exception as error:  # the display must outlive any one event
            log.debug("could not show %r", event, exc_info=True)
            self.error(f"could not show an event ({type(error).__name__})")

    def _event(self, event: RoomEvent) -> None:
        match event:
            case PeerJoined(peer_id=peer, nick=nick, route=route):
                self.nicks.learn(peer, nick)
                if self.json_mode:
                    self._json(event="joined", peer=peer, nick=nick, route=route)
                else:
                    self._line(f"* {self.nicks.label(peer)} joined (id {peer})")
            case PeerLeft(peer_id=peer, nick=nick, reason=reason):
                if self.json_mode:
                    self._json(event="left", peer=peer, nick=nick, reason=reason)
                else:
                    self._line(f"* {self.nicks.label(peer, nick)} left: {reason}")
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
                    label = self.nicks.label(m.sender, m.nick)
                    self._line(f"{_clock(m.timestamp_ms)} <{label}> {m.text}")
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
                    self._line(f"! {preview!r} did not reach {self.nicks.label(peer)}: {reason}")
            case SignallingRestored():
                if self.json_mode:
                    self._json(event="signalling-restored")
                else:
                    self._line("* signalling restored")
            case FileOffered() | FileProgress() | FileReceived() | FileDelivered() | FileFailed():
                self._file_event(event)

    def hosting_broker(self, url: str) -> None:
        """This process took over running the room's broker (its host left)."""
        if self.json_mode:
            self._json(event="broker-hosted", url=url)
        else:
            self._line(f"* the broker's host left; this process now runs it at {url}")

    def sending(self, transfer: FileTransfer) -> None:
        """We offered a file (``/send``)."""
        self._files[transfer.id] = transfer.name
        if self.json_mode:
            self._json(
                event="file-sending",
                id=transfer.id,
                name=transfer.name,
                size=transfer.size,
                sha256=transfer.sha256,
                to=list(transfer.recipients),
            )
        else:
            to = ", ".join(self.nicks.label(peer) for peer in transfer.recipients)
            self._line(f"* offering {transfer.name} ({human_size(transfer.size)}) to {to}")

    def _file_event(self, event: RoomEvent) -> None:
        match event:
            case FileOffered(transfer_id=tid, sender=sender, nick=nick, name=name, size=size):
                self._files[tid] = name
                if self.json_mode:
                    fields = {"from": sender}
                    self._json(
                        event="file-offered", id=tid, **fields, nick=nick, name=name, size=size
                    )
                else:
                    who = self.nicks.label(sender, nick)
                    self._line(f"* {who} sends {name} ({human_size(size)})")
            case FileProgress(transfer_id=tid, peer_id=peer, sending=sending, done=done):
                if self.json_mode:
                    self._json(
                        event="file-progress",
                        id=tid,
                        peer=peer,
                        sending=sending,
                        bytes=done,
                        total=event.total,
                    )
                else:
                    self._progress_bar(event)
            case FileReceived(transfer_id=tid, sender=sender, nick=nick, path=path):
                if self.json_mode:
                    fields = {"from": sender}
                    self._json(
                        event="file-received",
                        id=tid,
                        **fields,
                        nick=nick,
                        path=str(path),
                        bytes=event.size,
                        sha256=event.sha256,
                    )
                else:
                    who = self.nicks.label(sender, nick)
                    self._line(f"* saved {path} ({human_size(event.size)}) from {who}")
            case FileDelivered(transfer_id=tid, peer_id=peer):
                if self.json_mode:
                    self._json(event="file-delivered", id=tid, peer=peer)
                else:
                    name = self._files.get(tid, "the file")
                    self._line(f"* {self.nicks.label(peer)} has {name}, verified")
            case FileFailed(transfer_id=tid, peer_id=peer, sending=sending, reason=reason):
                if self.json_mode:
                    self._json(
                        event="file-failed", id=tid, peer=peer, sending=sending, reason=reason
                    )
                else:
                    name = self._files.get(tid, "a file")
                    way = "to" if sending else "from"
                    self._line(f"! {name} {way} {self.nicks.label(peer)} failed: {reason}")

    def _progress_bar(self, event: FileProgress) -> None:
        """A bar at each quarter of the way (plain mode: lines, not redraws, so that
        chat lines around them stay readable)."""
        total = max(event.total, 1)
        quarters = 4 * event.done // total
        key = (event.transfer_id, event.peer_id)
        if quarters <= self._quarters.get(key, 0) or quarters == 0:
            return
        self._quarters[key] = quarters
        filled = 20 * event.done // total
        bar = "#" * filled + "-" * (20 - filled)
        name = self._files.get(event.transfer_id, "file")
        way = "to" if event.sending else "from"
        percent = 100 * event.done // total
        self._line(f"  [{bar}] {percent:3d}% {name} {way} {self.nicks.label(event.peer_id)}")

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
            for peer_id, nick in peers.items():
                self.nicks.learn(peer_id, nick)
            self._line("* peers: " + ", ".join(self.nicks.label(i) for i in peers))
        else:
            self._line("* no peers connected")

    def error(self, message: str) -> None:
        if self.json_mode:
            self._json(event="error", message=message)
        else:
            self._line(f"! {message}")

    def _json(self, **fields: Any) -> None:
        self._write(json_line(fields))

    def _line(self, text: str) -> None:
        # The one way text reaches the terminal: nothing in it can be a control.
        self._write(for_terminal(text))

    def _write(self, line: str) -> None:
        self._stream.write(line + "\n")
        self._stream.flush()


def _clock(timestamp_ms: int) -> str:
    try:
        return time.strftime("%H:%M", time.localtime(timestamp_ms / 1000))
    except (OverflowError, ValueError, OSError):
        return "--:--"
