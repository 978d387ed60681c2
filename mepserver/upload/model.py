# -*- test-case-name: tests.test_upload -*-
"""
The rules of HTTP File Upload (XEP-0363), without XML or HTTP.

L{UploadService} hands out slots (section 4, Requesting a slot), refuses
them as section 6 (Error conditions) lists, and takes and serves the file
of a slot (section 7, Upload). Choices the XEP leaves open:

  - Only the client domain's accounts get slots (C{forbidden} otherwise).
  - A slot's URL path is C{/upload/<token>/<filename>}: the token is 24
    random URL-safe characters (144 bits, section 9.3), the file name is
    kept and percent-encoded (section 4). The PUT needs no header beyond
    Content-Length and Content-Type: the token is the authorisation.
  - A slot can be used for C{slotLifetime} seconds (section 8 recommends
    about 300), and once. Expiry is checked when a slot is used or the
    account asks for another one, with the server's clock: no timer runs.
  - The quota counts an account's stored files and the sizes reserved by
    its unexpired, unused slots. A request that only fits once such slots
    expire gets C{resource-constraint} (wait) with a C{<retry/>} stamp of
    that expiry; one that the stored files alone leave no room for gets
    C{not-acceptable} (this server never deletes an upload).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, List, Optional
from urllib.parse import quote

from twisted.words.protocols.jabber import jid

from mepserver import errors

#: XEP-0363: the protocol's namespace.
NS_UPLOAD = "urn:xmpp:http:upload:0"

#: The URL path under which slots live on the HTTP listener.
UPLOAD_PATH = "/upload/"

#: What a file without a declared content type is served as (section 7).
DEFAULT_CONTENT_TYPE = "application/octet-stream"

# RFC 9110 section 8.3.1: type "/" subtype, then optional parameters.
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_MEDIA_TYPE = re.compile(rf"{_TOKEN}/{_TOKEN}(?:\s*;.*)?", re.DOTALL)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def newToken() -> str:
    """
    @return: an unguessable URL path segment: 24 URL-safe characters.
    """
    return secrets.token_urlsafe(18)


def mediaType(contentType: Optional[str]) -> Optional[str]:
    """
    @return: the type and subtype of a Content-Type, lowercase, without
        parameters; L{None} for L{None}.
    """
    if contentType is None:
        return None
    return contentType.split(";", 1)[0].strip().lower()


class SlotNotFound(Exception):
    """
    No slot has this token and file name.
    """


class SlotUsed(Exception):
    """
    The slot's file was uploaded already: a slot takes one upload.
    """


class SlotExpired(Exception):
    """
    The slot's lifetime ended before its upload.
    """


class SizeMismatch(Exception):
    """
    The upload's length is not the size the slot was requested for.

    @ivar tooLarge: whether it is larger.
    """

    def __init__(self, tooLarge: bool, text: str):
        Exception.__init__(self, text)
        self.tooLarge = tooLarge


class ContentTypeMismatch(Exception):
    """
    The upload's Content-Type is not the one the slot was requested for.
    """


@dataclass
class Slot:
    """
    One upload slot, and after its upload the stored file.

    @ivar token: the unguessable path segment of its URLs.
    @ivar owner: the bare JID of the account it was given to.
    @ivar filename: the file name, as requested.
    @ivar size: the size in bytes, as requested.
    @ivar contentType: the content type as requested, or L{None}.
    @ivar expires: when, in seconds since the epoch, it can no longer be
        used for an upload.
    @ivar uploaded: whether its file has been stored.
    """

    token: str
    owner: str
    filename: str
    size: int
    contentType: Optional[str]
    expires: float
    uploaded: bool = False

    @property
    def path(self) -> str:
        """
        The URL path of the slot, the file name percent-encoded.
        """
        return f"{UPLOAD_PATH}{self.token}/{quote(self.filename, safe='')}"

    def toMetadata(self) -> dict:
        """
        @return: what a store keeps beside the file, as JSON values.
        """
        return {
            "token": self.token,
            "owner": self.owner,
            "filename": self.filename,
            "size": self.size,
            "contentType": self.contentType,
        }

    @classmethod
    def fromMetadata(cls, metadata: dict) -> "Slot":
        """
        @return: the slot of a stored file, from L{toMetadata}.
        """
        return cls(
            token=metadata["token"],
            owner=metadata["owner"],
            filename=metadata["filename"],
            size=int(metadata["size"]),
            contentType=metadata.get("contentType"),
            expires=0.0,
            uploaded=True,
        )


class UploadService:
    """
    The slots and files of one HTTP File Upload service.

    @ivar baseURL: the scheme and authority slot URLs begin with, such as
        C{http://127.0.0.1:5280}; a fixture that learns the HTTP port only
        once it listens sets it then.
    """

    def __init__(
        self,
        localDomain: str,
        store,
        clock,
        maxFileSize: int,
        quota: int,
        slotLifetime: int,
        baseURL: str,
        newToken: Callable[[], str] = newToken,
    ):
        """
        @param localDomain: the client domain, whose accounts get slots.
        @param store: where files are kept (L{mepserver.upload.store}).
        @param clock: an L{twisted.internet.interfaces.IReactorTime}.
        @param maxFileSize: the largest file in bytes.
        @param quota: the most bytes one account may have stored and
            reserved.
        @param slotLifetime: seconds a slot can be used.
        @param baseURL: see L{baseURL}.
        @param newToken: makes each slot's token.
        """
        self.localDomain = localDomain
        self.store = store
        self.clock = clock
        self.maxFileSize = maxFileSize
        self.quota = quota
        self.slotLifetime = slotLifetime
        self.baseURL = baseURL.rstrip("/")
        self.newToken = newToken
        self._slots: Dict[str, Slot] = {}

    def load(self) -> None:
        """
        Know the files the store kept from an earlier run.
        """
        for metadata in self.store.load():
            slot = Slot.fromMetadata(metadata)
            self._slots[slot.token] = slot

    def reset(self) -> None:
        """
        Forget every slot and file (memory storage only).
        """
        self._slots.clear()
        self.store.reset()

    def url(self, slot: Slot) -> str:
        """
        @return: the slot's URL, for both PUT and GET.
        """
        return self.baseURL + slot.path

    def stored(self, owner: str) -> int:
        """
        @return: the bytes of the files C{owner} (a bare JID) has uploaded.
        """
        return sum(s.size for s in self._slots.values() if s.owner == owner and s.uploaded)

    def _pending(self, owner: str) -> List[Slot]:
        now = self.clock.seconds()
        for slot in [s for s in self._slots.values() if not s.uploaded]:
            if slot.expires <= now:
                del self._slots[slot.token]
        return [s for s in self._slots.values() if s.owner == owner and not s.uploaded]

    def requestSlot(
        self,
        requester: jid.JID,
        filename: Optional[str],
        size: Optional[str],
        contentType: Optional[str],
    ) -> Slot:
        """
        Give a slot (section 4), or refuse one (section 6).

        @param requester: who asks.
        @param filename: the request's C{filename}, or L{None} if missing.
        @param size: the request's C{size}, as given, or L{None}.
        @param contentType: the request's C{content-type}, or L{None}.
        @raise errors.Forbidden: the requester is not an account of the
            client domain.
        @raise errors.BadRequest: a missing or invalid file name, size or
            content type.
        @raise errors.FileTooLarge: the size is over C{maxFileSize}.
        @raise errors.QuotaReached: the account's unused slots hold the
            room the file needs until they expire.
        @raise errors.QuotaExceeded: the account's stored files leave no
            room for the file.
        """
        if requester.user is None or requester.host != self.localDomain:
            raise errors.Forbidden(
                f"only accounts of {self.localDomain} may upload files here"
            )
        if not filename:
            raise errors.BadRequest("the request has no filename")
        if "/" in filename or "\\" in filename or filename in (".", ".."):
            raise errors.BadRequest("the filename must not be a path")
        if _CONTROL.search(filename):
            raise errors.BadRequest("the filename has control characters")
        if size is None:
            raise errors.BadRequest("the request has no size")
        if not size.isascii() or not size.isdigit() or int(size) == 0:
            raise errors.BadRequest(f"the size {size!r} is not a positive whole number")
        length = int(size)
        if contentType is not None:
            contentType = contentType.strip()
            if (
                not contentType.isascii()
                or not _MEDIA_TYPE.fullmatch(contentType)
                or _CONTROL.search(contentType)
            ):
                raise errors.BadRequest(f"{contentType!r} is not a content type")
        if length > self.maxFileSize:
            raise errors.FileTooLarge(
                self.maxFileSize,
                f"File too large. The maximum file size is {self.maxFileSize} bytes",
            )
        owner = requester.userhost()
        stored = self.stored(owner)
        if stored + length > self.quota:
            raise errors.QuotaExceeded(
                f"Quota reached: {stored} of {self.quota} bytes are used by "
                "files already uploaded"
            )
        pending = sorted(self._pending(owner), key=lambda s: s.expires)
        free = self.quota - stored - sum(s.size for s in pending)
        if length > free:
            for slot in pending:
                free += slot.size
                if free >= length:
                    break
            raise errors.QuotaReached(
                slot.expires,
                f"Quota reached: unused upload slots hold {self.quota - stored} "
                f"bytes of the {self.quota} byte quota until they expire",
            )
        slot = Slot(
            token=self.newToken(),
            owner=owner,
            filename=filename,
            size=length,
            contentType=contentType,
            expires=self.clock.seconds() + self.slotLifetime,
        )
        self._slots[slot.token] = slot
        return slot

    def _slot(self, token: str, filename: str) -> Slot:
        slot = self._slots.get(token)
        if slot is None or slot.filename != filename:
            raise SlotNotFound("no upload slot has this URL")
        return slot

    def upload(
        self,
        token: str,
        filename: str,
        contentLength: Optional[int],
        contentType: Optional[str],
        data: bytes,
    ) -> Slot:
        """
        Take a slot's file (section 7).

        @param contentLength: the request's Content-Length, or L{None}.
        @param contentType: the request's Content-Type, or L{None}.
        @param data: the request body.
        @raise SlotNotFound: no slot has this token and file name (an
            expired one may have been forgotten).
        @raise SlotUsed: the slot's file was uploaded already.
        @raise SlotExpired: the slot's lifetime ended.
        @raise SizeMismatch: the Content-Length or the body is not the
            slot's size.
        @raise ContentTypeMismatch: the slot has a content type, and the
            request's is different (parameters are not compared).
        """
        slot = self._slot(token, filename)
        if slot.uploaded:
            raise SlotUsed("this slot's file was uploaded already")
        if slot.expires <= self.clock.seconds():
            del self._slots[token]
            raise SlotExpired("this upload slot has expired")
        for length in (contentLength, len(data)):
            if length is None or length < slot.size:
                raise SizeMismatch(
                    False, f"the slot is for {slot.size} bytes; the upload has fewer"
                )
            if length > slot.size:
                raise SizeMismatch(
                    True, f"the slot is for {slot.size} bytes; the upload has more"
                )
        if slot.contentType is not None and mediaType(contentType) != mediaType(
            slot.contentType
        ):
            raise ContentTypeMismatch(
                f"the slot is for {slot.contentType}, not {contentType or 'no type'}"
            )
        self.store.write(token, data, slot.toMetadata())
        slot.uploaded = True
        return slot

    def download(self, token: str, filename: str) -> tuple[Slot, bytes]:
        """
        @return: an uploaded file's slot and bytes.
        @raise SlotNotFound: there is no uploaded file at this URL.
        """
        slot = self._slot(token, filename)
        if not slot.uploaded:
            raise SlotNotFound("nothing has been uploaded to this slot")
        return slot, self.store.read(token)

    def slots(self) -> Iterable[Slot]:
        """
        @return: every known slot and file.
        """
        return list(self._slots.values())
