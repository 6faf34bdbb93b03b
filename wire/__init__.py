"""The wire layer: what the broker and the clients must agree on, with no I/O.

Topic names, the ownership proof, canonical JSON and the parsing of untrusted JSON,
ICE server URLs and the header that offers them, the token bucket, and two logging
helpers both sides use. ``broker/`` imports this and websockets/redis only; ``mesh/``
imports it too; nothing here imports aiortc, ably or anything that does I/O.
"""
