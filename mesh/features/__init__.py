"""What the room offers on top of channels: history for late joiners and files.

``history.py`` keeps recent lines and answers for them; ``file_protocol.py`` is the
file protocol as pure bookkeeping, ``file_transfer.py`` the disk and the waiting around
it, ``filenames.py`` makes a stranger's file name safe to create.
"""
