"""A lasting identity as a file's contents: the Ed25519 key, in the clear or sealed
under a passphrase. No I/O: ``cli/identities.py`` keeps the files.

One JSON object::

    {"meshchat_identity": 1, "id": ID, "public_key": B64URL, "private_key": B64URL}

or, with a passphrase, ``"sealed"`` in place of ``"private_key"``: the 32-byte key
encrypted with AES-256-GCM (``cryptography``) under a key scrypt derives from the
passphrase (N = 2**17, r = 8, p = 1: a fraction of a second and 128 MiB to try one
passphrase), the public key as associated data::

    "sealed": {"kdf": "scrypt", "salt": B64URL, "n": 131072, "r": 8, "p": 1,
               "cipher": "aes-256-gcm", "nonce": B64URL, "ciphertext": B64URL}

Reading checks that the key is the one ``public_key`` and ``id`` name.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from meshchat.mesh.identity import Identity
from meshchat.wire.canonical import loads_untrusted
from meshchat.wire.keys import BadSignature, b64decode, b64encode, client_id_for

FORMAT = 1
SCRYPT_N = 2**17
SCRYPT_R = 8
SCRYPT_P = 1
# What a file may ask scrypt for: more is a file made to exhaust this machine.
MAX_SCRYPT_N = 2**20
MAX_FILE_BYTES = 4096


class IdentityFileError(ValueError):
    """Not an identity file, or not one this passphrase opens."""


class PassphraseNeeded(IdentityFileError):
    """The file is sealed, and no passphrase was given."""


class WrongPassphrase(IdentityFileError):
    """The passphrase does not open the file."""


def encode(identity: Identity, passphrase: bytes | None = None) -> bytes:
    """The file's contents for ``identity``, sealed if there is a passphrase."""
    document: dict[str, Any] = {
        "meshchat_identity": FORMAT,
        "id": identity.client_id,
        "public_key": identity.public_key_b64,
    }
    seed = identity.private_bytes()
    if passphrase is None:
        document["private_key"] = b64encode(seed)
    else:
        if not passphrase:
            raise ValueError("an empty passphrase seals nothing; give one, or none")
        salt, nonce = os.urandom(16), os.urandom(12)
        key = _derive(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
        ciphertext = AESGCM(key).encrypt(nonce, seed, identity.public_key)
        document["sealed"] = {
            "kdf": "scrypt",
            "salt": b64encode(salt),
            "n": SCRYPT_N,
            "r": SCRYPT_R,
            "p": SCRYPT_P,
            "cipher": "aes-256-gcm",
            "nonce": b64encode(nonce),
            "ciphertext": b64encode(ciphertext),
        }
    return (json.dumps(document, indent=1) + "\n").encode("utf-8")


def is_sealed(contents: bytes) -> bool:
    return "sealed" in _document(contents)


def public_of(contents: bytes) -> tuple[str, bytes]:
    """The id and public key a file names, without opening its key."""
    document = _document(contents)
    public_key = _bytes(document, "public_key", 32)
    if client_id_for(public_key) != document.get("id"):
        raise IdentityFileError("the identity file's id is not its key's")
    return client_id_for(public_key), public_key


def decode(contents: bytes, passphrase: bytes | None = None) -> Identity:
    """The identity in a file's ``contents``. Raises :class:`PassphraseNeeded`,
    :class:`WrongPassphrase`, or :class:`IdentityFileError` saying what is wrong."""
    document = _document(contents)
    public_key = _bytes(document, "public_key", 32)
    if "sealed" in document:
        if passphrase is None:
            raise PassphraseNeeded("this identity is sealed with a passphrase")
        seed = _open(document["sealed"], passphrase, public_key)
    else:
        seed = _bytes(document, "private_key", 32)
    identity = Identity(Ed25519PrivateKey.from_private_bytes(seed))
    if identity.public_key != public_key or identity.client_id != document.get("id"):
        raise IdentityFileError("the key in the file is not the one it names")
    return identity


def _document(contents: bytes) -> dict[str, Any]:
    if len(contents) > MAX_FILE_BYTES:
        raise IdentityFileError("not an identity file (too large)")
    try:
        document = loads_untrusted(contents)
    except ValueError:
        raise IdentityFileError("not an identity file (not JSON)") from None
    if not isinstance(document, dict) or document.get("meshchat_identity") != FORMAT:
        raise IdentityFileError("not a meshchat identity file (version 1)")
    return document


def _bytes(fields: dict[str, Any], name: str, length: int | None = None) -> bytes:
    value = fields.get(name)
    try:
        if not isinstance(value, str):
            raise BadSignature(name)
        raw = b64decode(value)
    except BadSignature:
        raise IdentityFileError(
            f"the identity file's {name!r} is missing or not base64url"
        ) from None
    if length is not None and len(raw) != length:
        raise IdentityFileError(f"the identity file's {name!r} is not {length} bytes")
    return raw


def _open(sealed: object, passphrase: bytes, public_key: bytes) -> bytes:
    if not isinstance(sealed, dict) or sealed.get("kdf") != "scrypt":
        raise IdentityFileError("the identity file is sealed in a way this version cannot open")
    if sealed.get("cipher") != "aes-256-gcm":
        raise IdentityFileError("the identity file is sealed in a way this version cannot open")
    n, r, p = sealed.get("n"), sealed.get("r"), sealed.get("p")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (n, r, p)):
        raise IdentityFileError("the identity file's scrypt parameters are not numbers")
    assert isinstance(n, int) and isinstance(r, int) and isinstance(p, int)
    if not (2 <= n <= MAX_SCRYPT_N and n & (n - 1) == 0 and 1 <= r <= 32 and 1 <= p <= 16):
        raise IdentityFileError("the identity file's scrypt parameters are out of range")
    key = _derive(passphrase, _bytes(sealed, "salt"), n, r, p)
    try:
        return AESGCM(key).decrypt(
            _bytes(sealed, "nonce", 12), _bytes(sealed, "ciphertext"), public_key
        )
    except InvalidTag:
        raise WrongPassphrase("the passphrase does not open this identity") from None


def _derive(passphrase: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(passphrase, salt=salt, n=n, r=r, p=p, maxmem=256 * 1024 * 1024, dklen=32)
