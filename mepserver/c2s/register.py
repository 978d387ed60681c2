# -*- test-case-name: tests.test_stream -*-
"""
In-Band Registration (XEP-0077) with the server.

Before authentication, L{RegisterStep} offers the C{iq-register} stream
feature and answers registration requests on the stream (XEP-0077 section
3.1, "Registration with a Server" in section 3.1.1 of the compliance
notes). After authentication, L{RegistrationHandler} on the client domain
answers password changes (section 3.3) and cancellation (section 3.2).
Both go through L{RegistrationHandler.register}, so the rules are in one
place.
"""

from __future__ import annotations

import secrets

from twisted.internet import defer
from twisted.logger import Logger
from twisted.words.protocols.jabber import error, jid, xmlstream
from twisted.words.protocols.jabber.xmpp_stringprep import nodeprep
from twisted.words.xish import domish
from zope.interface.verify import verifyObject

from mepserver.c2s.mechanisms import makeCredentials
from mepserver.c2s.sessions import bounce
from mepserver.interfaces import IAccountObserver, UnknownUser, UserExists
from mepserver.jids import MAX_PART_BYTES
from mepserver.namespaces import NS_REGISTER
from mepserver.stanza import freeze

NS_REGISTER_FEATURE = "http://jabber.org/features/iq-register"
REGISTER_IQ = "/iq/query[@xmlns='%s']" % NS_REGISTER

log = Logger()


class RegistrationError(Exception):
    """
    A registration request was refused, with the condition to answer.
    """

    def __init__(self, condition, text):
        Exception.__init__(self, condition, text)
        self.condition = condition
        self.text = text


def generateUsername(ids=None):
    """
    @param ids: the L{mepserver.ids.IdSource} to draw from; a random one
        if L{None}.
    @return: a fresh username for SASL ANONYMOUS sessions.
    """
    if ids is None:
        return "anon-" + secrets.token_hex(8)
    return ids.newId("anon-")


def _query(iq):
    for child in iq.elements(NS_REGISTER, "query"):
        return child
    return None


def _field(query, name):
    for child in query.elements(NS_REGISTER, name):
        return str(child)
    return None


def fieldsForm(instructions):
    """
    The registration fields of XEP-0077 section 3.1: username and password.
    """
    query = domish.Element((NS_REGISTER, "query"))
    query.addElement("instructions", content=instructions)
    query.addElement("username")
    query.addElement("password")
    return query


class RegistrationHandler(xmlstream.XMPPHandler):
    """
    Account creation, password change and cancellation (XEP-0077).

    Observes C{jabber:iq:register} IQs to the client domain (or to the
    sender's own bare JID) from authenticated sessions:
      - get: the fields, with <registered/> and the username (section 3.1);
      - set with username and password: password change (section 3.3);
        C{bad-request} if incomplete, C{not-allowed} for another user;
      - set with <remove/>: cancellation (section 3.2): result, then every
        session of the account is closed with a C{not-authorized} stream
        error, and the account is removed (L{removeAccount}).

    @ivar observers: the L{IAccountObserver}s told of removed accounts.
    """

    def __init__(self, config, users, sessions, observers=(), archives=None):
        """
        @param observers: L{IAccountObserver}s, in the order they are told.
        @param archives: the L{mepserver.mam.account.AccountArchives}, whose
            archive of a removed account goes with it; or L{None}.
        """
        xmlstream.XMPPHandler.__init__(self)
        self.config = config
        self.users = users
        self.sessions = sessions
        for observer in observers:
            verifyObject(IAccountObserver, observer)
        self.observers = list(observers)
        self.archives = archives

    def connectionInitialized(self):
        self.xmlstream.addObserver(REGISTER_IQ, self.onRegisterIQ)

    @defer.inlineCallbacks
    def register(self, username, password):
        """
        Create an account.

        @raise RegistrationError: C{not-allowed} if registration is off,
            C{not-acceptable} for a missing or invalid field, C{conflict} if
            the username is taken (XEP-0077 section 3.1).
        """
        if not self.config.registration:
            raise RegistrationError(
                "not-allowed", "in-band registration is disabled on this server"
            )
        username = checkUsername(username)
        credentials = passwordCredentials(password)
        try:
            yield self.users.createUser(username, credentials)
        except UserExists:
            raise RegistrationError(
                "conflict", f"the username {username!r} is already taken"
            )
        log.info("Registered {user}", user=f"{username}@{self.config.domain}")

    def onRegisterIQ(self, iq):
        if iq.handled or iq.getAttribute("type") not in ("get", "set"):
            return
        sender = jid.internJID(iq["from"])
        to = jid.internJID(iq["to"])
        if sender.host != self.config.domain or to not in (
            jid.internJID(self.config.domain),
            sender.userhostJID(),
        ):
            return
        iq.handled = True
        d = defer.maybeDeferred(self.process, iq, sender)
        d.addErrback(self.failed, iq)
        d.addCallback(lambda reply: reply is not None and self.send(reply))
        d.addErrback(_logFailure)

    def removeAccount(self, username):
        """
        Remove an account and all it leaves behind, as Prosody does on
        C{user-deleted}: each L{IAccountObserver} undoes what it keeps (the
        contacts are unsubscribed, the PEP nodes deleted, what is held in
        memory forgotten), then the store removes the account with its
        roster, vCard, private XML, block list and offline messages, and
        the account's message archive (XEP-0313) goes. An
        account registered again with the same name starts empty.

        Runs under the account's lock, so that no subscription stanza for
        the account is processed half way through. An observer that fails
        is logged, and the account is removed all the same.

        @return: a Deferred that fires when the account is gone.
        """
        return self.sessions.locks.run(username, self._removeAccount, username)

    @defer.inlineCallbacks
    def _removeAccount(self, username):
        for observer in self.observers:
            try:
                yield observer.accountRemoved(username)
            except Exception:
                log.failure(
                    "Telling {observer!r} of the removal of {user}",
                    observer=observer,
                    user=username,
                )
        try:
            yield self.users.removeUser(username)
        except UnknownUser:
            pass
        if self.archives is not None:
            yield self.archives.removeArchive(username)

    def failed(self, failure, iq):
        """
        Turn a failure into the error reply to C{iq}: a
        L{RegistrationError} into its condition, anything else (the store
        failing, say) into C{internal-server-error} after logging it, since
        an IQ set is always answered (RFC 6120 section 8.2.3).

        The reply does not echo the request: it may hold a password
        (XEP-0077 section 3.3, "SHOULD NOT return the original XML").
        The request is not logged for the same reason.
        """
        if failure.check(RegistrationError):
            condition, text = failure.value.condition, failure.value.text
        else:
            log.failure("Processing a registration request", failure)
            condition, text = "internal-server-error", None
        reply = bounce(iq, condition, text)
        reply.children = [c for c in reply.children if c.name == "error"]
        return reply

    @defer.inlineCallbacks
    def process(self, iq, sender):
        query = _query(iq)
        username = sender.user
        if iq["type"] == "get":
            reply = xmlstream.toResponse(iq, "result")
            form = fieldsForm("You are registered; send a new password to change it.")
            form.addElement("registered")
            for child in form.elements(NS_REGISTER, "username"):
                child.addContent(username)
            reply.addChild(form)
            return reply
        if any(True for _ in query.elements(NS_REGISTER, "remove")):
            reply = xmlstream.toResponse(iq, "result")
            self.send(reply)
            for session in self.sessions.sessionsOf(username):
                session.close("not-authorized", "the account was removed")
            try:
                yield self.removeAccount(username)
            except Exception:
                # Answered already (section 3.2: the result comes first).
                log.failure("Removing {user}", user=sender.userhost())
                return None
            log.info("Removed {user}", user=sender.userhost())
            return None
        given = _field(query, "username")
        password = _field(query, "password")
        if given is None or password is None:
            raise RegistrationError(
                "bad-request", "a password change needs <username/> and <password/>"
            )
        if _prepared(given) != username:
            raise RegistrationError(
                "not-allowed", "you can only change your own account's password"
            )
        # Section 3.3: an empty password never replaces the current one.
        yield self.users.setCredentials(username, passwordCredentials(password))
        return xmlstream.toResponse(iq, "result")


def _logFailure(failure):
    # Not the request: it may hold a password (XEP-0077 section 3.3).
    log.failure("Answering a registration request", failure)


def _prepared(username):
    try:
        return nodeprep.prepare(username.strip())
    except UnicodeError:
        return None


def passwordCredentials(password):
    """
    @return: the SCRAM credentials for a new password.
    @raise RegistrationError: C{not-acceptable} if it is empty or SASLprep
        (RFC 4013) prohibits it.
    """
    if not password:
        raise RegistrationError("not-acceptable", "a password is required")
    try:
        return makeCredentials(password)
    except ValueError as e:
        raise RegistrationError("not-acceptable", f"unusable password: {e}")


def checkUsername(username):
    """
    @return: the nodeprep'd username.
    @raise RegistrationError: C{not-acceptable} if missing or not a valid
        localpart (RFC 7622 section 3.3).
    """
    if not username or not username.strip():
        raise RegistrationError("not-acceptable", "a username is required")
    prepared = _prepared(username)
    if not prepared or len(prepared.encode("utf-8")) > MAX_PART_BYTES:
        raise RegistrationError(
            "not-acceptable",
            f"{username!r} is not a valid username (no spaces, @, /, :, quotes, "
            "<, > or &; at most 1023 bytes)",
        )
    return prepared


#: The registration stream feature (XEP-0077 section 3.1), shared by every
#: stream.
REGISTER_FEATURE = freeze(domish.Element((NS_REGISTER_FEATURE, "register")))


class RegisterStep:
    """
    Registration before authentication, on the stream (XEP-0077 3.1).

    Offers the C{http://jabber.org/features/iq-register} stream feature
    until the stream is authenticated; an IQ get returns the fields, an IQ
    set creates the account (then the client authenticates with it).

    When encryption is required and the stream is not encrypted (a
    WebSocket without TLS, where there is no STARTTLS to go first), the
    feature is not offered and a request gets C{policy-violation}, as
    Prosody answers it: a new password would cross the network in the
    clear.

    @ivar encryptionRequired: whether to register only over an encrypted
        stream.
    """

    mandatory = False

    def __init__(self, authenticator, handler, encryptionRequired=False):
        self.authenticator = authenticator
        self.handler = handler
        self.encryptionRequired = encryptionRequired

    def insecure(self):
        """
        @return: whether encryption is required and the stream is not
            encrypted.
        """
        return self.encryptionRequired and not self.authenticator.xmlstream.isSecure()

    def feature(self):
        if self.authenticator.username is not None or self.insecure():
            return None
        return REGISTER_FEATURE

    def onElement(self, element):
        if self.authenticator.username is not None or element.name != "iq":
            return False
        query = _query(element)
        if query is None:
            return False
        if self.insecure() and element.getAttribute("type") in ("get", "set"):
            # Twisted's condition table predates RFC 6120's
            # policy-violation, so the type is given (section 8.3.3.12).
            refusal = error.StanzaError(
                "policy-violation",
                type="modify",
                text="this server requires encryption before registration: "
                "connect over TLS (wss:// for WebSocket)",
            )
            self.reply(refusal.toResponse(element))
            return True
        kind = element.getAttribute("type")
        if kind == "get":
            reply = xmlstream.toResponse(element, "result")
            reply.addChild(fieldsForm("Choose a username and password."))
            self.reply(reply)
        elif kind == "set":
            if any(True for _ in query.elements(NS_REGISTER, "remove")):
                self.reply(
                    bounce(
                        element,
                        "not-authorized",
                        "authenticate before cancelling a registration",
                    )
                )
                return True
            d = self.handler.register(
                _field(query, "username"), _field(query, "password")
            )
            d.addCallback(lambda _: xmlstream.toResponse(element, "result"))
            d.addErrback(self.handler.failed, element)
            d.addCallback(self.reply)
            d.addErrback(_logFailure)
        else:
            return False
        return True

    def reply(self, stanza):
        xs = self.authenticator.xmlstream
        if stanza is not None and not xs.closing:
            # Before authentication the client has no address (XEP-0077 3.1).
            if stanza.hasAttribute("to"):
                del stanza["to"]
            xs.send(stanza)
