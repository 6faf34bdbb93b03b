"""ICE configuration: which STUN/TURN servers to use and which local addresses to offer.

Two aiortc behaviours make explicit configuration necessary:

* with ``iceServers`` left unset, aiortc contacts Google's public STUN server, so we
  always pass a list, empty by default: no server is contacted unless configured;
* aioice gathers host candidates on every interface except loopback, so a loopback-only
  setup (tests, benchmarks, a room on one machine) needs gathering restricted here.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from meshchat.wire.ice import IceServer, check_ice_urls, is_turn

if TYPE_CHECKING:
    from aiortc import RTCConfiguration

# aiortc and aioice are imported where they are used: checking options (the command
# line does it before anything else) must not wait for WebRTC to load.

__all__ = ["IceConfig", "IceServer", "restrict_host_addresses"]

_original_get_host_addresses: Callable[..., list[str]] | None = None
_allowed_host_addresses: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class IceConfig:
    servers: tuple[IceServer, ...] = ()
    # None: every non-loopback interface (aioice's default). Otherwise only these.
    host_addresses: tuple[str, ...] | None = None

    def rtc_configuration(self) -> RTCConfiguration:
        from aiortc import RTCConfiguration, RTCIceServer

        return RTCConfiguration(
            iceServers=[
                RTCIceServer(urls=list(s.urls), username=s.username, credential=s.credential)
                for s in self.servers
            ]
        )

    @classmethod
    def from_options(
        cls,
        server_urls: Sequence[str] = (),
        username: str | None = None,
        credential: str | None = None,
        host_addresses: Sequence[str] = (),
    ) -> IceConfig:
        """Checked settings (the command line resolves options, environment and config
        file first); ValueError names what is wrong."""
        urls = list(server_urls)
        addresses = list(host_addresses)
        check_ice_urls(urls)
        for address in addresses:
            try:
                ipaddress.ip_address(address)
            except ValueError:
                raise ValueError(f"invalid host address {address!r}: expected an IP") from None
        servers: list[IceServer] = []
        for url in urls:
            turn = is_turn(url)
            servers.append(
                IceServer((url,), username if turn else None, credential if turn else None)
            )
        return cls(tuple(servers), tuple(addresses) or None)


def restrict_host_addresses(addresses: Sequence[str] | None) -> None:
    """Gather host candidates only on ``addresses`` (loopback allowed), process-wide.

    aioice looks its address list up through a module-level function at gathering time,
    so swapping that function is the one seam it offers. ``None`` restores the default.
    """
    import aioice.ice

    global _allowed_host_addresses, _original_get_host_addresses
    if _original_get_host_addresses is None:
        _original_get_host_addresses = aioice.ice.get_host_addresses
    _allowed_host_addresses = tuple(addresses) if addresses is not None else None
    if _allowed_host_addresses is None:
        aioice.ice.get_host_addresses = _original_get_host_addresses
    else:
        aioice.ice.get_host_addresses = _restricted_host_addresses


def _restricted_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    assert _allowed_host_addresses is not None
    return [
        address
        for address in _allowed_host_addresses
        if (use_ipv4 if ipaddress.ip_address(address).version == 4 else use_ipv6)
    ]


@dataclass(frozen=True, slots=True)
class IceUrl:
    """A STUN or TURN URL taken apart (RFC 7064/7065), for engines that want the parts."""

    turn: bool
    secure: bool  # stuns:/turns:
    host: str
    port: int
    transport: str  # "udp" or "tcp"


def parse_ice_url(url: str) -> IceUrl:
    """``stun:host[:port]``, ``turn:host[:port][?transport=udp|tcp]``, ``turns:...``;
    an IPv6 host in brackets. ValueError says what is wrong."""
    scheme, _, rest = url.partition(":")
    if scheme not in ("stun", "stuns", "turn", "turns"):
        raise ValueError(f"invalid ICE server URL {url!r}: expected stun: or turn:")
    secure = scheme.endswith("s")
    address, _, query = rest.partition("?")
    transport = "tcp" if secure else "udp"
    if query:
        key, _, value = query.partition("=")
        if key != "transport" or value not in ("udp", "tcp"):
            raise ValueError(f"invalid ICE server URL {url!r}: only ?transport=udp|tcp")
        transport = value
    if address.startswith("["):
        host, _, after = address[1:].partition("]")
        port_text = after.removeprefix(":") if after.startswith(":") else after
    else:
        host, _, port_text = address.rpartition(":") if ":" in address else (address, "", "")
    if not host or "@" in host or "/" in host:
        raise ValueError(f"invalid ICE server URL {url!r}: no host")
    port = 5349 if secure else 3478
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError(f"invalid ICE server URL {url!r}: bad port {port_text!r}")
        port = int(port_text)
    return IceUrl(scheme.startswith("turn"), secure, host, port, transport)


def keep_host_candidates(sdp: str, addresses: tuple[str, ...] | None) -> str:
    """``sdp`` without host candidates on addresses other than ``addresses`` (None:
    keep all): for an engine that binds one address or all (libdatachannel's libjuice),
    this narrows "all" to several."""
    if addresses is None or len(addresses) == 1:
        return sdp
    kept = []
    for line in sdp.splitlines(keepends=True):
        fields = line.split()
        if (
            line.startswith("a=candidate:")
            and len(fields) > 7
            and fields[7] == "host"
            and fields[4] not in addresses
        ):
            continue
        kept.append(line)
    return "".join(kept)


def candidate_type(line: str) -> str:
    """The type ("host", "srflx", "prflx", "relay") of an SDP candidate line."""
    fields = line.split()
    return fields[fields.index("typ") + 1] if "typ" in fields[:-1] else "unknown"


def remote_type(selected: str, remote_sdp: str) -> str:
    """The type of the remote candidate ICE selected. An agent that hears the peer's
    checks before reading its description calls that address peer-reflexive; when the
    description lists the same address and port, it is that candidate, of its type."""
    kind = candidate_type(selected)
    fields = selected.split()
    if kind != "prflx" or len(fields) < 6:
        return kind
    address, port = fields[4], fields[5]
    for line in remote_sdp.splitlines():
        listed = line.split()
        if line.startswith("a=candidate:") and len(listed) > 5 and listed[4:6] == [address, port]:
            return candidate_type(line)
    return kind
