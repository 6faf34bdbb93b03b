"""Options whose value is a list, read the same way from every source.

Precedence is click's, for every option: the command line, then the environment
variable, then the config file, then the default. A list-valued environment variable
(``MESHCHAT_ICE_SERVERS``, ``MESHCHAT_BROKER_ICE_SERVERS``, ...) holds its items
separated by commas, spaces or both: one rule for all of them.
"""

from __future__ import annotations

import re
from typing import Any

import click

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
