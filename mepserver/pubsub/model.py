# -*- test-case-name: tests.test_pubsub_model -*-
"""
Virtual publish-subscribe services in plain Python (XEP-0060), shared by
PEP (XEP-0163) and MEP (XEP-0316).

Implements, from XEP-0060: affiliations (section 4.1, with the owner from
the context and member and outcast per node), the access models open,
presence, roster and whitelist (section 4.5), subscribe and unsubscribe
(sections 6.1, 6.2), item retrieval (section 6.5), publish with auto-create
and publish-options preconditions (sections 7.1, 7.1.4, 7.1.5), retract
(section 7.2), create, configure, delete and purge (sections 8.1, 8.2, 8.4,
8.5), affiliation management (section 8.9) and filtered notifications
(section 9.2) through the L{Interests} index; from XEP-0163, the smart
defaults (section 5) and the notification rules of section 4.3.

This module imports no domish, wokkel or reactor (STYLE.md section 3):
payloads are serialized XML text, opaque here; time comes from the
injected clock and item ids from the injected id source. Every operation
is synchronous and takes an L{mepserver.interfaces.IPubSubContext}, which
answers the questions that differ between PEP and MEP (who owns the
service, who shares presence with it, who is implicitly subscribed and
interested, where explicit subscribers' notifications go), and raises an
L{mepserver.errors.Refusal} or returns a plain result naming the
recipients of the notifications it calls for.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
from collections import OrderedDict
from typing import (
    Any,
    Dict,
    FrozenSet,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Set,
    Tuple,
)

from twisted.words.protocols.jabber import jid

from mepserver import errors
from mepserver.xmlchars import identifierProblem

#: The most items a node keeps: the value of C{pubsub#max_items} = C{max}
#: (XEP-0060 section 16.4.3), and the largest number accepted.
MAX_ITEMS_LIMIT = 1000

#: The FORM_TYPE of node configuration forms (XEP-0060 section 16.4.3).
FORM_TYPE = "FORM_TYPE"


class AccessModel(enum.Enum):
    """
    Who may subscribe and retrieve items (XEP-0060 section 4.5).
    """

    OPEN = "open"
    PRESENCE = "presence"
    ROSTER = "roster"
    WHITELIST = "whitelist"


class SendLastPublished(enum.Enum):
    """
    When the last published item is sent (C{pubsub#send_last_published_item},
    XEP-0060 section 12.2).
    """

    NEVER = "never"
    ON_SUB = "on_sub"
    ON_SUB_AND_PRESENCE = "on_sub_and_presence"


class Affiliation(enum.Enum):
    """
    An entity's affiliation with a node (XEP-0060 section 4.1).
    """

    OWNER = "owner"
    PUBLISHER = "publisher"
    PUBLISH_ONLY = "publish-only"
    MEMBER = "member"
    NONE = "none"
    OUTCAST = "outcast"


@dataclasses.dataclass(frozen=True)
class ConfigField:
    """
    One node configuration field (XEP-0060 section 16.4.3).

    @ivar var: the field's C{var}, such as C{"pubsub#max_items"}.
    @ivar attribute: the L{NodeConfig} attribute it sets.
    @ivar kind: the data form field type (XEP-0004 section 3.3).
    @ivar label: a human-readable label.
    @ivar options: the values a list field allows, if fixed.
    """

    var: str
    attribute: str
    kind: str
    label: str
    options: Tuple[str, ...] = ()


#: The configuration fields, in form order.
FIELDS: Tuple[ConfigField, ...] = (
    ConfigField("pubsub#title", "title", "text-single", "A friendly name for the node"),
    ConfigField(
        "pubsub#type", "payloadType", "text-single", "The type of node data, usually a namespace"
    ),
    ConfigField(
        "pubsub#access_model",
        "accessModel",
        "list-single",
        "Who may subscribe and retrieve items",
        tuple(model.value for model in AccessModel),
    ),
    ConfigField(
        "pubsub#roster_groups_allowed",
        "rosterGroupsAllowed",
        "list-multi",
        "Roster groups allowed to subscribe (access model roster)",
    ),
    ConfigField(
        "pubsub#max_items", "maxItems", "text-single", "Maximum number of items to keep ('max' for the most)"
    ),
    ConfigField("pubsub#persist_items", "persistItems", "boolean", "Persist items"),
    ConfigField(
        "pubsub#deliver_notifications",
        "deliverNotifications",
        "boolean",
        "Deliver event notifications",
    ),
    ConfigField(
        "pubsub#deliver_payloads", "deliverPayloads", "boolean", "Deliver payloads with event notifications"
    ),
    ConfigField(
        "pubsub#notify_retract",
        "notifyRetract",
        "boolean",
        "Notify subscribers when items are removed from the node",
    ),
    ConfigField(
        "pubsub#notify_delete", "notifyDelete", "boolean", "Notify subscribers when the node is deleted"
    ),
    ConfigField(
        "pubsub#send_last_published_item",
        "sendLastPublishedItem",
        "list-single",
        "When to send the last published item",
        tuple(when.value for when in SendLastPublished),
    ),
    # Fixed by this server; present so that clients sending them as
    # publish-options preconditions with these values succeed.
    ConfigField(
        "pubsub#notification_type", "notificationType", "list-single", "Message type of notifications", ("headline",)
    ),
    ConfigField(
        "pubsub#publish_model", "publishModel", "list-single", "Who may publish", ("publishers",)
    ),
)

_FIELDS_BY_VAR: Dict[str, ConfigField] = {field.var: field for field in FIELDS}


def _single(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        if len(value) != 1:
            raise ValueError("expected exactly one value")
        value = value[0]
    return str(value)


def _parseBoolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = _single(value).strip().lower()
    if text in ("1", "true"):
        return True
    if text in ("0", "false"):
        return False
    raise ValueError(f"{text!r} is not a boolean")


def _parseMaxItems(value: Any, limit: int) -> Optional[int]:
    text = _single(value).strip()
    if text == "max":
        return None
    number = int(text)
    if not 1 <= number <= limit:
        raise ValueError(f"{number} is not from 1 to {limit}")
    return number


@dataclasses.dataclass(frozen=True)
class NodeConfig:
    """
    A node's configuration (XEP-0060 section 16.4.3). The defaults are
    XEP-0163 section 5's smart defaults: access model presence, deliver
    notifications and payloads, send the last published item on
    subscription and presence; and one item per node.

    @ivar maxItems: the most items kept; L{None} for the service's maximum
        (the value C{max}).
    @ivar rosterGroupsAllowed: for the roster access model.
    """

    title: str = ""
    payloadType: str = ""
    accessModel: AccessModel = AccessModel.PRESENCE
    rosterGroupsAllowed: Tuple[str, ...] = ()
    maxItems: Optional[int] = 1
    persistItems: bool = True
    deliverNotifications: bool = True
    deliverPayloads: bool = True
    notifyRetract: bool = True
    notifyDelete: bool = True
    sendLastPublishedItem: SendLastPublished = SendLastPublished.ON_SUB_AND_PRESENCE
    notificationType: str = "headline"
    publishModel: str = "publishers"

    @staticmethod
    def parse(var: str, value: Any, limit: int = MAX_ITEMS_LIMIT) -> Any:
        """
        Read one field's value, as a form or a store gives it.

        @param value: a L{str}, L{bool}, or a sequence of strings.
        @return: the value of the field's attribute.
        @raise errors.InvalidConfiguration: an unknown field or a bad value.
        """
        field = _FIELDS_BY_VAR.get(var)
        if field is None:
            raise errors.InvalidConfiguration(f"{var!r} is not a node configuration field here")
        try:
            if value is None and field.kind != "list-multi":
                raise ValueError("a value is required")
            if field.kind == "boolean":
                return _parseBoolean(value)
            if field.attribute == "maxItems":
                return _parseMaxItems(value, limit)
            if field.kind == "list-multi":
                if value is None:
                    return ()
                if isinstance(value, str):
                    return (value,)
                return tuple(str(v) for v in value)
            text = _single(value) if not isinstance(value, str) else value
            if field.attribute == "accessModel":
                return AccessModel(text)
            if field.attribute == "sendLastPublishedItem":
                return SendLastPublished(text)
            if field.options and text not in field.options:
                raise ValueError(f"{text!r} is not one of {', '.join(field.options)}")
            return text
        except ValueError as e:
            raise errors.InvalidConfiguration(f"{var}: {e}") from None

    def get(self, var: str) -> Any:
        """
        @return: the value of the field C{var}, as L{parse} returns it.
        """
        return getattr(self, _FIELDS_BY_VAR[var].attribute)

    def values(self) -> Dict[str, Any]:
        """
        Every field's value in plain form: booleans, strings (C{max_items}
        as C{"max"} or a number's digits) and tuples of strings; the form
        a data form shows and a store keeps.
        """
        result: Dict[str, Any] = {}
        for field in FIELDS:
            value = getattr(self, field.attribute)
            if isinstance(value, enum.Enum):
                value = value.value
            elif field.attribute == "maxItems":
                value = "max" if value is None else str(value)
            result[field.var] = value
        return result

    @classmethod
    def fromValues(cls, values: Mapping[str, Any]) -> "NodeConfig":
        """
        The configuration L{values} gave; unknown or invalid fields (from an
        older or newer version) keep their defaults.
        """
        changes = {}
        for var, value in values.items():
            try:
                parsed = cls.parse(var, value)
            except errors.InvalidConfiguration:
                continue
            changes[_FIELDS_BY_VAR[var].attribute] = parsed
        return dataclasses.replace(cls(), **changes)

    def limit(self, maximum: int) -> int:
        """
        @return: the number of items kept, C{max} resolved to C{maximum}.
        """
        return maximum if self.maxItems is None else min(self.maxItems, maximum)


@dataclasses.dataclass(frozen=True)
class Item:
    """
    A published item (XEP-0060 section 7.1).

    @ivar id: the ItemID, unique within the node.
    @ivar payload: the payload element, serialized as XML text, or L{None}
        for an item without payload.
    @ivar publisher: the full JID that published it.
    @ivar published: when, in UTC.
    """

    id: str
    payload: Optional[str]
    publisher: jid.JID
    published: datetime.datetime


def payloadSize(item: Item) -> int:
    """
    @return: the bytes of an item's payload as UTF-8 XML, what the payload
        quota (L{Service.maxBytes}) counts; 0 without payload.
    """
    if item.payload is None:
        return 0
    return len(item.payload.encode("utf-8"))


class Node:
    """
    A leaf node: its configuration, items, affiliations and explicit
    subscriptions.

    @ivar identifier: the NodeID.
    @ivar config: the L{NodeConfig}.
    @ivar items: the items by id, oldest first.
    @ivar affiliations: bare JIDs to their L{Affiliation} with this node,
        other than the owner's (which the context knows) and C{none}.
    @ivar subscriptions: subscribed JIDs (bare or full, XEP-0060 section
        6.1) to their state; only C{"subscribed"} exists here.
    @ivar size: the bytes of the items' payloads (L{payloadSize}), kept up
        to date by the methods that add and remove items, which are the
        only ones that may change C{items}.
    """

    def __init__(
        self,
        identifier: str,
        config: NodeConfig,
        items: Iterable[Item] = (),
        affiliations: Optional[Mapping[jid.JID, Affiliation]] = None,
        subscriptions: Optional[Mapping[jid.JID, str]] = None,
    ):
        self.identifier = identifier
        self.config = config
        self.items: "OrderedDict[str, Item]" = OrderedDict((item.id, item) for item in items)
        self.affiliations: Dict[jid.JID, Affiliation] = dict(affiliations or {})
        self.subscriptions: Dict[jid.JID, str] = dict(subscriptions or {})
        self.size = sum(payloadSize(item) for item in self.items.values())

    def __repr__(self) -> str:
        return f"<Node {self.identifier!r} ({len(self.items)} items)>"

    def lastItem(self) -> Optional[Item]:
        """
        @return: the most recently published item, or L{None}.
        """
        if not self.items:
            return None
        return next(reversed(self.items.values()))

    def affiliation(self, entity: jid.JID) -> Affiliation:
        """
        @return: the stored affiliation of C{entity}'s bare JID.
        """
        if not self.affiliations:
            # Most nodes (PEP's) have none: asked of every notification's
            # recipient (issue 16).
            return Affiliation.NONE
        return self.affiliations.get(entity.userhostJID(), Affiliation.NONE)

    def _keep(self, item: Item, limit: int) -> List[Item]:
        """
        Store C{item} as the newest (replacing one with its id) and drop
        the oldest beyond C{limit} (XEP-0060 section 7.1.2.5: retract the
        oldest).

        @return: the dropped items.
        """
        replaced = self.items.pop(item.id, None)
        if replaced is not None:
            self.size -= payloadSize(replaced)
        self.items[item.id] = item
        self.size += payloadSize(item)
        return self._trim(limit)

    def _trim(self, limit: int) -> List[Item]:
        evicted = []
        while len(self.items) > limit:
            item = self.items.popitem(last=False)[1]
            self.size -= payloadSize(item)
            evicted.append(item)
        return evicted

    def _remove(self, itemIdentifiers: Iterable[str]) -> Tuple[Item, ...]:
        """
        Remove items by id, each once; every id must be there.

        @return: the removed items.
        """
        removed = tuple(self.items.pop(i) for i in dict.fromkeys(itemIdentifiers))
        self.size -= sum(payloadSize(item) for item in removed)
        return removed

    def _freedBy(self, itemIdentifier: str, limit: int) -> int:
        """
        @return: the payload bytes that keeping a new item with this id
            under C{limit} (L{_keep}) would free: the item it replaces and
            the oldest it would push out.
        """
        freed = 0
        replaced = self.items.get(itemIdentifier)
        if replaced is not None:
            freed += payloadSize(replaced)
        excess = len(self.items) + (replaced is None) - limit
        for identifier, item in self.items.items():
            if excess <= 0:
                break
            if identifier != itemIdentifier:
                freed += payloadSize(item)
                excess -= 1
        return freed


@dataclasses.dataclass(frozen=True)
class Publication:
    """
    The result of a publish.

    @ivar created: whether the publish auto-created the node.
    @ivar stored: whether the item was kept (C{pubsub#persist_items}).
    @ivar evicted: older items dropped to respect C{max_items}.
    @ivar recipients: the JIDs to notify, in order.
    """

    node: Node
    item: Item
    created: bool
    stored: bool
    evicted: Tuple[Item, ...]
    recipients: Tuple[jid.JID, ...]


@dataclasses.dataclass(frozen=True)
class Retraction:
    """
    The result of a retract, or of a purge (all items).

    @ivar recipients: the JIDs to notify; empty when no notification is
        due.
    """

    node: Node
    items: Tuple[Item, ...]
    recipients: Tuple[jid.JID, ...]


@dataclasses.dataclass(frozen=True)
class Deletion:
    """
    The result of a node deletion: the node as it was, and whom to tell.
    """

    node: Node
    recipients: Tuple[jid.JID, ...]


@dataclasses.dataclass(frozen=True)
class Reconfiguration:
    """
    The result of a configuration or affiliation change.

    @ivar evicted: items dropped because C{max_items} shrank.
    @ivar cancelled: explicit subscriptions removed because their
        subscribers lost access (XEP-0163 section 7.1).
    """

    node: Node
    evicted: Tuple[Item, ...] = ()
    cancelled: Tuple[jid.JID, ...] = ()


@dataclasses.dataclass(frozen=True)
class Subscribed:
    """
    The result of a subscribe request.

    @ivar lastItem: the item to send the new subscriber (XEP-0060 section
        6.1.7), if the node sends it on subscription.
    """

    node: Node
    subscriber: jid.JID
    lastItem: Optional[Item]


class Interests:
    """
    Which namespaces each entity wants notifications for: the C{NS} of its
    C{NS+notify} caps features (XEP-0060 section 9.2, XEP-0163 section
    4.3), with an index by namespace so that recipients are found without
    scanning every entity (DESIGN.md section 9).

    Entities are full JIDs: interest is per session (XEP-0163 section 4.3.2
    rule 3).
    """

    def __init__(self) -> None:
        self._byEntity: Dict[jid.JID, FrozenSet[str]] = {}
        self._byNamespace: Dict[str, Set[jid.JID]] = {}

    def __len__(self) -> int:
        return len(self._byEntity)

    def set(self, entity: jid.JID, namespaces: Iterable[str]) -> FrozenSet[str]:
        """
        Replace an entity's interests.

        @return: the namespaces that were not among its interests before.
        """
        new = frozenset(namespaces)
        old = self._byEntity.get(entity, frozenset())
        for namespace in old - new:
            entities = self._byNamespace[namespace]
            entities.discard(entity)
            if not entities:
                del self._byNamespace[namespace]
        for namespace in new - old:
            self._byNamespace.setdefault(namespace, set()).add(entity)
        if new:
            self._byEntity[entity] = new
        else:
            self._byEntity.pop(entity, None)
        return new - old

    def discard(self, entity: jid.JID) -> None:
        """
        Forget an entity (its session ended).
        """
        self.set(entity, ())

    def get(self, entity: jid.JID) -> FrozenSet[str]:
        """
        @return: the entity's interests.
        """
        return self._byEntity.get(entity, frozenset())

    @property
    def byEntity(self) -> Mapping[jid.JID, FrozenSet[str]]:
        """
        Each entity's interests, read-only: what L{get} answers, for loops
        that ask for many entities (issue 16).
        """
        return self._byEntity

    def interested(self, entity: jid.JID, namespace: str) -> bool:
        """
        @return: whether C{entity} wants notifications of C{namespace}.
        """
        return namespace in self._byEntity.get(entity, ())

    def entities(self, namespace: str) -> FrozenSet[jid.JID]:
        """
        @return: every entity that wants notifications of C{namespace}.
        """
        return frozenset(self._byNamespace.get(namespace, ()))

    def clear(self) -> None:
        """
        Forget everyone.
        """
        self._byEntity.clear()
        self._byNamespace.clear()


#: The affiliations an owner may give others on a PEP node (XEP-0163
#: section 5: owner and subscriber; member for the whitelist, outcast to
#: ban). One publisher per node (XEP-0163 section 3.2): no publishers.
DEFAULT_ASSIGNABLE = frozenset({Affiliation.MEMBER, Affiliation.OUTCAST, Affiliation.NONE})


class Service:
    """
    One virtual pubsub service (an account's bare JID for PEP, a room or
    occupant JID for MEP): its nodes, and the use cases on them.

    Every method that takes a C{context} asks it
    (L{mepserver.interfaces.IPubSubContext}) who the requester is to this
    service; the caller builds the context for the request.

    @ivar jid: the service's JID, the C{from} of its notifications.
    @ivar nodes: NodeIDs to L{Node}s.
    @ivar defaults: the configuration of new nodes.
    @ivar accessModels: the access models nodes may have.
    @ivar assignable: the affiliations an owner may set (XEP-0060 8.9).
    @ivar maxItemsLimit: the most items a node keeps.
    @ivar persistent: whether the service's nodes and items are written to
        the store (a registry's business, not the model's).
    @ivar maxNodes: the most nodes the service holds (C{[pubsub]
        max_nodes}), or L{None} for no limit.
    @ivar maxBytes: the most bytes of payloads its nodes keep together
        (C{[pubsub] max_bytes}, counted by L{payloadSize}), or L{None} for
        no limit.
    """

    def __init__(
        self,
        serviceJID: jid.JID,
        ids,
        clock,
        defaults: NodeConfig = NodeConfig(),
        accessModels: FrozenSet[AccessModel] = frozenset(AccessModel),
        assignable: FrozenSet[Affiliation] = DEFAULT_ASSIGNABLE,
        maxItemsLimit: int = MAX_ITEMS_LIMIT,
        persistent: bool = True,
        maxNodes: Optional[int] = None,
        maxBytes: Optional[int] = None,
    ):
        """
        @param ids: the source of item ids, with C{newId()}
            (L{mepserver.ids.IdSource}).
        @param clock: the source of time, with C{seconds()}
            (L{twisted.internet.interfaces.IReactorTime}).
        """
        self.jid = serviceJID
        self.ids = ids
        self.clock = clock
        self.defaults = defaults
        self.accessModels = accessModels
        self.assignable = assignable
        self.maxItemsLimit = maxItemsLimit
        self.persistent = persistent
        self.maxNodes = maxNodes
        self.maxBytes = maxBytes
        self.nodes: Dict[str, Node] = {}

    def __repr__(self) -> str:
        return f"<Service {self.jid.full()} ({len(self.nodes)} nodes)>"

    # Configuration.

    def configure(self, base: NodeConfig, options: Optional[Mapping[str, Any]]) -> NodeConfig:
        """
        Apply submitted configuration values to C{base}.

        @param options: field vars to values (L{str}, L{bool} or sequences
            of strings); C{FORM_TYPE} is ignored.
        @raise errors.InvalidConfiguration: an unknown field or bad value.
        @raise errors.UnsupportedAccessModel: an access model this service
            does not offer.
        """
        changes = {}
        for var, value in (options or {}).items():
            if var == FORM_TYPE:
                continue
            parsed = NodeConfig.parse(var, value, self.maxItemsLimit)
            if var == "pubsub#access_model" and parsed not in self.accessModels:
                raise errors.UnsupportedAccessModel(
                    f"this service does not offer the access model {parsed.value!r}"
                )
            changes[_FIELDS_BY_VAR[var].attribute] = parsed
        return dataclasses.replace(base, **changes)

    def _checkPreconditions(self, node: Node, preconditions: Mapping[str, Any]) -> None:
        """
        XEP-0060 section 7.1.5: every field must equal the node's
        configuration; an unknown field fails too.
        """
        for var, value in preconditions.items():
            if var == FORM_TYPE:
                continue
            try:
                wanted = NodeConfig.parse(var, value, self.maxItemsLimit)
            except errors.InvalidConfiguration as e:
                raise errors.PreconditionNotMet(f"the precondition {e.text}") from None
            current = node.config.get(var)
            if isinstance(wanted, tuple):
                wanted, current = sorted(wanted), sorted(current)
            if wanted != current:
                shown = node.config.values()[var]
                raise errors.PreconditionNotMet(
                    f"the node {node.identifier!r} has {var} = {shown!r}, "
                    f"not {value if isinstance(value, str) else list(value)!r}"
                )

    # Who may do what.

    def _now(self) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(self.clock.seconds(), datetime.timezone.utc)

    def payloadBytes(self) -> int:
        """
        @return: the bytes of payloads the service's nodes keep.
        """
        return sum(node.size for node in self.nodes.values())

    @staticmethod
    def _checkIdentifier(identifier: str, what: str) -> None:
        """
        @raise errors.BadIdentifier: C{identifier} is a NodeID or ItemID
            the server cannot keep and send (L{identifierProblem}).
        """
        problem = identifierProblem(identifier, what)
        if problem is not None:
            raise errors.BadIdentifier(problem)

    def _checkNewNode(self, nodeIdentifier: str) -> None:
        """
        Check that a node may be added (XEP-0060 sections 7.1.4, 8.1).

        @raise errors.BadIdentifier: the NodeID cannot be kept.
        @raise errors.TooManyNodes: the service holds L{maxNodes} nodes.
        """
        self._checkIdentifier(nodeIdentifier, "the node name")
        if self.maxNodes is not None and len(self.nodes) >= self.maxNodes:
            raise errors.TooManyNodes(
                f"{self.jid.full()} holds {len(self.nodes)} nodes, the most one "
                f"service may hold here ([pubsub] max_nodes = {self.maxNodes}); "
                "delete one first"
            )

    def _checkPayloadQuota(self, node: Node, item: Item, limit: int) -> None:
        """
        Check that keeping C{item} in C{node} leaves the service within
        L{maxBytes}, counting what the item replaces and pushes out.

        @raise errors.PayloadTooBig: it would not (XEP-0060 7.1.3.5).
        """
        if self.maxBytes is None:
            return
        size = payloadSize(item)
        total = self.payloadBytes() - node._freedBy(item.id, limit) + size
        if total > self.maxBytes:
            raise errors.PayloadTooBig(
                f"the payload is {size} bytes, and {self.jid.full()} keeps at "
                f"most {self.maxBytes} bytes of payloads in all its nodes "
                f"([pubsub] max_bytes); it keeps {self.payloadBytes()} now: "
                "retract or purge items first"
            )

    def _node(self, nodeIdentifier: Optional[str]) -> Node:
        if not nodeIdentifier:
            raise errors.NodeIdRequired("the request must name a node")
        node = self.nodes.get(nodeIdentifier)
        if node is None:
            raise errors.ItemNotFound(f"there is no node {nodeIdentifier!r} at {self.jid.full()}")
        return node

    def _checkOwner(self, context, requestor: jid.JID, what: str) -> None:
        if not context.isOwner(requestor):
            raise errors.Forbidden(f"only the owner of {self.jid.full()} may {what}")

    def checkAccess(self, context, node: Node, entity: jid.JID) -> None:
        """
        Check that C{entity} may subscribe to C{node} and retrieve its
        items (XEP-0060 sections 4.1, 4.5, 6.1.3 and 6.5.9).

        @raise errors.Refusal: C{forbidden} for an outcast, then the access
            model's condition.
        """
        if context.isOwner(entity):
            return
        affiliation = node.affiliation(entity)
        if affiliation is Affiliation.OUTCAST:
            raise errors.Forbidden(f"you are banned from the node {node.identifier!r}")
        if affiliation in (Affiliation.OWNER, Affiliation.PUBLISHER, Affiliation.MEMBER):
            return
        model = node.config.accessModel
        if model is AccessModel.OPEN:
            return
        if model is AccessModel.PRESENCE:
            if not context.sharesPresence(entity):
                raise errors.PresenceSubscriptionRequired(
                    f"the node {node.identifier!r} is for those subscribed to "
                    f"{self.jid.full()}'s presence"
                )
        elif model is AccessModel.ROSTER:
            allowed = set(node.config.rosterGroupsAllowed)
            if not (context.sharesPresence(entity) and allowed.intersection(context.rosterGroups(entity))):
                raise errors.NotInRosterGroup(
                    f"the node {node.identifier!r} is for some roster groups of "
                    f"{self.jid.full()}, and you are in none of them"
                )
        else:
            raise errors.ClosedNode(
                f"the node {node.identifier!r} is for {self.jid.full()}'s whitelist only"
            )

    def mayAccess(self, context, node: Node, entity: jid.JID) -> bool:
        """
        @return: whether L{checkAccess} lets C{entity} in.
        """
        try:
            self.checkAccess(context, node, entity)
        except errors.Refusal:
            return False
        return True

    # Recipients.

    def _audience(self, context, node: Node) -> Tuple[jid.JID, ...]:
        """
        Whom a notification about C{node} goes to: the context's implicit
        subscribers interested in the node (XEP-0163 section 4.3, rules 2
        and 3), then explicit subscribers (rule 1, and section 4.3.2), each
        once, all with access.
        """
        candidates = context.candidates(node.identifier)
        if (
            context.candidatesSharePresence
            and not node.affiliations
            and node.config.accessModel in (AccessModel.OPEN, AccessModel.PRESENCE)
        ):
            # Each candidate is the owner's or shares presence, which is
            # all checkAccess would ask of it here (issue 16).
            if not node.subscriptions:
                # And each comes once: no one else to add.
                return tuple(candidates)
            found: Dict[jid.JID, None] = dict.fromkeys(candidates)
        else:
            found = {}
            for entity in candidates:
                if self.mayAccess(context, node, entity):
                    found[entity] = None
        for subscriber in node.subscriptions:
            if not self.mayAccess(context, node, subscriber):
                continue
            for target in context.explicitTargets(subscriber, node.identifier):
                found[target] = None
        return tuple(found)

    def recipients(self, context, node: Node) -> Tuple[jid.JID, ...]:
        """
        @return: the JIDs an item notification of C{node} goes to; none if
            the node delivers no notifications.
        """
        if not node.config.deliverNotifications:
            return ()
        return self._audience(context, node)

    # Publisher use cases (XEP-0060 section 7).

    def publish(
        self,
        context,
        requestor: jid.JID,
        nodeIdentifier: Optional[str],
        payload: Optional[str],
        itemIdentifier: Optional[str] = None,
        preconditions: Optional[Mapping[str, Any]] = None,
    ) -> Publication:
        """
        Publish an item, creating the node if needed (XEP-0060 sections
        7.1, 7.1.4 and 7.1.5).

        @param payload: the payload as XML text, or L{None}.
        @param itemIdentifier: the ItemID the publisher chose, or L{None}
            for a new one; an existing id is overwritten (7.1.3 note).
        @param preconditions: publish-options fields to values.
        @raise errors.Refusal: C{forbidden} for anyone the context does not
            let publish; C{nodeid-required}; C{precondition-not-met};
            C{payload-required} for a payload node; configuration errors
            when auto-creating with preconditions; C{policy-violation} for
            a NodeID or ItemID the server cannot keep; C{resource-constraint}
            past L{maxNodes}, C{not-acceptable} past L{maxBytes}.
        """
        if not context.mayPublish(requestor):
            raise errors.Forbidden(f"only the owner of {self.jid.full()} may publish there")
        if not nodeIdentifier:
            raise errors.NodeIdRequired("a publish must name a node")
        if itemIdentifier is not None:
            self._checkIdentifier(itemIdentifier, "the item id")
        node = self.nodes.get(nodeIdentifier)
        created = node is None
        if node is None:
            self._checkNewNode(nodeIdentifier)
            # Section 7.1.5 rule 3: the default configuration, except for
            # the preconditions.
            config = self.configure(self.defaults, preconditions)
            node = Node(nodeIdentifier, config)
        elif preconditions:
            self._checkPreconditions(node, preconditions)
        if payload is None and node.config.deliverPayloads:
            raise errors.PayloadRequired(
                f"the node {nodeIdentifier!r} delivers payloads: the item needs one"
            )
        item = Item(
            id=itemIdentifier or self.ids.newId(),
            payload=payload,
            publisher=requestor,
            published=self._now(),
        )
        limit = node.config.limit(self.maxItemsLimit)
        if node.config.persistItems:
            self._checkPayloadQuota(node, item, limit)
        # Nothing changes before every check passed.
        if created:
            self.nodes[nodeIdentifier] = node
        evicted: List[Item] = []
        if node.config.persistItems:
            evicted = node._keep(item, limit)
        return Publication(
            node=node,
            item=item,
            created=created,
            stored=node.config.persistItems,
            evicted=tuple(evicted),
            recipients=self.recipients(context, node),
        )

    def retract(
        self,
        context,
        requestor: jid.JID,
        nodeIdentifier: Optional[str],
        itemIdentifiers: Sequence[str],
        notify: bool = False,
    ) -> Retraction:
        """
        Delete items (XEP-0060 section 7.2).

        @param notify: the request's C{notify} attribute; notifications are
            also sent when the node's C{notify_retract} is on.
        @raise errors.Refusal: C{forbidden}; C{nodeid-required};
            C{item-required} without ids; C{item-not-found} for an unknown
            node or item (then nothing is deleted).
        """
        if not context.mayPublish(requestor):
            raise errors.Forbidden(f"only the owner of {self.jid.full()} may retract items")
        node = self._node(nodeIdentifier)
        if not itemIdentifiers:
            raise errors.ItemRequired("a retract must name an item")
        for itemIdentifier in itemIdentifiers:
            if itemIdentifier not in node.items:
                raise errors.ItemNotFound(
                    f"the node {node.identifier!r} has no item {itemIdentifier!r}"
                )
        items = node._remove(itemIdentifiers)
        recipients: Tuple[jid.JID, ...] = ()
        if notify or node.config.notifyRetract:
            recipients = self.recipients(context, node)
        return Retraction(node, items, recipients)

    # Subscriber use cases (XEP-0060 section 6).

    def items(
        self,
        context,
        requestor: jid.JID,
        nodeIdentifier: Optional[str],
        maxItems: Optional[int] = None,
        itemIdentifiers: Sequence[str] = (),
    ) -> List[Item]:
        """
        Retrieve items, oldest first (XEP-0060 section 6.5).

        @param maxItems: only the newest this many (6.5.7).
        @param itemIdentifiers: only these (6.5.8); unknown ones are left
            out.
        @raise errors.Refusal: the context's admission refusal, then
            C{nodeid-required}, C{item-not-found}, the access refusal.
        """
        context.admit(requestor)
        node = self._node(nodeIdentifier)
        self.checkAccess(context, node, requestor)
        if maxItems is not None and maxItems < 1:
            raise errors.BadRequest("max_items must be a positive integer")
        if itemIdentifiers:
            return [node.items[i] for i in dict.fromkeys(itemIdentifiers) if i in node.items]
        items = list(node.items.values())
        if maxItems is not None:
            items = items[-maxItems:]
        return items

    def subscribe(
        self, context, requestor: jid.JID, nodeIdentifier: Optional[str], subscriber: jid.JID
    ) -> Subscribed:
        """
        Subscribe C{subscriber} (XEP-0060 section 6.1); subscribing again is
        no error and changes nothing but the last item sent.

        @raise errors.Refusal: C{invalid-jid} when the bare JIDs of
            requestor and subscriber differ; the admission refusal;
            C{nodeid-required}; C{item-not-found}; the access refusal.
        """
        if subscriber.userhostJID() != requestor.userhostJID():
            raise errors.InvalidJID(
                f"you may subscribe your own JID only, not {subscriber.full()}"
            )
        context.admit(requestor)
        node = self._node(nodeIdentifier)
        self.checkAccess(context, node, subscriber)
        node.subscriptions[subscriber] = "subscribed"
        lastItem = None
        if node.config.sendLastPublishedItem is not SendLastPublished.NEVER:
            lastItem = node.lastItem()
        return Subscribed(node, subscriber, lastItem)

    def unsubscribe(
        self, context, requestor: jid.JID, nodeIdentifier: Optional[str], subscriber: jid.JID
    ) -> Node:
        """
        End an explicit subscription (XEP-0060 section 6.2).

        @raise errors.Refusal: C{forbidden} for someone else's JID;
            C{nodeid-required}; C{item-not-found}; C{not-subscribed}.
        """
        if subscriber.userhostJID() != requestor.userhostJID():
            raise errors.Forbidden(f"you may not unsubscribe {subscriber.full()}")
        node = self._node(nodeIdentifier)
        if node.subscriptions.pop(subscriber, None) is None:
            raise errors.NotSubscribed(
                f"{subscriber.full()} is not subscribed to {node.identifier!r}"
            )
        return node

    def subscriptionsOf(self, requestor: jid.JID) -> List[Tuple[Node, jid.JID, str]]:
        """
        The requester's explicit subscriptions at this service (XEP-0060
        section 5.6): those of its bare JID and of all its full JIDs.

        @return: C{(node, subscriber, state)} in node order.
        """
        bare = requestor.userhostJID()
        return [
            (node, subscriber, state)
            for _, node in sorted(self.nodes.items())
            for subscriber, state in node.subscriptions.items()
            if subscriber.userhostJID() == bare
        ]

    def affiliationsOf(self, context, requestor: jid.JID) -> List[Tuple[Node, Affiliation]]:
        """
        The requester's affiliations at this service (XEP-0060 section 5.7).
        """
        owner = context.isOwner(requestor)
        result = []
        for _, node in sorted(self.nodes.items()):
            affiliation = Affiliation.OWNER if owner else node.affiliation(requestor)
            if affiliation is not Affiliation.NONE:
                result.append((node, affiliation))
        return result

    # Owner use cases (XEP-0060 section 8).

    def create(
        self,
        context,
        requestor: jid.JID,
        nodeIdentifier: Optional[str],
        options: Optional[Mapping[str, Any]] = None,
    ) -> Node:
        """
        Create a node, with a configuration if given (XEP-0060 sections
        8.1.2 and 8.1.3).

        @raise errors.Refusal: C{forbidden}; C{nodeid-required} (instant
            nodes are not supported); C{conflict} if it exists;
            C{policy-violation} for a NodeID the server cannot keep;
            C{resource-constraint} past L{maxNodes}; configuration errors.
        """
        self._checkOwner(context, requestor, "create nodes")
        if not nodeIdentifier:
            raise errors.InstantNodesUnsupported("instant nodes are not supported: name the node")
        if nodeIdentifier in self.nodes:
            raise errors.NodeExists(f"the node {nodeIdentifier!r} exists already")
        self._checkNewNode(nodeIdentifier)
        node = Node(nodeIdentifier, self.configure(self.defaults, options))
        self.nodes[nodeIdentifier] = node
        return node

    def configuration(self, context, requestor: jid.JID, nodeIdentifier: Optional[str]) -> NodeConfig:
        """
        A node's configuration (XEP-0060 section 8.2).

        @raise errors.Refusal: C{forbidden}; C{nodeid-required};
            C{item-not-found}.
        """
        self._checkOwner(context, requestor, "configure nodes")
        return self._node(nodeIdentifier).config

    def reconfigure(
        self,
        context,
        requestor: jid.JID,
        nodeIdentifier: Optional[str],
        options: Mapping[str, Any],
    ) -> Reconfiguration:
        """
        Change a node's configuration (XEP-0060 section 8.2.5). Items beyond
        a smaller C{max_items} are dropped, and explicit subscribers who
        lose access are unsubscribed.

        @raise errors.Refusal: as L{configuration}, and configuration
            errors.
        """
        self._checkOwner(context, requestor, "configure nodes")
        node = self._node(nodeIdentifier)
        node.config = self.configure(node.config, options)
        evicted = node._trim(node.config.limit(self.maxItemsLimit))
        if not node.config.persistItems:
            evicted += node._trim(0)
        return Reconfiguration(node, tuple(evicted), self._cancelLost(context, node))

    def delete(self, context, requestor: jid.JID, nodeIdentifier: Optional[str]) -> Deletion:
        """
        Delete a node with its items (XEP-0060 section 8.4).

        @raise errors.Refusal: C{forbidden}; C{not-allowed} for the root
            collection (XEP-0248 section 7.4.3.1); C{item-not-found}.
        """
        self._checkOwner(context, requestor, "delete nodes")
        if not nodeIdentifier:
            raise errors.NotAllowed(f"the root collection node of {self.jid.full()} cannot be deleted")
        node = self._node(nodeIdentifier)
        recipients = self._audience(context, node) if node.config.notifyDelete else ()
        del self.nodes[nodeIdentifier]
        return Deletion(node, recipients)

    def purge(self, context, requestor: jid.JID, nodeIdentifier: Optional[str]) -> Retraction:
        """
        Delete every item of a node (XEP-0060 section 8.5).

        @return: a L{Retraction} whose recipients get a purge notification
            if the node has C{notify_retract} on.
        @raise errors.Refusal: C{forbidden}; C{nodeid-required};
            C{item-not-found}.
        """
        self._checkOwner(context, requestor, "purge nodes")
        node = self._node(nodeIdentifier)
        items = node._remove(list(node.items))
        recipients = self.recipients(context, node) if node.config.notifyRetract else ()
        return Retraction(node, items, recipients)

    def nodeAffiliations(
        self, context, requestor: jid.JID, nodeIdentifier: Optional[str]
    ) -> Dict[jid.JID, Affiliation]:
        """
        The affiliations with a node (XEP-0060 section 8.9.1), the owners
        first.

        @raise errors.Refusal: C{forbidden}; C{nodeid-required};
            C{item-not-found}.
        """
        self._checkOwner(context, requestor, "manage affiliations")
        node = self._node(nodeIdentifier)
        result = {owner: Affiliation.OWNER for owner in context.owners()}
        result.update(node.affiliations)
        return result

    def setAffiliations(
        self,
        context,
        requestor: jid.JID,
        nodeIdentifier: Optional[str],
        changes: Mapping[jid.JID, Affiliation],
    ) -> Reconfiguration:
        """
        Change affiliations (XEP-0060 section 8.9.2): all or nothing.
        Explicit subscribers who lose access are unsubscribed.

        @param changes: bare JIDs to their new affiliation; C{none}
            removes one.
        @raise errors.Refusal: as L{nodeAffiliations}; C{not-acceptable}
            for an affiliation this service does not let owners give, or a
            change to an owner's affiliation.
        """
        self._checkOwner(context, requestor, "manage affiliations")
        node = self._node(nodeIdentifier)
        for entity, affiliation in changes.items():
            if context.isOwner(entity):
                raise errors.NotAcceptable(
                    f"{entity.full()} owns {self.jid.full()}: its affiliation cannot change"
                )
            if affiliation not in self.assignable:
                raise errors.NotAcceptable(
                    f"the affiliation {affiliation.value!r} cannot be given at {self.jid.full()}"
                )
        for entity, affiliation in changes.items():
            if affiliation is Affiliation.NONE:
                node.affiliations.pop(entity.userhostJID(), None)
            else:
                node.affiliations[entity.userhostJID()] = affiliation
        return Reconfiguration(node, cancelled=self._cancelLost(context, node))

    def _cancelLost(self, context, node: Node) -> Tuple[jid.JID, ...]:
        lost = tuple(s for s in node.subscriptions if not self.mayAccess(context, node, s))
        for subscriber in lost:
            del node.subscriptions[subscriber]
        return lost

    def cancelLostSubscriptions(self, context, entity: jid.JID) -> List[Tuple[Node, jid.JID]]:
        """
        Unsubscribe C{entity}'s explicit subscriptions (of its bare JID or
        any full JID) from nodes it no longer has access to, after its
        relation with the owner changed (XEP-0163 section 7.1).

        @return: the C{(node, subscriber)} pairs removed.
        """
        bare = entity.userhostJID()
        removed = []
        for _, node in sorted(self.nodes.items()):
            for subscriber in list(node.subscriptions):
                if subscriber.userhostJID() != bare:
                    continue
                if not self.mayAccess(context, node, subscriber):
                    del node.subscriptions[subscriber]
                    removed.append((node, subscriber))
        return removed

    # Discovery and last items.

    def visibleNodes(self, context, requestor: jid.JID) -> List[Node]:
        """
        The nodes C{requestor} may subscribe to or retrieve items from, by
        NodeID (XEP-0163 section 6.2: only those go in disco#items).
        """
        return [
            node
            for _, node in sorted(self.nodes.items())
            if self.mayAccess(context, node, requestor)
        ]

    def lastItems(
        self, context, entity: jid.JID, namespaces: Optional[Iterable[str]] = None
    ) -> List[Tuple[Node, Item]]:
        """
        The last item of each node C{entity} gets on presence: the node
        sends it on presence (C{on_sub_and_presence}, XEP-0163 section
        4.3.4), delivers notifications, has an item and lets C{entity} in.

        @param namespaces: only nodes with these NodeIDs (the entity's
            interests, or the new ones); L{None} for all.
        """
        wanted = None if namespaces is None else set(namespaces)
        result = []
        for _, node in sorted(self.nodes.items()):
            if wanted is not None and node.identifier not in wanted:
                continue
            config = node.config
            if config.sendLastPublishedItem is not SendLastPublished.ON_SUB_AND_PRESENCE:
                continue
            item = node.lastItem()
            if item is None or not config.deliverNotifications:
                continue
            if self.mayAccess(context, node, entity):
                result.append((node, item))
        return result
