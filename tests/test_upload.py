# -*- test-case-name: tests.test_upload -*-
"""
Tests for L{mepserver.upload}: HTTP File Upload (XEP-0363) slots over a
stub stream, the C{/upload/} resource through treq's C{StubTreq}, expiry on
a L{task.Clock}, quotas and the stores.
"""

import json
import os

from treq.testing import StubTreq
from twisted.internet import task
from twisted.trial import unittest
from twisted.web import resource
from twisted.words.protocols.jabber import jid
from wokkel import disco

from mepserver import errors
from mepserver.upload.handler import UploadHandler
from mepserver.upload.model import UploadService
from mepserver.upload.resource import UploadResource
from mepserver.upload.store import DiskFileStore, MemoryFileStore
from tests.helpers import StubStream, assertStanza, parseXml

BASE = "http://127.0.0.1:5280"
ROMEO = jid.JID("romeo@montague.tld/garden")


def tokens():
    """
    @return: a token source giving C{t1}, C{t2}, ...
    """
    counter = iter(range(1, 1000))
    return lambda: f"t{next(counter)}"


def makeService(clock=None, store=None, **kwargs):
    """
    An upload service for C{montague.tld} at 1000 seconds, with predictable
    tokens, a 20000 byte limit, a 50000 byte quota and 300 s slots.
    """
    if clock is None:
        clock = task.Clock()
        clock.advance(1000)
    settings = dict(maxFileSize=20000, quota=50000, slotLifetime=300, baseURL=BASE)
    settings.update(kwargs)
    return UploadService(
        "montague.tld",
        store if store is not None else MemoryFileStore(),
        clock,
        newToken=tokens(),
        **settings,
    )


class SlotRequestTests(unittest.TestCase):
    """
    Section 4 (Requesting a slot) and section 6 (Error conditions) over a
    stub stream.
    """

    def setUp(self):
        self.clock = task.Clock()
        self.clock.advance(1000)
        self.service = makeService(self.clock)
        self.stream = StubStream()
        self.handler = UploadHandler(self.service)
        self.handler.parent = self.stream
        self.handler.makeConnection(self.stream)
        self.handler.connectionInitialized()

    def request(self, attributes, sender="romeo@montague.tld/garden"):
        """
        Send a slot request with the given attributes; return the answer.
        """
        self.stream.output.clear()
        self.stream.dispatch(
            parseXml(
                f"<iq from='{sender}' id='step_03' to='upload.montague.tld' type='get'>"
                f"<request xmlns='urn:xmpp:http:upload:0' {attributes}/></iq>",
                "jabber:client",
            )
        )
        [answer] = self.stream.output
        return answer

    def test_slot(self):
        """
        Example 5 and 6: a slot with a PUT and a GET URL under
        C{/upload/<token>/}, the file name percent-encoded, and no headers.
        """
        answer = self.request(
            "filename='très cool.jpg' size='2345' content-type='image/jpeg'"
        )
        url = f"{BASE}/upload/t1/tr%C3%A8s%20cool.jpg"
        assertStanza(
            self,
            answer,
            "<iq from='upload.montague.tld' id='step_03' "
            "to='romeo@montague.tld/garden' type='result'>"
            "<slot xmlns='urn:xmpp:http:upload:0'>"
            f"<put url='{url}'/><get url='{url}'/></slot></iq>",
        )
        self.assertEqual([], answer.slot.put.children)

    def test_fileTooLarge(self):
        """
        Example 7: C{not-acceptable} with C{<file-too-large>} and the
        maximum.
        """
        answer = self.request("filename='a.jpg' size='20001'")
        assertStanza(
            self,
            answer,
            "<iq type='error' id='step_03'><error type='modify'>"
            "<not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
            "<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>File too large. "
            "The maximum file size is 20000 bytes</text>"
            "<file-too-large xmlns='urn:xmpp:http:upload:0'>"
            "<max-file-size>20000</max-file-size></file-too-large></error></iq>",
        )

    def test_badRequest(self):
        """
        A missing, empty or path-like file name, and a missing, zero or
        non-numeric size, or an invalid content type get C{bad-request}.
        """
        for attributes in (
            "size='10'",
            "filename='' size='10'",
            "filename='../x' size='10'",
            "filename='a\\b' size='10'",
            "filename='a.txt'",
            "filename='a.txt' size='0'",
            "filename='a.txt' size='-1'",
            "filename='a.txt' size='1e3'",
            "filename='a.txt' size='10' content-type='text'",
        ):
            assertStanza(
                self,
                self.request(attributes),
                "<iq type='error'><error type='modify'>"
                "<bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
                "</error></iq>",
            )

    def test_forbidden(self):
        """
        Example 9's condition for requesters from other domains, and for
        the domain itself.
        """
        for sender in ("juliet@capulet.tld/balcony", "montague.tld", "conference.montague.tld"):
            assertStanza(
                self,
                self.request("filename='a.txt' size='10'", sender=sender),
                "<iq type='error'><error type='auth'>"
                "<forbidden xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
                "</error></iq>",
            )

    def test_quotaRetry(self):
        """
        Example 8: while unused slots hold the quota, C{resource-constraint}
        with a C{<retry/>} stamped with the expiry that frees enough room.
        """
        self.request("filename='a' size='20000'")
        self.clock.advance(10)
        self.request("filename='b' size='20000'")
        answer = self.request("filename='c' size='20000'")
        assertStanza(
            self,
            answer,
            "<iq type='error'><error type='wait'>"
            "<resource-constraint xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
            "<retry xmlns='urn:xmpp:http:upload:0' stamp='1970-01-01T00:21:40Z'/>"
            "</error></iq>",
        )
        # Once the first slot expires, its room is free again.
        self.clock.advance(290)
        assertStanza(self, self.request("filename='c' size='20000'"), "<iq type='result'/>")

    def test_quotaExceeded(self):
        """
        Stored files that leave no room: C{not-acceptable}, no retry.
        """
        for token, name in (("t1", "a"), ("t2", "b")):
            self.request(f"filename='{name}' size='20000'")
            self.service.upload(token, name, 20000, None, b"x" * 20000)
        self.assertEqual(40000, self.service.stored("romeo@montague.tld"))
        answer = self.request("filename='c' size='10001'")
        assertStanza(
            self,
            answer,
            "<iq type='error'><error type='modify'>"
            "<not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
            "</error></iq>",
        )
        self.assertIsNone(answer.error.retry)
        assertStanza(self, self.request("filename='c' size='10000'"), "<iq type='result'/>")

    def test_discoInfo(self):
        """
        Example 4: the identity, the feature and the C{max-file-size} form.
        """
        d = disco.DiscoHandler()
        d.parent = [self.handler, d]
        info = self.successResultOf(
            d.info(ROMEO, jid.JID("upload.montague.tld"), "")
        )
        element = disco.DiscoInfo()
        for item in info:
            element.append(item)
        assertStanza(
            self,
            element.toElement(),
            "<query xmlns='http://jabber.org/protocol/disco#info'>"
            "<identity category='store' type='file' name='HTTP File Upload'/>"
            "<feature var='urn:xmpp:http:upload:0'/>"
            "<x xmlns='jabber:x:data' type='result'>"
            "<field var='FORM_TYPE' type='hidden'><value>urn:xmpp:http:upload:0</value></field>"
            "<field var='max-file-size'><value>20000</value></field></x></query>",
            namespace=None,
        )


class ResourceTests(unittest.TestCase):
    """
    Section 7 (Upload) and section 8 (CORS) through C{StubTreq}.
    """

    def setUp(self):
        self.clock = task.Clock()
        self.clock.advance(1000)
        self.service = makeService(self.clock)
        root = resource.Resource()
        root.putChild(b"upload", UploadResource(self.service))
        self.treq = StubTreq(root)
        self.slot = self.service.requestSlot(ROMEO, "a b.txt", "5", "text/plain")
        self.url = "http://127.0.0.1:5280/upload/t1/a%20b.txt"

    async def put(self, data=b"hello", contentType=b"text/plain", url=None, headers=None):
        """
        PUT C{data}; return the response.
        """
        allHeaders = {b"content-type": [contentType]} if contentType else {}
        allHeaders.update(headers or {})
        return await self.treq.put(url or self.url, data=data, headers=allHeaders)

    async def test_putThenGet(self):
        """
        A PUT to a slot is C{201}; the GET gives the same bytes, with the
        declared type, a disposition naming the file, and the CORS and
        security headers.
        """
        response = await self.put()
        self.assertEqual(201, response.code)
        self.assertEqual([b"*"], response.headers.getRawHeaders(b"access-control-allow-origin"))
        response = await self.treq.get(self.url)
        self.assertEqual(200, response.code)
        self.assertEqual(b"hello", await response.content())
        headers = response.headers
        self.assertEqual([b"text/plain"], headers.getRawHeaders(b"content-type"))
        self.assertEqual(
            [b"attachment; filename*=UTF-8''a%20b.txt"],
            headers.getRawHeaders(b"content-disposition"),
        )
        self.assertEqual([b"*"], headers.getRawHeaders(b"access-control-allow-origin"))
        self.assertEqual([b"nosniff"], headers.getRawHeaders(b"x-content-type-options"))
        self.assertEqual(
            [b"default-src 'none'; frame-ancestors 'none'"],
            headers.getRawHeaders(b"content-security-policy"),
        )

    async def test_inlineImage(self):
        """
        An image other than SVG is shown inline; without a declared type a
        file is C{application/octet-stream}.
        """
        self.service.requestSlot(ROMEO, "p.png", "1", "image/png")
        self.service.requestSlot(ROMEO, "x", "1", None)
        self.assertEqual(201, (await self.put(b"1", b"image/png", f"{BASE}/upload/t2/p.png")).code)
        self.assertEqual(201, (await self.put(b"1", None, f"{BASE}/upload/t3/x")).code)
        response = await self.treq.get(f"{BASE}/upload/t2/p.png")
        self.assertEqual(
            [b"inline; filename*=UTF-8''p.png"],
            response.headers.getRawHeaders(b"content-disposition"),
        )
        response = await self.treq.get(f"{BASE}/upload/t3/x")
        self.assertEqual(
            [b"application/octet-stream"], response.headers.getRawHeaders(b"content-type")
        )

    async def test_repeatedPut(self):
        """
        A second PUT to a used slot is C{409}; the file is unchanged.
        """
        self.assertEqual(201, (await self.put()).code)
        self.assertEqual(409, (await self.put(b"HELLO")).code)
        self.assertEqual(b"hello", await (await self.treq.get(self.url)).content())

    async def test_sizeMismatch(self):
        """
        A longer body is C{413}, a shorter one C{400}; the slot stays usable.
        """
        self.assertEqual(413, (await self.put(b"hello!")).code)
        self.assertEqual(400, (await self.put(b"hell")).code)
        self.assertEqual(201, (await self.put()).code)

    async def test_contentTypeMismatch(self):
        """
        Another Content-Type, or none, is C{415}; parameters do not matter.
        """
        self.assertEqual(415, (await self.put(contentType=b"image/png")).code)
        self.assertEqual(415, (await self.put(contentType=None)).code)
        self.assertEqual(201, (await self.put(contentType=b"Text/Plain; charset=utf-8")).code)

    async def test_expired(self):
        """
        An expired slot refuses the PUT with C{410}, then is forgotten.
        """
        self.clock.advance(300)
        self.assertEqual(410, (await self.put()).code)
        self.assertEqual(404, (await self.put()).code)

    async def test_notFound(self):
        """
        Unknown tokens, other file names, paths of another shape and a GET
        before the upload are C{404}, with an escaped page.
        """
        for url in (
            f"{BASE}/upload/t9/a%20b.txt",
            f"{BASE}/upload/t1/other.txt",
            f"{BASE}/upload/",
            f"{BASE}/upload/t1",
            f"{BASE}/upload/t1/a%20b.txt/more",
        ):
            self.assertEqual(404, (await self.put(url=url)).code, url)
        response = await self.treq.get(self.url)
        self.assertEqual(404, response.code)

    async def test_preflight(self):
        """
        A CORS preflight for the PUT: C{204} allowing PUT and Content-Type
        from any origin.
        """
        response = await self.treq.request(
            "OPTIONS",
            self.url,
            headers={
                b"origin": [b"https://conversejs.org"],
                b"access-control-request-method": [b"PUT"],
            },
        )
        self.assertEqual(204, response.code)
        headers = response.headers
        self.assertEqual([b"*"], headers.getRawHeaders(b"access-control-allow-origin"))
        self.assertIn(b"PUT", headers.getRawHeaders(b"access-control-allow-methods")[0])
        self.assertEqual(
            [b"Content-Type"], headers.getRawHeaders(b"access-control-allow-headers")
        )

    async def test_otherMethod(self):
        """
        Other methods are C{405} with an Allow header.
        """
        response = await self.treq.delete(self.url)
        self.assertEqual(405, response.code)
        self.assertEqual(
            [b"GET, HEAD, OPTIONS, PUT"], response.headers.getRawHeaders(b"allow")
        )


class StoreTests(unittest.TestCase):
    """
    Files kept in the data directory survive a new service.
    """

    def test_diskStore(self):
        """
        A file written to a L{DiskFileStore} is known, served and counted
        against the quota by a service loading the same directory; no
        temporary file remains.
        """
        directory = os.path.abspath(self.mktemp())
        service = makeService(store=DiskFileStore(directory))
        self.assertEqual([], service.store.load())
        service.requestSlot(ROMEO, "a.txt", "3", "text/plain")
        service.upload("t1", "a.txt", 3, "text/plain", b"abc")
        self.assertEqual(["t1", "t1.json"], sorted(os.listdir(directory)))
        with open(os.path.join(directory, "t1.json")) as f:
            self.assertEqual("romeo@montague.tld", json.load(f)["owner"])
        again = makeService(store=DiskFileStore(directory))
        again.load()
        slot, data = again.download("t1", "a.txt")
        self.assertEqual((b"abc", "text/plain"), (data, slot.contentType))
        self.assertEqual(3, again.stored("romeo@montague.tld"))

    def test_reset(self):
        """
        L{UploadService.reset} forgets slots and files.
        """
        service = makeService()
        service.requestSlot(ROMEO, "a.txt", "3", None)
        service.upload("t1", "a.txt", 3, None, b"abc")
        service.reset()
        self.assertEqual([], list(service.slots()))
        self.assertEqual([], service.store.load())

    def test_errorsTable(self):
        """
        The upload refusals map to their stanza errors in one table.
        """
        self.assertEqual(
            ("resource-constraint", "wait"),
            (lambda e: (e.condition, e.type))(errors.stanzaError(errors.QuotaReached(0.0))),
        )
