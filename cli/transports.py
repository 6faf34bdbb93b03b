"""Choosing and building the signalling transport from options and environment."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

from meshchat.mesh import Transport, WebSocketTransport

from .defaults import TRANSPORTS
from .join_options import MqttSettings

if TYPE_CHECKING:
    from meshchat.mesh.transports.ably import AblyConfig

# The Ably SDK (and the HTTP client under it) loads only for a room that uses Ably.

__all__ = ["TRANSPORTS", "ably_config", "make_transport"]


def ably_config(endpoint: str | None, environ: Mapping[str, str] = os.environ) -> AblyConfig:
    """Credentials come from the environment only, so they never show in ``ps``.

    ``endpoint`` is Ably's endpoint option, optionally as ``ws://host:port`` (plain, for a
    local test endpoint) or ``wss://host:port``.
    """
    from meshchat.mesh.transports.ably import AblyConfig

    tls = True
    if endpoint is not None:
        scheme, sep, rest = endpoint.partition("://")
        if sep:
            if scheme not in ("ws", "wss"):
                raise ValueError(f"invalid Ably endpoint {endpoint!r}: use host, ws:// or wss://")
            endpoint, tls = rest.rstrip("/"), scheme == "wss"
    return AblyConfig(
        key=environ.get("ABLY_API_KEY") or None,
        token=environ.get("ABLY_TOKEN") or None,
        auth_url=environ.get("ABLY_AUTH_URL") or None,
        endpoint=endpoint,
        tls=tls,
    )


def make_transport(
    kind: str,
    broker_url: str,
    ably_endpoint: str | None,
    broker_token: str | None = None,
    on_retry: Callable[[str], None] | None = None,
    locate: Callable[[], Awaitable[str]] | None = None,
    mqtt: MqttSettings | None = None,
) -> tuple[Transport, str]:
    """The transport, and where it goes, in words for the user (never with a token).
    ``on_retry`` hears once that a broker which does not answer is being tried again;
    ``locate()`` names the broker afresh before each connection (the embedded one)."""
    if kind == "ably":
        from meshchat.mesh.transports.ably import AblyTransport

        config = ably_config(ably_endpoint)
        return AblyTransport(config), f"Ably ({config.endpoint or 'main endpoint'})"
    if kind == "mqtt":
        from meshchat.mesh.transports.mqtt import MqttTransport

        if mqtt is None:
            raise ValueError("--transport mqtt needs --mqtt-url (or MESHCHAT_MQTT_URL)")
        mqtt_transport = MqttTransport(
            mqtt.url, username=mqtt.username, password=mqtt.password, prefix=mqtt.prefix
        )
        return mqtt_transport, f"MQTT broker {mqtt_transport.url}"
    transport = WebSocketTransport(broker_url, token=broker_token, on_retry=on_retry, locate=locate)
    return transport, transport.url
