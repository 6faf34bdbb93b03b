"""Signalling messages as they go over pub/sub: serialised, signed, optionally sealed.

``signalling/messages.py`` knows the fields; this adds who vouches for them. Signing covers the
canonical JSON of the whole message (keys sorted, no spaces, UTF-8), so every field,
``room`` and ``to`` included, is bound to the sender's key. That includes ``xk``, the
X25519 key private messages are sealed to (``private/seal.py``): the codec remembers
each sender's, once its signature checks out.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from meshchat.mesh.identity import Identity
from meshchat.mesh.private.seal import public_key_bytes
from meshchat.mesh.signalling.messages import (
    PROTOCOL_VERSION,
    ProtocolError,
    SignalMessage,
    decode,
    encode,
)
from meshchat.mesh.signalling.sealing import RoomSeal, WrongSecret
from meshchat.wire.canonical import canonical, loads_untrusted
from meshchat.wire.keys import BadSignature, verify

# Senders whose X25519 key is remembered: a partial mesh's members and then some.
MAX_SEAL_KEYS = 4096


class SignalCodec:
    def __init__(self, room: str, identity: Identity, seal: RoomSeal | None = None) -> None:
        self.room = room
        self.identity = identity
        self.seal = seal
        self._seal_keys: OrderedDict[str, bytes] = OrderedDict()  # sender -> its X25519 key

    def seal_key_of(self, peer_id: str) -> bytes | None:
        """The X25519 key ``peer_id`` announced in a message it signed, if one came."""
        return self._seal_keys.get(peer_id)

    @property
    def topic_room(self) -> str:
        """The room as it appears in topic names: hidden behind a tag when sealed."""
        return self.seal.topic_tag if self.seal is not None else self.room

    def encode(self, message: SignalMessage) -> dict[str, Any]:
        wire = encode(message, self.room)
        wire["pk"] = self.identity.public_key_b64
        wire["xk"] = self.identity.seal_key.public_key_b64
        wire["sig"] = self.identity.sign(canonical(wire))
        if self.seal is None:
            return wire
        return {"v": PROTOCOL_VERSION, "sealed": self.seal.seal(canonical(wire))}

    def decode(self, data: object) -> SignalMessage:
        """Open, check and verify; raise :class:`ProtocolError` for anything wrong."""
        return self.decode_with_key(data)[0]

    def decode_with_key(self, data: object) -> tuple[SignalMessage, str]:
        """As :meth:`decode`, with the sender's public key (base64url), now verified."""
        wire = self._open(data) if self.seal is not None else data
        message = decode(wire, room=self.room)
        assert isinstance(wire, dict)  # decode() checked it
        public_key, signature = wire.get("pk"), wire.get("sig")
        if not isinstance(public_key, str) or not isinstance(signature, str):
            raise ProtocolError("unsigned message")
        signed = {k: v for k, v in wire.items() if k != "sig"}
        try:
            verify(message.sender, public_key, signature, canonical(signed))
        except BadSignature as error:
            raise ProtocolError(f"forged or altered message: {error}") from None
        if "xk" in wire:  # older clients announce none: they get no private messages
            try:
                seal_key = public_key_bytes(wire["xk"])
            except ValueError as error:
                raise ProtocolError(f"field 'xk': {error}") from None
            self._remember_seal_key(message.sender, seal_key)
        return message, public_key

    def _remember_seal_key(self, sender: str, key: bytes) -> None:
        self._seal_keys[sender] = key
        self._seal_keys.move_to_end(sender)
        if len(self._seal_keys) > MAX_SEAL_KEYS:
            self._seal_keys.popitem(last=False)

    def _open(self, data: object) -> object:
        assert self.seal is not None
        if not isinstance(data, dict) or not isinstance(data.get("sealed"), str):
            raise ProtocolError("unsealed message in a room with a secret")
        try:
            opened = loads_untrusted(self.seal.open(data["sealed"]))
        except WrongSecret as error:
            raise ProtocolError(str(error)) from None
        except ValueError:
            raise ProtocolError("sealed message does not hold JSON") from None
        return opened
