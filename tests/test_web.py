# -*- test-case-name: tests.test_web -*-
"""
Tests for L{mepserver.web}: the folders of the HTTP listener answer an
unknown name with a plain 404 page of their own, not Twisted's deprecated
C{NoResource}. Requests go through treq's L{StubTreq}, without sockets.
"""

from treq.testing import StubTreq
from twisted.trial import unittest
from twisted.web import resource
from twisted.web import server as webserver

from mepserver import config as configModule
from mepserver.server import buildServer
from mepserver.web import Folder
from tests.test_hostlink import componentConfig


class Text(resource.Resource):
    """
    A page that says C{here}.
    """

    isLeaf = True

    def render_GET(self, request):
        return b"here"


class FolderTests(unittest.TestCase):
    """
    L{Folder} serves its children and a 404 page for any other name.
    """

    def assertNoDeprecation(self):
        """
        Nothing was deprecated on the way: Twisted's C{NoResource} warns
        each time it is made.
        """
        deprecated = [
            w["message"] for w in self.flushWarnings() if w["category"] is DeprecationWarning
        ]
        self.assertEqual([], deprecated)

    async def assertNotFound(self, root, *paths):
        """
        Each path under C{root} gets 404 with the escaped page, and no
        deprecation warning.
        """
        treq = StubTreq(root)
        for path in paths:
            response = await treq.get(f"http://127.0.0.1/{path}")
            self.assertEqual(404, response.code, path)
            body = await response.content()
            self.assertIn(b"No Such Resource", body)
            self.assertIn(b"nothing is served at this path", body)
        self.assertNoDeprecation()

    async def test_children(self):
        """
        A child put in is served; any other name, in the folder or in a
        folder below it, is not found.
        """
        folder, below = Folder(), Folder()
        folder.putChild(b"here", Text())
        folder.putChild(b"below", below)
        response = await StubTreq(folder).get("http://127.0.0.1/here")
        self.assertEqual((200, b"here"), (response.code, await response.content()))
        await self.assertNotFound(folder, "elsewhere", "below/elsewhere")

    async def test_standaloneRoot(self):
        """
        The root of the standalone server's HTTP listener, and its
        C{/.well-known/} and C{/inspector/} folders, answer unknown names
        with the page.
        """
        config = configModule.load(overrides={"storage": "memory", "dataDir": self.mktemp()})
        server = buildServer(config)
        [site] = [factory for _, factory in server.listeners if isinstance(factory, webserver.Site)]
        await self.assertNotFound(
            site.resource, "nothing-here", ".well-known/other", "inspector/other"
        )

    async def test_componentRoot(self):
        """
        The root of the HTTP listener of mepserver as a host's MUC
        component does the same.
        """
        server = buildServer(componentConfig(dataDir=self.mktemp()))
        [site] = [factory for _, factory in server.listeners if isinstance(factory, webserver.Site)]
        await self.assertNotFound(site.resource, "nothing-here", "inspector/other")
