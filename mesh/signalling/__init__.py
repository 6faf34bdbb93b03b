"""Signalling: the hello / offer / answer / candidate protocol over pub/sub, sans-I/O.

``protocol.py`` is the state machine (who calls whom, glare, early candidates, offers
sent again, strangers probed); ``messages.py`` the wire format; ``codec.py`` signs and
seals what is published (``sealing.py``: the room secret); ``admission.py`` and
``candidates.py`` bound what strangers can make us do.
"""
