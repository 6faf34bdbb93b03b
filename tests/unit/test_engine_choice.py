"""Choosing an engine, and the pure parts of the libdatachannel engine: ICE URLs in
its form, candidates kept to the configured addresses, the route's types."""

from __future__ import annotations

import pytest

from meshchat.mesh.webrtc.engines import EngineUnavailable, check_engine, default_engine
from meshchat.mesh.webrtc.ice import (
    IceServer,
    candidate_type,
    keep_host_candidates,
    parse_ice_url,
    remote_type,
)
from meshchat.mesh.webrtc.libdatachannel_capi import ice_server_urls

SDP = (
    "v=0\r\n"
    "a=candidate:1 1 UDP 2114977791 127.0.0.1 40270 typ host\r\n"
    "a=candidate:2 1 UDP 2114977790 10.1.2.3 40271 typ host\r\n"
    "a=candidate:3 1 UDP 1686052607 198.51.100.7 5000 typ srflx raddr 0.0.0.0 rport 0\r\n"
    "a=end-of-candidates\r\n"
)


def test_engine_names_are_checked_and_the_variable_picks_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert check_engine("libdatachannel") == "libdatachannel"
    with pytest.raises(ValueError, match="aiortc, libdatachannel"):
        check_engine("Aiortc")
    monkeypatch.delenv("MESHCHAT_ENGINE", raising=False)
    assert default_engine() == "aiortc"
    monkeypatch.setenv("MESHCHAT_ENGINE", "libdatachannel")
    assert default_engine() == "libdatachannel"
    monkeypatch.setenv("MESHCHAT_ENGINE", "quic")
    with pytest.raises(ValueError, match="'quic'"):
        default_engine()
    assert issubclass(EngineUnavailable, RuntimeError)


@pytest.mark.parametrize(
    ("url", "parts"),
    [
        ("stun:stun.example.org", (False, False, "stun.example.org", 3478, "udp")),
        ("turn:198.51.100.1:3479?transport=tcp", (True, False, "198.51.100.1", 3479, "tcp")),
        ("turns:turn.example.org", (True, True, "turn.example.org", 5349, "tcp")),
        ("turn:[2001:db8::1]:3478", (True, False, "2001:db8::1", 3478, "udp")),
    ],
)
def test_ice_urls_are_taken_apart(url: str, parts: tuple[object, ...]) -> None:
    parsed = parse_ice_url(url)
    assert (parsed.turn, parsed.secure, parsed.host, parsed.port, parsed.transport) == parts


@pytest.mark.parametrize(
    "url",
    [
        "http://x",
        "turn:",
        "turn:host:99999",
        "turn:host:x",
        "turn:host?transport=sctp",
        "turn:user@host",
        "stun:host/path",
    ],
)
def test_bad_ice_urls_say_what_is_wrong(url: str) -> None:
    with pytest.raises(ValueError, match="ICE server URL"):
        parse_ice_url(url)


def test_turn_credentials_go_into_the_url_percent_encoded() -> None:
    server = IceServer(("turn:198.51.100.1?transport=tcp", "stun:[::1]:3478"), "a:b", "p@ss/w")
    assert ice_server_urls(server) == [
        "turn:a%3Ab:p%40ss%2Fw@198.51.100.1:3478?transport=tcp",
        "stun:[::1]:3478",
    ]
    assert ice_server_urls(IceServer(("stuns:stun.example.org",))) == []  # not supported
    assert ice_server_urls(IceServer(("turn:host:0",))) == []  # said in the log, skipped


def test_host_candidates_are_kept_to_the_configured_addresses() -> None:
    assert keep_host_candidates(SDP, None) == SDP
    assert keep_host_candidates(SDP, ("10.1.2.3",)) == SDP  # one address is bound instead
    kept = keep_host_candidates(SDP, ("10.1.2.3", "192.0.2.9"))
    assert "127.0.0.1" not in kept and "10.1.2.3" in kept
    assert "typ srflx" in kept  # only host candidates are the configuration's business


def test_a_peer_reflexive_remote_that_the_description_lists_is_named_by_its_type() -> None:
    selected = "a=candidate:1 1 UDP 0 127.0.0.1 40270 typ prflx"
    assert candidate_type(selected) == "prflx"
    assert remote_type(selected, SDP) == "host"
    assert remote_type(selected, "") == "prflx"
    elsewhere = "a=candidate:1 1 UDP 0 127.0.0.1 41000 typ prflx"
    assert remote_type(elsewhere, SDP) == "prflx"
    assert candidate_type("garbage") == "unknown"
