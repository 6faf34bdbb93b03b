"""Names for received files that are safe to create: a stranger chooses them.

A name offered by a peer is reduced to one plain file name: no directories (``/``,
``\\``, ``..``, drive letters), no control, format or bidirectional-override
characters, no leading dots (hidden files) or trailing dots and spaces (which Windows
drops), no device names (``CON``, ``NUL``, ``COM1``...), at most
:data:`MAX_NAME_BYTES` bytes of UTF-8 with the extension kept. And an existing file is
never overwritten: :func:`create_unused` adds `` (1)``, `` (2)``... and creates the
file exclusively, so two transfers of the same name cannot race for it.
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

MAX_NAME_BYTES = 200
FALLBACK_NAME = "file"
_DEVICE_NAMES = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
    + [f"{kind}{n}" for kind in ("COM", "LPT") for n in range(10)]
)
MAX_SUFFIX = 10_000  # "name (9999).ext" at most; past that, refuse


def safe_file_name(offered: str) -> str:
    """One harmless file name made from ``offered`` (never empty)."""
    name = offered.replace("\\", "/").rsplit("/", 1)[-1]
    if len(name) >= 2 and name[1] == ":":  # a Windows drive: "C:evil"
        name = name[2:]
    # Control (Cc), format (Cf: bidi overrides, zero-width), unassigned and private-use
    # characters, and line or paragraph separators, are dropped.
    name = "".join(
        ch
        for ch in name
        if unicodedata.category(ch) not in ("Cc", "Cf", "Cn", "Co", "Cs", "Zl", "Zp")
    )
    name = name.strip().lstrip(".").rstrip(". ")
    if name.split(".", 1)[0].upper() in _DEVICE_NAMES:
        name = f"_{name}"
    name = _bounded(name, MAX_NAME_BYTES)
    return name or FALLBACK_NAME


def _bounded(name: str, limit: int) -> str:
    """``name`` cut to ``limit`` bytes of UTF-8, keeping a short extension."""
    if len(name.encode("utf-8")) <= limit:
        return name
    base, dot, extension = name.rpartition(".")
    if not dot or len(extension.encode("utf-8")) > 16:
        base, extension = name, ""
    suffix = f".{extension}" if extension else ""
    room = limit - len(suffix.encode("utf-8"))
    cut = base.encode("utf-8")[:room].decode("utf-8", "ignore")
    return cut.rstrip(". ") + suffix


def create_unused(folder: Path, name: str, *, suffix: str = "") -> Path:
    """Create an empty file for ``name`` (plus ``suffix``, e.g. ``.part``) in ``folder``
    that did not exist before, and return its path; ``name (1)``, ``name (2)``... when
    taken. The final name (without ``suffix``) is free too. FileExistsError after
    :data:`MAX_SUFFIX` tries."""
    base, dot, extension = name.rpartition(".")
    if not base:  # no extension (or only a leading dot, which safe names have not)
        base, dot, extension = name, "", ""
    for n in range(MAX_SUFFIX):
        candidate = name if n == 0 else _bounded(f"{base} ({n}){dot}{extension}", MAX_NAME_BYTES)
        final = folder / candidate
        if final.exists():
            continue
        path = folder / f"{candidate}{suffix}"
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        os.close(descriptor)
        return path
    raise FileExistsError(f"no free name for {name!r} in {folder}")
