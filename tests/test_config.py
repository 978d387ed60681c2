"""
Tests for L{mepserver.config}.
"""

import dataclasses
import os
import shutil
import types

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial import unittest

from mepserver import config
from mepserver.config import Config, ConfigError

EXAMPLE = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "etc", "mepserver.ini"
)


def tempPath(case):
    """
    A fresh path from C{case.mktemp()}, removed again after the test.

    Under pytest the working directory is the checkout rather than trial's
    C{_trial_temp}, so the test cleans up after itself.

    @param case: the running test case.
    @return: a relative path whose parent directory exists.
    """
    path = case.mktemp()

    def cleanUp():
        shutil.rmtree(os.path.dirname(path), ignore_errors=True)
        try:
            os.removedirs(os.path.dirname(os.path.dirname(path)))
        except OSError:
            pass

    case.addCleanup(cleanUp)
    return path


def writeFile(case, text):
    """
    Write C{text} to a fresh temporary file.

    @return: the file's path.
    """
    path = tempPath(case)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


class DefaultsTests(unittest.SynchronousTestCase):
    """
    The embedded defaults (DESIGN.md section 3).
    """

    def test_fields(self):
        """
        Every field of a plain L{Config} has its documented default.
        """
        defaults = Config()
        self.assertEqual(defaults.domain, "localhost")
        self.assertEqual(defaults.mucDomain, "conference.localhost")
        self.assertEqual(defaults.dataDir, "mepserver-data")
        self.assertEqual(defaults.storage, "sqlite")
        self.assertEqual(defaults.storageSynchronous, "normal")
        self.assertEqual(defaults.c2sListen, "tcp:5222:interface=127.0.0.1")
        self.assertEqual(defaults.directTLSListen, "tcp:5223:interface=127.0.0.1")
        self.assertEqual(defaults.httpListen, "tcp:5280:interface=127.0.0.1")
        self.assertIsNone(defaults.apiToken)
        self.assertEqual(defaults.inspectorLogSize, 500)
        self.assertFalse(defaults.inspectorLogAlways)
        self.assertEqual(defaults.inspectorDeliveries, 50)
        self.assertIsNone(defaults.tlsCertificate)
        self.assertIsNone(defaults.tlsKey)
        self.assertIsNone(defaults.requireEncryption)
        self.assertTrue(defaults.registration)
        self.assertFalse(defaults.anonymous)
        self.assertEqual(dict(defaults.users), {})
        self.assertEqual(defaults.maxStanzaSize, 262144)
        self.assertEqual(defaults.idleTimeout, 300)
        self.assertEqual(defaults.maxDepth, 64)
        self.assertEqual(defaults.negotiationTimeout, 300)
        self.assertEqual(defaults.maxUnauthenticatedPerAddress, 100)
        self.assertEqual(defaults.rateLimit, 1048576)
        self.assertEqual(defaults.rateBurst, 10)
        self.assertEqual(defaults.resumeTimeout, 300)
        self.assertEqual(defaults.offlineLimit, 1000)
        self.assertEqual(defaults.vcardMaxSize, 65536)
        self.assertFalse(defaults.mucCreateUnlocked)
        self.assertEqual(defaults.mucMaxRoomsPerAccount, 100)
        self.assertEqual(defaults.backendJids, ())
        self.assertEqual(defaults.pubsubMaxNodes, 100)
        self.assertEqual(defaults.pubsubMaxBytes, 16 * 1024 * 1024)
        self.assertIsNone(defaults.componentConnect)
        self.assertIsNone(defaults.componentSecret)
        self.assertFalse(defaults.componentMode)
        self.assertEqual(defaults.uploadDomain, "upload.localhost")
        self.assertEqual(defaults.uploadMaxFileSize, 10 * 1024 * 1024)
        self.assertEqual(defaults.uploadQuota, 1024 * 1024 * 1024)
        self.assertEqual(defaults.uploadSlotLifetime, 300)
        self.assertIsNone(defaults.uploadPublicURL)
        self.assertEqual(defaults.uploadBaseURL, "http://127.0.0.1:5280")
        self.assertIsNone(defaults.componentsListen)
        self.assertEqual(defaults.componentsConflict, "refuse_new")
        self.assertEqual(dict(defaults.components), {})
        self.assertEqual(defaults.archiveRetention, 7 * 86400)
        self.assertEqual(defaults.archiveMaxMessages, 10000)
        self.assertEqual(defaults.archivePageSize, 20)
        self.assertEqual(defaults.archiveMaxPageSize, 100)
        self.assertFalse(defaults.verbose)

    def test_fieldNames(self):
        """
        L{Config} has exactly the documented fields, in order.
        """
        self.assertEqual(
            [f.name for f in dataclasses.fields(Config)],
            [
                "domain",
                "mucDomain",
                "dataDir",
                "storage",
                "storageSynchronous",
                "c2sListen",
                "directTLSListen",
                "httpListen",
                "apiToken",
                "inspectorLogSize",
                "inspectorLogAlways",
                "inspectorDeliveries",
                "tlsCertificate",
                "tlsKey",
                "requireEncryption",
                "registration",
                "anonymous",
                "users",
                "maxStanzaSize",
                "idleTimeout",
                "maxDepth",
                "negotiationTimeout",
                "maxUnauthenticatedPerAddress",
                "rateLimit",
                "rateBurst",
                "resumeTimeout",
                "offlineLimit",
                "vcardMaxSize",
                "mucCreateUnlocked",
                "mucMaxRoomsPerAccount",
                "backendJids",
                "pubsubMaxNodes",
                "pubsubMaxBytes",
                "uploadDomain",
                "uploadMaxFileSize",
                "uploadQuota",
                "uploadSlotLifetime",
                "uploadPublicURL",
                "componentsListen",
                "componentsConflict",
                "components",
                "componentConnect",
                "componentSecret",
                "archiveRetention",
                "archiveMaxMessages",
                "archivePageSize",
                "archiveMaxPageSize",
                "verbose",
            ],
        )

    def test_loadWithoutArguments(self):
        """
        L{config.load} without a file or overrides gives the defaults.
        """
        self.assertEqual(config.load(), Config())
        self.assertEqual(config.load(None, {}), Config())

    def test_frozen(self):
        """
        A L{Config} and its users cannot be changed, and it hashes.
        """
        loaded = config.load(overrides={"users": {"romeo": "pw"}})
        self.assertRaises(
            dataclasses.FrozenInstanceError, setattr, loaded, "domain", "x"
        )
        with self.assertRaises(TypeError):
            loaded.users["juliet"] = "pw"  # type: ignore[index]
        self.assertIsInstance(loaded.users, types.MappingProxyType)
        self.assertEqual(hash(config.load()), hash(Config()))

    def test_replace(self):
        """
        L{dataclasses.replace} makes a changed copy, as tests do.
        """
        changed = dataclasses.replace(Config(), c2sListen="tcp:0")
        self.assertEqual(changed.c2sListen, "tcp:0")
        self.assertEqual(changed.domain, "localhost")


class ExampleFileTests(unittest.SynchronousTestCase):
    """
    C{etc/mepserver.ini} spells out the defaults.
    """

    def test_loadsToDefaults(self):
        """
        Loading the example file gives exactly the embedded defaults.
        """
        self.assertEqual(config.load(EXAMPLE), Config())

    def test_mentionsEverySetting(self):
        """
        Every section and key appears in the example file: as a setting,
        or, for the derived C{[muc] domain} and C{[upload] domain}, in a
        comment.
        """
        with open(EXAMPLE, encoding="utf-8") as f:
            text = f.read()
        for setting in config._SETTINGS:
            self.assertIn(f"[{setting.section}]", text)
            self.assertRegex(text, rf"(?m)^(# )?{setting.key} =")
        self.assertIn("[users]", text)
        self.assertRegex(text, r"(?m)^# bot\.localhost = ")


class FileTests(unittest.SynchronousTestCase):
    """
    Each INI key sets its field.
    """

    def load(self, text):
        """
        Load a config file with the given text.
        """
        return config.load(writeFile(self, text))

    def test_domain(self):
        """
        C{[server] domain} sets C{domain}, lowercased, and the MUC domain
        follows it.
        """
        loaded = self.load("[server]\ndomain = Example.ORG\n")
        self.assertEqual(loaded.domain, "example.org")
        self.assertEqual(loaded.mucDomain, "conference.example.org")

    def test_internationalDomain(self):
        """
        Domains are nameprepped.
        """
        self.assertEqual(self.load("[server]\ndomain = ÄÖ.de\n").domain, "äö.de")

    def test_mucDomain(self):
        """
        C{[muc] domain} sets C{mucDomain}, also with a domain set.
        """
        self.assertEqual(
            self.load("[muc]\ndomain = Rooms.localhost\n").mucDomain,
            "rooms.localhost",
        )
        loaded = self.load(
            "[server]\ndomain = example.org\n[muc]\ndomain = muc.example.org\n"
        )
        self.assertEqual(loaded.mucDomain, "muc.example.org")

    def test_upload(self):
        """
        The C{[upload]} keys set their fields; C{upload.} and the domain is
        the upload domain unless set; C{public_url} loses its trailing
        slash and begins the upload URLs.
        """
        loaded = self.load(
            "[upload]\ndomain = Files.localhost\nmax_file_size = 1\nquota = 0\n"
            "slot_lifetime = 1\npublic_url = https://files.example.org:8443/x/\n"
        )
        self.assertEqual(loaded.uploadDomain, "files.localhost")
        self.assertEqual(loaded.uploadMaxFileSize, 1)
        self.assertEqual(loaded.uploadQuota, 0)
        self.assertEqual(loaded.uploadSlotLifetime, 1)
        self.assertEqual(loaded.uploadPublicURL, "https://files.example.org:8443/x")
        self.assertEqual(loaded.uploadBaseURL, "https://files.example.org:8443/x")
        self.assertEqual(
            self.load("[server]\ndomain = example.org\n").uploadDomain,
            "upload.example.org",
        )
        self.assertIsNone(self.load("[upload]\npublic_url =\n").uploadPublicURL)

    def test_uploadBaseURL(self):
        """
        Without C{public_url}, upload URLs name 127.0.0.1 and the port of
        the HTTP listener, over https for an C{ssl:} listener.
        """
        self.assertEqual(
            self.load(
                "[http]\nlisten = tcp:8080:interface=0.0.0.0\ntoken = t\n"
            ).uploadBaseURL,
            "http://127.0.0.1:8080",
        )
        self.assertEqual(
            Config(httpListen="ssl:port=8443:privateKey=k.pem").uploadBaseURL,
            "https://127.0.0.1:8443",
        )
        self.assertEqual(
            Config(httpListen="unix:/tmp/s").uploadBaseURL, "http://127.0.0.1"
        )

    def test_dataDir(self):
        """
        C{[server] data_dir} sets C{dataDir} as given.
        """
        self.assertEqual(self.load("[server]\ndata_dir = var/x\n").dataDir, "var/x")

    def test_storage(self):
        """
        C{[storage] backend} sets C{storage}.
        """
        self.assertEqual(self.load("[storage]\nbackend = memory\n").storage, "memory")
        self.assertEqual(self.load("[storage]\nbackend = SQLite\n").storage, "sqlite")

    def test_storageSynchronous(self):
        """
        C{[storage] synchronous} sets C{storageSynchronous}: C{normal} or
        C{full}, in any case; anything else is refused, naming the choices.
        """
        self.assertEqual(
            self.load("[storage]\nsynchronous = FULL\n").storageSynchronous, "full"
        )
        self.assertEqual(
            self.load("[storage]\nsynchronous = normal\n").storageSynchronous, "normal"
        )
        error = self.assertRaises(
            config.ConfigError, self.load, "[storage]\nsynchronous = off\n"
        )
        self.assertIn("[storage] synchronous", str(error))
        self.assertIn("full", str(error))

    def test_c2sListen(self):
        """
        C{[c2s] listen} sets C{c2sListen}.
        """
        self.assertEqual(self.load("[c2s]\nlisten = tcp:0\n").c2sListen, "tcp:0")

    def test_directTLSListen(self):
        """
        C{[c2s] direct_tls_listen} sets C{directTLSListen}; C{off} (in any
        case) or an empty value switches direct TLS off.
        """
        loaded = self.load("[c2s]\ndirect_tls_listen = tcp:5223\n")
        self.assertEqual(loaded.directTLSListen, "tcp:5223")
        for value in ("off", "OFF", ""):
            loaded = self.load(f"[c2s]\ndirect_tls_listen = {value}\n")
            self.assertIsNone(loaded.directTLSListen, value)

    def test_httpListen(self):
        """
        C{[http] listen} sets C{httpListen}.
        """
        loaded = self.load("[http]\nlisten = tcp6:5280:interface=\\:\\:1\n")
        self.assertEqual(loaded.httpListen, "tcp6:5280:interface=\\:\\:1")

    def test_apiToken(self):
        """
        C{[http] token} sets C{apiToken}; empty means none.
        """
        self.assertEqual(self.load("[http]\ntoken = s3cr%t#x\n").apiToken, "s3cr%t#x")
        self.assertIsNone(self.load("[http]\ntoken =\n").apiToken)

    def test_inspector(self):
        """
        C{[inspector]} sets the stanza ring buffer's size, whether it
        records without pages, and the publications kept per room; sizes
        are bounded.
        """
        loaded = self.load(
            "[inspector]\nstanza_log_size = 0\nstanza_log_always = yes\n"
            "deliveries_per_room = 7\n"
        )
        self.assertEqual(
            (0, True, 7),
            (loaded.inspectorLogSize, loaded.inspectorLogAlways, loaded.inspectorDeliveries),
        )
        error = self.assertRaises(
            ConfigError, config.load, None, {"inspectorLogSize": 100001}
        )
        self.assertIn("[inspector] stanza_log_size", str(error))

    def test_tls(self):
        """
        C{[tls] certificate} and C{key} set the TLS files, made absolute.
        """
        certificate = writeFile(self, "certificate")
        key = writeFile(self, "key")
        loaded = self.load(f"[tls]\ncertificate = {certificate}\nkey = {key}\n")
        self.assertEqual(loaded.tlsCertificate, os.path.abspath(certificate))
        self.assertEqual(loaded.tlsKey, os.path.abspath(key))

    def test_tlsEmpty(self):
        """
        Empty TLS settings mean a generated certificate.
        """
        loaded = self.load("[tls]\ncertificate =\nkey =\n")
        self.assertIsNone(loaded.tlsCertificate)
        self.assertIsNone(loaded.tlsKey)

    def test_requireEncryption(self):
        """
        C{[c2s] require_encryption} is C{auto} (L{None}), or a boolean.
        """
        for text, value in [
            ("auto", None),
            ("AUTO", None),
            ("yes", True),
            ("off", False),
        ]:
            loaded = self.load(f"[c2s]\nrequire_encryption = {text}\n")
            self.assertEqual(loaded.requireEncryption, value, text)

    def test_booleans(self):
        """
        The boolean keys set their fields, with every spelling.
        """
        keys = [
            ("auth", "registration", "registration"),
            ("auth", "anonymous", "anonymous"),
            ("muc", "create_unlocked", "mucCreateUnlocked"),
            ("server", "verbose", "verbose"),
        ]
        spellings = [
            ("yes", True),
            ("true", True),
            ("on", True),
            ("1", True),
            ("Yes", True),
            ("no", False),
            ("false", False),
            ("off", False),
            ("0", False),
            ("NO", False),
        ]
        for section, key, name in keys:
            for text, value in spellings:
                loaded = self.load(f"[{section}]\n{key} = {text}\n")
                self.assertIs(getattr(loaded, name), value, (key, text))

    def test_users(self):
        """
        C{[users]} maps nodeprepped usernames to passwords.
        """
        loaded = self.load("[users]\nRomeo = r%1 #x\njuliet = j=2\nÜlla = u\n")
        self.assertEqual(
            dict(loaded.users), {"romeo": "r%1 #x", "juliet": "j=2", "ülla": "u"}
        )

    def test_components(self):
        """
        In C{[components]}, C{listen} and C{conflict} are settings, and
        every other key maps a component's domain, lowercased, to its
        secret (XEP-0114).
        """
        loaded = self.load(
            "[components]\nlisten = tcp:5347:interface=127.0.0.1\n"
            "conflict = Replace_Old\nBot.Localhost = s3cret=%1\n"
            "gateway.example.net = other\n"
        )
        self.assertEqual(loaded.componentsListen, "tcp:5347:interface=127.0.0.1")
        self.assertEqual(loaded.componentsConflict, "replace_old")
        self.assertEqual(
            dict(loaded.components),
            {"bot.localhost": "s3cret=%1", "gateway.example.net": "other"},
        )
        self.assertIsInstance(loaded.components, types.MappingProxyType)

    def test_componentsOff(self):
        """
        C{[components] listen} may be C{off} or empty: no listener; the
        components stay configured.
        """
        for value in ("off", "", "OFF"):
            loaded = self.load(f"[components]\nlisten = {value}\nbot.localhost = s\n")
            self.assertIsNone(loaded.componentsListen, value)
            self.assertEqual(dict(loaded.components), {"bot.localhost": "s"})

    def test_usersEmpty(self):
        """
        An empty C{[users]} section provisions nobody.
        """
        self.assertEqual(dict(self.load("[users]\n# romeo = x\n").users), {})

    def test_integers(self):
        """
        C{[c2s] max_stanza_size}, C{idle_timeout} and C{resume_timeout}
        set their fields, down to their minimums.
        """
        loaded = self.load(
            "[c2s]\nmax_stanza_size = 1024\nidle_timeout = 0\nresume_timeout = 0\n"
        )
        self.assertEqual(loaded.maxStanzaSize, 1024)
        self.assertEqual(loaded.idleTimeout, 0)
        self.assertEqual(loaded.resumeTimeout, 0)

    def test_inputLimits(self):
        """
        C{[c2s] max_depth}, C{negotiation_timeout},
        C{max_unauthenticated_per_address}, C{rate_limit} and
        C{rate_burst} set their fields; C{0} switches off the deadline, the
        per-address limit and the rate.
        """
        loaded = self.load(
            "[c2s]\nmax_depth = 256\nnegotiation_timeout = 0\n"
            "max_unauthenticated_per_address = 0\nrate_limit = 0\nrate_burst = 1\n"
        )
        self.assertEqual(loaded.maxDepth, 256)
        self.assertEqual(loaded.negotiationTimeout, 0)
        self.assertEqual(loaded.maxUnauthenticatedPerAddress, 0)
        self.assertEqual(loaded.rateLimit, 0)
        self.assertEqual(loaded.rateBurst, 1)

    def test_offlineLimit(self):
        """
        C{[c2s] offline_limit} sets L{Config.offlineLimit}; C{0}, its
        minimum, switches offline storage off.
        """
        self.assertEqual(self.load("[c2s]\noffline_limit = 25\n").offlineLimit, 25)
        self.assertEqual(self.load("[c2s]\noffline_limit = 0\n").offlineLimit, 0)

    def test_archive(self):
        """
        C{[archive]}: C{retention} is seconds or a number with s, h, d or
        w, or never; the limits set their fields, at least 1.
        """
        for text, seconds in (
            ("3600", 3600), ("90s", 90), ("2h", 7200), ("7d", 604800), ("1 W", 604800),
            ("never", None), ("Never", None),
        ):
            self.assertEqual(
                self.load(f"[archive]\nretention = {text}\n").archiveRetention, seconds
            )
        loaded = self.load(
            "[archive]\nmax_messages = 1\npage_size = 5\nmax_page_size = 5\n"
        )
        self.assertEqual(
            (1, 5, 5),
            (loaded.archiveMaxMessages, loaded.archivePageSize, loaded.archiveMaxPageSize),
        )

    def test_archiveInvalid(self):
        """
        A retention that is no duration, a limit below 1 and a page size
        above the largest page are refused, naming the setting.
        """
        for overrides, text in (
            ({"archiveRetention": "1m"}, "[archive] retention: '1m' is not a duration"),
            ({"archiveRetention": "0"}, "[archive] retention: '0' is shorter than a second"),
            ({"archiveRetention": "soon"}, "[archive] retention: 'soon' is not a duration"),
            ({"archiveMaxMessages": 0}, "[archive] max_messages: 0 is less than the minimum 1"),
            ({"archivePageSize": "0"}, "[archive] page_size: 0 is less than the minimum 1"),
            (
                {"archivePageSize": 101},
                "[archive] page_size: 101 is more than [archive] max_page_size (100)",
            ),
        ):
            error = self.assertRaises(ConfigError, config.load, None, overrides)
            self.assertTrue(str(error).startswith(text), str(error))

    def test_vcardMaxSize(self):
        """
        C{[c2s] vcard_max_size} sets L{Config.vcardMaxSize}, at least 1024.
        """
        self.assertEqual(self.load("[c2s]\nvcard_max_size = 2048\n").vcardMaxSize, 2048)
        self.assertEqual(self.load("[c2s]\nvcard_max_size = 1024\n").vcardMaxSize, 1024)

    def test_quotas(self):
        """
        C{[muc] max_rooms_per_account}, C{[pubsub] max_nodes} and
        C{[pubsub] max_bytes} set their fields, down to their minimums.
        """
        loaded = self.load(
            "[muc]\nmax_rooms_per_account = 3\n"
            "[pubsub]\nmax_nodes = 7\nmax_bytes = 4096\n"
        )
        self.assertEqual(
            (3, 7, 4096),
            (loaded.mucMaxRoomsPerAccount, loaded.pubsubMaxNodes, loaded.pubsubMaxBytes),
        )
        loaded = self.load(
            "[muc]\nmax_rooms_per_account = 1\n"
            "[pubsub]\nmax_nodes = 1\nmax_bytes = 1024\n"
        )
        self.assertEqual(
            (1, 1, 1024),
            (loaded.mucMaxRoomsPerAccount, loaded.pubsubMaxNodes, loaded.pubsubMaxBytes),
        )

    def test_backendJids(self):
        """
        C{[muc] backend_jids} takes bare JIDs separated by whitespace or
        commas, across lines, normalised and without duplicates.
        """
        loaded = self.load(
            "[muc]\nbackend_jids = Bot@Localhost, backend.localhost\n"
            "  api@localhost,bot@localhost\n"
        )
        self.assertEqual(
            loaded.backendJids, ("bot@localhost", "backend.localhost", "api@localhost")
        )

    def test_component(self):
        """
        C{[component] connect} and C{secret} set L{Config.componentConnect}
        and L{Config.componentSecret}, and with them component mode; the
        MUC domain is still C{[muc] domain}, or derived from the host's
        C{[server] domain}. The secret stays out of the config's C{repr}.
        """
        loaded = self.load(
            "[server]\ndomain = example.org\n"
            "[component]\nconnect = tcp:127.0.0.1:5347\nsecret = s3cret\n"
        )
        self.assertEqual(loaded.componentConnect, "tcp:127.0.0.1:5347")
        self.assertEqual(loaded.componentSecret, "s3cret")
        self.assertTrue(loaded.componentMode)
        self.assertEqual(loaded.mucDomain, "conference.example.org")
        self.assertNotIn("s3cret", repr(loaded))
        loaded = self.load(
            "[muc]\ndomain = rooms.example.org\n"
            "[component]\nconnect = tcp:host=xmpp.example.org:port=5275\nsecret = s\n"
        )
        self.assertEqual(loaded.componentConnect, "tcp:host=xmpp.example.org:port=5275")
        self.assertEqual(loaded.mucDomain, "rooms.example.org")
        for standalone in ("", "off", "OFF"):
            loaded = self.load(f"[component]\nconnect = {standalone}\nsecret =\n")
            self.assertIsNone(loaded.componentConnect)
            self.assertIsNone(loaded.componentSecret)
            self.assertFalse(loaded.componentMode)

    def test_comments(self):
        """
        Comment lines and blank lines are ignored.
        """
        loaded = self.load("# a\n\n[server]\n; b\ndomain = x.org\n")
        self.assertEqual(loaded.domain, "x.org")

    def test_caseInsensitiveKeys(self):
        """
        Keys are case-insensitive, as in C{configparser}.
        """
        self.assertEqual(self.load("[server]\nDomain = x.org\n").domain, "x.org")


class OverrideTests(unittest.SynchronousTestCase):
    """
    Command-line overrides win over the file, which wins over defaults.
    """

    def test_overrideFile(self):
        """
        An override replaces the file's value; the rest of the file stays.
        """
        path = writeFile(self, "[server]\ndomain = file.org\ndata_dir = d\n")
        loaded = config.load(path, {"domain": "cli.org"})
        self.assertEqual(loaded.domain, "cli.org")
        self.assertEqual(loaded.mucDomain, "conference.cli.org")
        self.assertEqual(loaded.dataDir, "d")

    def test_fileMucDomainKept(self):
        """
        Overriding the domain keeps a MUC domain set in the file.
        """
        path = writeFile(self, "[muc]\ndomain = rooms.file.org\n")
        loaded = config.load(path, {"domain": "cli.org"})
        self.assertEqual(loaded.mucDomain, "rooms.file.org")

    def test_mucDomainOverride(self):
        """
        The MUC domain can be overridden directly.
        """
        loaded = config.load(overrides={"mucDomain": "rooms.localhost"})
        self.assertEqual(loaded.mucDomain, "rooms.localhost")

    def test_noneIsNotGiven(self):
        """
        An override of L{None} leaves the file's value.
        """
        path = writeFile(self, "[storage]\nbackend = memory\n")
        self.assertEqual(config.load(path, {"storage": None}).storage, "memory")

    def test_directTLSOff(self):
        """
        An override switches direct TLS off (C{"off"} or C{""}) or moves it,
        whatever the file says.
        """
        path = writeFile(self, "[c2s]\ndirect_tls_listen = tcp:5223\n")
        for value in ("off", ""):
            self.assertIsNone(config.load(path, {"directTLSListen": value}).directTLSListen)
        loaded = config.load(path, {"directTLSListen": "tcp:0"})
        self.assertEqual(loaded.directTLSListen, "tcp:0")

    def test_text(self):
        """
        Overrides may be text, parsed as in the file.
        """
        loaded = config.load(
            overrides={
                "verbose": "yes",
                "maxStanzaSize": "2048",
                "requireEncryption": "no",
                "backendJids": "a@localhost b@localhost",
                "apiToken": "",
            }
        )
        self.assertIs(loaded.verbose, True)
        self.assertEqual(loaded.maxStanzaSize, 2048)
        self.assertIs(loaded.requireEncryption, False)
        self.assertEqual(loaded.backendJids, ("a@localhost", "b@localhost"))
        self.assertIsNone(loaded.apiToken)

    def test_typed(self):
        """
        Overrides may be typed values, validated the same way.
        """
        loaded = config.load(
            overrides={
                "verbose": True,
                "registration": False,
                "maxStanzaSize": 4096,
                "idleTimeout": 0,
                "requireEncryption": True,
                "backendJids": ["Bot@localhost"],
                "users": {"Romeo": "pw"},
                "apiToken": "t",
            }
        )
        self.assertIs(loaded.verbose, True)
        self.assertIs(loaded.registration, False)
        self.assertEqual(loaded.maxStanzaSize, 4096)
        self.assertEqual(loaded.idleTimeout, 0)
        self.assertIs(loaded.requireEncryption, True)
        self.assertEqual(loaded.backendJids, ("bot@localhost",))
        self.assertEqual(dict(loaded.users), {"romeo": "pw"})
        self.assertEqual(loaded.apiToken, "t")

    def test_typedInvalid(self):
        """
        A typed override of the wrong type is an error naming the setting.
        """
        self.assertEqual(
            str(
                self.assertRaises(
                    ConfigError, config.load, None, {"maxStanzaSize": True}
                )
            ),
            "[c2s] max_stanza_size: True is not a whole number",
        )
        self.assertEqual(
            str(self.assertRaises(ConfigError, config.load, None, {"verbose": 1})),
            "[server] verbose: 1 is not a boolean",
        )
        self.assertEqual(
            str(self.assertRaises(ConfigError, config.load, None, {"users": "x"})),
            "[users]: 'x' is not a mapping",
        )

    def test_unknownOverride(self):
        """
        An override that names no field is an error.
        """
        error = self.assertRaises(ConfigError, config.load, None, {"lisen": "tcp:0"})
        self.assertEqual(str(error), "unknown setting 'lisen'")


class ErrorTests(unittest.SynchronousTestCase):
    """
    Every error is one line naming the setting.
    """

    def assertError(self, overrides, message):
        """
        Loading with C{overrides} fails with exactly C{message}.
        """
        error = self.assertRaises(ConfigError, config.load, None, overrides)
        self.assertEqual(str(error), message)
        self.assertNotIn("\n", str(error))

    def assertFileError(self, text, message):
        """
        Loading a file with C{text} fails with exactly C{message}.
        """
        error = self.assertRaises(ConfigError, config.load, writeFile(self, text))
        self.assertEqual(str(error), message)
        self.assertNotIn("\n", str(error))

    def test_isException(self):
        """
        L{ConfigError} is an L{Exception}.
        """
        self.assertTrue(issubclass(ConfigError, Exception))

    def test_domain(self):
        """
        Domains are validated as JID domainparts.
        """
        self.assertError(
            {"domain": "a b"},
            "[server] domain: 'a b' is not a valid domain (invalid character in hostname)",
        )
        self.assertError(
            {"domain": "a..b"},
            "[server] domain: 'a..b' is not a valid domain (empty label)",
        )
        self.assertError(
            {"domain": "user@host"},
            "[server] domain: 'user@host' is not a valid domain (it is a JID)",
        )
        self.assertError(
            {"domain": ""},
            "[server] domain: '' is not a valid domain (server address required)",
        )
        self.assertError(
            {"domain": "x." * 600},
            f"[server] domain: {'x.' * 600!r} is not a valid domain (empty label)",
        )
        self.assertError(
            {"domain": "x" * 1024},
            f"[server] domain: {'x' * 1024!r} is not a valid domain (too long)",
        )

    def test_mucDomain(self):
        """
        The MUC domain is validated and must differ from the domain.
        """
        self.assertError(
            {"mucDomain": "a_b"},
            "[muc] domain: 'a_b' is not a valid domain (invalid character in hostname)",
        )
        self.assertError(
            {"mucDomain": "Localhost"},
            "[muc] domain: 'localhost' is the same as [server] domain",
        )

    def test_uploadDomain(self):
        """
        The upload domain is validated and must differ from the domain and
        the MUC domain.
        """
        self.assertError(
            {"uploadDomain": "a_b"},
            "[upload] domain: 'a_b' is not a valid domain (invalid character in "
            "hostname)",
        )
        self.assertError(
            {"uploadDomain": "localhost"},
            "[upload] domain: 'localhost' is the same as [server] domain",
        )
        self.assertError(
            {"uploadDomain": "conference.localhost"},
            "[upload] domain: 'conference.localhost' is the same as [muc] domain",
        )

    def test_uploadPublicURL(self):
        """
        C{[upload] public_url} is an http or https URL without query,
        fragment or spaces.
        """
        self.assertError(
            {"uploadPublicURL": "ftp://example.org"},
            "[upload] public_url: 'ftp://example.org' is not an http:// or https:// URL",
        )
        self.assertError(
            {"uploadPublicURL": "localhost:5280"},
            "[upload] public_url: 'localhost:5280' is not an http:// or https:// URL",
        )
        self.assertError(
            {"uploadPublicURL": "http://example.org/?a=b"},
            "[upload] public_url: 'http://example.org/?a=b' must have no query, "
            "fragment or spaces",
        )

    def test_dataDir(self):
        """
        The data directory must not be empty.
        """
        self.assertError({"dataDir": ""}, "[server] data_dir: must not be empty")

    def test_storage(self):
        """
        The storage backend is one of two.
        """
        self.assertError(
            {"storage": "postgres"},
            "[storage] backend: 'postgres' is not one of sqlite, memory",
        )

    def test_listen(self):
        """
        Listen addresses must be endpoint descriptions Twisted can parse.
        """
        cases = [
            ("tcp:abc", "invalid port"),
            ("tcp", "missing port"),
            ("tcp:65536", "port out of range"),
            ("tcp:-1", "port out of range"),
            ("", "empty"),
            ("foo:1", "unknown endpoint type 'foo'"),
            ("tcp:5222:bogus=1", "unknown parameter 'bogus'"),
            ("tcp:5222:backlog=x", "a number is expected: 'x'"),
        ]
        for value, reason in cases:
            self.assertError(
                {"c2sListen": value},
                f"[c2s] listen: {value!r} is not a valid endpoint description ({reason})",
            )
        self.assertError(
            {"httpListen": "tcp:abc"},
            "[http] listen: 'tcp:abc' is not a valid endpoint description (invalid port)",
        )
        self.assertError(
            {"directTLSListen": "tcp:abc"},
            "[c2s] direct_tls_listen: 'tcp:abc' is not a valid endpoint "
            "description (invalid port)",
        )
        self.assertError(
            {"directTLSListen": "no"},
            "[c2s] direct_tls_listen: 'no' is not a valid endpoint "
            "description (unknown endpoint type 'no')",
        )

    def test_listenSSLMissingKey(self):
        """
        An C{ssl} listener's key file must exist.
        """
        missing = os.path.abspath(tempPath(self))
        value = f"ssl:5223:privateKey={missing}"
        self.assertError(
            {"c2sListen": value},
            f"[c2s] listen: {value!r} is not a valid endpoint description"
            f" (no such file or directory: {missing!r})",
        )

    def test_token(self):
        """
        The token must be text.
        """
        self.assertError({"apiToken": 5}, "[http] token: 5 is not text")

    def test_publicHTTPWithoutToken(self):
        """
        An HTTP listener beyond loopback needs a token (DESIGN.md section
        3): without one, or with an empty one, start-up stops with one
        line; with one, or on loopback or a UNIX socket, it goes on.
        """
        for listen in ("tcp:5280", "tcp:5280:interface=0.0.0.0", "tcp6:5280:interface=\\:\\:"):
            for token in (None, ""):
                self.assertError(
                    {"httpListen": listen, "apiToken": token},
                    f"[http] token: required, since [http] listen {listen!r} is not "
                    "on loopback only (set a token, or listen on 127.0.0.1)",
                )
        self.assertEqual(
            "s3cret",
            config.load(overrides={"httpListen": "tcp:5280", "apiToken": "s3cret"}).apiToken,
        )
        for listen in ("tcp:5280:interface=127.0.0.1", "unix:/tmp/mepserver-http"):
            self.assertIsNone(config.load(overrides={"httpListen": listen}).apiToken)
        path = writeFile(self, "[http]\nlisten = tcp:8080\n")
        error = self.assertRaises(ConfigError, config.load, path)
        self.assertIn("[http] token: required", str(error))
        self.assertNotIn("\n", str(error))

    def test_tlsUnreadable(self):
        """
        TLS files must exist and be readable.
        """
        missing = tempPath(self)
        self.assertError(
            {"tlsCertificate": missing},
            f"[tls] certificate: cannot read {missing!r}: No such file or directory",
        )
        directory = tempPath(self)
        os.mkdir(directory)
        self.assertError(
            {"tlsKey": directory},
            f"[tls] key: cannot read {directory!r}: Is a directory",
        )

    def test_tlsBothOrNeither(self):
        """
        The TLS certificate and key are set together or not at all.
        """
        path = writeFile(self, "pem")
        self.assertError(
            {"tlsCertificate": path},
            "[tls] key: missing; set both certificate and key, or neither"
            " ([tls] certificate is set)",
        )
        self.assertError(
            {"tlsKey": path},
            "[tls] certificate: missing; set both certificate and key, or neither"
            " ([tls] key is set)",
        )

    def test_booleans(self):
        """
        Booleans accept only the documented spellings.
        """
        self.assertError(
            {"registration": "maybe"},
            "[auth] registration: 'maybe' is not one of yes, no, true, false, on, off, 1, 0",
        )
        self.assertError(
            {"anonymous": ""},
            "[auth] anonymous: '' is not one of yes, no, true, false, on, off, 1, 0",
        )
        self.assertError(
            {"requireEncryption": "sometimes"},
            "[c2s] require_encryption: 'sometimes' is not one of auto,"
            " yes, no, true, false, on, off, 1, 0",
        )

    def test_integers(self):
        """
        Integers must parse and respect their minimums.
        """
        self.assertError(
            {"maxStanzaSize": "256k"},
            "[c2s] max_stanza_size: '256k' is not a whole number",
        )
        self.assertError(
            {"maxStanzaSize": "1023"},
            "[c2s] max_stanza_size: 1023 is less than the minimum 1024",
        )
        self.assertError(
            {"idleTimeout": "1.5"}, "[c2s] idle_timeout: '1.5' is not a whole number"
        )
        self.assertError(
            {"idleTimeout": -1}, "[c2s] idle_timeout: -1 is less than the minimum 0"
        )
        self.assertError(
            {"maxDepth": 0}, "[c2s] max_depth: 0 is less than the minimum 1"
        )
        # Deeper elements would come near Python's recursion limit when
        # serialised.
        self.assertError(
            {"maxDepth": "257"}, "[c2s] max_depth: 257 is more than the maximum 256"
        )
        self.assertError(
            {"rateBurst": 0}, "[c2s] rate_burst: 0 is less than the minimum 1"
        )
        self.assertError(
            {"rateLimit": "1MB"}, "[c2s] rate_limit: '1MB' is not a whole number"
        )
        self.assertError(
            {"resumeTimeout": -5}, "[c2s] resume_timeout: -5 is less than the minimum 0"
        )
        self.assertError(
            {"offlineLimit": "lots"},
            "[c2s] offline_limit: 'lots' is not a whole number",
        )
        self.assertError(
            {"offlineLimit": -1}, "[c2s] offline_limit: -1 is less than the minimum 0"
        )
        self.assertError(
            {"vcardMaxSize": 1023},
            "[c2s] vcard_max_size: 1023 is less than the minimum 1024",
        )
        self.assertError(
            {"uploadMaxFileSize": 0},
            "[upload] max_file_size: 0 is less than the minimum 1",
        )
        self.assertError(
            {"uploadQuota": "1G"}, "[upload] quota: '1G' is not a whole number"
        )
        self.assertError(
            {"uploadSlotLifetime": 0},
            "[upload] slot_lifetime: 0 is less than the minimum 1",
        )
        self.assertError(
            {"mucMaxRoomsPerAccount": 0},
            "[muc] max_rooms_per_account: 0 is less than the minimum 1",
        )
        self.assertError(
            {"pubsubMaxNodes": "many"}, "[pubsub] max_nodes: 'many' is not a whole number"
        )
        self.assertError(
            {"pubsubMaxBytes": 1023},
            "[pubsub] max_bytes: 1023 is less than the minimum 1024",
        )

    def test_backendJids(self):
        """
        Backend JIDs must be valid bare JIDs.
        """
        self.assertError(
            {"backendJids": "bot@localhost/res"},
            "[muc] backend_jids: 'bot@localhost/res' is not a bare JID",
        )
        self.assertError(
            {"backendJids": "a@b@c"},
            "[muc] backend_jids: 'a@b@c' is not a valid JID (invalid character in hostname)",
        )

    def test_componentConnect(self):
        """
        C{[component] connect} must be a client endpoint description with
        a host and a port in range.
        """
        base = {"componentSecret": "s"}
        for value, reason in [
            ("tcp:127.0.0.1", "missing port"),
            ("tcp::5347", "missing host"),
            ("tcp:127.0.0.1:abc", "invalid port"),
            ("tcp:127.0.0.1:0", "port out of range"),
            ("tcp:127.0.0.1:65536", "port out of range"),
            ("bogus:127.0.0.1:5347", "unknown endpoint type 'bogus'"),
            ("tcp:127.0.0.1:5347:colour=red", "unknown parameter 'colour'"),
            ("tcp:127.0.0.1:5347:timeout=soon", "a number is expected: 'soon'"),
        ]:
            self.assertError(
                dict(base, componentConnect=value),
                f"[component] connect: {value!r} is not a valid endpoint "
                f"description ({reason})",
            )

    def test_componentModeAcceptsNoComponents(self):
        """
        Running as a component, mepserver accepts no components of its own:
        C{[components]} with a listener or a component is refused.
        """
        base = {"componentConnect": "tcp:127.0.0.1:5347", "componentSecret": "s"}
        message = (
            "[components]: accepting components is for standalone mode, and "
            "mepserver runs as a component ([component] connect is set)"
        )
        self.assertError(
            dict(base, componentsListen="tcp:5347:interface=127.0.0.1"), message
        )
        self.assertError(dict(base, components={"bot.localhost": "b"}), message)

    def test_componentPair(self):
        """
        C{[component] connect} and C{secret} go together: one without the
        other names the missing one.
        """
        self.assertError(
            {"componentConnect": "tcp:127.0.0.1:5347"},
            "[component] secret: missing; running as a component "
            "([component] connect is set) needs the host's shared secret",
        )
        self.assertError(
            {"componentConnect": "tcp:127.0.0.1:5347", "componentSecret": "  "},
            "[component] secret: missing; running as a component "
            "([component] connect is set) needs the host's shared secret",
        )
        self.assertError(
            {"componentSecret": "s"},
            "[component] connect: missing; [component] secret is set, but not "
            "the host server's component port to connect to (e.g. tcp:127.0.0.1:5347)",
        )

    def test_users(self):
        """
        Usernames must nodeprep, passwords must not be empty, and two
        names must not prepare to the same user.
        """
        self.assertError(
            {"users": {"a b": "pw"}},
            "[users] a b: 'a b' is not a valid username (invalid character ' ')",
        )
        self.assertError({"users": {"romeo": ""}}, "[users] romeo: empty password")
        self.assertError(
            {"users": {"straße": "1", "strasse": "2"}},
            "[users] strasse: the same username as [users] straße",
        )

    def test_components(self):
        """
        Component names are domains, not JIDs, distinct after
        normalisation and from the server's own domains; secrets must not
        be empty; C{conflict} is one of two words; C{listen} an endpoint.
        """
        self.assertError(
            {"components": {"bot@localhost": "s"}},
            "[components] bot@localhost: 'bot@localhost' is not a valid domain "
            "(it is a JID)",
        )
        self.assertError(
            {"components": {"a b": "s"}},
            "[components] a b: 'a b' is not a valid domain (invalid character "
            "in hostname)",
        )
        self.assertError(
            {"components": {"": "s"}},
            "[components] : '' is not a valid domain (server address required)",
        )
        self.assertError(
            {"components": {"bot.localhost": " "}},
            "[components] bot.localhost: empty secret",
        )
        self.assertError(
            {"components": {"Bot.localhost": "1", "bot.localhost": "2"}},
            "[components] bot.localhost: the same component as [components] "
            "Bot.localhost",
        )
        for name, other in (
            ("localhost", "[server] domain"),
            ("Conference.localhost", "[muc] domain"),
            ("upload.localhost", "[upload] domain"),
        ):
            self.assertError(
                {"components": {name: "s"}},
                f"[components] {name.lower()}: {name.lower()!r} is the same as "
                f"{other}",
            )
        self.assertError(
            {"componentsConflict": "kick"},
            "[components] conflict: 'kick' is not one of refuse_new, replace_old",
        )
        self.assertError(
            {"componentsListen": "tcp:x"},
            "[components] listen: 'tcp:x' is not a valid endpoint description "
            "(invalid port)",
        )
        self.assertError(
            {"components": ["bot.localhost"]},
            "[components]: ['bot.localhost'] is not a mapping",
        )

    def test_componentsFile(self):
        """
        A component without a secret in the file is an error naming it.
        """
        self.assertFileError(
            "[components]\nbot.localhost =\n",
            "[components] bot.localhost: empty secret",
        )

    def test_usersFile(self):
        """
        A C{[users]} entry without a password is an error.
        """
        self.assertFileError("[users]\nromeo =\n", "[users] romeo: empty password")

    def test_unknownSection(self):
        """
        An unknown section is an error.
        """
        self.assertFileError("[c2ss]\nlisten = tcp:0\n", "unknown section [c2ss]")

    def test_defaultSection(self):
        """
        C{[DEFAULT]} is not special: it is an unknown section.
        """
        self.assertFileError("[DEFAULT]\ndomain = x\n", "unknown section [DEFAULT]")

    def test_unknownKey(self):
        """
        An unknown key in a known section is an error.
        """
        self.assertFileError("[c2s]\nlisen = tcp:0\n", "unknown setting [c2s] lisen")

    def test_keyInWrongSection(self):
        """
        A key is known only in its own section.
        """
        self.assertFileError(
            "[server]\nlisten = tcp:0\n", "unknown setting [server] listen"
        )

    def test_fileValue(self):
        """
        A wrong value in the file is reported like an override.
        """
        self.assertFileError(
            "[c2s]\nlisten = tcp:abc\n",
            "[c2s] listen: 'tcp:abc' is not a valid endpoint description (invalid port)",
        )

    def test_missingFile(self):
        """
        A file that cannot be read is an error naming it.
        """
        error = self.assertRaises(ConfigError, config.load, "x.ini")
        self.assertEqual(
            str(error), "cannot read config file 'x.ini': No such file or directory"
        )

    def test_notUTF8(self):
        """
        A file that is not UTF-8 is an error naming it.
        """
        path = tempPath(self)
        with open(path, "wb") as f:
            f.write(b"[server]\ndomain = \xff\n")
        error = self.assertRaises(ConfigError, config.load, path)
        self.assertTrue(
            str(error).startswith(
                f"cannot read config file {path!r}: not UTF-8 text ("
            ),
            str(error),
        )

    def test_outsideSection(self):
        """
        A setting before any section header is an error with its line.
        """
        path = writeFile(self, "# c\ndomain = x\n")
        error = self.assertRaises(ConfigError, config.load, path)
        self.assertEqual(
            str(error),
            f"config file {path!r}, line 2: 'domain = x' is outside a section",
        )

    def test_unparsable(self):
        """
        A line that is neither a section, a setting nor a comment is an error.
        """
        path = writeFile(self, "[server]\ndomain = x\njunk\n")
        error = self.assertRaises(ConfigError, config.load, path)
        self.assertEqual(
            str(error), f"config file {path!r}, line 3: cannot parse 'junk'"
        )

    def test_duplicateSection(self):
        """
        A section given twice is an error.
        """
        path = writeFile(self, "[server]\n[c2s]\n[server]\n")
        error = self.assertRaises(ConfigError, config.load, path)
        self.assertEqual(
            str(error), f"config file {path!r}, line 3: duplicate section [server]"
        )

    def test_duplicateKey(self):
        """
        A key given twice in a section is an error.
        """
        path = writeFile(self, "[server]\ndomain = a\nDomain = b\n")
        error = self.assertRaises(ConfigError, config.load, path)
        self.assertEqual(
            str(error),
            f"config file {path!r}, line 3: duplicate setting [server] domain",
        )


class EncryptionRequiredTests(unittest.SynchronousTestCase):
    """
    L{Config.encryptionRequired} and L{config.loopbackOnly}.
    """

    def test_explicit(self):
        """
        An explicit C{requireEncryption} decides, whatever the listener.
        """
        self.assertTrue(Config(requireEncryption=True).encryptionRequired)
        self.assertFalse(
            Config(requireEncryption=False, c2sListen="tcp:5222").encryptionRequired
        )

    def test_autoLoopback(self):
        """
        On C{auto}, a loopback listener does not require encryption.
        """
        self.assertFalse(Config().encryptionRequired)

    def test_autoAllInterfaces(self):
        """
        On C{auto}, a listener without an interface requires encryption.
        """
        self.assertTrue(Config(c2sListen="tcp:5222").encryptionRequired)
        self.assertTrue(
            Config(c2sListen="tcp:5222:interface=192.0.2.1").encryptionRequired
        )

    def test_webSocket(self):
        """
        L{Config.webSocketEncryptionRequired} follows an explicit
        C{requireEncryption}; on C{auto} it looks at the HTTP listener, not
        at the TCP one.
        """
        self.assertFalse(Config().webSocketEncryptionRequired)
        self.assertTrue(Config(requireEncryption=True).webSocketEncryptionRequired)
        self.assertFalse(
            Config(requireEncryption=False, httpListen="tcp:5280").webSocketEncryptionRequired
        )
        self.assertTrue(Config(httpListen="tcp:5280").webSocketEncryptionRequired)
        self.assertFalse(Config(c2sListen="tcp:5222").webSocketEncryptionRequired)

    def test_loopbackOnly(self):
        """
        Loopback addresses, C{localhost} and UNIX sockets are loopback;
        other and missing interfaces are not.
        """
        loopback = [
            "tcp:5222:interface=127.0.0.1",
            "tcp:0:interface=127.1.2.3",
            "tcp:5222:127.0.0.1",
            "tcp6:5222:interface=\\:\\:1",
            "tcp6:5222:interface=\\:\\:ffff\\:127.0.0.1",
            "tcp:5222:interface=localhost",
            "ssl:5223:interface=127.0.0.1",
            "unix:/tmp/mepserver.sock",
        ]
        public = [
            "tcp:5222",
            "tcp:0",
            "tcp:5222:interface=0.0.0.0",
            "tcp6:5222:interface=\\:\\:",
            "tcp:5222:interface=example.org",
            "ssl:5223",
            "systemd:domain=INET:index=0",
        ]
        for description in loopback:
            self.assertTrue(config.loopbackOnly(description), description)
        for description in public:
            self.assertFalse(config.loopbackOnly(description), description)


class PropertyTests(unittest.SynchronousTestCase):
    """
    Property tests of the value parsers.
    """

    @settings(max_examples=50)
    @given(
        st.sampled_from(["yes", "true", "on", "1", "no", "false", "off", "0"]),
        st.booleans(),
        st.sampled_from(["", " ", "\t"]),
    )
    def test_booleanSpellings(self, word, upper, padding):
        """
        Every spelling, in any case and with surrounding blanks, parses to
        its boolean.
        """
        text = padding + (word.upper() if upper else word) + padding
        loaded = config.load(overrides={"anonymous": text})
        self.assertIs(loaded.anonymous, word in ("yes", "true", "on", "1"))

    @settings(max_examples=50)
    @given(st.integers(min_value=-(10**6), max_value=10**12))
    def test_stanzaSizeRoundTrip(self, number):
        """
        A stanza size given as text loads as the same number when it is at
        least 1024, and is refused otherwise.
        """
        if number >= 1024:
            self.assertEqual(
                config.load(overrides={"maxStanzaSize": str(number)}).maxStanzaSize,
                number,
            )
        else:
            error = self.assertRaises(
                ConfigError, config.load, None, {"maxStanzaSize": str(number)}
            )
            self.assertEqual(
                str(error),
                f"[c2s] max_stanza_size: {number} is less than the minimum 1024",
            )
