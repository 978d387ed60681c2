# -*- test-case-name: tests.test_config -*-
"""
mepserver's settings: embedded defaults < INI file < command line.

L{load} reads an optional INI file (the sections and keys are listed in
C{etc/mepserver.ini}), applies command-line overrides on top, validates
every value and returns one frozen L{Config}. Anything wrong (a value that
does not parse, an unknown section or key, an unreadable file) raises
L{ConfigError}, whose text is one line naming the setting, so that twistd
can print it under its usage text.

Choices the file format leaves open:

  - Keys are case-insensitive (C{configparser}'s rule), so C{[users]}
    names are lowercased before nodeprep; sections are case-sensitive.
  - There is no interpolation and no C{[DEFAULT]} section (C{%} may appear
    in a password, and C{[DEFAULT]} would hide typos), and a comment must
    sit on its own line, since C{#} and C{;} may appear in values.
  - The MUC domain, unless given, is C{conference.} plus the server domain,
    and the upload domain C{upload.} plus it.
  - In C{[components]}, C{listen} and C{conflict} are settings and every
    other key names an external component (XEP-0114), like the usernames
    of C{[users]}; so no component can be called C{listen} or C{conflict}.
  - TLS file names are made absolute when they are checked, because twistd
    may change directory (C{--rundir}) before the server opens them; the
    data directory stays as given, relative to twistd's working directory.
"""

from __future__ import annotations

import ast
import configparser
import ipaddress
import os
import re
import types
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple
from urllib.parse import urlsplit

from twisted.words.protocols.jabber import jid
from twisted.words.protocols.jabber.xmpp_stringprep import nodeprep

from mepserver.jids import MAX_PART_BYTES
from mepserver.stanza import DEFAULT_MAX_DEPTH, MAX_DEPTH_LIMIT

__all__ = ["Config", "ConfigError", "load", "loopbackOnly"]


class ConfigError(Exception):
    """
    A setting is wrong or the configuration file cannot be read.

    C{str()} of it is one line that names the setting, for example
    C{[c2s] listen: 'tcp:abc' is not a valid endpoint description
    (invalid port)}.
    """


@dataclass(frozen=True)
class Config:
    """
    Every setting of one mepserver process; see C{etc/mepserver.ini}.

    Build it with L{load}, which validates and normalises the values;
    constructing it directly (as tests do) checks nothing.

    @ivar domain: the client domain (C{[server] domain}), lowercase.
    @ivar mucDomain: the MUC service domain (C{[muc] domain}).
    @ivar dataDir: where the SQLite file and the generated TLS certificate
        live (C{[server] data_dir}).
    @ivar storage: C{"sqlite"} or C{"memory"} (C{[storage] backend}).
    @ivar storageSynchronous: when SQLite waits for the disk
        (C{[storage] synchronous}): C{"normal"} at checkpoints only, so a
        write survives the process crashing but may be lost in a power
        cut; C{"full"} at every commit, so it survives both.
    @ivar c2sListen: endpoint description of the client listener
        (C{[c2s] listen}).
    @ivar directTLSListen: endpoint description of the direct TLS client
        listener (XEP-0368), or L{None} for none (C{[c2s] direct_tls_listen},
        C{off} or empty to switch it off).
    @ivar httpListen: endpoint description of the WebSocket and HTTP API
        listener (C{[http] listen}).
    @ivar apiToken: bearer token the HTTP API requires, or L{None} for none
        (C{[http] token}); required when C{httpListen} is not loopback only.
    @ivar inspectorLogSize: how many stanzas the inspector's ring buffer
        keeps, the newest (C{[inspector] stanza_log_size}); 0 keeps none,
        and the page then shows only what passes while it is open.
    @ivar inspectorLogAlways: whether the ring buffer records while no
        inspector page is open (C{[inspector] stanza_log_always}); off,
        stanzas cost nothing more while nobody watches.
    @ivar inspectorDeliveries: how many MEP publications of each room the
        delivery explainer keeps (C{[inspector] deliveries_per_room}); 0
        records none.
    @ivar tlsCertificate: PEM certificate file, or L{None} to generate a
        self-signed one into C{dataDir} (C{[tls] certificate}).
    @ivar tlsKey: PEM private key file; set exactly when C{tlsCertificate}
        is (C{[tls] key}).
    @ivar requireEncryption: C{True} or C{False}, or L{None} for C{auto};
        see L{encryptionRequired} (C{[c2s] require_encryption}).
    @ivar registration: whether XEP-0077 in-band registration is offered
        (C{[auth] registration}).
    @ivar anonymous: whether SASL ANONYMOUS is offered (C{[auth] anonymous}).
    @ivar users: accounts to provision, nodeprepped username to password
        (the C{[users]} section); read-only.
    @ivar maxStanzaSize: largest stanza in bytes before a
        C{policy-violation} stream error (C{[c2s] max_stanza_size}).
    @ivar idleTimeout: seconds of client silence before the stream is
        closed, C{0} for never (C{[c2s] idle_timeout}).
    @ivar maxDepth: the most levels of elements nested below a stanza;
        deeper closes the stream with C{policy-violation}, and a deeper
        HTTP API payload gets 400 (C{[c2s] max_depth}).
    @ivar negotiationTimeout: seconds from connecting within which a
        client must authenticate and bind a resource, or be closed with
        C{connection-timeout}; C{0} for no deadline (C{[c2s]
        negotiation_timeout}).
    @ivar maxUnauthenticatedPerAddress: the most connections one IP
        address may hold open before they authenticate and bind; past it a
        new one is closed with C{policy-violation}. C{0} for no limit
        (C{[c2s] max_unauthenticated_per_address}).
    @ivar rateLimit: bytes per second one client connection may send
        before reading from it pauses; C{0} for no limit (C{[c2s]
        rate_limit}).
    @ivar rateBurst: seconds' worth of C{rateLimit} a connection may send
        at once (C{[c2s] rate_burst}).
    @ivar resumeTimeout: seconds a client's session with resumable stream
        management (XEP-0198) waits for the client to resume it after its
        connection broke off, C{0} for no resumption (C{[c2s]
        resume_timeout}).
    @ivar offlineLimit: the most offline messages (XEP-0160) one account
        holds; past it senders get C{service-unavailable}. C{0} stores none
        (C{[c2s] offline_limit}).
    @ivar vcardMaxSize: the largest vCard (XEP-0054) a client may set, in
        bytes of XML; a larger one gets C{not-acceptable} (C{[c2s]
        vcard_max_size}).
    @ivar mucCreateUnlocked: whether new rooms start unlocked instead of
        waiting for the owner's configuration (C{[muc] create_unlocked}).
    @ivar mucMaxRoomsPerAccount: the most rooms one account may own and
        still create another; past it the creation gets
        C{resource-constraint} (C{[muc] max_rooms_per_account}).
    @ivar pubsubMaxNodes: the most nodes one pubsub service (an account's
        PEP service, a room's or an occupant's MEP service) holds; past it
        a node creation gets C{resource-constraint} (C{[pubsub]
        max_nodes}).
    @ivar pubsubMaxBytes: the most bytes of item payloads one pubsub
        service keeps in all its nodes; past it a publish gets
        C{not-acceptable} with C{<payload-too-big/>} (C{[pubsub]
        max_bytes}).
    @ivar backendJids: bare JIDs allowed to publish as the room
        (C{[muc] backend_jids}).
    @ivar uploadDomain: the HTTP File Upload (XEP-0363) service's domain
        (C{[upload] domain}).
    @ivar uploadMaxFileSize: the largest file in bytes a slot is given for
        (C{[upload] max_file_size}).
    @ivar uploadQuota: the most bytes of files one account may have
        uploaded and reserved with unused slots (C{[upload] quota}).
    @ivar uploadSlotLifetime: seconds an upload slot can be used
        (C{[upload] slot_lifetime}).
    @ivar uploadPublicURL: the scheme and authority (and an optional path
        prefix) of upload URLs, or L{None} for C{http://127.0.0.1:} and the
        HTTP listener's port (C{[upload] public_url}).
    @ivar componentsListen: endpoint description of the listener that
        accepts external components (XEP-0114, C{jabber:component:accept}),
        or L{None} for none (C{[components] listen}, C{off} or empty).
    @ivar componentsConflict: what a second connection for a component
        that is connected does: C{"refuse_new"} refuses it with a
        C{conflict} stream error, C{"replace_old"} closes the old one with
        C{conflict} instead (C{[components] conflict}).
    @ivar components: the external components' domains, lowercase, to
        their shared secrets (the other keys of C{[components]}); read-only.
    @ivar componentConnect: client endpoint description of the host
        server's component port (XEP-0114), or L{None} to run standalone
        (C{[component] connect}). When set, mepserver runs as the host's
        MUC component: only the MUC service with MEP, the HTTP API and the
        stores, reached through the host (L{mepserver.hostlink}).
    @ivar componentSecret: the component's shared secret for the
        handshake; set exactly when C{componentConnect} is (C{[component]
        secret}). Left out of C{repr()}, so that it is never logged.
    @ivar archiveRetention: seconds an archived message (XEP-0313) is kept,
        or L{None} for ever (C{[archive] retention}: seconds, or a number
        with C{s}, C{h}, C{d} or C{w}, or C{never}).
    @ivar archiveMaxMessages: the most messages one archive keeps; past
        it the oldest go (C{[archive] max_messages}).
    @ivar archivePageSize: how many messages a query's page holds when the
        client asks for no number (C{[archive] page_size}).
    @ivar archiveMaxPageSize: the most messages one page holds, whatever
        the client asks for (C{[archive] max_page_size}).
    @ivar verbose: whether to log traffic (C{[server] verbose}).
    """

    domain: str = "localhost"
    mucDomain: str = "conference.localhost"
    dataDir: str = "mepserver-data"
    storage: str = "sqlite"
    storageSynchronous: str = "normal"
    c2sListen: str = "tcp:5222:interface=127.0.0.1"
    directTLSListen: Optional[str] = "tcp:5223:interface=127.0.0.1"
    httpListen: str = "tcp:5280:interface=127.0.0.1"
    apiToken: Optional[str] = None
    inspectorLogSize: int = 500
    inspectorLogAlways: bool = False
    inspectorDeliveries: int = 50
    tlsCertificate: Optional[str] = None
    tlsKey: Optional[str] = None
    requireEncryption: Optional[bool] = None
    registration: bool = True
    anonymous: bool = False
    # A mapping proxy is read-only but unhashable, so it stays out of the
    # hash; equal configs still hash equally.
    users: Mapping[str, str] = field(
        default_factory=lambda: types.MappingProxyType({}), hash=False
    )
    maxStanzaSize: int = 262144
    idleTimeout: int = 300
    maxDepth: int = DEFAULT_MAX_DEPTH
    negotiationTimeout: int = 300
    maxUnauthenticatedPerAddress: int = 100
    rateLimit: int = 1048576
    rateBurst: int = 10
    resumeTimeout: int = 300
    offlineLimit: int = 1000
    vcardMaxSize: int = 65536
    mucCreateUnlocked: bool = False
    mucMaxRoomsPerAccount: int = 100
    backendJids: Tuple[str, ...] = ()
    pubsubMaxNodes: int = 100
    pubsubMaxBytes: int = 16777216
    uploadDomain: str = "upload.localhost"
    uploadMaxFileSize: int = 10485760
    uploadQuota: int = 1073741824
    uploadSlotLifetime: int = 300
    uploadPublicURL: Optional[str] = None
    componentsListen: Optional[str] = None
    componentsConflict: str = "refuse_new"
    components: Mapping[str, str] = field(
        default_factory=lambda: types.MappingProxyType({}), hash=False
    )
    componentConnect: Optional[str] = None
    componentSecret: Optional[str] = field(default=None, repr=False)
    archiveRetention: Optional[int] = 604800
    archiveMaxMessages: int = 10000
    archivePageSize: int = 20
    archiveMaxPageSize: int = 100
    verbose: bool = False

    @property
    def componentMode(self) -> bool:
        """
        Whether mepserver runs as a host server's MUC component (XEP-0114)
        rather than standalone: C{componentConnect} is set.
        """
        return self.componentConnect is not None

    @property
    def encryptionRequired(self) -> bool:
        """
        Whether clients must encrypt before authenticating.

        C{requireEncryption} decides when set; on C{auto} (L{None})
        encryption is required unless the client listener is on loopback
        only (see L{loopbackOnly}).
        """
        if self.requireEncryption is not None:
            return self.requireEncryption
        return not loopbackOnly(self.c2sListen)

    @property
    def webSocketEncryptionRequired(self) -> bool:
        """
        Whether WebSocket clients (RFC 7395) must connect over TLS
        (C{wss:}) to authenticate: C{requireEncryption} decides when set,
        as for TCP; on C{auto} encryption is required unless the HTTP
        listener is on loopback only.
        """
        if self.requireEncryption is not None:
            return self.requireEncryption
        return not loopbackOnly(self.httpListen)

    @property
    def uploadBaseURL(self) -> str:
        """
        Where upload URLs begin: C{uploadPublicURL} when set, otherwise
        C{http://127.0.0.1:} (C{https} for an C{ssl:} listener) and the port
        of C{httpListen}, so C{http://127.0.0.1:5280} by default.
        """
        if self.uploadPublicURL is not None:
            return self.uploadPublicURL
        args, kwargs = _splitEndpoint(self.httpListen)
        scheme = "https" if args[0] == "ssl" else "http"
        port = ""
        if args[0] in _PORT_TYPES:
            port = kwargs.get("port", args[1] if len(args) > 1 else "")
        return f"{scheme}://127.0.0.1" + (f":{port}" if port else "")


class _Invalid(Exception):
    """
    A value is wrong; the argument is the reason, without the setting name.
    """


def _splitEndpoint(description: str) -> Tuple[List[str], Dict[str, str]]:
    """
    Split an endpoint description the way Twisted's parser does.

    A backslash escapes the next character, C{:} separates fields, and the
    first C{=} of a field makes it a keyword argument.

    @return: the positional fields (the first is the endpoint type) and the
        keyword fields.
    """
    args: List[str] = []
    kwargs: Dict[str, str] = {}
    current, key = "", None
    chars = iter(description)
    for char in chars:
        if char == "\\":
            current += next(chars, "")
        elif char == ":":
            if key is None:
                args.append(current)
            else:
                kwargs[key] = current
            current, key = "", None
        elif char == "=" and key is None:
            key, current = current, ""
        else:
            current += char
    if key is None:
        args.append(current)
    else:
        kwargs[key] = current
    return args, kwargs


# The position of the interface among each stream server type's positional
# arguments (after the type itself), from twisted.internet.endpoints.
_INTERFACE_INDEX = {"tcp": 2, "tcp6": 2, "ssl": 5}


def loopbackOnly(description: str) -> bool:
    """
    Whether a server endpoint description listens on loopback only.

    True for a C{tcp}, C{tcp6} or C{ssl} description whose interface is a
    loopback address (C{127.x.x.x}, C{::1}) or C{localhost}, and for a
    C{unix} socket; false for anything else, including a description
    without an interface, which listens on all interfaces.

    @param description: a server endpoint description, e.g.
        C{tcp:5222:interface=127.0.0.1}.
    """
    args, kwargs = _splitEndpoint(description)
    kind = args[0]
    if kind == "unix":
        return True
    if kind not in _INTERFACE_INDEX:
        return False
    index = _INTERFACE_INDEX[kind]
    interface = kwargs.get(
        "interface", args[index] if len(args) > index else ""
    ).strip()
    if interface.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(interface)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or bool(mapped and mapped.is_loopback)


def _reason(exc: BaseException) -> str:
    """
    The first line of an exception's message, with a lowercase start and
    no final full stop, to go in parentheses after a value.
    """
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
        if exc.filename:
            text += f": {exc.filename!r}"
    else:
        text = (str(exc).splitlines() or [""])[0].strip()
        if not text:
            text = type(exc).__name__
    if text[:1].isupper() and text[1:2].islower():
        text = text[0].lower() + text[1:]
    return text.rstrip(".")


def _text(value: Any, what: str = "text") -> str:
    if not isinstance(value, str):
        raise _Invalid(f"{value!r} is not {what}")
    return value.strip()


def _nonEmpty(value: Any) -> str:
    text = _text(value)
    if not text:
        raise _Invalid("must not be empty")
    return text


def _optionalText(value: Any) -> Optional[str]:
    if value is None:
        return None
    return _text(value) or None


def _domain(value: Any) -> str:
    text = _text(value, "a domain")
    if text and "" in text.split("."):
        raise _Invalid(f"{text!r} is not a valid domain (empty label)")
    try:
        user, host, resource = jid.parse(text)
    except Exception as e:
        raise _Invalid(f"{text!r} is not a valid domain ({_reason(e)})")
    if user is not None or resource is not None:
        raise _Invalid(f"{text!r} is not a valid domain (it is a JID)")
    if len(host.encode("utf-8")) > MAX_PART_BYTES:
        raise _Invalid(f"{text!r} is not a valid domain (too long)")
    return host.lower()


def _choice(*choices: str) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        text = _text(value).lower()
        if text not in choices:
            raise _Invalid(f"{value!r} is not one of {', '.join(choices)}")
        return text

    return convert


_TRUE = ("yes", "true", "on", "1")
_FALSE = ("no", "false", "off", "0")
_BOOLEANS = "yes, no, true, false, on, off, 1, 0"


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = _text(value, "a boolean").lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _Invalid(f"{value!r} is not one of {_BOOLEANS}")


def _tristate(value: Any) -> Optional[bool]:
    if value is None or isinstance(value, bool):
        return value
    text = _text(value, "a boolean").lower()
    if text == "auto":
        return None
    try:
        return _boolean(text)
    except _Invalid:
        raise _Invalid(f"{value!r} is not one of auto, {_BOOLEANS}")


def _integer(minimum: int, maximum: Optional[int] = None) -> Callable[[Any], int]:
    def convert(value: Any) -> int:
        if isinstance(value, str):
            try:
                number = int(value.strip(), 10)
            except ValueError:
                raise _Invalid(f"{value!r} is not a whole number")
        elif isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            raise _Invalid(f"{value!r} is not a whole number")
        if number < minimum:
            raise _Invalid(f"{number} is less than the minimum {minimum}")
        if maximum is not None and number > maximum:
            raise _Invalid(f"{number} is more than the maximum {maximum}")
        return number

    return convert


_PORT_TYPES = ("tcp", "tcp6", "ssl")


def _build(fromString, reactor, text, args, invalid) -> None:
    """
    Build the endpoint C{text} describes with C{fromString} (Twisted's
    C{serverFromString} or C{clientFromString}), turning each way Twisted
    refuses it into an L{_Invalid} made by C{invalid(reason)}.
    """
    try:
        fromString(reactor, text)
    except ValueError as e:
        if str(e).startswith("Unknown endpoint type"):
            raise invalid(f"unknown endpoint type {args[0]!r}")
        if str(e).startswith("invalid literal for int()"):
            raise invalid("a number is expected: " + str(e).split(": ", 1)[-1])
        raise invalid(_reason(e))
    except TypeError as e:
        unexpected = re.search(r"unexpected keyword argument '(\w+)'", str(e))
        if unexpected:
            raise invalid(f"unknown parameter {unexpected.group(1)!r}")
        raise invalid(_reason(e))
    except Exception as e:
        raise invalid(_reason(e))


def _endpoint(value: Any) -> str:
    # Imported here, not at the top: importing the reactor installs the
    # default one, and importing this module must not choose the reactor.
    from twisted.internet import endpoints, reactor

    text = _text(value, "an endpoint description")

    def invalid(reason: str) -> _Invalid:
        return _Invalid(f"{text!r} is not a valid endpoint description ({reason})")

    if not text:
        raise invalid("empty")
    args, kwargs = _splitEndpoint(text)
    if args[0] in _PORT_TYPES:
        # Twisted accepts any integer here and only fails on listening.
        port = kwargs.get("port", args[1] if len(args) > 1 else None)
        if port is None:
            raise invalid("missing port")
        try:
            number = int(port, 10)
        except ValueError:
            raise invalid("invalid port")
        if not 0 <= number <= 65535:
            raise invalid("port out of range")
    # Parses and builds the endpoint without listening.
    _build(endpoints.serverFromString, reactor, text, args, invalid)
    return text


def _optionalEndpoint(value: Any) -> Optional[str]:
    """
    An endpoint description, or L{None} for C{off} or an empty value.
    """
    text = _text(value, "an endpoint description")
    if text.lower() in ("", "off"):
        return None
    return _endpoint(text)


# The position of the port among each stream client type's positional
# arguments (after the type itself), from twisted.internet.endpoints.
_CLIENT_PORT_INDEX = {"tcp": 1, "tls": 1, "ssl": 1}


def _optionalClientEndpoint(value: Any) -> Optional[str]:
    """
    A client endpoint description (C{tcp:HOST:PORT}, C{tls:HOST:PORT},
    C{unix:PATH}, ...), or L{None} for C{off} or an empty value.
    """
    from twisted.internet import endpoints, reactor

    text = _text(value, "an endpoint description")
    if text.lower() in ("", "off"):
        return None

    def invalid(reason: str) -> _Invalid:
        return _Invalid(f"{text!r} is not a valid endpoint description ({reason})")

    args, kwargs = _splitEndpoint(text)
    index = _CLIENT_PORT_INDEX.get(args[0])
    if index is not None:
        host = kwargs.get("host", args[index] if len(args) > index else "")
        port = kwargs.get("port", args[index + 1] if len(args) > index + 1 else None)
        if not host:
            raise invalid("missing host")
        if port is None:
            raise invalid("missing port")
        try:
            number = int(port, 10)
        except ValueError:
            raise invalid("invalid port")
        if not 0 < number <= 65535:
            raise invalid("port out of range")
    # Parses and builds the endpoint without connecting.
    _build(endpoints.clientFromString, reactor, text, args, invalid)
    return text


def _optionalURL(value: Any) -> Optional[str]:
    """
    An C{http} or C{https} URL without query or fragment, without its
    trailing slash; L{None} for an empty value.
    """
    text = _optionalText(value)
    if text is None:
        return None
    parsed = urlsplit(text)
    if parsed.scheme.lower() not in ("http", "https") or not parsed.netloc:
        raise _Invalid(f"{text!r} is not an http:// or https:// URL")
    if parsed.query or parsed.fragment or re.search(r"\s", text):
        raise _Invalid(f"{text!r} must have no query, fragment or spaces")
    return text.rstrip("/")


_DURATION_UNITS = {"s": 1, "h": 3600, "d": 86400, "w": 604800}


def _duration(value: Any) -> Optional[int]:
    """
    A duration in whole seconds: a number of seconds, or a number followed
    by C{s}, C{h}, C{d} or C{w} (C{7d}, C{1w}); L{None} for C{never}.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
    else:
        text = _text(value, "a duration").lower()
    if text == "never":
        return None
    match = re.fullmatch(r"([0-9]+)\s*([shdw]?)", text)
    if match is None:
        raise _Invalid(
            f"{value!r} is not a duration: seconds, or a number with s, h, d "
            "or w (7d, 1w), or never"
        )
    seconds = int(match.group(1)) * _DURATION_UNITS.get(match.group(2) or "s")
    if seconds < 1:
        raise _Invalid(f"{value!r} is shorter than a second")
    return seconds


def _readableFile(value: Any) -> Optional[str]:
    path = _optionalText(value)
    if path is None:
        return None
    try:
        with open(path, "rb"):
            pass
    except OSError as e:
        raise _Invalid(f"cannot read {path!r}: {e.strerror or _reason(e)}")
    return os.path.abspath(path)


def _bareJid(text: str) -> str:
    try:
        parsed = jid.JID(text)
    except Exception as e:
        raise _Invalid(f"{text!r} is not a valid JID ({_reason(e)})")
    if parsed.resource is not None:
        raise _Invalid(f"{text!r} is not a bare JID")
    return parsed.userhost()


def _jids(value: Any) -> Tuple[str, ...]:
    if isinstance(value, str):
        value = [part for part in re.split(r"[\s,]+", value) if part]
    elif not isinstance(value, (list, tuple)):
        raise _Invalid(f"{value!r} is not a list of JIDs")
    result: List[str] = []
    for item in value:
        bare = _bareJid(_text(item, "a JID"))
        if bare not in result:
            result.append(bare)
    return tuple(result)


@dataclass(frozen=True)
class _Setting:
    """
    One INI key: the L{Config} field it sets and how to convert a value.
    """

    name: str
    section: str
    key: str
    convert: Callable[[Any], Any]

    @property
    def label(self) -> str:
        return f"[{self.section}] {self.key}"


# In Config's field order, which is the order values are checked in; the
# [users] section, whose keys are usernames, is handled by _users, and the
# component names of [components] by _components.
_SETTINGS = (
    _Setting("domain", "server", "domain", _domain),
    _Setting("mucDomain", "muc", "domain", _domain),
    _Setting("dataDir", "server", "data_dir", _nonEmpty),
    _Setting("storage", "storage", "backend", _choice("sqlite", "memory")),
    _Setting("storageSynchronous", "storage", "synchronous", _choice("normal", "full")),
    _Setting("c2sListen", "c2s", "listen", _endpoint),
    _Setting("directTLSListen", "c2s", "direct_tls_listen", _optionalEndpoint),
    _Setting("httpListen", "http", "listen", _endpoint),
    _Setting("apiToken", "http", "token", _optionalText),
    _Setting("inspectorLogSize", "inspector", "stanza_log_size", _integer(0, 100000)),
    _Setting("inspectorLogAlways", "inspector", "stanza_log_always", _boolean),
    _Setting("inspectorDeliveries", "inspector", "deliveries_per_room", _integer(0, 10000)),
    _Setting("tlsCertificate", "tls", "certificate", _readableFile),
    _Setting("tlsKey", "tls", "key", _readableFile),
    _Setting("requireEncryption", "c2s", "require_encryption", _tristate),
    _Setting("registration", "auth", "registration", _boolean),
    _Setting("anonymous", "auth", "anonymous", _boolean),
    _Setting("maxStanzaSize", "c2s", "max_stanza_size", _integer(1024)),
    _Setting("idleTimeout", "c2s", "idle_timeout", _integer(0)),
    _Setting("maxDepth", "c2s", "max_depth", _integer(1, MAX_DEPTH_LIMIT)),
    _Setting("negotiationTimeout", "c2s", "negotiation_timeout", _integer(0)),
    _Setting(
        "maxUnauthenticatedPerAddress",
        "c2s",
        "max_unauthenticated_per_address",
        _integer(0),
    ),
    _Setting("rateLimit", "c2s", "rate_limit", _integer(0)),
    _Setting("rateBurst", "c2s", "rate_burst", _integer(1)),
    _Setting("resumeTimeout", "c2s", "resume_timeout", _integer(0)),
    _Setting("offlineLimit", "c2s", "offline_limit", _integer(0)),
    _Setting("vcardMaxSize", "c2s", "vcard_max_size", _integer(1024)),
    _Setting("mucCreateUnlocked", "muc", "create_unlocked", _boolean),
    _Setting("mucMaxRoomsPerAccount", "muc", "max_rooms_per_account", _integer(1)),
    _Setting("backendJids", "muc", "backend_jids", _jids),
    _Setting("pubsubMaxNodes", "pubsub", "max_nodes", _integer(1)),
    _Setting("pubsubMaxBytes", "pubsub", "max_bytes", _integer(1024)),
    _Setting("uploadDomain", "upload", "domain", _domain),
    _Setting("uploadMaxFileSize", "upload", "max_file_size", _integer(1)),
    _Setting("uploadQuota", "upload", "quota", _integer(0)),
    _Setting("uploadSlotLifetime", "upload", "slot_lifetime", _integer(1)),
    _Setting("uploadPublicURL", "upload", "public_url", _optionalURL),
    _Setting("componentsListen", "components", "listen", _optionalEndpoint),
    _Setting(
        "componentsConflict",
        "components",
        "conflict",
        _choice("refuse_new", "replace_old"),
    ),
    _Setting("componentConnect", "component", "connect", _optionalClientEndpoint),
    _Setting("componentSecret", "component", "secret", _optionalText),
    _Setting("archiveRetention", "archive", "retention", _duration),
    _Setting("archiveMaxMessages", "archive", "max_messages", _integer(1)),
    _Setting("archivePageSize", "archive", "page_size", _integer(1)),
    _Setting("archiveMaxPageSize", "archive", "max_page_size", _integer(1)),
    _Setting("verbose", "server", "verbose", _boolean),
)
_BY_NAME = {setting.name: setting for setting in _SETTINGS}
_BY_KEY = {(setting.section, setting.key): setting for setting in _SETTINGS}
_USERS = "users"
_COMPONENTS = "components"
_SECTIONS = {setting.section for setting in _SETTINGS} | {_USERS}


def _users(accounts: Mapping[str, Any]) -> Mapping[str, str]:
    """
    Nodeprep the usernames of C{[users]} and check the passwords.
    """
    result: Dict[str, str] = {}
    given: Dict[str, str] = {}
    for name, password in accounts.items():
        label = f"[users] {name}"
        try:
            if not isinstance(name, str):
                raise ValueError("not text")
            username = nodeprep.prepare(name.strip()).lower()
        except Exception as e:
            raise ConfigError(
                f"{label}: {name!r} is not a valid username ({_reason(e)})"
            )
        if not username:
            raise ConfigError(f"{label}: empty username")
        if username in result:
            raise ConfigError(
                f"{label}: the same username as [users] {given[username]}"
            )
        if not isinstance(password, str) or not password:
            raise ConfigError(f"{label}: empty password")
        result[username] = password
        given[username] = name
    return types.MappingProxyType(result)


def _components(secrets: Mapping[str, Any]) -> Mapping[str, str]:
    """
    Check the component names of C{[components]} (domains, as XEP-0114
    section 3 names a component by the C{to} of its stream header) and
    their secrets.
    """
    result: Dict[str, str] = {}
    given: Dict[str, str] = {}
    for name, secret in secrets.items():
        label = f"[{_COMPONENTS}] {name}"
        try:
            domain = _domain(name)
        except _Invalid as e:
            raise ConfigError(f"{label}: {e.args[0]}")
        if not domain:
            raise ConfigError(f"{label}: empty component name")
        if domain in result:
            raise ConfigError(
                f"{label}: the same component as [{_COMPONENTS}] {given[domain]}"
            )
        if not isinstance(secret, str) or not secret.strip():
            raise ConfigError(f"{label}: empty secret")
        result[domain] = secret.strip()
        given[domain] = name
    return types.MappingProxyType(result)


def _parserError(path: str, e: configparser.Error) -> ConfigError:
    """
    Turn a C{configparser} error, often several lines, into one line.
    """
    where = f"config file {path!r}"
    if isinstance(e, configparser.MissingSectionHeaderError):
        return ConfigError(
            f"{where}, line {e.lineno}: {e.line.strip()!r} is outside a section"
        )
    if isinstance(e, configparser.ParsingError):
        lineno, line = e.errors[0]
        try:
            # configparser stores each bad line as its repr().
            line = ast.literal_eval(line)
        except (ValueError, SyntaxError):
            pass
        return ConfigError(f"{where}, line {lineno}: cannot parse {line.strip()!r}")
    if isinstance(e, configparser.DuplicateSectionError):
        return ConfigError(f"{where}, line {e.lineno}: duplicate section [{e.section}]")
    if isinstance(e, configparser.DuplicateOptionError):
        return ConfigError(
            f"{where}, line {e.lineno}: duplicate setting [{e.section}] {e.option}"
        )
    return ConfigError(f"{where}: {_reason(e)}")


def _readFile(path: str) -> Dict[str, Any]:
    """
    Read an INI file into raw values keyed by L{Config} field name.

    @raise ConfigError: the file cannot be read or parsed, or names an
        unknown section or key.
    """
    parser = configparser.ConfigParser(
        interpolation=None,
        # No section may be called this, so [DEFAULT] is an unknown section.
        default_section="\0",
    )
    try:
        with open(path, encoding="utf-8") as f:
            parser.read_file(f, source=path)
    except OSError as e:
        raise ConfigError(
            f"cannot read config file {path!r}: {e.strerror or _reason(e)}"
        )
    except UnicodeDecodeError as e:
        raise ConfigError(
            f"cannot read config file {path!r}: not UTF-8 text ({_reason(e)})"
        )
    except configparser.Error as e:
        raise _parserError(path, e)

    raw: Dict[str, Any] = {}
    for section in parser.sections():
        if section == _USERS:
            raw["users"] = dict(parser.items(section))
            continue
        if section not in _SECTIONS:
            raise ConfigError(f"unknown section [{section}]")
        for key, value in parser.items(section):
            setting = _BY_KEY.get((section, key))
            if setting is None and section == _COMPONENTS:
                raw.setdefault("components", {})[key] = value
                continue
            if setting is None:
                raise ConfigError(f"unknown setting [{section}] {key}")
            raw[setting.name] = value
    return raw


def load(
    path: Optional[str] = None, overrides: Optional[Mapping[str, Any]] = None
) -> Config:
    """
    Build a validated L{Config}: defaults < the INI file < C{overrides}.

    @param path: the INI file to read, or L{None} for defaults only.
    @param overrides: L{Config} field names to values, either text as in
        the INI file or already typed (C{True}, C{1024}, a mapping for
        C{users} and for C{components}, a sequence for C{backendJids});
        L{None} means not given
        (to clear C{apiToken} or choose C{auto}, pass C{""} or C{"auto"}).
    @return: the configuration, with domains lowercased, usernames
        nodeprepped, and the MUC and upload domains derived from the
        domain unless set.
    @raise ConfigError: anything is wrong; its text is one line naming the
        setting.
    """
    raw: Dict[str, Any] = _readFile(path) if path is not None else {}
    for name, value in (overrides or {}).items():
        if name not in _BY_NAME and name not in ("users", "components"):
            raise ConfigError(f"unknown setting {name!r}")
        if value is not None:
            raw[name] = value
    if "domain" in raw and "mucDomain" not in raw:
        raw["mucDomain"] = "conference." + _text(raw["domain"])
    if "domain" in raw and "uploadDomain" not in raw:
        raw["uploadDomain"] = "upload." + _text(raw["domain"])

    values: Dict[str, Any] = {}
    for setting in _SETTINGS:
        if setting.name in raw:
            try:
                values[setting.name] = setting.convert(raw[setting.name])
            except _Invalid as e:
                raise ConfigError(f"{setting.label}: {e.args[0]}")
    if "users" in raw:
        if not isinstance(raw["users"], Mapping):
            raise ConfigError(f"[users]: {raw['users']!r} is not a mapping")
        values["users"] = _users(raw["users"])
    if "components" in raw:
        if not isinstance(raw["components"], Mapping):
            raise ConfigError(
                f"[{_COMPONENTS}]: {raw['components']!r} is not a mapping"
            )
        values["components"] = _components(raw["components"])
    config = Config(**values)

    if config.mucDomain == config.domain:
        raise ConfigError(
            f"[muc] domain: {config.mucDomain!r} is the same as [server] domain"
        )
    if config.uploadDomain in (config.domain, config.mucDomain):
        other = "[server]" if config.uploadDomain == config.domain else "[muc]"
        raise ConfigError(
            f"[upload] domain: {config.uploadDomain!r} is the same as {other} domain"
        )
    if config.apiToken is None and not loopbackOnly(config.httpListen):
        # DESIGN.md section 3: anyone who reaches the HTTP API reads real
        # JIDs, publishes as any room and may reset a memory server.
        raise ConfigError(
            f"[http] token: required, since [http] listen "
            f"{config.httpListen!r} is not on loopback only (set a token, or "
            "listen on 127.0.0.1)"
        )
    served = {
        config.domain: "[server] domain",
        config.mucDomain: "[muc] domain",
        config.uploadDomain: "[upload] domain",
    }
    for name in config.components:
        if name in served:
            raise ConfigError(
                f"[{_COMPONENTS}] {name}: {name!r} is the same as {served[name]}"
            )
    if config.archivePageSize > config.archiveMaxPageSize:
        raise ConfigError(
            f"[archive] page_size: {config.archivePageSize} is more than "
            f"[archive] max_page_size ({config.archiveMaxPageSize})"
        )
    if (config.tlsCertificate is None) != (config.tlsKey is None):
        given, missing = ("certificate", "key")
        if config.tlsCertificate is None:
            given, missing = missing, given
        raise ConfigError(
            f"[tls] {missing}: missing; set both certificate and key, or neither"
            f" ([tls] {given} is set)"
        )
    if (config.componentConnect is None) != (config.componentSecret is None):
        if config.componentSecret is None:
            raise ConfigError(
                "[component] secret: missing; running as a component "
                "([component] connect is set) needs the host's shared secret"
            )
        raise ConfigError(
            "[component] connect: missing; [component] secret is set, but not "
            "the host server's component port to connect to (e.g. tcp:127.0.0.1:5347)"
        )
    if config.componentMode and (config.componentsListen or config.components):
        raise ConfigError(
            "[components]: accepting components is for standalone mode, and "
            "mepserver runs as a component ([component] connect is set)"
        )
    return config
