"""The ICE servers a broker hands its clients, with short-lived TURN credentials.

TURN credentials follow the TURN REST scheme that coturn implements with
``--use-auth-secret``: username = "<expiry unix time>:<label>", password =
base64(HMAC-SHA1(shared secret, username)). The broker and coturn share the secret;
clients get fresh credentials at every connection and never hold the secret.
The servers go to the client in the handshake response header ``X-Meshchat-Ice-Servers``
as JSON in the browser's ``RTCIceServer`` shape.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from meshchat.wire.ice import ICE_SERVERS_HEADER, IceServer, ice_servers_header, is_turn

__all__ = ["ICE_SERVERS_HEADER", "IceServerOffer", "turn_rest_credentials"]


@dataclass(frozen=True, slots=True)
class IceServerOffer:
    urls: tuple[str, ...] = ()
    turn_secret: str | None = None
    ttl_seconds: int = 12 * 3600

    def servers(self, now: float) -> list[IceServer]:
        offered: list[IceServer] = []
        for url in self.urls:
            if is_turn(url):
                if self.turn_secret is None:
                    continue  # a TURN server without credentials is of no use to clients
                username, credential = turn_rest_credentials(
                    self.turn_secret, int(now) + self.ttl_seconds
                )
                offered.append(IceServer((url,), username, credential))
            else:
                offered.append(IceServer((url,)))
        return offered

    def header(self, now: float) -> str | None:
        servers = self.servers(now)
        return ice_servers_header(servers) if servers else None


def turn_rest_credentials(secret: str, expires_at: int, label: str = "meshchat") -> tuple[str, str]:
    username = f"{expires_at}:{label}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode("ascii")
