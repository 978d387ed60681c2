"""
Tests for C{tests/conftest.py}, pytest's settings for this suite.
"""

import sys

from twisted.trial import unittest


class TwistedVersionOnceTests(unittest.SynchronousTestCase):
    """
    Under pytest, the Twisted version pytest asks before each test is
    looked up once.
    """

    def setUp(self):
        if "_pytest.unittest" not in sys.modules or "tests.conftest" not in sys.modules:
            raise unittest.SkipTest("only under pytest")

    def test_replaced(self):
        """
        pytest still has the function the conftest replaces; if this fails,
        pytest renamed it and the conftest changes nothing: delete it.
        """
        from _pytest import unittest as pytestUnittest

        from tests import conftest

        self.assertIs(pytestUnittest._get_twisted_version, conftest._twistedVersionOnce)
        self.assertIsNot(conftest._asked, None)

    def test_sameAnswer(self):
        """
        The kept answer is the one pytest's own lookup gives.
        """
        from tests import conftest

        self.assertEqual(conftest._twistedVersionOnce(), conftest._asked())
