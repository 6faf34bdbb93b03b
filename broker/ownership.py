"""Only the owner of ``client-<id>`` may subscribe to it.

A client id is derived from an Ed25519 public key (``meshchat.wire.keys``). At the
handshake the broker hands each connection a random challenge in the
``X-Meshchat-Challenge`` response header; a subscribe frame that names a client topic
must carry ``"proof": {"pk": ..., "sig": ...}``, a signature by that id's key over
``meshchat-subscribe:<challenge>``. Anyone may still publish to a client topic.
"""

from __future__ import annotations

import secrets

from meshchat.wire.keys import check_ownership_proof
from meshchat.wire.topics import client_id_of


def new_challenge() -> str:
    return secrets.token_urlsafe(18)


def owned_ids(topics: tuple[str, ...]) -> set[str]:
    """The client ids whose private topics these are."""
    return {client_id for topic in topics if (client_id := client_id_of(topic)) is not None}


def check_proof(ids: set[str], proof: object, challenge: str) -> str | None:
    """None if ``proof`` shows ownership of every id in ``ids``, else the reason not."""
    if not ids:
        return None
    if len(ids) > 1:
        return "one subscribe frame may name the client topics of one id only"
    return check_ownership_proof(next(iter(ids)), proof, challenge)
