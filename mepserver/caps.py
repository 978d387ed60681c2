# -*- test-case-name: tests.test_caps -*-
"""
Entity capabilities (XEP-0115) as the server consumes them.

Implements, from XEP-0115: the verification string (section 5.1, with the
XEP-0128 extended information forms of section 5.3), its processing and
validation (section 5.4), the disco#info query for an unknown ver (section
6.2), caching (section 8.2, globally per (hash, ver) as DESIGN.md section 9
asks) and the assumption of no support until caps resolve (section 8.3).
XEP-0163 section 4.3 and XEP-0060 section 9.2 give the use: the namespaces
an entity wants notifications for are the C{NS+notify} features it
advertises (L{notifyInterests}).

Mandatory SHA-1 (section 9.1) and the other hashes in L{SUPPORTED_HASHES}
are verified; any other hash is queried, never verified, and remembered for
that JID only (section 5.4 step 2).
"""

import base64
import functools
import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Tuple, Union

from twisted.internet import defer
from twisted.logger import Logger
from twisted.words.protocols.jabber import jid
from twisted.words.xish import domish
from wokkel.data_form import NS_X_DATA
from wokkel.disco import NS_DISCO_INFO

from mepserver.namespaces import NS_XML
from mepserver.stanza import forLog

NS_CAPS = "http://jabber.org/protocol/caps"

NOTIFY_SUFFIX = "+notify"

# IANA "Hash Function Textual Names" (XEP-0115 section 5.1 step 9, section
# 9.1) mapped to hashlib's names.
_HASHES = {
    "sha-1": "sha1",
    "sha-224": "sha224",
    "sha-256": "sha256",
    "sha-384": "sha384",
    "sha-512": "sha512",
    "md5": "md5",
}

SUPPORTED_HASHES = frozenset(_HASHES)

log = Logger()

Identity = Tuple[str, str, str, str]
Form = Mapping[str, Union[str, Iterable[str]]]
Query = Callable[[jid.JID, str], defer.Deferred]

#: L{CapsOutcome.status} values: a query about the caps is in flight; the
#: answer verified (section 5.4 step 3.8); an unsupported hash's answer was
#: taken unverified (step 2.3); the query failed (an error answer, a
#: timeout); the answer hashes to another ver (step 3.7); the answer is
#: ill-formed (step 3).
PENDING = "pending"
VERIFIED = "verified"
UNVERIFIED = "unverified"
QUERY_FAILED = "query-failed"
HASH_MISMATCH = "hash-mismatch"
MALFORMED = "malformed"


@dataclass(frozen=True)
class CapsOutcome:
    """
    What became of resolving one entity's caps (L{CapsCache.outcome}),
    for the delivery explainer (L{mepserver.mep.deliveries}), which tells a
    client developer why the caps gave no interest.

    @ivar status: one of L{PENDING}, L{VERIFIED}, L{UNVERIFIED},
        L{QUERY_FAILED}, L{HASH_MISMATCH} and L{MALFORMED}.
    @ivar computed: for L{HASH_MISMATCH}, the ver the answer hashes to.
    @ivar error: for L{QUERY_FAILED} and L{MALFORMED}, what went wrong,
        cut to a log line's length.
    """

    status: str
    computed: Optional[str] = None
    error: Optional[str] = None


class MalformedDiscoInfo(Exception):
    """
    A disco#info response that XEP-0115 section 5.4 step 3 calls
    ill-formed, or that is no disco#info C{<query/>} at all.
    """


@dataclass(frozen=True)
class Caps:
    """
    The caps an entity announced in a presence C{<c/>} element.

    @ivar hash: the IANA name of the hash function, such as C{"sha-1"}.
    @ivar node: the software's caps node, such as
        C{"http://code.google.com/p/exodus"}.
    @ivar ver: the verification string.
    """

    hash: str
    node: str
    ver: str

    @property
    def discoNode(self) -> str:
        """
        The disco node to query: caps node, C{#}, ver (section 6.2).
        """
        return self.node + "#" + self.ver


def parseCaps(presence: domish.Element) -> Optional[Caps]:
    """
    Read the caps a presence stanza carries.

    Caps without a C{hash} attribute are the legacy format, which the server
    ignores (section 5.4 step 1, section 13). So are caps without the
    C{node} or C{ver} the schema requires.

    @param presence: a C{<presence/>} element.
    @return: the first C{<c xmlns=NS_CAPS/>} child as L{Caps}, or L{None}
        when there is none or it is legacy or incomplete.
    """
    for child in presence.elements(NS_CAPS, "c"):
        hashName = child.getAttribute("hash")
        node = child.getAttribute("node")
        ver = child.getAttribute("ver")
        if not hashName or node is None or not ver:
            return None
        return Caps(hash=hashName, node=node, ver=ver)
    return None


def _digest(hashName: str, data: bytes) -> str:
    try:
        name = _HASHES[hashName]
    except KeyError:
        raise ValueError("unsupported caps hash %r" % (hashName,)) from None
    # usedforsecurity=False keeps md5 available where FIPS mode forbids it.
    digest = hashlib.new(name, data, usedforsecurity=False).digest()
    return base64.b64encode(digest).decode("ascii")


def _formString(form: Form) -> List[str]:
    parts = [str(form["FORM_TYPE"])]
    for var in sorted(v for v in form if v != "FORM_TYPE"):
        values = form[var]
        if isinstance(values, str):
            values = [values]
        parts.append(var)
        parts.extend(sorted(values))
    return parts


def computeVer(
    identities: Iterable[Identity],
    features: Iterable[str],
    forms: Iterable[Form] = (),
    hashName: str = "sha-1",
) -> str:
    """
    Compute a verification string (XEP-0115 section 5.1).

    Sorting is by i;octet, that is by UTF-8 bytes, which for Python strings
    is code point order. Identities sort by category, then type, then lang
    (the literal reading of step 2), and by name last so the result never
    depends on input order. No validation happens here; see
    L{verFromDiscoInfo}.

    @param identities: C{(category, type, lang, name)} tuples; lang and
        name are C{""} when absent.
    @param features: the feature vars.
    @param forms: XEP-0128 forms as mappings from C{"FORM_TYPE"} to its
        value and from every other var to its values (a list, or one
        string).
    @param hashName: the IANA hash name, one of L{SUPPORTED_HASHES}.
    @return: the base64 hash.
    @raise ValueError: for an unsupported C{hashName}.
    """
    parts = ["/".join(identity) for identity in sorted(identities)]
    parts.extend(sorted(features))
    for form in sorted(forms, key=lambda form: str(form["FORM_TYPE"])):
        parts.extend(_formString(form))
    s = "".join(part + "<" for part in parts)
    return _digest(hashName, s.encode("utf-8"))


def _checkQuery(query) -> None:
    if not (
        isinstance(query, domish.Element)
        and query.uri == NS_DISCO_INFO
        and query.name == "query"
    ):
        raise MalformedDiscoInfo("not a disco#info query: %r" % (query,))


def _lang(identity: domish.Element) -> str:
    # The parser keys xml:lang by namespace; hand-built elements may not.
    return identity.getAttribute((NS_XML, "lang")) or identity.getAttribute(
        "xml:lang", ""
    )


def _parseForm(x: domish.Element) -> Optional[Tuple[str, bool, Dict[str, List[str]]]]:
    formType = None
    hidden = False
    fields: Dict[str, List[str]] = {}
    for field in x.elements(NS_X_DATA, "field"):
        var = field.getAttribute("var")
        if not var:
            continue  # nothing to append for it (section 5.1 step 7.3.1)
        values = [str(value) for value in field.elements(NS_X_DATA, "value")]
        if var == "FORM_TYPE":
            if formType is not None or len(set(values)) > 1:
                raise MalformedDiscoInfo("more than one FORM_TYPE in a form")
            formType = values[0] if values else ""
            hidden = field.getAttribute("type") == "hidden"
        elif var in fields:
            raise MalformedDiscoInfo("field %r twice in form" % (var,))
        else:
            fields[var] = values
    if not formType:
        return None
    return formType, hidden, fields


def _parseDiscoInfo(
    query: domish.Element,
) -> Tuple[List[Identity], List[str], List[Dict[str, object]]]:
    """
    Extract identities, features and caps forms, rejecting ill-formed ones.
    """
    _checkQuery(query)
    identities: List[Identity] = []
    features: List[str] = []
    forms: List[Dict[str, object]] = []
    formTypes = set()
    for child in query.elements():
        if child.uri == NS_DISCO_INFO and child.name == "identity":
            category = child.getAttribute("category")
            kind = child.getAttribute("type")
            if not category or not kind:
                raise MalformedDiscoInfo("identity without category or type")
            identity = (category, kind, _lang(child), child.getAttribute("name", ""))
            if identity in identities:
                raise MalformedDiscoInfo("identity %r twice" % ("/".join(identity),))
            identities.append(identity)
        elif child.uri == NS_DISCO_INFO and child.name == "feature":
            var = child.getAttribute("var")
            if not var:
                raise MalformedDiscoInfo("feature without var")
            if var in features:
                raise MalformedDiscoInfo("feature %r twice" % (var,))
            features.append(var)
        elif child.uri == NS_X_DATA and child.name == "x":
            # The x type is not checked: sections 5.1 and 5.4 hash every
            # form whose FORM_TYPE is hidden, and so do generating clients.
            parsed = _parseForm(child)
            if parsed is None:
                continue  # no FORM_TYPE: ignored (section 5.4 step 3.6)
            formType, hidden, fields = parsed
            # Step 3.5 comes before step 3.6: duplicates count even among
            # forms that are then ignored.
            if formType in formTypes:
                raise MalformedDiscoInfo("FORM_TYPE %r twice" % (formType,))
            formTypes.add(formType)
            if hidden:
                form: Dict[str, object] = dict(fields)
                form["FORM_TYPE"] = formType
                forms.append(form)
    # Section 12.3 (caps poisoning): "<" is S's delimiter, so a string
    # holding it could move text between identities, features and forms
    # while keeping S, and with it the hash, unchanged.
    for text in _strings(identities, features, forms):
        if "<" in text:
            raise MalformedDiscoInfo("'<' in %r" % (text,))
    return identities, features, forms


def _strings(identities, features, forms) -> Iterable[str]:
    for identity in identities:
        yield from identity
    yield from features
    for form in forms:
        for var, values in form.items():
            yield var
            if isinstance(values, str):
                yield values
            else:
                yield from values


def verFromDiscoInfo(query: domish.Element, hashName: str = "sha-1") -> str:
    """
    Compute the verification string of a disco#info result (sections 5.1,
    5.4).

    Forms without a FORM_TYPE, or whose FORM_TYPE field is not of type
    C{hidden}, are left out (section 5.4 step 3.6).

    @param query: the C{<query xmlns='http://jabber.org/protocol/disco#info'/>}
        element of the result.
    @param hashName: the IANA hash name, one of L{SUPPORTED_HASHES}.
    @return: the base64 hash.
    @raise MalformedDiscoInfo: for an ill-formed response (section 5.4
        step 3): an identity or feature twice, a FORM_TYPE in two forms or
        with different values; also an identity without category or type,
        a feature without var, a field twice in one form and any C{<} in
        the hashed strings (section 12.3).
    @raise ValueError: for an unsupported C{hashName}.
    """
    identities, features, forms = _parseDiscoInfo(query)
    return computeVer(identities, features, forms, hashName)


def featuresFromDiscoInfo(query: domish.Element) -> frozenset:
    """
    The feature vars of a disco#info result.

    @param query: the C{<query/>} element of the result.
    @return: a L{frozenset} of L{str}.
    @raise MalformedDiscoInfo: if C{query} is not a disco#info C{<query/>}.
    """
    _checkQuery(query)
    return frozenset(
        feature.getAttribute("var")
        for feature in query.elements(NS_DISCO_INFO, "feature")
        if feature.getAttribute("var")
    )


def notifyInterests(features: Iterable[str]) -> frozenset:
    """
    The namespaces an entity asks notifications for (XEP-0163 section 4.3,
    XEP-0060 section 9.2): each C{NS} whose C{NS+notify} is a feature.

    @param features: feature vars; a L{frozenset}'s answer is remembered
        (L{_notifyInterestsOf}): the caps cache hands out the same one to
        every entity that announces the same caps.
    @return: a L{frozenset} of namespaces.
    """
    if isinstance(features, frozenset):
        return _notifyInterestsOf(features)
    return _notifyInterests(features)


@functools.lru_cache(maxsize=256)
def _notifyInterestsOf(features: frozenset) -> frozenset:
    return _notifyInterests(features)


def _notifyInterests(features: Iterable[str]) -> frozenset:
    return frozenset(
        feature[: -len(NOTIFY_SUFFIX)]
        for feature in features
        if feature.endswith(NOTIFY_SUFFIX) and len(feature) > len(NOTIFY_SUFFIX)
    )


class _Lookup:
    """
    A verifying disco query in flight for one (hash, ver).

    @ivar waiters: C{(entity, caps, query, deferred)} for every later
        L{CapsCache.resolve} of the same (hash, ver).
    """

    def __init__(self) -> None:
        self.waiters: List[Tuple[jid.JID, Caps, Query, defer.Deferred]] = []


class DiscoInfoQuery:
    """
    The disco#info query that L{CapsCache.resolve} sends to learn what a
    verification string stands for (XEP-0115 section 6.2): from one address
    (the server's domain for PEP, a room for MEP, OQ-13), through an
    L{mepserver.iqclient.IQClient}.
    """

    def __init__(self, iqClient, sender: jid.JID):
        """
        @param iqClient: the L{mepserver.iqclient.IQClient} that sends the
            query and matches its answer.
        @param sender: the query's C{from}.
        """
        self.iqClient = iqClient
        self.sender = sender

    def __call__(self, entity: jid.JID, node: str) -> defer.Deferred:
        """
        Ask C{entity} for the disco#info of C{node}.

        @return: a Deferred firing with the result's C{<query/>}.
        """
        query = domish.Element((NS_DISCO_INFO, "query"))
        query["node"] = node
        return self.iqClient.request(self.sender, entity, query)


def unresolvedOutcome(unresolved, entity: jid.JID, caps: Caps) -> Optional[CapsOutcome]:
    """
    @param unresolved: L{CapsCache.unresolved}, or a snapshot of it.
    @return: the outcome of C{entity}'s unresolved C{caps} in it, or
        L{None}.
    """
    for announced, outcome in unresolved.get(entity, ()):
        if announced == caps:
            return outcome
    return None


class CapsCache:
    """
    The server-wide caps cache: (hash, ver) to features.

    L{resolve} queries an entity only when its caps are not known yet, and
    asks once per (hash, ver) for the whole server (DESIGN.md section 9).
    Its Deferred never fails: a query error, a mismatching hash or an
    ill-formed answer give an empty feature set (no interest, section 8.3),
    are logged, and are cached nowhere.

    Memory: verified (hash, ver) entries are shared by every entity and
    kept in least-recently-used order, at most L{maxVerified} of them;
    an evicted ver is simply queried again. Per-JID state exists only for
    unsupported hashes, at most one entry per JID (its latest caps), until
    L{forget}. Lookups in flight last as long as the query's Deferred, so
    the C{query} function must time out (a wokkel IQ timeout does).
    What became of each entity's caps that did not resolve (L{outcome}:
    pending, failed) is kept per JID, for its latest L{maxOutcomes} caps,
    until they resolve or L{forget}; so it is small, and L{unresolved}
    copies it cheaply.

    @ivar maxVerified: the most verified (hash, ver) entries kept.
    @ivar maxOutcomes: the most unresolved caps per JID whose outcome is
        kept.
    """

    maxVerified = 10000
    maxOutcomes = 4

    def __init__(self) -> None:
        self._verified: "OrderedDict[Tuple[str, str], frozenset]" = OrderedDict()
        self._inFlight: Dict[Tuple[str, str], _Lookup] = {}
        self._perEntity: Dict[jid.JID, Tuple[Caps, frozenset]] = {}
        self._perEntityPending: Dict[jid.JID, object] = {}
        # Copy-on-write: each value is replaced, never changed, so that a
        # shallow copy is a snapshot.
        self._unresolved: Dict[jid.JID, Tuple[Tuple[Caps, CapsOutcome], ...]] = {}

    def outcome(self, entity: jid.JID, caps: Caps) -> Optional[CapsOutcome]:
        """
        What became of resolving C{caps} for C{entity}: verified for any
        entity once the (hash, ver) is verified; unverified once taken for
        this JID with an unsupported hash; otherwise what the last
        L{resolve} of these caps for this JID came to.

        @return: the L{CapsOutcome}, or L{None} if these caps were never
            resolved for this JID (or it was forgotten).
        """
        if (caps.hash, caps.ver) in self._verified:
            return CapsOutcome(VERIFIED)
        return unresolvedOutcome(self._unresolved, entity, caps) or (
            CapsOutcome(UNVERIFIED) if self.features(entity, caps) is not None else None
        )

    def unresolved(self) -> Dict[jid.JID, Tuple[Tuple[Caps, CapsOutcome], ...]]:
        """
        A snapshot of the outcomes of caps that did not resolve: pending
        queries and failures, per JID (read it with L{unresolvedOutcome}).
        Caps that resolved have none: they are L{known}, or, with an
        unsupported hash, their features are kept for the JID.
        """
        return dict(self._unresolved)

    def features(self, entity: jid.JID, caps: Caps) -> Optional[frozenset]:
        """
        The features behind C{entity}'s C{caps} as far as they are known,
        without changing the order of eviction (for inspection): those of
        the verified (hash, ver), or those taken unverified for this JID
        (an unsupported hash, section 5.4 step 2).

        @return: the feature set, or L{None}.
        """
        features = self._verified.get((caps.hash, caps.ver))
        if features is not None:
            return features
        entry = self._perEntity.get(entity)
        if entry is not None and entry[0] == caps:
            return entry[1]
        return None

    def _begin(self, entity: jid.JID, caps: Caps) -> None:
        """
        Note that C{entity}'s C{caps} are being resolved.
        """
        kept = [pair for pair in self._unresolved.get(entity, ()) if pair[0] != caps]
        kept.append((caps, CapsOutcome(PENDING)))
        self._unresolved[entity] = tuple(kept[-self.maxOutcomes:])

    def _settle(self, entity: jid.JID, caps: Caps, outcome: CapsOutcome) -> None:
        """
        Note what resolving C{entity}'s C{caps} came to, unless the JID was
        forgotten meanwhile: a failure replaces the pending outcome, a
        success removes it.
        """
        pairs = self._unresolved.get(entity, ())
        if all(pair[0] != caps for pair in pairs):
            return
        kept = tuple(pair for pair in pairs if pair[0] != caps)
        if outcome.status not in (VERIFIED, UNVERIFIED):
            kept += ((caps, outcome),)
        if kept:
            self._unresolved[entity] = kept
        else:
            del self._unresolved[entity]

    def known(self, caps: Caps) -> Optional[frozenset]:
        """
        The features of a verified (hash, ver).

        @param caps: the caps; the node is not part of the key.
        @return: the feature set, or L{None} if not verified (yet).
        """
        key = (caps.hash, caps.ver)
        features = self._verified.get(key)
        if features is not None:
            self._verified.move_to_end(key)
        return features

    def resolveNow(self, entity: jid.JID, caps: Caps) -> Optional[frozenset]:
        """
        The features behind an entity's caps, if they are known without a
        query: a verified (hash, ver), the server-wide cache that
        L{resolve} reads first. Once known, a (hash, ver) costs its
        announcers no query and no Deferred (issue 16: every room join
        carries caps).

        @return: as L{resolve} would fire with, having done what it does
            for known caps; or L{None}, having done nothing: then call
            L{resolve}.
        """
        # Only supported hashes are ever verified (unsupported ones are
        # remembered per JID, and resolve() looks those up).
        features = self.known(caps)
        if features is not None:
            # Supported caps replace whatever this JID had announced before.
            self._perEntity.pop(entity, None)
            self._perEntityPending.pop(entity, None)
        return features

    def resolve(self, entity: jid.JID, caps: Caps, query: Query) -> defer.Deferred:
        """
        Find the features behind an entity's caps.

        Fires synchronously when the answer is cached: globally for a
        verified (hash, ver) (section 5.4 step 3.8, R38), or for this JID
        and these caps with an unsupported hash (step 2.3, R39). Otherwise
        queries C{entity}, unless a query for the same supported (hash, ver)
        is already in flight: then it waits for that one, and if that answer
        fails verification or the query fails, queries C{entity} itself,
        so that one client's poisoned answer decides nothing for the others
        (step 3.9).

        The result is for C{caps}: a caller whose entity has announced
        other caps meanwhile should drop it.

        @param entity: the full JID that announced C{caps} (section 6.2).
        @param caps: its caps, from L{parseCaps}.
        @param query: C{query(entity, node)} sends a disco#info get with
            that node to C{entity} and returns a Deferred firing with the
            result's C{<query/>} element, or failing (stanza error,
            timeout).
        @return: a Deferred that fires with a L{frozenset} of features,
            empty when the caps could not be resolved; it never fails.
        """
        if caps.hash not in SUPPORTED_HASHES:
            return self._resolveForEntity(entity, caps, query)
        # Supported caps replace whatever this JID had announced before.
        self._perEntity.pop(entity, None)
        self._perEntityPending.pop(entity, None)
        features = self.known(caps)
        if features is not None:
            return defer.succeed(features)
        self._begin(entity, caps)
        key = (caps.hash, caps.ver)
        lookup = self._inFlight.get(key)
        if lookup is not None:
            waiter = defer.Deferred()
            lookup.waiters.append((entity, caps, query, waiter))
            return waiter
        lookup = self._inFlight[key] = _Lookup()

        def done(features):
            if self._inFlight.get(key) is lookup:
                del self._inFlight[key]
            if features is not None:
                for otherEntity, otherCaps, _, waiter in lookup.waiters:
                    self._settle(otherEntity, otherCaps, CapsOutcome(VERIFIED))
                    waiter.callback(features)
                return features
            for otherEntity, otherCaps, otherQuery, waiter in lookup.waiters:
                self._verify(otherEntity, otherCaps, otherQuery).addCallback(
                    _orEmpty
                ).chainDeferred(waiter)
            return frozenset()

        return self._verify(entity, caps, query).addCallback(done)

    def reset(self) -> None:
        """
        Forget everything, verified vers included (test fixtures' reset, so
        that each test sees the server query its clients afresh). A lookup
        in flight still answers its callers.
        """
        self._verified.clear()
        self._inFlight.clear()
        self._perEntity.clear()
        self._perEntityPending.clear()
        self._unresolved.clear()

    def forget(self, entity: jid.JID) -> None:
        """
        Drop what is known for one JID only, when it goes offline.

        @param entity: the full JID.
        """
        self._perEntity.pop(entity, None)
        self._perEntityPending.pop(entity, None)
        self._unresolved.pop(entity, None)

    def _remember(self, caps: Caps, features: frozenset) -> None:
        self._verified[(caps.hash, caps.ver)] = features
        self._verified.move_to_end((caps.hash, caps.ver))
        while len(self._verified) > self.maxVerified:
            self._verified.popitem(last=False)

    def _verify(self, entity: jid.JID, caps: Caps, query: Query) -> defer.Deferred:
        """
        Query C{entity} and check the answer against C{caps.ver}.

        @return: a Deferred firing with the features, after caching them
            globally, or with L{None} if the query failed, the answer was
            ill-formed or its hash did not match.
        """

        def check(result):
            try:
                ver = verFromDiscoInfo(result, caps.hash)
            except MalformedDiscoInfo as e:
                log.info(
                    "Ill-formed caps disco#info from {entity}: {error}",
                    entity=entity.full(),
                    error=forLog(e),
                )
                self._settle(entity, caps, CapsOutcome(MALFORMED, error=forLog(e)))
                return None
            if ver != caps.ver:
                log.info(
                    "Caps hash mismatch from {entity}: announced {announced},"
                    " answer hashes to {computed}",
                    entity=entity.full(),
                    announced=forLog(caps.ver),
                    computed=ver,
                )
                self._settle(entity, caps, CapsOutcome(HASH_MISMATCH, computed=ver))
                return None
            features = featuresFromDiscoInfo(result)
            self._remember(caps, features)
            self._settle(entity, caps, CapsOutcome(VERIFIED))
            return features

        d = defer.maybeDeferred(query, entity, caps.discoNode)
        d.addCallbacks(check, self._failed, errbackArgs=(entity, caps))
        d.addErrback(_unexpected, entity)
        return d

    def _resolveForEntity(
        self, entity: jid.JID, caps: Caps, query: Query
    ) -> defer.Deferred:
        """
        Resolve caps with an unsupported hash: query, don't validate, and
        remember the features for this JID only (section 5.4 step 2).
        """
        entry = self._perEntity.get(entity)
        if entry is not None and entry[0] == caps:
            return defer.succeed(entry[1])
        self._perEntity.pop(entity, None)
        token = object()
        self._perEntityPending[entity] = token
        self._begin(entity, caps)

        def got(result):
            try:
                features = featuresFromDiscoInfo(result)
            except MalformedDiscoInfo as e:
                log.info(
                    "Caps disco#info from {entity} is no disco#info: {error}",
                    entity=entity.full(),
                    error=forLog(e),
                )
                self._settle(entity, caps, CapsOutcome(MALFORMED, error=forLog(e)))
                features = frozenset()
            else:
                self._settle(entity, caps, CapsOutcome(UNVERIFIED))
                # Only the latest query for a JID still present counts.
                if self._perEntityPending.get(entity) is token:
                    self._perEntity[entity] = (caps, features)
            return features

        def cleanUp(result):
            if self._perEntityPending.get(entity) is token:
                del self._perEntityPending[entity]
            return result

        d = defer.maybeDeferred(query, entity, caps.discoNode)
        d.addCallbacks(got, self._failed, errbackArgs=(entity, caps))
        d.addBoth(cleanUp)
        d.addErrback(_unexpected, entity)
        d.addCallback(_orEmpty)
        return d

    def _failed(self, failure, entity: jid.JID, caps: Caps) -> None:
        # A stanza error (an error answer, or the IQ client's timeout):
        # its condition and text, as a client developer reads them.
        condition = getattr(failure.value, "condition", None)
        if isinstance(condition, str):
            text = getattr(failure.value, "text", None)
            why = f"{condition}: {text}" if text else condition
        else:
            why = failure.getErrorMessage() or failure.type.__name__
        self._settle(entity, caps, CapsOutcome(QUERY_FAILED, error=forLog(why)))
        return self._queryFailed(failure, entity)

    @staticmethod
    def _queryFailed(failure, entity: jid.JID) -> None:
        # R42: a failed query means no interest; the caller sees no error.
        log.info(
            "Caps disco#info to {entity} failed: {why}",
            entity=entity.full(),
            why=forLog(failure.getErrorMessage() or failure.type.__name__),
        )
        return None


def _orEmpty(features: Optional[frozenset]) -> frozenset:
    return frozenset() if features is None else features


def _unexpected(failure, entity: jid.JID) -> None:
    log.failure("Resolving caps of {entity}", failure, entity=entity.full())
    return None
