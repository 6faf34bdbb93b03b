"""Sending and receiving files: the disk, the waiting and the bookkeeping around the
file protocol of ``features/file_protocol.py``, for one room.

A file is read from disk a chunk at a time and written to disk a chunk at a time:
neither side ever holds more than a few chunks. The receiver writes ``NAME.part`` and
renames it only once the SHA-256 of what it wrote is the one in the sender's signed
offer. Each recipient is fed by a task of its own, which waits while the peer's
connection is being rebuilt (the data plane sends again whatever chunk it had not
confirmed), so one slow or absent recipient does not hold up the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import hashlib
import logging
import os
import secrets
import shutil
import stat
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from meshchat.mesh.background import BackgroundTasks
from meshchat.mesh.events import (
    FileDelivered,
    FileFailed,
    FileOffered,
    FileProgress,
    FileReceived,
    Received,
    RoomEvent,
    SentPayload,
)
from meshchat.mesh.features.file_protocol import (
    CHUNK_BYTES,
    FILE_DATA_CHANNEL,
    FILES_CHANNEL,
    Accept,
    Assembly,
    Control,
    Failed,
    Have,
    Offer,
    Refuse,
    Saved,
    decode_chunk,
    decode_control,
    encode_chunk,
    encode_control,
)
from meshchat.mesh.features.filenames import create_unused, safe_file_name
from meshchat.mesh.signalling.messages import ProtocolError
from meshchat.wire.quietlog import QuietLog
from meshchat.wire.ratelimit import TokenBucket

log = logging.getLogger(__name__)

SendPayload = Callable[[str, object, Iterable[str] | None], Awaitable[SentPayload]]

ANSWER_TIMEOUT = 30.0  # seconds a recipient has to accept or refuse an offer
# Every STALL_TIMEOUT seconds a file from a present sender must have gained at least
# MIN_FILE_RATE bytes a second, four chunks a minute (files move at megabytes a second,
# relayed ones at hundreds of KiB): one trickled in to hold disk space fails instead.
STALL_TIMEOUT = 60.0
MIN_FILE_RATE = 16 * 1024
OWN_STALL = 5.0  # a watchdog round this late means our process stood still
REPORT_INTERVAL = 0.25  # seconds between progress events of one transfer and peer
HAVE_INTERVAL = 0.5  # seconds between the receiver's confirmations to the sender
MAX_INCOMING_PER_PEER = 8  # files one peer may be sending us at once
MAX_INCOMING = 32  # and everyone together
# Offers taken from one peer a second, and in a burst: each is shown to the user and
# answered, so a flood of them is dropped instead.
OFFER_RATE = 1.0
OFFER_BURST = 10.0
# Free space left over after a file, at least, counting the unwritten rest of every file
# already accepted: offers accepted together cannot fill the disk.
DISK_MARGIN = 64 * 1024 * 1024
DELIVERED = "delivered"


def _hold(descriptor: int) -> None:
    """Mark a ``.part`` file as being written: the lock goes with our process, so a
    later start knows which ones a stopped receiver left behind."""
    with contextlib.suppress(OSError):
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)


def remove_stale_parts(folder: Path, *, settled: float = 10.0) -> list[Path]:
    """Remove the ``.part`` files in ``folder`` that no process holds and nothing has
    written to for ``settled`` seconds (a receiver that was killed mid-transfer left
    them); return their paths. Files being received, by us or by another process
    sharing the folder, are held and kept."""
    removed: list[Path] = []
    try:
        parts = [path for path in folder.iterdir() if path.name.endswith(".part")]
    except OSError:
        return removed  # no folder yet, or not ours to read: nothing to clean
    for path in parts:
        try:
            descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            if not stat.S_ISREG(os.fstat(descriptor).st_mode):
                continue
            if time.time() - os.fstat(descriptor).st_mtime < settled:
                continue  # just made: its receiver may not hold it yet
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # held: a transfer under way
            path.unlink()
            removed.append(path)
        except OSError:
            continue
        finally:
            os.close(descriptor)
    return removed


@dataclass(eq=False)
class FileTransfer:
    """A file we send: to whom, how far each recipient is, and how it ended for each.
    ``await transfer.wait()`` returns ``{peer id: "delivered" or the reason it failed}``.
    """

    id: str
    path: Path
    name: str
    size: int
    sha256: str
    recipients: tuple[str, ...]
    progress: dict[str, int] = field(default_factory=dict)  # bytes each peer confirmed
    outcomes: dict[str, str] = field(default_factory=dict)
    _accepted: set[str] = field(default_factory=set)  # recipients who took the offer
    _answered: asyncio.Event = field(default_factory=asyncio.Event)
    _finished: asyncio.Event = field(default_factory=asyncio.Event)
    _reported_at: dict[str, float] = field(default_factory=dict)

    async def wait(self) -> dict[str, str]:
        await self._finished.wait()
        return dict(self.outcomes)

    @property
    def done(self) -> bool:
        return self._finished.is_set()

    def _settle(self, peer_id: str, outcome: str) -> bool:
        """Record how it ended for ``peer_id``; False if it had ended already."""
        if peer_id in self.outcomes or peer_id not in self.recipients:
            return False
        self.outcomes[peer_id] = outcome
        self._check_answers()
        if len(self.outcomes) == len(self.recipients):
            self._finished.set()
        return True

    def _accept(self, peer_id: str) -> None:
        self._accepted.add(peer_id)
        self._check_answers()

    def _check_answers(self) -> None:
        """Everyone has accepted, or is done with (refused, left...): feeding starts."""
        if all(p in self.outcomes or p in self._accepted for p in self.recipients):
            self._answered.set()


@dataclass(eq=False)
class _Incoming:
    offer: Offer
    sender: str
    nick: str
    name: str  # safe
    part: Path
    descriptor: int
    assembly: Assembly
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)
    window_from: float = field(default_factory=time.monotonic)  # of STALL_TIMEOUT
    window_bytes: int = 0  # gained since window_from
    reported_at: float = float("-inf")
    confirmed_at: float = float("-inf")
    grace: asyncio.TimerHandle | None = None


class FileTransfers:
    """The files of one room, both ways."""

    def __init__(
        self,
        *,
        send: SendPayload,
        peers: Callable[[], dict[str, str]],
        emit: Callable[[RoomEvent], None],
        downloads: Path | None,
        max_file_size: int,
        reconnect_grace: float,
    ) -> None:
        self._send = send
        self._peers = peers  # those with an open channel: id -> nick
        self._emit = emit
        self.downloads = downloads
        self.max_file_size = max_file_size
        self._grace = reconnect_grace
        self._outgoing: dict[str, FileTransfer] = {}
        self._incoming: dict[tuple[str, str], _Incoming] = {}  # (sender, id) ->
        self._chunk_owner: dict[str, tuple[str, str]] = {}  # chunk payload id -> (transfer, peer)
        self._peer_back: dict[str, asyncio.Event] = {}
        self._lost_since: dict[str, float] = {}  # peers lost (not said bye), since when
        self._offer_budget: dict[str, TokenBucket] = {}
        self._flood_log = QuietLog(log)
        self._tasks = BackgroundTasks()
        self._watchdog: asyncio.Task[None] | None = None
        self._closed = False
        if downloads is not None:
            for stale in remove_stale_parts(downloads):
                log.info("removed %s, left half-received by a receiver that was stopped", stale)

    # --- sending ---

    async def send_file(self, path: Path, to: Iterable[str] | None = None) -> FileTransfer:
        """Offer ``path`` to the peers ``to`` (everyone here, by default) and send it to
        those who accept. Returns at once with the transfer's handle.

        Raises ValueError for a path that is not a readable regular file or for
        recipients who are not here, before anything is sent."""
        here = self._peers()
        recipients = tuple(sorted(set(to))) if to is not None else tuple(sorted(here))
        if not recipients:
            raise ValueError("nobody is here to send the file to")
        if absent := [peer for peer in recipients if peer not in here]:
            raise ValueError(f"not in the room: {', '.join(absent)}")
        path, size, digest = await asyncio.to_thread(_inspect, path)
        transfer = FileTransfer(secrets.token_hex(16), path, path.name, size, digest, recipients)
        self._outgoing[transfer.id] = transfer
        self._tasks.start(self._offer_and_feed(transfer))
        return transfer

    async def _offer_and_feed(self, transfer: FileTransfer) -> None:
        offer = Offer(transfer.id, transfer.name, transfer.size, transfer.sha256)
        try:
            await self._send(FILES_CHANNEL, encode_control(offer), transfer.recipients)
        except ValueError as error:  # someone left in the meantime
            for peer in transfer.recipients:
                self._fail_outgoing(transfer, peer, str(error), tell=False)
            return
        try:
            async with asyncio.timeout(ANSWER_TIMEOUT):
                await transfer._answered.wait()
        except TimeoutError:
            pass
        for peer in transfer.recipients:
            if peer not in transfer.outcomes and peer not in transfer._accepted:
                self._fail_outgoing(transfer, peer, "no answer to the offer", tell=True)
        await asyncio.gather(
            *(
                self._feed(transfer, peer)
                for peer in transfer.recipients
                if peer not in transfer.outcomes
            )
        )

    async def _feed(self, transfer: FileTransfer, peer: str) -> None:
        """The file's chunks to one recipient, waiting while its connection is down."""
        try:
            descriptor = os.open(transfer.path, os.O_RDONLY)
        except OSError as error:
            self._fail_outgoing(
                transfer, peer, f"cannot read the file: {error.strerror}", tell=True
            )
            return
        try:
            offset = 0
            while offset < transfer.size and peer not in transfer.outcomes:
                if peer not in self._peers():
                    lost = self._lost_since.get(peer)
                    if lost is not None and time.monotonic() - lost > self._grace:
                        self._fail_outgoing(transfer, peer, "the peer is gone", tell=False)
                        return
                    await self._wait_for(peer)
                    continue
                length = min(CHUNK_BYTES, transfer.size - offset)
                # Read here, not on a thread: a chunk comes from the page cache in tens of
                # microseconds, and every pool thread's allocator arena adds to our RSS.
                data = os.pread(descriptor, length, offset)
                if len(data) != length:
                    self._fail_outgoing(
                        transfer, peer, "the file changed while being sent", tell=True
                    )
                    return
                try:
                    sent = await self._send(
                        FILE_DATA_CHANNEL, encode_chunk(transfer.id, offset, data), (peer,)
                    )
                except ValueError:
                    self._fail_outgoing(transfer, peer, "the peer left", tell=False)
                    return
                self._chunk_owner[sent.header.id] = (transfer.id, peer)
                offset += length
        finally:
            os.close(descriptor)

    async def _wait_for(self, peer: str) -> None:
        """Until ``peer``'s channel is open again (or a second has passed: the caller
        looks again, and at the transfer's outcome)."""
        event = self._peer_back.setdefault(peer, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.0):
                await event.wait()

    def _fail_outgoing(self, transfer: FileTransfer, peer: str, reason: str, *, tell: bool) -> None:
        if not transfer._settle(peer, reason):
            return
        self._emit(FileFailed(transfer.id, peer, True, reason))
        if tell:
            self._control(peer, Failed(transfer.id, reason))
        self._forget_if_done(transfer)

    def _forget_if_done(self, transfer: FileTransfer) -> None:
        if transfer.done:
            self._outgoing.pop(transfer.id, None)
            for chunk, (owner, _) in list(self._chunk_owner.items()):
                if owner == transfer.id:
                    del self._chunk_owner[chunk]

    # --- what arrives ---

    def deliver(self, received: Received) -> None:
        """A payload on one of the file channels."""
        try:
            if received.channel == FILES_CHANNEL:
                self._on_control(received.sender, received.nick, decode_control(received.data))
            elif received.channel == FILE_DATA_CHANNEL:
                data = received.data
                if not isinstance(data, bytes):
                    raise ProtocolError("a file chunk that is not bytes")
                self._on_chunk(received.sender, data)
        except ProtocolError as error:
            log.warning("peer %s sent a bad file message: %s", received.sender, error)

    def _on_control(self, peer: str, nick: str, message: Control) -> None:
        if isinstance(message, Offer):
            self._on_offer(peer, nick, message)
            return
        if isinstance(message, Failed) and (peer, message.id) in self._incoming:
            self._fail_incoming(
                self._incoming[peer, message.id],
                f"the sender gave up: {message.reason}",
                tell=False,
            )
            return
        transfer = self._outgoing.get(message.id)
        if transfer is None or peer not in transfer.recipients or peer in transfer.outcomes:
            return  # late, or about a transfer that is not theirs
        match message:
            case Accept():
                transfer._accept(peer)
            case Refuse(reason=reason) | Failed(reason=reason):
                self._fail_outgoing(
                    transfer,
                    peer,
                    f"refused: {reason}" if isinstance(message, Refuse) else reason,
                    tell=False,
                )
            case Have(bytes=done):
                transfer.progress[peer] = min(done, transfer.size)
                self._report(transfer, peer)
            case Saved():
                transfer.progress[peer] = transfer.size
                self._report(transfer, peer, force=True)
                transfer._settle(peer, DELIVERED)
                self._emit(FileDelivered(transfer.id, peer))
                self._forget_if_done(transfer)

    def _report(self, transfer: FileTransfer, peer: str, *, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - transfer._reported_at.get(peer, float("-inf")) >= REPORT_INTERVAL:
            transfer._reported_at[peer] = now
            done = transfer.progress.get(peer, 0)
            self._emit(FileProgress(transfer.id, peer, True, done, transfer.size))

    def _on_offer(self, sender: str, nick: str, offer: Offer) -> None:
        if (sender, offer.id) in self._incoming:
            return
        budget = self._offer_budget.get(sender)
        if budget is None:
            budget = self._offer_budget[sender] = TokenBucket(
                OFFER_RATE, OFFER_BURST, time.monotonic()
            )
        if not budget.take(time.monotonic()):
            # A flood of offers: not shown, not answered (the sender hears nothing, as
            # from a peer that does not listen), and logged a few times at most.
            self._flood_log.warning(
                sender, "peer %s offers files too fast; ignored: %s", offer.name
            )
            return
        name = safe_file_name(offer.name)
        self._emit(FileOffered(offer.id, sender, nick, name, offer.size))
        reason = self._refusal(sender, offer)
        part: Path | None = None
        if reason is None:
            assert self.downloads is not None
            try:
                self.downloads.mkdir(parents=True, exist_ok=True)
                part = create_unused(self.downloads, name, suffix=".part")
                descriptor = os.open(part, os.O_RDWR)  # read back to hash out-of-order chunks
                _hold(descriptor)
            except OSError as error:
                reason = f"the receiver cannot save it ({error.strerror or error})"
                if part is not None:
                    part.unlink(missing_ok=True)
        if reason is not None or part is None:
            reason = reason or "cannot save it"
            self._control(sender, Refuse(offer.id, reason))
            self._emit(FileFailed(offer.id, sender, False, f"refused: {reason}"))
            return
        incoming = _Incoming(offer, sender, nick, name, part, descriptor, Assembly(offer.size))
        self._incoming[sender, offer.id] = incoming
        self._control(sender, Accept(offer.id))
        self._start_watchdog()
        if offer.size == 0:
            self._complete(incoming)

    def _refusal(self, sender: str, offer: Offer) -> str | None:
        """Why this offer is refused, or None to accept it."""
        if self.downloads is None:
            return "this peer does not take files"
        if offer.size > self.max_file_size:
            limit = self.max_file_size
            return f"the file is {offer.size} bytes; this peer takes files up to {limit} bytes"
        from_sender = sum(1 for s, _ in self._incoming if s == sender)
        if from_sender >= MAX_INCOMING_PER_PEER or len(self._incoming) >= MAX_INCOMING:
            return "too many files at once; try again later"
        try:
            folder = self.downloads if self.downloads.exists() else self.downloads.parent
            free = shutil.disk_usage(folder).free
        except OSError:
            return None  # the attempt to save will say what is wrong
        owed = sum(i.offer.size - i.assembly.received for i in self._incoming.values())
        if offer.size + owed + DISK_MARGIN > free:
            return "not enough disk space"
        return None

    def _on_chunk(self, sender: str, body: bytes) -> None:
        transfer_id, offset, data = decode_chunk(body)
        incoming = self._incoming.get((sender, transfer_id))
        if incoming is None:
            return  # a transfer that already ended (or never was): nothing to do
        try:
            start, end = incoming.assembly.add(offset, len(data))
        except ProtocolError as error:
            self._fail_incoming(incoming, str(error), tell=True)
            return
        try:
            os.pwrite(incoming.descriptor, data, offset)
            if start == offset and end == offset + len(data):
                incoming.digest.update(data)  # in order, as nearly always
            elif end > start:
                _hash_range(incoming.descriptor, start, end, incoming.digest)
        except OSError as error:
            self._fail_incoming(
                incoming, f"the receiver cannot write it ({error.strerror})", tell=True
            )
            return
        now = time.monotonic()
        incoming.window_bytes += len(data)
        if incoming.assembly.complete:
            self._complete(incoming)
            return
        if now - incoming.reported_at >= REPORT_INTERVAL:
            incoming.reported_at = now
            done = incoming.assembly.contiguous
            self._emit(FileProgress(transfer_id, sender, False, done, incoming.offer.size))
        if now - incoming.confirmed_at >= HAVE_INTERVAL:
            incoming.confirmed_at = now
            self._control(sender, Have(transfer_id, incoming.assembly.contiguous))

    def _complete(self, incoming: _Incoming) -> None:
        offer = incoming.offer
        self._incoming.pop((incoming.sender, offer.id), None)
        os.close(incoming.descriptor)
        if incoming.digest.hexdigest() != offer.sha256:
            incoming.part.unlink(missing_ok=True)
            reason = "its SHA-256 does not match the sender's signed digest"
            self._control(incoming.sender, Failed(offer.id, reason))
            self._emit(FileFailed(offer.id, incoming.sender, False, reason))
            return
        assert self.downloads is not None
        try:
            final = create_unused(self.downloads, incoming.name)
            os.replace(incoming.part, final)  # onto the empty file just made for it
        except OSError as error:
            incoming.part.unlink(missing_ok=True)
            reason = f"the receiver cannot save it ({error.strerror or error})"
            self._control(incoming.sender, Failed(offer.id, reason))
            self._emit(FileFailed(offer.id, incoming.sender, False, reason))
            return
        self._emit(FileProgress(offer.id, incoming.sender, False, offer.size, offer.size))
        self._control(incoming.sender, Saved(offer.id))
        self._emit(
            FileReceived(offer.id, incoming.sender, incoming.nick, final, offer.size, offer.sha256)
        )

    def _fail_incoming(self, incoming: _Incoming, reason: str, *, tell: bool) -> None:
        if self._incoming.pop((incoming.sender, incoming.offer.id), None) is None:
            return
        if incoming.grace is not None:
            incoming.grace.cancel()
        os.close(incoming.descriptor)
        incoming.part.unlink(missing_ok=True)
        if tell:
            self._control(incoming.sender, Failed(incoming.offer.id, reason))
        self._emit(FileFailed(incoming.offer.id, incoming.sender, False, reason))

    # --- peers coming and going ---

    def peer_joined(self, peer: str) -> None:
        self._lost_since.pop(peer, None)
        for incoming in self._incoming.values():
            if incoming.sender == peer and incoming.grace is not None:
                incoming.grace.cancel()
                incoming.grace = None
                incoming.window_from, incoming.window_bytes = time.monotonic(), 0
        if (event := self._peer_back.pop(peer, None)) is not None:
            event.set()

    def peer_left(self, peer: str, *, said_bye: bool) -> None:
        """A peer left (``said_bye``) or was lost: it may come back within the
        reconnect grace, and its transfers resume then; otherwise they fail."""
        for incoming in list(self._incoming.values()):
            if incoming.sender != peer:
                continue
            if said_bye:
                self._fail_incoming(incoming, "the sender left", tell=False)
            elif incoming.grace is None:
                give_up = functools.partial(
                    self._fail_incoming, incoming, "the sender is gone", tell=False
                )
                incoming.grace = asyncio.get_running_loop().call_later(self._grace, give_up)
        if not said_bye:
            # Its feeders wait for it, up to the grace (and the data plane reports the
            # chunks it kept for it as undelivered if it does not come back in time).
            self._lost_since.setdefault(peer, time.monotonic())
            return
        for transfer in list(self._outgoing.values()):
            if peer in transfer.recipients and peer not in transfer.outcomes:
                self._fail_outgoing(transfer, peer, "the peer left", tell=False)

    def undelivered(self, payload_id: str, peer: str, reason: str) -> None:
        """A payload of ours on a file channel will not reach ``peer``."""
        owner = self._chunk_owner.pop(payload_id, None)
        if owner is not None and (transfer := self._outgoing.get(owner[0])) is not None:
            self._fail_outgoing(transfer, peer, reason, tell=False)

    # --- housekeeping ---

    def _start_watchdog(self) -> None:
        if self._watchdog is None or self._watchdog.done():
            self._watchdog = asyncio.create_task(self._watch(), name="meshchat-files-watchdog")

    async def _watch(self) -> None:
        """Give up on transfers whose present sender has stopped sending, or sends
        too little to be anything but holding room."""
        checked_at = time.monotonic()
        while self._incoming:
            await asyncio.sleep(1.0)
            now = time.monotonic()
            if now - checked_at > OWN_STALL:  # we stood still: not the senders' doing
                for incoming in self._incoming.values():
                    incoming.window_from, incoming.window_bytes = now, 0
            checked_at = now
            self.check_progress(now)

    def check_progress(self, now: float) -> None:
        """Fail files that gained under ``MIN_FILE_RATE`` over a whole window."""
        for incoming in list(self._incoming.values()):
            if incoming.grace is not None or now - incoming.window_from < STALL_TIMEOUT:
                continue  # its sender is away (it has its own grace), or the window is young
            gained = incoming.window_bytes
            incoming.window_from, incoming.window_bytes = now, 0
            if gained < MIN_FILE_RATE * STALL_TIMEOUT:
                reason = f"{gained} bytes arrived in {STALL_TIMEOUT:.0f} s"
                self._fail_incoming(incoming, reason, tell=True)

    def _control(self, peer: str, message: Control) -> None:
        """A control message to ``peer``, sent in the background (it queues behind
        nothing: control messages are small)."""
        if not self._closed:
            self._tasks.start(self._send_quietly(peer, message))

    async def _send_quietly(self, peer: str, message: Control) -> None:
        with contextlib.suppress(ValueError):  # the peer is gone: nothing to tell
            await self._send(FILES_CHANNEL, encode_control(message), (peer,))

    async def close(self) -> None:
        """We are leaving: everything under way fails, half-received files go."""
        self._closed = True
        for incoming in list(self._incoming.values()):
            self._fail_incoming(incoming, "we left", tell=False)
        for transfer in list(self._outgoing.values()):
            for peer in transfer.recipients:
                self._fail_outgoing(transfer, peer, "we left", tell=False)
        tasks = [*self._tasks.running(), *([self._watchdog] if self._watchdog else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _inspect(path: Path) -> tuple[Path, int, str]:
    """The file to send (``~`` expanded), its size and its SHA-256, read a chunk at a
    time; ValueError if it is not a regular file we can read."""
    path = path.expanduser()
    if not path.is_file():
        raise ValueError(f"{path} is not a file")
    digest = hashlib.sha256()
    size = 0
    try:
        with path.open("rb") as file:
            while block := file.read(CHUNK_BYTES):
                digest.update(block)
                size += len(block)
    except OSError as error:
        raise ValueError(f"cannot read {path}: {error.strerror or error}") from None
    return path, size, digest.hexdigest()


def _hash_range(descriptor: int, start: int, end: int, digest: hashlib._Hash) -> None:
    """Hash bytes ``start``..``end`` of the file, read back from it."""
    while start < end:
        block = os.pread(descriptor, min(CHUNK_BYTES, end - start), start)
        if not block:
            raise OSError(0, "the partial file is shorter than what was written")
        digest.update(block)
        start += len(block)
