# -*- test-case-name: tests.e2e.test_upload -*-
"""
HTTP File Upload (XEP-0363) end to end: slixmpp, an independent client
library in a subprocess, finds the upload service through the server's
disco#items, gets a slot and PUTs a file over real HTTP; the check
(L{tests.e2e.slixchecks.checkUpload}, which judges ejabberd's service in
the reference tier too) fetches the GET URL with treq.
"""

from twisted.trial import unittest

from mepserver.testing import startServer
from tests.e2e.slixchecks import UPLOAD_CONTENT, UPLOAD_NAME, UPLOAD_TYPE, checkUpload
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
        settings = serverSettings(
            running,
            jid=romeo.jid.userhost(),
            password=romeo.password,
            filename=UPLOAD_NAME,
            content=UPLOAD_CONTENT,
            contentType=UPLOAD_TYPE,
        )
        report = await runScenario(self, "slixupload.py", settings)
        await checkUpload(
            self,
            report,
            running.uploadDomain,
            running.server.config.uploadMaxFileSize,
            running.uploadURL,
        )
