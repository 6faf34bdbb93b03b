"""meshchat without its extras (``pip install meshchat``, no ``[cli]`` or ``[redis]``):
what needs one says which, and ``join`` chats in line mode without the app."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from click.testing import CliRunner

from meshchat.cli import join as line_mode
from meshchat.cli import main as cli_main
from meshchat.cli.extras import installed


def test_an_extra_is_found_without_importing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    assert installed("cli") and installed("redis")  # the test run installs them all
    monkeypatch.setitem(sys.modules, "redis", None)  # as if it were not installed
    assert not installed("redis")


def test_the_broker_asks_for_the_redis_extra_before_it_starts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    result = CliRunner().invoke(
        cli_main.main, ["broker", "--port", "0", "--redis", "redis://127.0.0.1:1"]
    )
    assert result.exit_code == 2
    assert "pip install 'meshchat[redis]'" in result.output


def test_join_in_a_terminal_without_the_app_chats_in_line_mode(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "textual", None)
    monkeypatch.setattr(cli_main, "_in_a_terminal", lambda: True)
    ran: list[Any] = []

    async def run_join(options: object, json_mode: bool) -> None:
        ran.append(json_mode)

    monkeypatch.setattr(line_mode, "run_join", run_join)
    monkeypatch.setattr("meshchat.cli.logs.log_to_file", lambda **_: None)
    result = CliRunner().invoke(cli_main.main, ["join", "lobby"])
    assert result.exit_code == 0, result.output
    assert ran == [False]  # line mode, not --json
    assert "the chat app needs textual" in result.output
    assert "pip install 'meshchat[cli]'" in result.output
