-- Refresh health and cooldown (server/src/accounts/refresh.rs): after a refresh the provider
-- refused for any reason but invalid_grant (which makes the account inactive at once), the
-- account's last error (the provider's OAuth error code and description), when it failed
-- (`refresh_failed_at`, ms since the epoch), since when it has failed without a success in
-- between (`refresh_failing_since`) and how many times (`refresh_failures`); until
-- `refresh_retry_at` (ms) no instance calls the provider again for it: callers get that
-- error. A successful refresh or a new connection clears them.
ALTER TABLE upstream_credentials ADD COLUMN refresh_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE upstream_credentials ADD COLUMN refresh_error TEXT;
ALTER TABLE upstream_credentials ADD COLUMN refresh_error_description TEXT;
ALTER TABLE upstream_credentials ADD COLUMN refresh_failed_at INTEGER;
ALTER TABLE upstream_credentials ADD COLUMN refresh_failing_since INTEGER;
ALTER TABLE upstream_credentials ADD COLUMN refresh_retry_at INTEGER;
-- A denial the provider redirects without our state (server/src/broker/stateless.rs) ends the
-- one flow open at that provider in that browser: the pending request's provider and the
-- SHA-256 of its browser's binding cookie (NULL in rows made before) find it.
ALTER TABLE upstream_states ADD COLUMN service TEXT;
ALTER TABLE upstream_states ADD COLUMN browser TEXT;
CREATE INDEX upstream_states_by_browser ON upstream_states (browser, service);
