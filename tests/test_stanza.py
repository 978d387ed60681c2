# -*- test-case-name: tests.test_stanza -*-
"""
Tests for L{mepserver.stanza}.
"""

from twisted.trial import unittest
from twisted.words.xish import domish

from mepserver.stanza import copyStanza


class CopyStanzaTests(unittest.SynchronousTestCase):
    def setUp(self):
        self.original = domish.Element(("jabber:client", "message"))
        self.original["to"], self.original["type"] = "a@example.com", "chat"
        self.body = self.original.addElement("body", content="hi")

    def test_attributes(self):
        """
        Attributes are copied, set and removed on the copy only.
        """
        copy = copyStanza(self.original, to="b@example.com", type=None, id="x")
        self.assertEqual({"to": "b@example.com", "id": "x"}, copy.attributes)
        self.assertEqual(
            {"to": "a@example.com", "type": "chat"}, self.original.attributes
        )
        self.assertEqual(("jabber:client", "message"), (copy.uri, copy.name))

    def test_childrenShared(self):
        """
        Children are the same objects; adding one to the copy leaves the
        original as it was.
        """
        copy = copyStanza(self.original)
        self.assertIs(self.body, copy.children[0])
        copy.addElement("delay")
        self.assertEqual(["body"], [c.name for c in self.original.elements()])
