"""The optional config file: defaults for command options, in TOML.

    # ~/.config/meshchat/config.toml (or the file named by --config / MESHCHAT_CONFIG)
    [join]
    nick = "ana"
    transport = "ably"
    ice_servers = ["stun:stun.example.org:3478"]

    [broker]
    host = "0.0.0.0"

Command-line options win over environment variables, which win over this file.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

# Friendly file keys -> click parameter names, per command.
KEYS: dict[str, dict[str, str]] = {
    "join": {
        "nick": "nick",
        "identity": "identity_name",
        "passphrase_file": "passphrase_file",
        "transport": "transport_kind",
        "broker": "broker_url",
        "ably_endpoint": "ably_endpoint",
        "mqtt_url": "mqtt_url",
        "mqtt_username": "mqtt_username",
        "mqtt_password_file": "mqtt_password_file",
        "mqtt_prefix": "mqtt_prefix",
        "ice_servers": "ice_servers",
        "ice_username": "ice_username",
        "ice_credential": "ice_credential",
        "host_addresses": "host_addresses",
        "engine": "engine",
        "secret": "secret",
        "broker_token_file": "broker_token_file",
    },
    "broker": {
        "host": "host",
        "port": "port",
        "max_frame_bytes": "max_frame_bytes",
        "max_topics": "max_topics",
        "max_publish_rate": "max_publish_rate",
        "max_frame_rate": "max_frame_rate",
        "max_connections_per_ip": "max_connections_per_ip",
        "max_subscriptions_per_ip": "max_subscriptions_per_ip",
        "max_subscriptions": "max_subscriptions",
        "max_connections": "max_connections",
        "max_buffer_bytes": "max_buffer_bytes",
        "ping_interval": "ping_interval",
        "token": "token",
        "token_file": "token_file",
        "metrics_token": "metrics_token",
        "allowed_origins": "allowed_origins",
        "allowed_hosts": "allowed_hosts",
        "redis": "redis_url",
        "trust_proxy": "trust_proxy",
        "ice_servers": "ice_servers",
        "turn_secret": "turn_secret",
        "turn_ttl": "turn_ttl",
    },
}


class ConfigError(ValueError):
    pass


def default_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "meshchat" / "config.toml"


def load_defaults(path: Path) -> dict[str, dict[str, Any]]:
    """Click ``default_map`` from the file at ``path``."""
    try:
        document = tomllib.loads(path.read_bytes().decode("utf-8"))
    except OSError as error:
        raise ConfigError(f"cannot read config file {path}: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"config file {path} is not UTF-8 text (byte {error.object[error.start]:#04x} "
            f"at offset {error.start}); TOML files must be UTF-8"
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"config file {path} is not valid TOML: {error}") from None
    defaults: dict[str, dict[str, Any]] = {}
    for section, values in document.items():
        known = KEYS.get(section)
        if known is None or not isinstance(values, dict):
            raise ConfigError(f"config file {path}: unknown section [{section}]")
        for key in values:
            if key not in known:
                choices = ", ".join(sorted(known))
                raise ConfigError(
                    f"config file {path}: unknown key {key!r} in [{section}] (known: {choices})"
                )
        defaults[section] = {known[key]: value for key, value in values.items()}
    return defaults
