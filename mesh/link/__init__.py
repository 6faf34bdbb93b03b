"""One data channel's data plane, sans-I/O: what is said on a link to one peer.

``dataplane.py`` decides it (chat, channel payloads, acks, resends, heartbeats, reports);
``chat_frames.py`` and ``payloads.py`` are its frames; ``in_flight.py`` cuts payloads
into frames and puts them back together; ``delivery.py`` tracks acks; ``liveness.py``
and ``round_trip.py`` read the heartbeats; ``actions.py`` holds what more than one
per-link core returns.
"""
