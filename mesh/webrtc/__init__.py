"""The WebRTC engines behind ``engine.py``'s seam, chosen by name in ``engines.py``:
aiortc (``aiortc_engine.py``, with delayed SCTP acknowledgements in ``sctp_sack.py``) and
libdatachannel (``libdatachannel_engine.py``); their ICE settings in ``ice.py``
(importable without either)."""
