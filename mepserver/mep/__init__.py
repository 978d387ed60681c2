"""
The MUC Eventing Protocol (XEP-0316): every room JID and occupant JID of
the MUC service is a virtual pubsub service on the shared engine
(L{mepserver.pubsub}).
"""
