# -*- test-case-name: tests.test_hostmeta -*-
"""
Discovering the WebSocket endpoint (XEP-0156 section 3, RFC 6415): the
C{/.well-known/host-meta} (XRD, C{application/xrd+xml}) and
C{/.well-known/host-meta.json} (JRD, C{application/json}) resources of the
HTTP listener.

Each names the RFC 7395 endpoint with the link relation
C{urn:xmpp:alt-connections:websocket}; there is no BOSH, so no
C{urn:xmpp:alt-connections:xbosh}. Both carry C{Access-Control-Allow-Origin:
*} (section 4), so that a browser client served from another origin can
read them; that header is on these two resources only.

Where the XEP leaves room, the URL is the one the client used to reach the
host-meta itself:

  - the host and port are the request's C{Host} header (as the client
    wrote it: C{localhost:5280}, C{127.0.0.1:5280}, C{[::1]:5280}, or a
    name a reverse proxy forwards), and the listener's own address when
    the header is missing or is not a host with an optional port;
  - the scheme is C{wss} when the request came over TLS and C{ws}
    otherwise: the HTTP listener is plain HTTP unless configured with a
    C{ssl:} endpoint. Section 3 wants host-meta fetched over HTTPS and
    only C{wss} URLs used, so a strict client ignores a C{ws} link; a
    C{ws} link on loopback is what a local development setup needs.
    Headers such as C{X-Forwarded-Proto} are not read.
"""

from __future__ import annotations

import json
import re
from typing import Callable
from xml.sax.saxutils import quoteattr

from twisted.internet import address
from twisted.web import pages, resource

from mepserver.web import Folder

#: XEP-0156 section 3.1: the link relation of XMPP over WebSocket.
REL_WEBSOCKET = "urn:xmpp:alt-connections:websocket"

#: The XRD namespace (RFC 6415 section 3).
NS_XRD = "http://docs.oasis-open.org/ns/xri/xrd-1.0"

# An RFC 3986 host (a registered name, IPv4 or a bracketed IPv6 address)
# with an optional port: anything else in Host is not put in a URL.
_HOST_HEADER = re.compile(
    r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::[0-9]{1,5})?"
)


def _listenerAuthority(request) -> str:
    """
    The address the request arrived at, as the authority part of a URL.
    """
    host = request.getHost()
    if isinstance(host, (address.IPv4Address, address.IPv6Address)):
        name = host.host
        if isinstance(host, address.IPv6Address):
            name = f"[{name}]"
        return f"{name}:{host.port}"
    return "localhost"


def webSocketURL(request, path: str) -> str:
    """
    The URL of the WebSocket endpoint at C{path}, as reached by C{request}.

    @param request: the L{twisted.web.server.Request} for the host-meta.
    @param path: the endpoint's absolute path, e.g. C{/xmpp-websocket}.
    @return: C{ws://} or C{wss://}, the C{Host} header (or the listener's
        address), and C{path}.
    """
    scheme = "wss" if request.isSecure() else "ws"
    given = request.getHeader("host")
    if given is not None and _HOST_HEADER.fullmatch(given.strip()):
        authority = given.strip().lower()
    else:
        authority = _listenerAuthority(request)
    return f"{scheme}://{authority}{path}"


def renderXRD(links) -> bytes:
    """
    @param links: C{(rel, href)} pairs.
    @return: the XRD document (RFC 6415 section 3), UTF-8.
    """
    lines = ["<?xml version='1.0' encoding='utf-8'?>", f"<XRD xmlns='{NS_XRD}'>"]
    for rel, href in links:
        lines.append(f"  <Link rel={quoteattr(rel)} href={quoteattr(href)}/>")
    lines.append("</XRD>\n")
    return "\n".join(lines).encode("utf-8")


def renderJRD(links) -> bytes:
    """
    @param links: C{(rel, href)} pairs.
    @return: the JRD document (RFC 6415 appendix A), UTF-8.
    """
    document = {"links": [{"rel": rel, "href": href} for rel, href in links]}
    return (json.dumps(document, indent=2) + "\n").encode("utf-8")


class HostMetaResource(resource.Resource):
    """
    One host-meta document, naming the WebSocket endpoint as the request
    reached the server.

    Answers C{GET} and C{HEAD}; other methods get C{405}.
    """

    isLeaf = True

    def __init__(self, contentType: bytes, render: Callable, webSocketPath: str):
        """
        @param contentType: the C{Content-Type} of the document.
        @param render: L{renderXRD} or L{renderJRD}.
        @param webSocketPath: the absolute path of the RFC 7395 endpoint.
        """
        resource.Resource.__init__(self)
        self.contentType = contentType
        self.renderDocument = render
        self.webSocketPath = webSocketPath

    def render(self, request):
        if request.method in (b"GET", b"HEAD"):
            return resource.Resource.render(self, request)
        request.setHeader(b"allow", b"GET, HEAD")
        return pages.errorPage(
            405, "Method Not Allowed", "host-meta answers GET and HEAD only"
        ).render(request)

    def render_GET(self, request):
        request.setHeader(b"content-type", self.contentType)
        request.setHeader(b"access-control-allow-origin", b"*")
        return self.renderDocument([(REL_WEBSOCKET, webSocketURL(request, self.webSocketPath))])


def wellKnownResource(webSocketPath: str) -> resource.Resource:
    """
    The C{/.well-known/} resource with C{host-meta} and C{host-meta.json}.

    @param webSocketPath: the absolute path of the RFC 7395 endpoint on the
        same listener, e.g. C{/xmpp-websocket}.
    """
    wellKnown = Folder()
    wellKnown.putChild(
        b"host-meta",
        HostMetaResource(b"application/xrd+xml", renderXRD, webSocketPath),
    )
    wellKnown.putChild(
        b"host-meta.json",
        HostMetaResource(b"application/json", renderJRD, webSocketPath),
    )
    return wellKnown
