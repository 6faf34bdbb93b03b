"""JSON as it crosses the wire: the canonical bytes signatures cover, and parsing what
strangers send."""

from __future__ import annotations

import json
from json.encoder import encode_basestring
from typing import Any


def canonical(wire: dict[str, Any]) -> bytes:
    """Keys sorted, no spaces, UTF-8: the bytes every signature covers."""
    return json.dumps(wire, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def json_string(text: str) -> str:
    """``text`` as a JSON string, exactly as :func:`canonical` writes strings (for
    content written out field by field where it is built for every message)."""
    return encode_basestring(text)


def loads_untrusted(text: str | bytes) -> object:
    """``json.loads`` for input from strangers: every failure is a ``ValueError``.

    Deeply nested arrays make the parser recurse until Python gives up with a
    ``RecursionError``; that is bad input like any other, not an internal error.
    """
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
