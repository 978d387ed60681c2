# -*- test-case-name: tests.test_compat -*-
"""
Compatibility shim that lets wokkel 18.0.0 import on current Twisted.

wokkel 18.0.0 (the newest release on PyPI) imports two names that modern
Twisted no longer has:

  - C{twisted.python.compat._PY3}, removed with Python 2 support
    (used by C{wokkel.data_form});
  - the module C{twisted.python.constants}, which moved out of Twisted into
    the C{constantly} package (used by C{wokkel.muc} and, through it,
    C{wokkel.pubsub}, C{wokkel.disco} and C{wokkel.ping}).

This module puts both back, each only if missing, and changes nothing else.
It is the only code in mepserver that patches a third-party module, and
C{mepserver/__init__.py} imports it first so that every way into the package
applies it before wokkel loads.

Delete this module (and C{tests/test_compat.py}) once a wokkel release
imports cleanly on current Twisted: the canary test in C{tests/test_compat}
starts skipping with "shim no longer needed" when that happens.
"""

import importlib
import sys

from twisted.python import compat


def apply():
    """
    Apply both changes, each one only if it is needed.

    Calling it again is harmless: nothing that exists is overwritten.

    @return: the names of the changes made by this call.
    @rtype: L{list} of L{str}
    """
    changed = []
    if not hasattr(compat, "_PY3"):
        compat._PY3 = True
        changed.append("twisted.python.compat._PY3")
    if "twisted.python.constants" not in sys.modules:
        try:
            importlib.import_module("twisted.python.constants")
        except ImportError:
            import constantly

            sys.modules["twisted.python.constants"] = constantly
            changed.append("twisted.python.constants")
    return changed


apply()
