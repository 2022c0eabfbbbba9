//! An account's refresh health: the last refresh its provider refused (other than
//! `invalid_grant`), since when refreshes have failed and how many times, and the cooldown
//! before the provider is asked again — kept with the account's upstream tokens, so that every
//! instance sharing the database holds the same cooldown ([`crate::accounts::refresh`]).

use super::events::{EventKind, record_event};
use super::{Error, Store, in_transaction};

/// An account's refresh health; the default is a healthy account (no failure since its last
/// successful refresh or connection).
#[derive(Clone, Debug, Default, PartialEq, sqlx::FromRow)]
pub struct Health {
    /// Refreshes failed in a row since the last success.
    #[sqlx(rename = "refresh_failures")]
    pub failures: i64,
    /// The last failure's OAuth error code (`invalid_client`, `server_error`,
    /// `temporarily_unavailable`, …).
    #[sqlx(rename = "refresh_error")]
    pub last_error: Option<String>,
    /// The last failure's description, as the provider gave it (cleaned) or as this server
    /// describes it.
    #[sqlx(rename = "refresh_error_description")]
    pub last_error_description: Option<String>,
    /// When the last failure happened (ms since the epoch).
    #[sqlx(rename = "refresh_failed_at")]
    pub failed_at: Option<i64>,
    /// When the first failure of this run happened (ms since the epoch).
    #[sqlx(rename = "refresh_failing_since")]
    pub failing_since: Option<i64>,
    /// Until when (ms since the epoch) the provider is not asked again: the cooldown.
    #[sqlx(rename = "refresh_retry_at")]
    pub retry_at: Option<i64>,
}

/// The columns of [`Health`], for the queries that read it with the tokens.
pub(super) const HEALTH_COLUMNS: &str = "c.refresh_failures, c.refresh_error, c.refresh_error_description, \
     c.refresh_failed_at, c.refresh_failing_since, c.refresh_retry_at";

/// The assignments that make an account healthy again (a refresh succeeded, or the account was
/// connected again).
pub(super) const HEALTHY: &str = "refresh_failures = 0, refresh_error = NULL, refresh_error_description = NULL, \
     refresh_failed_at = NULL, refresh_failing_since = NULL, refresh_retry_at = NULL";

/// A refresh the provider refused, to record.
#[derive(Clone, Copy, Debug)]
pub struct RefreshFailure<'a> {
    /// Its OAuth error code.
    pub code: &'a str,
    /// Its description.
    pub description: &'a str,
    /// When it failed (ms since the epoch).
    pub at: i64,
    /// Until when (ms) the provider is not asked again.
    pub retry_at: i64,
}

impl Store {
    /// Records a refused refresh of the tokens at `version` and gives up the refresh lease, in
    /// one transaction: one more failure in a row, its error, and the cooldown until
    /// `failure.retry_at`; the first failure of a run adds `account.refresh_failed` (with the
    /// error code) to the outbox. Returns whether the tokens were still at `version` (else
    /// another instance saved new ones meanwhile, and nothing is recorded).
    pub async fn record_refresh_failure(
        &self,
        account_id: i64,
        version: i64,
        failure: &RefreshFailure<'_>,
    ) -> Result<bool, Error> {
        Ok(in_transaction!(self, tx => {
            let failures: Option<(i64,)> = sqlx::query_as(
                "UPDATE upstream_credentials SET refreshing_until = NULL,
                        refresh_failures = refresh_failures + 1, refresh_error = $3,
                        refresh_error_description = $4, refresh_failed_at = $5,
                        refresh_failing_since = COALESCE(refresh_failing_since, $5), refresh_retry_at = $6
                 WHERE account_id = $1 AND version = $2 RETURNING refresh_failures",
            )
            .bind(account_id)
            .bind(version)
            .bind(failure.code)
            .bind(failure.description)
            .bind(failure.at)
            .bind(failure.retry_at)
            .fetch_optional(&mut *tx)
            .await?;
            if failures == Some((1,)) {
                record_event!(tx, EventKind::RefreshFailed, account_id, Some(failure.code));
            }
            failures.is_some()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{UpstreamAccount, testing};

    #[tokio::test]
    async fn failures_count_up_keep_their_start_and_a_success_or_a_new_connection_clears_them() {
        let (_dir, store) = testing::store().await;
        let account = UpstreamAccount {
            client_id: "app",
            service: "acme",
            subject: "u1",
            login: "ann",
            admin: false,
            sealed: b"s1",
            app: Default::default(),
            refreshable: true,
        };
        let (id, _) = store.connect_upstream("acme:normal.storage", account).await.unwrap();
        let health = || async { store.stored_tokens(id).await.unwrap().unwrap().health };
        assert_eq!(health().await, Health::default());
        let version = store.stored_tokens(id).await.unwrap().unwrap().version;
        assert!(store.claim_refresh(id, version, 1_000, 31_000).await.unwrap());
        let first = RefreshFailure { code: "server_error", description: "down", at: 1_000, retry_at: 2_000 };
        assert!(store.record_refresh_failure(id, version, &first).await.unwrap());
        assert!(!store.claim_refresh(id, version, 1_500, 31_500).await.unwrap(), "cooling down");
        assert!(store.claim_refresh(id, version, 2_000, 32_000).await.unwrap(), "the lease was given up");
        let second =
            RefreshFailure { code: "invalid_client", description: "who?", at: 2_100, retry_at: 4_100 };
        assert!(store.record_refresh_failure(id, version, &second).await.unwrap());
        let expected = Health {
            failures: 2,
            last_error: Some("invalid_client".into()),
            last_error_description: Some("who?".into()),
            failed_at: Some(2_100),
            failing_since: Some(1_000),
            retry_at: Some(4_100),
        };
        assert_eq!(health().await, expected);
        assert!(!store.record_refresh_failure(id, version + 1, &second).await.unwrap(), "another version");
        assert!(store.claim_refresh(id, version, 5_000, 35_000).await.unwrap());
        assert!(store.save_refreshed(id, version, b"s2").await.unwrap());
        assert_eq!(health().await, Health::default(), "a success clears it");
        let version = version + 1;
        assert!(store.claim_refresh(id, version, 6_000, 36_000).await.unwrap());
        assert!(store.record_refresh_failure(id, version, &first).await.unwrap());
        store
            .connect_upstream("acme:normal.storage", UpstreamAccount { sealed: b"s3", ..account })
            .await
            .unwrap();
        assert_eq!(health().await, Health::default(), "so does a new connection");
    }
}
