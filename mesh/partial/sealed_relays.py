"""Payloads relayed to chosen members, sealed to their keys (``private/seal.py``), so that
the members who relay them carry only ciphertext. Sans-I/O.

The author seals a payload once (:meth:`SealedRelays.seal_for`): a value goes in one
envelope as ``seal`` and ``sealed`` in place of ``value``; a bigger payload in parts
whose bytes are each encrypted under the same content key, the part number the nonce
(``partial/relayed_parts.py``). A recipient unwraps the content key once per payload
and opens each part with it. What binds a seal to its payload, its author and its
recipients is its context: a co-recipient who knows the key still cannot pass parts
off as the author's own, nor as another payload's.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from meshchat.mesh.partial.relayed import RelayedValue
from meshchat.mesh.partial.relayed_parts import RelayedPart
from meshchat.mesh.private.seal import (
    CannotOpen,
    SealKey,
    decrypt,
    encrypt,
    keys_for,
    new_seal,
    seal_context,
)
from meshchat.mesh.signalling.messages import ProtocolError
from meshchat.wire.canonical import loads_untrusted
from meshchat.wire.keys import BadSignature, b64decode, b64encode

MAX_OPEN_KEYS = 64  # content keys of payloads being received, kept to open their parts


@dataclass(frozen=True, slots=True)
class Sealing:
    """One payload sealed for its recipients: what its parts are encrypted with."""

    content_key: bytes
    seal: str  # base64url, as the bodies carry it
    context: bytes

    def encrypt(self, index: int, plaintext: bytes) -> bytes:
        return encrypt(self.content_key, index, plaintext, self.context)


class SealedRelays:
    """Sealing what we relay to chosen members, and opening what is relayed to us."""

    def __init__(
        self,
        room: str,
        own_id: str,
        key: SealKey,
        seal_key_of: Callable[[str], bytes | None],
    ) -> None:
        self._room = room
        self._own_id = own_id
        self._key = key
        self._seal_key_of = seal_key_of
        self._open_keys: OrderedDict[tuple[str, str, str], bytes] = OrderedDict()

    def seal_for(self, channel: str, message_id: str, to: tuple[str, ...]) -> Sealing:
        """A fresh seal of the payload ``message_id`` for the members ``to`` (sorted).
        ValueError for a member that announced no key."""
        keys = keys_for(to, self._seal_key_of)
        context = seal_context(self._room, channel, self._own_id, message_id, to)
        content_key, seal = new_seal(keys, context)
        return Sealing(content_key, b64encode(seal), context)

    def open_value(
        self, author: str, value: RelayedValue, to: tuple[str, ...]
    ) -> tuple[object, int]:
        """The JSON value sealed in ``value`` relayed to us, and its size;
        ProtocolError if it does not open or is not JSON."""
        content_key, context = self._content_key(
            author, value.channel, value.message_id, to, value.seal
        )
        try:
            plaintext = decrypt(content_key, 0, _bytes(value.sealed), context)
            return loads_untrusted(plaintext.decode("utf-8")), len(plaintext)
        except CannotOpen as error:
            raise ProtocolError(f"a sealed value that does not open: {error}") from None
        except (UnicodeDecodeError, ValueError) as error:
            raise ProtocolError(f"a sealed value that is not JSON: {error}") from None

    def open_part(self, author: str, part: RelayedPart, to: tuple[str, ...]) -> RelayedPart:
        """``part`` with its bytes opened; ProtocolError if they do not open."""
        content_key, context = self._content_key(
            author, part.channel, part.message_id, to, part.seal
        )
        try:
            opened = decrypt(content_key, part.index, part.data, context)
        except CannotOpen as error:
            raise ProtocolError(f"a sealed part that does not open: {error}") from None
        return dataclasses.replace(part, data=opened)

    def _content_key(
        self, author: str, channel: str, message_id: str, to: tuple[str, ...], seal: str
    ) -> tuple[bytes, bytes]:
        if self._own_id not in to:  # before the cache: it holds only what we opened
            raise ProtocolError("a sealed payload for others")
        context = seal_context(self._room, channel, author, message_id, to)
        cached = (author, message_id, seal)
        if (content_key := self._open_keys.get(cached)) is not None:
            self._open_keys.move_to_end(cached)
            return content_key, context
        try:
            content_key = self._key.open_seal(seal, to, self._own_id, context)
        except CannotOpen as error:
            raise ProtocolError(f"a sealed payload that does not open: {error}") from None
        self._open_keys[cached] = content_key
        if len(self._open_keys) > MAX_OPEN_KEYS:
            self._open_keys.popitem(last=False)
        return content_key, context


def _bytes(text: str) -> bytes:
    try:
        return b64decode(text)
    except BadSignature:
        raise ProtocolError("sealed bytes that are not base64url") from None
