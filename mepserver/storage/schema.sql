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

-- RFC 6121 section 2.1.2; groups is a JSON array of strings.
CREATE TABLE IF NOT EXISTS roster_items (
    username TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    contact TEXT NOT NULL,
    name TEXT,
    subscription TEXT NOT NULL DEFAULT 'none'
        CHECK (subscription IN ('none', 'to', 'from', 'both')),
    ask INTEGER NOT NULL DEFAULT 0,
    groups TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (username, contact)
);

-- Inbound subscription requests not yet answered (RFC 6121 section 3.1.3).
CREATE TABLE IF NOT EXISTS pending_subscriptions (
    username TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    contact TEXT NOT NULL,
    PRIMARY KEY (username, contact)
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
