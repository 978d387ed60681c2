"""
What the MUC Eventing Protocol (XEP-0316) end-to-end tests share on the
client side: the room event payload, a predicate for event messages, and
a join with real caps (XEP-0115) that answers the room's query.

Used by L{tests.e2e.test_mep} (a standalone mepserver) and
L{tests.e2e.componentscenario} (mepserver as a host's MUC component);
the clients are L{mepserver.testing.ConnectedClient}s.
"""

from tests.helpers import CapsClient

NS_EVENT = "http://jabber.org/protocol/pubsub#event"
NS_ACTIVITY = "http://jabber.org/protocol/activity"
NS_CONFERENCE_INFO = "urn:ietf:params:xml:ns:conference-info"
NS_MUC = "http://jabber.org/protocol/muc"
NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"

#: Seconds to wait for something that should arrive.
WAIT = 10.0


def conferenceInfo(text):
    """
    @return: the payload Converse.js renders as a room event (DESIGN.md
        section 6), carrying C{text}.
    """
    return (
        f"<conference-info xmlns='{NS_CONFERENCE_INFO}'>"
        f"<activity xmlns='{NS_ACTIVITY}'><other/><text>{text}</text></activity>"
        "</conference-info>"
    )


def isEvent(node, sender=None):
    """
    @return: a predicate matching a pubsub event of C{node} (from C{sender}).
    """

    def match(stanza):
        if stanza.name != "message" or (sender and stanza.getAttribute("from") != sender):
            return False
        for event in stanza.elements(NS_EVENT, "event"):
            for items in event.elements(NS_EVENT, "items"):
                return items.getAttribute("node") == node
        return False

    return match


async def serverPing(client):
    """
    A client's ping of its own server: the round trip after which what
    mepserver's room sent before it has arrived.
    """
    await client.ping(WAIT)


async def join(client, room, nick, features, roundTrip=serverPing):
    """
    Join C{room} as C{nick} with caps carrying C{features}, answering the
    room's caps query; return once the room has handled the answer.

    @param roundTrip: an async function of C{client} whose end proves that
        whatever the room sent before has arrived: L{serverPing} where the
        room is the client's server's own; through a host, a ping of the
        MUC service.
    @return: the JIDs the client's disco#info queries came from, a list
        that grows with later queries.
    """
    queried = []
    client.xmlstream.addObserver(
        f"/iq[@type='get']/query[@xmlns='{NS_DISCO_INFO}']",
        lambda iq: queried.append(iq["from"]),
        2,
    )
    caps = CapsClient(features)
    caps.answerOn(client.xmlstream)
    presence = caps.presence(to=f"{room}/{nick}")
    presence.addElement((NS_MUC, "x"))
    client.send(presence)
    await client.waitFor(lambda s: s.name == "message" and s.subject is not None, WAIT)
    # The first round trip ends after the room sent any caps query, the
    # second after it handled the answer.
    await roundTrip(client)
    await roundTrip(client)
    return queried
