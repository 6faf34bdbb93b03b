"""The partial mesh, sans-I/O: a room bigger than a full mesh.

``membership.py`` (the overlay) knows who is in the room and picks the few members to
link to; ``gossip.py`` relays author-signed envelopes along links, in each author's
order, repaired by IHAVE/IWANT; ``relayed.py`` reads their bodies, ``relayed_parts.py``
reassembles payloads relayed in parts, ``relayed_receipts.py`` confirms addressed ones.
On the wire and in hellos the same mode is called a "crowd".
"""
