# -*- test-case-name: tests.test_pep -*-
"""
The wokkel side of the pubsub engine: parse requests, call
L{mepserver.pubsub.model.Service}, render results and notifications.

  - L{PubSubHandler}, a wokkel C{PubSubService}: observes pubsub IQs,
    answers disco for the located resource, and sends notifications as
    C{type='headline'} messages, each with its own id (DESIGN.md section 6;
    XEP-0060 sections 7.1.2, 12.4 and 12.7), built once per event and
    varied only in C{to} and C{id} (DESIGN.md section 9), with a XEP-0203
    delay stamp on last-item delivery (XEP-0060 section 6.1.7).
  - L{ServiceResource}, a wokkel C{PubSubResource}: the XEP-0060 use cases
    on one virtual service, which a subclass locates (L{ServiceResource.locate}):
    publish with publish-options (7.1), retract (7.2), items (6.5),
    subscribe and unsubscribe (6.1, 6.2), subscriptions and affiliations
    (5.6, 5.7), create (8.1), configure (8.2), default configuration (8.3),
    delete (8.4), purge (8.5) and affiliation management (8.9); node
    discovery and node information (5.2, 5.3).

PEP (L{mepserver.pep}) and MEP subclass both, each with its own registry,
interests and context: nothing here knows about rosters or rooms.
"""

from __future__ import annotations

import datetime
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from twisted.internet import defer
from twisted.logger import Logger
from twisted.words.protocols.jabber import error, jid
from twisted.words.xish import domish
from wokkel import data_form, disco, pubsub
from wokkel.delay import NS_DELAY

from mepserver import errors
from mepserver.namespaces import NS_CLIENT
from mepserver.pubsub.model import FIELDS, FORM_TYPE, Affiliation, Item, Node
from mepserver.stanza import copyStanza

log = Logger()

NS_PUBSUB = pubsub.NS_PUBSUB
NS_PUBSUB_EVENT = pubsub.NS_PUBSUB_EVENT
NS_PUBSUB_OWNER = pubsub.NS_PUBSUB_OWNER
NS_PUBSUB_PUBLISH_OPTIONS = NS_PUBSUB + "#publish-options"
NS_PUBSUB_META_DATA = pubsub.NS_PUBSUB_META_DATA

#: The configuration fields as wokkel's C{getConfigurationOptions} gives
#: them (XEP-0060 section 16.4.3).
CONFIGURATION_OPTIONS: Dict[str, Dict[str, Any]] = {
    field.var: dict(
        {"type": field.kind, "label": field.label},
        **({"options": {option: option for option in field.options}} if field.options else {}),
    )
    for field in FIELDS
}


def stamp(when: datetime.datetime) -> str:
    """
    @return: C{when} as a XEP-0082 DateTime in UTC, as XEP-0203 wants it.
    """
    when = when.astimezone(datetime.timezone.utc)
    text = when.strftime("%Y-%m-%dT%H:%M:%S")
    if when.microsecond:
        text += ".%03d" % (when.microsecond // 1000,)
    return text + "Z"


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


def parsePublishOptions(request: pubsub.PubSubRequest) -> Optional[Dict[str, Any]]:
    """
    The preconditions of a publish request (XEP-0060 section 7.1.5).

    @return: field vars mapped to values, without C{FORM_TYPE}; L{None}
        when the request has no C{<publish-options/>}.
    @raise errors.BadRequest: options without a submitted form of the
        publish-options FORM_TYPE.
    """
    element = request.element.pubsub
    for child in element.elements(NS_PUBSUB, "publish-options"):
        form = data_form.findForm(child, NS_PUBSUB_PUBLISH_OPTIONS)
        if form is None:
            if not list(child.elements()):
                return None
            raise errors.BadRequest(
                "publish-options must hold a form with the FORM_TYPE " + NS_PUBSUB_PUBLISH_OPTIONS
            )
        if form.formType != "submit":
            raise errors.BadRequest("publish-options must be a form of type 'submit'")
        values = form.getValues()
        values.pop(FORM_TYPE, None)
        return values
    return None


def _isRootDelete(iq: domish.Element) -> bool:
    if iq.getAttribute("type") != "set":
        return False
    for owner in iq.elements(NS_PUBSUB_OWNER, "pubsub"):
        for delete in owner.elements(NS_PUBSUB_OWNER, "delete"):
            return not delete.getAttribute("node")
    return False


def _retractNotify(request: pubsub.PubSubRequest) -> bool:
    retract = request.element.pubsub.retract
    return retract is not None and retract.getAttribute("notify") in ("1", "true")


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
        pubsub.PubSubService.__init__(self, resource)
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
            element["stamp"] = stamp(delay)
            element["from"] = service.full()
        for recipient in recipients:
            self.send(copyStanza(message, to=recipient.full(), id=self.ids.newId("event-")))

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


def _refusal(failure):
    """
    Turn a model refusal into the stanza error wokkel sends.
    """
    failure.trap(errors.Refusal)
    raise errors.stanzaError(failure.value)


class NoServiceResource(pubsub.PubSubResource):
    """
    What answers pubsub requests to an address that is no pubsub service
    (the server's domain): C{service-unavailable}, and nothing in disco.
    """

    def locateResource(self, request):
        return self

    def discoInfo(self, requestor, target, nodeIdentifier):
        return defer.succeed([])

    def discoItems(self, requestor, target, nodeIdentifier):
        return defer.succeed([])

    def _refuse(self, request):
        return defer.fail(
            error.StanzaError(
                "service-unavailable", text=f"{request.recipient.full()} is no pubsub service"
            )
        )

    # Every use case wokkel dispatches to a resource.
    publish = subscribe = unsubscribe = subscriptions = affiliations = _refuse
    create = default = configureGet = configureSet = items = retract = _refuse
    purge = delete = affiliationsGet = affiliationsSet = _refuse
    subscriptionsGet = subscriptionsSet = optionsGet = optionsSet = _refuse


class ServiceResource(pubsub.PubSubResource):
    """
    The XEP-0060 use cases on a virtual service; a subclass says which
    service and context a request is for (L{locate}), and how it shows in
    disco (L{discoIdentities}).

    @ivar registry: the L{mepserver.pubsub.registry.ServiceRegistry}.
    @ivar pubsub: the L{PubSubHandler} that sends notifications; set in
        L{mepserver.server} (STYLE.md section 3).
    @cvar features: the pubsub features advertised (XEP-0060 section 10),
        each backed by a use case below.
    """

    features = [
        "access-open",
        "access-presence",
        "access-roster",
        "access-whitelist",
        "auto-create",
        "auto-subscribe",
        "config-node",
        "create-and-configure",
        "create-nodes",
        "delete-items",
        "delete-nodes",
        "filtered-notifications",
        "item-ids",
        "last-published",
        "member-affiliation",
        "modify-affiliations",
        "outcast-affiliation",
        "persistent-items",
        "presence-notifications",
        "publish",
        "publish-options",
        "purge-nodes",
        "retract-items",
        "retrieve-affiliations",
        "retrieve-default",
        "retrieve-items",
        "retrieve-subscriptions",
        "subscribe",
    ]

    pubsub: Optional[PubSubHandler] = None

    def __init__(self, registry):
        self.registry = registry

    # What a subclass provides.

    def locate(self, request) -> defer.Deferred:
        """
        @return: a Deferred firing with C{(service, context)} for the
            request: the L{Service} at C{request.recipient} and an
            L{mepserver.interfaces.IPubSubContext} for C{request.sender};
            or failing with a L{mepserver.errors.Refusal}.
        """
        raise NotImplementedError()

    def discoIdentities(self, requestor, target) -> List[disco.DiscoIdentity]:
        """
        @return: the identities of the service's address (XEP-0030).
        """
        return [disco.DiscoIdentity("pubsub", "service")]

    # Plumbing.

    def getConfigurationOptions(self):
        return CONFIGURATION_OPTIONS

    def _run(self, f, request):
        d = defer.ensureDeferred(f(request))
        d.addErrback(_refusal)
        return d

    @staticmethod
    def _formValues(values: Dict[str, Any]) -> Dict[str, Any]:
        # wokkel's makeFields wants lists for multi-value fields.
        return {var: list(v) if isinstance(v, tuple) else v for var, v in values.items()}

    # Disco (XEP-0060 sections 5.1 to 5.4).

    def discoInfo(self, requestor, target, nodeIdentifier):
        """
        The service's identities and features, or a node's identity and
        metadata (XEP-0060 sections 5.3 and 5.4) for those with access.
        """
        return self._run(self._discoInfo, (requestor, target, nodeIdentifier))

    async def _discoInfo(self, args):
        requestor, target, nodeIdentifier = args
        request = pubsub.PubSubRequest("discoInfo")
        request.sender, request.recipient = requestor, target
        service, context = await self.locate(request)
        if not nodeIdentifier:
            info: List[Any] = list(self.discoIdentities(requestor, target))
            info.append(disco.DiscoFeature(disco.NS_DISCO_ITEMS))
            info.append(disco.DiscoFeature(NS_PUBSUB))
            info.extend(disco.DiscoFeature(f"{NS_PUBSUB}#{f}") for f in self.features)
            return info
        node = service.nodes.get(nodeIdentifier)
        if node is None or not service.mayAccess(context, node, requestor):
            return []
        form = data_form.Form("result", formNamespace=NS_PUBSUB_META_DATA)
        form.addField(data_form.Field(var="pubsub#type", value=node.config.payloadType))
        form.addField(data_form.Field(var="pubsub#title", value=node.config.title))
        form.addField(
            data_form.Field(var="pubsub#access_model", value=node.config.accessModel.value)
        )
        form.addField(data_form.Field(var="pubsub#num_of_items", value=str(len(node.items))))
        return [disco.DiscoIdentity("pubsub", "leaf"), form]

    def discoItems(self, requestor, target, nodeIdentifier):
        """
        The nodes the requester may access (XEP-0163 section 6.2); a node
        has no items in disco.
        """
        return self._run(self._discoItems, (requestor, target, nodeIdentifier))

    async def _discoItems(self, args):
        requestor, target, nodeIdentifier = args
        request = pubsub.PubSubRequest("discoItems")
        request.sender, request.recipient = requestor, target
        service, context = await self.locate(request)
        if nodeIdentifier:
            node = service.nodes.get(nodeIdentifier)
            if node is None or not service.mayAccess(context, node, requestor):
                raise errors.ItemNotFound(f"there is no node {nodeIdentifier!r} for you here")
            return []
        return [
            disco.DiscoItem(service.jid, node.identifier, node.config.title or None)
            for node in service.visibleNodes(context, requestor)
        ]

    # Publisher use cases.

    def publish(self, request):
        return self._run(self._publish, request)

    async def _publish(self, request):
        service, context = await self.locate(request)
        items = request.items
        if not items:
            raise errors.ItemRequired("a publish must carry an <item/>")
        if len(items) > 1:
            raise errors.BadRequest("publish one item per request")
        element = items[0]
        payloads = list(element.elements())
        if len(payloads) > 1:
            raise errors.InvalidPayload("an item carries at most one payload element")
        payload = payloads[0].toXml() if payloads else None
        result = service.publish(
            context,
            request.sender,
            request.nodeIdentifier,
            payload,
            element.getAttribute("id") or None,
            parsePublishOptions(request),
        )
        await self.published(service, result)
        response = domish.Element((NS_PUBSUB, "pubsub"))
        publish = response.addElement("publish")
        publish["node"] = result.node.identifier
        publish.addElement("item")["id"] = result.item.id
        return response

    async def published(self, service, result) -> None:
        """
        Store what a L{mepserver.pubsub.model.Service.publish} did, then
        send its notifications.

        @param result: its L{mepserver.pubsub.model.Publication}.
        """
        # The writes are issued before waiting for any, so that the store
        # applies concurrent publishes in the model's order.
        writes = []
        if result.created:
            writes.append(self.registry.saveNode(service, result.node))
        if result.stored:
            writes.append(
                self.registry.saveItem(service, result.node, result.item, result.evicted)
            )
        for write in writes:
            await write
        self.pubsub.notifyItems(service.jid, result.node, [result.item], result.recipients)

    def retract(self, request):
        return self._run(self._retract, request)

    async def _retract(self, request):
        service, context = await self.locate(request)
        result = service.retract(
            context,
            request.sender,
            request.nodeIdentifier,
            request.itemIdentifiers,
            _retractNotify(request),
        )
        await self.registry.removeItems(service, result.node, result.items)
        self.pubsub.notifyRetract(service.jid, result.node, result.items, result.recipients)

    # Subscriber use cases.

    def items(self, request):
        return self._run(self._items, request)

    async def _items(self, request):
        service, context = await self.locate(request)
        items = service.items(
            context,
            request.sender,
            request.nodeIdentifier,
            request.maxItems,
            request.itemIdentifiers or (),
        )
        return [pubsub.Item(item.id, item.payload) for item in items]

    def subscribe(self, request):
        return self._run(self._subscribe, request)

    async def _subscribe(self, request):
        service, context = await self.locate(request)
        result = service.subscribe(context, request.sender, request.nodeIdentifier, request.subscriber)
        await self.registry.saveNode(service, result.node)
        if result.lastItem is not None:
            item = result.lastItem
            self.pubsub.afterResponse(
                request,
                lambda: self.pubsub.notifyItems(
                    service.jid, result.node, [item], [result.subscriber], delay=item.published
                ),
            )
        return pubsub.Subscription(result.node.identifier, result.subscriber, "subscribed")

    def unsubscribe(self, request):
        return self._run(self._unsubscribe, request)

    async def _unsubscribe(self, request):
        service, context = await self.locate(request)
        node = service.unsubscribe(context, request.sender, request.nodeIdentifier, request.subscriber)
        await self.registry.saveNode(service, node)

    def subscriptions(self, request):
        return self._run(self._subscriptions, request)

    async def _subscriptions(self, request):
        service, context = await self.locate(request)
        context.admit(request.sender)
        return [
            pubsub.Subscription(node.identifier, subscriber, state)
            for node, subscriber, state in service.subscriptionsOf(request.sender)
        ]

    def affiliations(self, request):
        return self._run(self._affiliations, request)

    async def _affiliations(self, request):
        service, context = await self.locate(request)
        context.admit(request.sender)
        return [
            (node.identifier, affiliation.value)
            for node, affiliation in service.affiliationsOf(context, request.sender)
        ]

    # Owner use cases.

    def create(self, request):
        return self._run(self._create, request)

    async def _create(self, request):
        service, context = await self.locate(request)
        options = request.options.getValues() if request.options is not None else None
        node = service.create(context, request.sender, request.nodeIdentifier, options)
        await self.registry.saveNode(service, node)
        return node.identifier

    def default(self, request):
        return self._run(self._default, request)

    async def _default(self, request):
        service, context = await self.locate(request)
        if request.nodeType != "leaf":
            raise errors.Unsupported("collections", "this service has leaf nodes only")
        return self._formValues(service.defaults.values())

    def configureGet(self, request):
        return self._run(self._configureGet, request)

    async def _configureGet(self, request):
        service, context = await self.locate(request)
        config = service.configuration(context, request.sender, request.nodeIdentifier)
        return self._formValues(config.values())

    def configureSet(self, request):
        return self._run(self._configureSet, request)

    async def _configureSet(self, request):
        service, context = await self.locate(request)
        result = service.reconfigure(
            context, request.sender, request.nodeIdentifier, request.options.getValues()
        )
        writes = [
            self.registry.saveNode(service, result.node),
            self.registry.removeItems(service, result.node, result.evicted),
        ]
        for write in writes:
            await write

    def delete(self, request):
        return self._run(self._delete, request)

    async def _delete(self, request):
        service, context = await self.locate(request)
        result = service.delete(context, request.sender, request.nodeIdentifier)
        await self.registry.removeNode(service, result.node)
        self.pubsub.notifyDelete(service.jid, result.node.identifier, result.recipients)

    def purge(self, request):
        return self._run(self._purge, request)

    async def _purge(self, request):
        service, context = await self.locate(request)
        result = service.purge(context, request.sender, request.nodeIdentifier)
        await self.registry.removeItems(service, result.node, result.items)
        self.pubsub.notifyPurge(service.jid, result.node, result.recipients)

    def affiliationsGet(self, request):
        return self._run(self._affiliationsGet, request)

    async def _affiliationsGet(self, request):
        service, context = await self.locate(request)
        affiliations = service.nodeAffiliations(context, request.sender, request.nodeIdentifier)
        return {entity: affiliation.value for entity, affiliation in affiliations.items()}

    def affiliationsSet(self, request):
        return self._run(self._affiliationsSet, request)

    async def _affiliationsSet(self, request):
        service, context = await self.locate(request)
        changes = {}
        for entity, value in request.affiliations.items():
            try:
                changes[entity] = Affiliation(value)
            except ValueError:
                raise errors.BadRequest(f"{value!r} is not an affiliation") from None
        result = service.setAffiliations(context, request.sender, request.nodeIdentifier, changes)
        await self.registry.saveNode(service, result.node)
