"""Where ``meshchat join`` logs: never into the chat. The chat's own notices say what a
user must know; log records go to a file (and, with ``-v`` in line mode, to stderr as
they always did), and the terminal app shows warnings in its status line."""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

from meshchat.wire.redaction import RedactingFilter

LOG_BYTES = 1_000_000  # then one older file is kept: a chat must not fill a disk
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_file() -> Path:
    """``meshchat/join.log`` in XDG's state folder (~/.local/state by default)."""
    state = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(state) / "meshchat" / "join.log"


def log_to_file(keep_stderr: bool) -> Path | None:
    """Send the root logger's records to :func:`log_file` (at the level already set),
    and off stderr unless ``keep_stderr``. The file, or None if it cannot be written
    (then records go nowhere rather than into the chat)."""
    root = logging.getLogger()
    if not keep_stderr:
        for handler in list(root.handlers):
            if isinstance(handler, logging.StreamHandler) and not isinstance(
                handler, logging.FileHandler
            ):
                root.removeHandler(handler)
    path = log_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=LOG_BYTES, backupCount=1, encoding="utf-8"
        )
    except OSError:
        root.addHandler(logging.NullHandler())
        return None
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
    return path
