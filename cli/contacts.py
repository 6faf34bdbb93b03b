"""Contacts: the peers a lasting identity knows by nick, with the key each one proved.

``/trust NICK`` records a peer as a verified contact (after comparing safety numbers);
``--remember-contacts`` records, unverified, the key a nick first came with (trust on
first use). Either way, someone who later comes under that nick with another key is
never taken for the contact: the display warns instead. A client id is the hash of its
key, and signalling proves the key, so the id stands for the key here.

:class:`ContactBook` decides, without I/O; :func:`load` and :func:`save` keep it in
``$XDG_DATA_HOME/meshchat/contacts/NAME.json`` (0600), one file per identity.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from meshchat.wire.canonical import loads_untrusted

from .identities import IdentityProblem, data_folder

Standing = Literal["verified", "remembered", "mismatch"]
MAX_CONTACTS = 10_000
MAX_FILE_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Contact:
    id: str
    key: str  # base64url
    verified: bool
    since_ms: int


class ContactBook:
    """Contacts by nick."""

    def __init__(self, contacts: dict[str, Contact] | None = None) -> None:
        self.contacts: dict[str, Contact] = dict(contacts or {})

    def standing(self, peer_id: str, nick: str) -> Standing | None:
        """How a peer that calls itself ``nick`` stands: a contact (verified or only
        remembered), someone else using a contact's nick (``mismatch``), or neither."""
        contact = self.contacts.get(nick)
        if contact is not None and contact.id != peer_id:
            return "mismatch"
        if contact is None:
            contact = next((c for c in self.contacts.values() if c.id == peer_id), None)
        if contact is None:
            return None
        return "verified" if contact.verified else "remembered"

    def trust(self, nick: str, peer_id: str, key: str) -> None:
        """``peer_id``, calling itself ``nick``, is verified: the one contact under that
        nick, and under no other."""
        self._drop_id(peer_id)
        self.contacts[nick] = Contact(peer_id, key, True, _now_ms())

    def untrust(self, nick: str) -> bool:
        return self.contacts.pop(nick, None) is not None

    def remember(self, nick: str, peer_id: str, key: str) -> bool:
        """Trust on first use: record the key a new nick comes with. False if the nick
        or the peer is known already, or the book is full."""
        known = nick in self.contacts or any(c.id == peer_id for c in self.contacts.values())
        if known or len(self.contacts) >= MAX_CONTACTS:
            return False
        self.contacts[nick] = Contact(peer_id, key, False, _now_ms())
        return True

    def _drop_id(self, peer_id: str) -> None:
        for nick in [n for n, c in self.contacts.items() if c.id == peer_id]:
            del self.contacts[nick]


def path_for(identity_name: str) -> Path:
    return data_folder() / "contacts" / f"{identity_name}.json"


def load(identity_name: str) -> ContactBook:
    path = path_for(identity_name)
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        return ContactBook()
    except OSError as error:
        raise IdentityProblem(f"cannot read {path}: {error.strerror}") from None
    try:
        document = loads_untrusted(raw) if len(raw) <= MAX_FILE_BYTES else None
        entries = document["contacts"] if isinstance(document, dict) else None
        if not isinstance(entries, dict):
            raise ValueError("no contacts")
        return ContactBook({str(nick): _contact(entry) for nick, entry in entries.items()})
    except (ValueError, TypeError, KeyError):
        raise IdentityProblem(
            f"{path} is not a contacts file; move it away to start anew"
        ) from None


def _contact(entry: object) -> Contact:
    if not isinstance(entry, dict) or set(entry) != {"id", "key", "verified", "since_ms"}:
        raise ValueError("not a contact")
    contact = Contact(**entry)
    kinds = ((contact.id, str), (contact.key, str), (contact.verified, bool))
    if not all(isinstance(value, kind) for value, kind in kinds) or not isinstance(
        contact.since_ms, int
    ):
        raise ValueError("not a contact")
    return contact


def save(identity_name: str, book: ContactBook) -> None:
    """Written whole to a new file, then moved over the old one: never half a file."""
    path = path_for(identity_name)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    document = {"contacts": {nick: asdict(c) for nick, c in sorted(book.contacts.items())}}
    temporary = path.with_suffix(".json.new")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump(document, file, indent=1)
    temporary.replace(path)


def _now_ms() -> int:
    return int(time.time() * 1000)
