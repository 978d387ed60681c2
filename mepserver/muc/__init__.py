"""
The Multi-User Chat service (XEP-0045): the room model, its options and
the protocol handler.
"""
