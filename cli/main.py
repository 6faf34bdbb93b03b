"""The ``meshchat`` command line: a thin layer over ``meshchat.mesh`` and ``meshchat.broker``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from meshchat import __version__
from meshchat.broker.limits import Limits
from meshchat.wire.engines import DEFAULT_ENGINE, ENGINE_VARIABLE, ENGINES, check_engine
from meshchat.wire.ice import check_ice_urls
from meshchat.wire.redaction import RedactingFilter, split_token

from .config import ConfigError, default_path, load_defaults
from .defaults import (
    DEFAULT_BROKER_URL,
    DEFAULT_HOST,
    DEFAULT_MAX_FILE_SIZE,
    DEFAULT_PORT,
    TRANSPORTS,
)
from .extras import installed, needs
from .identity_commands import identity, unlocked
from .options import ListOption, byte_size, mqtt_options

if TYPE_CHECKING:
    from meshchat.broker.ice import IceServerOffer

    from .join_options import MqttSettings

# Each command imports what it runs when it runs (aiortc, ably, the broker's server):
# `meshchat --help` and `meshchat broker` load no WebRTC.

DEFAULT_LIMITS = Limits()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="meshchat")
@click.option("-v", "--verbose", count=True, help="Log more to stderr (-v info, -vv debug).")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="MESHCHAT_CONFIG",
    help="TOML file with option defaults (env MESHCHAT_CONFIG; default "
    "~/.config/meshchat/config.toml if it exists).",
)
@click.pass_context
def main(ctx: click.Context, verbose: int, config_path: Path | None) -> None:
    """Anonymous group chat over a full mesh of WebRTC data channels.

    Chat text travels only peer to peer; a pub/sub broker only introduces peers.
    """
    path = config_path or default_path()
    if config_path is not None or path.exists():
        try:
            ctx.default_map = load_defaults(path)
        except ConfigError as error:
            raise click.ClickException(str(error)) from None
    ctx.meta["verbose"] = verbose
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactingFilter())  # no access token in any log line
    if verbose < 2:
        # aioice and aiortc log every connectivity check at INFO.
        for noisy in ("aioice", "aiortc"):
            logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    # The Ably SDK logs its own tracebacks for what meshchat reports in one line of its
    # own (a refused key, an unreachable endpoint): shown only with -v.
    logging.getLogger("ably").setLevel(level if verbose else logging.CRITICAL + 1)


@main.command()
@click.argument("room")
@click.option(
    "--transport",
    "transport_kind",
    type=click.Choice(TRANSPORTS),
    default="broker",
    show_default=True,
    envvar="MESHCHAT_TRANSPORT",
    help="Signalling over a meshchat/y-webrtc broker, over Ably, or over any MQTT broker "
    "(env MESHCHAT_TRANSPORT). Ably reads its credentials from ABLY_API_KEY, "
    "ABLY_TOKEN or ABLY_AUTH_URL; MQTT takes --mqtt-url.",
)
@click.option(
    "--ably-endpoint",
    envvar="MESHCHAT_ABLY_ENDPOINT",
    metavar="HOST",
    help="Ably endpoint (env MESHCHAT_ABLY_ENDPOINT); ws://host:port for a local "
    "test endpoint without TLS. Default: Ably's main endpoint.",
)
@mqtt_options
@click.option(
    "--nick",
    default="anon",
    envvar="MESHCHAT_NICK",
    show_default=True,
    help="Your display name in the room (env MESHCHAT_NICK).",
)
@click.option(
    "--identity",
    "identity_name",
    envvar="MESHCHAT_IDENTITY",
    metavar="NAME",
    help="Join as the lasting identity NAME (`meshchat identity new NAME`): the same id "
    "every run, so others can recognise and verify you, and the nick NAME unless --nick "
    "gives one (env MESHCHAT_IDENTITY). Default: a fresh identity every run.",
)
@click.option(
    "--passphrase-file",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="MESHCHAT_PASSPHRASE_FILE",
    help="File whose first line opens a sealed --identity (env MESHCHAT_PASSPHRASE_FILE). "
    "Without it, the passphrase is asked for on the terminal.",
)
@click.option(
    "--remember-contacts",
    is_flag=True,
    envvar="MESHCHAT_REMEMBER_CONTACTS",
    help="With --identity: record the key each nick first comes with, and warn if that "
    "nick later comes with another (trust on first use; env MESHCHAT_REMEMBER_CONTACTS).",
)
@click.option(
    "--broker",
    "broker_url",
    envvar="MESHCHAT_BROKER",
    metavar="URL",
    help="Signalling broker, e.g. ws://host:8765 (env MESHCHAT_BROKER). Default: "
    f"{DEFAULT_BROKER_URL}, started inside this process if nothing listens there.",
)
@click.option(
    "--broker-token-file",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="MESHCHAT_BROKER_TOKEN_FILE",
    help="File holding the broker's access token (env MESHCHAT_BROKER_TOKEN_FILE; or put "
    "the token itself in MESHCHAT_BROKER_TOKEN). Kept out of the command line, where "
    "other users could see it in ps.",
)
@click.option(
    "--secret",
    envvar="MESHCHAT_ROOM_SECRET",
    metavar="TEXT",
    help="Room secret (env MESHCHAT_ROOM_SECRET): only peers with the same secret meet, "
    "and the broker or Ably sees only sealed signalling.",
)
@click.option(
    "--json",
    "json_mode",
    is_flag=True,
    help="Machine mode: one JSON event per line on stdout; each stdin line is sent, or "
    'is a JSON request if it starts with "{" ({"say": TEXT}, {"channel": NAME, "data": '
    'VALUE}, {"send_file": PATH}...: see the README).',
)
@click.option(
    "--channel",
    "channels",
    cls=ListOption,
    envvar="MESHCHAT_CHANNELS",
    metavar="NAME",
    help="Show what arrives on this named channel (JSON values and bytes sent by apps); "
    "repeatable (env MESHCHAT_CHANNELS, a list). Line mode and --json only.",
)
@click.option(
    "--no-history",
    is_flag=True,
    envvar="MESHCHAT_NO_HISTORY",
    help="Neither ask for the room's recent chat on joining nor keep it for newcomers "
    "(env MESHCHAT_NO_HISTORY). By default the last 200 lines (24 hours at most) are "
    "kept in memory only, and shown to you, dimmed, when you join.",
)
@click.option(
    "--full-mesh-up-to",
    "full_mesh_limit",
    type=click.IntRange(min=12, max=1000),
    default=24,
    show_default=True,
    envvar="MESHCHAT_FULL_MESH_UP_TO",
    metavar="PEERS",
    help="Rooms of up to this many peers are a full mesh; a bigger room is a partial mesh, "
    "each peer linked to 5-12 others and messages relayed (env MESHCHAT_FULL_MESH_UP_TO).",
)
@click.option(
    "--plain",
    is_flag=True,
    help="Line mode instead of the terminal app: typed lines are sent, events are printed "
    "as lines (the mode anyway when stdin or stdout is not a terminal).",
)
@click.option(
    "--ice-server",
    "ice_servers",
    cls=ListOption,
    envvar="MESHCHAT_ICE_SERVERS",
    metavar="URL",
    help="STUN/TURN server (stun:host:port, turn:host:port?transport=tcp); "
    "repeatable (env MESHCHAT_ICE_SERVERS, a list). Default: none.",
)
@click.option(
    "--ice-username",
    envvar="MESHCHAT_ICE_USERNAME",
    metavar="NAME",
    help="TURN username (env MESHCHAT_ICE_USERNAME).",
)
@click.option(
    "--ice-credential",
    envvar="MESHCHAT_ICE_CREDENTIAL",
    metavar="SECRET",
    help="TURN credential (env MESHCHAT_ICE_CREDENTIAL).",
)
@click.option(
    "--engine",
    type=click.Choice(ENGINES),
    default=DEFAULT_ENGINE,
    show_default=True,
    envvar=ENGINE_VARIABLE,
    help="The WebRTC implementation of your links: aiortc (pure Python) or libdatachannel "
    "(native: about three times the throughput for files and payloads; Python 3.12+, "
    "pip install 'meshchat[fast]'). Either talks to the other and to browsers "
    f"(env {ENGINE_VARIABLE}).",
)
@click.option(
    "--host-address",
    "host_addresses",
    cls=ListOption,
    envvar="MESHCHAT_HOST_ADDRESSES",
    metavar="IP",
    help="Offer host candidates only on this local address (127.0.0.1 allowed); "
    "repeatable (env MESHCHAT_HOST_ADDRESSES, a list). Default: every non-loopback one.",
)
@click.option(
    "--downloads",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="MESHCHAT_DOWNLOADS",
    help="Folder that files sent to you are saved in (env MESHCHAT_DOWNLOADS). "
    "Default: a meshchat folder in your downloads folder, or in your home.",
)
@click.option(
    "--max-file-size",
    type=byte_size,
    default=DEFAULT_MAX_FILE_SIZE,
    show_default=True,
    envvar="MESHCHAT_MAX_FILE_SIZE",
    help="Refuse files larger than this (env MESHCHAT_MAX_FILE_SIZE), e.g. 500M, 4G.",
)
def join(
    room: str,
    transport_kind: str,
    ably_endpoint: str | None,
    mqtt_url: str | None,
    mqtt_username: str | None,
    mqtt_password_file: Path | None,
    mqtt_prefix: str,
    nick: str,
    identity_name: str | None,
    passphrase_file: Path | None,
    remember_contacts: bool,
    broker_url: str | None,
    broker_token_file: Path | None,
    secret: str | None,
    json_mode: bool,
    channels: tuple[str, ...],
    no_history: bool,
    full_mesh_limit: int,
    plain: bool,
    ice_servers: tuple[str, ...],
    ice_username: str | None,
    ice_credential: str | None,
    engine: str,
    host_addresses: tuple[str, ...],
    downloads: Path | None,
    max_file_size: int,
) -> None:
    """Join ROOM and chat: typed lines are sent, messages, joins and leaves are shown.

    In a terminal this opens the chat app (--plain for line mode). /help lists the
    commands; /send PATH [NICK] sends a file (to everyone, or to one peer); files sent
    to you are saved in the downloads folder. Leave with /quit, Ctrl-D or Ctrl-C.
    Log records go to ~/.local/state/meshchat/join.log, never into the chat.
    """
    from meshchat.mesh.webrtc.ice import IceConfig

    from .join_options import JoinOptions
    from .logs import log_to_file

    try:
        ice = IceConfig.from_options(ice_servers, ice_username, ice_credential, host_addresses)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    ctx = click.get_current_context()
    if secret is None and os.environ.get("MESHCHAT_ROOM_SECRET") == "":
        secret = ""  # click drops empty variables; Room refuses an empty secret
    if broker_url is not None and split_token(broker_url)[1] is not None:
        _warn_if_on_command_line(ctx, "broker_url", "the access token in --broker")
    mqtt = _mqtt(transport_kind, mqtt_url, mqtt_username, mqtt_password_file, mqtt_prefix)
    if engine == "libdatachannel" and not installed("fast"):
        raise click.ClickException(needs("fast", "--engine libdatachannel"))
    identity = None
    if remember_contacts and identity_name is None:
        raise click.UsageError("--remember-contacts keeps contacts for an --identity: give one")
    if identity_name is not None:
        identity = unlocked(identity_name, passphrase_file)
        if ctx.get_parameter_source("nick") in (ParameterSource.DEFAULT, None):
            nick = identity_name
    options = JoinOptions(
        room,
        nick,
        ice,
        engine=check_engine(engine),
        identity=identity,
        identity_name=identity_name,
        remember_contacts=remember_contacts,
        transport_kind=transport_kind,
        broker_url=broker_url,
        ably_endpoint=ably_endpoint,
        mqtt=mqtt,
        secret=secret,
        broker_token=_broker_token(broker_token_file),
        downloads=downloads or default_downloads(),
        max_file_size=max_file_size,
        history=not no_history,
        full_mesh_limit=full_mesh_limit,
        channels=_channel_names(channels),
    )
    verbose = ctx.meta.get("verbose", 0)
    line_mode = json_mode or plain or not _in_a_terminal()
    if not line_mode and not installed("cli"):
        click.echo(f"meshchat: {needs('cli', 'the chat app')}; chatting in line mode", err=True)
        line_mode = True
    if channels and not line_mode:
        raise click.UsageError("--channel shows channels in line mode: add --plain or --json")
    if line_mode:
        log_to_file(keep_stderr=verbose > 0)
        from .join import run_join

        asyncio.run(run_join(options, json_mode))
        return
    from .chat_app import run_app  # Textual is loaded for the app alone

    log_to_file(keep_stderr=False)  # warnings show in the app's status line too
    run_app(options)


def _channel_names(names: tuple[str, ...]) -> tuple[str, ...]:
    """The channels ``--channel`` names, checked as ``Room.channel`` checks them; the
    chat is shown anyway."""
    from meshchat.mesh.channel import check_application_channel
    from meshchat.mesh.link.payloads import CHAT_CHANNEL

    for name in names:
        try:
            check_application_channel(name)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--channel") from None
        if name == CHAT_CHANNEL:
            raise click.BadParameter(f"{name!r} is the chat itself", param_hint="--channel")
    return tuple(dict.fromkeys(names))


def _in_a_terminal() -> bool:
    """Both ends a terminal that can draw the app (not TERM=dumb, as in Emacs' shell)."""
    return sys.stdin.isatty() and sys.stdout.isatty() and os.environ.get("TERM", "dumb") != "dumb"


def default_downloads() -> Path:
    """``meshchat`` in the user's downloads folder (XDG's, or ~/Downloads), else in
    their home."""
    home = Path.home()
    downloads = Path(os.environ.get("XDG_DOWNLOAD_DIR") or home / "Downloads")
    return (downloads if downloads.is_dir() else home) / "meshchat"


def _broker_token(path: Path | None) -> str | None:
    """The broker's access token from a file (first line), or else from
    ``MESHCHAT_BROKER_TOKEN``."""
    if path is not None:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise click.BadParameter(f"cannot read token file {path}: {error}") from None
        if not lines or not lines[0].strip():
            raise click.BadParameter(f"token file {path} is empty")
        return lines[0].strip()
    return os.environ.get("MESHCHAT_BROKER_TOKEN") or None


def _mqtt(
    kind: str, url: str | None, username: str | None, password_file: Path | None, prefix: str
) -> MqttSettings | None:
    """The MQTT broker's settings, checked; None unless the transport is MQTT."""
    from .join_options import mqtt_settings

    if kind != "mqtt":
        return None
    if url is None:
        raise click.UsageError("--transport mqtt needs --mqtt-url (or MESHCHAT_MQTT_URL)")
    if not installed("mqtt"):
        raise click.ClickException(needs("mqtt", "--transport mqtt"))
    try:
        return mqtt_settings(url, username, password_file, prefix)
    except ValueError as error:
        raise click.ClickException(str(error)) from None


def _warn_if_on_command_line(ctx: click.Context, parameter: str, what: str) -> None:
    if ctx.get_parameter_source(parameter) is click.core.ParameterSource.COMMANDLINE:
        click.echo(
            f"warning: {what} is visible to other users of this machine (ps); "
            "prefer MESHCHAT_BROKER_TOKEN or a token file",
            err=True,
        )


main.add_command(identity)


@main.command()
@click.option(
    "--broker",
    "broker_url",
    envvar="MESHCHAT_BROKER",
    default=DEFAULT_BROKER_URL,
    show_default=True,
    metavar="URL",
    help="The broker to check (env MESHCHAT_BROKER).",
)
@click.option(
    "--ice-server",
    "ice_servers",
    cls=ListOption,
    envvar="MESHCHAT_ICE_SERVERS",
    metavar="URL",
    help="STUN/TURN server to check (repeatable; env MESHCHAT_ICE_SERVERS, a list). "
    "Default: the ones the broker offers.",
)
@click.option(
    "--ice-username", envvar="MESHCHAT_ICE_USERNAME", metavar="NAME", help="TURN username."
)
@click.option(
    "--ice-credential", envvar="MESHCHAT_ICE_CREDENTIAL", metavar="SECRET", help="TURN credential."
)
@click.option(
    "--broker-token-file",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="MESHCHAT_BROKER_TOKEN_FILE",
    help="File holding the broker's access token (or set MESHCHAT_BROKER_TOKEN).",
)
@click.option(
    "--transport",
    "transport_kind",
    type=click.Choice(("broker", "mqtt")),
    default="broker",
    show_default=True,
    # Not MESHCHAT_TRANSPORT: set to "ably" for join, it would make doctor refuse to run.
    help="Check a meshchat broker, or an MQTT broker (--mqtt-url).",
)
@mqtt_options
def doctor(
    broker_url: str,
    ice_servers: tuple[str, ...],
    ice_username: str | None,
    ice_credential: str | None,
    broker_token_file: Path | None,
    transport_kind: str,
    mqtt_url: str | None,
    mqtt_username: str | None,
    mqtt_password_file: Path | None,
    mqtt_prefix: str,
) -> None:
    """Check from here that the broker, STUN and TURN work, and say what that means."""
    from meshchat.mesh import IceConfig

    from .doctor import diagnose

    try:
        ice = IceConfig.from_options(ice_servers, ice_username, ice_credential)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    token = _broker_token(broker_token_file)
    mqtt = _mqtt(transport_kind, mqtt_url, mqtt_username, mqtt_password_file, mqtt_prefix)
    findings = asyncio.run(diagnose(broker_url, ice.servers, token, mqtt=mqtt))
    for finding in findings:
        click.echo(("ok    " if finding.ok else "FAIL  ") + finding.text)
    if not all(finding.ok for finding in findings):
        raise SystemExit(1)


@main.command()
@click.option(
    "--host",
    default=DEFAULT_HOST,
    show_default=True,
    envvar="MESHCHAT_BROKER_HOST",
    help="Address to listen on (0.0.0.0 for every interface).",
)
@click.option(
    "--port",
    default=DEFAULT_PORT,
    show_default=True,
    type=click.IntRange(0, 65535),
    envvar="MESHCHAT_BROKER_PORT",
    help="TCP port (0 picks a free one).",
)
@click.option(
    "--max-frame-bytes",
    default=DEFAULT_LIMITS.max_frame_bytes,
    show_default=True,
    type=click.IntRange(1024),
    help="Largest frame accepted; bigger earns an error.",
)
@click.option(
    "--max-topics",
    default=DEFAULT_LIMITS.max_topics_per_connection,
    show_default=True,
    type=click.IntRange(1),
    help="Topics one connection may subscribe to.",
)
@click.option(
    "--max-publish-rate",
    default=DEFAULT_LIMITS.publish_rate,
    show_default=True,
    type=click.FloatRange(min=0.1),
    help="Publishes per second one connection may make (bursts of twice that).",
)
@click.option(
    "--max-frame-rate",
    default=DEFAULT_LIMITS.frame_rate,
    show_default=True,
    type=click.FloatRange(min=1.0),
    help="Frames of any kind per second one connection may send (bursts of twice that); "
    "past it the connection is read more slowly.",
)
@click.option(
    "--max-connections-per-ip",
    default=DEFAULT_LIMITS.max_connections_per_ip,
    show_default=True,
    type=click.IntRange(1),
    help="Open connections from one address (an IPv6 /64 counts as one).",
)
@click.option(
    "--max-subscriptions-per-ip",
    default=DEFAULT_LIMITS.max_subscriptions_per_ip,
    show_default=True,
    type=click.IntRange(1),
    help="Topic subscriptions held by all connections from one address together.",
)
@click.option(
    "--max-subscriptions",
    default=DEFAULT_LIMITS.max_subscriptions,
    show_default=True,
    type=click.IntRange(1),
    help="Topic subscriptions held in all (about 1 KiB of memory each).",
)
@click.option(
    "--max-connections",
    default=DEFAULT_LIMITS.max_connections,
    show_default=True,
    type=click.IntRange(1),
    help="Open connections in all.",
)
@click.option(
    "--max-buffer-bytes",
    default=DEFAULT_LIMITS.max_write_buffer_bytes,
    show_default=True,
    type=click.IntRange(1024),
    help="Unsent data one subscriber may have queued before it is dropped as too slow.",
)
@click.option(
    "--ping-interval",
    default=DEFAULT_LIMITS.ping_interval,
    show_default=True,
    type=click.FloatRange(min=0.1),
    help="Seconds between pings; a connection silent for two intervals is closed.",
)
@click.option(
    "--redis",
    "redis_url",
    envvar="MESHCHAT_BROKER_REDIS",
    metavar="URL",
    help="Share topics with other brokers through this Redis (redis://host:6379/0; env "
    "MESHCHAT_BROKER_REDIS), so clients on different brokers form one mesh.",
)
@click.option(
    "--ice-server",
    "ice_servers",
    cls=ListOption,
    envvar="MESHCHAT_BROKER_ICE_SERVERS",
    metavar="URL",
    help="STUN/TURN server to hand every client (repeatable; env MESHCHAT_BROKER_ICE_SERVERS, "
    "a list). TURN ones need --turn-secret.",
)
@click.option(
    "--turn-secret",
    envvar="MESHCHAT_TURN_SECRET",
    metavar="SECRET",
    help="coturn's --static-auth-secret (env MESHCHAT_TURN_SECRET): clients get short-lived "
    "TURN credentials made from it, never the secret.",
)
@click.option(
    "--turn-ttl",
    default=12 * 3600,
    show_default=True,
    type=click.IntRange(60),
    help="Seconds the TURN credentials handed out stay valid.",
)
@click.option(
    "--trust-proxy",
    is_flag=True,
    envvar="MESHCHAT_BROKER_TRUST_PROXY",
    help="Behind a reverse proxy: take each client's address from X-Forwarded-For "
    "(env MESHCHAT_BROKER_TRUST_PROXY=1). Only when clients cannot reach the broker directly.",
)
@click.option(
    "--token",
    envvar="MESHCHAT_BROKER_TOKEN",
    metavar="SECRET",
    help="Only clients that present this token may connect (env MESHCHAT_BROKER_TOKEN, "
    "which, unlike this option, ps does not show); clients set the same variable.",
)
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="MESHCHAT_BROKER_TOKEN_FILE",
    help="File holding the access token (env MESHCHAT_BROKER_TOKEN_FILE).",
)
@click.option(
    "--metrics-token",
    envvar="MESHCHAT_METRICS_TOKEN",
    metavar="SECRET",
    help="Bearer token /metrics asks for (env MESHCHAT_METRICS_TOKEN). Default: the access "
    "token if there is one, else /metrics is open.",
)
@click.option(
    "--allow-origin",
    "allowed_origins",
    cls=ListOption,
    envvar="MESHCHAT_BROKER_ALLOW_ORIGINS",
    metavar="ORIGIN",
    help="Web origin (https://app.example) whose pages may use this broker, besides the "
    "page it serves itself; repeatable, '*' for any (env MESHCHAT_BROKER_ALLOW_ORIGINS, a "
    "list).",
)
@click.option(
    "--allow-host",
    "allowed_hosts",
    cls=ListOption,
    envvar="MESHCHAT_BROKER_ALLOW_HOSTS",
    metavar="NAME",
    help="A name (Host header) this broker answers to besides loopback names and "
    "addresses; repeatable (env MESHCHAT_BROKER_ALLOW_HOSTS, a list). On loopback, no "
    "other name is answered (pages that rebind their name to 127.0.0.1 get 421); "
    "elsewhere, once any is given, only those.",
)
def broker(
    host: str,
    port: int,
    max_frame_bytes: int,
    max_topics: int,
    max_publish_rate: float,
    max_frame_rate: float,
    max_connections_per_ip: int,
    max_subscriptions_per_ip: int,
    max_subscriptions: int,
    max_connections: int,
    max_buffer_bytes: int,
    ping_interval: float,
    redis_url: str | None,
    ice_servers: tuple[str, ...],
    turn_secret: str | None,
    turn_ttl: int,
    trust_proxy: bool,
    token: str | None,
    token_file: Path | None,
    metrics_token: str | None,
    allowed_origins: tuple[str, ...],
    allowed_hosts: tuple[str, ...],
) -> None:
    """Run the signalling broker (pub/sub over websockets, y-webrtc compatible).

    GET /healthz answers with a JSON status. Limits and their error frames are listed
    in docs/protocol.md.
    """
    if redis_url and not installed("redis"):
        raise click.UsageError(needs("redis", "--redis"))
    limits = Limits(
        max_frame_bytes=max_frame_bytes,
        max_frame_bytes_hard=max(max_frame_bytes, DEFAULT_LIMITS.max_frame_bytes_hard),
        max_topics_per_connection=max_topics,
        publish_rate=max_publish_rate,
        publish_burst=2 * max_publish_rate,
        frame_rate=max_frame_rate,
        frame_burst=2 * max_frame_rate,
        max_connections_per_ip=max_connections_per_ip,
        max_subscriptions_per_ip=max_subscriptions_per_ip,
        max_subscriptions=max_subscriptions,
        max_connections=max_connections,
        max_write_buffer_bytes=max_buffer_bytes,
        ping_interval=ping_interval,
    )
    try:
        check_ice_urls(ice_servers)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    from meshchat.broker.ice import IceServerOffer

    ice = IceServerOffer(tuple(ice_servers), turn_secret or None, turn_ttl)
    ctx = click.get_current_context()
    if token:
        _warn_if_on_command_line(ctx, "token", "--token")
    if token_file is not None:
        token = _broker_token(token_file)
    with contextlib.suppress(KeyboardInterrupt):
        # An empty value (as compose passes an unset variable) means "not set".
        asyncio.run(
            _run_broker(
                host,
                port,
                limits,
                redis_url or None,
                ice,
                access_token=token or None,
                trust_proxy=trust_proxy,
                metrics_token=metrics_token or None,
                allowed_origins=allowed_origins,
                allowed_hosts=allowed_hosts,
            )
        )


async def _run_broker(
    host: str,
    port: int,
    limits: Limits,
    redis_url: str | None,
    ice: IceServerOffer,
    **options: Any,
) -> None:
    from meshchat.broker import serve
    from meshchat.broker.errors import BackplaneError

    try:
        broker, server = await serve(host, port, limits, redis_url=redis_url, ice=ice, **options)
    except OSError as error:
        raise click.ClickException(f"cannot listen on {host}:{port}: {error.strerror}") from None
    except BackplaneError as error:
        raise click.ClickException(str(error)) from None
    # SIGTERM (docker stop, systemd) and Ctrl-C end it cleanly: every client is told
    # "going away" (1001) and reconnects elsewhere at once, instead of finding out.
    # Installed before the line below, which is what scripts wait for to stop it.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    for sock in server.sockets:
        address = sock.getsockname()
        # Tests and scripts read this line to learn the port when --port 0 is used.
        click.echo(f"meshchat broker listening on ws://{address[0]}:{address[1]}", err=True)
    await stop.wait()
    click.echo("meshchat broker stopping: closing every connection", err=True)
    server.close()
    await server.wait_closed()
    if broker.backplane is not None:
        await broker.backplane.stop()
