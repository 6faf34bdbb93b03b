"""Contacts (cli/contacts.py): who a peer is to us by nick and key, and the file they
are kept in."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshchat.cli import contacts as c
from meshchat.cli.identities import IdentityProblem
from meshchat.cli.output import NickBook

BO, MALLORY = "b" * 32, "f" * 32


def test_a_verified_contact_and_someone_using_its_nick() -> None:
    book = c.ContactBook()
    assert book.standing(BO, "bo") is None
    book.trust("bo", BO, "key-of-bo")
    assert book.standing(BO, "bo") == "verified"
    assert book.standing(MALLORY, "bo") == "mismatch"
    assert book.standing(BO, "bobby") == "verified"  # a new nick, the same key
    assert book.untrust("bo") and book.standing(BO, "bo") is None
    assert not book.untrust("bo")


def test_trusting_a_peer_under_a_new_nick_keeps_one_entry() -> None:
    book = c.ContactBook()
    book.trust("bo", BO, "k")
    book.trust("bobby", BO, "k")
    assert list(book.contacts) == ["bobby"]


def test_trust_on_first_use_records_once_and_catches_another_key() -> None:
    book = c.ContactBook()
    assert book.remember("bo", BO, "k")
    assert not book.remember("bo", MALLORY, "other")  # the nick is taken
    assert book.standing(BO, "bo") == "remembered"
    assert book.standing(MALLORY, "bo") == "mismatch"


def test_the_label_marks_a_verified_contact_and_resolves_with_the_mark() -> None:
    nicks = NickBook()
    nicks.contacts = c.ContactBook()
    nicks.learn(BO, "bo")
    assert nicks.label(BO) == "bo#bbbb"
    nicks.contacts.trust("bo", BO, "k")
    assert nicks.label(BO) == "bo#bbbb✓" and nicks.verified(BO)
    assert nicks.label(MALLORY, "bo") == "bo#ffff" and not nicks.verified(MALLORY, "bo")
    assert nicks.resolve("bo#bbbb✓", {BO: "bo", MALLORY: "bo"}) == BO


def test_contacts_are_kept_per_identity_and_a_bad_file_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert c.load("ana").contacts == {}
    book = c.ContactBook()
    book.trust("bo", BO, "k")
    book.remember("cy", "c" * 32, "k2")
    c.save("ana", book)
    path = c.path_for("ana")
    assert path.stat().st_mode & 0o777 == 0o600
    assert c.load("ana").contacts == book.contacts
    assert c.load("other").contacts == {}
    path.write_text('{"contacts": {"bo": {"id": 5, "key": "k", "verified": true, "since_ms": 1}}}')
    with pytest.raises(IdentityProblem, match="not a contacts file"):
        c.load("ana")
