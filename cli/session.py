"""A joined room and what goes with it, for both faces of ``meshchat join`` (the line
mode in join.py and the terminal app in chat_app.py): joining, showing events, carrying
out typed commands, leaving."""

from __future__ import annotations

import asyncio
import time

import click

from meshchat.mesh import (
    MeshError,
    MessageTooLarge,
    OverlayConfig,
    PeerJoined,
    PeerLink,
    Room,
    RoomEvent,
    SignallingLost,
    SignallingRestored,
    TransportError,
)
from meshchat.mesh.link.payloads import CHAT_CHANNEL
from meshchat.wire.redaction import redact

from . import contacts
from .commands import (
    Clear,
    Command,
    Contacts,
    Help,
    Invalid,
    Nothing,
    Peers,
    Quit,
    Say,
    SendFile,
    SendPayload,
    Trust,
    Untrust,
    Verify,
    Whisper,
)
from .commands import help_lines as command_help_lines
from .contacts import ContactBook
from .conversation import RoomStatus, SignallingState
from .defaults import DEFAULT_BROKER_URL, DEFAULT_HOST, DEFAULT_PORT
from .heap import settle_after_join
from .identities import IdentityProblem
from .join_options import JoinOptions
from .output import Printer
from .succession import EmbeddedBroker
from .transports import make_transport


class ChatSession:
    """A :class:`~.conversation.Conversation` over a real :class:`Room`."""

    def __init__(
        self,
        room: Room,
        printer: Printer,
        where: str,
        embedded: EmbeddedBroker | None,
        channels: tuple[str, ...] = (),
    ) -> None:
        self.room = room
        self.channels = channels  # shown as they arrive (--channel)
        self.identity_name: str | None = None  # a lasting identity: contacts are kept
        self.remember_contacts = False
        self.printer = printer
        self.where = where  # the signalling service, in words (never with a token)
        self.embedded = embedded
        self.signalling: SignallingState = "connected"
        self.restored_at = float("-inf")

    @property
    def hosting_broker(self) -> bool:
        return self.embedded is not None and self.embedded.hosting

    @property
    def own_id(self) -> str:
        return self.room.id

    @property
    def own_nick(self) -> str:
        return self.room.nick

    def status(self) -> RoomStatus:
        room = self.room
        return RoomStatus(
            room.name,
            room.sealed,
            self.where,
            self.hosting_broker,
            self.signalling,
            self.restored_at,
        )

    def links(self) -> dict[str, PeerLink]:
        return self.room.links()

    @classmethod
    async def open(cls, options: JoinOptions, printer: Printer) -> ChatSession:
        """Join the room; click.ClickException, saying why, if that cannot be done."""
        url = options.broker_url or DEFAULT_BROKER_URL
        # With no broker given, the default one on loopback is run by one of the
        # processes that use it: the first, and after it leaves, a successor.
        embedded = None
        if options.transport_kind == "broker" and options.broker_url is None:
            embedded = EmbeddedBroker(
                DEFAULT_HOST,
                DEFAULT_PORT,
                lambda: printer.hosting_broker(embedded.url if embedded else url),
                on_foreign=printer.error,
            )
        try:
            if embedded is not None:
                url = await embedded.locate()  # ours, or hosted here now
            transport, where = make_transport(
                options.transport_kind,
                url,
                options.ably_endpoint,
                options.broker_token,
                on_retry=printer.notice,
                locate=embedded.locate if embedded is not None else None,
                mqtt=options.mqtt,
            )
            room = Room(
                transport,
                options.room_name,
                nick=options.nick,
                ice=options.ice,
                engine=options.engine,
                secret=options.secret,
                downloads=options.downloads,
                max_file_size=options.max_file_size,
                history=options.history,
                overlay=OverlayConfig(threshold=options.full_mesh_limit),
                identity=options.identity,
            )
            for name in options.channels:  # opened first: nothing sent on them is missed
                room.channel(name)
            await room.join()
            settle_after_join()
        except (TransportError, ValueError) as error:
            if embedded is not None:
                await embedded.close()
            raise click.ClickException(redact(str(error))) from None
        session = cls(room, printer, where, embedded, options.channels)
        if options.identity_name is not None:
            try:
                printer.nicks.contacts = contacts.load(options.identity_name)
            except IdentityProblem as error:
                printer.error(f"{error}; your contacts are not shown this time")
            session.identity_name = options.identity_name
            session.remember_contacts = options.remember_contacts
        printer.ready(room.name, room.id, room.nick, where, session.hosting_broker, room.sealed)
        return session

    async def show_events(self) -> None:
        """Show the room's events until it is left."""
        async for event in self.room.events():
            self.printer.event(event)  # never raises: one bad event cannot end the display
            self.observe(event)

    async def show_channels(self) -> None:
        """Show what arrives on the channels asked for (``--channel``) until the room
        is left."""

        async def show(name: str) -> None:
            async for received in self.room.channel(name):
                self.printer.payload(received)

        await asyncio.gather(*(show(name) for name in self.channels))

    def observe(self, event: RoomEvent) -> None:
        match event:
            case PeerJoined(peer_id=peer_id, nick=nick):
                self._check_contact(peer_id, nick)
            case SignallingLost(final=final):
                self.signalling = "lost" if final else "reconnecting"
            case SignallingRestored():
                self.signalling = "connected"
                self.restored_at = time.monotonic()
        if self.embedded is not None:
            self.embedded.observe(event)

    async def execute(self, command: Command) -> bool:
        """Carry out a typed command; False when it was the one to leave. (Clear is
        the display's own business.)"""
        printer = self.printer
        match command:
            case Quit():
                return False
            case Say(text=text):
                try:
                    printer.sent(await self.room.send(text))
                except MessageTooLarge as error:
                    printer.error(str(error))
            case Whisper(to=who, text=text):
                try:
                    to = [self._peer_id(name) for name in who]
                    printer.sent(await self.room.send(text, to=to))
                except (LookupError, ValueError, MeshError) as error:
                    printer.error(str(error))
            case Peers():
                printer.peers(self.room.links())
            case Trust(who=who):
                self._trust(who)
            case Untrust(nick=nick):
                self._untrust(nick)
            case Contacts():
                printer.contacts(self._contacts())
            case Verify(who=who):
                try:
                    peer_id = self._peer_id(who)
                    printer.safety_number(peer_id, self.room.safety_number(peer_id))
                except LookupError as error:
                    printer.error(str(error))
            case Help():
                for line in command_help_lines():
                    printer.notice(line)
            case SendFile(path=path, to=who):
                await self._send_file(path, who)
            case SendPayload(channel=channel, data=data, to=who):
                await self._send_payload(channel, data, who)
            case Invalid(problem=problem):
                printer.error(problem)
            case Nothing() | Clear():
                pass
        return True

    async def _send_payload(self, channel: str, data: object, who: tuple[str, ...] | None) -> None:
        try:
            to = None if who is None else [self._peer_id(name) for name in who]
            if channel == CHAT_CHANNEL:
                raise ValueError('the chat channel carries text: send {"say": TEXT}')
            sent = await self.room.channel(channel).send(data, to=to)
        except (LookupError, ValueError, MeshError) as error:
            self.printer.error(str(error))
            return
        self.printer.payload_sent(sent)

    def _check_contact(self, peer_id: str, nick: str) -> None:
        book = self.printer.nicks.contacts
        if book is None:
            return
        standing = book.standing(peer_id, nick)
        if standing == "mismatch":
            self.printer.contact_mismatch(peer_id, nick)
        elif standing is None and self.remember_contacts:
            key = self.room.public_key_of(peer_id)
            if key is not None and book.remember(nick, peer_id, key):
                self._save_contacts()

    def _contacts(self) -> ContactBook:
        return self.printer.nicks.contacts or ContactBook()

    def _trust(self, who: str) -> None:
        if self.identity_name is None:
            self.printer.error(
                "contacts are kept for a lasting identity: join with --identity NAME"
            )
            return
        try:
            peer_id = self._peer_id(who)
        except LookupError as error:
            self.printer.error(str(error))
            return
        nick, key = self.room.peers.get(peer_id), self.room.public_key_of(peer_id)
        if nick is None or key is None:
            self.printer.error(f"no key is known for {who}")
            return
        book = self.printer.nicks.contacts = self._contacts()
        book.trust(nick, peer_id, key)
        if self._save_contacts():
            self.printer.trusted(peer_id, nick, True)

    def _untrust(self, nick: str) -> None:
        if self.identity_name is None or not self._contacts().untrust(nick):
            self.printer.error(f"{nick!r} is not one of your contacts")
            return
        if self._save_contacts():
            self.printer.trusted("", nick, False)

    def _save_contacts(self) -> bool:
        assert self.identity_name is not None
        try:
            contacts.save(self.identity_name, self._contacts())
        except OSError as error:
            self.printer.error(f"cannot save your contacts: {error.strerror}")
            return False
        return True

    def _peer_id(self, who: str) -> str:
        """A peer named by its id, or by its nick (or nick#tag) as shown."""
        return who if who in self.room.peers else self.printer.nicks.resolve(who, self.room.peers)

    async def _send_file(self, path: str, who: str | None) -> None:
        to = None
        if who is not None:
            try:
                to = [self._peer_id(who)]
            except LookupError as error:
                self.printer.error(str(error))
                return
        try:
            transfer = await self.room.send_file(path, to)
        except ValueError as error:
            self.printer.error(str(error))
            return
        self.printer.sending(transfer)

    async def close(self) -> None:
        """Leave: peers are told at once; a broker we host stops last."""
        try:
            await self.room.leave()
        finally:
            if self.embedded is not None:
                await self.embedded.close()
