# -*- test-case-name: tests.test_upload -*-
"""
Where uploaded files (XEP-0363) are kept: in memory, or as files in the
data directory.

Both stores are synchronous: a file is at most C{[upload] max_file_size}
bytes (10 MiB by default) and is written or read in one call.
"""

from __future__ import annotations

import json
import os
import re
from typing import Dict, List, Tuple

# The tokens UploadService makes, and the only file names read back.
_TOKEN = re.compile(r"[A-Za-z0-9_-]+")


class MemoryFileStore:
    """
    Uploaded files in memory, lost on exit; for memory storage.
    """

    def __init__(self):
        self._files: Dict[str, Tuple[bytes, dict]] = {}

    def write(self, token: str, data: bytes, metadata: dict) -> None:
        """
        Keep a file and what is known about it.
        """
        self._files[token] = (data, dict(metadata))

    def read(self, token: str) -> bytes:
        """
        @return: a kept file's bytes.
        """
        return self._files[token][0]

    def load(self) -> List[dict]:
        """
        @return: the metadata of every kept file.
        """
        return [dict(metadata) for data, metadata in self._files.values()]

    def reset(self) -> None:
        """
        Forget every file.
        """
        self._files.clear()


class DiskFileStore:
    """
    Uploaded files in a directory (C{<data_dir>/upload/}), kept across
    restarts: each as C{<token>}, with its metadata in C{<token>.json}.

    A file is written under a temporary name and renamed, and its metadata
    after it, so that a crash leaves no half file that L{load} would list.
    """

    def __init__(self, directory: str):
        self.directory = directory

    def _path(self, token: str) -> str:
        if not _TOKEN.fullmatch(token):
            raise KeyError(token)
        return os.path.join(self.directory, token)

    def _writeAtomically(self, path: str, data: bytes) -> None:
        temporary = path + ".part"
        with open(temporary, "wb") as f:
            f.write(data)
        os.replace(temporary, path)

    def write(self, token: str, data: bytes, metadata: dict) -> None:
        """
        Keep a file and what is known about it.
        """
        os.makedirs(self.directory, exist_ok=True)
        path = self._path(token)
        self._writeAtomically(path, data)
        self._writeAtomically(path + ".json", json.dumps(metadata).encode("utf-8"))

    def read(self, token: str) -> bytes:
        """
        @return: a kept file's bytes.
        """
        with open(self._path(token), "rb") as f:
            return f.read()

    def load(self) -> List[dict]:
        """
        @return: the metadata of every kept file; a directory that does not
            exist yet holds none.
        """
        try:
            names = sorted(os.listdir(self.directory))
        except FileNotFoundError:
            return []
        found = []
        for name in names:
            token, dot, extension = name.partition(".")
            if extension != "json" or not _TOKEN.fullmatch(token):
                continue
            if not os.path.exists(self._path(token)):
                continue
            with open(os.path.join(self.directory, name), encoding="utf-8") as f:
                found.append(json.load(f))
        return found
