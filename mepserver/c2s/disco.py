# -*- test-case-name: tests.test_routing -*-
"""
What the client domain answers for itself: service discovery of the server
and of accounts' bare JIDs (XEP-0030), and the server's software version
(XEP-0092).

Each handler on the client domain announces its own features through
L{IDisco}; L{ServerDiscoHandler} merges them into one answer, each
identity and feature once.
"""

from twisted.internet import defer
from twisted.words.protocols.jabber import error, jid
from wokkel import disco, generic
from wokkel.iwokkel import IDisco
from zope.interface import implementer

from mepserver.namespaces import NS_REGISTER


@implementer(IDisco)
class ServerDiscoHandler(disco.DiscoHandler):
    """
    Answer disco#info and disco#items for the server and for accounts'
    bare JIDs, with what every sibling handler announces.

    XEP-0030 section 3.1: an entity that answers disco#info lists the
    disco#info feature itself (wokkel's handler does not), and an answer
    names each identity and feature once: a repeated feature would also
    change a XEP-0115 verification string computed over the answer.

    An account's bare JID tells its identity and features to its owner and
    the contacts who may see its presence; anyone else gets
    C{service-unavailable}, as from Prosody and ejabberd, so that disco
    does not reveal which accounts exist (RFC 6121 section 8.5.1 answers an
    unknown account the same way).

    @ivar users: the L{mepserver.interfaces.IUserStore}, for rosters.
    """

    def __init__(self, users):
        disco.DiscoHandler.__init__(self)
        self.users = users

    def getDiscoInfo(self, requestor, target, nodeIdentifier=""):
        if nodeIdentifier:
            return defer.succeed([])
        return defer.succeed(
            [
                disco.DiscoFeature(disco.NS_DISCO_INFO),
                disco.DiscoFeature(disco.NS_DISCO_ITEMS),
            ]
        )

    def getDiscoItems(self, requestor, target, nodeIdentifier=""):
        return defer.succeed([])

    def info(self, requestor, target, nodeIdentifier):
        """
        The siblings' identities and features, each once, in the order
        they were first given.
        """
        d = self._checkDiscoverable(requestor, target, nodeIdentifier)
        d.addCallback(
            lambda _: disco.DiscoHandler.info(self, requestor, target, nodeIdentifier)
        )
        return d.addCallback(_once)

    def _checkDiscoverable(self, requestor, target, nodeIdentifier):
        """
        @return: a Deferred that fails with C{service-unavailable} when
            C{target} is an account whose identity C{requestor} may not
            discover. A node's info and the node list are PEP's to filter
            by each node's access model (XEP-0163 section 6.2).
        """
        if (
            target.user is None
            or nodeIdentifier
            or requestor.userhost() == target.userhost()
        ):
            return defer.succeed(None)
        d = self.users.getRosterItem(target.user, requestor.userhostJID())

        def check(item):
            if item is None or not item.sharesPresence:
                raise error.StanzaError(
                    "service-unavailable",
                    text="an account answers service discovery only to itself "
                    "and to contacts who see its presence",
                )

        return d.addCallback(check)


def _once(info):
    seen = set()
    unique = []
    for element in info:
        if isinstance(element, disco.DiscoFeature):
            key = ("feature", str(element))
        elif isinstance(element, disco.DiscoIdentity):
            key = ("identity", element.category, element.type)
        else:
            # A form (XEP-0128) is identified by its FORM_TYPE.
            key = ("form", getattr(element, "formNamespace", id(element)))
        if key not in seen:
            seen.add(key)
            unique.append(element)
    return unique


@implementer(IDisco)
class ServerInfoHandler(generic.XMPPHandler):
    """
    The server's identity and features in disco#info (XEP-0030 3.1), and
    the MUC service (XEP-0045 6.1), the HTTP File Upload service
    (XEP-0363 section 3) and the configured external components (XEP-0114)
    in its disco#items.

    A component is listed whether it is connected or not, as Prosody lists
    the component hosts of its configuration: the list does not change as
    components come and go, and a query to a component that is away gets
    C{remote-server-timeout}, which says it is temporarily unavailable.
    (Prosody lists only the components whose names are subdomains of the
    server's; here every configured component is, since a development
    server's components are there to be found.)
    """

    def __init__(self, config):
        generic.XMPPHandler.__init__(self)
        self.config = config

    def getDiscoInfo(self, requestor, target, nodeIdentifier=""):
        if target.user is not None or nodeIdentifier:
            return defer.succeed([])
        info = [
            disco.DiscoIdentity("server", "im", "mepserver"),
            disco.DiscoFeature("jabber:iq:roster"),
        ]
        if self.config.registration:
            info.append(disco.DiscoFeature(NS_REGISTER))
        return defer.succeed(info)

    def getDiscoItems(self, requestor, target, nodeIdentifier=""):
        """
        The MUC service, as XEP-0045 section 6.1 finds it, the upload
        service, as XEP-0363 section 3 does, then the external components
        in alphabetical order.
        """
        if target.user is not None or nodeIdentifier:
            return defer.succeed([])
        items = [
            disco.DiscoItem(jid.internJID(self.config.mucDomain), name="Chatrooms"),
            disco.DiscoItem(
                jid.internJID(self.config.uploadDomain), name="HTTP File Upload"
            ),
        ]
        for name in sorted(self.config.components):
            items.append(disco.DiscoItem(jid.internJID(name)))
        return defer.succeed(items)


class ServerVersionHandler(generic.VersionHandler):
    """
    The server's software version (XEP-0092), at the domain only.

    wokkel's handler answers for every address on the domain, so a query
    to an account's bare JID got the server's name, as if the account ran
    mepserver. Here such a query is left to the fallback handler
    (C{service-unavailable}), as Prosody answers it; a query to a full JID
    is the client's own (RFC 6121 section 8.5.3.1).
    """

    def onVersion(self, iq):
        if jid.internJID(iq["to"]).user is None:
            generic.VersionHandler.onVersion(self, iq)

    def getDiscoInfo(self, requestor, target, nodeIdentifier=""):
        if target.user is not None:
            return defer.succeed([])
        return generic.VersionHandler.getDiscoInfo(
            self, requestor, target, nodeIdentifier
        )
