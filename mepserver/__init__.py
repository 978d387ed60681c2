"""
mepserver: a standalone XMPP server with client-to-server, a XEP-0045
Multi-User Chat service and the MUC Eventing Protocol (XEP-0316).
"""
from mepserver import _compat

# First of all, before anything imports wokkel.
_compat.apply()

__version__ = "0.1.0.dev0"
