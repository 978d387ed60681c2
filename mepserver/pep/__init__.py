"""
Personal Eventing (XEP-0163) for the client domain's accounts: every
account's bare JID is a virtual pubsub service (section 3.1) on the shared
engine (L{mepserver.pubsub}).

  - L{mepserver.pep.model}: whose service it is, who may publish and who
    has access and interest, in plain Python;
  - L{mepserver.pep.resource}: L{mepserver.pep.resource.PEPResource}
    locates the account a request is for;
  - L{mepserver.pep.handler}: L{mepserver.pep.handler.PEPHandler}, the
    protocol handler that follows presence and rosters.
"""
