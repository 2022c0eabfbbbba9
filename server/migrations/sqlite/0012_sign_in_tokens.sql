-- Single-use sign-in tokens (server/src/sign_in.rs): minted by an app's backend for one of its
-- end users (`user_id`), kept only as the SHA-256 hash of the token, good until `expires` (ms
-- since the epoch). The first pop-up request that presents one binds it to its flow
-- (`used_by`: the flow's request_id, by one conditional UPDATE) and moves `expires` to the
-- flow's deadline; the flow's result deletes it; expired rows are swept.
CREATE TABLE sign_in_tokens (
    token_hash TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    expires INTEGER NOT NULL,
    used_by TEXT
);
CREATE INDEX sign_in_tokens_by_expiry ON sign_in_tokens (expires);
-- The end user of the app whose sign-in token admitted the flow that connected the account.
ALTER TABLE accounts ADD COLUMN user_id TEXT;
