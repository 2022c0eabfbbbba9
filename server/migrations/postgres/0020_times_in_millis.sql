-- Every time is kept one way: milliseconds since the Unix epoch, written by the server
-- (server/src/clock.rs), never defaulted by the database. `accounts.created`,
-- `accounts.modified`, `tokens.created` and `upstream_credentials.modified` were RFC 3339 text
-- with a database default; they become integers, existing rows converted. `refreshed_at` loses
-- its default, now that the server always writes it.
ALTER TABLE accounts ALTER COLUMN created DROP DEFAULT;
ALTER TABLE accounts ALTER COLUMN created TYPE BIGINT
    USING (EXTRACT(EPOCH FROM created::timestamptz) * 1000)::BIGINT;
ALTER TABLE accounts ALTER COLUMN modified TYPE BIGINT
    USING (EXTRACT(EPOCH FROM modified::timestamptz) * 1000)::BIGINT;
ALTER TABLE tokens ALTER COLUMN created DROP DEFAULT;
ALTER TABLE tokens ALTER COLUMN created TYPE BIGINT
    USING (EXTRACT(EPOCH FROM created::timestamptz) * 1000)::BIGINT;
ALTER TABLE upstream_credentials ALTER COLUMN modified DROP DEFAULT;
ALTER TABLE upstream_credentials ALTER COLUMN modified TYPE BIGINT
    USING (EXTRACT(EPOCH FROM modified::timestamptz) * 1000)::BIGINT;
ALTER TABLE upstream_credentials ALTER COLUMN refreshed_at DROP DEFAULT;
