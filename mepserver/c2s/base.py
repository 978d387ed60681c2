# -*- test-case-name: tests.test_c2s_base -*-
"""
What the handlers of the client domain's accounts have in common: their
work may end after the component stopped, and the answer to an account's
request goes to its session directly.
"""

from twisted.words.protocols.jabber import jid
from twisted.words.protocols.jabber.xmlstream import XMPPHandler


class AccountHandler(XMPPHandler):
    """
    An L{XMPPHandler} of the client domain's component that serves its
    accounts (roster presence, blocking, vCards, private XML, MAM).

    Such a handler often waits for the store, which answers from its thread
    (SQLite), so a session ending at shutdown may finish its work when the
    component is gone: L{send} then drops the stanza instead of failing.

    @ivar sessions: the L{mepserver.c2s.sessions.SessionManager}; set by
        the subclass, and needed only by L{reply}.
    """

    def send(self, stanza):
        """
        Send a stanza to the router, unless there is none (C{bounce} gives
        L{None} for an error, which is never answered) or the component
        stopped.
        """
        if stanza is not None and self.xmlstream is not None:
            XMPPHandler.send(self, stanza)

    def reply(self, response, iq):
        """
        Send the answer to an account's request to the session that sent it
        directly, so that it keeps its place among what the request made
        the server send that session (pushes, PEP notifications, MAM
        results); through the router (L{send}) if that session is gone.

        @param response: the answer.
        @param iq: the request.
        """
        session = self.sessions.session(jid.internJID(iq["from"]))
        if session is not None:
            session.send(response)
        else:
            self.send(response)
