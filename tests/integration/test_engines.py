"""The native engine (libdatachannel) beside aiortc: one room of both, nothing lost
when a receiver stalls, addresses, clean shutdown, and a clear word when it is missing.

The link tests (chat mesh, channels, files, liveness, faults, partial mesh) run over
it too: tests/run runs them again with ``--engine libdatachannel`` on Python 3.12.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from meshchat.mesh import EngineUnavailable, MemoryHub, MemoryTransport, Room
from meshchat.mesh.link.chat_frames import MAX_FRAME_BYTES
from meshchat.mesh.webrtc.engines import EngineName, make_engine
from meshchat.mesh.webrtc.ice import IceConfig

from .conftest import PeerFactory
from .processes import EVENT_TIMEOUT, MESHCHAT, REPO, Signalling
from .rooms import LOOPBACK, full_mesh
from .test_chat_mesh import assert_delivered_exactly_once, everyone_says_something, form_mesh

pytestmark = pytest.mark.integration

NATIVE = importlib.util.find_spec("aiolibdatachannel") is not None
needs_native = pytest.mark.skipif(
    not NATIVE, reason="libdatachannel: pip install 'meshchat[fast]' on Python 3.12+"
)


class _Recorder:
    """An engine's LinkEvents, kept in lists, with one engine to answer to."""

    def __init__(self) -> None:
        self.descriptions: list[tuple[str, str]] = []
        self.frames: list[str | bytes] = []
        self.open = asyncio.Event()
        self.states: list[str] = []

    def local_description(self, pc_id: int, sdp_type: str, sdp: str) -> None:
        self.descriptions.append((sdp_type, sdp))

    def link_state(self, pc_id: int, state: str) -> None:
        self.states.append(state)

    def link_error(self, pc_id: int, reason: str) -> None:
        raise AssertionError(reason)

    def channel_open(self, pc_id: int) -> None:
        self.open.set()

    def channel_frame(self, pc_id: int, frame: str | bytes) -> None:
        self.frames.append(frame)

    def channel_drained(self, pc_id: int) -> None:
        pass

    def channel_closed(self, pc_id: int) -> None:
        pass


@contextlib.asynccontextmanager
async def linked_engines(
    caller_engine: EngineName = "libdatachannel",
) -> AsyncIterator[tuple[Any, _Recorder, Any, _Recorder]]:
    """Two engines with one link between them on loopback, its channel open: the
    caller (libdatachannel, unless said), what it reported, the callee (libdatachannel),
    what it reported. Both are closed at the end."""
    ice = IceConfig(host_addresses=("127.0.0.1",))
    caller_events, callee_events = _Recorder(), _Recorder()
    caller = make_engine(caller_engine, ice, caller_events)
    callee = make_engine("libdatachannel", ice, callee_events)
    caller.prepare()
    callee.prepare()
    try:
        caller.create_link(1, "callee", caller=True)
        callee.create_link(1, "caller", caller=False)
        async with asyncio.timeout(EVENT_TIMEOUT):
            while not caller_events.descriptions:
                await asyncio.sleep(0.01)
            callee.set_remote(1, *caller_events.descriptions[0])
            while not callee_events.descriptions:
                await asyncio.sleep(0.01)
            caller.set_remote(1, *callee_events.descriptions[0])
            await caller_events.open.wait()
            await callee_events.open.wait()
        yield caller, caller_events, callee, callee_events
    finally:
        await caller.close_all()
        await callee.close_all()


@needs_native
async def test_frames_sent_while_the_receiver_stalls_all_arrive_in_order() -> None:
    # 5,000 frames go out, then the loop (both ends' reader) is blocked for a second: the
    # library's queue fills (1,024 frames) and SCTP holds the rest back at the sender.
    async with linked_engines() as (caller, _, _, received):
        frames = [i.to_bytes(4, "big") + bytes(996) for i in range(5000)]
        for frame in frames:
            caller.send(1, frame)
        time.sleep(1.0)  # noqa: ASYNC251 - the loop stalls, as a busy application's would
        async with asyncio.timeout(EVENT_TIMEOUT):
            while len(received.frames) < len(frames):
                await asyncio.sleep(0.01)
        assert received.frames == frames
        caller.send(1, "and text")  # text frames stay text
        async with asyncio.timeout(EVENT_TIMEOUT):
            while received.frames[-1] != "and text":
                await asyncio.sleep(0.01)


@needs_native
async def test_a_frame_over_the_announced_size_is_cut_there_and_the_link_carries_on() -> None:
    # A hostile peer ignores the max-message-size we announce (here an aiortc sender,
    # told otherwise). The library cuts what it hands us at that size, so a reader never
    # holds more than a frame's worth; the data plane refuses the cut frame as malformed.
    async with linked_engines("aiortc") as (sender, _, _, received):
        (connection,) = sender._connections.values()
        connection.pc.sctp._remote_max_message_size = 1 << 40
        sender.send(1, "before")
        sender.send(1, bytes(4 * 1024 * 1024))
        sender.send(1, "after")
        async with asyncio.timeout(EVENT_TIMEOUT):
            while received.frames[-1:] != ["after"]:
                await asyncio.sleep(0.01)
        before, cut, after = received.frames
        assert (before, after) == ("before", "after")
        assert 0 < len(cut) <= MAX_FRAME_BYTES


async def test_aiortc_links_announce_the_data_plane_s_frame_limit() -> None:
    # What a peer may send in one message is what the data plane takes: an honest
    # sender (a browser, aiortc) then refuses a larger one at its end. (The native
    # engine's announcement is checked with its bound address, below.)
    events = _Recorder()
    engine = make_engine("aiortc", IceConfig(host_addresses=("127.0.0.1",)), events)
    engine.prepare()
    try:
        engine.create_link(1, "peer", caller=True)
        async with asyncio.timeout(EVENT_TIMEOUT):
            while not events.descriptions:
                await asyncio.sleep(0.01)
        (_, sdp), *_ = events.descriptions
        assert f"a=max-message-size:{MAX_FRAME_BYTES}" in sdp, sdp
    finally:
        await engine.close_all()


@needs_native
async def test_what_a_link_holds_when_it_is_closed_still_goes_out() -> None:
    # A peer that leaves says bye on each link and closes it at once: the bye (and
    # whatever was queued before it) must not be thrown away with the connection.
    async with linked_engines() as (caller, _, _, received):
        frames = [i.to_bytes(4, "big") + bytes(5000) for i in range(200)]
        for frame in frames:
            caller.send(1, frame)
        caller.send(1, "bye")
        caller.close(1)
        async with asyncio.timeout(EVENT_TIMEOUT):
            while received.frames[-1:] != ["bye"]:
                await asyncio.sleep(0.01)
        assert received.frames == [*frames, "bye"]


@needs_native
async def test_the_configured_host_address_is_the_only_one_offered() -> None:
    async with linked_engines() as (caller, caller_events, _, callee_events):
        for _, sdp in caller_events.descriptions + callee_events.descriptions:
            candidates = [line for line in sdp.splitlines() if line.startswith("a=candidate:")]
            assert candidates, sdp
            assert all(line.split()[4] == "127.0.0.1" for line in candidates), candidates
            assert "a=max-message-size:65536" in sdp  # our frame limit, announced
        assert caller.route(1) == "host/host"
        assert caller.buffered(1) == 0


def _os_threads() -> int:
    """Threads of this process, native ones included."""
    return len(list(Path("/proc/self/task").iterdir()))


def _udp_sockets() -> int:
    """UDP sockets this process holds."""
    inodes = set()
    for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
        inodes.add(line.split()[9])
    held = 0
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            held += 1
    return held


@needs_native
async def test_rooms_that_come_and_go_leave_no_sockets_or_threads_behind() -> None:
    def one_round() -> asyncio.Future[None]:
        async def run() -> None:
            hub = MemoryHub()
            rooms = [
                Room(MemoryTransport(hub), "lobby", nick=n, engine="libdatachannel")
                for n in ("ana", "bo", "cy")
            ]
            for room in rooms:
                await room.join()
            await full_mesh(*rooms)
            assert _udp_sockets() >= 6  # two links each: sockets are counted
            for room in rooms:
                await room.leave()

        return asyncio.ensure_future(run())

    await one_round()  # the library's thread pool starts: it stays, and stays this size
    threads = await _settled_threads()
    for _ in range(3):
        await one_round()
    assert await _settled_threads() == threads


async def _settled_threads() -> int:
    """This process's threads once its links' sockets are closed (libjuice closes one on
    its own thread) and the count has held for a moment: counted earlier, a thread
    still winding down (a closing link's, an earlier test's) is counted once only."""
    async with asyncio.timeout(EVENT_TIMEOUT):
        while _udp_sockets():
            await asyncio.sleep(0.05)
        counted = _os_threads()
        while True:
            await asyncio.sleep(0.5)
            if (now := _os_threads()) == counted:
                return counted
            counted = now


@needs_native
def test_a_program_that_ends_without_leaving_its_room_exits_cleanly(tmp_path: Path) -> None:
    # libdatachannel's threads must be stopped before the interpreter finalises: else
    # the process aborts ("terminate called without an active exception") or hangs.
    script = tmp_path / "careless.py"
    script.write_text(
        "import asyncio\n"
        "from meshchat.mesh import MemoryHub, MemoryTransport, Room\n"
        "async def main():\n"
        "    hub = MemoryHub()\n"
        "    rooms = [Room(MemoryTransport(hub), 'r', nick=n, engine='libdatachannel')\n"
        "             for n in ('ana', 'bo')]\n"
        "    for room in rooms:\n"
        "        await room.join()\n"
        "    while any(not room.peers for room in rooms):\n"
        "        await asyncio.sleep(0.05)\n"
        "    print('linked', flush=True)\n"
        "asyncio.run(main())\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, cwd=REPO
    )
    assert done.stdout == "linked\n", done.stderr
    assert done.returncode == 0, done.stderr
    assert "terminate" not in done.stderr


@needs_native
async def test_a_room_of_both_engines_chats_survives_a_crash_and_shows_routes(
    signalling: Signalling, spawn_peer: PeerFactory
) -> None:
    engines = {"ana": "aiortc", "bo": "libdatachannel", "cy": "aiortc", "di": "libdatachannel"}
    peers = [
        await spawn_peer(signalling, "mixed", nick, "--engine", engine)
        for nick, engine in engines.items()
    ]
    await form_mesh(peers)
    for peer in peers:
        routes = {e["peer"]: e["route"] for e in peer.events if e["event"] == "joined"}
        assert set(routes.values()) == {"host/host"}, (peer.nick, routes)
    first = await everyone_says_something(peers, "mixed")
    await assert_delivered_exactly_once(peers, first)
    bo = peers.pop(1)  # a native peer crashes: no bye
    bo.kill()
    for peer in peers:
        await peer.wait_for(lambda e: e["event"] == "left" and e["peer"] == bo.id)
    second = await everyone_says_something(peers, "after bo")
    await assert_delivered_exactly_once(peers, second)


@needs_native
async def test_in_process_rooms_of_both_engines_share_files_and_channels(tmp_path: Path) -> None:
    hub = MemoryHub()
    ana = Room(MemoryTransport(hub), "files", nick="ana", engine="libdatachannel")
    saved = tmp_path / "bo"
    bo = Room(MemoryTransport(hub), "files", nick="bo", engine="aiortc", downloads=saved)
    try:
        for room in (ana, bo):
            await room.join()
        await full_mesh(ana, bo)
        source = tmp_path / "source.bin"
        source.write_bytes(os.urandom(3 * 1024 * 1024))
        transfer = await ana.send_file(source)
        assert await asyncio.wait_for(transfer.wait(), EVENT_TIMEOUT) == {bo.id: "delivered"}
        assert (saved / "source.bin").read_bytes() == source.read_bytes()
    finally:
        for room in (ana, bo):
            await room.leave()


@pytest.mark.skipif(NATIVE, reason="libdatachannel is installed here")
def test_without_the_extra_join_and_room_say_what_to_install() -> None:
    with pytest.raises(EngineUnavailable, match=r"meshchat\[fast\]"):
        Room(MemoryTransport(MemoryHub()), "lobby", engine="libdatachannel", ice=LOOPBACK)
    done = subprocess.run(
        [*MESHCHAT, "join", "lobby", "--json", "--engine", "libdatachannel"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 1
    assert "pip install 'meshchat[fast]'" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_an_unknown_engine_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="aiortc, libdatachannel"):
        Room(MemoryTransport(MemoryHub()), "lobby", engine="webkit")
    done = subprocess.run(
        [*MESHCHAT, "join", "lobby", "--json", "--engine", "webkit"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2 and "'webkit' is not one of" in done.stderr
