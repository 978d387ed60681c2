# -*- test-case-name: tests.test_mechanisms -*-
"""
Tests for L{mepserver.c2s.mechanisms}: SCRAM (RFC 5802, RFC 7677), PLAIN
(RFC 4616) and ANONYMOUS (RFC 4505) as RFC 6120 section 6 uses them.

The SCRAM exchanges run against C{scramp}'s client, and the authzid cases
against a small client written from RFC 5802 section 3 below.
"""

import base64
import hashlib
import hmac

import scramp
from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from mepserver.c2s.mechanisms import (
    CONDITIONS,
    DEFAULT_ITERATIONS,
    AnonymousMechanism,
    Challenge,
    PlainMechanism,
    SASLFailure,
    ScramMechanism,
    Success,
    checkPassword,
    makeCredentials,
    mechanismFactories,
)
from mepserver.interfaces import Credentials, IServerMechanism, ScramKeys

DOMAIN = "localhost"

USERS = {
    "juliet": makeCredentials("r0m30myr0m30"),
    "a,b=c": makeCredentials("escaped"),
    "jürgen": makeCredentials("pässwörd"),
}


def getCredentials(username):
    """
    A dict-backed C{getCredentials}, as the memory store answers.
    """
    return defer.succeed(USERS.get(username))


class HandWrittenScramClient:
    """
    The client side of SCRAM without channel binding, written from RFC 5802
    section 3, for what C{scramp}'s client can't send: an authzid.
    """

    def __init__(self, mechanismName, username, password, gs2Header):
        self.hashFunction = {
            "SCRAM-SHA-1": hashlib.sha1,
            "SCRAM-SHA-256": hashlib.sha256,
        }[mechanismName]
        self.username = username
        self.password = password
        self.gs2Header = gs2Header
        self.clientNonce = "fyko+d2lbbFgONRv9qkxdawL"

    def clientFirst(self):
        self.clientFirstBare = f"n={self.username},r={self.clientNonce}"
        return (self.gs2Header + self.clientFirstBare).encode("utf-8")

    def clientFinal(self, serverFirst, extensions=""):
        serverFirst = serverFirst.decode("utf-8")
        attributes = dict(field.split("=", 1) for field in serverFirst.split(","))
        salted = hashlib.pbkdf2_hmac(
            self.hashFunction().name,
            self.password.encode("utf-8"),
            base64.b64decode(attributes["s"]),
            int(attributes["i"]),
        )
        clientKey = hmac.new(salted, b"Client Key", self.hashFunction).digest()
        storedKey = self.hashFunction(clientKey).digest()
        serverKey = hmac.new(salted, b"Server Key", self.hashFunction).digest()
        channelBinding = base64.b64encode(self.gs2Header.encode("utf-8")).decode()
        withoutProof = f"c={channelBinding},r={attributes['r']}{extensions}"
        authMessage = ",".join((self.clientFirstBare, serverFirst, withoutProof))
        authMessage = authMessage.encode("utf-8")
        signature = hmac.new(storedKey, authMessage, self.hashFunction).digest()
        proof = bytes(a ^ b for a, b in zip(clientKey, signature))
        self.serverSignature = hmac.new(
            serverKey, authMessage, self.hashFunction
        ).digest()
        return f"{withoutProof},p={base64.b64encode(proof).decode()}".encode()

    def checkServerFinal(self, serverFinal):
        return serverFinal == b"v=" + base64.b64encode(self.serverSignature)


class ScramTestsMixin:
    """
    Tests for L{ScramMechanism}, run for each hash by the subclasses.
    """

    mechanismName: str

    def makeMechanism(self, getCredentials=getCredentials):
        return ScramMechanism(self.mechanismName, getCredentials, DOMAIN)

    def assertFailure(self, d, condition):
        """
        Assert that C{d} has failed with L{SASLFailure} of C{condition}.

        @return: the L{SASLFailure}.
        """
        failure = self.failureResultOf(d, SASLFailure)
        self.assertEqual(failure.value.condition, condition)
        return failure.value

    def startExchange(self, username, password, mechanism=None, **clientKwargs):
        """
        Send the client-first-message and answer the server-first-message.

        @return: the mechanism, the C{scramp} client and the
            client-final-message.
        """
        if mechanism is None:
            mechanism = self.makeMechanism()
        client = scramp.ScramClient(
            [self.mechanismName], username, password, **clientKwargs
        )
        challenge = self.successResultOf(
            mechanism.step(client.get_client_first().encode("utf-8"))
        )
        self.assertIsInstance(challenge, Challenge)
        client.set_server_first(challenge.data.decode("utf-8"))
        return mechanism, client, client.get_client_final().encode("utf-8")

    def test_interface(self):
        """
        The mechanism provides L{IServerMechanism} under its own name.
        """
        mechanism = self.makeMechanism()
        self.assertTrue(verifyObject(IServerMechanism, mechanism))
        self.assertEqual(mechanism.name, self.mechanismName)

    def test_success(self):
        """
        The right password succeeds, and the additional data is the
        server-final-message, which proves to the client that the server
        knows the keys (RFC 5802 section 3, RFC 6120 section 6.3.10).
        """
        mechanism, client, final = self.startExchange("juliet", "r0m30myr0m30")
        success = self.successResultOf(mechanism.step(final))
        self.assertIsInstance(success, Success)
        self.assertEqual(success.username, "juliet")
        self.assertTrue(success.additionalData.startswith(b"v="))
        client.set_server_final(success.additionalData.decode("utf-8"))

    def test_serverFirstMessage(self):
        """
        The server-first-message carries the stored salt and iteration count
        and extends the client's nonce.
        """
        mechanism = self.makeMechanism()
        client = scramp.ScramClient([self.mechanismName], "juliet", "x", c_nonce="abc")
        challenge = self.successResultOf(
            mechanism.step(client.get_client_first().encode("utf-8"))
        )
        keys = USERS["juliet"].keys[self.mechanismName]
        nonce, salt, iterations = challenge.data.decode("ascii").split(",")
        self.assertTrue(nonce.startswith("r=abc"))
        self.assertGreater(len(nonce), len("r=abc"))
        self.assertEqual(salt, "s=" + base64.b64encode(keys.salt).decode())
        self.assertEqual(iterations, f"i={keys.iterations}")

    def test_wrongPassword(self):
        """
        A wrong password fails with not-authorized at the final step.
        """
        mechanism, client, final = self.startExchange("juliet", "wrong")
        self.assertFailure(mechanism.step(final), "not-authorized")

    def test_unknownUser(self):
        """
        An unknown user gets a server-first-message shaped like a real one,
        with the same salt each time, and fails only at the end, exactly as
        a wrong password does (RFC 5802 section 9).
        """
        first = self.makeMechanism()
        _, client, final = self.startExchange("romeo", "r0m30myr0m30", first)
        unknown = self.assertFailure(first.step(final), "not-authorized")
        second, _, final = self.startExchange("juliet", "wrong")
        wrong = self.assertFailure(second.step(final), "not-authorized")
        self.assertEqual(unknown.text, wrong.text)

        def serverFirst(username):
            client = scramp.ScramClient([self.mechanismName], username, "x")
            data = self.successResultOf(
                self.makeMechanism().step(client.get_client_first().encode())
            ).data.decode()
            return dict(field.split("=", 1) for field in data.split(","))

        romeo, romeoAgain, tybalt = (
            serverFirst("romeo"),
            serverFirst("romeo"),
            serverFirst("tybalt"),
        )
        juliet = serverFirst("juliet")
        self.assertEqual(romeo["s"], romeoAgain["s"])
        self.assertNotEqual(romeo["s"], tybalt["s"])
        self.assertEqual(
            len(base64.b64decode(romeo["s"])), len(base64.b64decode(juliet["s"]))
        )
        self.assertEqual(romeo["i"], juliet["i"])

    def test_userWithoutKeysForThisHash(self):
        """
        An account without keys for this mechanism fails like an unknown
        user.
        """
        keys = USERS["juliet"].keys
        onlyOther = {name: k for name, k in keys.items() if name != self.mechanismName}
        mechanism = self.makeMechanism(
            lambda username: defer.succeed(Credentials(keys=onlyOther))
        )
        _, _, final = self.startExchange("juliet", "r0m30myr0m30", mechanism)
        self.assertFailure(mechanism.step(final), "not-authorized")

    def test_usernameNodeprepped(self):
        """
        The username is nodeprep'd before the lookup, and the success names
        the prepared form.
        """
        mechanism, _, final = self.startExchange("JULIET", "r0m30myr0m30")
        self.assertEqual(self.successResultOf(mechanism.step(final)).username, "juliet")

    def test_usernameNonASCII(self):
        """
        A non-ASCII username and password work.
        """
        mechanism, _, final = self.startExchange("Jürgen", "pässwörd")
        success = self.successResultOf(mechanism.step(final))
        self.assertEqual(success.username, "jürgen")

    def test_usernameEscaped(self):
        """
        A username with ',' and '=', legal in a localpart, arrives escaped
        as '=2C' and '=3D' (RFC 5802 section 5.1) and is unescaped.
        """
        mechanism = self.makeMechanism()
        client = scramp.ScramClient([self.mechanismName], "a,b=c", "escaped")
        first = client.get_client_first()
        self.assertIn("n=a=2Cb=3Dc,", first)
        challenge = self.successResultOf(mechanism.step(first.encode()))
        client.set_server_first(challenge.data.decode())
        final = client.get_client_final().encode()
        success = self.successResultOf(mechanism.step(final))
        self.assertEqual(success.username, "a,b=c")

    def test_usernameBadEscape(self):
        """
        An '=' not starting '=2C' or '=3D' in the username is malformed.
        """
        self.assertFailure(
            self.makeMechanism().step(b"n,,n=a=2Xb,r=abc"), "malformed-request"
        )

    def test_usernameProhibited(self):
        """
        A username nodeprep prohibits can't name an account: not-authorized.
        """
        for username in (b"juliet@localhost", b"jul iet", b"\x07", b""):
            self.assertFailure(
                self.makeMechanism().step(b"n,,n=" + username + b",r=abc"),
                "not-authorized",
            )

    def test_emptyInitialResponse(self):
        """
        Without an initial response the server sends an empty challenge and
        takes the client-first-message as the next response (RFC 6120
        section 6.4.2).
        """
        mechanism = self.makeMechanism()
        self.assertEqual(self.successResultOf(mechanism.step(None)), Challenge(b""))
        mechanism, client, final = self.startExchange(
            "juliet", "r0m30myr0m30", mechanism
        )
        success = self.successResultOf(mechanism.step(final))
        client.set_server_final(success.additionalData.decode())

    def test_noResponseAfterEmptyChallenge(self):
        """
        A second missing response is malformed.
        """
        mechanism = self.makeMechanism()
        self.successResultOf(mechanism.step(None))
        self.assertFailure(mechanism.step(None), "malformed-request")

    def test_emptyResponse(self):
        """
        An empty client-first-message is malformed.
        """
        self.assertFailure(self.makeMechanism().step(b""), "malformed-request")

    def test_channelBindingFlagY(self):
        """
        The 'y' flag (the client could bind but thinks the server can't) is
        accepted: mepserver offers no -PLUS mechanism.
        """
        mechanism, client, final = self.startExchange(
            "juliet",
            "r0m30myr0m30",
            channel_binding=("tls-server-end-point", b"\x01" * 32),
        )
        self.assertEqual(client.gs2_header.gs2_char, "y")
        success = self.successResultOf(mechanism.step(final))
        client.set_server_final(success.additionalData.decode())

    def test_channelBindingFlagP(self):
        """
        The 'p' flag asks for channel binding, which only the -PLUS
        mechanisms do (RFC 5802 section 6): malformed-request.
        """
        failure = self.assertFailure(
            self.makeMechanism().step(b"p=tls-exporter,,n=juliet,r=abc"),
            "malformed-request",
        )
        self.assertIn("Channel binding", failure.text)

    def test_authzidOwnBareJID(self):
        """
        An authzid equal to the user's bare JID is accepted (RFC 6120
        section 6.3.8), escaped as a saslname.
        """
        for authzid in ("juliet@localhost", "Juliet@LOCALHOST"):
            client = HandWrittenScramClient(
                self.mechanismName, "juliet", "r0m30myr0m30", f"n,a={authzid},"
            )
            mechanism = self.makeMechanism()
            challenge = self.successResultOf(mechanism.step(client.clientFirst()))
            success = self.successResultOf(
                mechanism.step(client.clientFinal(challenge.data))
            )
            self.assertEqual(success.username, "juliet")
            self.assertTrue(client.checkServerFinal(success.additionalData))

    def test_authzidWrongPassword(self):
        """
        With an authzid, the proof is still checked.
        """
        client = HandWrittenScramClient(
            self.mechanismName, "juliet", "wrong", "n,a=juliet@localhost,"
        )
        mechanism = self.makeMechanism()
        challenge = self.successResultOf(mechanism.step(client.clientFirst()))
        self.assertFailure(
            mechanism.step(client.clientFinal(challenge.data)), "not-authorized"
        )

    def test_handWrittenClientWithoutAuthzid(self):
        """
        The RFC 5802 client above succeeds without an authzid too, so the
        authzid tests test the authzid.
        """
        client = HandWrittenScramClient(
            self.mechanismName, "juliet", "r0m30myr0m30", "n,,"
        )
        mechanism = self.makeMechanism()
        challenge = self.successResultOf(mechanism.step(client.clientFirst()))
        success = self.successResultOf(
            mechanism.step(client.clientFinal(challenge.data))
        )
        self.assertTrue(client.checkServerFinal(success.additionalData))

    def test_authzidOther(self):
        """
        An authzid naming anyone else, or a full JID, is refused with
        invalid-authzid.
        """
        for authzid in (
            b"romeo@localhost",
            b"juliet@example.org",
            b"juliet@localhost/balcony",
            b"localhost",
            b"@@",
        ):
            self.assertFailure(
                self.makeMechanism().step(b"n,a=" + authzid + b",n=juliet,r=abc"),
                "invalid-authzid",
            )

    def test_authzidMalformed(self):
        """
        A gs2-header field that isn't 'a=' plus a saslname is malformed.
        """
        for message in (b"n,x=juliet,n=juliet,r=abc", b"n,a=,n=juliet,r=abc"):
            self.assertFailure(self.makeMechanism().step(message), "malformed-request")

    def test_malformedClientFirst(self):
        """
        Client-first-messages that break RFC 5802 section 7's grammar fail
        with malformed-request.
        """
        for message in (
            b"\xff\xfe",
            b"n",
            b"n,",
            b"x,,n=juliet,r=abc",
            b"n,,r=abc",
            b"n,,m=ext,n=juliet,r=abc",
            b"n,,n=juliet",
            b"n,,n=juliet,r=",
            b"n,,n=juliet,r=abc,r=def",
        ):
            self.assertFailure(self.makeMechanism().step(message), "malformed-request")

    def test_malformedClientFinal(self):
        """
        A client-final-message that breaks the grammar, or carries another
        nonce, is malformed.
        """
        _, _, final = self.startExchange("juliet", "r0m30myr0m30")
        channelBinding, nonce, proof = final.split(b",")
        for message in (
            b"\xff",
            b"garbage",
            proof,
            b",".join((channelBinding, b"r=other", proof)),
        ):
            mechanism, _, _ = self.startExchange("juliet", "r0m30myr0m30")
            self.assertFailure(mechanism.step(message), "malformed-request")

    def test_tamperedChannelBinding(self):
        """
        A c= attribute other than the gs2-header sent fails the
        authentication.
        """
        mechanism, _, final = self.startExchange("juliet", "r0m30myr0m30")
        channelBinding, nonce, proof = final.split(b",")
        tampered = b"c=" + base64.b64encode(b"y,,")
        self.assertFailure(
            mechanism.step(b",".join((tampered, nonce, proof))), "not-authorized"
        )

    def test_unknownUserMalformedFinal(self):
        """
        For an unknown user a malformed final message fails as it would for
        a known one.
        """
        mechanism, _, _ = self.startExchange("romeo", "x")
        self.assertFailure(mechanism.step(b"garbage"), "malformed-request")

    def test_stepAfterSuccess(self):
        """
        Any response after the exchange succeeded is malformed.
        """
        mechanism, _, final = self.startExchange("juliet", "r0m30myr0m30")
        self.successResultOf(mechanism.step(final))
        self.assertFailure(mechanism.step(b""), "malformed-request")
        self.assertFailure(mechanism.step(final), "malformed-request")

    def test_stepAfterFailure(self):
        """
        Any response after the exchange failed is malformed.
        """
        mechanism = self.makeMechanism()
        self.assertFailure(mechanism.step(b"garbage"), "malformed-request")
        self.assertFailure(mechanism.step(b"n,,n=juliet,r=abc"), "malformed-request")

    def test_responseWhileLookingUp(self):
        """
        A response that arrives while the credentials are still being
        fetched is malformed; the pending exchange goes on.
        """
        pending = defer.Deferred()
        mechanism = self.makeMechanism(lambda username: pending)
        client = scramp.ScramClient([self.mechanismName], "juliet", "r0m30myr0m30")
        d = mechanism.step(client.get_client_first().encode())
        self.assertNoResult(d)
        self.assertFailure(mechanism.step(b"c=biws,r=abc,p=AAAA"), "malformed-request")
        pending.callback(USERS["juliet"])
        client.set_server_first(self.successResultOf(d).data.decode())
        success = self.successResultOf(
            mechanism.step(client.get_client_final().encode())
        )
        self.assertEqual(success.username, "juliet")

    def test_lookupFails(self):
        """
        A failing credentials lookup is logged and reported as
        temporary-auth-failure (RFC 6120 section 6.5.11).
        """
        mechanism = self.makeMechanism(
            lambda username: defer.fail(RuntimeError("database is gone"))
        )
        self.assertFailure(
            mechanism.step(b"n,,n=juliet,r=abc"), "temporary-auth-failure"
        )
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_unsupportedName(self):
        """
        Only the SCRAM names of L{makeCredentials} are accepted.
        """
        self.assertRaises(
            ValueError, ScramMechanism, "SCRAM-SHA-512", getCredentials, DOMAIN
        )


    def test_extensionsAccepted(self):
        """
        Extension attributes (RFC 5802 section 7, C{attr-val} other than
        the defined ones) may follow C{r=} in both client messages; they
        count in the AuthMessage as sent.
        """
        client = HandWrittenScramClient(self.mechanismName, "juliet", "r0m30myr0m30", "n,,")
        mechanism = self.makeMechanism()
        first = client.clientFirst() + b",x=ext"
        client.clientFirstBare += ",x=ext"
        challenge = self.successResultOf(mechanism.step(first))
        final = client.clientFinal(challenge.data, extensions=",y=more")
        self.assertIn(b",y=more,p=", final)
        success = self.successResultOf(mechanism.step(final))
        self.assertEqual("juliet", success.username)
        self.assertTrue(client.checkServerFinal(success.additionalData))

    def test_clientNonceCharacters(self):
        """
        The client nonce is printable ASCII without commas (RFC 5802
        section 7, C{printable}); anything else is malformed.
        """
        for nonce in (b"a b", b"a\x7fb", "\u00e9".encode("utf-8"), b"a\tb"):
            self.assertFailure(
                self.makeMechanism().step(b"n,,n=juliet,r=" + nonce), "malformed-request"
            )

    def test_clientFinalAttributeOrder(self):
        """
        The client-final-message is c=, r=, extensions, then p= last; any
        other order, a missing attribute, a reserved attribute as an
        extension or a repeated one is malformed.
        """
        for reorder in (
            lambda c, r, p: (r, c, p),
            lambda c, r, p: (c, p, r),
            lambda c, r, p: (c, r),
            lambda c, r, p: (c, r, b"s=x", p),
            lambda c, r, p: (c, r, r, p),
            lambda c, r, p: (c, r, b"p=", p),
            lambda c, r, p: (c, r, b"p=!!!"),
            lambda c, r, p: (c, r, b"x=ext"),
            lambda c, r, p: (c, r, p, b"x=ext"),
            lambda c, r, p: (b"c=!!!", r, p),
        ):
            mechanism, _, final = self.startExchange("juliet", "r0m30myr0m30")
            message = b",".join(reorder(*final.split(b",")))
            self.assertFailure(mechanism.step(message), "malformed-request")

    def test_channelBindingAsInFirstMessage(self):
        """
        The c= attribute must carry the gs2-header of the
        client-first-message: a client that sent C{y,,} and then proves
        C{c=biws} (C{n,,}) with the right password is refused, as a
        downgrade would be (RFC 5802 section 6).
        """
        client = HandWrittenScramClient(self.mechanismName, "juliet", "r0m30myr0m30", "y,,")
        mechanism = self.makeMechanism()
        challenge = self.successResultOf(mechanism.step(client.clientFirst()))
        client.gs2Header = "n,,"
        self.assertFailure(mechanism.step(client.clientFinal(challenge.data)), "not-authorized")

    def test_unknownUserNeverSucceeds(self):
        """
        An unknown user is refused even by a proof that matches the
        stand-in keys (RFC 5802 section 9: they only hide that the user is
        unknown).
        """
        from mepserver.c2s import mechanisms

        self.patch(mechanisms, "_fakeKeys", lambda name, username: USERS["juliet"].keys[name])
        client = HandWrittenScramClient(self.mechanismName, "romeo", "r0m30myr0m30", "n,,")
        mechanism = self.makeMechanism()
        challenge = self.successResultOf(mechanism.step(client.clientFirst()))
        self.assertFailure(mechanism.step(client.clientFinal(challenge.data)), "not-authorized")

    def test_proofOfWrongLength(self):
        """
        A proof that is not one digest long cannot be right: not-authorized.
        """
        mechanism, _, final = self.startExchange("juliet", "r0m30myr0m30")
        withoutProof = final.split(b",p=")[0]
        self.assertFailure(
            mechanism.step(withoutProof + b",p=" + base64.b64encode(b"short")),
            "not-authorized",
        )


class ScramSHA256Tests(ScramTestsMixin, SynchronousTestCase):
    """
    Tests for SCRAM-SHA-256 (RFC 7677).
    """

    mechanismName = "SCRAM-SHA-256"

    def test_rfc7677Example(self):
        """
        The exchange of RFC 7677 section 3, with its nonces and salt: the
        server's messages are the ones printed there.
        """
        assertTestVector(
            self,
            "SCRAM-SHA-256",
            "rOprNGfwEbeRWgbNEkqO",
            "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
            "W22ZaJ0SNY7soEsUEjb6gQ==",
            "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
            "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
        )


class ScramSHA1Tests(ScramTestsMixin, SynchronousTestCase):
    """
    Tests for SCRAM-SHA-1 (RFC 5802).
    """

    mechanismName = "SCRAM-SHA-1"

    def test_rfc5802Example(self):
        """
        The exchange of RFC 5802 section 5, with its nonces and salt: the
        server's messages are the ones printed there.
        """
        assertTestVector(
            self,
            "SCRAM-SHA-1",
            "fyko+d2lbbFgONRv9qkxdawL",
            "3rfcNHYJY1ZVvWVs7j",
            "QSXCR+Q6sek8bf92",
            "v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
            "rmF9pqV8S7suAoZWja4dJRkFsKQ=",
        )


def assertTestVector(testCase, name, clientNonce, serverNonce, salt, proof, verifier):
    """
    Run an RFC's example exchange (user C{user}, password C{pencil}, 4096
    iterations) against L{ScramMechanism}, the server's nonce fixed to the
    example's.
    """
    from mepserver.c2s import mechanisms

    digest = {"SCRAM-SHA-1": "sha1", "SCRAM-SHA-256": "sha256"}[name]
    saltBytes = base64.b64decode(salt)
    salted = hashlib.pbkdf2_hmac(digest, b"pencil", saltBytes, 4096)
    clientKey = hmac.digest(salted, b"Client Key", digest)
    keys = ScramKeys(
        salt=saltBytes,
        storedKey=hashlib.new(digest, clientKey).digest(),
        serverKey=hmac.digest(salted, b"Server Key", digest),
        iterations=4096,
    )
    credentials = Credentials(keys={name: keys})
    testCase.patch(mechanisms.secrets, "token_urlsafe", lambda n: serverNonce)
    mechanism = ScramMechanism(name, lambda u: credentials if u == "user" else None, DOMAIN)
    challenge = testCase.successResultOf(
        mechanism.step(f"n,,n=user,r={clientNonce}".encode())
    )
    testCase.assertEqual(
        f"r={clientNonce}{serverNonce},s={salt},i=4096".encode(), challenge.data
    )
    success = testCase.successResultOf(
        mechanism.step(f"c=biws,r={clientNonce}{serverNonce},p={proof}".encode())
    )
    testCase.assertEqual(("user", f"v={verifier}".encode()), (success.username, success.additionalData))


class PlainMechanismTests(SynchronousTestCase):
    """
    Tests for L{PlainMechanism} (RFC 4616).
    """

    def makeMechanism(self, getCredentials=getCredentials):
        return PlainMechanism(getCredentials, DOMAIN)

    def assertFailure(self, d, condition):
        failure = self.failureResultOf(d, SASLFailure)
        self.assertEqual(failure.value.condition, condition)
        return failure.value

    def test_interface(self):
        """
        The mechanism provides L{IServerMechanism} as PLAIN.
        """
        mechanism = self.makeMechanism()
        self.assertTrue(verifyObject(IServerMechanism, mechanism))
        self.assertEqual(mechanism.name, "PLAIN")

    def test_success(self):
        """
        The right password succeeds without additional data, with the
        username nodeprep'd.
        """
        for message in (b"\0juliet\0r0m30myr0m30", b"\0JULIET\0r0m30myr0m30"):
            self.assertEqual(
                self.successResultOf(self.makeMechanism().step(message)),
                Success("juliet", None),
            )

    def test_nonASCII(self):
        """
        Non-ASCII usernames and passwords are UTF-8.
        """
        message = "\0Jürgen\0pässwörd".encode("utf-8")
        self.assertEqual(
            self.successResultOf(self.makeMechanism().step(message)).username, "jürgen"
        )

    def test_authzidOwnBareJID(self):
        """
        An authzid equal to the user's bare JID is accepted.
        """
        success = self.successResultOf(
            self.makeMechanism().step(b"juliet@localhost\0juliet\0r0m30myr0m30")
        )
        self.assertEqual(success.username, "juliet")

    def test_authzidOther(self):
        """
        An authzid naming anyone else is refused with invalid-authzid, even
        with the right password.
        """
        for authzid in (b"romeo@localhost", b"juliet@localhost/balcony", b"a b@c"):
            self.assertFailure(
                self.makeMechanism().step(authzid + b"\0juliet\0r0m30myr0m30"),
                "invalid-authzid",
            )

    def test_wrongPassword(self):
        """
        A wrong password fails with not-authorized.
        """
        self.assertFailure(
            self.makeMechanism().step(b"\0juliet\0wrong"), "not-authorized"
        )

    def test_unknownUser(self):
        """
        An unknown user fails exactly as a wrong password does.
        """
        unknown = self.assertFailure(
            self.makeMechanism().step(b"\0romeo\0r0m30myr0m30"), "not-authorized"
        )
        wrong = self.assertFailure(
            self.makeMechanism().step(b"\0juliet\0wrong"), "not-authorized"
        )
        self.assertEqual(unknown.text, wrong.text)

    def test_usernameProhibited(self):
        """
        A username nodeprep prohibits fails with not-authorized.
        """
        self.assertFailure(
            self.makeMechanism().step(b"\0juliet@localhost\0r0m30myr0m30"),
            "not-authorized",
        )

    def test_malformed(self):
        """
        Messages not shaped C{[authzid] NUL authcid NUL passwd} with a
        non-empty authcid and password, in UTF-8, are malformed.
        """
        for message in (
            b"",
            b"juliet",
            b"juliet\0r0m30myr0m30",
            b"\0\0r0m30myr0m30",
            b"\0juliet\0",
            b"\0juliet\0r0m30\0myr0m30",
            b"\0juliet\0\xff",
        ):
            self.assertFailure(self.makeMechanism().step(message), "malformed-request")

    def test_emptyInitialResponse(self):
        """
        Without an initial response the server sends an empty challenge and
        takes the message as the next response (RFC 6120 section 6.4.2).
        """
        mechanism = self.makeMechanism()
        self.assertEqual(self.successResultOf(mechanism.step(None)), Challenge(b""))
        self.assertEqual(
            self.successResultOf(mechanism.step(b"\0juliet\0r0m30myr0m30")).username,
            "juliet",
        )

    def test_stepAfterEnd(self):
        """
        Any response after the exchange ended is malformed.
        """
        mechanism = self.makeMechanism()
        self.successResultOf(mechanism.step(b"\0juliet\0r0m30myr0m30"))
        self.assertFailure(
            mechanism.step(b"\0juliet\0r0m30myr0m30"), "malformed-request"
        )

    def test_lookupFails(self):
        """
        A failing credentials lookup is logged and reported as
        temporary-auth-failure.
        """
        mechanism = self.makeMechanism(
            lambda username: defer.fail(RuntimeError("gone"))
        )
        self.assertFailure(
            mechanism.step(b"\0juliet\0r0m30myr0m30"), "temporary-auth-failure"
        )
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)


class AnonymousMechanismTests(SynchronousTestCase):
    """
    Tests for L{AnonymousMechanism} (RFC 4505).
    """

    def setUp(self):
        self.counter = 0

    def generateUsername(self):
        self.counter += 1
        return f"anon{self.counter}"

    def test_interface(self):
        """
        The mechanism provides L{IServerMechanism} as ANONYMOUS.
        """
        mechanism = AnonymousMechanism(self.generateUsername)
        self.assertTrue(verifyObject(IServerMechanism, mechanism))
        self.assertEqual(mechanism.name, "ANONYMOUS")

    def test_success(self):
        """
        Each exchange succeeds at once with a fresh username, with or without
        trace information.
        """
        for response in (None, b"", b"sirhc", b"\xff"):
            success = self.successResultOf(
                AnonymousMechanism(self.generateUsername).step(response)
            )
            self.assertEqual(success, Success(f"anon{self.counter}", None))
        self.assertEqual(self.counter, 4)

    def test_deferredUsername(self):
        """
        C{generateUsername} may return a Deferred.
        """
        mechanism = AnonymousMechanism(lambda: defer.succeed("anon"))
        self.assertEqual(self.successResultOf(mechanism.step(None)).username, "anon")

    def test_stepAfterSuccess(self):
        """
        A response after success is malformed.
        """
        mechanism = AnonymousMechanism(self.generateUsername)
        self.successResultOf(mechanism.step(None))
        failure = self.failureResultOf(mechanism.step(b""), SASLFailure)
        self.assertEqual(failure.value.condition, "malformed-request")


class CredentialsTests(SynchronousTestCase):
    """
    Tests for L{makeCredentials} and L{checkPassword}.
    """

    def test_keys(self):
        """
        Credentials hold keys for both SCRAM hashes, each salted apart, with
        the default iteration count.
        """
        credentials = makeCredentials("secret")
        self.assertEqual(set(credentials.keys), {"SCRAM-SHA-1", "SCRAM-SHA-256"})
        sha1 = credentials.keys["SCRAM-SHA-1"]
        sha256 = credentials.keys["SCRAM-SHA-256"]
        self.assertNotEqual(sha1.salt, sha256.salt)
        self.assertEqual(len(sha1.storedKey), 20)
        self.assertEqual(len(sha256.storedKey), 32)
        self.assertEqual(len(sha256.serverKey), 32)
        self.assertEqual(sha256.iterations, DEFAULT_ITERATIONS)
        slower = makeCredentials("secret", 5000)
        self.assertEqual(slower.keys["SCRAM-SHA-1"].iterations, 5000)

    def test_keysMatchRFC5802(self):
        """
        The stored keys are RFC 5802 section 3's StoredKey and ServerKey.
        """
        keys = makeCredentials("pencil").keys["SCRAM-SHA-1"]
        salted = hashlib.pbkdf2_hmac("sha1", b"pencil", keys.salt, keys.iterations)
        clientKey = hmac.new(salted, b"Client Key", hashlib.sha1).digest()
        self.assertEqual(keys.storedKey, hashlib.sha1(clientKey).digest())
        self.assertEqual(
            keys.serverKey, hmac.new(salted, b"Server Key", hashlib.sha1).digest()
        )

    def test_checkPassword(self):
        """
        L{checkPassword} accepts the password and nothing else.
        """
        credentials = makeCredentials("secret")
        self.assertTrue(checkPassword(credentials, "secret"))
        self.assertFalse(checkPassword(credentials, "Secret"))
        self.assertFalse(checkPassword(credentials, ""))
        self.assertFalse(checkPassword(credentials, "\x07"))

    def test_nonASCII(self):
        """
        Non-ASCII passwords are SASLprep'd (RFC 4013): a non-ASCII space
        maps to a space and compatibility forms normalize.
        """
        credentials = makeCredentials("pässwörd\u00a0ǅ")
        self.assertTrue(checkPassword(credentials, "pässwörd\u00a0ǅ"))
        self.assertTrue(checkPassword(credentials, "pässwörd Dž"))
        self.assertFalse(checkPassword(credentials, "passwort"))

    def test_oneHashOnly(self):
        """
        Credentials with keys of a single hash still check.
        """
        keys = makeCredentials("secret").keys
        for name in keys:
            single = Credentials(keys={name: keys[name]})
            self.assertTrue(checkPassword(single, "secret"))
        self.assertFalse(checkPassword(Credentials(keys={}), "secret"))

    def test_invalid(self):
        """
        Empty or SASLprep-prohibited passwords and too few iterations raise
        L{ValueError}.
        """
        self.assertRaises(ValueError, makeCredentials, "")
        self.assertRaises(ValueError, makeCredentials, "bell\x07")
        self.assertRaises(ValueError, makeCredentials, "secret", 100)


class SASLFailureTests(SynchronousTestCase):
    """
    Tests for L{SASLFailure}.
    """

    def test_conditions(self):
        """
        Every RFC 6120 section 6.5 condition is accepted, nothing else.
        """
        self.assertEqual(len(CONDITIONS), 11)
        for condition in CONDITIONS:
            self.assertEqual(SASLFailure(condition).condition, condition)
        self.assertRaises(ValueError, SASLFailure, "bad-request")

    def test_str(self):
        """
        The string form names the condition and the text.
        """
        self.assertEqual(str(SASLFailure("aborted")), "aborted")
        self.assertEqual(
            str(SASLFailure("not-authorized", "Nope")), "not-authorized: Nope"
        )


class MechanismFactoriesTests(SynchronousTestCase):
    """
    Tests for L{mechanismFactories}.
    """

    def test_all(self):
        """
        With everything allowed, the mechanisms come strongest first, and
        each factory makes a fresh mechanism of that name.
        """
        factories = mechanismFactories(
            getCredentials, DOMAIN, True, True, lambda: "anon"
        )
        self.assertEqual(
            list(factories), ["SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN", "ANONYMOUS"]
        )
        for name, factory in factories.items():
            first, second = factory(), factory()
            self.assertIsNot(first, second)
            self.assertEqual(first.name, name)
            self.assertTrue(verifyObject(IServerMechanism, first))

    def test_scramOnly(self):
        """
        Without PLAIN and ANONYMOUS only the SCRAM mechanisms are offered.
        """
        self.assertEqual(
            list(mechanismFactories(getCredentials, DOMAIN, False, False)),
            ["SCRAM-SHA-256", "SCRAM-SHA-1"],
        )

    def test_anonymousWithoutPlain(self):
        """
        ANONYMOUS can be offered without PLAIN.
        """
        self.assertEqual(
            list(mechanismFactories(getCredentials, DOMAIN, False, True, lambda: "a")),
            ["SCRAM-SHA-256", "SCRAM-SHA-1", "ANONYMOUS"],
        )

    def test_anonymousNeedsGenerator(self):
        """
        ANONYMOUS without C{generateUsername} is a configuration error.
        """
        self.assertRaises(
            ValueError, mechanismFactories, getCredentials, DOMAIN, False, True
        )

    def test_factoriesWork(self):
        """
        The factories' mechanisms use the given lookup and domain.
        """
        factories = mechanismFactories(getCredentials, DOMAIN, True, False)
        self.assertEqual(
            self.successResultOf(
                factories["PLAIN"]().step(b"juliet@localhost\0juliet\0r0m30myr0m30")
            ).username,
            "juliet",
        )
