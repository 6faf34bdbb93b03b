"""ICE servers on the wire: the URL schemes a STUN or TURN server may have, and the
handshake header in which the bundled broker offers servers to its clients (JSON in the
browser's ``RTCIceServer`` shape: ``[{"urls": [...], "username": ..., "credential": ...}]``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

ICE_SERVERS_HEADER = "X-Meshchat-Ice-Servers"
ICE_URL_SCHEMES = ("stun:", "stuns:", "turn:", "turns:")


@dataclass(frozen=True, slots=True)
class IceServer:
    """A STUN or TURN server, as in the browser's ``RTCIceServer``."""

    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = None


def ice_servers_json(servers: Iterable[IceServer]) -> list[dict[str, object]]:
    """The browser's ``RTCIceServer`` shape: what the header holds, and what the broker
    hands the page in its challenge frame (browsers cannot read handshake headers)."""
    shaped: list[dict[str, object]] = []
    for server in servers:
        entry: dict[str, object] = {"urls": list(server.urls)}
        if server.username is not None:
            entry["username"] = server.username
        if server.credential is not None:
            entry["credential"] = server.credential
        shaped.append(entry)
    return shaped


def ice_servers_header(servers: Iterable[IceServer]) -> str:
    """The header's value: the servers as JSON."""
    return json.dumps(ice_servers_json(servers), separators=(",", ":"))


def parse_ice_servers_header(value: str) -> tuple[IceServer, ...]:
    """The servers a broker offers; ValueError for anything but that shape."""
    offered = json.loads(value)
    if not isinstance(offered, list):
        raise ValueError("not a list of ICE servers")
    servers = []
    for entry in offered:
        urls = entry.get("urls") if isinstance(entry, dict) else None
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            raise ValueError("an ICE server without a list of 'urls'")
        check_ice_urls(urls)
        username, credential = entry.get("username"), entry.get("credential")
        if not all(v is None or isinstance(v, str) for v in (username, credential)):
            raise ValueError("an ICE server's username and credential are strings")
        servers.append(IceServer(tuple(urls), username, credential))
    return tuple(servers)


def check_ice_urls(urls: Iterable[str]) -> None:
    """Raise ValueError for a URL that is not a STUN or TURN server's."""
    for url in urls:
        if not url.startswith(ICE_URL_SCHEMES):
            raise ValueError(f"invalid ICE server URL {url!r}: expected stun: or turn:")


def is_turn(url: str) -> bool:
    return url.startswith(("turn:", "turns:"))
