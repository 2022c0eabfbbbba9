-- Organisation-wide accounts (server/src/providers/org/): the access token minted for each user
-- of the tenant acted as, sealed (server/src/secrets.rs), one row per (account, user).
-- `sealed` is NULL until the first token is saved; `version` is bumped on every save, so that
-- a mint saves its result only over the row it started from, and `refreshing_until` (ms since
-- the epoch) is the lease of the one caller minting now, across instances.
CREATE TABLE org_user_tokens (
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    user_email TEXT NOT NULL,
    sealed BLOB,
    version INTEGER NOT NULL DEFAULT 0,
    refreshing_until INTEGER,
    PRIMARY KEY (account_id, user_email)
);
