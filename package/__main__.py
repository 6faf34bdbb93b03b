"""``python -m meshchat`` is the ``meshchat`` command."""

from meshchat.cli.main import main

main()
