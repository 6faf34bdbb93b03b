"""The WebRTC engine behind ``engine.py``'s seam: aiortc (``aiortc_engine.py``), its ICE
settings (``ice.py``, importable without aiortc) and delayed SCTP acknowledgements
(``sctp_sack.py``)."""
