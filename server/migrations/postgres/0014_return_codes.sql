-- One-time codes for results brought back to an app's registered return page
-- (server/src/returns.rs): only the SHA-256 hash of the code, the flow it belongs to (app,
-- request id and the page's origin, all of which the redeeming request must match), the
-- result message sealed with the server's secret key, and `expires` (ms since the epoch, a
-- few seconds after it was minted). Redeeming deletes the row; expired rows are swept.
CREATE TABLE return_codes (
    code_hash TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    request_id TEXT NOT NULL,
    origin TEXT NOT NULL,
    sealed BYTEA NOT NULL,
    expires BIGINT NOT NULL
);
CREATE INDEX return_codes_by_expiry ON return_codes (expires);
