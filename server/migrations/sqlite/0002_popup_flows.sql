-- The pop-up flows tracked for the second channel (see server/src/progress.rs): where each is,
-- never a result. Times are milliseconds since the Unix epoch; a row whose `expires` has passed
-- counts for nothing and is swept.
CREATE TABLE popup_flows (
    request_id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    -- The client address the per-client quota counts (an IPv6 /64 as its prefix).
    client TEXT NOT NULL,
    -- 0: under way; 1: abandoned (closed on one of our pages); 2: returned to the app's page.
    stage INTEGER NOT NULL,
    returned_at INTEGER,
    expires INTEGER NOT NULL
);
CREATE INDEX popup_flows_by_client ON popup_flows (client, expires);
CREATE INDEX popup_flows_by_app ON popup_flows (client_id, expires);
CREATE INDEX popup_flows_by_expiry ON popup_flows (expires);
