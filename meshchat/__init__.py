"""meshchat: anonymous full-mesh WebRTC group chat.

The subpackages map the repository's top-level folders: ``meshchat.mesh``
(``mesh/``), ``meshchat.broker`` (``broker/``) and ``meshchat.cli`` (``cli/``).
"""

__version__ = "0.1.0"
