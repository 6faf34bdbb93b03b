"""ICE servers on the wire: the URL schemes a STUN or TURN server may have, and the
handshake header in which the bundled broker offers servers to its clients (JSON in the
browser's ``RTCIceServer`` shape: ``[{"urls": [...], "username": ..., "credential": ...}]``).
"""

from __future__ import annotations

from collections.abc import Iterable

ICE_SERVERS_HEADER = "X-Meshchat-Ice-Servers"
ICE_URL_SCHEMES = ("stun:", "stuns:", "turn:", "turns:")


def check_ice_urls(urls: Iterable[str]) -> None:
    """Raise ValueError for a URL that is not a STUN or TURN server's."""
    for url in urls:
        if not url.startswith(ICE_URL_SCHEMES):
            raise ValueError(f"invalid ICE server URL {url!r}: expected stun: or turn:")


def is_turn(url: str) -> bool:
    return url.startswith(("turn:", "turns:"))
