"""What a line of ``meshchat join --json`` input asks for. No I/O.

A line that starts with ``{`` is a JSON object naming one action; any other line is
typed text, as in line mode (a chat line, or one of the commands)::

    {"say": "text, any text: several lines, or one starting with /"}
    {"say": "just for you two", "to": ["bo", "cy"]}       private: sealed to their keys
    {"channel": "moves", "data": {"x": 1}}                 a JSON value on a channel
    {"channel": "blobs", "bytes": "AAEC", "to": ["bo"]}    bytes, base64; to ids or nicks
    {"send_file": "/path/to/file", "to": "bo"}             one recipient, or everyone
    {"peers": true}
    {"quit": true}
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from meshchat.wire.canonical import loads_untrusted

from .commands import Command, Invalid, Peers, Quit, Say, SendFile, SendPayload, Whisper, parse

ACTIONS = ("say", "channel", "send_file", "peers", "quit")
# The fields each action may have besides its own.
EXTRA_FIELDS = {"say": {"to"}, "channel": {"data", "bytes", "to"}, "send_file": {"to"}}
USAGE = (
    'one of {"say": TEXT}, {"channel": NAME, "data": VALUE}, {"send_file": PATH}, {"peers": true}'
)


def parse_json_line(line: str) -> Command:
    """The action a ``--json`` input line asks for."""
    text = line.rstrip("\r\n")
    if not text.lstrip().startswith("{"):
        return parse(text)
    try:
        request = loads_untrusted(text)
    except ValueError as error:
        return Invalid(f"input is not a JSON object ({error}); send {USAGE}")
    if not isinstance(request, dict):
        return Invalid(f"input is not a JSON object; send {USAGE}")
    named = [action for action in ACTIONS if action in request]
    if len(named) != 1:
        return Invalid(f"name exactly one action: {USAGE}")
    (action,) = named
    if unknown := set(request) - {action} - EXTRA_FIELDS.get(action, set()):
        return Invalid(f"unknown field(s) for {action!r}: {', '.join(sorted(unknown))}")
    return _command(action, request)


def _command(action: str, request: dict[str, Any]) -> Command:
    value = request[action]
    match action:
        case "say":
            if not isinstance(value, str) or not value.strip():
                return Invalid('"say" takes text that is not blank')
            if "to" not in request:
                return Say(value)
            chosen = _recipients(request)
            return chosen if isinstance(chosen, Invalid) else Whisper(chosen, value)
        case "send_file":
            to = request.get("to")
            if not isinstance(value, str) or not value or not (to is None or isinstance(to, str)):
                return Invalid('"send_file" takes a path, and "to" one id or nick')
            return SendFile(value, to)
        case "channel":
            return _payload(value, request)
        case "peers":
            return Peers()
    return Quit()


def _payload(channel: object, request: dict[str, Any]) -> Command:
    if not isinstance(channel, str):
        return Invalid('"channel" takes a channel name')
    if ("data" in request) == ("bytes" in request):
        return Invalid('a channel message has "data" (a JSON value) or "bytes" (base64)')
    to = _recipients(request) if "to" in request else None
    if isinstance(to, Invalid):
        return to
    data: object = request.get("data")
    if "bytes" in request:
        if not isinstance(request["bytes"], str):
            return Invalid('"bytes" takes base64 text')
        try:
            data = base64.b64decode(request["bytes"], validate=True)
        except (binascii.Error, ValueError) as error:
            return Invalid(f'"bytes" is not base64: {error}')
    return SendPayload(channel, data, to)


def _recipients(request: dict[str, Any]) -> tuple[str, ...] | Invalid:
    to = request["to"]
    if not (isinstance(to, list) and to and all(isinstance(who, str) for who in to)):
        return Invalid('"to" takes a list of ids or nicks')
    return tuple(to)
