-- mepserver's SQLite schema.
--
-- Applied at every start (SQLiteStore.prepare), so every statement must be
-- idempotent: CREATE ... IF NOT EXISTS only. Connections run with
-- PRAGMA foreign_keys=ON, so removing a row of users or rooms cascades.
-- JIDs are stored as bare JID strings; booleans as 0/1.


-- Accounts of the client domain (RFC 6121) --------------------------------

CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY
);

-- Salted SCRAM keys, one row per mechanism (RFC 5802 section 3).
CREATE TABLE IF NOT EXISTS scram_keys (
    username TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    mechanism TEXT NOT NULL,
    salt BLOB NOT NULL,
    stored_key BLOB NOT NULL,
    server_key BLOB NOT NULL,
    iterations INTEGER NOT NULL,
    PRIMARY KEY (username, mechanism)
);

-- RFC 6121 section 2.1.2; groups is a JSON array of strings. approved is
-- a subscription pre-approval (section 3.4); files made before it get the
-- column from SQLiteStore (_ADDED_COLUMNS), since SQLite has no
-- ADD COLUMN IF NOT EXISTS.
CREATE TABLE IF NOT EXISTS roster_items (
    username TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    contact TEXT NOT NULL,
    name TEXT,
    subscription TEXT NOT NULL DEFAULT 'none'
        CHECK (subscription IN ('none', 'to', 'from', 'both')),
    ask INTEGER NOT NULL DEFAULT 0,
    groups TEXT NOT NULL DEFAULT '[]',
    approved INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (username, contact)
);

-- The roster version (RFC 6121 section 2.6): a counter incremented with
-- every change of the account's roster; no row is version 0. Not removed
-- with the account, whose removal increments it, so that a client's cached
-- version of a removed account never matches the roster of a new account
-- with the same name.
CREATE TABLE IF NOT EXISTS roster_versions (
    username TEXT PRIMARY KEY,
    version INTEGER NOT NULL
);

-- Inbound subscription requests not yet answered (RFC 6121 section 3.1.3).
CREATE TABLE IF NOT EXISTS pending_subscriptions (
    username TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    contact TEXT NOT NULL,
    PRIMARY KEY (username, contact)
);


-- Messages kept for accounts with no available resource (XEP-0160), in the
-- order stored (seq); stanza is the message as XML text, with its delay.
CREATE TABLE IF NOT EXISTS offline_messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    stanza TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS offline_messages_by_user
    ON offline_messages (username, seq);


-- Block lists (XEP-0191): entity is a full, bare or domain JID as given.
CREATE TABLE IF NOT EXISTS blocked_jids (
    username TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    entity TEXT NOT NULL,
    PRIMARY KEY (username, entity)
);

-- Private XML storage (XEP-0049): one element per qualified name of its
-- root (namespace, name), as XML text.
CREATE TABLE IF NOT EXISTS private_xml (
    username TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    xml TEXT NOT NULL,
    PRIMARY KEY (username, namespace, name)
);

-- vCards (XEP-0054): the <vCard xmlns='vcard-temp'/> element as XML text,
-- as the user last set it. A new table, so files made before it get it
-- from CREATE TABLE IF NOT EXISTS.
CREATE TABLE IF NOT EXISTS vcards (
    username TEXT PRIMARY KEY REFERENCES users (username) ON DELETE CASCADE,
    vcard TEXT NOT NULL
);

-- Persistent rooms of the MUC service (XEP-0045 section 10.2) -------------

-- config is a JSON object: muc#roomconfig_* field names without the prefix
-- mapped to strings, booleans, integers, null or arrays of strings.
CREATE TABLE IF NOT EXISTS rooms (
    jid TEXT PRIMARY KEY,
    config TEXT NOT NULL DEFAULT '{}',
    subject TEXT NOT NULL DEFAULT '',
    subject_by TEXT NOT NULL DEFAULT ''
);

-- XEP-0045 section 5.2; 'none' is the absence of a row. reason is the one
-- given with the affiliation (a ban's, say), or NULL.
CREATE TABLE IF NOT EXISTS room_affiliations (
    room TEXT NOT NULL REFERENCES rooms (jid) ON DELETE CASCADE,
    user TEXT NOT NULL,
    affiliation TEXT NOT NULL
        CHECK (affiliation IN ('owner', 'admin', 'member', 'outcast')),
    reason TEXT,
    PRIMARY KEY (room, user)
);

-- Registered nicknames (XEP-0045 section 7.10).
CREATE TABLE IF NOT EXISTS room_nicks (
    room TEXT NOT NULL REFERENCES rooms (jid) ON DELETE CASCADE,
    user TEXT NOT NULL,
    nick TEXT NOT NULL,
    PRIMARY KEY (room, user)
);


-- Publish-subscribe nodes and items (XEP-0060): PEP nodes of accounts and
-- the nodes of persistent MEP rooms, keyed by (service JID, NodeID). ------

-- config is a JSON object: pubsub#... field vars mapped to strings,
-- booleans or arrays of strings.
CREATE TABLE IF NOT EXISTS pubsub_nodes (
    service TEXT NOT NULL,
    node TEXT NOT NULL,
    config TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (service, node)
);

-- XEP-0060 section 4.1, other than the owner's; 'none' is the absence of
-- a row.
CREATE TABLE IF NOT EXISTS pubsub_affiliations (
    service TEXT NOT NULL,
    node TEXT NOT NULL,
    entity TEXT NOT NULL,
    affiliation TEXT NOT NULL,
    PRIMARY KEY (service, node, entity),
    FOREIGN KEY (service, node) REFERENCES pubsub_nodes (service, node)
        ON DELETE CASCADE
);

-- Explicit subscriptions (XEP-0060 section 6.1); subscriber is a bare or
-- full JID.
CREATE TABLE IF NOT EXISTS pubsub_subscriptions (
    service TEXT NOT NULL,
    node TEXT NOT NULL,
    subscriber TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'subscribed',
    PRIMARY KEY (service, node, subscriber),
    FOREIGN KEY (service, node) REFERENCES pubsub_nodes (service, node)
        ON DELETE CASCADE
);

-- Items in publish order (seq); payload is the payload element as XML
-- text, published an ISO 8601 UTC timestamp.
CREATE TABLE IF NOT EXISTS pubsub_items (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    service TEXT NOT NULL,
    node TEXT NOT NULL,
    id TEXT NOT NULL,
    payload TEXT,
    publisher TEXT NOT NULL,
    published TEXT NOT NULL,
    UNIQUE (service, node, id),
    FOREIGN KEY (service, node) REFERENCES pubsub_nodes (service, node)
        ON DELETE CASCADE
);


-- Message archives (XEP-0313) ----------------------------------------------

-- One table for every archive, an account's or a room's, named by its bare
-- JID. seq is the archive order (section 2.1) and never reused
-- (AUTOINCREMENT); id the archive UID (the XEP-0359 stanza-id); stamp the
-- time in seconds since the epoch; with_full the JID a 'with' filter
-- matches and with_bare its bare part (section 4.1.1); stanza the message
-- as XML text.
CREATE TABLE IF NOT EXISTS archive_messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    archive TEXT NOT NULL,
    id TEXT NOT NULL,
    stamp REAL NOT NULL,
    with_full TEXT NOT NULL,
    with_bare TEXT NOT NULL,
    stanza TEXT NOT NULL,
    UNIQUE (archive, id)
);

CREATE INDEX IF NOT EXISTS archive_messages_by_archive
    ON archive_messages (archive, seq);

CREATE INDEX IF NOT EXISTS archive_messages_by_with
    ON archive_messages (archive, with_bare, seq);

-- Archive preferences (XEP-0441): always and never are JSON arrays of bare
-- JIDs.
CREATE TABLE IF NOT EXISTS archive_prefs (
    archive TEXT PRIMARY KEY,
    default_behaviour TEXT NOT NULL
        CHECK (default_behaviour IN ('always', 'never', 'roster')),
    always TEXT NOT NULL DEFAULT '[]',
    never TEXT NOT NULL DEFAULT '[]'
);
