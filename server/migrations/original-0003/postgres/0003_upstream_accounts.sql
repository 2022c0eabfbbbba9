-- Accounts connected through an upstream provider (server/src/broker.rs): the upstream's stable
-- id of the user (`subject`; NULL for the demo provider's accounts, whose name is their key),
-- when the account was last connected again, and its upstream tokens, sealed with the server's
-- secret key (server/src/secrets.rs), never in plaintext.
ALTER TABLE accounts ADD COLUMN subject TEXT;
ALTER TABLE accounts ADD COLUMN modified TEXT;
CREATE UNIQUE INDEX accounts_by_subject ON accounts (client_id, service, subject);
CREATE TABLE upstream_credentials (
    account_id BIGINT PRIMARY KEY REFERENCES accounts(id),
    sealed BYTEA NOT NULL,
    modified TEXT NOT NULL DEFAULT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
);
-- The pop-up requests waiting at an upstream: our single-use state (its SHA-256 hash), the
-- request's parameters and the PKCE verifier (sealed), until `expires` (ms since the epoch).
CREATE TABLE upstream_states (
    state_hash TEXT PRIMARY KEY,
    sealed BYTEA NOT NULL,
    expires BIGINT NOT NULL
);
CREATE INDEX upstream_states_by_expiry ON upstream_states (expires);
