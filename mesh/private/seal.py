"""Sealing to chosen members' X25519 keys: what only they can open, whoever carries it.

Each member announces an X25519 public key (``xk``) in its signed signalling messages,
so it is bound to its Ed25519 identity (``signalling/codec.py``). To seal for the
members ``to``, the author draws a random content key ``K`` and one ephemeral X25519
key pair ``e``, and for each recipient ``R`` (in the order of ``to``):

    kek_R  = HKDF-SHA256(ikm = X25519(e, R), salt = e_pub || R_pub, info = INFO, 32 bytes)
    wrap_R = AES-256-GCM(kek_R, nonce = 12 zero bytes, K, aad = context)

The *seal* is ``e_pub || wrap_1 || ... || wrap_n`` (32 + 48 n bytes). Content is
AES-256-GCM under ``K``, the nonce the big-endian part number (0 for a single message;
``K`` is never used for another message), with the same ``context`` as associated
data: the room, the channel, the author, the message id and the recipients. A member
who re-signs someone else's sealed message as its own changes the context, and it no
longer opens. docs/protocol.md, section 6; the page's twin is ``broker/web/private.js``,
held equal by shared vectors (tests/vectors).

Standard parts only (X25519, HKDF, AES-GCM from ``cryptography``), in the shape of
HPKE's base mode (RFC 9180) with one ephemeral key for many recipients.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from meshchat.wire.canonical import canonical
from meshchat.wire.keys import BadSignature, b64decode, b64encode

INFO = b"meshchat seal v1"
KEY_BYTES = 32
WRAP_BYTES = KEY_BYTES + 16  # the content key and its tag
TAG_BYTES = 16
MAX_SEALED_RECIPIENTS = 64
_ZERO_NONCE = bytes(12)


class CannotOpen(ValueError):
    """A sealed message that is not for this key, or was altered."""


def seal_context(room: str, channel: str, author: str, message_id: str, to: Sequence[str]) -> bytes:
    """What a seal and its content are bound to (AES-GCM associated data)."""
    return canonical(
        {"room": room, "channel": channel, "from": author, "id": message_id, "to": list(to)}
    )


def public_key_bytes(key_b64: object) -> bytes:
    """An announced X25519 key (base64url) as its 32 bytes; ValueError if it is not one."""
    if not isinstance(key_b64, str) or len(key_b64) != 43:
        raise ValueError("an X25519 key is 32 bytes, base64url")
    try:
        raw = b64decode(key_b64)
    except BadSignature:
        raise ValueError("an X25519 key is 32 bytes, base64url") from None
    if len(raw) != KEY_BYTES:
        raise ValueError("an X25519 key is 32 bytes, base64url")
    return raw


def _kek(shared: bytes, ephemeral: bytes, recipient: bytes) -> AESGCM:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=ephemeral + recipient, info=INFO)
    return AESGCM(hkdf.derive(shared))


def _nonce(index: int) -> bytes:
    return index.to_bytes(12, "big")


class SealKey:
    """Our X25519 key pair: announced in signalling, it opens what is sealed to us."""

    def __init__(self, private_key: X25519PrivateKey | None = None) -> None:
        self._private = private_key or X25519PrivateKey.generate()
        self.public_key = self._private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.public_key_b64 = b64encode(self.public_key)

    @classmethod
    def derived_from(cls, seed: bytes) -> SealKey:
        """The X25519 key of an Ed25519 seed: a lasting identity keeps the same one
        (HKDF, a domain of its own: neither key tells anything of the other)."""
        hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=b"meshchat x25519")
        return cls(X25519PrivateKey.from_private_bytes(hkdf.derive(seed)))

    def private_bytes(self) -> bytes:
        """The raw 32-byte private key (for test vectors)."""
        return self._private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())

    def open_seal(self, seal: str, to: Sequence[str], own_id: str, context: bytes) -> bytes:
        """The content key that ``seal`` (base64url, as messages carry it) gives us,
        ``own_id`` among the recipients ``to``; ``CannotOpen`` saying why not."""
        if own_id not in to:
            raise CannotOpen("it is for others")
        try:
            raw = b64decode(seal)
        except BadSignature:
            raise CannotOpen("its seal is not base64url") from None
        if len(raw) != seal_bytes(len(to)):
            raise CannotOpen("its seal is not one key per recipient")
        return self.content_key(raw, list(to).index(own_id), context)

    def content_key(self, seal: bytes, index: int, context: bytes) -> bytes:
        """The content key in ``seal``, from the wrap at ``index`` (our place in the
        recipients); ``CannotOpen`` if it is not ours or was altered."""
        ephemeral = seal[:KEY_BYTES]
        wrap = seal[KEY_BYTES + index * WRAP_BYTES : KEY_BYTES + (index + 1) * WRAP_BYTES]
        if len(wrap) != WRAP_BYTES:
            raise CannotOpen("the seal holds no key for us")
        try:
            shared = self._private.exchange(X25519PublicKey.from_public_bytes(ephemeral))
            return _kek(shared, ephemeral, self.public_key).decrypt(_ZERO_NONCE, wrap, context)
        except (InvalidTag, ValueError):
            raise CannotOpen("the seal does not open with our key") from None


def new_seal(
    recipient_keys: Sequence[bytes],
    context: bytes,
    *,
    fixed: tuple[bytes, X25519PrivateKey] | None = None,
) -> tuple[bytes, bytes]:
    """A fresh content key and the seal that gives it to each of ``recipient_keys``
    (32 bytes each, in the order of the message's ``to``). ValueError for a key no
    one can seal to (a low-order point). ``fixed`` (content key, ephemeral key) is
    for reproducible test vectors only: never reuse either."""
    if not 1 <= len(recipient_keys) <= MAX_SEALED_RECIPIENTS:
        raise ValueError(f"a seal is for 1-{MAX_SEALED_RECIPIENTS} recipients")
    content_key, ephemeral = fixed or (os.urandom(KEY_BYTES), X25519PrivateKey.generate())
    ephemeral_public = ephemeral.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    wraps = [ephemeral_public]
    for recipient in recipient_keys:
        shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient))
        kek = _kek(shared, ephemeral_public, recipient)
        wraps.append(kek.encrypt(_ZERO_NONCE, content_key, context))
    return content_key, b"".join(wraps)


def keys_for(to: Sequence[str], seal_key_of: Callable[[str], bytes | None]) -> list[bytes]:
    """The X25519 keys the members ``to`` announced, in that order; ValueError naming
    those that announced none (older clients)."""
    keys = [seal_key_of(peer) for peer in to]
    if missing := [peer for peer, key in zip(to, keys, strict=True) if key is None]:
        raise ValueError(
            f"no key for private messages from {', '.join(missing)} (an older client?)"
        )
    return [key for key in keys if key is not None]


def seal_bytes(recipients: int) -> int:
    """The length of a seal for ``recipients`` members."""
    return KEY_BYTES + recipients * WRAP_BYTES


def encrypt(content_key: bytes, index: int, plaintext: bytes, context: bytes) -> bytes:
    return AESGCM(content_key).encrypt(_nonce(index), plaintext, context)


def decrypt(content_key: bytes, index: int, ciphertext: bytes, context: bytes) -> bytes:
    try:
        return AESGCM(content_key).decrypt(_nonce(index), ciphertext, context)
    except InvalidTag:
        raise CannotOpen("sealed content was altered") from None
