-- The background sweep keeping idle accounts' grants alive (server/src/keep_alive.rs):
-- `refreshed_at` (ms since the epoch) is when the upstream last issued the stored tokens —
-- the account connected, or its tokens refreshed — (existing rows: their `modified` time);
-- `refreshable` is whether they include a refresh token (an OAuth account; not an API-key or
-- basic account, nor a provider that issued no refresh token). The sweep picks refreshable,
-- active accounts by `refreshed_at`, oldest first.
ALTER TABLE upstream_credentials ADD COLUMN refreshed_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE upstream_credentials ADD COLUMN refreshable BOOLEAN NOT NULL DEFAULT TRUE;
UPDATE upstream_credentials SET refreshed_at = CAST(strftime('%s', modified) AS INTEGER) * 1000;
CREATE INDEX upstream_credentials_by_refreshed_at ON upstream_credentials (refreshed_at, account_id);
