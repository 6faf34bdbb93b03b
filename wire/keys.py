"""Client ids, signatures and the proof of owning an id: the checks both the broker and
the clients make. A client id is the first 16 bytes of SHA-256 over the client's raw
Ed25519 public key, in hex, so a key proves its id. Signatures are base64url, unpadded.

The bundled broker lets only a client id's owner subscribe to its private topic: it
sends a challenge in a handshake header and wants it signed (``subscribe_proof_payload``).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

CHALLENGE_HEADER = "X-Meshchat-Challenge"


class BadSignature(ValueError):
    """A signature or key does not check out."""


def b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise BadSignature("not base64url") from None


def client_id_for(public_key: bytes) -> str:
    return hashlib.sha256(public_key).hexdigest()[:32]


def subscribe_proof_payload(challenge: str) -> bytes:
    return f"meshchat-subscribe:{challenge}".encode()


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


def check_ownership_proof(client_id: str, proof: object, challenge: str) -> str | None:
    """None if ``proof`` (``{"pk": ..., "sig": ...}``) shows that its sender owns
    ``client_id``, having signed ``challenge``; else the reason it does not."""
    if not isinstance(proof, dict):
        return "subscribing to a client topic needs a 'proof' of owning that id"
    public_key, signature = proof.get("pk"), proof.get("sig")
    if not isinstance(public_key, str) or not isinstance(signature, str):
        return "proof needs 'pk' and 'sig' strings"
    try:
        verify(client_id, public_key, signature, subscribe_proof_payload(challenge))
    except BadSignature as error:
        return f"proof refused: {error}"
    return None
