"""
pytest's settings for mepserver's own suite (trial does not read this).

pytest's unittest plugin asks which Twisted is installed before every
test (C{_pytest.unittest._get_twisted_version}: C{importlib.metadata}, a
scan of C{sys.path}), about 0.5 ms a time, a second of the suite's 30. The
answer cannot change during a run, so it is asked once: once Twisted's
trial is loaded, the first answer is kept. If pytest renames the
function, nothing is changed (and C{tests/test_conftest.py} says so).
"""

from _pytest import unittest as _pytestUnittest

_asked = getattr(_pytestUnittest, "_get_twisted_version", None)


def _twistedVersionOnce(_known=[]):
    if _known:
        return _known[0]
    version = _asked()
    if version is not _pytestUnittest.TwistedVersion.NotInstalled:
        # Not installed only means trial was not imported yet: ask again.
        _known.append(version)
    return version


if _asked is not None and hasattr(_pytestUnittest, "TwistedVersion"):
    _pytestUnittest._get_twisted_version = _twistedVersionOnce
