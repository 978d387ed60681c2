"""
pytest's settings for mepserver's own suite (trial does not read this).

The tests run in a scratch folder of their own, as under trial (its
C{_trial_temp}): L{trial's mktemp<twisted.trial.unittest.TestCase.mktemp>}
makes its paths relative to the current folder, which under pytest was the
checkout, so every run wrote its SQLite files, certificates and data
folders there (and left them, C{tests.*/}). The folder is made in memory
(C{/dev/shm}) where the system has one with room to spare, else in the
system's temporary folder, entered once the tests are collected, and
removed at the end of the run (or by the next run, if this one was killed):
the SQLite stores' commits, each a sync to disk, were about a second of the
suite. Failures then show absolute paths, since the folder is not the one
pytest was started in.

pytest's unittest plugin asks which Twisted is installed before every
test (C{_pytest.unittest._get_twisted_version}: C{importlib.metadata}, a
scan of C{sys.path}), about 0.5 ms a time, a second of the suite's 30. The
answer cannot change during a run, so it is asked once: once Twisted's
trial is loaded, the first answer is kept. If pytest renames the
function, nothing is changed (and C{tests/test_conftest.py} says so).
"""

import os
import shutil
import tempfile

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


#: Where the scratch folder is made: memory, if it has this many bytes free.
MEMORY = "/dev/shm"
MEMORY_NEEDED = 512 * 1024 * 1024


def _scratchParent(memory=MEMORY, needed=MEMORY_NEEDED):
    """
    @return: C{memory} if it is a writable folder with C{needed} bytes
        free, else L{None}: the system's temporary folder.
    """
    try:
        stat = os.statvfs(memory)
    except OSError:
        return None
    if not os.access(memory, os.W_OK) or stat.f_bavail * stat.f_frsize < needed:
        return None
    return memory


#: The scratch folders' names start with this, then the pid of their run.
SCRATCH_PREFIX = "mepserver-pytest-"

#: The scratch folder and the folder pytest ran in, while the tests run.
_scratch = {}


def _removeAbandoned(parent):
    """
    Remove the scratch folders in C{parent} of runs whose process is gone
    (killed, so that they could not remove their own): in memory, they
    would hold it until the system restarts.
    """
    try:
        names = os.listdir(parent)
    except OSError:
        return
    for name in names:
        pid = name[len(SCRATCH_PREFIX):].split("-", 1)[0]
        if not name.startswith(SCRATCH_PREFIX) or not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(os.path.join(parent, name), ignore_errors=True)
        except OSError:
            pass


def pytest_collection_finish(session):
    """
    Enter a new scratch folder once the tests are collected.
    """
    parent = _scratchParent()
    _removeAbandoned(parent or tempfile.gettempdir())
    _scratch["folder"] = tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-", dir=parent)
    _scratch["previous"] = os.getcwd()
    os.chdir(_scratch["folder"])


def pytest_sessionfinish(session):
    """
    Go back to the folder pytest ran in, and remove the scratch folder.
    """
    if "previous" in _scratch:
        os.chdir(_scratch.pop("previous"))
        shutil.rmtree(_scratch.pop("folder"), ignore_errors=True)

