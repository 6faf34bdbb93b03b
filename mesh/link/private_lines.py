"""Private chat lines: a chat line's text sealed to chosen members (``private/seal.py``), signed
by its author over what travels, so that a relay can check it and forward it but never
read it. Sans-I/O; the data plane sends and receives them over links
(``link/dataplane.py``), the partial mesh relays them (``partial/relayed.py``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from meshchat.mesh.link.chat_frames import (
    CHANNEL_LABEL,
    MAX_TEXT_BYTES,
    ChatMessage,
    PrivateLine,
    private_signed_content,
)
from meshchat.mesh.private.seal import (
    CannotOpen,
    SealKey,
    decrypt,
    encrypt,
    new_seal,
    seal_context,
)
from meshchat.mesh.signalling.messages import ProtocolError
from meshchat.wire.keys import BadSignature, b64decode, b64encode


def seal_line(
    message: ChatMessage,
    to: tuple[str, ...],
    recipient_keys: Sequence[bytes],
    room: str,
    sign: Callable[[bytes], str],
    *,
    fixed: tuple[bytes, X25519PrivateKey] | None = None,
) -> PrivateLine:
    """``message`` (numbered, not yet signed) sealed to the members ``to`` (sorted),
    whose X25519 keys are ``recipient_keys`` in that order, and signed. (``fixed``:
    see ``new_seal``.)"""
    context = seal_context(room, CHANNEL_LABEL, message.sender, message.id, to)
    content_key, seal = new_seal(recipient_keys, context, fixed=fixed)
    sealed = encrypt(content_key, 0, message.text.encode("utf-8"), context)
    line = PrivateLine(
        message.id,
        message.sender,
        message.nick,
        message.timestamp_ms,
        message.seq,
        to,
        b64encode(seal),
        b64encode(sealed),
    )
    return dataclasses.replace(line, signature=sign(private_signed_content(line, room)))


def open_line(line: PrivateLine, room: str, own_id: str, key: SealKey) -> ChatMessage:
    """The chat line in ``line`` (its signature already checked), for us among its
    recipients. ProtocolError if it is not for us, or does not open."""
    context = seal_context(room, CHANNEL_LABEL, line.sender, line.id, line.to)
    try:
        content_key = key.open_seal(line.seal, line.to, own_id, context)
        plaintext = decrypt(content_key, 0, _sealed_bytes(line.sealed), context)
    except CannotOpen as error:
        raise ProtocolError(f"a private line that does not open: {error}") from None
    if len(plaintext) > MAX_TEXT_BYTES:
        raise ProtocolError("private text exceeds the size limit")
    try:
        text = plaintext.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError("private text is not UTF-8") from None
    return ChatMessage(
        line.id, line.sender, line.nick, line.timestamp_ms, text, line.seq, line.signature, line.to
    )


def _sealed_bytes(text: str) -> bytes:
    try:
        return b64decode(text)
    except BadSignature:
        raise CannotOpen("its sealed text is not base64url") from None
