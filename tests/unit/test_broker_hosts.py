"""The names a broker answers to (broker/hosts.py): DNS rebinding cannot reach one on
loopback; a public one answers to any name until its operator lists some."""

from __future__ import annotations

import pytest

from meshchat.broker.hosts import HostCheck, host_name


@pytest.mark.parametrize(
    ("header", "name"),
    [("Example.com:8765", "example.com"), ("[::1]:8765", "::1"), ("::1", "::1"), ("a", "a")],
)
def test_the_name_is_taken_without_port_or_brackets(header: str, name: str) -> None:
    assert host_name(header) == name


def test_on_loopback_only_loopback_names_and_listed_ones() -> None:
    check = HostCheck("127.0.0.1", frozenset({"chat.example"}))
    for allowed in (
        "127.0.0.1:8765",
        "localhost:8765",
        "[::1]:8765",
        "chat.example",
        "a.localhost",
    ):
        assert check.allows(allowed), allowed
    for refused in ("evil.example:8765", "192.168.1.5:8765", "", "localhost.evil.example"):
        assert not check.allows(refused), refused


def test_a_public_broker_answers_any_name_until_some_are_listed() -> None:
    assert HostCheck("0.0.0.0").allows("broker.example:443")
    listed = HostCheck("0.0.0.0", frozenset({"broker.example"}))
    assert listed.allows("broker.example") and listed.allows("203.0.113.9:8765")
    assert not listed.allows("evil.example")
