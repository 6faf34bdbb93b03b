"""Real terminals for tests: tmux panes on a tmux server of the test's own."""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

# The README's command: the console script pip installed beside this Python.
MESHCHAT_SCRIPT = str(Path(sys.executable).with_name("meshchat"))


def require_tmux() -> None:
    if shutil.which("tmux") is None:
        if os.environ.get("CI"):
            pytest.fail("tmux is needed to test the app in a real terminal")
        pytest.skip("needs tmux to test the app in a real terminal")


class Tmux:
    """A tmux server on a socket of its own; one window per program."""

    def __init__(self) -> None:
        require_tmux()
        self.socket = f"meshchat-test-{uuid.uuid4().hex[:8]}"

    def run(self, *args: str) -> str:
        result = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=10
        )
        if result.returncode != 0:
            raise AssertionError(f"tmux {args[0]} failed: {result.stderr.strip()}")
        return result.stdout

    def start(
        self,
        name: str,
        command: Sequence[str],
        size: tuple[int, int] = (80, 24),
        env: dict[str, str] | None = None,
    ) -> None:
        """Run ``command`` in a new window ``name`` of ``size`` columns x rows; the
        window stays after the program ends, so that its last screen can be read."""
        width, height = size
        settings = [f"{key}={value}" for key, value in (env or {}).items()]
        line = shlex.join(["env", *settings, *command])
        self.run("new-session", "-d", "-s", name, "-x", str(width), "-y", str(height), line)
        self.run("set-option", "-t", name, "remain-on-exit", "on")

    def screen(self, name: str, escapes: bool = False) -> str:
        return self.run("capture-pane", "-p", *(["-e"] if escapes else []), "-t", name)

    def title(self, name: str) -> str:
        return self.run("display-message", "-p", "-t", name, "#{pane_title}").strip()

    def exited(self, name: str) -> bool:
        return self.run("display-message", "-p", "-t", name, "#{pane_dead}").strip() == "1"

    def keys(self, name: str, *keys: str, literal: bool = False) -> None:
        self.run("send-keys", "-t", name, *(["-l"] if literal else []), *keys)

    async def wait_for(
        self, name: str, condition: Callable[[str], bool], within: float = 30
    ) -> float:
        """Poll the screen until ``condition`` holds; the seconds it took."""
        started = time.monotonic()
        while not condition(screen := self.screen(name)):
            if time.monotonic() - started > within:
                raise AssertionError(f"the screen of {name} never showed it:\n{screen}")
            await asyncio.sleep(0.02)
        return time.monotonic() - started

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=10)
