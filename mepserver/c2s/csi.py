# -*- test-case-name: tests.test_stream -*-
"""
XEP-0352 Client State Indication: the stream feature, and the C{<active/>}
and C{<inactive/>} nonzas a bound client sends.

A client that says it is inactive (a phone with its screen off) tells the
server it may hold back what is not urgent (section 5 leaves what to the
server). While a session is inactive, L{HeldPresence} keeps back the
presence of others, available and unavailable, the latest per sender, as
Prosody's csi_simple does; everything else goes out at once, after what is
held, so the client sees stanzas in the order they were sent. Messages
(with MEP and PEP events), IQs, subscription presence and a room's
presence about the client's own occupant (status 110) are never held.
"""

from collections import OrderedDict

from twisted.words.xish import domish

from mepserver.c2s.bind import PostAuthenticationFeature
from mepserver.stanza import copyStanza, freeze

NS_MUC_USER = "http://jabber.org/protocol/muc#user"

#: How many senders' presence an inactive session holds before it sends
#: them anyway.
MAX_HELD = 100

NS_CSI = "urn:xmpp:csi:0"

#: The nonzas of section 4, by name, and the state each one sets.
STATES = {"active": True, "inactive": False}


#: The client state indication stream feature (XEP-0352 section 3).
CSI_FEATURE = freeze(domish.Element((NS_CSI, "csi")))


class CSIFeatureStep(PostAuthenticationFeature):
    """
    Advertise C{<csi xmlns='urn:xmpp:csi:0'/>} in the stream features after
    authentication (XEP-0352 section 3), beside resource binding; the
    nonzas come once bound, to the session (L{clientState}).
    """

    def element(self):
        return CSI_FEATURE


def clientState(element):
    """
    @return: C{True} for C{<active/>}, C{False} for C{<inactive/>}, and
        L{None} for any other element.
    """
    if element.uri != NS_CSI:
        return None
    return STATES.get(element.name)


def holdable(stanza: domish.Element) -> bool:
    """
    @return: whether an inactive client can wait for C{stanza}: presence of
        type available or unavailable, unless it is a room's presence about
        the client's own occupant (XEP-0045 status 110).
    """
    if stanza.name != "presence" or stanza.getAttribute("type") not in (None, "unavailable"):
        return False
    for x in stanza.elements(NS_MUC_USER, "x"):
        for status in x.elements(NS_MUC_USER, "status"):
            if status.getAttribute("code") == "110":
                return False
    return True


class HeldPresence:
    """
    The presence an inactive session holds back: the latest from each
    sender, in the order of their latest.
    """

    def __init__(self):
        self._held: "OrderedDict[str, domish.Element]" = OrderedDict()

    def __len__(self) -> int:
        return len(self._held)

    def hold(self, stanza: domish.Element) -> bool:
        """
        Hold C{stanza} if it can wait, replacing what its sender sent
        before.

        @return: whether it is held; a full hold is not (the caller sends
            what is held, then the stanza).
        """
        if not holdable(stanza):
            return False
        sender = stanza.getAttribute("from", "")
        if sender not in self._held and len(self._held) >= MAX_HELD:
            return False
        self._held.pop(sender, None)
        # A copy: a broadcaster changes 'to' on the element it sends next.
        self._held[sender] = copyStanza(stanza)
        return True

    def release(self):
        """
        @return: what was held, in order, and forget it.
        """
        held = list(self._held.values())
        self._held.clear()
        return held
