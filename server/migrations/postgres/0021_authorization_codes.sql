-- The code flow's authorization codes (server/src/code_flow/): only the SHA-256 hash of the
-- code; what it is bound to (the app, the redirect URI, the account and the PKCE
-- code_challenge, if any); the token it gives, sealed with the server's secret key, and that
-- token's hash (to revoke it when the code is used twice); whether it was used; and `expires`
-- (ms since the epoch, 60 s after it was minted). A used row is kept a while to recognise a
-- second use; expired rows are swept, the unused ones' tokens revoked with them.
CREATE TABLE authorization_codes (
    code_hash TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    account_id BIGINT NOT NULL,
    code_challenge TEXT,
    token_hash TEXT NOT NULL,
    sealed_token BYTEA NOT NULL,
    used BOOLEAN NOT NULL,
    expires BIGINT NOT NULL
);
CREATE INDEX authorization_codes_by_expiry ON authorization_codes (expires);
