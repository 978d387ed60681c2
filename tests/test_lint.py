# -*- test-case-name: tests.test_lint -*-
"""
The repository's Python passes pyflakes: no unused imports or variables,
no undefined names, no redefinitions, no f-strings without placeholders.

pyflakes checks one file at a time, so what it finds in a file depends only
on that file's bytes (and the versions of pyflakes and Python): a file
found clean once is remembered by the hash of its contents in
C{.pyflakes-cache} at the top of the checkout, and only new or changed
files are parsed again. A whole check of the tree costs over a second; the
remembered check, a few milliseconds a file changed.
"""

import contextlib
import gc
import hashlib
import json
import os
import sys

from twisted.trial import unittest

try:
    from pyflakes import api as pyflakes
    from pyflakes import __version__ as PYFLAKES_VERSION
except ImportError:
    pyflakes = None

#: The top of the checkout.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: The folders of the checkout whose Python is checked.
CHECKED = ("mepserver", "tests", "twisted", "bench")

#: Folders never walked into: caches, and the browser tier's npm packages.
SKIPPED = {"__pycache__", "node_modules"}


class CollectingReporter:
    """
    A pyflakes reporter that keeps each finding as one line of text,
    C{path:line:column: message}, with the path relative to a root.

    @ivar findings: the findings so far.
    @type findings: L{list} of L{str}
    """

    def __init__(self, root):
        """
        @param root: the folder the reported paths are relative to.
        @type root: L{str}
        """
        self.root = root
        self.findings = []

    def _relative(self, filename):
        return os.path.relpath(filename, self.root)

    def unexpectedError(self, filename, message):
        """
        A file pyflakes could not read or decode.
        """
        self.findings.append(f"{self._relative(filename)}: {message}")

    def syntaxError(self, filename, message, lineno, offset, text):
        """
        A file that does not parse.
        """
        self.findings.append(f"{self._relative(filename)}:{lineno}:{offset}: {message}")

    def flake(self, message):
        """
        One pyflakes message (an unused import, an undefined name, ...).
        """
        self.findings.append(
            f"{self._relative(message.filename)}:{message.lineno}:{message.col + 1}: "
            + message.message % message.message_args
        )


def sourceFiles(root, folders):
    """
    The C{.py} files under some folders of C{root}, in a stable order,
    hidden folders and L{SKIPPED} ones left out.

    @return: absolute paths.
    @rtype: L{list} of L{str}
    """
    paths = []
    for folder in folders:
        for directory, subfolders, files in os.walk(os.path.join(root, folder)):
            subfolders[:] = sorted(
                name for name in subfolders if name not in SKIPPED and not name.startswith(".")
            )
            paths.extend(os.path.join(directory, name) for name in sorted(files) if name.endswith(".py"))
    return paths


@contextlib.contextmanager
def _heapLeftAlone():
    """
    Leave what the process held before out of the garbage collections run
    inside the block (L{gc.freeze}), unless something else froze it already.

    pyflakes' trees are cycles (each node points at its parent), so parsing
    a tree of files starts collections, which are collected as before; but
    each full one would also go through everything a test run holds: in
    the whole suite under pytest, a check of the whole tree (a clean
    clone's, without C{.pyflakes-cache}) took 2.2 s instead of 1.35 s.
    """
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def lint(root, folders, cachePath):
    """
    Run pyflakes over the Python of C{folders}, skipping the files whose
    contents C{cachePath} remembers as clean.

    The cache holds the hashes of the files found clean by the last run
    (so it never grows beyond the tree), under a key naming the pyflakes
    and Python versions: a new version of either checks everything again.
    A cache that cannot be read or written only makes the check slower.

    @param root: the top of the tree; findings name paths relative to it.
    @param folders: the folders of C{root} to check.
    @param cachePath: the cache file, created or replaced.

    @return: the findings, and how many files were parsed.
    @rtype: L{tuple} of (L{list} of L{str}, L{int})
    """
    key = f"pyflakes {PYFLAKES_VERSION} python {sys.version}"
    try:
        with open(cachePath) as f:
            cache = json.load(f)
        remembered = set(cache["clean"]) if cache.get("key") == key else set()
    except (OSError, ValueError, KeyError, TypeError):
        remembered = set()
    reporter = CollectingReporter(root)
    clean = []
    parsed = 0
    with _heapLeftAlone():
        for path in sourceFiles(root, folders):
            with open(path, "rb") as f:
                source = f.read()
            digest = hashlib.sha256(source).hexdigest()
            if digest not in remembered:
                parsed += 1
                if pyflakes.check(source, path, reporter):
                    continue
            clean.append(digest)
    if set(clean) != remembered:
        temporary = f"{cachePath}.{os.getpid()}"
        try:
            with open(temporary, "w") as f:
                json.dump({"key": key, "clean": sorted(set(clean))}, f)
            # Atomic: a pytest and a trial run may share the checkout.
            os.replace(temporary, cachePath)
        except OSError:
            pass
    return reporter.findings, parsed


class LintTestCase(unittest.TestCase):
    """
    Skips when pyflakes is not installed (it is in the C{test} extra).
    """

    def setUp(self):
        if pyflakes is None:
            raise unittest.SkipTest("pyflakes is not installed (pip install -e '.[test]')")


class RepositoryTests(LintTestCase):
    """
    The checkout's Python is clean.
    """

    def test_pyflakes(self):
        """
        pyflakes finds nothing in C{mepserver/}, C{tests/}, C{twisted/}
        and C{bench/}; the failure lists every finding.
        """
        findings, _ = lint(ROOT, CHECKED, os.path.join(ROOT, ".pyflakes-cache"))
        if findings:
            self.fail("pyflakes found:\n" + "\n".join(findings))


class LintTests(LintTestCase):
    """
    L{lint} reports what pyflakes finds, and its cache never hides a
    finding.
    """

    def setUp(self):
        super().setUp()
        self.root = self.mktemp()
        os.makedirs(os.path.join(self.root, "package", "node_modules"))
        os.makedirs(os.path.join(self.root, "package", ".hidden"))
        self.cache = os.path.join(self.root, "cache")

    def write(self, name, text):
        with open(os.path.join(self.root, "package", name), "w") as f:
            f.write(text)

    def lint(self):
        return lint(self.root, ["package"], self.cache)

    def test_findings(self):
        """
        Each finding names the file relative to the root, the line, the
        column and pyflakes' message; a syntax error is one too.
        """
        self.write("clean.py", "import os\n\nprint(os.sep)\n")
        self.write("unused.py", '"""Doc."""\nimport os\n')
        self.write("broken.py", "def f(:\n")
        findings, parsed = self.lint()
        self.assertEqual(3, parsed)
        self.assertEqual(2, len(findings), findings)
        self.assertTrue(findings[0].startswith(os.path.join("package", "broken.py") + ":1:"), findings)
        self.assertEqual(os.path.join("package", "unused.py") + ":2:1: 'os' imported but unused", findings[1])

    def test_skipped(self):
        """
        Files in C{node_modules} and hidden folders, and files not ending
        in C{.py}, are not checked.
        """
        self.write(os.path.join("node_modules", "gyp.py"), "import os\n")
        self.write(os.path.join(".hidden", "tool.py"), "import os\n")
        self.write("script", "#!/usr/bin/env python\nimport os\n")
        self.assertEqual(([], 0), self.lint())

    def test_cache(self):
        """
        A file found clean is not parsed again while its contents stay the
        same; once they change, it is, and a finding in it is reported.
        """
        self.write("module.py", "import os\n\nprint(os.sep)\n")
        self.assertEqual(([], 1), self.lint())
        self.assertEqual(([], 0), self.lint())
        self.write("module.py", "import os\n")
        findings, parsed = self.lint()
        self.assertEqual(1, parsed)
        self.assertEqual([os.path.join("package", "module.py") + ":1:1: 'os' imported but unused"], findings)
        # A file with findings is never remembered.
        self.assertEqual((findings, 1), self.lint())

    def test_cacheKey(self):
        """
        A cache written under another pyflakes or Python version, or one
        that does not parse, is ignored.
        """
        self.write("module.py", "import os\n")
        findings, _ = self.lint()
        digest = hashlib.sha256(b"import os\n").hexdigest()
        with open(self.cache, "w") as f:
            json.dump({"key": "pyflakes 0.1 python 2.7", "clean": [digest]}, f)
        self.assertEqual((findings, 1), self.lint())
        with open(self.cache, "w") as f:
            f.write("{")
        self.assertEqual((findings, 1), self.lint())

    def test_heapLeftAlone(self):
        """
        pyflakes runs with what the process held before frozen out of the
        garbage collector's way, and the heap is unfrozen afterwards; a
        heap frozen by someone else stays frozen.
        """
        if gc.get_freeze_count():
            raise unittest.SkipTest("something else froze the heap")
        frozen = []

        def check(source, path, reporter):
            frozen.append(gc.get_freeze_count())
            return 0

        self.patch(pyflakes, "check", check)
        self.write("module.py", "import os\n")
        self.assertEqual(([], 1), self.lint())
        self.assertEqual(1, len(frozen))
        self.assertGreater(frozen[0], 0)
        self.assertEqual(0, gc.get_freeze_count())
        os.remove(self.cache)
        gc.freeze()
        self.addCleanup(gc.unfreeze)
        before = gc.get_freeze_count()
        self.assertEqual(([], 1), self.lint())
        self.assertEqual(before, gc.get_freeze_count())
