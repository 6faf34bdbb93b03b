"""Who a client is: an Ed25519 key pair, and a client id derived from its public key.

Every signalling message is signed, so no one (another peer, the broker, Ably) can
speak in a client's name or alter what it said, including the DTLS fingerprint in its
SDP. A client id is the first 16 bytes of SHA-256 over the raw public key, in hex;
checking ids and signatures is the wire layer's (``meshchat.wire.keys``), as the broker
checks them too.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from nacl.signing import SigningKey

from meshchat.mesh.private.seal import SealKey
from meshchat.wire.keys import b64encode, client_id_for, subscribe_proof_payload


class Identity:
    """A client's key pair. A fresh one per run keeps a client anonymous across rooms."""

    def __init__(self, private_key: Ed25519PrivateKey | None = None) -> None:
        private_key = private_key or Ed25519PrivateKey.generate()
        self.public_key = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        # Signing goes through libsodium, as checking does (meshchat.wire.keys): a third
        # faster than OpenSSL here, for every chat line sent. Ed25519 is deterministic,
        # so the signatures are the same bytes either way.
        seed = private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        self._signing_key = SigningKey(seed)
        self._seed = seed
        self.public_key_b64 = b64encode(self.public_key)
        self.client_id = client_id_for(self.public_key)
        # What others seal private messages to (mesh/private/seal.py): announced in every
        # signalling message we sign, and the same for as long as the identity lasts.
        self.seal_key = SealKey.derived_from(seed)

    def private_bytes(self) -> bytes:
        """The raw 32-byte private key: for keeping the identity (identity_file.py)."""
        return self._seed

    def sign(self, payload: bytes) -> str:
        return b64encode(self._signing_key.sign(payload).signature)

    def subscribe_proof(self, challenge: str) -> dict[str, str]:
        return {"pk": self.public_key_b64, "sig": self.sign(subscribe_proof_payload(challenge))}
