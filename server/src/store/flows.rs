//! The pop-up flows tracked for the second channel (the state behind [`crate::popup::progress`]), and
//! their per-client and per-app quotas, which hold across instances: a flow is counted and
//! inserted in one transaction that holds, on PostgreSQL, a transaction-scoped advisory lock
//! on its client and then on its app (always in that order, so two never wait on each other),
//! and on SQLite the database's write lock. Times are milliseconds since the Unix epoch.

use super::{Error, Store, in_transaction, on_pool};
use sha2::{Digest, Sha256};

/// Where a tracked flow is (the `stage` column).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Stage {
    /// The user is in the pop-up.
    UnderWay,
    /// The user closed the pop-up on one of this server's pages.
    Abandoned,
    /// The result page sent the result back to the app's page at this time (ms).
    Returned(i64),
}

const UNDER_WAY: i32 = 0;
const ABANDONED: i32 = 1;
const RETURNED: i32 = 2;

/// Which quota a flow did not fit in.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Full {
    /// The client address's.
    Client,
    /// The app's.
    App,
}

/// A new flow: its ids, the client address its quota counts, and its limits.
#[derive(Clone, Copy, Debug)]
pub struct NewFlow<'a> {
    /// The flow's `request_id`.
    pub request_id: &'a str,
    /// The app.
    pub client_id: &'a str,
    /// The client address, as the per-client quota counts it.
    pub client: &'a str,
    /// The SHA-256 of the binding cookie of the browser the flow runs in.
    pub browser: &'a str,
    /// The most flows tracked at once for one client.
    pub max_per_client: i64,
    /// The most flows tracked at once for one app.
    pub max_per_app: i64,
}

/// A transaction-scoped PostgreSQL advisory lock key for `what`.
fn lock_key(what: &str) -> i64 {
    let digest = Sha256::digest(what.as_bytes());
    i64::from_be_bytes(digest[..8].try_into().unwrap_or_default())
}

impl Store {
    /// Tracks `flow` until `expires`, unless it is tracked already (then, when it is the same
    /// app's and browser's, it is under way again until `expires`: a reload) or a quota is
    /// full. The first app and browser to open a request id keep it while it is tracked.
    pub async fn open_flow(
        &self,
        flow: NewFlow<'_>,
        now: i64,
        expires: i64,
    ) -> Result<Result<(), Full>, Error> {
        let postgres = self.is_postgres();
        Ok(in_transaction!(self, tx => {
            if postgres {
                for key in [format!("popup_flows client {}", flow.client), format!("popup_flows app {}", flow.client_id)] {
                    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(lock_key(&key)).execute(&mut *tx).await?;
                }
            }
            let existing: Option<(String, Option<String>, i64)> =
                sqlx::query_as("SELECT client_id, browser, expires FROM popup_flows WHERE request_id = $1")
                    .bind(flow.request_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            match existing {
                Some((owner, browser, until)) if until > now => {
                    if owner == flow.client_id && browser.as_deref() == Some(flow.browser) {
                        sqlx::query(
                            "UPDATE popup_flows SET stage = $2, returned_at = NULL, expires = $3
                             WHERE request_id = $1",
                        )
                        .bind(flow.request_id)
                        .bind(UNDER_WAY)
                        .bind(expires)
                        .execute(&mut *tx)
                        .await?;
                    }
                    Ok(())
                }
                _ => {
                    let (per_client,): (i64,) =
                        sqlx::query_as("SELECT COUNT(*) FROM popup_flows WHERE client = $1 AND expires > $2")
                            .bind(flow.client)
                            .bind(now)
                            .fetch_one(&mut *tx)
                            .await?;
                    let (per_app,): (i64,) =
                        sqlx::query_as("SELECT COUNT(*) FROM popup_flows WHERE client_id = $1 AND expires > $2")
                            .bind(flow.client_id)
                            .bind(now)
                            .fetch_one(&mut *tx)
                            .await?;
                    if per_client >= flow.max_per_client {
                        Err(Full::Client)
                    } else if per_app >= flow.max_per_app {
                        Err(Full::App)
                    } else {
                        // An expired row of the same id goes; nothing else can hold the id.
                        sqlx::query(
                            "INSERT INTO popup_flows (request_id, client_id, client, stage, expires, browser)
                             VALUES ($1, $2, $3, $4, $5, $7)
                             ON CONFLICT (request_id) DO UPDATE SET client_id = excluded.client_id,
                                 client = excluded.client, stage = excluded.stage, returned_at = NULL,
                                 expires = excluded.expires, browser = excluded.browser
                             WHERE popup_flows.expires <= $6",
                        )
                        .bind(flow.request_id)
                        .bind(flow.client_id)
                        .bind(flow.client)
                        .bind(UNDER_WAY)
                        .bind(expires)
                        .bind(now)
                        .bind(flow.browser)
                        .execute(&mut *tx)
                        .await?;
                        Ok(())
                    }
                }
            }
        }))
    }

    /// The result page of the flow was served at `now` in the browser `browser`: its result is
    /// on its way back to the app's page; the flow is kept until `expires`. Only the flow's own
    /// browser marks it.
    pub async fn flow_returned(
        &self,
        request_id: &str,
        client_id: &str,
        browser: &str,
        now: i64,
        expires: i64,
    ) -> Result<(), Error> {
        on_pool!(self, pool => {
            sqlx::query(
                "UPDATE popup_flows SET stage = $3, returned_at = $4, expires = $5
                 WHERE request_id = $1 AND client_id = $2 AND expires > $4 AND browser = $6",
            )
            .bind(request_id)
            .bind(client_id)
            .bind(RETURNED)
            .bind(now)
            .bind(expires)
            .bind(browser)
            .execute(pool)
            .await
            .map(drop)?
        });
        Ok(())
    }

    /// The flow was abandoned, if it is under way.
    pub async fn abandon_flow(&self, request_id: &str, now: i64) -> Result<(), Error> {
        on_pool!(self, pool => {
            sqlx::query("UPDATE popup_flows SET stage = $2 WHERE request_id = $1 AND stage = $3 AND expires > $4")
                .bind(request_id)
                .bind(ABANDONED)
                .bind(UNDER_WAY)
                .bind(now)
                .execute(pool)
                .await
                .map(drop)?
        });
        Ok(())
    }

    /// Where the flow `request_id` of app `client_id` is, if it is tracked.
    pub async fn flow_stage(
        &self,
        request_id: &str,
        client_id: &str,
        now: i64,
    ) -> Result<Option<Stage>, Error> {
        let row: Option<(i32, Option<i64>)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT stage, returned_at FROM popup_flows
                 WHERE request_id = $1 AND client_id = $2 AND expires > $3",
            )
            .bind(request_id)
            .bind(client_id)
            .bind(now)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(|(stage, returned_at)| match (stage, returned_at) {
            (RETURNED, Some(at)) => Stage::Returned(at),
            (ABANDONED, _) => Stage::Abandoned,
            _ => Stage::UnderWay,
        }))
    }

    /// How many flows are tracked at `now`.
    pub async fn tracked_flows(&self, now: i64) -> Result<i64, Error> {
        let (count,): (i64,) = on_pool!(self, pool => {
            sqlx::query_as("SELECT COUNT(*) FROM popup_flows WHERE expires > $1").bind(now).fetch_one(pool).await?
        });
        Ok(count)
    }

    /// Deletes the flows expired at `now`; returns how many.
    pub async fn sweep_flows(&self, now: i64) -> Result<u64, Error> {
        Ok(on_pool!(self, pool => {
            sqlx::query("DELETE FROM popup_flows WHERE expires <= $1").bind(now).execute(pool).await?.rows_affected()
        }))
    }
}
