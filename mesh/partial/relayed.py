"""What the bodies of relayed envelopes (``partial/gossip.py``) say, checked field by field.

An envelope's signature proves its author wrote the body; this module says what the
body means: a chat line (itself signed by the author, as on a direct link, so that
history can keep it), a private line sealed to the envelope's recipients, a value on a
channel, a part of a bigger payload or of bytes (``partial/relayed_parts.py``), a
receipt for a payload relayed to us (``partial/relayed_receipts.py``), a report that a
member's link died, or a bye. A body of a type this version does not know is ignored
(a newer client).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from meshchat.mesh.link.chat_frames import (
    MAX_TIMESTAMP_MS,
    ChatMessage,
    PrivateLine,
    private_signed_content,
    read_chat_message,
    read_private_line,
    signed_content,
    whole_number,
)
from meshchat.mesh.link.payloads import check_channel_name
from meshchat.mesh.partial.gossip import Envelope
from meshchat.mesh.partial.relayed_parts import RelayedPart, read_part
from meshchat.mesh.signalling.messages import ID_PATTERN, ProtocolError
from meshchat.wire.keys import BadSignature, verify


@dataclass(frozen=True, slots=True)
class RelayedChat:
    message: ChatMessage


@dataclass(frozen=True, slots=True)
class RelayedPrivate:
    """A private line (``private/lines.py``): only its recipients can open it."""

    line: PrivateLine


@dataclass(frozen=True, slots=True)
class RelayedValue:
    """A value on a channel; or, with ``seal``, one sealed to the envelope's recipients
    (``sealed`` holds it: ``partial/sealed_relays.py`` opens it)."""

    channel: str
    message_id: str
    timestamp_ms: int
    value: object
    size: int  # of the value as JSON, in bytes
    seal: str = ""
    sealed: str = ""


@dataclass(frozen=True, slots=True)
class Receipt:
    """The author has our payload ``message_id`` (relayed to it)."""

    message_id: str


@dataclass(frozen=True, slots=True)
class GoneReport:
    peer_id: str


@dataclass(frozen=True, slots=True)
class StillHere:
    """The author was reported gone and is not: its signed hello, for its nick."""

    hello: object


@dataclass(frozen=True, slots=True)
class RelayedBye:
    pass


Relayed = (
    RelayedChat
    | RelayedPrivate
    | RelayedValue
    | RelayedPart
    | Receipt
    | GoneReport
    | StillHere
    | RelayedBye
)


def value_body(channel: str, message_id: str, timestamp_ms: int, value: object) -> dict[str, Any]:
    return {
        "type": "data",
        "channel": channel,
        "id": message_id,
        "ts": timestamp_ms,
        "value": value,
    }


def gone_body(peer_id: str) -> dict[str, Any]:
    return {"type": "gone", "peer": peer_id}


def here_body(hello: object) -> dict[str, Any]:
    return {"type": "here", "hello": hello}


BYE_BODY: dict[str, Any] = {"type": "bye"}


def read_body(envelope: Envelope, room: str) -> Relayed | None:
    """The envelope's body; None for a type this version does not know. Raises
    ProtocolError if a field is invalid, or a chat line's own signature is not its
    author's."""
    body = envelope.body
    match body.get("type"):
        case "chat" if "to" in body:
            line = read_private_line(body)
            if line.sender != envelope.author or line.to != envelope.to:
                raise ProtocolError("a relayed private line not as its envelope says")
            content = private_signed_content(line, room)
            try:
                verify(line.sender, envelope.key, line.signature, content)
            except BadSignature:
                raise ProtocolError("a relayed private line whose own signature is wrong") from None
            return RelayedPrivate(line)
        case "chat":
            message = read_chat_message(body)
            if message.sender != envelope.author:
                raise ProtocolError("a relayed chat line from someone other than its author")
            try:
                verify(
                    message.sender, envelope.key, message.signature, signed_content(message, room)
                )
            except BadSignature:
                raise ProtocolError("a relayed chat line whose own signature is wrong") from None
            return RelayedChat(message)
        case "data":
            channel, message_id = body.get("channel"), body.get("id")
            ts = whole_number(body.get("ts"), 0, MAX_TIMESTAMP_MS)
            if not isinstance(channel, str):
                raise ProtocolError("relayed data without a channel")
            try:
                check_channel_name(channel)
            except ValueError as error:
                raise ProtocolError(str(error)) from None
            if not isinstance(message_id, str) or not ID_PATTERN.match(message_id):
                raise ProtocolError("relayed data without a valid 'id'")
            if ts is None:
                raise ProtocolError("relayed data without a valid 'ts'")
            if "seal" in body:
                seal, sealed = body.get("seal"), body.get("sealed")
                if not (isinstance(seal, str) and isinstance(sealed, str)) or not envelope.to:
                    raise ProtocolError("sealed data needs 'seal' and 'sealed', to chosen members")
                return RelayedValue(channel, message_id, ts, None, 0, seal, sealed)
            value = body.get("value")
            size = len(json.dumps(value, separators=(",", ":")).encode())
            return RelayedValue(channel, message_id, ts, value, size)
        case "part":
            return read_part(body, envelope.attachment)
        case "got":
            message_id = body.get("id")
            if not isinstance(message_id, str) or not ID_PATTERN.match(message_id):
                raise ProtocolError("a receipt without a valid 'id'")
            return Receipt(message_id)
        case "gone":
            peer_id = body.get("peer")
            if not isinstance(peer_id, str) or not ID_PATTERN.match(peer_id):
                raise ProtocolError("a 'gone' report without a valid 'peer'")
            return GoneReport(peer_id)
        case "here":
            return StillHere(body.get("hello"))
        case "bye":
            return RelayedBye()
    return None
