# -*- test-case-name: tests.test_pep,tests.test_mep -*-
"""
The protocol side of the pubsub engine: L{PubSubHandler}, a wokkel
C{PubSubService} that parses pubsub requests for the resource
(L{mepserver.pubsub.resource}) and renders notifications.

It observes pubsub IQs, answers disco for the located resource (XEP-0030),
and sends notifications as C{type='headline'} messages, each with its own
id (DESIGN.md section 6; XEP-0060 sections 7.1.2, 7.2.2.1, 8.4.2, 8.5.2,
12.4 and 12.7), built once per event and varied only in C{to} and C{id}
(DESIGN.md section 9), with a XEP-0203 delay stamp on last-item delivery
(XEP-0060 section 6.1.7). A root collection node cannot be deleted
(XEP-0248 section 7.4.3.1).

As in wokkel, the service is the protocol and the resource the use cases:
PEP (L{mepserver.pep.handler}) and MEP (L{mepserver.mep.handler}) subclass
it for presence and room followers; nothing here knows about rosters or
rooms.
"""

from __future__ import annotations

import datetime
import functools
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from twisted.words.protocols.jabber import error, jid
from twisted.words.xish import domish
from wokkel import pubsub
from wokkel.delay import NS_DELAY
from wokkel.pubsub import NS_PUBSUB_EVENT, NS_PUBSUB_OWNER

from mepserver.datetimes import formatDateTime
from mepserver.namespaces import NS_CLIENT
from mepserver.pubsub.model import Item, Node
from mepserver.router import sendMany
from mepserver.stanza import Broadcast


def renderItem(item: Item, uri: str, withPayload: bool = True) -> domish.Element:
    """
    An C{<item/>} with the item's id and, if wanted, its payload.

    The payload is stored as text and goes out as it came in, without
    being parsed again.
    """
    element = domish.Element((uri, "item"))
    element["id"] = item.id
    if withPayload and item.payload is not None:
        element.addRawXml(item.payload)
    return element


def _isRootDelete(iq: domish.Element) -> bool:
    if iq.getAttribute("type") != "set":
        return False
    for owner in iq.elements(NS_PUBSUB_OWNER, "pubsub"):
        for delete in owner.elements(NS_PUBSUB_OWNER, "delete"):
            return not delete.getAttribute("node")
    return False


class PubSubHandler(pubsub.PubSubService):
    """
    wokkel's pubsub service protocol, for the virtual services a
    L{ServiceResource} locates.

    Observes pubsub IQ requests (C{get} and C{set} with a C{pubsub} or
    C{pubsub#owner} child) that no other handler took (an IQ to a full JID
    is delivered to the client, not answered here). Errors come from L{mepserver.errors} through the resource.

    @ivar ids: the L{mepserver.ids.IdSource} of notification ids.
    """

    def __init__(self, resource, ids):
        """
        @param resource: the L{mepserver.pubsub.resource.ServiceResource}
            whose requests this handler answers; it sends its
            notifications through this handler from now on.
        """
        pubsub.PubSubService.__init__(self, resource)
        resource.notifyThrough(self)
        self.ids = ids
        self._afterResponse: Dict[Tuple[str, str], List] = {}

    def handleRequest(self, iq):
        """
        Answer a pubsub request, unless another handler took it already:
        wokkel's C{IQHandlerMixin} would answer even an IQ delivered to a
        client.
        """
        if iq.handled:
            return
        if _isRootDelete(iq):
            # XEP-0248 section 7.4.3.1; wokkel's parser would answer
            # bad-request for the missing node.
            iq.handled = True
            text = "the root collection node cannot be deleted"
            self.send(error.StanzaError("not-allowed", text=text).toResponse(iq))
            return
        pubsub.PubSubService.handleRequest(self, iq)

    def send(self, obj):
        if self.xmlstream is None:
            # Stopped: work that was waiting for the store ends quietly.
            return
        pubsub.PubSubService.send(self, obj)
        if self._afterResponse and domish.IElement.providedBy(obj) and obj.name == "iq":
            key = (obj.getAttribute("id", ""), obj.getAttribute("to", ""))
            for f in self._afterResponse.pop(key, ()):
                f()

    def afterResponse(self, request: pubsub.PubSubRequest, f) -> None:
        """
        Call C{f()} once the answer to C{request} is sent, so that what it
        sends (a last item after a subscription, XEP-0060 section 6.1.7)
        follows the answer.
        """
        key = (request.stanzaID or "", request.sender.full() if request.sender else "")
        self._afterResponse.setdefault(key, []).append(f)

    def _checkConfiguration(self, resource, form):
        # wokkel's type check raises TypeError or ValueError (answered as
        # internal-server-error) for a field type or value it dislikes; the
        # model checks every value and says why.
        pass

    # Disco (XEP-0030): the located resource answers for its service.

    def _locate(self, requestor, target):
        request = pubsub.PubSubRequest("discoInfo")
        request.sender = requestor
        request.recipient = target
        return self.resource.locateResource(request)

    def getDiscoInfo(self, requestor, target, nodeIdentifier=""):
        return self._locate(requestor, target).discoInfo(requestor, target, nodeIdentifier)

    def getDiscoItems(self, requestor, target, nodeIdentifier=""):
        return self._locate(requestor, target).discoItems(requestor, target, nodeIdentifier)

    # Notifications.

    def notify(
        self,
        service: jid.JID,
        recipients: Iterable[jid.JID],
        event: domish.Element,
        delay: Optional[datetime.datetime] = None,
    ) -> None:
        """
        Send an event to each recipient: one headline message, built once,
        each copy with its own C{to} and C{id}.

        @param event: the C{<event xmlns='...#event'/>} element.
        @param delay: when the item was published, for a XEP-0203 stamp on
            delayed delivery (last items).
        """
        recipients = list(recipients)
        if not recipients:
            return
        message = domish.Element((NS_CLIENT, "message"))
        message["from"] = service.full()
        message["type"] = "headline"
        message.addChild(event)
        if delay is not None:
            element = message.addElement((NS_DELAY, "delay"))
            element["stamp"] = formatDateTime(delay)
            element["from"] = service.full()
        if self.xmlstream is None:
            # Stopped: work that was waiting for the store ends quietly.
            return
        # Serialized once; each recipient's copy gets its own to and id,
        # in one call to the router (local sessions get it in bulk).
        sendMany(
            self,
            Broadcast(message, ("to", "id")),
            recipients,
            functools.partial(self.ids.newId, "event-"),
        )

    def notifyItems(
        self,
        service: jid.JID,
        node: Node,
        items: Sequence[Item],
        recipients: Iterable[jid.JID],
        delay: Optional[datetime.datetime] = None,
    ) -> None:
        """
        Item notifications (XEP-0060 section 7.1.2), with the payloads if
        the node delivers them.
        """
        event = domish.Element((NS_PUBSUB_EVENT, "event"))
        element = event.addElement("items")
        element["node"] = node.identifier
        for item in items:
            element.addChild(renderItem(item, NS_PUBSUB_EVENT, node.config.deliverPayloads))
        self.notify(service, recipients, event, delay)

    def notifyRetract(
        self, service: jid.JID, node: Node, items: Sequence[Item], recipients: Iterable[jid.JID]
    ) -> None:
        """
        Retraction notifications (XEP-0060 section 7.2.2.1).
        """
        event = domish.Element((NS_PUBSUB_EVENT, "event"))
        element = event.addElement("items")
        element["node"] = node.identifier
        for item in items:
            element.addElement("retract")["id"] = item.id
        self.notify(service, recipients, event)

    def notifyPurge(self, service: jid.JID, node: Node, recipients: Iterable[jid.JID]) -> None:
        """
        Purge notifications (XEP-0060 section 8.5.2).
        """
        event = domish.Element((NS_PUBSUB_EVENT, "event"))
        event.addElement("purge")["node"] = node.identifier
        self.notify(service, recipients, event)

    def notifyPublish(self, service, nodeIdentifier, notifications):
        """
        wokkel's entry point, kept for callers that use it: C{(subscriber,
        subscriptions, items)} triples, items as C{<item/>} elements, sent
        as headlines with ids.
        """
        for subscriber, _, items in notifications:
            event = domish.Element((NS_PUBSUB_EVENT, "event"))
            element = event.addElement("items")
            element["node"] = nodeIdentifier
            for item in items:
                item.uri = NS_PUBSUB_EVENT
                element.addChild(item)
            self.notify(service, [subscriber], event)

    def notifyDelete(self, service, nodeIdentifier, subscribers, redirectURI=None):
        """
        Deletion notifications (XEP-0060 section 8.4.2), as headlines with
        ids.
        """
        event = domish.Element((NS_PUBSUB_EVENT, "event"))
        delete = event.addElement("delete")
        delete["node"] = nodeIdentifier
        if redirectURI:
            delete.addElement("redirect")["uri"] = redirectURI
        self.notify(service, subscribers, event)
