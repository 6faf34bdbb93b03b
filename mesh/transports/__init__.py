"""Signalling transports: one pub/sub interface (``base.py``) and its implementations,
the bundled broker's websocket protocol, Ably, and an in-process hub for tests."""
