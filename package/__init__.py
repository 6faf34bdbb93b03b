"""meshchat: anonymous full-mesh WebRTC group chat.

The subpackages map the repository's top-level folders: ``meshchat.wire`` (``wire/``),
``meshchat.mesh`` (``mesh/``), ``meshchat.broker`` (``broker/``) and ``meshchat.cli``
(``cli/``); this package's own files are in ``package/``.
"""

__version__ = "0.1.0"
