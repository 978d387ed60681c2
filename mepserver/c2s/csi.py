# -*- test-case-name: tests.test_stream -*-
"""
XEP-0352 Client State Indication: the stream feature, and the C{<active/>}
and C{<inactive/>} nonzas a bound client sends.

A client that says it is inactive (a phone with its screen off) tells the
server it may hold back what is not urgent. XEP-0352 section 5 leaves what
to hold back to the server ("may"): mepserver records the state on the
session and holds nothing back yet, so every stanza still goes out at once.
Clients see the feature and may send their state without their stream
being closed, as on Prosody and ejabberd.
"""

from twisted.words.xish import domish

from mepserver.c2s.bind import PostAuthenticationFeature

NS_CSI = "urn:xmpp:csi:0"

#: The nonzas of section 4, by name, and the state each one sets.
STATES = {"active": True, "inactive": False}


class CSIFeatureStep(PostAuthenticationFeature):
    """
    Advertise C{<csi xmlns='urn:xmpp:csi:0'/>} in the stream features after
    authentication (XEP-0352 section 3), beside resource binding; the
    nonzas come once bound, to the session (L{clientState}).
    """

    def element(self):
        return domish.Element((NS_CSI, "csi"))


def clientState(element):
    """
    @return: C{True} for C{<active/>}, C{False} for C{<inactive/>}, and
        L{None} for any other element.
    """
    if element.uri != NS_CSI:
        return None
    return STATES.get(element.name)
