"""``meshchat join --json`` input: JSON objects name an action; other lines are typed
text, as in line mode (cli/json_input.py)."""

from __future__ import annotations

import pytest

from cli.commands import Invalid, Peers, Quit, Say, SendFile, SendPayload, Whisper
from cli.json_input import parse_json_line


@pytest.mark.parametrize(
    ("line", "command"),
    [
        ('{"say": "two\\nlines"}\n', Say("two\nlines")),
        ('{"say": "/not a command"}', Say("/not a command")),
        ('{"say": "psst", "to": ["bo", "cy"]}', Whisper(("bo", "cy"), "psst")),
        ("/msg bo psst, bo", Whisper(("bo",), "psst, bo")),
        ('{"channel": "moves", "data": {"x": [1, 2]}}', SendPayload("moves", {"x": [1, 2]}, None)),
        ('{"channel": "moves", "data": null, "to": ["bo"]}', SendPayload("moves", None, ("bo",))),
        ('{"channel": "blobs", "bytes": "AAEC"}', SendPayload("blobs", b"\x00\x01\x02", None)),
        ('{"send_file": "/tmp/a b.txt", "to": "bo"}', SendFile("/tmp/a b.txt", "bo")),
        ('{"send_file": "notes.txt"}', SendFile("notes.txt", None)),
        ('{"peers": true}', Peers()),
        ('{"quit": true}', Quit()),
        ("plain text is said\n", Say("plain text is said")),
        ("/peers", Peers()),
    ],
)
def test_each_action(line: str, command: object) -> None:
    assert parse_json_line(line) == command


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{not json", "not a JSON object"),
        ('{"say": 1}', "not blank"),
        ('{"say": "a"} and more', "not a JSON object"),
        ('{"say": "   "}', "not blank"),
        ("{}", "exactly one action"),
        ('{"say": "a", "quit": true}', "exactly one action"),
        ('{"say": "a", "colour": "red"}', "unknown field(s) for 'say': colour"),
        ('{"say": "a", "to": "bo"}', "list of ids or nicks"),
        ('{"say": "a", "to": []}', "list of ids or nicks"),
        ('{"channel": "m"}', '"data" (a JSON value) or "bytes"'),
        ('{"channel": "m", "data": 1, "bytes": ""}', '"data" (a JSON value) or "bytes"'),
        ('{"channel": 5, "data": 1}', "channel name"),
        ('{"channel": "m", "data": 1, "to": "bo"}', "list of ids or nicks"),
        ('{"channel": "m", "data": 1, "to": []}', "list of ids or nicks"),
        ('{"channel": "m", "bytes": "not base64!"}', "not base64"),
        ('{"send_file": ["a"]}', "takes a path"),
        ('{"send_file": "a", "to": ["bo", "cy"]}', "one id or nick"),
    ],
)
def test_bad_requests_are_explained_and_nothing_is_sent(line: str, problem: str) -> None:
    command = parse_json_line(line)
    assert isinstance(command, Invalid) and problem in command.problem


def test_deeply_nested_json_is_an_explained_error() -> None:
    command = parse_json_line('{"channel": "m", "data": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert isinstance(command, Invalid) and "nested too deeply" in command.problem
