"""Errors the broker reports to whoever started it (kept light: the command line
imports this without loading the server or Redis)."""

from __future__ import annotations


class BackplaneError(Exception):
    """The Redis backplane cannot be reached."""
