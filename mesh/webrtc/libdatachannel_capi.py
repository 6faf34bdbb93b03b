"""libdatachannel's C API (``rtc/rtc.h``), through ctypes.

The library is the one the ``aiolibdatachannel`` wheel bundles (pinned exactly by the
``fast`` extra; its own Python layer is not used). Why ctypes and not a binding's Python
objects (docs/engines.md): ctypes lets go of the GIL for every call. libdatachannel calls
back from its own threads, sometimes holding one of its locks; a binding that keeps the
GIL while it waits for such a lock deadlocks against a callback waiting for the GIL (we
saw it, within seconds, in a room of four processes). Here the loop never holds the GIL
while it waits inside the library, so a callback always gets it.

Only what the engine uses is declared. The configuration struct's layout is
libdatachannel's from 0.22 through 0.24; ``tests/integration/test_engines.py`` checks
that what it sets takes effect (bind address, message size, no auto-negotiation). What
the SCTP settings change (delayed acknowledgements) shows in the datagrams that
``bench.mesh`` counts.
"""

from __future__ import annotations

import ctypes
import importlib.util
import logging
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from meshchat.mesh.webrtc.ice import IceServer, parse_ice_url

log = logging.getLogger(__name__)

# Return codes (rtc.h): anything >= 0 is success (an id or a size).
ERR_INVALID = -1
ERR_FAILURE = -2
ERR_NOT_AVAIL = -3
ERR_TOO_SMALL = -4

# rtcState, rtcGatheringState
STATE_NAMES = ("new", "connecting", "connected", "disconnected", "failed", "closed")
STATE_CLOSED = 5
GATHERING_COMPLETE = 2
LOG_WARNING = 3

_int, _ptr, _text = ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p


class Configuration(ctypes.Structure):
    """``rtcConfiguration``."""

    _fields_ = [
        ("iceServers", ctypes.POINTER(ctypes.c_char_p)),
        ("iceServersCount", _int),
        ("proxyServer", _text),
        ("bindAddress", _text),
        ("certificateType", _int),
        ("iceTransportPolicy", _int),
        ("enableIceTcp", ctypes.c_bool),
        ("enableIceUdpMux", ctypes.c_bool),
        ("disableAutoNegotiation", ctypes.c_bool),
        ("forceMediaTransport", ctypes.c_bool),
        ("portRangeBegin", ctypes.c_uint16),
        ("portRangeEnd", ctypes.c_uint16),
        ("mtu", _int),
        ("maxMessageSize", _int),
    ]


class SctpSettings(ctypes.Structure):
    """``rtcSctpSettings``: process-wide, for peer connections made after it is set.
    Zero keeps the library's default."""

    _fields_ = [
        (name, _int)
        for name in (
            "recvBufferSize",
            "sendBufferSize",
            "maxChunksOnQueue",
            "initialCongestionWindow",
            "maxBurst",
            "congestionControlModule",
            "delayedSackTimeMs",
            "minRetransmitTimeoutMs",
            "maxRetransmitTimeoutMs",
            "initialRetransmitTimeoutMs",
            "maxRetransmitAttempts",
            "heartbeatIntervalMs",
        )
    ]


# Callback types: (id, ..., user pointer). ctypes takes the GIL to run them.
StateCallback = ctypes.CFUNCTYPE(None, _int, _int, _ptr)  # pc, state
DataChannelCallback = ctypes.CFUNCTYPE(None, _int, _int, _ptr)  # pc, dc
ChannelCallback = ctypes.CFUNCTYPE(None, _int, _ptr)  # dc: open, closed, available, low
ErrorCallback = ctypes.CFUNCTYPE(None, _int, _text, _ptr)  # dc, message
LogCallback = ctypes.CFUNCTYPE(None, _int, _text)  # level, message

_SIGNATURES: dict[str, tuple[type | None, list[type]]] = {
    "rtcInitLogger": (None, [_int, LogCallback]),
    "rtcCleanup": (None, []),
    "rtcSetSctpSettings": (_int, [ctypes.POINTER(SctpSettings)]),
    "rtcCreatePeerConnection": (_int, [ctypes.POINTER(Configuration)]),
    "rtcClosePeerConnection": (_int, [_int]),
    "rtcDeletePeerConnection": (_int, [_int]),
    "rtcSetStateChangeCallback": (_int, [_int, StateCallback]),
    "rtcSetGatheringStateChangeCallback": (_int, [_int, StateCallback]),
    "rtcSetDataChannelCallback": (_int, [_int, DataChannelCallback]),
    "rtcSetLocalDescription": (_int, [_int, _text]),
    "rtcSetRemoteDescription": (_int, [_int, _text, _text]),
    "rtcAddRemoteCandidate": (_int, [_int, _text, _text]),
    "rtcGetLocalDescription": (_int, [_int, _ptr, _int]),
    "rtcGetLocalDescriptionType": (_int, [_int, _ptr, _int]),
    "rtcGetRemoteDescription": (_int, [_int, _ptr, _int]),
    "rtcGetRemoteDescriptionType": (_int, [_int, _ptr, _int]),
    "rtcGetSelectedCandidatePair": (_int, [_int, _ptr, _int, _ptr, _int]),
    "rtcCreateDataChannel": (_int, [_int, _text]),
    "rtcDeleteDataChannel": (_int, [_int]),
    "rtcGetDataChannelLabel": (_int, [_int, _ptr, _int]),
    "rtcSetOpenCallback": (_int, [_int, ChannelCallback]),
    "rtcSetClosedCallback": (_int, [_int, ChannelCallback]),
    "rtcSetErrorCallback": (_int, [_int, ErrorCallback]),
    "rtcSetAvailableCallback": (_int, [_int, ChannelCallback]),
    "rtcSetBufferedAmountLowCallback": (_int, [_int, ChannelCallback]),
    "rtcSetBufferedAmountLowThreshold": (_int, [_int, _int]),
    "rtcGetBufferedAmount": (_int, [_int]),
    "rtcIsOpen": (ctypes.c_bool, [_int]),
    "rtcSendMessage": (_int, [_int, _text, _int]),
    "rtcReceiveMessage": (_int, [_int, _ptr, ctypes.POINTER(_int)]),
    "rtcClose": (_int, [_int]),
}


def library_path() -> Path:
    """The bundled library's file; ImportError (named ``aiolibdatachannel``) if the
    wheel is not installed."""
    spec = importlib.util.find_spec("aiolibdatachannel")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("aiolibdatachannel is not installed", name="aiolibdatachannel")
    folder = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(folder.glob("_native*.so"))
    if not found:
        raise ImportError("aiolibdatachannel has no native library", name="aiolibdatachannel")
    return found[0]


def load() -> ctypes.CDLL:
    """The library, its functions typed; ImportError if it or one of them is missing."""
    library = ctypes.CDLL(str(library_path()))
    for name, (restype, argtypes) in _SIGNATURES.items():
        try:
            function = getattr(library, name)
        except AttributeError:
            raise ImportError(
                f"the bundled libdatachannel has no {name}", name="aiolibdatachannel"
            ) from None
        function.restype = restype
        function.argtypes = argtypes
    return library


def read_text(getter: Callable[..., int], native_id: int) -> str | None:
    """What a ``rtcGet...(id, buffer, size)`` function gives, or None if nothing."""
    size = getter(native_id, None, 0)  # with no buffer: the size it needs
    if size <= 0:
        return None
    buffer = ctypes.create_string_buffer(size)
    if getter(native_id, buffer, size) < 0:
        return None
    return buffer.value.decode("utf-8", errors="replace")


def ice_server_urls(server: IceServer) -> list[str]:
    """libdatachannel's form of one configured server: a URL each, with the TURN
    credentials in it (percent-encoded)."""
    urls = []
    for url in server.urls:
        try:
            parts = parse_ice_url(url)
        except ValueError as error:  # what aiortc takes and we cannot read: said, skipped
            log.warning("%s: not used", error)
            continue
        if parts.secure and not parts.turn:
            log.warning("libdatachannel has no STUN over TLS: %s is not used", url)
            continue
        host = f"[{parts.host}]" if ":" in parts.host else parts.host
        scheme = ("turns" if parts.secure else "turn") if parts.turn else "stun"
        credentials = ""
        if parts.turn:
            credentials = f"{quote(server.username or '', safe='')}:"
            credentials += f"{quote(server.credential or '', safe='')}@"
        query = (
            "?transport=tcp" if parts.turn and not parts.secure and parts.transport == "tcp" else ""
        )
        urls.append(f"{scheme}:{credentials}{host}:{parts.port}{query}")
    return urls
