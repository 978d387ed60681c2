# -*- test-case-name: tests.test_roster,tests.test_stream -*-
"""
The stanza router: one route per served domain (RFC 6120 section 10).
"""

from twisted.words.protocols.jabber import error, jid
from wokkel import component


class Router(component.Router):
    """
    Route stanzas by the domain of their C{to} address.

    This subclass changes two things in wokkel's router. It does not log
    every stanza: that serializes each one a second time on the server's
    hottest path (DESIGN.md section 9); the streams log traffic when asked.
    And a domain with no route gets C{remote-server-not-found}, not
    C{remote-server-timeout}: this server has no server-to-server links, so
    such a domain can never be reached (RFC 6120 sections 8.3.3.15, 10.4.3).
    """

    def route(self, stanza):
        """
        Route a stanza to the component serving its C{to} domain.
        """
        destination = jid.internJID(stanza["to"])
        route = self.routes.get(destination.host)
        if route is None:
            route = self.routes.get(None)
        if route is not None:
            route.send(stanza)
        elif stanza.getAttribute("type") != "error" and not (
            stanza.name == "iq" and stanza.getAttribute("type") == "result"
        ):
            response = error.StanzaError(
                "remote-server-not-found",
                text=f"this server does not serve '{destination.host}' and "
                "has no server-to-server connections",
            ).toResponse(stanza)
            response["from"] = destination.host
            if response.getAttribute("to"):
                self.route(response)
