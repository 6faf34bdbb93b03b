"""The optional parts of meshchat (pyproject.toml's extras): whether one is installed,
and what to tell someone who uses it without it."""

from __future__ import annotations

import importlib.util

# The module each extra brings, by the extra's name.
EXTRA_MODULES = {"cli": "textual", "redis": "redis", "mqtt": "aiomqtt", "fast": "aiolibdatachannel"}
# What an extra needs beyond itself, said with the install command.
EXTRA_REQUIRES = {"fast": " (Python 3.12 or newer)"}


def installed(extra: str) -> bool:
    """Whether the extra ``extra``'s package can be imported (without importing it)."""
    return importlib.util.find_spec(EXTRA_MODULES[extra]) is not None


def needs(extra: str, what: str) -> str:
    module = EXTRA_MODULES[extra]
    return (
        f"{what} needs {module}, which is not installed: pip install 'meshchat[{extra}]'"
        + EXTRA_REQUIRES.get(extra, "")
    )
