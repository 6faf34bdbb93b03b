"""Access tokens never shown: not in output, not in error messages, not in logs.

A broker token may arrive inside a URL (``ws://host:8765/?token=...``). It is taken out
of the URL before the URL is used or shown, and sent in an ``Authorization`` header
instead (which no request log prints); any text that still holds one is redacted.
"""

from __future__ import annotations

import logging
import re
import urllib.parse

TOKEN_PARAMETERS = ("token", "access_token")
_TOKEN_IN_TEXT = re.compile(r"(?i)([?&](?:access_)?token=)[^&#\s'\"]+")
# Request logs (websockets at debug level) print every header.
_CREDENTIAL_HEADER = re.compile(r"(?i)((?:proxy-)?authorization:\s*(?:\w+\s+)?)\S+")
REDACTED = "***"


def redact(text: str) -> str:
    """``text`` with every ``token=`` URL parameter and credential header value replaced."""
    text = _TOKEN_IN_TEXT.sub(rf"\g<1>{REDACTED}", text)
    return _CREDENTIAL_HEADER.sub(rf"\g<1>{REDACTED}", text)


def split_token(url: str) -> tuple[str, str | None]:
    """``url`` without its token parameter, and the token (None if it had none)."""
    parts = urllib.parse.urlsplit(url)
    kept, token = [], None
    for name, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=True):
        if name.lower() in TOKEN_PARAMETERS:
            token = value
        else:
            kept.append((name, value))
    if token is None:
        return url, None
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(kept))), token


class RedactingFilter(logging.Filter):
    """Put on a handler: every record it writes has its tokens redacted, whichever
    library logged it (websockets logs request lines at debug level)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
