"""
Tests for C{tests/conftest.py}, pytest's settings for this suite.
"""

import os
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


class ScratchFolderTests(unittest.SynchronousTestCase):
    """
    Under pytest, the tests run in a scratch folder of their own, in memory
    where the system has room there.
    """

    def setUp(self):
        if "_pytest.unittest" not in sys.modules or "tests.conftest" not in sys.modules:
            raise unittest.SkipTest("only under pytest")

    def test_entered(self):
        """
        The current folder is the scratch folder, not the checkout: it is
        made in memory when L{conftest._scratchParent} finds room there,
        and a test's C{mktemp} path is inside it.
        """
        from tests import conftest

        folder = os.getcwd()
        self.assertEqual(conftest._scratch["folder"], folder)
        self.assertTrue(
            os.path.basename(folder).startswith(f"mepserver-pytest-{os.getpid()}-"), folder
        )
        checkout = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        self.assertNotEqual(checkout, folder)
        parent = conftest._scratchParent()
        if parent is not None:
            self.assertEqual(os.path.realpath(parent), os.path.realpath(os.path.dirname(folder)))
        self.assertTrue(os.path.abspath(self.mktemp()).startswith(folder + os.sep))

    def test_parent(self):
        """
        Memory is chosen only if it is a writable folder with the room
        needed; otherwise the system's temporary folder is (L{None}).
        """
        from tests import conftest

        folder = os.path.abspath(self.mktemp())
        os.makedirs(folder)
        self.assertEqual(folder, conftest._scratchParent(folder, 1))
        self.assertIsNone(conftest._scratchParent(folder, 2**80))
        self.assertIsNone(conftest._scratchParent(os.path.join(folder, "missing"), 1))


class RemoveAbandonedTests(unittest.SynchronousTestCase):
    """
    L{conftest._removeAbandoned} removes the scratch folders of runs whose
    process is gone, and nothing else.
    """

    def setUp(self):
        if "_pytest.unittest" not in sys.modules or "tests.conftest" not in sys.modules:
            raise unittest.SkipTest("only under pytest")

    def test_abandoned(self):
        """
        A scratch folder named after a process that no longer exists is
        removed with what it holds; one of a live process (this one), a
        folder named otherwise and a file are left.
        """
        import subprocess

        from tests import conftest

        gone = subprocess.Popen([sys.executable, "-c", ""])
        gone.wait()
        parent = os.path.abspath(self.mktemp())
        names = [
            f"mepserver-pytest-{gone.pid}-abc",
            f"mepserver-pytest-{os.getpid()}-abc",
            "mepserver-pytest-x-abc",
            "other",
        ]
        for name in names:
            os.makedirs(os.path.join(parent, name, "data"))
        with open(os.path.join(parent, f"mepserver-pytest-{gone.pid}-file"), "w"):
            pass
        conftest._removeAbandoned(parent)
        self.assertEqual(
            sorted(names[1:] + [f"mepserver-pytest-{gone.pid}-file"]), sorted(os.listdir(parent))
        )
        conftest._removeAbandoned(os.path.join(parent, "missing"))

