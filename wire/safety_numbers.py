"""Safety numbers: digits two people compare, aloud or side by side, to know that the
keys their clients hold for each other are the right ones (docs/protocol.md, section 6).

A key's fingerprint is 30 digits. SHA-512 runs over a version string and the raw Ed25519
public key, then :data:`ITERATIONS` times more over the previous digest and the key
again, so that finding another key with the same digits costs that many hashes per
try. The first 30 bytes of the digest, read as six 5-byte big-endian numbers, each
modulo 100000, give six groups of five digits. The safety number of two keys is their
two fingerprints, the smaller first: the same 60 digits on both sides.

The page computes the same (broker/web/safety.js); tests/vectors holds them equal.
"""

from __future__ import annotations

import hashlib

VERSION = b"meshchat safety number 1"
ITERATIONS = 5200
GROUP_DIGITS = 5
GROUPS = 6  # per key; a safety number has twice as many


def fingerprint(public_key: bytes) -> str:
    """The 30 digits of one raw Ed25519 public key."""
    if len(public_key) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    digest = hashlib.sha512(VERSION + public_key).digest()
    for _ in range(ITERATIONS):
        digest = hashlib.sha512(digest + public_key).digest()
    chunks = (digest[i : i + 5] for i in range(0, GROUPS * 5, 5))
    return "".join(f"{int.from_bytes(chunk, 'big') % 10**GROUP_DIGITS:05d}" for chunk in chunks)


def safety_number(key: bytes, other: bytes) -> str:
    """The 60 digits two keys share, whichever side computes them."""
    return "".join(sorted((fingerprint(key), fingerprint(other))))


def grouped(digits: str) -> str:
    """``"123451234512345..."`` -> ``"12345 12345 12345 ..."``: for reading aloud."""
    return " ".join(digits[i : i + GROUP_DIGITS] for i in range(0, len(digits), GROUP_DIGITS))
