"""Text from strangers made safe to print: no control sequence reaches the terminal.

Peers choose their nicks and messages, so everything they send is data. Characters that
a terminal or a text layout acts on instead of showing are replaced by visible escapes:
C0 and C1 controls (ESC starts the sequences that move the cursor, clear the screen or
set the window title; CR and LF fake new lines; U+009B is a one-byte CSI), bidi
overrides and other invisible formatting (U+202E reverses what follows), line and
paragraph separators, lone surrogates, private-use and unassigned code points.
"""

from __future__ import annotations

import json
import unicodedata
from functools import lru_cache
from typing import Any

# Control, format, surrogate, private use, unassigned; line and paragraph separators.
UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


@lru_cache(maxsize=4096)
def _is_unsafe(char: str) -> bool:
    return unicodedata.category(char) in UNSAFE_CATEGORIES


def for_terminal(text: str) -> str:
    """``text`` with every unsafe character shown as a Python-style escape (``\\x1b``)."""
    if text.isprintable():  # the common case, checked in C
        return text
    return "".join(_visible_escape(c) if _is_unsafe(c) else c for c in text)


def json_line(fields: dict[str, Any]) -> str:
    """One JSON object on one line, readable UTF-8, with every unsafe character
    written as a ``\\uXXXX`` escape (the same value to any JSON parser)."""
    text = json.dumps(fields, ensure_ascii=False)
    if text.isprintable():
        return text
    return "".join(_json_escape(c) if _is_unsafe(c) else c for c in text)


def _visible_escape(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _json_escape(char: str) -> str:
    code = ord(char)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000  # outside the BMP: JSON spells it as a surrogate pair
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
