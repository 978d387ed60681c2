# -*- test-case-name: tests.test_api -*-
"""
The backend HTTP API (DESIGN.md section 7): JSON over HTTP under C{/api/},
on the same listener as the WebSocket endpoint (loopback by default).

For tests and backends: list rooms, their occupants (with resolved caps and
interests), MEP nodes and items; publish a room event (XEP-0316, DESIGN.md
section 6, MEP OQ-8); reset all state (memory storage only). See
L{mepserver.api.resource.APIResource} for the endpoints.
"""

from mepserver.api.resource import APIResource

__all__ = ["APIResource"]
