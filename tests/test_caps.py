# -*- test-case-name: tests.test_caps -*-
"""
Tests for L{mepserver.caps}: XEP-0115 verification strings (sections 5.1
to 5.4, with the vectors of MEP-REQUIREMENTS.md Appendix C), caps parsing
and the server-wide L{CapsCache} (sections 5.4, 6.2, 8).
"""

import base64
import hashlib

from twisted.internet import defer
from twisted.trial import unittest
from twisted.words.protocols.jabber import error, jid
from twisted.words.xish import domish

from mepserver.caps import (
    NS_CAPS,
    SUPPORTED_HASHES,
    Caps,
    CapsCache,
    MalformedDiscoInfo,
    computeVer,
    featuresFromDiscoInfo,
    notifyInterests,
    parseCaps,
    verFromDiscoInfo,
)
from tests.helpers import parseXml

NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"

EXODUS_IDENTITY = ("client", "pc", "", "Exodus 0.9.1")
EXODUS_FEATURES = [
    "http://jabber.org/protocol/caps",
    "http://jabber.org/protocol/disco#info",
    "http://jabber.org/protocol/disco#items",
    "http://jabber.org/protocol/muc",
]
# XEP-0115 section 5.2, as Appendix C spells S out.
EXODUS_S = (
    "client/pc//Exodus 0.9.1<http://jabber.org/protocol/caps<"
    "http://jabber.org/protocol/disco#info<http://jabber.org/protocol/disco#items<"
    "http://jabber.org/protocol/muc<"
)
EXODUS_VER = "QgayPKawpkPSDYmwT/WM94uAlu0="

# XEP-0115 section 5.3, the disco#info result of the complex example.
PSI_QUERY = """
  <query xmlns='http://jabber.org/protocol/disco#info'
         node='http://psi-im.org#q07IKJEyjvHSyhy//CH0CxmKi8w='>
    <identity xml:lang='en' category='client' name='Psi 0.11' type='pc'/>
    <identity xml:lang='el' category='client' name='\u03a8 0.11' type='pc'/>
    <feature var='http://jabber.org/protocol/caps'/>
    <feature var='http://jabber.org/protocol/disco#info'/>
    <feature var='http://jabber.org/protocol/disco#items'/>
    <feature var='http://jabber.org/protocol/muc'/>
    <x xmlns='jabber:x:data' type='result'>
      <field var='FORM_TYPE' type='hidden'>
        <value>urn:xmpp:dataforms:softwareinfo</value>
      </field>
      <field var='ip_version' type='text-multi' >
        <value>ipv4</value>
        <value>ipv6</value>
      </field>
      <field var='os'>
        <value>Mac</value>
      </field>
      <field var='os_version'>
        <value>10.5.1</value>
      </field>
      <field var='software'>
        <value>Psi</value>
      </field>
      <field var='software_version'>
        <value>0.11</value>
      </field>
    </x>
  </query>
"""
PSI_VER = "q07IKJEyjvHSyhy//CH0CxmKi8w="

# XEP-0163 section 1.2, Romeo's disco#info result.
ROMEO_QUERY = """
  <query xmlns='http://jabber.org/protocol/disco#info'>
    <identity category='client' name='Exodus 0.9.1' type='pc'/>
    <feature var='http://jabber.org/protocol/disco#info'/>
    <feature var='http://jabber.org/protocol/disco#items'/>
    <feature var='http://jabber.org/protocol/geoloc'/>
    <feature var='http://jabber.org/protocol/geoloc+notify'/>
    <feature var='http://jabber.org/protocol/tune'/>
    <feature var='http://jabber.org/protocol/tune+notify'/>
  </query>
"""
ROMEO_VER = "8sCKWRVwQ8QGlHElneJtW2POoFA="

FORM_SOFTWAREINFO = """
    <x xmlns='jabber:x:data' type='result'>
      <field var='FORM_TYPE' type='hidden'>
        <value>urn:xmpp:dataforms:softwareinfo</value>
      </field>
      <field var='os'><value>Mac</value></field>
    </x>
"""


def discoQuery(features, identities=(EXODUS_IDENTITY,), extra=""):
    """
    Build a disco#info result C{<query/>} from identities and features.

    @param extra: XML appended inside the query (forms, duplicates).
    """
    parts = ["<query xmlns='%s'>" % (NS_DISCO_INFO,)]
    for category, kind, lang, name in identities:
        element = domish.Element((None, "identity"))
        element["category"] = category
        element["type"] = kind
        if lang:
            element["xml:lang"] = lang
        if name:
            element["name"] = name
        parts.append(element.toXml())
    for feature in features:
        element = domish.Element((None, "feature"))
        element["var"] = feature
        parts.append(element.toXml())
    parts.append(extra)
    parts.append("</query>")
    return parseXml("".join(parts))


class VerificationStringTests(unittest.SynchronousTestCase):
    """
    L{computeVer} and L{verFromDiscoInfo}: XEP-0115 section 5.1.
    """

    def test_simpleExample(self):
        """
        The section 5.2 example hashes to its published ver.
        """
        self.assertEqual(EXODUS_VER, computeVer([EXODUS_IDENTITY], EXODUS_FEATURES))

    def test_simpleExampleFromDiscoInfo(self):
        """
        The same, from a disco#info result whose features are out of order.
        """
        query = discoQuery(list(reversed(EXODUS_FEATURES)))
        self.assertEqual(EXODUS_VER, verFromDiscoInfo(query, "sha-1"))

    def test_complexExample(self):
        """
        The section 5.3 example, parsed from the spec's XML, with two
        identities in different languages and a XEP-0128 form, hashes to
        its published ver.
        """
        self.assertEqual(PSI_VER, verFromDiscoInfo(parseXml(PSI_QUERY), "sha-1"))

    def test_complexExampleComputeVer(self):
        """
        The section 5.3 example given as tuples and a form mapping, with
        identities, features and values out of order.
        """
        form = {
            "software_version": ["0.11"],
            "ip_version": ["ipv6", "ipv4"],
            "FORM_TYPE": "urn:xmpp:dataforms:softwareinfo",
            "os": "Mac",
            "os_version": ["10.5.1"],
            "software": ["Psi"],
        }
        identities = [
            ("client", "pc", "en", "Psi 0.11"),
            ("client", "pc", "el", "\u03a8 0.11"),
        ]
        self.assertEqual(
            PSI_VER, computeVer(identities, list(reversed(EXODUS_FEATURES)), [form])
        )

    def test_romeo(self):
        """
        XEP-0163's Romeo result hashes to the value in Appendix C.
        """
        self.assertEqual(ROMEO_VER, verFromDiscoInfo(parseXml(ROMEO_QUERY)))

    def test_formsSortedByFormType(self):
        """
        Forms are hashed in FORM_TYPE order, whatever their order in the
        result (section 5.1 step 6).
        """
        form = (
            "<x xmlns='jabber:x:data' type='result'>"
            "<field var='FORM_TYPE' type='hidden'><value>%s</value></field>"
            "<field var='%s'><value>%s</value></field></x>"
        )
        formA, formB = form % ("urn:a", "f", "1"), form % ("urn:b", "g", "2")
        s = EXODUS_S + "urn:a<f<1<urn:b<g<2<"
        expected = base64.b64encode(hashlib.sha1(s.encode("utf-8")).digest()).decode()
        for extra in (formA + formB, formB + formA):
            query = discoQuery(EXODUS_FEATURES, extra=extra)
            self.assertEqual(expected, verFromDiscoInfo(query, "sha-1"))

    def test_otherHashes(self):
        """
        Every supported hash is applied to the UTF-8 of S and base64-encoded.
        """
        names = {
            "sha-1": "sha1",
            "sha-224": "sha224",
            "sha-256": "sha256",
            "sha-384": "sha384",
            "sha-512": "sha512",
            "md5": "md5",
        }
        self.assertEqual(set(names), set(SUPPORTED_HASHES))
        for iana, name in names.items():
            digest = hashlib.new(name, EXODUS_S.encode("utf-8")).digest()
            self.assertEqual(
                base64.b64encode(digest).decode("ascii"),
                computeVer([EXODUS_IDENTITY], EXODUS_FEATURES, hashName=iana),
            )

    def test_unsupportedHash(self):
        """
        An unknown hash name raises L{ValueError}.
        """
        self.assertRaises(
            ValueError, computeVer, [EXODUS_IDENTITY], EXODUS_FEATURES, (), "x-unknown"
        )

    def test_formsWithoutHiddenFormTypeIgnored(self):
        """
        Forms without a FORM_TYPE, or whose FORM_TYPE is not hidden, are
        ignored and the rest is processed (section 5.4 step 3.6).
        """
        extra = (
            "<x xmlns='jabber:x:data' type='result'>"
            "<field var='os'><value>Mac</value></field></x>"
            "<x xmlns='jabber:x:data' type='result'>"
            "<field var='FORM_TYPE' type='text-single'><value>urn:x</value></field>"
            "<field var='os'><value>Mac</value></field></x>"
        )
        query = discoQuery(EXODUS_FEATURES, extra=extra)
        self.assertEqual(EXODUS_VER, verFromDiscoInfo(query))

    def test_formTypeSameValueTwice(self):
        """
        A FORM_TYPE with two equal values is well-formed and hashed once.
        """
        extra = FORM_SOFTWAREINFO.replace(
            "<value>urn:xmpp:dataforms:softwareinfo</value>",
            "<value>urn:xmpp:dataforms:softwareinfo</value>" * 2,
        )
        query = discoQuery(EXODUS_FEATURES, extra=extra)
        self.assertEqual(
            verFromDiscoInfo(discoQuery(EXODUS_FEATURES, extra=FORM_SOFTWAREINFO)),
            verFromDiscoInfo(query),
        )

    def test_identitiesDifferingByName(self):
        """
        Two identities that differ only by name are not duplicates (section
        5.4 step 3.3 compares category/type/lang/name).
        """
        identities = [("client", "pc", "", "A"), ("client", "pc", "", "B")]
        query = discoQuery(EXODUS_FEATURES, identities=identities)
        self.assertEqual(
            computeVer(identities, EXODUS_FEATURES), verFromDiscoInfo(query)
        )


class MalformedDiscoInfoTests(unittest.SynchronousTestCase):
    """
    L{verFromDiscoInfo} rejects ill-formed results (section 5.4 step 3).
    """

    def assertMalformed(self, query):
        self.assertRaises(MalformedDiscoInfo, verFromDiscoInfo, query, "sha-1")

    def test_wellFormedBaseline(self):
        """
        The result the other tests spoil is accepted.
        """
        self.assertEqual(
            EXODUS_VER, verFromDiscoInfo(discoQuery(EXODUS_FEATURES), "sha-1")
        )

    def test_duplicateIdentity(self):
        """
        The same category/type/lang/name twice (step 3.3).
        """
        self.assertMalformed(
            discoQuery(EXODUS_FEATURES, identities=[EXODUS_IDENTITY] * 2)
        )

    def test_duplicateIdentityWithLang(self):
        """
        The same identity twice, both with an xml:lang (step 3.3).
        """
        identity = ("client", "pc", "en", "Psi")
        self.assertMalformed(discoQuery(EXODUS_FEATURES, identities=[identity] * 2))

    def test_duplicateFeature(self):
        """
        The same feature twice (step 3.4).
        """
        self.assertMalformed(discoQuery(EXODUS_FEATURES + EXODUS_FEATURES[:1]))

    def test_duplicateFormType(self):
        """
        Two forms with the same FORM_TYPE (step 3.5).
        """
        self.assertMalformed(
            discoQuery(EXODUS_FEATURES, extra=FORM_SOFTWAREINFO * 2)
        )

    def test_duplicateFormTypeOneNotHidden(self):
        """
        Step 3.5 precedes step 3.6: a duplicate FORM_TYPE counts even in a
        form that would then be ignored.
        """
        other = FORM_SOFTWAREINFO.replace("type='hidden'", "type='text-single'")
        self.assertMalformed(
            discoQuery(EXODUS_FEATURES, extra=FORM_SOFTWAREINFO + other)
        )

    def test_formTypeDifferentValues(self):
        """
        A FORM_TYPE field with two different values (step 3.5).
        """
        extra = FORM_SOFTWAREINFO.replace(
            "<value>urn:xmpp:dataforms:softwareinfo</value>",
            "<value>urn:xmpp:dataforms:softwareinfo</value><value>urn:other</value>",
        )
        self.assertMalformed(discoQuery(EXODUS_FEATURES, extra=extra))

    def test_delimiterInFeature(self):
        """
        A C{<} in a hashed string could shift text between the parts of S
        while keeping the hash (section 12.3), so it is rejected.
        """
        self.assertMalformed(discoQuery(["urn:a<urn:b"]))

    def test_delimiterInFormValue(self):
        """
        The same for a form value.
        """
        extra = FORM_SOFTWAREINFO.replace("Mac", "Mac&lt;urn:x+notify")
        self.assertMalformed(discoQuery(EXODUS_FEATURES, extra=extra))

    def test_identityWithoutType(self):
        """
        XEP-0030 requires category and type.
        """
        query = discoQuery(EXODUS_FEATURES)
        del query.firstChildElement().attributes["type"]
        self.assertMalformed(query)

    def test_featureWithoutVar(self):
        """
        XEP-0030 requires a feature's var.
        """
        query = discoQuery(EXODUS_FEATURES, extra="<feature/>")
        self.assertMalformed(query)

    def test_notAQuery(self):
        """
        Anything but a disco#info C{<query/>} is rejected, by
        L{featuresFromDiscoInfo} too.
        """
        element = parseXml("<query xmlns='http://jabber.org/protocol/disco#items'/>")
        self.assertMalformed(element)
        self.assertMalformed(None)
        self.assertRaises(MalformedDiscoInfo, featuresFromDiscoInfo, element)


class ParseCapsTests(unittest.SynchronousTestCase):
    """
    L{parseCaps}: the C{<c/>} of section 6.1, and the legacy format.
    """

    def test_caps(self):
        """
        The section 6.1 example gives its hash, node and ver.
        """
        presence = parseXml(
            """<presence>
              <c xmlns='http://jabber.org/protocol/caps'
                 hash='sha-1'
                 node='http://code.google.com/p/exodus'
                 ver='QgayPKawpkPSDYmwT/WM94uAlu0='/>
            </presence>""",
            "jabber:client",
        )
        caps = parseCaps(presence)
        self.assertEqual(
            Caps(hash="sha-1", node="http://code.google.com/p/exodus", ver=EXODUS_VER),
            caps,
        )
        self.assertEqual(
            "http://code.google.com/p/exodus#" + EXODUS_VER, caps.discoNode
        )

    def test_legacy(self):
        """
        Caps without C{hash} are legacy and ignored (section 5.4 step 1, R40).
        """
        presence = parseXml(
            "<presence><c xmlns='%s' node='http://example.com/c' ver='1.0'/></presence>"
            % (NS_CAPS,),
            "jabber:client",
        )
        self.assertIsNone(parseCaps(presence))

    def test_absent(self):
        """
        No C{<c/>}, or one in another namespace, gives L{None}.
        """
        self.assertIsNone(parseCaps(parseXml("<presence/>", "jabber:client")))
        presence = parseXml(
            "<presence><c xmlns='urn:other' hash='sha-1' node='n' ver='v'/></presence>",
            "jabber:client",
        )
        self.assertIsNone(parseCaps(presence))

    def test_noVer(self):
        """
        Caps without C{ver} give nothing to resolve.
        """
        presence = parseXml(
            "<presence><c xmlns='%s' hash='sha-1' node='n'/></presence>" % (NS_CAPS,),
            "jabber:client",
        )
        self.assertIsNone(parseCaps(presence))


class FeatureTests(unittest.SynchronousTestCase):
    """
    L{featuresFromDiscoInfo} and L{notifyInterests}.
    """

    def test_features(self):
        """
        The feature vars of a result, and nothing else.
        """
        self.assertEqual(
            frozenset(EXODUS_FEATURES),
            featuresFromDiscoInfo(discoQuery(EXODUS_FEATURES, extra=FORM_SOFTWAREINFO)),
        )

    def test_notifyInterests(self):
        """
        Each C{NS+notify} gives C{NS}; other features give nothing.
        """
        features = featuresFromDiscoInfo(parseXml(ROMEO_QUERY))
        self.assertEqual(
            frozenset(
                ["http://jabber.org/protocol/geoloc", "http://jabber.org/protocol/tune"]
            ),
            notifyInterests(features),
        )

    def test_notifyInterestsRemembered(self):
        """
        The answer for a feature set the caps cache hands out (a
        L{frozenset}) is remembered; other iterables are read each time.
        """
        features = frozenset(["urn:a+notify", "urn:b"])
        first = notifyInterests(features)
        self.assertEqual(frozenset(["urn:a"]), first)
        self.assertIs(first, notifyInterests(frozenset(["urn:b", "urn:a+notify"])))
        self.assertEqual(frozenset(["urn:a"]), notifyInterests(iter(["urn:a+notify"])))

    def test_bareNotify(self):
        """
        A feature that is only C{+notify} names no namespace.
        """
        self.assertEqual(
            frozenset(["urn:a"]), notifyInterests(["+notify", "urn:a+notify"])
        )


class FakeQuery:
    """
    A disco#info query function whose answers the test gives by hand.

    @ivar calls: C{(entity, node, deferred)} for each query sent.
    """

    def __init__(self):
        self.calls = []

    def __call__(self, entity, node):
        d = defer.Deferred()
        self.calls.append((entity, node, d))
        return d

    def answer(self, index, result):
        self.calls[index][2].callback(result)

    def fail(self, index, condition="service-unavailable"):
        self.calls[index][2].errback(error.StanzaError(condition))


ROMEO = jid.JID("romeo@montague.lit/orchard")
JULIET = jid.JID("juliet@capulet.lit/balcony")
NURSE = jid.JID("nurse@capulet.lit/kitchen")

N1 = "urn:example:n1"
GOOD_FEATURES = ["http://jabber.org/protocol/disco#info", N1, N1 + "+notify"]
GOOD_VER = computeVer([EXODUS_IDENTITY], GOOD_FEATURES)
GOOD = Caps(hash="sha-1", node="urn:example:client", ver=GOOD_VER)


def goodAnswer():
    return discoQuery(GOOD_FEATURES)


def poisonedAnswer():
    """
    An answer whose features differ from those GOOD_VER hashes.
    """
    return discoQuery(GOOD_FEATURES + ["urn:example:evil+notify"])


class CapsCacheTests(unittest.SynchronousTestCase):
    """
    L{CapsCache}: caps resolved once per (hash, ver) for the server
    (XEP-0115 sections 5.4, 6.2, 8.2; DESIGN.md section 9).
    """

    def setUp(self):
        self.cache = CapsCache()
        self.query = FakeQuery()

    def test_queriesTheEntity(self):
        """
        An unknown ver is asked of the announcing full JID, with node
        caps-node#ver (section 6.2, R36).
        """
        d = self.cache.resolve(ROMEO, GOOD, self.query)
        self.assertNoResult(d)
        self.assertEqual(
            [(ROMEO, "urn:example:client#" + GOOD_VER)],
            [(entity, node) for entity, node, _ in self.query.calls],
        )

    def test_verified(self):
        """
        A matching answer gives its features and is cached globally (R38).
        """
        d = self.cache.resolve(ROMEO, GOOD, self.query)
        self.assertIsNone(self.cache.known(GOOD))
        self.query.answer(0, goodAnswer())
        self.assertEqual(frozenset(GOOD_FEATURES), self.successResultOf(d))
        self.assertEqual(frozenset(GOOD_FEATURES), self.cache.known(GOOD))

    def test_cachedNoQuery(self):
        """
        Once (hash, ver) is verified, another entity with it, even under
        another caps node, gets the features at once and is not queried.
        """
        self.cache.resolve(ROMEO, GOOD, self.query)
        self.query.answer(0, goodAnswer())
        other = Caps(hash="sha-1", node="urn:example:other", ver=GOOD_VER)
        d = self.cache.resolve(JULIET, other, self.query)
        self.assertEqual(frozenset(GOOD_FEATURES), self.successResultOf(d))
        self.assertEqual(1, len(self.query.calls))

    def test_reset(self):
        """
        reset() forgets verified vers: the next entity is queried again.
        A lookup in flight across a reset still answers its caller.
        """
        self.cache.resolve(ROMEO, GOOD, self.query)
        self.query.answer(0, goodAnswer())
        self.cache.reset()
        self.assertIsNone(self.cache.known(GOOD))
        d = self.cache.resolve(JULIET, GOOD, self.query)
        self.assertEqual(2, len(self.query.calls))
        self.cache.reset()
        self.query.answer(1, goodAnswer())
        self.assertEqual(frozenset(GOOD_FEATURES), self.successResultOf(d))

    def test_otherSupportedHash(self):
        """
        A SHA-256 ver is verified with SHA-256 and cached under that hash
        only.
        """
        ver = computeVer([EXODUS_IDENTITY], GOOD_FEATURES, hashName="sha-256")
        caps = Caps(hash="sha-256", node="urn:example:client", ver=ver)
        d = self.cache.resolve(ROMEO, caps, self.query)
        self.query.answer(0, goodAnswer())
        self.assertEqual(frozenset(GOOD_FEATURES), self.successResultOf(d))
        self.assertEqual(frozenset(GOOD_FEATURES), self.cache.known(caps))
        self.assertIsNone(self.cache.known(Caps("sha-1", caps.node, ver)))

    def test_concurrentResolvesShareOneQuery(self):
        """
        While a (hash, ver) is being asked, others with it wait for that
        answer instead of being queried.
        """
        first = self.cache.resolve(ROMEO, GOOD, self.query)
        second = self.cache.resolve(JULIET, GOOD, self.query)
        third = self.cache.resolve(NURSE, GOOD, self.query)
        self.assertEqual(1, len(self.query.calls))
        self.assertNoResult(second)
        self.query.answer(0, goodAnswer())
        for d in (first, second, third):
            self.assertEqual(frozenset(GOOD_FEATURES), self.successResultOf(d))
        self.assertEqual(1, len(self.query.calls))

    def test_mismatch(self):
        """
        An answer that does not hash to the ver gives no features and is
        not cached, so the next entity with that ver is queried (R37).
        """
        d = self.cache.resolve(ROMEO, GOOD, self.query)
        self.query.answer(0, poisonedAnswer())
        self.assertEqual(frozenset(), self.successResultOf(d))
        self.assertIsNone(self.cache.known(GOOD))
        d = self.cache.resolve(JULIET, GOOD, self.query)
        self.assertEqual(2, len(self.query.calls))
        self.assertEqual(JULIET, self.query.calls[1][0])
        self.query.answer(1, goodAnswer())
        self.assertEqual(frozenset(GOOD_FEATURES), self.successResultOf(d))

    def test_mismatchNotRememberedForEntity(self):
        """
        A mismatch is not cached for the entity either: asking again
        queries again.
        """
        self.cache.resolve(ROMEO, GOOD, self.query)
        self.query.answer(0, poisonedAnswer())
        self.cache.resolve(ROMEO, GOOD, self.query)
        self.assertEqual(2, len(self.query.calls))

    def test_illFormed(self):
        """
        An answer listing a feature twice gives no features and is not
        cached, even though its features hash to the ver (R37).
        """
        d = self.cache.resolve(ROMEO, GOOD, self.query)
        self.query.answer(0, discoQuery(GOOD_FEATURES + [N1 + "+notify"]))
        self.assertEqual(frozenset(), self.successResultOf(d))
        self.assertIsNone(self.cache.known(GOOD))

    def test_poisonedInFlightAnswer(self):
        """
        If the answer others waited for does not verify, each waiter is
        queried itself (section 5.4 step 3.9), and a good answer from one
        of them is cached.
        """
        first = self.cache.resolve(ROMEO, GOOD, self.query)
        second = self.cache.resolve(JULIET, GOOD, self.query)
        third = self.cache.resolve(NURSE, GOOD, self.query)
        self.query.answer(0, poisonedAnswer())
        self.assertEqual(frozenset(), self.successResultOf(first))
        self.assertEqual(
            [ROMEO, JULIET, NURSE], [entity for entity, _, _ in self.query.calls]
        )
        self.assertNoResult(second)
        self.assertNoResult(third)
        self.query.answer(1, goodAnswer())
        self.assertEqual(frozenset(GOOD_FEATURES), self.successResultOf(second))
        self.assertEqual(frozenset(GOOD_FEATURES), self.cache.known(GOOD))
        self.query.answer(2, poisonedAnswer())
        self.assertEqual(frozenset(), self.successResultOf(third))
        self.assertEqual(frozenset(GOOD_FEATURES), self.cache.known(GOOD))

    def test_failedInFlightQuery(self):
        """
        If the query others waited for fails, each waiter is queried itself.
        """
        first = self.cache.resolve(ROMEO, GOOD, self.query)
        second = self.cache.resolve(JULIET, GOOD, self.query)
        self.query.fail(0)
        self.assertEqual(frozenset(), self.successResultOf(first))
        self.assertEqual(JULIET, self.query.calls[1][0])
        self.query.answer(1, goodAnswer())
        self.assertEqual(frozenset(GOOD_FEATURES), self.successResultOf(second))

    def test_queryError(self):
        """
        A stanza error means no features, nothing cached (R42), and no
        failure for the caller.
        """
        d = self.cache.resolve(ROMEO, GOOD, self.query)
        self.query.fail(0)
        self.assertEqual(frozenset(), self.successResultOf(d))
        self.assertIsNone(self.cache.known(GOOD))
        self.cache.resolve(ROMEO, GOOD, self.query)
        self.assertEqual(2, len(self.query.calls))

    def test_queryRaises(self):
        """
        A query function that raises counts as a failed query.
        """

        def query(entity, node):
            raise error.StanzaError("remote-server-not-found")

        d = self.cache.resolve(ROMEO, GOOD, query)
        self.assertEqual(frozenset(), self.successResultOf(d))

    def test_answerNotAQuery(self):
        """
        A result without a disco#info C{<query/>} verifies nothing.
        """
        d = self.cache.resolve(ROMEO, GOOD, self.query)
        self.query.answer(0, None)
        self.assertEqual(frozenset(), self.successResultOf(d))
        self.assertIsNone(self.cache.known(GOOD))

    def test_unsupportedHash(self):
        """
        A ver with an unknown hash is queried and trusted without check,
        for that JID only (section 5.4 step 2, R39): another entity with it
        is queried too, and the first is not asked again.
        """
        caps = Caps(hash="x-unknown", node="urn:example:client", ver="whatever")
        d = self.cache.resolve(ROMEO, caps, self.query)
        self.assertEqual(
            [(ROMEO, "urn:example:client#whatever")],
            [(entity, node) for entity, node, _ in self.query.calls],
        )
        self.query.answer(0, goodAnswer())
        self.assertEqual(frozenset(GOOD_FEATURES), self.successResultOf(d))
        self.assertIsNone(self.cache.known(caps))

        other = self.cache.resolve(JULIET, caps, self.query)
        self.assertEqual(JULIET, self.query.calls[1][0])
        self.query.answer(1, discoQuery(["urn:juliet"]))
        self.assertEqual(frozenset(["urn:juliet"]), self.successResultOf(other))

        again = self.cache.resolve(ROMEO, caps, self.query)
        self.assertEqual(frozenset(GOOD_FEATURES), self.successResultOf(again))
        self.assertEqual(2, len(self.query.calls))

    def test_resolveNow(self):
        """
        L{CapsCache.resolveNow} answers verified caps at once, as
        L{CapsCache.resolve} would, and replaces what the JID announced
        with an unsupported hash; unverified or unsupported caps it leaves
        to L{CapsCache.resolve}, changing nothing.
        """
        self.assertIsNone(self.cache.resolveNow(ROMEO, GOOD))
        self.assertEqual([], self.query.calls)
        unsupported = Caps(hash="x-unknown", node="urn:example:client", ver="whatever")
        self.cache.resolve(JULIET, unsupported, self.query)
        self.query.answer(0, discoQuery(["urn:juliet"]))
        self.assertIsNone(self.cache.resolveNow(JULIET, unsupported))
        self.cache.resolve(ROMEO, GOOD, self.query)
        self.query.answer(1, goodAnswer())
        self.assertEqual(frozenset(GOOD_FEATURES), self.cache.resolveNow(JULIET, GOOD))
        # Juliet's unsupported caps were replaced: she is asked again.
        self.cache.resolve(JULIET, unsupported, self.query)
        self.assertEqual(3, len(self.query.calls))

    def test_unsupportedHashOtherCaps(self):
        """
        The per-JID entry holds for the caps it was learnt with only.
        """
        caps = Caps(hash="x-unknown", node="urn:example:client", ver="v1")
        self.cache.resolve(ROMEO, caps, self.query)
        self.query.answer(0, goodAnswer())
        self.cache.resolve(ROMEO, Caps("x-unknown", caps.node, "v2"), self.query)
        self.assertEqual(2, len(self.query.calls))

    def test_forget(self):
        """
        L{CapsCache.forget} drops the per-JID entry: the JID is asked again.
        """
        caps = Caps(hash="x-unknown", node="urn:example:client", ver="whatever")
        self.cache.resolve(ROMEO, caps, self.query)
        self.query.answer(0, goodAnswer())
        self.cache.forget(ROMEO)
        self.cache.resolve(ROMEO, caps, self.query)
        self.assertEqual(2, len(self.query.calls))

    def test_forgetDuringQuery(self):
        """
        An answer arriving after L{CapsCache.forget} still fires, but is not
        remembered for the JID that went away.
        """
        caps = Caps(hash="x-unknown", node="urn:example:client", ver="whatever")
        d = self.cache.resolve(ROMEO, caps, self.query)
        self.cache.forget(ROMEO)
        self.query.answer(0, goodAnswer())
        self.assertEqual(frozenset(GOOD_FEATURES), self.successResultOf(d))
        self.cache.resolve(ROMEO, caps, self.query)
        self.assertEqual(2, len(self.query.calls))

    def test_supportedCapsReplacePerJid(self):
        """
        An entity that moves to a supported hash loses its per-JID entry.
        """
        caps = Caps(hash="x-unknown", node="urn:example:client", ver="whatever")
        self.cache.resolve(ROMEO, caps, self.query)
        self.query.answer(0, goodAnswer())
        self.cache.resolve(ROMEO, GOOD, self.query)
        self.cache.resolve(ROMEO, caps, self.query)
        self.assertEqual(3, len(self.query.calls))

    def test_forgetKeepsVerified(self):
        """
        Verified vers are global and outlive the entity that taught them.
        """
        self.cache.resolve(ROMEO, GOOD, self.query)
        self.query.answer(0, goodAnswer())
        self.cache.forget(ROMEO)
        self.assertEqual(frozenset(GOOD_FEATURES), self.cache.known(GOOD))

    def test_unsupportedHashQueryError(self):
        """
        A failed query for an unknown hash gives no features and caches
        nothing.
        """
        caps = Caps(hash="x-unknown", node="urn:example:client", ver="whatever")
        d = self.cache.resolve(ROMEO, caps, self.query)
        self.query.fail(0)
        self.assertEqual(frozenset(), self.successResultOf(d))
        self.cache.resolve(ROMEO, caps, self.query)
        self.assertEqual(2, len(self.query.calls))

    def test_verifiedBounded(self):
        """
        At most C{maxVerified} vers are kept; the least recently used goes.
        """
        self.cache.maxVerified = 2
        capsList = []
        for index in range(3):
            features = ["urn:feature:%d" % (index,)]
            caps = Caps("sha-1", "urn:example:client", computeVer([], features))
            capsList.append(caps)
            self.cache.resolve(ROMEO, caps, self.query)
            self.query.answer(index, discoQuery(features, identities=()))
            if index == 1:
                self.cache.known(capsList[0])  # now more recent than [1]
        self.assertIsNotNone(self.cache.known(capsList[0]))
        self.assertIsNone(self.cache.known(capsList[1]))
        self.assertIsNotNone(self.cache.known(capsList[2]))
