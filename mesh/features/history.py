"""History for late joiners, without I/O: what a peer keeps of the room's chat, what it
asks for when it joins, and what it believes of the answers.

Each peer keeps the room's recent chat lines (the last 200, none older than 24 hours,
in memory only) together with each author's public key. A newcomer asks the first
peers it meets (``{"type": "request"}`` on the reserved channel ``meshchat/history``)
and each answers once with what it kept (``{"type": "messages", "messages": [...]}``,
every entry the author's signed chat frame plus ``key``). Every entry is checked as if
its author had sent it: the key must be the one the author's id derives from, and the
signature the author's over this room's message. So an answer can come from anyone,
about authors long gone, and still cannot be forged or altered; an entry that fails is
dropped and counted. The newcomer shows each message once, marked as history: under
the nick the room knows for its author (an answerer cannot relabel a line), each
author's lines in the order the author numbered them (nor reorder them), none said
more than a day before or ahead of its own clock.
"""

from __future__ import annotations

import dataclasses
import json
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from meshchat.mesh.link.chat_frames import (
    ChatMessage,
    encode_chat,
    read_chat_message,
    signed_content,
)
from meshchat.mesh.link.payloads import MAX_JSON_BYTES
from meshchat.mesh.signalling.messages import ProtocolError
from meshchat.wire.keys import BadSignature, verify

HISTORY_CHANNEL = "meshchat/history"
MAX_MESSAGES = 200
MAX_AGE = 24 * 3600.0  # seconds, by when we received the line
ASK_WITHIN = 15.0  # seconds after joining: peers met later are not asked
ASK_AT_MOST = 2  # peers asked; each answer costs its sender up to 200 lines
ANSWER_INTERVAL = 60.0  # seconds: one answer per peer per minute, whatever it asks
MAX_SKEW_MS = 10 * 60 * 1000  # a line "said" further ahead of our clock is refused
UNKNOWN_NICK = "?"  # shown for an author the room does not know (with its id's tag)


@dataclass(frozen=True, slots=True)
class Request:
    pass


@dataclass(frozen=True, slots=True)
class Answer:
    entries: list[Any]  # unchecked: see HistoryBook.believe


@dataclass(frozen=True, slots=True)
class Kept:
    message: ChatMessage
    key: str  # the author's public key, base64url
    kept_at: float


def in_order(messages: list[ChatMessage]) -> list[ChatMessage]:
    """By time said; and each author's lines in the order of their numbers, which its
    signature fixes (an answer cannot reorder what one author said)."""
    by_time = sorted(messages, key=lambda message: message.timestamp_ms)
    own: dict[str, list[ChatMessage]] = {}
    for message in sorted(by_time, key=lambda message: message.seq, reverse=True):
        own.setdefault(message.sender, []).append(message)
    return [own[message.sender].pop() for message in by_time]


def parse(value: object) -> Request | Answer:
    """A history payload's JSON value; ProtocolError if it is neither form."""
    if not isinstance(value, dict):
        raise ProtocolError("a history message is a JSON object")
    match value.get("type"):
        case "request":
            return Request()
        case "messages":
            entries = value.get("messages")
            if not isinstance(entries, list) or len(entries) > MAX_MESSAGES:
                raise ProtocolError(f"a history answer holds a list of at most {MAX_MESSAGES}")
            return Answer(entries)
    raise ProtocolError("a history message is a request or messages")


REQUEST: dict[str, str] = {"type": "request"}


class HistoryBook:
    """The room's recent chat as this peer saw it, and what it has shown."""

    def __init__(self, room: str, *, keep: bool = True) -> None:
        self.room = room
        self.keeping = keep  # --no-history: nothing kept, nothing asked, nothing shown
        self._kept: OrderedDict[tuple[str, str], Kept] = OrderedDict()  # (author, id)
        self._joined_at: float | None = None
        self._asked = 0
        self._waiting: set[str] = set()  # peers asked whose answer has not come
        self._answered: dict[str, float] = {}  # peer -> when we last answered it
        self.forged = 0  # entries dropped because they did not verify
        self.stale = 0  # entries dropped as said over a day ago, or in the future

    # -- keeping --

    def keep(self, message: ChatMessage, key: str, now: float) -> None:
        """A chat line seen live (ours too), or believed from an answer."""
        if not self.keeping:
            return
        self._kept[(message.sender, message.id)] = Kept(message, key, now)
        while len(self._kept) > MAX_MESSAGES:
            self._kept.popitem(last=False)

    def recent(self, now: float) -> list[Kept]:
        while self._kept:
            oldest = next(iter(self._kept.values()))
            if now - oldest.kept_at <= MAX_AGE:
                break
            self._kept.popitem(last=False)
        return list(self._kept.values())

    # -- asking --

    def joined(self, now: float) -> None:
        self._joined_at = now

    def should_ask(self, peer_id: str, now: float) -> bool:
        """A channel to ``peer_id`` just opened: ask it for the history?"""
        if not self.keeping or self._joined_at is None or now - self._joined_at > ASK_WITHIN:
            return False
        if self._asked >= ASK_AT_MOST:
            return False
        self._asked += 1
        self._waiting.add(peer_id)
        return True

    def answer_for(self, peer_id: str, now: float) -> dict[str, Any] | None:
        """Our answer to a request from ``peer_id``, or None (asked too often)."""
        last = self._answered.get(peer_id)
        if last is not None and now - last < ANSWER_INTERVAL:
            return None
        self._answered[peer_id] = now
        entries = [
            {**json.loads(encode_chat(kept.message)), "key": kept.key} for kept in self.recent(now)
        ]
        # The newest lines that fit in one JSON value (200 long lines would not).
        room = MAX_JSON_BYTES - len('{"type":"messages","messages":[]}')
        fitting = 0
        for entry in reversed(entries):
            room -= len(json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode()) + 1
            if room < 0:
                break
            fitting += 1
        return {"type": "messages", "messages": entries[len(entries) - fitting :]}

    # -- believing --

    def believe(
        self,
        peer_id: str,
        answer: Answer,
        now: float,
        *,
        now_ms: int | None = None,
        nick_of: Callable[[str], str | None] = lambda author: None,
    ) -> list[ChatMessage]:
        """The messages of an answer to show: only from a peer we asked, only entries
        that verify as their author's, only ones not seen before, none said more than
        a day ago or from the future (by ``now_ms``, our clock). What the answerer
        cannot sign, it cannot choose: each line shows under the nick the room knows
        for its author (``nick_of``; else ``?``), and each author's lines come in the
        order the author numbered them, whatever the answer's order."""
        if peer_id not in self._waiting:
            return []  # an answer nobody asked for, or a second one
        self._waiting.discard(peer_id)
        shown: list[ChatMessage] = []
        for entry in answer.entries:
            checked = self._checked(entry)
            if checked is None:
                self.forged += 1
                continue
            message, key = checked
            if (message.sender, message.id) in self._kept:
                continue  # seen live, or in an earlier answer
            if now_ms is not None and not (
                now_ms - MAX_AGE * 1000 <= message.timestamp_ms <= now_ms + MAX_SKEW_MS
            ):
                self.stale += 1
                continue
            message = dataclasses.replace(message, nick=nick_of(message.sender) or UNKNOWN_NICK)
            self.keep(message, key, now)
            shown.append(message)
        return in_order(shown)

    def _checked(self, entry: object) -> tuple[ChatMessage, str] | None:
        if not isinstance(entry, dict) or not isinstance(key := entry.get("key"), str):
            return None
        try:
            message = read_chat_message(entry)
            verify(message.sender, key, message.signature, signed_content(message, self.room))
        except (ProtocolError, BadSignature):
            return None
        return message, key
