# -*- test-case-name: tests.test_mam_query -*-
"""
Tests for L{mepserver.mam.query}: the archive query protocol of XEP-0313
(sections 4 and 5) and its XEP-0059 paging, shared by the account and
room archives. Queries are XML literals shaped like the XEP's examples;
whole queries run against a L{MemoryArchiveStore} and are answered through
L{mepserver.errors.answerIQ}, as a handler answers them.
"""

from twisted.internet import defer
from twisted.trial import unittest

from mepserver import errors
from mepserver.interfaces import ArchivedMessage, ArchivePage, ArchiveQuery
from mepserver.mam.query import (
    MAMRequest,
    PageLimits,
    fetchMetadata,
    finElement,
    metadataElement,
    parseQuery,
    queryForm,
    resultMessage,
    runQuery,
)
from mepserver.storage.memory import MemoryArchiveStore
from tests.helpers import assertStanza, parseXml

NS_MAM = "urn:xmpp:mam:2"
NS_RSM = "http://jabber.org/protocol/rsm"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
ARCHIVE = "juliet@capulet.lit"


def form(*fields, formType=NS_MAM):
    """
    A submitted query form with C{(var, value-or-values)} fields.
    """
    xml = "<x xmlns='jabber:x:data' type='submit'>"
    if formType is not None:
        xml += f"<field var='FORM_TYPE' type='hidden'><value>{formType}</value></field>"
    for var, values in fields:
        if isinstance(values, str):
            values = [values]
        xml += f"<field var='{var}'>" + "".join(f"<value>{v}</value>" for v in values) + "</field>"
    return xml + "</x>"


def rsm(**parts):
    """
    An RSM C{<set/>}; a part of value C{""} is an empty element.
    """
    inner = "".join(
        f"<{name}/>" if value == "" else f"<{name}>{value}</{name}>"
        for name, value in parts.items()
    )
    return f"<set xmlns='{NS_RSM}'>{inner}</set>"


def query(body="", attributes=""):
    """
    A C{<query xmlns='urn:xmpp:mam:2'/>} element.
    """
    return parseXml(f"<query xmlns='{NS_MAM}' {attributes}>{body}</query>")


def archived(n, with_="romeo@montague.lit/orchard"):
    """
    The C{n}th message of a test archive, UID C{"m<n>"}, at 1000+n s.
    """
    return ArchivedMessage(
        id=f"m{n}",
        timestamp=1000.0 + n,
        with_=with_,
        stanza=(
            f"<message xmlns='jabber:client' from='{with_}' to='{ARCHIVE}/balcony' "
            f"type='chat' id='c{n}'><body>line {n}</body></message>"
        ),
    )


class ParseQueryTests(unittest.SynchronousTestCase):
    """
    L{parseQuery}: section 4.1's fields, XEP-0059's set, and the refusals.
    """

    def assertRefused(self, exceptionType, element, text):
        e = self.assertRaises(exceptionType, parseQuery, element)
        self.assertIn(text, e.text)

    def test_empty(self):
        """
        Section 4, example 1: a bare query selects everything, first page
        of the default size, and keeps its C{queryid}.
        """
        request = parseQuery(query(attributes="queryid='f27'"), PageLimits(default=7))
        self.assertEqual(MAMRequest(ArchiveQuery(max=7), queryId="f27"), request)

    def test_filters(self):
        """
        Sections 4.1.1 to 4.1.3: with (normalised), start and end (XEP-0082
        DateTimes, as seconds), after-id, before-id and ids.
        """
        request = parseQuery(
            query(
                form(
                    ("with", "Juliet@Capulet.lit/Balcony"),
                    ("start", "2010-06-07T00:00:00Z"),
                    ("end", "2010-07-07T13:23:54.5+01:00"),
                    ("after-id", "28482-98726-73623"),
                    ("before-id", "09af3-cc343-b409f"),
                    ("ids", ["a", "b"]),
                )
            )
        )
        self.assertEqual(
            ArchiveQuery(
                with_="juliet@capulet.lit/Balcony",
                start=1275868800.0,
                end=1278509034.5 - 3600,
                afterId="28482-98726-73623",
                beforeId="09af3-cc343-b409f",
                ids=("a", "b"),
                max=20,
            ),
            request.query,
        )

    def test_emptyFieldsAreAbsent(self):
        """
        A field without a value, and a form without FORM_TYPE, filter
        nothing.
        """
        request = parseQuery(query(form(("with", []), ("ids", []), formType=None)))
        self.assertEqual(ArchiveQuery(max=20), request.query)

    def test_rsm(self):
        """
        Section 4.3: RSM C{<max/>}, C{<after/>} and C{<before/>} (empty:
        the last page), C{<flip-page/>}.
        """
        self.assertEqual(
            ArchiveQuery(after="09af3", max=10),
            parseQuery(query(rsm(max="10", after="09af3"))).query,
        )
        request = parseQuery(query(rsm(max="3", before="") + "<flip-page/>"))
        self.assertEqual(ArchiveQuery(before="", max=3), request.query)
        self.assertTrue(request.flip)
        self.assertEqual(
            ArchiveQuery(before="x1", max=20), parseQuery(query(rsm(before="x1"))).query
        )

    def test_maxIsCapped(self):
        """
        Section 4.3.1: a larger C{<max/>} than the server allows is cut
        down to its limit; C{0} asks for the count alone (XEP-0059 2.7).
        """
        limits = PageLimits(default=5, maximum=50)
        self.assertEqual(50, parseQuery(query(rsm(max="5000")), limits).query.max)
        self.assertEqual(0, parseQuery(query(rsm(max="0")), limits).query.max)
        self.assertEqual(5, parseQuery(query(rsm(after="x")), limits).query.max)

    def test_badMax(self):
        """
        A C{<max/>} that is not a non-negative integer is a bad request.
        """
        for value in ("-1", "ten", "1.5", "²"):
            self.assertRefused(errors.BadRequest, query(rsm(max=value)), "<max/>")

    def test_index(self):
        """
        XEP-0059 section 2.4: a page by index is refused with
        C{feature-not-implemented}, which that section allows.
        """
        self.assertRefused(
            errors.FeatureNotImplemented, query(rsm(max="10", index="3")), "<index/>"
        )

    def test_badDates(self):
        """
        Section 4.1.2: start and end must be XEP-0082 DateTimes.
        """
        for var in ("start", "end"):
            for value in ("yesterday", "2010-13-01T00:00:00Z", "2010-06-07"):
                self.assertRefused(errors.BadRequest, query(form((var, value))), repr(var))

    def test_badWith(self):
        """
        Section 4.1.1: C{with} must be a JID.
        """
        self.assertRefused(errors.BadRequest, query(form(("with", "@capulet.lit"))), "'with'")
        self.assertRefused(errors.BadRequest, query(form(("with", "a@b/"))), "not a JID")

    def test_unknownField(self):
        """
        Section 4.1.4: a field the server does not know is refused with
        C{feature-not-implemented}; one the caller declared is returned.
        """
        element = query(form(("include-groupchat", "false")))
        self.assertRefused(errors.FeatureNotImplemented, element, "'include-groupchat'")
        request = parseQuery(element, extraFields=[("include-groupchat", "boolean")])
        self.assertEqual({"include-groupchat": ["false"]}, request.extra)

    def test_badForms(self):
        """
        Another FORM_TYPE, a form that is not submitted, two forms, a
        field without var, two values for one field: bad requests.
        """
        cases = [
            (form(formType="urn:xmpp:mam:1"), "FORM_TYPE"),
            (form().replace("'submit'", "'cancel'"), "'cancel'"),
            (form() + form(), "one data form"),
            (form().replace("var='FORM_TYPE'", ""), "no 'var'"),
            (form(("start", ["2010-06-07T00:00:00Z", "2010-06-08T00:00:00Z"])), "one value"),
        ]
        for body, text in cases:
            self.assertRefused(errors.BadRequest, query(body), text)

    def test_node(self):
        """
        Section 5.3 reserves C{node} for pubsub archives (XEP-0442), which
        are not kept here.
        """
        self.assertRefused(
            errors.FeatureNotImplemented, query(attributes="node='princely'"), "pubsub"
        )


class RenderTests(unittest.SynchronousTestCase):
    """
    The elements of the answers: the form, results, fin and metadata.
    """

    def test_queryForm(self):
        """
        Section 4.1.4: the form lists FORM_TYPE and the six fields with
        their types, C{ids} with an open validation, plus the caller's.
        """
        element = queryForm([("include-groupchat", "boolean")])
        assertStanza(
            self,
            element,
            f"<query xmlns='{NS_MAM}'><x xmlns='jabber:x:data' type='form'>"
            f"<field type='hidden' var='FORM_TYPE'><value>{NS_MAM}</value></field>"
            "<field type='jid-single' var='with'/>"
            "<field type='text-single' var='start'/>"
            "<field type='text-single' var='end'/>"
            "<field type='text-single' var='before-id'/>"
            "<field type='text-single' var='after-id'/>"
            "<field type='list-multi' var='ids'>"
            "<validate xmlns='http://jabber.org/protocol/xdata-validate' datatype='xs:string'>"
            "<open/></validate></field>"
            "<field type='boolean' var='include-groupchat'/>"
            "</x></query>",
            namespace=None,
        )
        self.assertNotIn("required", element.toXml())

    def test_resultMessage(self):
        """
        Section 4.2: the result carries the UID and queryid and forwards
        the stored message with a delay stamp of its time.
        """
        message = resultMessage(archived(1), "f27")
        assertStanza(
            self,
            message,
            f"<message><result xmlns='{NS_MAM}' queryid='f27' id='m1'>"
            "<forwarded xmlns='urn:xmpp:forward:0'>"
            "<delay xmlns='urn:xmpp:delay' stamp='1970-01-01T00:16:41Z'/>"
            "<message xmlns='jabber:client' from='romeo@montague.lit/orchard' "
            "type='chat' id='c1'><body>line 1</body></message>"
            "</forwarded></result></message>",
        )
        self.assertNotIn("queryid", resultMessage(archived(1)).toXml())

    def test_resultMessageRendered(self):
        """
        A caller may forward another rendering of the message.
        """
        stanza = parseXml("<message xmlns='jabber:client' from='x@y/z'/>")
        message = resultMessage(archived(1), stanza=stanza)
        self.assertIs(stanza, next(message.result.forwarded.elements("jabber:client", "message")))

    def test_fin(self):
        """
        Section 4.3.2: first (with its index), last and count; complete
        only when the page is the end of the result set.
        """
        page = ArchivePage((archived(3), archived(4)), complete=False, count=9, index=2)
        fin = finElement(page)
        assertStanza(
            self,
            fin,
            f"<fin xmlns='{NS_MAM}'><set xmlns='{NS_RSM}'>"
            "<first index='2'>m3</first><last>m4</last><count>9</count></set></fin>",
            namespace=None,
        )
        self.assertIsNone(fin.getAttribute("complete"))
        last = finElement(ArchivePage((archived(9),), complete=True, count=9, index=8))
        self.assertEqual("true", last["complete"])

    def test_finEmpty(self):
        """
        XEP-0059 section 2.2: an empty page has no first and last, only
        the count.
        """
        fin = finElement(ArchivePage((), complete=True, count=0, index=None))
        self.assertEqual(["count"], [e.name for e in fin.set.elements()])
        self.assertEqual("0", str(fin.set.count))

    def test_metadata(self):
        """
        Section 5: start and end of the archive, or an empty element.
        """
        assertStanza(
            self,
            metadataElement(archived(1), archived(2)),
            f"<metadata xmlns='{NS_MAM}'><start id='m1' timestamp='1970-01-01T00:16:41Z'/>"
            "<end id='m2' timestamp='1970-01-01T00:16:42Z'/></metadata>",
            namespace=None,
        )
        self.assertEqual([], list(metadataElement(None, None).elements()))


class RunQueryTests(unittest.TestCase):
    """
    L{runQuery} against a memory store, answered as a handler answers.
    """

    def setUp(self):
        self.store = MemoryArchiveStore()
        self.sent = []
        for n in range(1, 6):
            self.store.archiveMessage(ARCHIVE, archived(n), None)

    def run_(self, body="", attributes="", **kwargs):
        """
        Run a query IQ from juliet's balcony; C{self.sent} gets the result
        messages and, last, the IQ answer.
        """
        iq = parseXml(
            f"<iq type='set' id='q1' from='{ARCHIVE}/balcony' to='{ARCHIVE}'>"
            f"<query xmlns='{NS_MAM}' {attributes}>{body}</query></iq>",
            "jabber:client",
        )
        d = errors.answerIQ(
            iq, defer.ensureDeferred(runQuery(self.store, ARCHIVE, iq, self.sent.append, **kwargs))
        )
        d.addCallback(self.sent.append)
        return self.sent

    def resultIds(self):
        return [m.result["id"] for m in self.sent[:-1]]

    def test_pages(self):
        """
        Sections 4.2 and 4.3: results in order, from the archive to the
        querier, then the IQ result with the fin; the next page by
        C{<after/>}.
        """
        self.run_(rsm(max="2"), "queryid='f27'")
        self.assertEqual(["m1", "m2"], self.resultIds())
        for message in self.sent[:-1]:
            self.assertEqual((ARCHIVE, f"{ARCHIVE}/balcony", "f27"), (
                message["from"], message["to"], message.result["queryid"]))
        assertStanza(
            self,
            self.sent[-1],
            "<iq type='result' id='q1'><fin xmlns='urn:xmpp:mam:2'>"
            f"<set xmlns='{NS_RSM}'><first index='0'>m1</first><last>m2</last>"
            "<count>5</count></set></fin></iq>",
        )
        del self.sent[:]
        self.run_(rsm(max="2", after="m4"))
        self.assertEqual(["m5"], self.resultIds())
        self.assertEqual("true", self.sent[-1].fin["complete"])

    def test_lastPageFlipped(self):
        """
        Sections 4.3.3 and 4.3.4: the last page, flipped, comes newest
        first; first and last in the fin stay chronological.
        """
        self.run_(rsm(max="2", before="") + "<flip-page/>")
        self.assertEqual(["m5", "m4"], self.resultIds())
        fin = self.sent[-1].fin
        self.assertEqual(
            ("m4", "m5", "3"), (str(fin.set.first), str(fin.set.last), fin.set.first["index"])
        )

    def test_limits(self):
        """
        The server's page limits apply when the query has none.
        """
        self.run_(limits=PageLimits(default=3, maximum=4))
        self.assertEqual(["m1", "m2", "m3"], self.resultIds())

    def test_render(self):
        """
        A renderer's rendering is forwarded; what it renders as None is
        left out.
        """
        def render(message):
            if message.id == "m2":
                return None
            return parseXml(f"<message xmlns='jabber:client' id='r-{message.id}'/>")

        self.run_(rsm(max="3"), render=render)
        self.assertEqual(["m1", "m3"], self.resultIds())
        forwarded = self.sent[0].result.forwarded
        self.assertEqual("r-m1", next(forwarded.elements("jabber:client", "message"))["id"])

    def assertError(self, condition, kind, text):
        [answer] = self.sent
        assertStanza(
            self,
            answer,
            f"<iq type='error' id='q1'><error type='{kind}'><{condition} xmlns='{NS_STANZAS}'/>"
            "</error></iq>",
        )
        self.assertIn(text, str(answer.error.text))

    def test_unknownIds(self):
        """
        Sections 4.1.3 and 4.3.2: a UID the archive does not hold, in
        after-id, before-id, ids or RSM after and before, is answered with
        item-not-found, and no results are sent.
        """
        for body in (
            form(("after-id", "nope")),
            form(("before-id", "nope")),
            form(("ids", ["m1", "nope"])),
            rsm(after="nope"),
            rsm(before="nope"),
        ):
            del self.sent[:]
            self.run_(body)
            self.assertError("item-not-found", "cancel", "'nope'")

    def test_refusals(self):
        """
        Parsing refusals become stanza errors with their text.
        """
        self.run_(form(("start", "soon")))
        self.assertError("bad-request", "modify", "'start'")
        del self.sent[:]
        self.run_(form(("{urn:example}fulltext", "x")))
        self.assertError("feature-not-implemented", "cancel", "{urn:example}fulltext")

    @defer.inlineCallbacks
    def test_metadata(self):
        """
        Section 5: the first and last message of the archive; empty for an
        empty one.
        """
        metadata = yield defer.ensureDeferred(fetchMetadata(self.store, ARCHIVE))
        self.assertEqual(("m1", "m5"), (metadata.start["id"], metadata.end["id"]))
        empty = yield defer.ensureDeferred(fetchMetadata(self.store, "nobody@capulet.lit"))
        self.assertEqual([], list(empty.elements()))
