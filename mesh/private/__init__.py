"""What is meant for chosen members only, sealed to their keys end to end (``seal.py``):
private chat lines (``link/private_lines.py``) and payloads relayed to chosen members.
"""
