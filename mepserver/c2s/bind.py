# -*- test-case-name: tests.test_stream -*-
"""
Resource binding (RFC 6120 section 7) and the legacy session feature.

The legacy C{urn:ietf:params:xml:ns:xmpp-session} feature of RFC 3921 is
advertised as optional (RFC 6121 Appendix E) and answered with an empty
result by the session, for clients that still send it.
"""

from __future__ import annotations

import secrets

from twisted.words.protocols.jabber import error, xmlstream
from twisted.words.protocols.jabber.client import NS_XMPP_BIND, NS_XMPP_SESSION
from twisted.words.protocols.jabber.xmpp_stringprep import resourceprep
from twisted.words.xish import domish

from mepserver.jids import MAX_PART_BYTES
from mepserver.stanza import freeze



def generateResource(ids=None):
    """
    @param ids: the L{mepserver.ids.IdSource} to draw from; a random one
        if L{None}.
    @return: a fresh, unguessable resource (RFC 6120 section 7.6.2.1).
    """
    if ids is None:
        return "mep-" + secrets.token_hex(6)
    return ids.newId("mep-")


#: The resource binding stream feature (RFC 6120 section 7.4), shared by
#: every stream.
BIND_FEATURE = freeze(domish.Element((NS_XMPP_BIND, "bind")))


def _sessionFeature():
    element = domish.Element((NS_XMPP_SESSION, "session"))
    element.addElement("optional")
    return freeze(element)


#: The legacy session feature, optional (RFC 6121 Appendix E).
SESSION_FEATURE = _sessionFeature()


class BindStep:
    """
    Offer <bind/> after SASL and bind the requested or a generated resource.

    A conflicting bind replaces the older session: RFC 6120 section 7.7.2.2
    leaves the choice to the server, and like Prosody and ejabberd we keep the
    newer one, closing the old stream with a C{conflict} stream error.
    """

    mandatory = False

    def __init__(self, authenticator, sessions):
        self.authenticator = authenticator
        self.sessions = sessions

    def feature(self):
        if self.authenticator.username is None or self.authenticator.session:
            return None
        return BIND_FEATURE

    def onElement(self, element):
        if self.authenticator.username is None or element.name != "iq":
            return False
        bind = _child(element, NS_XMPP_BIND, "bind")
        if bind is None:
            return False
        xs = self.authenticator.xmlstream
        if element.getAttribute("type") != "set":
            xs.send(
                error.StanzaError(
                    "bad-request", text="resource binding is an IQ of type 'set'"
                ).toResponse(element)
            )
            return True
        resourceElement = _child(bind, NS_XMPP_BIND, "resource")
        requested = str(resourceElement).strip() if resourceElement is not None else ""
        if requested:
            try:
                resource = resourceprep.prepare(requested)
            except UnicodeError:
                resource = ""
            if not resource or len(resource.encode("utf-8")) > MAX_PART_BYTES:
                xs.send(
                    error.StanzaError(
                        "bad-request",
                        text=f"{requested!r} is not a valid resource (RFC 7622)",
                    ).toResponse(element)
                )
                return True
        else:
            resource = generateResource(self.sessions.ids)
        username = self.authenticator.username
        session = self.sessions.bind(username, resource, xs)
        reply = xmlstream.toResponse(element, "result")
        reply.addElement((NS_XMPP_BIND, "bind")).addElement(
            "jid", content=session.jid.full()
        )
        xs.send(reply)
        self.authenticator.sessionStarted(session)
        return True


class PostAuthenticationFeature:
    """
    A stream feature advertised after authentication, beside <bind/>
    (RFC 6120 section 4.3.2), that takes no element before binding: what
    the client sends for it comes once bound, to the session.

    Subclasses provide L{element}.
    """

    mandatory = False

    def __init__(self, authenticator):
        self.authenticator = authenticator

    def feature(self):
        if self.authenticator.username is None or self.authenticator.session:
            return None
        return self.element()

    def element(self):
        """
        @return: the feature's element in <stream:features/>: best one
            L{mepserver.stanza.freeze}s once for every stream, so that
            the features' text can be kept (L{C2SAuthenticator
            <mepserver.c2s.stream.C2SAuthenticator>}).
        """
        raise NotImplementedError()

    def onElement(self, element):
        return False


class SessionFeatureStep(PostAuthenticationFeature):
    """
    Advertise the legacy session feature as optional, beside <bind/>
    (RFC 6121 Appendix E).
    """

    def element(self):
        return SESSION_FEATURE


def _child(element, uri, name):
    for child in element.elements(uri, name):
        return child
    return None
