"""
Message Archive Management (XEP-0313).

L{mepserver.mam.query} is the protocol of any archive (queries, results,
metadata) with no knowledge of whose archive it is; the account archive
and the room archive build on it.
"""
