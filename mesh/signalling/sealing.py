"""Optional room secret: signalling sealed so that only holders of the secret can read it.

With a secret, every signalling message is encrypted and authenticated with AES-256-GCM
under a key derived from the secret with scrypt (salted by the room name, so the same
secret gives different keys in different rooms, and guessing it offline is slow). The
pub/sub service then sees no SDP, no candidates, no nicknames, and even the room name is
replaced in topic names by a tag derived from the key.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from meshchat.wire.keys import BadSignature, b64decode, b64encode

NONCE_BYTES = 12
# Sealed plaintext is padded with spaces (JSON ignores them) to the next of these
# sizes, so the length of a blob tells the broker the kind of message, not a nick.
MIN_PADDED_BYTES = 1024


def padded(plaintext: bytes) -> bytes:
    """``plaintext`` with trailing spaces up to the next power of two (at least 1 KiB)."""
    size = MIN_PADDED_BYTES
    while size < len(plaintext):
        size *= 2
    return plaintext + b" " * (size - len(plaintext))


class WrongSecret(ValueError):
    """A sealed message could not be opened: another secret, or tampered with."""


class RoomSeal:
    def __init__(self, room: str, secret: str) -> None:
        if not secret:
            raise ValueError("the room secret must not be empty")
        key = hashlib.scrypt(
            secret.encode(), salt=f"meshchat room v1:{room}".encode(), n=2**14, r=8, p=1, dklen=32
        )
        self._aead = AESGCM(key)
        self._aad = room.encode()
        # What the pub/sub service sees instead of the room name.
        self.topic_tag = "s-" + hmac.new(key, b"topic", hashlib.sha256).hexdigest()[:24]

    def seal(self, plaintext: bytes) -> str:
        nonce = os.urandom(NONCE_BYTES)
        return b64encode(nonce + self._aead.encrypt(nonce, padded(plaintext), self._aad))

    def open(self, sealed: str) -> bytes:
        try:
            blob = b64decode(sealed)
        except BadSignature:
            raise WrongSecret("sealed message is not base64url") from None
        if len(blob) < NONCE_BYTES + 16:
            raise WrongSecret("sealed message is too short")
        try:
            return self._aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], self._aad)
        except InvalidTag:
            raise WrongSecret("cannot open sealed message: wrong room secret?") from None
