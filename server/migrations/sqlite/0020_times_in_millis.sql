-- Every time is kept one way: milliseconds since the Unix epoch, written by the server
-- (server/src/clock.rs), never defaulted by the database. `accounts.created`,
-- `accounts.modified`, `tokens.created` and `upstream_credentials.modified` were RFC 3339 text
-- with a database default; they become integers, existing rows converted. SQLite cannot change
-- a column's type, so the three tables are rebuilt: the new children first refer to the new
-- `accounts`, and renaming it carries their references along, with foreign keys on throughout.
-- `accounts.admin` is declared BOOLEAN, as in PostgreSQL (the same 0 and 1 are stored), and
-- `refreshed_at` loses its default, now that the server always writes it.
CREATE TABLE accounts_new (
    id INTEGER PRIMARY KEY,
    client_id TEXT NOT NULL,
    service TEXT NOT NULL,
    name TEXT NOT NULL,
    admin BOOLEAN NOT NULL,
    created INTEGER NOT NULL,
    subject TEXT,
    login TEXT,
    modified INTEGER,
    inactive_reason TEXT,
    user_id TEXT,
    UNIQUE (client_id, service, name)
);
INSERT INTO accounts_new (id, client_id, service, name, admin, created, subject, login, modified, inactive_reason, user_id)
SELECT id, client_id, service, name, admin, CAST(strftime('%s', created) AS INTEGER) * 1000, subject, login,
       CAST(strftime('%s', modified) AS INTEGER) * 1000, inactive_reason, user_id
FROM accounts;
CREATE TABLE tokens_new (
    hash TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts_new(id),
    client_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    created INTEGER NOT NULL
);
INSERT INTO tokens_new (hash, account_id, client_id, scope, created)
SELECT hash, account_id, client_id, scope, CAST(strftime('%s', created) AS INTEGER) * 1000 FROM tokens;
CREATE TABLE upstream_credentials_new (
    account_id INTEGER PRIMARY KEY REFERENCES accounts_new(id),
    sealed BLOB NOT NULL,
    modified INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 0,
    refreshing_until INTEGER,
    refreshed_at INTEGER NOT NULL,
    refreshable BOOLEAN NOT NULL DEFAULT TRUE
);
INSERT INTO upstream_credentials_new (account_id, sealed, modified, version, refreshing_until, refreshed_at, refreshable)
SELECT account_id, sealed, CAST(strftime('%s', modified) AS INTEGER) * 1000, version, refreshing_until, refreshed_at,
       refreshable
FROM upstream_credentials;
DROP TABLE tokens;
DROP TABLE upstream_credentials;
DROP TABLE accounts;
ALTER TABLE accounts_new RENAME TO accounts;
ALTER TABLE tokens_new RENAME TO tokens;
ALTER TABLE upstream_credentials_new RENAME TO upstream_credentials;
CREATE UNIQUE INDEX accounts_by_subject ON accounts (client_id, service, subject);
CREATE INDEX upstream_credentials_by_refreshed_at ON upstream_credentials (refreshed_at, account_id);
