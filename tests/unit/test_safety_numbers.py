"""Safety numbers (wire/safety_numbers.py): the same digits on both sides, different for
any other key, and the format people read aloud. The page's twin is held to the same
digits by tests/vectors (safety_numbers)."""

from __future__ import annotations

import hashlib

import pytest

from meshchat.mesh.identity import Identity
from meshchat.wire import safety_numbers as s


def test_both_sides_get_the_same_sixty_digits() -> None:
    ana, bo = Identity().public_key, Identity().public_key
    number = s.safety_number(ana, bo)
    assert number == s.safety_number(bo, ana)
    assert len(number) == 60 and number.isdigit()
    assert s.fingerprint(ana) in number and s.fingerprint(bo) in number
    assert len(s.grouped(number).split(" ")) == 12


def test_another_key_gives_other_digits() -> None:
    ana, bo, mallory = (Identity().public_key for _ in range(3))
    assert s.safety_number(ana, bo) != s.safety_number(ana, mallory)
    assert len({s.fingerprint(Identity().public_key) for _ in range(20)}) == 20


def test_the_digits_come_from_the_iterated_digest() -> None:
    key = bytes(range(32))
    digest = hashlib.sha512(s.VERSION + key).digest()
    for _ in range(s.ITERATIONS):
        digest = hashlib.sha512(digest + key).digest()
    first = int.from_bytes(digest[:5], "big") % 100_000
    assert s.fingerprint(key)[:5] == f"{first:05d}"


@pytest.mark.parametrize("length", [0, 31, 33, 64])
def test_only_a_32_byte_key_has_a_fingerprint(length: int) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        s.fingerprint(bytes(length))
