-- What happened to an app's accounts (server/src/events/): each event written in the transaction
-- of the change it reports (the outbox), sent to the app's webhook by any instance and kept for
-- GET /v1/events. `payload`: the JSON text of the account as it was and the reason. Delivery:
-- `state` pending | delivered | failed | skipped, the next attempt's time and the lease of the
-- instance sending it (ms since the epoch).
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id TEXT NOT NULL,
    account_id INTEGER NOT NULL,
    type TEXT NOT NULL,
    created INTEGER NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL,
    leased_until INTEGER,
    last_error TEXT
);
CREATE INDEX events_of_app ON events (client_id, id);
CREATE INDEX events_pending ON events (client_id, state, account_id, id);
-- Every attempt to deliver an event: GET /v1/webhook/deliveries.
CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    attempted INTEGER NOT NULL,
    status INTEGER,
    error TEXT
);
CREATE INDEX webhook_deliveries_of_app ON webhook_deliveries (client_id, id);
CREATE INDEX webhook_deliveries_of_event ON webhook_deliveries (event_id);
