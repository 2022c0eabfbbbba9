//! The outbox of what happened to an app's accounts ([`crate::events`]): each event is added by
//! [`record_event!`] inside the transaction of the change it reports, so that a crash neither
//! loses one nor invents one; then claimed by an instance's sender under a lease, one attempt
//! at a time, in order per account.

use super::{Error, Store, in_transaction, on_pool};
use crate::clock::now_millis;
use serde_json::json;

/// What happened to an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// A new account was connected.
    Connected,
    /// An account was connected again (the same account id, active again).
    Reconnected,
    /// A refresh of its tokens failed, the first of a run of failures (the provider's error
    /// code in the event).
    RefreshFailed,
    /// A refresh succeeded after failures.
    Recovered,
    /// The account stopped working (its reason in the event).
    Inactive,
    /// The account was deleted (by the app, or by its upstream's revocation notice:
    /// [`crate::accounts::revocations`]).
    Deleted,
    /// An API-key or basic account's credential stopped working: the upstream refused a call
    /// and the account's check then failed too ([`crate::accounts::recheck`]). The account is
    /// inactive (its reason in the event); no `account.inactive` is added besides.
    CredentialsInvalid,
}

impl EventKind {
    /// Every kind.
    pub const ALL: [EventKind; 7] = [
        EventKind::Connected,
        EventKind::Reconnected,
        EventKind::RefreshFailed,
        EventKind::Recovered,
        EventKind::Inactive,
        EventKind::Deleted,
        EventKind::CredentialsInvalid,
    ];

    /// Its `type` in the API and the webhook's body.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Connected => "account.connected",
            EventKind::Reconnected => "account.reconnected",
            EventKind::RefreshFailed => "account.refresh_failed",
            EventKind::Recovered => "account.recovered",
            EventKind::Inactive => "account.inactive",
            EventKind::Deleted => "account.deleted",
            EventKind::CredentialsInvalid => "credentials.invalid",
        }
    }
}

/// Adds the event `$kind` (an [`EventKind`]) of the account `$account_id`, with its `$reason`
/// (an `Option<&str>`), to the outbox in the transaction `$tx`: its payload is the account as it
/// is in that transaction. Nothing is added for an account that does not exist.
macro_rules! record_event {
    ($tx:ident, $kind:expr, $account_id:expr, $reason:expr) => {{
        let query = format!("{} WHERE id = $1", $crate::store::account::ACCOUNT_COLUMNS);
        let row: Option<$crate::store::account::AccountRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(query)).bind($account_id).fetch_optional(&mut *$tx).await?;
        if let Some(row) = row {
            let account = $crate::store::Account::from(row);
            sqlx::query($crate::store::events::INSERT_EVENT)
                .bind(&account.client_id)
                .bind(account.id)
                .bind($kind.as_str())
                .bind($crate::clock::now_millis())
                .bind($crate::store::events::payload(&account, $reason))
                .execute(&mut *$tx)
                .await?;
        }
    }};
}
pub(crate) use record_event;

/// Adds an event: its app, account, type, time and payload; due at once.
pub(super) const INSERT_EVENT: &str = "INSERT INTO events (client_id, account_id, type, created, payload, next_attempt) VALUES ($1, $2, $3, $4, $5, $4)";

/// The columns an [`Event`] is read from.
const EVENT_COLUMNS: &str =
    "id, client_id, account_id, type AS kind, created, payload, state, attempts, last_error";

/// An event's payload: the account as it was, and the reason where there is one.
pub(super) fn payload(account: &super::Account, reason: Option<&str>) -> String {
    json!({ "account": account, "reason": reason }).to_string()
}

/// An event in the outbox.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct Event {
    /// Its id: increasing, the cursor of `GET /v1/events?after=`.
    pub id: i64,
    /// The app whose account it is.
    pub client_id: String,
    /// The account.
    pub account_id: i64,
    /// Its type ([`EventKind::as_str`]).
    pub kind: String,
    /// When it happened (ms since the epoch).
    pub created: i64,
    /// `{"account": …, "reason": …}`: the account as it was ([`super::Account`]'s fields).
    pub payload: String,
    /// `pending`, `delivered`, `failed` (given up, the reason in `last_error`) or `skipped` (a
    /// type the app's webhook does not want).
    pub state: String,
    /// How many times it was sent.
    pub attempts: i64,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<String>,
}

/// What an attempt to deliver an event leads to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterAttempt {
    /// The receiver took it.
    Delivered,
    /// Try again at this time (ms since the epoch).
    RetryAt(i64),
    /// Give up: the receiver refused it, or it was tried for long enough.
    Failed,
    /// Not sent: the app's webhook does not want this type.
    Skipped,
}

/// One attempt to deliver an event.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct Delivery {
    /// The attempt's id.
    pub id: i64,
    /// The event sent.
    pub event_id: i64,
    /// The event's type.
    pub kind: String,
    /// When it was sent (ms since the epoch).
    pub attempted: i64,
    /// The receiver's HTTP status, if it answered.
    pub status: Option<i64>,
    /// What went wrong, if anything.
    pub error: Option<String>,
}

impl Store {
    /// Up to `limit` events of the app `client_id` after the event `after`, oldest first.
    pub async fn app_events(&self, client_id: &str, after: i64, limit: i64) -> Result<Vec<Event>, Error> {
        let query = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE client_id = $1 AND id > $2 ORDER BY id LIMIT $3"
        );
        Ok(on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(query))
                .bind(client_id)
                .bind(after)
                .bind(limit)
                .fetch_all(pool)
                .await?
        }))
    }

    /// Leases until `until` up to `limit` of the app's events due at `now`, oldest first: each
    /// the earliest pending one of its account (a later one waits), none leased by another
    /// instance. A compare-and-swap on the lease, so one instance at a time sends an event; on
    /// PostgreSQL the rows another instance is claiming are skipped (`FOR UPDATE SKIP LOCKED`).
    /// The earliest of an account is found by a correlated `MIN` on `events_pending` (a
    /// `NOT EXISTS` let PostgreSQL, before it had analyzed a freshly filled table, pick a plan
    /// that took 0.8 s per claim among 2,000 pending events; this one, 8 ms).
    pub async fn claim_events(
        &self,
        client_id: &str,
        now: i64,
        until: i64,
        limit: i64,
    ) -> Result<Vec<Event>, Error> {
        let lock = if self.is_postgres() { " FOR UPDATE SKIP LOCKED" } else { "" };
        let query = format!(
            "UPDATE events SET leased_until = $3
             WHERE id IN (SELECT e.id FROM events e
                 WHERE e.client_id = $1 AND e.state = 'pending' AND e.next_attempt <= $2
                   AND (e.leased_until IS NULL OR e.leased_until <= $2)
                   AND e.id = (SELECT MIN(p.id) FROM events p WHERE p.client_id = e.client_id
                       AND p.state = 'pending' AND p.account_id = e.account_id)
                 ORDER BY e.id LIMIT $4{lock})
               AND (leased_until IS NULL OR leased_until <= $2)
             RETURNING {EVENT_COLUMNS}"
        );
        let mut events: Vec<Event> = on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(query))
                .bind(client_id)
                .bind(now)
                .bind(until)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        events.sort_by_key(|event| event.id);
        Ok(events)
    }

    /// Records an attempt to deliver the event `id` leased until `lease` (the receiver's
    /// `status` or the `error`) and what follows, and gives up the lease, in one transaction.
    /// Returns false, recording nothing, when the lease was lost (another instance took over).
    pub async fn finish_attempt(
        &self,
        id: i64,
        lease: i64,
        status: Option<u16>,
        error: Option<&str>,
        after: AfterAttempt,
    ) -> Result<bool, Error> {
        let now = now_millis();
        let (state, next) = match after {
            AfterAttempt::Delivered => ("delivered", now),
            AfterAttempt::RetryAt(at) => ("pending", at),
            AfterAttempt::Failed => ("failed", now),
            AfterAttempt::Skipped => ("skipped", now),
        };
        let sent = after != AfterAttempt::Skipped;
        Ok(in_transaction!(self, tx => {
            let updated = sqlx::query(
                "UPDATE events SET state = $3, next_attempt = $4, attempts = attempts + $5, last_error = $6,
                   leased_until = NULL WHERE id = $1 AND leased_until = $2",
            )
            .bind(id)
            .bind(lease)
            .bind(state)
            .bind(next)
            .bind(i64::from(sent))
            .bind(error)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if updated && sent {
                sqlx::query(
                    "INSERT INTO webhook_deliveries (event_id, client_id, attempted, status, error)
                     SELECT id, client_id, $2, $3, $4 FROM events WHERE id = $1",
                )
                .bind(id)
                .bind(now)
                .bind(status.map(i64::from))
                .bind(error)
                .execute(&mut *tx)
                .await?;
            }
            updated
        }))
    }

    /// Makes the app's event `id` due again at once, its attempts counted afresh. Returns
    /// whether the app has it.
    pub async fn redeliver(&self, client_id: &str, id: i64) -> Result<bool, Error> {
        Ok(on_pool!(self, pool => {
            sqlx::query(
                "UPDATE events SET state = 'pending', next_attempt = $3, attempts = 0, last_error = NULL
                 WHERE id = $1 AND client_id = $2",
            )
            .bind(id)
            .bind(client_id)
            .bind(now_millis())
            .execute(pool)
            .await?
            .rows_affected()
                == 1
        }))
    }

    /// The app's last `limit` delivery attempts, the latest first.
    pub async fn deliveries(&self, client_id: &str, limit: i64) -> Result<Vec<Delivery>, Error> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT d.id, d.event_id, e.type AS kind, d.attempted, d.status, d.error
                 FROM webhook_deliveries d JOIN events e ON e.id = d.event_id
                 WHERE d.client_id = $1 ORDER BY d.id DESC LIMIT $2",
            )
            .bind(client_id)
            .bind(limit)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Deletes the events (and their attempts) that happened before `before` (ms); returns how
    /// many.
    pub async fn sweep_events(&self, before: i64) -> Result<u64, Error> {
        Ok(in_transaction!(self, tx => {
            sqlx::query("DELETE FROM webhook_deliveries WHERE event_id IN (SELECT id FROM events WHERE created < $1)")
                .bind(before)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM events WHERE created < $1").bind(before).execute(&mut *tx).await?.rows_affected()
        }))
    }
}
