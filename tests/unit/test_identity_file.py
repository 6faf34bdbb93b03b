"""The identity file (mesh/identity_file.py): what goes in comes out, sealed or not;
a wrong passphrase, a tampered file, a key that is not the one named, and parameters
made to exhaust the machine are each refused, saying why."""

from __future__ import annotations

import json
from typing import Any

import pytest

from meshchat.mesh import identity_file as f
from meshchat.mesh.identity import Identity


@pytest.fixture(autouse=True)
def quick_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(f, "SCRYPT_N", 2**10)  # the format is the same; tests stay fast


def edited(contents: bytes, change: Any) -> bytes:
    document = json.loads(contents)
    change(document)
    return json.dumps(document).encode()


@pytest.mark.parametrize("passphrase", [None, b"correct horse"])
def test_an_identity_comes_back_as_it_went_in(passphrase: bytes | None) -> None:
    ana = Identity()
    contents = f.encode(ana, passphrase)
    back = f.decode(contents, passphrase)
    assert (back.client_id, back.public_key) == (ana.client_id, ana.public_key)
    assert back.sign(b"x") == ana.sign(b"x")
    assert f.is_sealed(contents) == (passphrase is not None)
    assert f.public_of(contents) == (ana.client_id, ana.public_key)


def test_a_sealed_identity_needs_its_passphrase() -> None:
    contents = f.encode(Identity(), b"correct horse")
    assert ana_seed_absent(contents)
    with pytest.raises(f.PassphraseNeeded):
        f.decode(contents)
    with pytest.raises(f.WrongPassphrase):
        f.decode(contents, b"battery staple")
    with pytest.raises(ValueError, match="empty passphrase"):
        f.encode(Identity(), b"")


def ana_seed_absent(contents: bytes) -> bool:
    return "private_key" not in json.loads(contents)


def test_a_tampered_or_mismatched_file_is_refused() -> None:
    sealed = f.encode(Identity(), b"pw")
    ciphertext = json.loads(sealed)["sealed"]["ciphertext"]
    flipped_text = ("B" if ciphertext[0] == "A" else "A") + ciphertext[1:]
    flipped = edited(sealed, lambda d: d["sealed"].update(ciphertext=flipped_text))
    with pytest.raises(f.WrongPassphrase):  # the AEAD's tag no longer checks out
        f.decode(flipped, b"pw")
    other = Identity()
    named = {"public_key": other.public_key_b64, "id": other.client_id}
    swapped = edited(sealed, lambda d: d.update(named))
    with pytest.raises(f.WrongPassphrase):  # the public key is bound to the ciphertext
        f.decode(swapped, b"pw")
    plain = f.encode(Identity())
    with pytest.raises(f.IdentityFileError, match="not the one it names"):
        f.decode(edited(plain, lambda d: d.update(named)))
    with pytest.raises(f.IdentityFileError, match="id is not its key's"):
        f.public_of(edited(plain, lambda d: d.update(id="0" * 32)))


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"n": 2**30}, "out of range"),
        ({"n": 1000}, "out of range"),
        ({"r": 10_000}, "out of range"),
        ({"n": "16384"}, "not numbers"),
        ({"n": True}, "not numbers"),
        ({"kdf": "md5"}, "cannot open"),
        ({"cipher": "rot13"}, "cannot open"),
        ({"nonce": "AAAA"}, "not 12 bytes"),
        ({"salt": 5}, "not base64url"),
    ],
)
def test_absurd_sealing_parameters_are_refused_before_any_work(
    change: dict[str, Any], problem: str
) -> None:
    contents = edited(f.encode(Identity(), b"pw"), lambda d: d["sealed"].update(change))
    with pytest.raises(f.IdentityFileError, match=problem):
        f.decode(contents, b"pw")


@pytest.mark.parametrize(
    ("contents", "problem"),
    [
        (b"x" * (f.MAX_FILE_BYTES + 1), "too large"),
        (b"not json", "not JSON"),
        (b"[1]", "version 1"),
        (b'{"meshchat_identity": 1, "id": "x", "public_key": 5}', "not base64url"),
        (b'{"meshchat_identity": 1, "id": "x", "public_key": "AAAA"}', "not 32 bytes"),
        (b"[" * 2000 + b"]" * 2000, "not JSON"),
    ],
)
def test_what_is_not_an_identity_file_says_so(contents: bytes, problem: str) -> None:
    with pytest.raises(f.IdentityFileError, match=problem):
        f.decode(contents)
