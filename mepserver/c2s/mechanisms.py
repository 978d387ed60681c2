# -*- test-case-name: tests.test_mechanisms -*-
"""
The server side of the SASL mechanisms mepserver offers to clients.

Implements the mechanism exchanges behind RFC 6120 section 6 (SASL
negotiation in XMPP; failure conditions from section 6.5) and RFC 4422
(SASL): SCRAM-SHA-256 and SCRAM-SHA-1 (RFC 5802, RFC 7677), PLAIN
(RFC 4616) and ANONYMOUS (RFC 4505). The XML and base64 layer lives in
L{mepserver.c2s.sasl}; these classes see decoded bytes only.

Passwords are never stored, only the salted keys of L{makeCredentials}
(derived with the C{scramp} package). A SCRAM login needs no key
derivation: the server's side of RFC 5802 section 3 is two HMACs and a
hash with the stored keys, done here with the standard library.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import functools
import hashlib
import hmac
import os
import secrets
from typing import Callable, Dict, Optional, Tuple

import scramp
from twisted.internet import defer
from twisted.logger import Logger
from twisted.words.protocols.jabber import jid
from twisted.words.protocols.jabber.xmpp_stringprep import nodeprep
from zope.interface import implementer

from mepserver.interfaces import Credentials, IServerMechanism, ScramKeys
from mepserver.stanza import forLog

SCRAM_MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-1")
"""
The SCRAM mechanisms, strongest first. L{Credentials} hold keys for each.
"""

DEFAULT_ITERATIONS = 4096
"""
The PBKDF2 iteration count of new credentials: RFC 7677 section 4's minimum
for SCRAM-SHA-256, and the lowest C{scramp} accepts.
"""

CONDITIONS = (
    "aborted",
    "account-disabled",
    "credentials-expired",
    "encryption-required",
    "incorrect-encoding",
    "invalid-authzid",
    "invalid-mechanism",
    "malformed-request",
    "mechanism-too-weak",
    "not-authorized",
    "temporary-auth-failure",
)
"""
The SASL failure conditions of RFC 6120 section 6.5.
"""

_HASHES = {"SCRAM-SHA-1": hashlib.sha1, "SCRAM-SHA-256": hashlib.sha256}
_DIGESTS = {"SCRAM-SHA-1": "sha1", "SCRAM-SHA-256": "sha256"}

# The secret behind the stand-in keys of unknown users (see _fakeKeys). It
# only has to stay stable while the process runs: a client probing the same
# unknown name twice sees the same salt, as it would for a real account.
_FAKE_KEY_SECRET = os.urandom(32)

_AUTHENTICATION_FAILED = "Authentication failed"


@dataclasses.dataclass(frozen=True)
class Challenge:
    """
    A challenge to send the client (RFC 6120 section 6.4.3).

    @ivar data: the challenge, before base64 encoding; C{b""} is an empty
        challenge.
    """

    data: bytes


@dataclasses.dataclass(frozen=True)
class Success:
    """
    The exchange succeeded (RFC 6120 section 6.4.6).

    @ivar username: the authenticated, nodeprep'd localpart.
    @ivar additionalData: data to send in the <success/> element (the SCRAM
        server-final-message), or L{None}.
    """

    username: Optional[str]
    additionalData: Optional[bytes] = None


class SASLFailure(Exception):
    """
    The exchange failed with an RFC 6120 section 6.5 condition.

    @ivar condition: one of L{CONDITIONS}.
    @ivar text: a human-readable explanation for the <text/> element, or
        C{""}.
    """

    def __init__(self, condition: str, text: str = "") -> None:
        """
        @raise ValueError: if C{condition} is not one of L{CONDITIONS}.
        """
        if condition not in CONDITIONS:
            raise ValueError(f"unknown SASL failure condition {condition!r}")
        super().__init__(condition, text)
        self.condition = condition
        self.text = text

    def __str__(self) -> str:
        if self.text:
            return f"{self.condition}: {self.text}"
        return self.condition


def makeCredentials(password: str, iterations: int = DEFAULT_ITERATIONS) -> Credentials:
    """
    Derive the stored SCRAM keys of a password, for every mechanism in
    L{SCRAM_MECHANISMS}, each with its own random salt.

    The password is SASLprep'd first (RFC 5802 section 2.2, RFC 4013).

    @param password: the plain password.
    @param iterations: the PBKDF2 iteration count, at least 4096.
    @return: the L{Credentials} to store.
    @raise ValueError: if the password is empty or SASLprep prohibits it,
        or if C{iterations} is out of range.
    """
    if not password:
        raise ValueError("the password must not be empty")
    keys = {}
    for name in SCRAM_MECHANISMS:
        try:
            salt, storedKey, serverKey, count = scramp.ScramMechanism(
                name
            ).make_auth_info(password, iteration_count=iterations)
        except scramp.ScramException as e:
            raise ValueError(e.args[0]) from None
        keys[name] = ScramKeys(
            salt=salt, storedKey=storedKey, serverKey=serverKey, iterations=count
        )
    return Credentials(keys=keys)


def checkPassword(credentials: Credentials, password: str) -> bool:
    """
    Whether a plain password matches stored credentials (for PLAIN).

    The password is derived again with the stored salt and iteration count
    of the strongest hash present, and the stored keys are compared in
    constant time.

    @return: C{True} on a match; C{False} otherwise, also when SASLprep
        prohibits the password or the credentials hold no SCRAM keys.
    """
    for name in SCRAM_MECHANISMS:
        keys = credentials.keys.get(name)
        if keys is not None:
            break
    else:
        return False
    try:
        _, storedKey, _, _ = scramp.ScramMechanism(name).make_auth_info(
            password, iteration_count=keys.iterations, salt=keys.salt
        )
    except scramp.ScramException:
        return False
    return hmac.compare_digest(storedKey, keys.storedKey)


def _fakeKeys(name: str, username: str) -> ScramKeys:
    """
    Stand-in keys for a user that doesn't exist (RFC 5802 section 9: a
    server should not reveal whether a username exists).

    They are shaped like real keys and the same for the same username, but
    derived from a secret, so no password matches them.
    """
    hashFunction = _HASHES[name]

    def derive(label: bytes) -> bytes:
        return hmac.new(
            _FAKE_KEY_SECRET,
            label + b"\0" + name.encode() + b"\0" + username.encode(),
            hashlib.sha256,
        ).digest()

    return ScramKeys(
        salt=derive(b"salt"),
        storedKey=derive(b"stored")[: hashFunction().digest_size],
        serverKey=derive(b"server")[: hashFunction().digest_size],
        iterations=DEFAULT_ITERATIONS,
    )


def _prepareUsername(username: str) -> str:
    """
    Nodeprep a SASL authentication identity, the localpart of the account.

    @raise SASLFailure: C{not-authorized} if it is empty or nodeprep
        prohibits it: no such account can exist.
    """
    try:
        prepared = nodeprep.prepare(username)
    except UnicodeError:
        prepared = ""
    if not prepared:
        raise SASLFailure("not-authorized", _AUTHENTICATION_FAILED)
    return prepared


def _checkAuthzid(authzid: str, username: str, domain: str) -> None:
    """
    Accept an authorization identity only if it is the bare JID of the
    authenticated account (RFC 6120 section 6.3.8): mepserver lets no one
    act for another.

    @raise SASLFailure: C{invalid-authzid} otherwise.
    """
    try:
        requested = jid.JID(authzid)
    except (jid.InvalidFormat, UnicodeError):
        raise SASLFailure("invalid-authzid", "The authzid is not a valid JID") from None
    if requested != jid.JID(tuple=(username, domain, None)):
        raise SASLFailure(
            "invalid-authzid", "The authzid must be your own bare JID or absent"
        )


def _fetchCredentials(getCredentials, username: str, log: Logger) -> defer.Deferred:
    """
    Call C{getCredentials}, turning its failures into
    C{temporary-auth-failure} (RFC 6120 section 6.5.11) after logging them.
    """

    def eb(failure):
        log.failure(
            "Looking up credentials of {username} failed",
            failure,
            username=forLog(username),
        )
        raise SASLFailure(
            "temporary-auth-failure", "The account store is not available"
        )

    return defer.maybeDeferred(getCredentials, username).addErrback(eb)


def _decode(message: bytes) -> str:
    """
    Decode a SASL message as UTF-8 (RFC 5802 section 5.1, RFC 4616
    section 2).

    @raise SASLFailure: C{malformed-request} if it isn't UTF-8.
    """
    try:
        return message.decode("utf-8")
    except UnicodeDecodeError:
        raise SASLFailure("malformed-request", "The message is not UTF-8") from None


def _unescapeSaslname(saslname: str) -> str:
    """
    Undo the C{=2C} and C{=3D} escaping of an RFC 5802 section 7
    C{saslname}.

    @raise SASLFailure: C{malformed-request} for any other C{=} sequence.
    """
    parts = saslname.split("=")
    unescaped = [parts[0]]
    for part in parts[1:]:
        if part[:2] == "2C":
            unescaped.append("," + part[2:])
        elif part[:2] == "3D":
            unescaped.append("=" + part[2:])
        else:
            raise SASLFailure(
                "malformed-request", "An '=' in a saslname must start '=2C' or '=3D'"
            )
    return "".join(unescaped)


def _parseClientFirst(message: str) -> Tuple[str, Optional[str], str, str]:
    """
    Split a SCRAM client-first-message (RFC 5802 section 7) as far as the
    server needs to check the username and the authzid.

    @return: C{(gs2Header, authzid, username, clientFirstBare)}:
        C{gs2Header} as sent, including its trailing comma; C{authzid}
        unescaped, or L{None} when absent; C{username} unescaped but not
        yet prepared.
    @raise SASLFailure: C{malformed-request} if the message doesn't follow
        the grammar or asks for channel binding.
    """
    fields = message.split(",", 2)
    if len(fields) != 3:
        raise SASLFailure("malformed-request", "The gs2-header is incomplete")
    flag, authzidField, bare = fields
    if flag.startswith("p="):
        # RFC 5802 section 6: "p" is only for the -PLUS mechanisms, which
        # mepserver doesn't offer, so a "p" with a plain SCRAM name breaks
        # the mechanism's rules. Prosody answers this with malformed-request
        # too; "y" (the client could bind, thinks we can't) is right.
        raise SASLFailure(
            "malformed-request", "Channel binding is not supported; use 'n' or 'y'"
        )
    if flag not in ("n", "y"):
        raise SASLFailure("malformed-request", "Unknown gs2-cbind-flag")
    if authzidField == "":
        authzid = None
    elif authzidField.startswith("a=") and len(authzidField) > 2:
        authzid = _unescapeSaslname(authzidField[2:])
    else:
        raise SASLFailure("malformed-request", "Malformed authzid in the gs2-header")
    # RFC 5802 section 5.1: the reserved "m" attribute, which would come
    # first, is not understood by any server and must fail the exchange.
    if not bare.startswith("n="):
        raise SASLFailure(
            "malformed-request", "The client-first-message must start with n="
        )
    username = _unescapeSaslname(bare[2:].split(",", 1)[0])
    header = message[: len(message) - len(bare)]
    return header, authzid, username, bare


def _clientNonce(bare: str) -> str:
    """
    Check the whole client-first-message-bare (RFC 5802 section 7:
    C{n=}, C{r=}, then extensions).

    @return: the client's nonce.
    @raise SASLFailure: C{malformed-request} if it breaks the grammar or
        the nonce is not printable ASCII without commas.
    """
    nonce = _parseAttributes(bare, ("n", "r"))["r"]
    # Printable ASCII but space; no comma can be left in an attribute.
    if not (nonce.isascii() and nonce.isprintable()) or " " in nonce:
        raise SASLFailure("malformed-request", "The client nonce is not printable ASCII")
    return nonce


#: The attribute names RFC 5802 section 5.1 defines; any other is an
#: extension, which may follow the ones a message requires.
_SCRAM_ATTRIBUTES = frozenset("anmrcsipve")


def _parseAttributes(message: str, required, last: Optional[str] = None) -> Dict[str, str]:
    """
    Split a SCRAM message into its attributes (RFC 5802 section 7): each
    C{name=value}, the name one ASCII letter, the value not empty; the
    C{required} names first and in order, then extensions, then C{last}.

    @return: the values by name.
    @raise SASLFailure: C{malformed-request} for a message that breaks the
        grammar, repeats a name or uses the reserved C{m}.
    """
    values: Dict[str, str] = {}
    for pair in message.split(","):
        name = pair[:1]
        if len(pair) < 3 or pair[1] != "=" or not (name.isascii() and name.isalpha()):
            raise SASLFailure(
                "malformed-request", "A SCRAM attribute is a letter, '=' and a value"
            )
        if name == "m":
            raise SASLFailure("malformed-request", "Mandatory extensions are not supported")
        if name in values or "\0" in pair:
            raise SASLFailure("malformed-request", f"Malformed SCRAM attribute {name!r}")
        values[name] = pair[2:]
    names = list(values)
    extensions = names[len(required) : len(names) - (1 if last else 0)]
    if (
        names[: len(required)] != list(required)
        or (last is not None and names[-1:] != [last])
        or len(names) < len(required) + (1 if last else 0)
        or any(name in _SCRAM_ATTRIBUTES for name in extensions)
    ):
        expected = ",".join(list(required) + ([last] if last else []))
        raise SASLFailure(
            "malformed-request", f"Expected the SCRAM attributes {expected}, in order"
        )
    return values


def _base64(value: str, what: str) -> bytes:
    """
    @raise SASLFailure: C{malformed-request} if C{value} is not base64.
    """
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise SASLFailure("malformed-request", f"The {what} is not valid base64") from None


class _SteppedMechanism:
    """
    The stepping shared by mechanisms whose first message is the client's.

    Subclasses name C{_first}, the handler of the client's first message,
    and C{_over}, the text for a step after the end; each handler sets
    C{_next} to the handler of the next step.
    """

    _over = "The exchange is over"

    def step(self, response: Optional[bytes]) -> defer.Deferred:
        """
        See L{IServerMechanism.step}.
        """
        return defer.maybeDeferred(self._next, response)

    def _initial(self, response):
        # RFC 6120 section 6.4.2: without an initial response the server
        # sends an empty challenge and the client's first message follows.
        if response is None:
            self._next = self._first
            return Challenge(b"")
        return self._first(response)

    def _first(self, response):
        raise NotImplementedError()

    def _finished(self, response):
        raise SASLFailure("malformed-request", self._over)


@implementer(IServerMechanism)
class ScramMechanism(_SteppedMechanism):
    """
    The server side of SCRAM-SHA-1 or SCRAM-SHA-256 without channel binding
    (RFC 5802, RFC 7677).

    The exchange: an optional empty challenge when the client sent no
    initial response (RFC 6120 section 6.4.2), the client-first-message,
    the server-first-message as a L{Challenge}, the client-final-message,
    then L{Success} carrying the server-final-message (C{v=...}) as
    additional data (RFC 6120 section 6.3.10).

    An unknown user, or one without keys for this hash, gets stand-in keys,
    so the exchange looks the same up to the final C{not-authorized}
    (RFC 5802 section 9).

    Failures: C{malformed-request} for messages that break the grammar, a
    C{p} channel binding flag, or any response after the exchange ended;
    C{invalid-authzid} for an authzid other than the user's bare JID;
    C{not-authorized} for a wrong proof, an unknown user or a username
    nodeprep prohibits; C{temporary-auth-failure} when C{getCredentials}
    fails.
    """

    _log = Logger()

    _over = "The SCRAM exchange is over"

    def __init__(self, name: str, getCredentials, domain: str) -> None:
        """
        @param name: C{"SCRAM-SHA-256"} or C{"SCRAM-SHA-1"}.
        @param getCredentials: called with a nodeprep'd username; returns
            (a Deferred firing with) the user's L{Credentials} or L{None}.
        @param domain: the client domain, for checking an authzid.
        @raise ValueError: for another mechanism name.
        """
        if name not in SCRAM_MECHANISMS:
            raise ValueError(f"unsupported SCRAM mechanism {name!r}")
        self.name = name
        self._getCredentials = getCredentials
        self._domain = domain
        self._knownUser = False
        self._username: Optional[str] = None
        self._next = self._initial

    def _first(self, response):
        if response is None:
            raise SASLFailure("malformed-request", "Expected the client-first-message")
        self._next = self._finished
        header, authzid, username, bare = _parseClientFirst(_decode(response))
        username = _prepareUsername(username)
        if authzid is not None:
            _checkAuthzid(authzid, username, self._domain)
        nonce = _clientNonce(bare)
        self._username = username
        d = _fetchCredentials(self._getCredentials, username, self._log)
        d.addCallback(self._serverFirst, header, bare, nonce)
        return d

    def _serverFirst(self, credentials, header, bare, nonce):
        keys = None if credentials is None else credentials.keys.get(self.name)
        self._knownUser = keys is not None
        if keys is None:
            keys = _fakeKeys(self.name, self._username)
        self._keys = keys
        # RFC 5802 section 7: the client's nonce, then the server's.
        self._nonce = nonce + secrets.token_urlsafe(18)
        # Without channel binding, the cbind-input the client proves is the
        # gs2-header exactly as it sent it (authzid included).
        self._header = header.encode("utf-8")
        serverFirst = (
            f"r={self._nonce},s={base64.b64encode(keys.salt).decode('ascii')},"
            f"i={keys.iterations}"
        )
        self._authPrefix = f"{bare},{serverFirst},"
        self._next = self._clientFinal
        return Challenge(serverFirst.encode("utf-8"))

    def _clientFinal(self, response):
        self._next = self._finished
        if response is None:
            raise SASLFailure("malformed-request", "Expected the client-final-message")
        message = _decode(response)
        attributes = _parseAttributes(message, ("c", "r"), "p")
        channelBinding = _base64(attributes["c"], "channel binding")
        proof = _base64(attributes["p"], "proof")
        if not hmac.compare_digest(channelBinding, self._header):
            raise SASLFailure("not-authorized", _AUTHENTICATION_FAILED)
        if attributes["r"] != self._nonce:
            raise SASLFailure("malformed-request", "The nonce is not the one of this exchange")
        digest = _DIGESTS[self.name]
        keys = self._keys
        # RFC 5802 section 3: AuthMessage, then ClientKey recovered from
        # the proof; its hash must be the stored key.
        authMessage = (self._authPrefix + message[: message.rindex(",p=")]).encode("utf-8")
        clientSignature = hmac.digest(keys.storedKey, authMessage, digest)
        if len(proof) != len(clientSignature):
            raise SASLFailure("not-authorized", _AUTHENTICATION_FAILED)
        clientKey = (
            int.from_bytes(clientSignature, "big") ^ int.from_bytes(proof, "big")
        ).to_bytes(len(proof), "big")
        if not hmac.compare_digest(hashlib.new(digest, clientKey).digest(), keys.storedKey):
            raise SASLFailure("not-authorized", _AUTHENTICATION_FAILED)
        if not self._knownUser:
            raise SASLFailure("not-authorized", _AUTHENTICATION_FAILED)
        serverSignature = hmac.digest(keys.serverKey, authMessage, digest)
        return Success(self._username, b"v=" + base64.b64encode(serverSignature))


@implementer(IServerMechanism)
class PlainMechanism(_SteppedMechanism):
    """
    The server side of PLAIN (RFC 4616): one message,
    C{authzid NUL authcid NUL passwd}, checked against the stored SCRAM
    keys with L{checkPassword}.

    Failures: C{malformed-request} for a message of another shape, an empty
    initial response, or a response after the exchange ended;
    C{invalid-authzid} for an authzid other than the user's bare JID;
    C{not-authorized} for a wrong password or an unknown user;
    C{temporary-auth-failure} when C{getCredentials} fails.
    """

    name = "PLAIN"
    _log = Logger()

    _over = "The PLAIN exchange is over"

    def __init__(self, getCredentials, domain: str) -> None:
        """
        @param getCredentials: as for L{ScramMechanism}.
        @param domain: the client domain, for checking an authzid.
        """
        self._getCredentials = getCredentials
        self._domain = domain
        self._next = self._initial

    def _first(self, response):
        self._next = self._finished
        if response is None:
            raise SASLFailure("malformed-request", "Expected the PLAIN message")
        fields = _decode(response).split("\0")
        if len(fields) != 3 or not fields[1] or not fields[2]:
            raise SASLFailure(
                "malformed-request", "Expected authzid NUL authcid NUL password"
            )
        authzid, authcid, password = fields
        username = _prepareUsername(authcid)
        if authzid:
            _checkAuthzid(authzid, username, self._domain)
        d = _fetchCredentials(self._getCredentials, username, self._log)
        d.addCallback(self._check, username, password)
        return d

    def _check(self, credentials, username, password):
        known = credentials is not None
        if not known:
            # Spend the same work on an unknown user as on a known one.
            credentials = Credentials(
                keys={"SCRAM-SHA-256": _fakeKeys("SCRAM-SHA-256", username)}
            )
        if checkPassword(credentials, password) and known:
            return Success(username)
        raise SASLFailure("not-authorized", _AUTHENTICATION_FAILED)


@implementer(IServerMechanism)
class AnonymousMechanism:
    """
    The server side of ANONYMOUS (RFC 4505): the client gets a fresh
    username. The optional trace information is ignored, and the exchange
    succeeds at once even without an initial response, as RFC 4505
    section 2 makes the trace optional.

    Failures: C{malformed-request} for a response after success.
    """

    name = "ANONYMOUS"

    def __init__(self, generateUsername: Callable[[], str]) -> None:
        """
        @param generateUsername: returns (a Deferred firing with) a new,
            unused, nodeprep'd username.
        """
        self._generateUsername = generateUsername
        self._done = False

    def step(self, response: Optional[bytes]) -> defer.Deferred:
        """
        See L{IServerMechanism.step}.
        """
        if self._done:
            return defer.fail(
                SASLFailure("malformed-request", "The ANONYMOUS exchange is over")
            )
        self._done = True
        return defer.maybeDeferred(self._generateUsername).addCallback(Success)


def mechanismFactories(
    getCredentials,
    domain: str,
    allowPlain: bool,
    allowAnonymous: bool,
    generateUsername: Optional[Callable[[], str]] = None,
) -> Dict[str, Callable[[], IServerMechanism]]:
    """
    The mechanisms to offer, strongest first: SCRAM-SHA-256, SCRAM-SHA-1,
    then PLAIN and ANONYMOUS if allowed (RFC 6120 section 6.3.3 leaves the
    order to the server; clients pick the first they support).

    @param getCredentials: as for L{ScramMechanism}.
    @param domain: the client domain.
    @param allowPlain: offer PLAIN (the caller decides whether the stream
        is safe enough for it).
    @param allowAnonymous: offer ANONYMOUS.
    @param generateUsername: as for L{AnonymousMechanism}; needed only
        with C{allowAnonymous}.
    @return: an ordered L{dict} from mechanism name to a callable that
        makes a fresh mechanism for one attempt.
    @raise ValueError: if C{allowAnonymous} is set without
        C{generateUsername}.
    """
    factories: Dict[str, Callable[[], IServerMechanism]] = {}
    for name in SCRAM_MECHANISMS:
        factories[name] = functools.partial(
            ScramMechanism, name, getCredentials, domain
        )
    if allowPlain:
        factories["PLAIN"] = functools.partial(PlainMechanism, getCredentials, domain)
    if allowAnonymous:
        if generateUsername is None:
            raise ValueError("ANONYMOUS needs a generateUsername callable")
        factories["ANONYMOUS"] = functools.partial(AnonymousMechanism, generateUsername)
    return factories
