# -*- test-case-name: tests.test_pep,tests.test_mep -*-
"""
The use-case side of the pubsub engine: wokkel C{PubSubResource}s that
call L{mepserver.pubsub.model.Service} and turn its results into what
wokkel renders, and its refusals into stanza errors.

  - L{ServiceResource}: the XEP-0060 use cases on one virtual service,
    which a subclass locates (L{ServiceResource.locate}): publish with
    publish-options (7.1, 7.1.5), retract (7.2), items (6.5), subscribe
    and unsubscribe (6.1, 6.2), subscriptions and affiliations (5.6, 5.7),
    create (8.1), configure (8.2), default configuration (8.3), delete
    (8.4), purge (8.5) and affiliation management (8.9); node discovery
    and node information (5.2, 5.3, 5.4). Notifications go out through the
    L{mepserver.pubsub.service.PubSubHandler} it is given.
  - L{NoServiceResource}: C{service-unavailable} for an address that is
    no pubsub service.

PEP (L{mepserver.pep.resource}) and MEP (L{mepserver.mep.resource})
subclass L{ServiceResource}, each with its own registry and context.
"""

from __future__ import annotations

from typing import Any, Awaitable, Dict, List, Optional

from twisted.internet import defer
from twisted.words.protocols.jabber import error
from twisted.words.xish import domish
from wokkel import data_form, disco, pubsub
from wokkel.pubsub import NS_PUBSUB, NS_PUBSUB_META_DATA

from mepserver import errors
from mepserver.pubsub.model import FIELDS, FORM_TYPE, Affiliation
from mepserver.pubsub.registry import allWritten
from mepserver.pubsub.service import PubSubHandler
from mepserver.stanza import elementText

NS_PUBSUB_PUBLISH_OPTIONS = NS_PUBSUB + "#publish-options"

#: The configuration fields as wokkel's C{getConfigurationOptions} gives
#: them (XEP-0060 section 16.4.3).
CONFIGURATION_OPTIONS: Dict[str, Dict[str, Any]] = {
    field.var: dict(
        {"type": field.kind, "label": field.label},
        **({"options": {option: option for option in field.options}} if field.options else {}),
    )
    for field in FIELDS
}


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


def _retractNotify(request: pubsub.PubSubRequest) -> bool:
    retract = request.element.pubsub.retract
    return retract is not None and retract.getAttribute("notify") in ("1", "true")


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
    @ivar pubsub: the L{PubSubHandler} that sends notifications: the one
        made with this resource, which registers itself (L{notifyThrough}).
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

    def notifyThrough(self, handler: PubSubHandler) -> None:
        """
        Send notifications through C{handler}, the protocol handler that
        answers this resource's requests. Each needs the other, so the
        handler calls this when it is made with the resource.
        """
        self.pubsub = handler

    # What a subclass provides.

    def locate(self, request) -> Awaitable:
        """
        @return: an awaitable (a coroutine, as the subclasses' C{async def},
            or a Deferred) of C{(service, context)} for the request: the
            L{Service} at C{request.recipient} and an
            L{mepserver.interfaces.IPubSubContext} for C{request.sender};
            raising a L{mepserver.errors.Refusal} instead. Every use case
            awaits it at once: a coroutine spares the Deferred (issue 16).
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
        payload = elementText(payloads[0]) if payloads else None
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
        # applies concurrent publishes in the model's order; when both
        # fail, the request fails once (answered internal-server-error and
        # logged by wokkel) and the second failure is not left unhandled.
        writes = []
        if result.created:
            writes.append(self.registry.saveNode(service, result.node))
        if result.stored:
            writes.append(
                self.registry.saveItem(service, result.node, result.item, result.evicted)
            )
        await allWritten(writes)
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
        await self.retracted(service, result)

    async def retracted(self, service, result) -> None:
        """
        Store what a L{mepserver.pubsub.model.Service.retract} did, then
        send its notifications.

        @param result: its L{mepserver.pubsub.model.Retraction}.
        """
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
        await self.reconfigured(service, result)

    async def reconfigured(self, service, result) -> None:
        """
        Store what a L{mepserver.pubsub.model.Service.reconfigure} did.

        @param result: its L{mepserver.pubsub.model.Reconfiguration}.
        """
        await allWritten(
            [
                self.registry.saveNode(service, result.node),
                self.registry.removeItems(service, result.node, result.evicted),
            ]
        )

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
