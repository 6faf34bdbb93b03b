"""meshchat: anonymous full-mesh WebRTC group chat.

The subpackages map the repository's top-level folders: ``meshchat.wire`` (``wire/``),
``meshchat.mesh`` (``mesh/``), ``meshchat.broker`` (``broker/``) and ``meshchat.cli``
(``cli/``); this package's own files are in ``package/``.
"""

import logging

__version__ = "0.1.0"

# A library leaves its log's output to the application: without this, Python prints
# meshchat's warnings to stderr when the application configured no logging.
logging.getLogger(__name__).addHandler(logging.NullHandler())
