"""How room events are shown: for people, or as one JSON object per line.

The :class:`Printer` decides what to say; for people it says it to a :class:`Sink`:
lines of text in ``--plain`` mode (:class:`PlainSink`), widgets in the terminal app
(``chat_app.py``). Everything a peer chose (nick, text, even reasons built from what it
sent) goes through ``terminal_text`` before it reaches the terminal, and no single event
can stop the display: a failure to show one is reported in its place.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import sys
import time
from collections.abc import Iterator
from typing import Any, Literal, Protocol, TextIO

from meshchat.mesh import (
    EventsMissed,
    FileDelivered,
    FileFailed,
    FileOffered,
    FileProgress,
    FileReceived,
    FileTransfer,
    MessageReceived,
    MessageUndelivered,
    PayloadDelivered,
    PayloadUndelivered,
    PeerJoined,
    PeerLeft,
    PeerLink,
    Received,
    RoomEvent,
    SentMessage,
    SentPayload,
    SignallingLost,
    SignallingRestored,
    TransferProgress,
)
from meshchat.wire.safety_numbers import grouped

from .contacts import ContactBook
from .options import human_size
from .terminal_text import for_terminal, json_line

log = logging.getLogger(__name__)

SHOWN_VALUE = 200  # characters of a channel's JSON value shown in line mode
TAG_CHARS = 4  # id characters shown after a nick, more when two peers would look alike
VERIFIED_MARK = "✓"  # after the label of a verified contact
PRIVATE_MARK = "(private)"  # after the label of a private line's author


class NickBook:
    """Labels for people: ``nick#tag``, where the tag is the start of the peer's id,
    long enough that no two peers seen in this session look the same."""

    def __init__(self) -> None:
        self._nicks: dict[str, str] = {}  # peer id -> nick
        self.contacts: ContactBook | None = None  # a lasting identity's (contacts.py)

    def learn(self, peer_id: str, nick: str) -> None:
        self._nicks[peer_id] = nick

    def nick_of(self, peer_id: str) -> str | None:
        return self._nicks.get(peer_id)

    def label(self, peer_id: str, nick: str | None = None) -> str:
        nick = nick if nick is not None else self._nicks.get(peer_id, "?")
        namesakes = [i for i, n in self._nicks.items() if n == nick and i != peer_id]
        length = TAG_CHARS
        while length < len(peer_id) and any(i[:length] == peer_id[:length] for i in namesakes):
            length += 2
        mark = VERIFIED_MARK if self.verified(peer_id, nick) else ""
        return f"{nick}#{peer_id[:length]}{mark}"

    def verified(self, peer_id: str, nick: str | None = None) -> bool:
        """Whether the peer is a contact whose key was verified (``/trust``)."""
        nick = nick if nick is not None else self._nicks.get(peer_id, "")
        return self.contacts is not None and self.contacts.standing(peer_id, nick) == "verified"

    def resolve(self, who: str, present: dict[str, str]) -> str:
        """The id of the one present peer called ``who`` (a nick, or nick#tag).
        LookupError, saying why, if there is none or more than one."""
        for peer_id, nick in present.items():
            self.learn(peer_id, nick)
        nick, _, tag = who.removesuffix(VERIFIED_MARK).partition("#")
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


NoticeKind = Literal["info", "problem"]


class Sink(Protocol):
    """Where the printer's lines for people go. Nothing given here is safe yet: a sink
    passes stranger-chosen text through ``for_terminal`` (or shows it as plain data)."""

    def notice(self, text: str, kind: NoticeKind) -> None:
        """Something about the room: a join, a leave, a saved file, an error..."""

    def message(self, timestamp_ms: int, sender: str, label: str, text: str, history: bool) -> None:
        """A chat line by ``sender`` (a peer id); ``history``: said before we joined."""

    def own_message(self, timestamp_ms: int, sender: str, label: str, text: str) -> None:
        """A chat line we sent."""

    def progress(self, transfer: str, peer: str, caption: str, done: int, total: int) -> None:
        """``done`` of ``total`` bytes of a file to or from ``peer``."""

    def transfer_ended(self, transfer: str, peer: str) -> None:
        """That file is through, or failed (a notice says which)."""


class PlainSink:
    """Lines of text on a stream: ``* notices``, ``! problems``, ``HH:MM <nick#tag> text``."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._quarters: dict[tuple[str, str], int] = {}  # (transfer, peer) -> quarters shown

    def notice(self, text: str, kind: NoticeKind) -> None:
        self._line(f"{'!' if kind == 'problem' else '*'} {text}")

    def message(self, timestamp_ms: int, sender: str, label: str, text: str, history: bool) -> None:
        mark = "(history) " if history else ""
        self._line(f"{mark}{clock(timestamp_ms)} <{label}> {text}")

    def own_message(self, timestamp_ms: int, sender: str, label: str, text: str) -> None:
        """Not repeated: the line the user typed is on the screen already."""

    def progress(self, transfer: str, peer: str, caption: str, done: int, total: int) -> None:
        """A bar at each quarter of the way (lines, not redraws, so that chat lines
        around them stay readable)."""
        total = max(total, 1)
        quarters = 4 * done // total
        key = (transfer, peer)
        if quarters <= self._quarters.get(key, 0) or quarters == 0:
            return
        self._quarters[key] = quarters
        filled = 20 * done // total
        bar = "#" * filled + "-" * (20 - filled)
        self._line(f"  [{bar}] {100 * done // total:3d}% {caption}")

    def transfer_ended(self, transfer: str, peer: str) -> None:
        self._quarters.pop((transfer, peer), None)

    def _line(self, text: str) -> None:
        # The one way text reaches the terminal: nothing in it can be a control.
        self._stream.write(for_terminal(text) + "\n")
        self._stream.flush()


class Printer:
    def __init__(
        self, json_mode: bool, stream: TextIO = sys.stdout, sink: Sink | None = None
    ) -> None:
        self.json_mode = json_mode
        self._stream = stream
        self._sink: Sink = sink if sink is not None else PlainSink(stream)
        self.nicks = NickBook()
        self._files: dict[str, str] = {}  # transfer id -> file name, for progress lines

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
        self._notice(
            f"joined the {kind} room {room!r} as {self.nicks.label(client_id)} via {where}"
        )
        if sealed:
            self._notice("only holders of the room secret can meet you here")
        else:
            self._notice("anyone who knows the room's name can join; --secret seals a room")
        self._notice(f"your id is {client_id}")
        self._notice(
            "type a message and press Enter; /help lists commands, /send PATH [NICK] "
            "sends a file, /quit leaves"
        )

    def event(self, event: RoomEvent) -> None:
        """Show one event; never raises (a failure is shown in the event's place)."""
        with self._in_place_of(event, "an event"):
            self._event(event)

    def _event(self, event: RoomEvent) -> None:
        match event:
            case PeerJoined(peer_id=peer, nick=nick, route=route):
                self.nicks.learn(peer, nick)
                if self.json_mode:
                    verified = self.nicks.verified(peer, nick)
                    self._json(event="joined", peer=peer, nick=nick, route=route, verified=verified)
                else:
                    self._notice(f"{self.nicks.label(peer)} joined (id {peer})")
            case PeerLeft(peer_id=peer, nick=nick, reason=reason):
                if self.json_mode:
                    self._json(event="left", peer=peer, nick=nick, reason=reason)
                else:
                    self._notice(f"{self.nicks.label(peer, nick)} left: {reason}")
            case MessageReceived(message=m, history=history):
                if self.json_mode:
                    self._json(
                        event="message",
                        id=m.id,
                        sender=m.sender,
                        nick=m.nick,
                        timestamp_ms=m.timestamp_ms,
                        text=m.text,
                        history=history,
                        verified=self.nicks.verified(m.sender, m.nick),
                        private=m.private,
                        # The names used before, kept for the scripts that read them.
                        **{"from": m.sender, "ts": m.timestamp_ms},
                    )
                else:
                    label = self.nicks.label(m.sender, m.nick)
                    if m.private:
                        label = f"{label} {PRIVATE_MARK}"
                    self._sink.message(m.timestamp_ms, m.sender, label, m.text, history)
            case SignallingLost(reason=reason, final=final):
                if self.json_mode:
                    self._json(event="signalling-lost", reason=reason, final=final)
                else:
                    retry = "" if final else "; reconnecting"
                    self._notice(
                        f"signalling lost ({reason}){retry}. Open chats continue; "
                        "no one new can join meanwhile"
                    )
            case MessageUndelivered(message=m, peer_id=peer, reason=reason):
                if self.json_mode:
                    self._json(event="undelivered", id=m.id, peer=peer, reason=reason)
                else:
                    preview = m.text if len(m.text) <= 30 else m.text[:29] + "…"
                    self._problem(f"{preview!r} did not reach {self.nicks.label(peer)}: {reason}")
            case SignallingRestored():
                if self.json_mode:
                    self._json(event="signalling-restored")
                else:
                    self._notice("signalling restored")
            case FileOffered() | FileProgress() | FileReceived() | FileDelivered() | FileFailed():
                self._file_event(event)
            case PayloadDelivered() | PayloadUndelivered() | TransferProgress():
                self._payload_event(event)
            case EventsMissed(count=count):
                if self.json_mode:
                    self._json(event="events-missed", count=count)
                else:
                    self._problem(f"this display fell behind: {count} events were not shown")

    def _payload_event(
        self, event: PayloadDelivered | PayloadUndelivered | TransferProgress
    ) -> None:
        """How a payload we sent on a channel went (``--json`` only: line mode sends
        none), and how far one coming to us is."""
        if not self.json_mode:
            if isinstance(event, PayloadUndelivered):
                to = self.nicks.label(event.peer_id)
                reason = for_terminal(event.reason)
                self._problem(f"a payload on {event.header.channel!r} did not reach {to}: {reason}")
            return
        match event:
            case PayloadDelivered(header=header, peer_id=peer):
                self._json(
                    event="payload-delivered", id=header.id, channel=header.channel, peer=peer
                )
            case PayloadUndelivered(header=header, peer_id=peer, reason=reason):
                self._json(
                    event="payload-undelivered",
                    id=header.id,
                    channel=header.channel,
                    peer=peer,
                    reason=reason,
                )
            case TransferProgress() as progress:
                self._json(
                    event="payload-progress",
                    id=progress.message_id,
                    channel=progress.channel,
                    peer=progress.peer_id,
                    sending=progress.sending,
                    done=progress.done,
                    total=progress.total,
                )

    def payload(self, received: Received) -> None:
        """A JSON value or bytes on a channel asked for with ``--channel``; never
        raises, as :meth:`event`."""
        with self._in_place_of(received, f"a message on {received.channel!r}"):
            self._payload(received)

    def _payload(self, received: Received) -> None:
        if self.json_mode:
            content = (
                {"bytes": base64.b64encode(received.bytes()).decode("ascii")}
                if received.kind == "bytes"
                else {"data": received.data}
            )
            self._json(
                event="payload",
                channel=received.channel,
                id=received.id,
                sender=received.sender,
                nick=received.nick,
                timestamp_ms=received.timestamp_ms,
                kind=received.kind,
                size=received.size,
                sha256=received.sha256,
                **content,
            )
            return
        if received.kind == "bytes":
            shown = f"{human_size(received.size)} of bytes"
        else:
            text = json.dumps(received.data, ensure_ascii=False, separators=(",", ":"))
            shown = text if len(text) <= SHOWN_VALUE else text[: SHOWN_VALUE - 1] + "…"
        label = self.nicks.label(received.sender, received.nick)
        self._notice(f"{label} on {received.channel!r}: {for_terminal(shown)}")

    def payload_sent(self, sent: SentPayload) -> None:
        if self.json_mode:
            self._json(
                event="payload-sent",
                id=sent.id,
                channel=sent.header.channel,
                size=sent.header.size,
                to=list(sent.sending_to),
                queued_for=list(sent.queued_for),
            )

    def hosting_broker(self, url: str) -> None:
        """This process took over running the room's broker (its host left)."""
        if self.json_mode:
            self._json(event="broker-hosted", url=url)
        else:
            self._notice(f"the broker's host left; this process now runs it at {url}")

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
            self._notice(f"offering {transfer.name} ({human_size(transfer.size)}) to {to}")

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
                    self._notice(f"{who} sends {name} ({human_size(size)})")
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
                    self._notice(f"saved {path} ({human_size(event.size)}) from {who}")
                    self._sink.transfer_ended(tid, sender)
            case FileDelivered(transfer_id=tid, peer_id=peer):
                if self.json_mode:
                    self._json(event="file-delivered", id=tid, peer=peer)
                else:
                    name = self._files.get(tid, "the file")
                    self._notice(f"{self.nicks.label(peer)} has {name}, verified")
                    self._sink.transfer_ended(tid, peer)
            case FileFailed(transfer_id=tid, peer_id=peer, sending=sending, reason=reason):
                if self.json_mode:
                    self._json(
                        event="file-failed", id=tid, peer=peer, sending=sending, reason=reason
                    )
                else:
                    name = self._files.get(tid, "a file")
                    way = "to" if sending else "from"
                    self._problem(f"{name} {way} {self.nicks.label(peer)} failed: {reason}")
                    self._sink.transfer_ended(tid, peer)

    def _progress_bar(self, event: FileProgress) -> None:
        name = self._files.get(event.transfer_id, "file")
        way = "to" if event.sending else "from"
        caption = f"{name} {way} {self.nicks.label(event.peer_id)}"
        self._sink.progress(event.transfer_id, event.peer_id, caption, event.done, event.total)

    def sent(self, sent: SentMessage) -> None:
        m = sent.message
        if self.json_mode:
            self._json(
                event="sent",
                id=m.id,
                text=m.text,
                ts=m.timestamp_ms,
                to=list(sent.delivered_to),
                queued_for=list(sent.queued_for),
                private=m.private,
                **({"recipients": list(m.to)} if m.private else {}),
            )
            return
        label = self.nicks.label(m.sender)
        if m.private:
            label += f" {PRIVATE_MARK} " + ", ".join(self.nicks.label(peer) for peer in m.to)
        self._sink.own_message(m.timestamp_ms, m.sender, label, m.text)
        if not sent.delivered_to and not sent.queued_for:
            self._notice("nobody is here yet; the message was not delivered")

    def peers(self, links: dict[str, PeerLink]) -> None:
        """``/peers``: who is here, by which ICE route, how far (round trip)."""
        if self.json_mode:
            listed = [
                {
                    "id": peer_id,
                    "nick": link.nick,
                    "route": link.route,
                    "rtt_ms": None if link.round_trip is None else round(link.round_trip * 1000, 1),
                    "verified": self.nicks.verified(peer_id, link.nick),
                }
                for peer_id, link in links.items()
            ]
            self._json(event="peers", peers=listed)
        elif links:
            for peer_id, link in links.items():
                self.nicks.learn(peer_id, link.nick)
            described = [
                f"{self.nicks.label(i)} ({link.route}, {describe_round_trip(link.round_trip)})"
                for i, link in links.items()
            ]
            self._notice("peers: " + ", ".join(described))
        else:
            self._notice("no peers connected")

    def safety_number(self, peer_id: str, digits: str) -> None:
        """``/verify``: the digits to compare with the peer, by voice or side by side."""
        nick = self.nicks.nick_of(peer_id)
        if self.json_mode:
            self._json(event="safety-number", nick=nick, id=peer_id, number=digits)
            return
        self._notice(f"safety number with {self.nicks.label(peer_id)}: {grouped(digits)}")
        self._notice(
            "compare it with theirs, read aloud or side by side: if every digit matches, "
            "no one sits between you"
        )

    def contact_mismatch(self, peer_id: str, nick: str) -> None:
        """Someone came under a contact's nick with another key."""
        if self.json_mode:
            self._json(event="contact-mismatch", nick=nick, id=peer_id)
            return
        self._problem(
            f"{self.nicks.label(peer_id, nick)} uses the nick of your contact {nick!r} "
            "with another key: it is not them"
        )

    def contacts(self, book: ContactBook) -> None:
        """``/contacts``."""
        listed = sorted(book.contacts.items())
        if self.json_mode:
            entries = [{"nick": n, "id": c.id, "verified": c.verified} for n, c in listed]
            self._json(event="contacts", contacts=entries)
            return
        if not listed:
            self._notice("no contacts yet: /verify NICK, compare, then /trust NICK")
        for nick, contact in listed:
            how = "verified" if contact.verified else "remembered, not verified"
            self._notice(f"contact {for_terminal(nick)}: {contact.id} ({how})")

    def trusted(self, peer_id: str, nick: str, trusted: bool) -> None:
        """``/trust`` or ``/untrust`` done."""
        if self.json_mode:
            self._json(event="trusted" if trusted else "untrusted", nick=nick, id=peer_id)
        elif trusted:
            self._notice(f"{self.nicks.label(peer_id, nick)} is a verified contact now")
        else:
            self._notice(f"{for_terminal(nick)} is no longer a contact")

    def error(self, message: str) -> None:
        if self.json_mode:
            self._json(event="error", message=message)
        else:
            self._problem(message)

    def notice(self, message: str) -> None:
        """Something for people to read (never shown in --json mode)."""
        if not self.json_mode:
            self._notice(message)

    @contextlib.contextmanager
    def _in_place_of(self, shown: object, what: str) -> Iterator[None]:
        """A failure to show ``shown`` is reported in its place: the display must
        outlive any one event, and any one peer's value."""
        try:
            yield
        except Exception as error:
            log.debug("could not show %r", shown, exc_info=True)
            self.error(f"could not show {what} ({type(error).__name__})")

    def _json(self, **fields: Any) -> None:
        self._stream.write(json_line(fields) + "\n")
        self._stream.flush()

    def _notice(self, text: str) -> None:
        self._sink.notice(text, "info")

    def _problem(self, text: str) -> None:
        self._sink.notice(text, "problem")


def describe_round_trip(seconds: float | None) -> str:
    if seconds is None:
        return "round trip not yet measured"
    milliseconds = seconds * 1000
    return f"{milliseconds:.1f} ms" if milliseconds < 10 else f"{milliseconds:.0f} ms"


def clock(timestamp_ms: int) -> str:
    """HH:MM of a timestamp from a peer (which may be absurd)."""
    try:
        return time.strftime("%H:%M", time.localtime(timestamp_ms / 1000))
    except (OverflowError, ValueError, OSError):
        return "--:--"
