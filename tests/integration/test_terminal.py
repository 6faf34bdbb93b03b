"""``meshchat join`` in a real terminal (tmux): the README's command opens the app
quickly and chats; nothing a stranger sends acts on the terminal, in the app or in
--plain mode; the line modes and the broker never load Textual."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import PeerFactory
from .netns import namespace_link
from .processes import Broker, free_port
from .terminal import MESHCHAT_SCRIPT, Tmux

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    terminals = Tmux()
    yield terminals
    terminals.close()


def home(tmp_path: Path, nick: str) -> dict[str, str]:
    """A home of its own: downloads and the log file land there."""
    path = tmp_path / nick
    path.mkdir()
    return {"HOME": str(path), "XDG_STATE_HOME": str(path / "state"), "TERM": "xterm-256color"}


async def test_the_readme_command_opens_the_app_at_once_and_chats(
    tmux: Tmux, spawn_peer: PeerFactory, tmp_path: Path
) -> None:
    # A namespace of our own: the default broker port is free there, and an interface
    # with an address gives the README's command (no options) host candidates.
    with namespace_link("10.77.0.1", "10.77.0.2") as (namespace, _):
        inside = ["ip", "netns", "exec", namespace]
        started = time.monotonic()
        readme_command = [MESHCHAT_SCRIPT, "join", "lobby", "--nick", "ana"]
        tmux.start("ana", [*inside, *readme_command], env=home(tmp_path, "ana"))
        await tmux.wait_for("ana", lambda s: "> " in s and ("joining" in s or "lobby ·" in s))
        on_screen = time.monotonic() - started
        # About a second (bench/startup.py measures it); generous for a loaded machine.
        assert on_screen < 2.5, f"the screen took {on_screen:.2f} s to appear"
        await tmux.wait_for("ana", lambda s: "signalling ok" in s and "(hosted here)" in s)

        bo = await spawn_peer(None, "lobby", "bo", launcher=inside)
        await tmux.wait_for("ana", lambda s: "1 peer ·" in s and "bo#" in s)
        tmux.keys("ana", "I am typing", literal=True)
        await tmux.wait_for("ana", lambda s: s.splitlines()[-1].rstrip() == "> I am typing")
        await bo.send("hello ana")
        await tmux.wait_for("ana", lambda s: "hello ana" in s)
        assert tmux.screen("ana").splitlines()[-1].rstrip() == "> I am typing"
        tmux.keys("ana", " and done", literal=True)
        tmux.keys("ana", "Enter")
        said = await bo.wait_for(lambda e: e["event"] == "message" and e["nick"] == "ana")
        assert said["text"] == "I am typing and done"

        tmux.keys("ana", "C-c")
        left = await bo.wait_for(lambda e: e["event"] == "left", 10)
        assert left["reason"] == "said bye"
        await tmux.wait_for("ana", lambda _: tmux.exited("ana"), 5)  # Ctrl-C ends it


async def test_closing_the_terminal_says_bye_and_ends_the_program(
    tmux: Tmux, spawn_peer: PeerFactory, meshchat_broker: Broker, tmp_path: Path
) -> None:
    command = [MESHCHAT_SCRIPT, "join", "hang-up", "--nick", "ana", *meshchat_broker.join_args]
    tmux.start("ana", [*command, "--host-address", "127.0.0.1"], env=home(tmp_path, "ana"))
    pid = int(tmux.run("display-message", "-p", "-t", "ana", "#{pane_pid}"))
    bo = await spawn_peer(meshchat_broker, "hang-up", "bo")
    await tmux.wait_for("ana", lambda s: "1 peer ·" in s)
    tmux.run("kill-session", "-t", "ana")  # the window closes: SIGHUP, no terminal left
    left = await bo.wait_for(lambda e: e["event"] == "left", 10)
    assert left["reason"] == "said bye"
    for _ in range(100):
        if not running(pid):
            break
        await asyncio.sleep(0.05)
    assert not running(pid), "the program ended with its terminal"


def running(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


HOSTILE = ["\x1b[2J\x1b[H", "\x1b]0;owned\x07", "\x1b[31mred\x1b[0m", "\x9b2J"]


@pytest.mark.parametrize("mode", ["app", "plain"])
async def test_what_a_stranger_sends_takes_no_effect_on_a_real_terminal(
    mode: str,
    tmux: Tmux,
    spawn_peer: PeerFactory,
    meshchat_broker: Broker,
    tmp_path: Path,
) -> None:
    # First, that this terminal would obey: a program that prints the sequences raw.
    tmux.start("control", ["sh", "-c", r"printf '\033]0;owned\007'; sleep 30"])
    await asyncio.sleep(0.3)
    assert tmux.title("control") == "owned", "tmux should take titles from programs"

    room = f"escapes-{mode}"
    command = [MESHCHAT_SCRIPT, "join", room, "--nick", "ana", *meshchat_broker.join_args]
    command += ["--host-address", "127.0.0.1", *(["--plain"] if mode == "plain" else [])]
    tmux.start("ana", command, (120, 30), home(tmp_path, "ana"))
    tmux.run("select-pane", "-t", "ana", "-T", "meshchat-test")
    await tmux.wait_for("ana", lambda s: "joined the open room" in s)
    mallory = await spawn_peer(meshchat_broker, room, "\u202emallory\x1b[2J")
    await tmux.wait_for("ana", lambda s: "mallory" in s and "joined" in s)
    for text in HOSTILE:
        await mallory.send(text)
    await tmux.wait_for("ana", lambda s: "\\x9b2J" in s)

    screen = tmux.screen("ana")
    assert tmux.title("ana") == "meshchat-test", "the window title is unchanged"
    assert "joined the open room" in screen, "the screen was not cleared"
    assert "\\x1b[2J\\x1b[H" in screen and "\\x1b]0;owned\\x07" in screen
    assert "\\x9b2J" in screen and "\\x1b[31mred\\x1b[0m" in screen
    assert "\u202e" not in screen
    if mode == "plain":
        assert "\x1b[31m" not in tmux.screen("ana", escapes=True), "no colour was set"


def loaded_modules_run(record: Path) -> list[str]:
    """The meshchat command, run so that it writes the modules it had loaded to
    ``record`` as it exits (however it exits: click ends with sys.exit)."""
    write = f"open({str(record)!r}, 'w').write(chr(10).join(sorted(sys.modules)))"
    return [
        sys.executable,
        "-c",
        f"import atexit, sys; atexit.register(lambda: {write}); "
        "from meshchat.cli.main import main; main(prog_name='meshchat')",
    ]


def top_level(record: Path) -> set[str]:
    return {name.split(".")[0] for name in record.read_text().split()}


async def test_line_modes_and_the_broker_never_load_textual(
    meshchat_broker: Broker, tmux: Tmux, tmp_path: Path
) -> None:
    env = {**os.environ, **home(tmp_path, "ana")}
    join = ["join", "imports", "--nick", "ana", *meshchat_broker.join_args]
    join += ["--host-address", "127.0.0.1"]
    for mode in ("--json", "--plain"):
        record = tmp_path / f"modules{mode}"
        process = await asyncio.create_subprocess_exec(
            *loaded_modules_run(record),
            *join,
            mode,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
            env=env,
        )
        await asyncio.wait_for(process.communicate(b"/quit\n"), 60)
        assert "aiortc" in top_level(record), "it joined"
        assert "textual" not in top_level(record), mode

    record = tmp_path / "modules-broker"
    broker = await asyncio.create_subprocess_exec(
        *loaded_modules_run(record),
        "broker",
        "--host",
        "127.0.0.1",
        "--port",
        str(free_port()),
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    assert broker.stderr is not None
    while b"listening on" not in await asyncio.wait_for(broker.stderr.readline(), 30):
        pass
    broker.send_signal(signal.SIGINT)  # as Ctrl-C; SIGTERM would skip the record
    # Read to the end: a wait() alone also waits for a pipe nobody drains.
    _, said = await asyncio.wait_for(broker.communicate(), 10)
    assert broker.returncode == 0, said.decode()
    assert "websockets" in top_level(record), "it served"
    assert not {"textual", "aiortc"} & top_level(record)

    # ...and the app does load it: the check above can tell.
    record = tmp_path / "modules-app"
    tmux.start("app", [*loaded_modules_run(record), *join], env=home(tmp_path, "app"))
    await tmux.wait_for("app", lambda s: "imports ·" in s)
    tmux.keys("app", "C-c")
    await tmux.wait_for("app", lambda s: tmux.exited("app"), 15)
    assert "textual" in top_level(record)
