"""Only the owner of ``client-<id>`` may subscribe to it.

A client id is derived from an Ed25519 public key (``meshchat.mesh.identity``). At the
handshake the broker hands each connection a random challenge in the
``X-Meshchat-Challenge`` response header; a subscribe frame that names a client topic
must carry ``"proof": {"pk": ..., "sig": ...}``, a signature by that id's key over
``meshchat-subscribe:<challenge>``. Anyone may still publish to a client topic.
"""

from __future__ import annotations

import re
import secrets

from meshchat.mesh.identity import BadSignature, subscribe_proof_payload, verify

CLIENT_TOPIC = re.compile(r"^meshchat/[^/]+/client-([^/]+)$")


def new_challenge() -> str:
    return secrets.token_urlsafe(18)


def owned_ids(topics: tuple[str, ...]) -> set[str]:
    """The client ids whose private topics these are."""
    return {m.group(1) for t in topics if (m := CLIENT_TOPIC.match(t))}


def check_proof(ids: set[str], proof: object, challenge: str) -> str | None:
    """None if ``proof`` shows ownership of every id in ``ids``, else the reason not."""
    if not ids:
        return None
    if len(ids) > 1:
        return "one subscribe frame may name the client topics of one id only"
    if not isinstance(proof, dict):
        return "subscribing to a client topic needs a 'proof' of owning that id"
    public_key, signature = proof.get("pk"), proof.get("sig")
    if not isinstance(public_key, str) or not isinstance(signature, str):
        return "proof needs 'pk' and 'sig' strings"
    try:
        verify(next(iter(ids)), public_key, signature, subscribe_proof_payload(challenge))
    except BadSignature as error:
        return f"proof refused: {error}"
    return None
