"""The room's links over libdatachannel: the native engine.

libdatachannel runs ICE, DTLS and SCTP in C++ threads of its own and calls back from
them. A callback here only hands what it was told to the link's event loop
(``call_soon_threadsafe``); everything else runs in the loop, through the C API
(``libdatachannel_capi.py``, which says why ctypes). What this thin layer adds:

* **No frame is dropped.** We never install a message callback, which would push every
  frame at us whatever our pace. We read each channel's queue ourselves, woken by its
  "available" callback. While we do not read, libdatachannel holds at most 1,024 frames
  (of at most ``MAX_FRAME_BYTES``) and then stops taking data from SCTP, whose window
  closes: the sender's buffer grows instead, which its data plane sees and pauses for.
* **Host addresses**: one configured address is bound (loopback too, which libjuice
  never gathers by itself); with several, our descriptions keep host candidates on
  those addresses only.
* **Route** from the selected candidate pair, for the peers panel.
* **Closing** lets a link send what it holds (its bye), then deletes it, which waits
  for its callbacks to return, off the loop; at exit, whatever a program left open is
  deleted before the library's threads are stopped (else the process aborts as the
  interpreter finalises).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import ctypes
import logging
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from meshchat.mesh.background import BackgroundTasks
from meshchat.mesh.engine import LinkEvents
from meshchat.mesh.link.chat_frames import CHANNEL_LABEL, MAX_FRAME_BYTES
from meshchat.mesh.link.in_flight import HIGH_WATER, LOW_WATER
from meshchat.mesh.signalling.messages import IceCandidate
from meshchat.mesh.webrtc import libdatachannel_capi as capi
from meshchat.mesh.webrtc.ice import (
    IceConfig,
    candidate_type,
    keep_host_candidates,
    remote_type,
)
from meshchat.wire.quietlog import QuietLog

log = logging.getLogger(__name__)
native_log = logging.getLogger("meshchat.mesh.webrtc.libdatachannel")

READ_BATCH = 256  # frames read per turn of the loop, so that one busy link shares it
# A turn of sends this big may end the data plane's window (HIGH_WATER, counted from a
# buffer at LOW_WATER or less): only then does the engine look whether it drained.
TURN_TO_CHECK = HIGH_WATER - LOW_WATER
CLOSE_WAIT = 2.0  # seconds a closing link gets to send what it holds and say it closed
SWITCH_INTERVAL = 0.0005  # seconds: see prepare()
SACK_DELAY_MS = 200  # RFC 4960's bound, as sctp_sack.py gives aiortc: see below

_rtc = capi.load()
# Deleting a peer connection waits for its callbacks to return: done off the loop, by a
# bounded pool of our own (so rooms that come and go add no threads).
_deleter = ThreadPoolExecutor(max_workers=2, thread_name_prefix="libdatachannel-delete")


@dataclass(eq=False)
class _Link:
    """One native peer connection, its channel, and what we know of them."""

    engine: LibdatachannelEngine
    pc_id: int  # the room's number for it
    peer_id: str
    pc: int  # libdatachannel's id
    channel: int | None = None  # libdatachannel's id of the data channel
    channel_open: bool = False  # the room was told the channel opened
    # A read of the channel is scheduled. Set from libdatachannel's threads too: a
    # plain attribute, read and written under the GIL, so at worst one spare read.
    reading: bool = False
    sent_unchecked: int = 0  # bytes sent since the engine last looked at the buffer
    closed: asyncio.Event = field(default_factory=asyncio.Event)  # the library said so
    early_candidates: list[IceCandidate] = field(default_factory=list)


# Native id (peer connection or channel) -> its link, for the callbacks. Entries go
# when the link is closed; ids are never reused by libdatachannel.
_by_native_id: dict[int, _Link] = {}


def _link_of(native_id: int) -> _Link | None:
    return _by_native_id.get(native_id)


def _on_state(pc: int, state: int, _: object) -> None:
    if (link := _link_of(pc)) is not None:
        link.engine._post(link.engine._state_changed, link, state)


def _on_gathering(pc: int, state: int, _: object) -> None:
    if state == capi.GATHERING_COMPLETE and (link := _link_of(pc)) is not None:
        link.engine._post(link.engine._gathered, link)


def _on_data_channel(pc: int, channel: int, _: object) -> None:
    if (link := _link_of(pc)) is not None:
        link.engine._post(link.engine._offered, link, channel)
    else:
        _rtc.rtcDeleteDataChannel(channel)


def _on_open(channel: int, _: object) -> None:
    if (link := _link_of(channel)) is not None:
        link.engine._post(link.engine._opened, link)


def _on_closed(channel: int, _: object) -> None:
    if (link := _link_of(channel)) is not None:
        link.engine._post(link.engine._channel_closed, link)


def _on_low(channel: int, _: object) -> None:
    if (link := _link_of(channel)) is not None:
        link.engine._post(link.engine._drained, link)


def _on_available(channel: int, _: object) -> None:
    if (link := _link_of(channel)) is not None:
        link.engine._wake_reader(link)


def _on_error(channel: int, message: bytes | None, _: object) -> None:
    log.debug("channel %d: %s", channel, (message or b"").decode(errors="replace"))


# What the library logs may be about what a peer sent: at a rate no peer can drive up,
# per place in the library that logs it. Its threads log: hence the lock.
_native_quiet = QuietLog(native_log)
_native_lock = threading.Lock()


def _on_log(level: int, message: bytes | None) -> None:
    where, _, said = (message or b"").decode(errors="replace").partition(": ")
    with _native_lock:
        _native_quiet.log(logging.WARNING if level <= 2 else logging.INFO, where, "%s: %s", said)


# The C callbacks (kept referenced for the life of the process).
_on_state_c = capi.StateCallback(_on_state)
_on_gathering_c = capi.StateCallback(_on_gathering)
_on_data_channel_c = capi.DataChannelCallback(_on_data_channel)
_on_open_c = capi.ChannelCallback(_on_open)
_on_closed_c = capi.ChannelCallback(_on_closed)
_on_low_c = capi.ChannelCallback(_on_low)
_on_available_c = capi.ChannelCallback(_on_available)
_on_error_c = capi.ErrorCallback(_on_error)
_on_log_c = capi.LogCallback(_on_log)

_rtc.rtcInitLogger(capi.LOG_WARNING, _on_log_c)
# SACKs as the aiortc engine sends them (sctp_sack.py): one for every second packet of
# data, or within the RFC's 200 ms (libdatachannel's own 20 ms answers every chat line
# with a packet of its own, doubling what both ends encrypt, send and wake up for).
_rtc.rtcSetSctpSettings(ctypes.byref(capi.SctpSettings(delayedSackTimeMs=SACK_DELAY_MS)))


@atexit.register
def _delete_everything() -> None:
    # A program that ends without leaving its rooms: delete what it left, then stop
    # the library's threads, before the interpreter finalises under them.
    _deleter.shutdown(wait=True)
    for pc in {link.pc for link in _by_native_id.values()}:
        _rtc.rtcDeletePeerConnection(pc)
    _by_native_id.clear()
    _rtc.rtcCleanup()


class LibdatachannelEngine:
    """Links over libdatachannel, configured by ``ice``, reporting to ``events``."""

    def __init__(self, ice: IceConfig, events: LinkEvents) -> None:
        self.ice = ice
        self._events = events
        self._connections: dict[int, _Link] = {}
        self._closing = BackgroundTasks()  # the deletions
        self._loop: asyncio.AbstractEventLoop | None = None
        self._frame = ctypes.create_string_buffer(MAX_FRAME_BYTES + 1)  # read into

    def prepare(self) -> None:
        self._loop = asyncio.get_running_loop()
        # The library's callbacks need the GIL; the loop's thread, busy, hands it over
        # only every switch interval (5 ms by default), which every frame would wait.
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL))

    def create_link(self, pc_id: int, peer_id: str, caller: bool) -> None:
        config, keep_alive = self._configuration()
        pc = _rtc.rtcCreatePeerConnection(ctypes.byref(config))
        del keep_alive  # libdatachannel has copied the strings
        if pc < 0:
            self._events.link_error(pc_id, f"libdatachannel could not make a link ({pc})")
            return
        link = _Link(self, pc_id, peer_id, pc)
        self._connections[pc_id] = link
        _by_native_id[pc] = link
        _rtc.rtcSetStateChangeCallback(pc, _on_state_c)
        _rtc.rtcSetGatheringStateChangeCallback(pc, _on_gathering_c)
        if caller:
            self._attach(link, _rtc.rtcCreateDataChannel(pc, CHANNEL_LABEL.encode()))
            self._check(link, _rtc.rtcSetLocalDescription(pc, b"offer"), "making an offer")
        else:
            _rtc.rtcSetDataChannelCallback(pc, _on_data_channel_c)

    def set_remote(self, pc_id: int, sdp_type: str, sdp: str) -> None:
        link = self._connections.get(pc_id)
        if link is None:
            return
        result = _rtc.rtcSetRemoteDescription(link.pc, sdp.encode(), sdp_type.encode())
        if not self._check(link, result, f"the peer's {sdp_type}"):
            return
        if sdp_type == "offer":
            self._check(link, _rtc.rtcSetLocalDescription(link.pc, b"answer"), "answering")
        early, link.early_candidates = link.early_candidates, []
        for candidate in early:
            self.add_candidate(pc_id, candidate)

    def add_candidate(self, pc_id: int, candidate: IceCandidate | None) -> None:
        link = self._connections.get(pc_id)
        if link is None or candidate is None:  # libdatachannel needs no end-of-candidates
            return
        if capi.read_text(_rtc.rtcGetRemoteDescriptionType, link.pc) is None:
            link.early_candidates.append(candidate)  # a browser may trickle it first
            return
        result = _rtc.rtcAddRemoteCandidate(
            link.pc, candidate.candidate.encode(), (candidate.sdp_mid or "0").encode()
        )
        self._check(link, result, f"the peer's candidate {candidate.candidate!r}")

    def send(self, pc_id: int, frame: str | bytes) -> None:
        link = self._connections.get(pc_id)
        if link is None or not link.channel_open or link.channel is None:
            return
        if isinstance(frame, str):  # a text message: NUL-terminated, size -1
            result = _rtc.rtcSendMessage(link.channel, frame.encode(), -1)
        else:
            result = _rtc.rtcSendMessage(link.channel, frame, len(frame))
        if result < 0:  # closing under us: its frames are resent on a new link
            log.debug("link %d to %s: send failed (%d)", pc_id, link.peer_id, result)
            return
        before, link.sent_unchecked = link.sent_unchecked, link.sent_unchecked + len(frame)
        if before < TURN_TO_CHECK <= link.sent_unchecked:
            assert self._loop is not None
            self._loop.call_soon(self._check_drained, link)

    def buffered(self, pc_id: int) -> int | None:
        link = self._connections.get(pc_id)
        if link is None or not link.channel_open or link.channel is None:
            return None
        return max(0, int(_rtc.rtcGetBufferedAmount(link.channel)))

    def most_buffered(self) -> int:
        return max(
            (
                _rtc.rtcGetBufferedAmount(link.channel)
                for link in self._connections.values()
                if link.channel_open and link.channel is not None
            ),
            default=0,
        )

    def route(self, pc_id: int) -> str:
        link = self._connections.get(pc_id)
        if link is None:
            return "unknown"
        local, remote = ctypes.create_string_buffer(256), ctypes.create_string_buffer(256)
        if _rtc.rtcGetSelectedCandidatePair(link.pc, local, 256, remote, 256) < 0:
            return "unknown"
        selected = remote.value.decode(errors="replace")
        theirs = candidate_type(selected)
        if theirs == "prflx":  # the description is read (and copied) only when it can help
            remote_sdp = capi.read_text(_rtc.rtcGetRemoteDescription, link.pc) or ""
            theirs = remote_type(selected, remote_sdp)
        return f"{candidate_type(local.value.decode(errors='replace'))}/{theirs}"

    def close(self, pc_id: int) -> None:
        if (link := self._connections.pop(pc_id, None)) is not None:
            self._delete(link)

    async def close_all(self) -> None:
        for link in list(self._connections.values()):
            self._delete(link)
        self._connections.clear()
        await asyncio.gather(*self._closing.running(), return_exceptions=True)

    # --- from libdatachannel's threads into the loop ---

    def _post(self, handler: Callable[..., None], *args: Any) -> None:
        """Run ``handler(*args)`` in the loop (called from libdatachannel's threads)."""
        assert self._loop is not None
        with contextlib.suppress(RuntimeError):  # the loop has closed: the room is gone
            self._loop.call_soon_threadsafe(handler, *args)

    def _current(self, link: _Link) -> bool:
        return self._connections.get(link.pc_id) is link

    def _check(self, link: _Link, result: int, what: str) -> bool:
        """Whether a call succeeded; if not, a link error, as aiortc's refusals are."""
        if result >= 0:
            return True
        if self._current(link):
            reason = "invalid" if result == capi.ERR_INVALID else f"failed ({result})"
            self._events.link_error(link.pc_id, f"libdatachannel: {what}: {reason}")
        return False

    def _state_changed(self, link: _Link, state: int) -> None:
        if state == capi.STATE_CLOSED:
            link.closed.set()  # a closing link waits for this
        if self._current(link) and 0 <= state < len(capi.STATE_NAMES):
            self._events.link_state(link.pc_id, capi.STATE_NAMES[state])

    def _gathered(self, link: _Link) -> None:
        if not self._current(link):
            return
        sdp = capi.read_text(_rtc.rtcGetLocalDescription, link.pc)
        sdp_type = capi.read_text(_rtc.rtcGetLocalDescriptionType, link.pc)
        if sdp is not None and sdp_type is not None:
            sdp = keep_host_candidates(sdp, self.ice.host_addresses)
            self._events.local_description(link.pc_id, sdp_type, sdp)

    def _offered(self, link: _Link, channel: int) -> None:
        label = capi.read_text(_rtc.rtcGetDataChannelLabel, channel)
        if not self._current(link) or link.channel is not None:
            _rtc.rtcDeleteDataChannel(channel)
        elif label != CHANNEL_LABEL:
            log.warning("peer %s opened channel %r", link.peer_id, label)
            _rtc.rtcDeleteDataChannel(channel)
        else:
            self._attach(link, channel)

    def _attach(self, link: _Link, channel: int) -> None:
        if channel < 0:
            self._check(link, channel, "opening the data channel")
            return
        link.channel = channel
        _by_native_id[channel] = link
        _rtc.rtcSetBufferedAmountLowThreshold(channel, LOW_WATER)
        _rtc.rtcSetOpenCallback(channel, _on_open_c)
        _rtc.rtcSetClosedCallback(channel, _on_closed_c)
        _rtc.rtcSetErrorCallback(channel, _on_error_c)
        _rtc.rtcSetBufferedAmountLowCallback(channel, _on_low_c)
        _rtc.rtcSetAvailableCallback(channel, _on_available_c)
        if _rtc.rtcIsOpen(channel):  # a callee's channel may open before we see it
            self._opened(link)
        self._wake_reader(link)  # frames may have come before our callback was set

    def _opened(self, link: _Link) -> None:
        if self._current(link) and not link.channel_open:
            link.channel_open = True
            self._events.channel_open(link.pc_id)

    def _check_drained(self, link: _Link) -> None:
        """After a turn of sends that may have filled the data plane's window by its own
        count: usrsctp takes what its window allows straight away, so the channel's
        buffer may never have risen above LOW_WATER, and then libdatachannel never says
        it fell to it. Say so here; else its callback will. (A smaller turn that fills
        the window started above LOW_WATER, and the library's callback comes.)"""
        link.sent_unchecked = 0
        channel = link.channel
        if self._current(link) and channel and _rtc.rtcGetBufferedAmount(channel) <= LOW_WATER:
            self._events.channel_drained(link.pc_id)

    def _drained(self, link: _Link) -> None:
        if self._current(link):
            self._events.channel_drained(link.pc_id)

    def _channel_closed(self, link: _Link) -> None:
        if self._current(link):
            self._events.channel_closed(link.pc_id)

    def _wake_reader(self, link: _Link) -> None:
        if not link.reading:
            link.reading = True
            self._post(self._read, link)

    def _read(self, link: _Link) -> None:
        """Hand the room up to READ_BATCH frames, then let the loop serve others."""
        for _ in range(READ_BATCH):
            if not self._current(link) or link.channel is None:
                return
            if not link.channel_open:
                if not _rtc.rtcIsOpen(link.channel):
                    link.reading = False
                    return
                self._opened(link)  # its own callback is still on the way
            frame = self._receive(link)
            if frame is None:
                link.reading = False
                # A frame that came just now woke no one (``reading`` was still set).
                if (frame := self._receive(link)) is None:
                    return
                link.reading = True
            self._events.channel_frame(link.pc_id, frame)
        assert self._loop is not None
        self._loop.call_soon(self._read, link)

    def _receive(self, link: _Link) -> str | bytes | None:
        """The next frame of the link's channel, or None. A text frame that is not UTF-8
        is handed on as bytes, for the data plane to refuse."""
        assert link.channel is not None  # _read looked
        buffer = self._frame
        size = ctypes.c_int(len(buffer))
        result = _rtc.rtcReceiveMessage(link.channel, buffer, ctypes.byref(size))
        if result == capi.ERR_TOO_SMALL:
            # The library cuts a frame at the size we announce (a peer may ignore it:
            # tested), so only a release that stopped doing so would get here. The link
            # goes, rather than stay stuck behind a frame we would have to hold whole.
            if self._current(link):
                self._events.link_error(
                    link.pc_id,
                    f"libdatachannel: the peer sent a frame of {abs(size.value)} bytes, "
                    f"over the {MAX_FRAME_BYTES} we take",
                )
            return None
        if result < 0:
            return None
        # Copy out only what came (``buffer.raw`` would copy the whole 64 KiB buffer).
        if size.value >= 0:
            return ctypes.string_at(buffer, size.value)
        data = ctypes.string_at(buffer, -size.value - 1)  # text: its size is -(bytes + NUL)
        try:
            return data.decode()
        except UnicodeDecodeError:
            return data

    # --- configuration and closing ---

    def _configuration(self) -> tuple[capi.Configuration, list[bytes]]:
        """The native configuration, and the strings it points into (to keep alive
        until libdatachannel has copied them)."""
        urls = [url.encode() for server in self.ice.servers for url in capi.ice_server_urls(server)]
        config = capi.Configuration()
        config.iceServers = (ctypes.c_char_p * len(urls))(*urls) if urls else None
        config.iceServersCount = len(urls)
        addresses = self.ice.host_addresses
        bind = addresses[0].encode() if addresses is not None and len(addresses) == 1 else None
        config.bindAddress = bind
        config.maxMessageSize = MAX_FRAME_BYTES
        config.disableAutoNegotiation = True  # we say when to offer and answer
        return config, [*urls, *([bind] if bind else [])]

    def _delete(self, link: _Link) -> None:
        self._closing.start(self._close_then_delete(link))

    async def _close_then_delete(self, link: _Link) -> None:
        """Close the link, letting what it holds unsent go out first (a bye, the last
        frames), then delete it. The library's calls wait on its threads, so they are
        made off the loop; the wait for the close is the loop's, so that a room's links
        all close at once."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(_deleter, _rtc.rtcClosePeerConnection, link.pc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(link.closed.wait(), CLOSE_WAIT)
        for native_id in (link.pc, link.channel):
            if native_id is not None:
                _by_native_id.pop(native_id, None)

        def delete() -> None:
            if link.channel is not None:
                _rtc.rtcDeleteDataChannel(link.channel)
            _rtc.rtcDeletePeerConnection(link.pc)

        await loop.run_in_executor(_deleter, delete)
