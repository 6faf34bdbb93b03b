"""What the command line shows in its help before anything is loaded: defaults and
choices. Kept apart from the modules that use them, so that ``meshchat --help`` imports
click and nothing heavy (aiortc, ably, the broker's server)."""

from __future__ import annotations

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_BROKER_URL = f"ws://{DEFAULT_HOST}:{DEFAULT_PORT}"
TRANSPORTS = ("broker", "ably", "mqtt")
DEFAULT_MQTT_PREFIX = "meshchat/"
DEFAULT_MAX_FILE_SIZE = "4G"
