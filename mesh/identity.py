"""Who a client is: an Ed25519 key pair, and a client id derived from its public key.

Every signalling message is signed, so no one (another peer, the broker, Ably) can
speak in a client's name or alter what it said, including the DTLS fingerprint in its
SDP. A client id is the first 16 bytes of SHA-256 over the raw public key, in hex.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey


class BadSignature(ValueError):
    """A signature or key does not check out."""


def b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise BadSignature("not base64url") from None


# The bundled broker lets only a client id's owner subscribe to its private topic: it
# sends a challenge in this handshake header, and wants it signed (``subscribe_proof``).
CHALLENGE_HEADER = "X-Meshchat-Challenge"


def subscribe_proof_payload(challenge: str) -> bytes:
    return f"meshchat-subscribe:{challenge}".encode()


def client_id_for(public_key: bytes) -> str:
    return hashlib.sha256(public_key).hexdigest()[:32]


class Identity:
    """A client's key pair. A fresh one per run keeps a client anonymous across rooms."""

    def __init__(self, private_key: Ed25519PrivateKey | None = None) -> None:
        self._private_key = private_key or Ed25519PrivateKey.generate()
        self.public_key = self._private_key.public_key().public_bytes(
            Encoding.Raw, PublicFormat.Raw
        )
        self.public_key_b64 = b64encode(self.public_key)
        self.client_id = client_id_for(self.public_key)

    def sign(self, payload: bytes) -> str:
        return b64encode(self._private_key.sign(payload))

    def subscribe_proof(self, challenge: str) -> dict[str, str]:
        return {"pk": self.public_key_b64, "sig": self.sign(subscribe_proof_payload(challenge))}


def verify(claimed_id: str, public_key_b64: str, signature_b64: str, payload: bytes) -> None:
    """Raise :class:`BadSignature` unless ``public_key`` belongs to ``claimed_id`` and
    signed ``payload``."""
    signature = b64decode(signature_b64)
    if len(signature) != 64:
        raise BadSignature("a signature is 64 bytes")
    try:
        _public_key(claimed_id, public_key_b64).verify(payload, signature)
    except BadSignatureError:
        raise BadSignature(f"signature does not match sender {claimed_id}") from None


@functools.lru_cache(maxsize=1024)
def _public_key(claimed_id: str, public_key_b64: str) -> VerifyKey:
    """The key, once checked to be ``claimed_id``'s. Cached: data channels verify every
    message of the same few peers, and loading a key costs a quarter of a check.

    Checks use libsodium (PyNaCl): on these machines it verifies Ed25519 in half the time
    OpenSSL takes, and every receiver checks every message (docs/benchmarks.md)."""
    public_key = b64decode(public_key_b64)
    if len(public_key) != 32:
        raise BadSignature("public key is not 32 bytes")
    if client_id_for(public_key) != claimed_id:
        raise BadSignature(f"key does not belong to {claimed_id}")
    return VerifyKey(public_key)
