# -*- test-case-name: tests.test_inspector -*-
"""
The inspector on the HTTP listener: the page at C{/} with its script, style
sheet and icon at C{/inspector/}, static files of this package (no build
step, nothing from elsewhere), and the JSON and event stream it reads
under C{/api/inspector/}, which L{mepserver.api.resource.APIResource}
routes here:

  - C{GET /api/inspector/rooms/{room}}: a room in full
    (L{mepserver.inspector.views.describeRoomInDetail});
  - C{GET /api/inspector/stanzas}: the stanza ring buffer, oldest first,
    with its size and whether it records without pages;
  - C{GET /api/inspector/stream[?since=seq]}: server-sent events
    (C{text/event-stream}, L{mepserver.inspector.stanzas.Viewer}): the
    buffered stanzas after C{since}, then each new stanza and MEP
    publication as it happens; 503 past
    L{mepserver.inspector.stanzas.MAX_VIEWERS} open streams.

Access: those are API endpoints, with the API's checks (C{Host},
C{Origin}, C{[http] token}). The page and its files hold no data: they
pass the C{Host} check (against DNS rebinding) but need no token, which
a browser could not send on navigation; the page asks for the token when
the API answers 401 and sends it as C{Authorization: Bearer}. Each file
is sent with a C{Content-Security-Policy} that allows only this origin's
script and style and no inline script, so that even a payload that
slipped past the page's escaping (it builds every text node with
C{textContent}) could not run.
"""

from __future__ import annotations

from importlib import resources as packageResources
from typing import Dict, Tuple

from twisted.web import resource

from mepserver.api.resource import APIError, Streamed
from mepserver.inspector import views
from mepserver.inspector.stanzas import MAX_VIEWERS, Viewer
from mepserver.web import Folder

#: The page's files: name to content type.
FILES = {
    "index.html": "text/html; charset=utf-8",
    "inspector.js": "text/javascript; charset=utf-8",
    "inspector.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}

#: Sent with every file of the page.
SECURITY_HEADERS = {
    b"content-security-policy": (
        b"default-src 'none'; script-src 'self'; style-src 'self'; "
        b"connect-src 'self'; img-src 'self'; base-uri 'none'; "
        b"form-action 'none'; frame-ancestors 'none'"
    ),
    b"x-content-type-options": b"nosniff",
    b"x-frame-options": b"DENY",
    b"referrer-policy": b"no-referrer",
    b"cache-control": b"no-cache",
}


def loadFiles() -> Dict[str, Tuple[bytes, str]]:
    """
    @return: the page's files from the package: name to C{(content,
        content type)}.
    """
    static = packageResources.files("mepserver.inspector") / "static"
    return {name: (static.joinpath(name).read_bytes(), kind) for name, kind in FILES.items()}


class FileResource(resource.Resource):
    """
    One file of the page, answering C{GET} and C{HEAD} to requests whose
    C{Host} names this server (L{mepserver.api.resource.APIResource}'s
    check).
    """

    isLeaf = True

    def __init__(self, api, content: bytes, contentType: str):
        resource.Resource.__init__(self)
        self.api = api
        self.content = content
        self.contentType = contentType

    def render(self, request):
        for name, value in SECURITY_HEADERS.items():
            request.setHeader(name, value)
        try:
            self.api._checkHost(request)
        except APIError as e:
            request.setResponseCode(e.status)
            request.setHeader(b"content-type", b"text/plain; charset=utf-8")
            return e.message.encode("utf-8")
        if request.method not in (b"GET", b"HEAD"):
            request.setResponseCode(405)
            request.setHeader(b"allow", b"GET, HEAD")
            request.setHeader(b"content-type", b"text/plain; charset=utf-8")
            return b"use GET"
        if request.postpath not in ([], [b""]):
            request.setResponseCode(404)
            request.setHeader(b"content-type", b"text/plain; charset=utf-8")
            return b"not found"
        request.setHeader(b"content-type", self.contentType.encode("ascii"))
        return self.content


class AssetsResource(Folder):
    """
    C{/inspector/}: the page's script and style sheet; nothing else, and
    no directory listing.
    """

    def __init__(self, api, files):
        Folder.__init__(self)
        for name, (content, kind) in files.items():
            if name != "index.html":
                self.putChild(name.encode("ascii"), FileResource(api, content, kind))


def pageResources(api) -> Tuple[resource.Resource, resource.Resource]:
    """
    @param api: the L{mepserver.api.resource.APIResource} whose C{Host}
        check the files share.
    @return: the page (for C{/}) and its assets (for C{/inspector/}).
    """
    files = loadFiles()
    content, kind = files["index.html"]
    return FileResource(api, content, kind), AssetsResource(api, files)


async def route(api, request, method: str, segments):
    """
    Answer C{/api/inspector/...}, once the API checked the request.

    @param api: the L{mepserver.api.resource.APIResource}.
    @param segments: the path below C{/api/inspector/}.
    @return: C{(status, body, headers)} as the API's routes return.
    @raise APIError: 404 for another path, 405, 503.
    """
    server = api.mepServer
    tap = getattr(server, "stanzas", None)
    if len(segments) == 2 and segments[0] == "rooms":
        api._allow(method, "GET")
        return 200, await views.describeRoomInDetail(server, api._room(segments[1])), {}
    if segments == ["stanzas"]:
        api._allow(method, "GET")
        if tap is None:
            return 200, {"size": 0, "always": False, "recording": False, "stanzas": []}, {}
        return 200, {
            "size": tap.size,
            "always": tap.always,
            "recording": tap.recording,
            "stanzas": list(tap.entries),
        }, {}
    if segments == ["stream"]:
        api._allow(method, "GET")
        if tap is None:
            raise APIError(503, "inspector-unavailable", "this server has no stanza stream")
        if len(tap.viewers) >= MAX_VIEWERS:
            raise APIError(
                503,
                "too-many-viewers",
                f"{MAX_VIEWERS} inspector pages are streaming already; close one",
            )
        try:
            since = int(request.args.get(b"since", [b"0"])[0])
        except ValueError:
            raise APIError(400, "bad-request", "since must be a whole number (a stanza's seq)")
        return 200, Streamed(lambda request: Viewer(tap, request).start(since)), {}
    raise APIError(
        404,
        "not-found",
        f"there is no API endpoint at {request.path.decode('utf-8', 'replace')}",
    )
