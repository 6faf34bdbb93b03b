"""The terminal app, driven by Textual's pilot in a real room: the app's own Room on the
real broker, and ``meshchat join --json`` processes as the other people in it."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from meshchat.cli.chat_app import ChatApp, ChatInput, ChatLog, PeerPanel, open_session
from meshchat.cli.chat_app import joining_line as joining
from meshchat.cli.join_options import JoinOptions
from meshchat.mesh.webrtc.ice import IceConfig

from .conftest import PeerFactory
from .processes import EVENT_TIMEOUT, Broker, Peer

pytestmark = pytest.mark.timeout(120)

LOOPBACK = IceConfig.from_options(host_addresses=["127.0.0.1"])


def app_in(broker: Broker, room: str, tmp_path: Path, nick: str = "ana") -> ChatApp:
    options = JoinOptions(room, nick, LOOPBACK, broker_url=broker.url, downloads=tmp_path / "in")
    return ChatApp(open_session(options), joining(options))


async def until(pilot: Pilot[None], condition: Callable[[], object], within: float = 20) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await pilot.pause(0.05)


def log_lines(app: ChatApp) -> list[str]:
    return app.query_one(ChatLog).plain_lines()


def shown(app: ChatApp, text: str) -> bool:
    return any(text in line for line in log_lines(app))


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def screen_text(app: ChatApp) -> str:
    """Every character the log and the panel put on the screen, styles aside."""
    strips = list(app.query_one(ChatLog).lines)
    panel = app.query_one(PeerPanel)
    strips += [panel.render_line(y) for y in range(panel.size.height)]
    return "\n".join(segment.text for strip in strips for segment in strip)


async def joined(pilot: Pilot[None], app: ChatApp, *peers: Peer) -> None:
    await until(
        pilot,
        lambda: (
            app.conversation is not None and {p.id for p in peers} <= set(app.conversation.links())
        ),
        EVENT_TIMEOUT,
    )


async def test_typing_is_never_disturbed_by_messages_arriving(
    meshchat_broker: Broker, spawn_peer: PeerFactory, tmp_path: Path
) -> None:
    bo = await spawn_peer(meshchat_broker, "app-typing", "bo")
    app = app_in(meshchat_broker, "app-typing", tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await joined(pilot, app, bo)
        await pilot.press(*"I am typing a long")
        for n in range(5):
            await bo.send(f"interrupting you {n}")
        await until(pilot, lambda: shown(app, "interrupting you 4"))
        assert app.query_one(ChatInput).value == "I am typing a long"
        first = next(line for line in log_lines(app) if "interrupting" in line)
        assert first.split()[1].startswith("bo#"), "time, then nick#tag, then the text"

        await pilot.press(*" sentence", "enter")
        said = await bo.wait_for(lambda e: e["event"] == "message" and "sentence" in e["text"])
        assert said["text"] == "I am typing a long sentence" and said["nick"] == "ana"
        assert app.query_one(ChatInput).value == ""
        await until(pilot, lambda: shown(app, "I am typing a long sentence"))
        own = next(line for line in log_lines(app) if "sentence" in line)
        assert own.split()[1].startswith("ana#"), "our own lines are shown with nick and time"


async def test_the_side_panel_shows_each_peer_with_route_and_round_trip(
    meshchat_broker: Broker, spawn_peer: PeerFactory, tmp_path: Path
) -> None:
    bo = await spawn_peer(meshchat_broker, "app-panel", "bo")
    cy = await spawn_peer(meshchat_broker, "app-panel", "cy")
    app = app_in(meshchat_broker, "app-panel", tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await joined(pilot, app, bo, cy)
        # Round trips come from heartbeat echoes, one a second: measured within seconds.
        await until(
            pilot,
            lambda: all(link.round_trip is not None for link in app.conversation.links().values()),  # type: ignore[union-attr]
        )
        await until(pilot, lambda: screen_text(app).count(" ms") == 2)  # drawn twice a second
        panel = screen_text(app)
        assert "here (3)" in panel and "(you)" in panel
        for peer in (bo, cy):
            assert f"{peer.nick}#{peer.id[:4]}" in panel
        assert panel.count("host/host") == 2
        links = app.conversation.links()  # type: ignore[union-attr]
        assert all(0 < link.round_trip < 1 for link in links.values())  # type: ignore[operator]
        status = str(app.query_one("#status").render())
        assert "app-panel" in status and "open" in status and meshchat_broker.url in status
        assert "signalling ok" in status

        await cy.quit()
        await until(pilot, lambda: cy.id not in app.conversation.links())  # type: ignore[union-attr]
        await until(pilot, lambda: "here (2)" in screen_text(app))


async def test_commands_history_and_completion(
    meshchat_broker: Broker, spawn_peer: PeerFactory, tmp_path: Path
) -> None:
    bo = await spawn_peer(meshchat_broker, "app-commands", "bo")
    app = app_in(meshchat_broker, "app-commands", tmp_path)

    def entry() -> ChatInput:
        return app.query_one(ChatInput)

    async with app.run_test(size=(80, 24)) as pilot:
        await joined(pilot, app, bo)
        await pilot.press(*"/pe", "tab")
        assert entry().value == "/peers "
        await pilot.press("enter")
        await until(pilot, lambda: shown(app, f"peers: bo#{bo.id[:4]}"))

        await pilot.press(*"/help", "enter")
        await until(pilot, lambda: shown(app, "/send PATH [NICK]"))
        await pilot.press(*"/dance", "enter")
        await until(pilot, lambda: shown(app, "unknown command /dance"))
        assert not [e for e in bo.messages() if e["text"].startswith("/")], "commands stay here"

        await pilot.press("b", "tab")
        assert entry().value == "bo: ", "a nick at the start of a line, addressed"
        await pilot.press(*"one", "enter")
        await pilot.press(*"two", "enter")
        await bo.wait_for(lambda e: e["event"] == "message" and e["text"] == "two")
        await pilot.press(*"draft", "up")
        assert entry().value == "two"
        await pilot.press("up")
        assert entry().value == "bo: one"
        await pilot.press("down", "down")
        assert entry().value == "draft", "what was being typed comes back"

        await pilot.press("ctrl+u", *"/say /not a command", "enter")
        await bo.wait_for(lambda e: e["event"] == "message" and e["text"] == "/not a command")
        await pilot.press(*"/clear", "enter")
        await until(pilot, lambda: not log_lines(app))


async def test_a_file_sent_from_the_app_shows_a_progress_bar_and_arrives(
    meshchat_broker: Broker, spawn_peer: PeerFactory, tmp_path: Path
) -> None:
    bo = await spawn_peer(meshchat_broker, "app-files", "bo", "--downloads", str(tmp_path / "bo"))
    app = app_in(meshchat_broker, "app-files", tmp_path)
    source = tmp_path / "notes file.bin"
    source.write_bytes(bytes(range(256)) * 40_000)  # 10 MB: long enough to watch
    async with app.run_test(size=(80, 24)) as pilot:
        await joined(pilot, app, bo)
        await pilot.press(*f'/send "{source}" bo', "enter")
        await until(pilot, lambda: len(app.query(".transfer")) == 1)
        assert "notes file.bin to bo#" in screen_text(app) or app.query(".transfer")
        received = await bo.wait_for(lambda e: e["event"] == "file-received", EVENT_TIMEOUT)
        assert received["sha256"] == sha256_of(source) == sha256_of(Path(received["path"]))
        await until(pilot, lambda: shown(app, "has notes file.bin, verified"))
        await until(pilot, lambda: not app.query(".transfer"), 15)  # the bar goes


async def test_ctrl_c_leaves_at_once_and_the_peers_are_told(
    meshchat_broker: Broker, spawn_peer: PeerFactory, tmp_path: Path
) -> None:
    bo = await spawn_peer(meshchat_broker, "app-leave", "bo")
    app = app_in(meshchat_broker, "app-leave", tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await joined(pilot, app, bo)
        await pilot.press(*"ab", "left", "ctrl+d")
        assert app.query_one(ChatInput).value == "a", "Ctrl-D in a line deletes a character"
        started = time.monotonic()
        await pilot.press("ctrl+c")
        left = await bo.wait_for(lambda e: e["event"] == "left", 10)
    assert time.monotonic() - started < 3
    assert left["reason"] == "said bye"
    assert app.return_code == 0


async def test_what_strangers_send_never_reaches_the_terminal_as_control_sequences(
    meshchat_broker: Broker, spawn_peer: PeerFactory, tmp_path: Path
) -> None:
    mallory = await spawn_peer(meshchat_broker, "app-escapes", "\u202eyrollam\x1b[31m")
    app = app_in(meshchat_broker, "app-escapes", tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await joined(pilot, app, mallory)
        for text in ("\x1b[2J\x1b[H", "\x1b]0;owned\x07", "\x9b31m", "fake\u2028<ana#0000> hi"):
            await mallory.send(text)
        await until(pilot, lambda: shown(app, "hi"))
        drawn = screen_text(app)
        assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in drawn.replace("\n", ""))
        assert "\u202e" not in drawn
        assert "\\x1b[2J" in drawn and "\\x1b]0;owned\\x07" in drawn and "\\x9b31m" in drawn
        assert "yrollam[31m" in drawn, "the nick as the protocol cleans it"
        assert not any(line.startswith("<ana#0000>") for line in log_lines(app)), (
            "a stranger cannot start a line of its own"
        )
