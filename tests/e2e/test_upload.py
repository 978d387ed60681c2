# -*- test-case-name: tests.e2e.test_upload -*-
"""
HTTP File Upload (XEP-0363) end to end: slixmpp, an independent client
library in a subprocess, finds the upload service through the server's
disco#items, gets a slot and PUTs a file over real HTTP; the test fetches
the GET URL with treq.
"""

import treq
from twisted.internet import reactor
from twisted.trial import unittest
from twisted.web.client import HTTPConnectionPool

from mepserver.testing import startServer
from tests.e2e.slixrun import runScenario, serverSettings


class SlixmppUploadTests(unittest.TestCase):
    """
    romeo uploads a small file with slixmpp's xep_0363 plugin.
    """

    timeout = 120

    async def test_upload(self):
        """
        slixmpp discovers C{upload.localhost} and its max-file-size, and its
        upload succeeds (201); the GET URL, under the running server's
        L{uploadURL}, serves the same bytes with the declared type and
        C{Access-Control-Allow-Origin: *}.
        """
        running = await startServer(self)
        romeo = await running.createAccount("romeo", "r0meo-secret")
        content = "Wherefore art thou? ✉"
        settings = serverSettings(
            running,
            jid=romeo.jid.userhost(),
            password=romeo.password,
            filename="très cool.txt",
            content=content,
            contentType="text/plain; charset=utf-8",
        )
        report = await runScenario(self, "slixupload.py", settings)
        self.assertEqual(running.uploadDomain, report["service"])
        self.assertEqual(str(running.server.config.uploadMaxFileSize), report["maxFileSize"])
        url = report["url"]
        self.assertTrue(url.startswith(running.uploadURL), url)
        self.assertTrue(url.endswith("/tr%C3%A8s%20cool.txt"), url)

        pool = HTTPConnectionPool(reactor, persistent=False)
        self.addCleanup(pool.closeCachedConnections)
        response = await treq.get(url, pool=pool)
        self.assertEqual(200, response.code)
        self.assertEqual(content.encode("utf-8"), await response.content())
        self.assertEqual(
            [b"text/plain; charset=utf-8"], response.headers.getRawHeaders(b"content-type")
        )
        self.assertEqual(
            [b"*"], response.headers.getRawHeaders(b"access-control-allow-origin")
        )
