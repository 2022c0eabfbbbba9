-- The upstreams' revocation notices acted on (server/src/accounts/revocations.rs), by provider
-- and the notice's own id (GitHub's X-GitHub-Delivery, Slack's event_id), so that a notice sent
-- again deletes nothing a second time. `received`: ms since the epoch; swept with the events.
CREATE TABLE revocation_notices (
    service TEXT NOT NULL,
    notice_id TEXT NOT NULL,
    received BIGINT NOT NULL,
    PRIMARY KEY (service, notice_id)
);
CREATE INDEX revocation_notices_received ON revocation_notices (received);
-- A notice names an upstream user: the accounts of that user at that provider, in every app.
CREATE INDEX accounts_by_service_subject ON accounts (service, subject);
