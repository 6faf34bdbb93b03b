"""ICE servers as the broker offers them and the clients read them (wire/ice.py)."""

from __future__ import annotations

import pytest

from meshchat.wire.ice import IceServer, ice_servers_header, parse_ice_servers_header

OFFER = (
    IceServer(("stun:stun.example:3478",)),
    IceServer(("turn:turn.example:3478?transport=udp",), "1700000000:meshchat", "c2VjcmV0"),
)


def test_what_the_broker_offers_the_client_reads_back() -> None:
    assert parse_ice_servers_header(ice_servers_header(OFFER)) == OFFER


@pytest.mark.parametrize(
    "header",
    [
        '{"urls": ["stun:a:1"]}',
        '[{"urls": "stun:a:1"}]',  # a string, not a list: would read as its characters
        '[{"urls": ["http://a"]}]',
        '[{"urls": ["stun:a:1"], "username": 5}]',
        '[{"nourls": []}]',
        "[1]",
        "not json",
    ],
)
def test_an_offer_of_another_shape_is_refused(header: str) -> None:
    with pytest.raises(ValueError):
        parse_ice_servers_header(header)
