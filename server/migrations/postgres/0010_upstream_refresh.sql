-- Keeping upstream tokens fresh (server/src/refresh.rs): `version` is bumped on every write of
-- the sealed tokens, so that a refresh saves its result only over the tokens it refreshed
-- (compare-and-swap); `refreshing_until` (ms since the epoch) is the lease of the one instance
-- refreshing them now. An account whose grant the upstream refused (invalid_grant) gets an
-- `inactive_reason` and is no longer refreshed; NULL means active.
ALTER TABLE upstream_credentials ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE upstream_credentials ADD COLUMN refreshing_until BIGINT;
ALTER TABLE accounts ADD COLUMN inactive_reason TEXT;
