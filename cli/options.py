"""Options shared by commands, and options whose value is a list, read the same way
from every source.

Precedence is click's, for every option: the command line, then the environment
variable, then the config file, then the default. A list-valued environment variable
(``MESHCHAT_ICE_SERVERS``, ``MESHCHAT_BROKER_ICE_SERVERS``, ...) holds its items
separated by commas, spaces or both: one rule for all of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from .defaults import DEFAULT_MQTT_PREFIX

_SEPARATORS = re.compile(r"[\s,]+")


def split_list(value: str) -> list[str]:
    """``"a, b c"`` -> ``["a", "b", "c"]``."""
    return [item for item in _SEPARATORS.split(value) if item]


class ListOption(click.Option):
    """A repeatable option whose environment variable is a list (see above)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("multiple", True)
        super().__init__(*args, **kwargs)

    def value_from_envvar(self, ctx: click.Context) -> Any:
        raw = self.resolve_envvar_value(ctx)
        return split_list(raw) if raw else None


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def byte_size(value: str | int) -> int:
    """A size in bytes: ``500000``, ``500K``, ``64M``, ``4G``, ``1.5GiB`` (binary units).
    A click option type: ValueError says what is wrong."""
    if isinstance(value, int):
        return value
    match = _SIZE.match(value)
    if match is None:
        raise ValueError(f"{value!r} is not a size (examples: 500K, 64M, 4G)")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def human_size(size: int) -> str:
    """``1536`` -> ``1.5 KiB``: for people."""
    amount = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if amount < 1024 or unit == "GiB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    raise AssertionError("unreachable")


def mqtt_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options that say where an MQTT broker is (``--transport mqtt``), for the
    commands that reach one (``join``, ``doctor``)."""
    options = [
        click.option(
            "--mqtt-url",
            envvar="MESHCHAT_MQTT_URL",
            metavar="URL",
            help="With --transport mqtt: the MQTT broker, mqtt://host[:1883], mqtts:// (TLS), "
            "ws://host:port/path or wss:// (MQTT over websockets) (env MESHCHAT_MQTT_URL).",
        ),
        click.option(
            "--mqtt-username",
            envvar="MESHCHAT_MQTT_USERNAME",
            metavar="NAME",
            help="User name at the MQTT broker (env MESHCHAT_MQTT_USERNAME).",
        ),
        click.option(
            "--mqtt-password-file",
            type=click.Path(dir_okay=False, path_type=Path),
            envvar="MESHCHAT_MQTT_PASSWORD_FILE",
            help="File whose first line is the password at the MQTT broker (or set "
            "MESHCHAT_MQTT_PASSWORD).",
        ),
        click.option(
            "--mqtt-prefix",
            default=DEFAULT_MQTT_PREFIX,
            show_default=True,
            envvar="MESHCHAT_MQTT_PREFIX",
            metavar="PREFIX",
            help="What the room's MQTT topics go under, ending in / (env MESHCHAT_MQTT_PREFIX).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command
