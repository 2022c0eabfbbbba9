//! What the broker keeps: the pop-up requests waiting at an upstream (single-use, expiring,
//! keyed by the hash of our state so that any instance can take the callback), and the accounts
//! connected through an upstream with their sealed tokens. Sealing is the caller's
//! ([`crate::secrets`]): these queries only ever see ciphertext.

use super::accounts::{AppData, INSERT_TOKEN, hash, new_token};
use super::events::{EventKind, record_event};
use super::health::{HEALTH_COLUMNS, HEALTHY, Health};
use super::{Error, Store, in_transaction, on_pool};
use crate::clock::now_millis;

/// An account connected through an upstream.
#[derive(Clone, Copy, Debug)]
pub struct UpstreamAccount<'a> {
    /// The app.
    pub client_id: &'a str,
    /// The provider (service) id.
    pub service: &'a str,
    /// The upstream's stable id of the user: with the app and service, the account's key.
    pub subject: &'a str,
    /// The login shown as the account's name.
    pub login: &'a str,
    /// Whether admin access was asked for.
    pub admin: bool,
    /// The upstream tokens, sealed.
    pub sealed: &'a [u8],
    /// What the request attaches to it for the app.
    pub app: AppData<'a>,
    /// Whether they include a refresh token (for the sweep keeping idle grants alive).
    pub refreshable: bool,
}

/// Where a pending upstream request is open: the provider (service id) and the SHA-256 of the
/// binding cookie of the browser that started it, if it had one.
#[derive(Clone, Copy, Debug)]
pub struct PendingAt<'a> {
    /// The provider.
    pub service: &'a str,
    /// The browser's hash.
    pub browser: Option<&'a str>,
}

/// The pending requests a browser has open at one provider, as
/// [`Store::take_only_upstream_state`] found them.
#[derive(Clone, Debug, PartialEq)]
pub enum OpenAt {
    /// None (unexpired).
    None,
    /// Exactly one, now taken: its state's hash and the sealed request.
    One {
        /// The hash of its state.
        state_hash: String,
        /// The request, sealed.
        sealed: Vec<u8>,
    },
    /// More than one: none was taken.
    Several,
}

impl Store {
    /// Keeps a pending upstream request under the hash of its state until `expires` (ms), with
    /// the provider it is at and the hash of the browser that started it (to find it by them:
    /// [`Store::take_only_upstream_state`]).
    pub async fn put_upstream_state(
        &self,
        state_hash: &str,
        at: PendingAt<'_>,
        sealed: &[u8],
        expires: i64,
    ) -> Result<(), Error> {
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO upstream_states (state_hash, sealed, expires, service, browser) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(state_hash)
            .bind(sealed)
            .bind(expires)
            .bind(at.service)
            .bind(at.browser)
            .execute(pool)
            .await
            .map(drop)?
        });
        Ok(())
    }

    /// Takes the one pending request a browser has open at a provider, unexpired at `now`, if
    /// it has exactly one (see [`OpenAt`]); several are all left as they are.
    pub async fn take_only_upstream_state(&self, at: PendingAt<'_>, now: i64) -> Result<OpenAt, Error> {
        let Some(browser) = at.browser else { return Ok(OpenAt::None) };
        let hashes: Vec<(String,)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT state_hash FROM upstream_states WHERE browser = $1 AND service = $2 AND expires > $3 LIMIT 2",
            )
            .bind(browser)
            .bind(at.service)
            .bind(now)
            .fetch_all(pool)
            .await?
        });
        Ok(match hashes.as_slice() {
            [(state_hash,)] => match self.take_upstream_state(state_hash, now).await? {
                Some(sealed) => OpenAt::One { state_hash: state_hash.clone(), sealed },
                // Taken meanwhile, by its own callback.
                None => OpenAt::None,
            },
            [] => OpenAt::None,
            _ => OpenAt::Several,
        })
    }

    /// Takes (deletes and returns) the pending request under `state_hash`, if it has not
    /// expired at `now`: a state is good for one callback only, on whichever instance.
    pub async fn take_upstream_state(&self, state_hash: &str, now: i64) -> Result<Option<Vec<u8>>, Error> {
        let row: Option<(Vec<u8>, i64)> = on_pool!(self, pool => {
            sqlx::query_as("DELETE FROM upstream_states WHERE state_hash = $1 RETURNING sealed, expires")
                .bind(state_hash)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.filter(|(_, expires)| *expires > now).map(|(sealed, _)| sealed))
    }

    /// Deletes the pending requests expired at `now`; returns how many.
    pub async fn sweep_upstream_states(&self, now: i64) -> Result<u64, Error> {
        Ok(on_pool!(self, pool => {
            sqlx::query("DELETE FROM upstream_states WHERE expires <= $1").bind(now).execute(pool).await?.rows_affected()
        }))
    }

    /// Connects an upstream account — the same app, service and subject give the same account,
    /// whose name, admin flag and tokens are brought up to date — and issues a fresh token of
    /// ours for it, in one transaction. Returns the account id and our token. An account
    /// recorded for another end user of the app is refused ([`Error::OtherUser`]), nothing
    /// changed.
    pub async fn connect_upstream(
        &self,
        grant_scope: &str,
        account: UpstreamAccount<'_>,
    ) -> Result<(i64, String), Error> {
        let token = new_token()?;
        let now = now_millis();
        let account_id = in_transaction!(self, tx => {
            let existing: Option<(i64, Option<String>)> =
                sqlx::query_as("SELECT id, user_id FROM accounts WHERE client_id = $1 AND service = $2 AND subject = $3")
                    .bind(account.client_id)
                    .bind(account.service)
                    .bind(account.subject)
                    .fetch_optional(&mut *tx)
                    .await?;
            let kind = if existing.is_some() { EventKind::Reconnected } else { EventKind::Connected };
            let account_id = match existing {
                Some((_, Some(recorded))) if account.app.user_id.is_some_and(|user| user != recorded) => {
                    return Err(Error::OtherUser);
                }
                Some((id, _)) => {
                    sqlx::query("UPDATE accounts SET login = $2, admin = $3, modified = $4, inactive_reason = NULL,
                       user_id = COALESCE($5, user_id), custom_properties = COALESCE($6, custom_properties)
                       WHERE id = $1")
                    .bind(id)
                    .bind(account.login)
                    .bind(account.admin)
                    .bind(now)
                    .bind(account.app.user_id)
                    .bind(account.app.custom_properties)
                    .execute(&mut *tx)
                    .await?;
                    id
                }
                None => {
                    let (id,): (i64,) = sqlx::query_as(
                        "INSERT INTO accounts (client_id, service, name, admin, subject, login, user_id, created,
                           custom_properties)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                    )
                    .bind(account.client_id)
                    .bind(account.service)
                    .bind(format!("upstream:{}", account.subject))
                    .bind(account.admin)
                    .bind(account.subject)
                    .bind(account.login)
                    .bind(account.app.user_id)
                    .bind(now)
                    .bind(account.app.custom_properties)
                    .fetch_one(&mut *tx)
                    .await?;
                    id
                }
            };
            let upsert = format!(
                "INSERT INTO upstream_credentials (account_id, sealed, modified, refreshed_at, refreshable)
                 VALUES ($1, $2, $3, $3, $4)
                 ON CONFLICT (account_id) DO UPDATE SET sealed = excluded.sealed, modified = excluded.modified,
                   version = upstream_credentials.version + 1, refreshing_until = NULL,
                   refreshed_at = excluded.refreshed_at, refreshable = excluded.refreshable, {HEALTHY}"
            );
            sqlx::query(sqlx::AssertSqlSafe(upsert))
            .bind(account_id)
            .bind(account.sealed)
            .bind(now)
            .bind(account.refreshable)
            .execute(&mut *tx)
            .await?;
            sqlx::query(INSERT_TOKEN)
                .bind(hash(&token))
                .bind(account_id)
                .bind(account.client_id)
                .bind(grant_scope)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            record_event!(tx, kind, account_id, None::<&str>);
            account_id
        });
        Ok((account_id, token))
    }

    /// The sealed upstream tokens of an account, if it has any.
    pub async fn upstream_credentials(&self, account_id: i64) -> Result<Option<Vec<u8>>, Error> {
        let row: Option<(Vec<u8>,)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT sealed FROM upstream_credentials WHERE account_id = $1")
                .bind(account_id)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(|(sealed,)| sealed))
    }
}

/// An account's sealed upstream tokens as they are now: what a refresh starts from.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct StoredTokens {
    /// The tokens, sealed.
    pub sealed: Vec<u8>,
    /// Bumped on every write of `sealed`: a refresh saves its result only over this version.
    pub version: i64,
    /// Until when (ms since the epoch) an instance holds the lease to refresh them, if one does.
    pub refreshing_until: Option<i64>,
    /// When the upstream issued them (ms since the epoch): connected or last refreshed.
    pub refreshed_at: i64,
    /// Why the account no longer works, if its grant was refused.
    pub inactive_reason: Option<String>,
    /// Its refresh health and cooldown.
    #[sqlx(flatten)]
    pub health: Health,
}

impl Store {
    /// The sealed upstream tokens of an account with their version and refresh lease.
    pub async fn stored_tokens(&self, account_id: i64) -> Result<Option<StoredTokens>, Error> {
        let select = format!(
            "SELECT c.sealed, c.version, c.refreshing_until, c.refreshed_at, a.inactive_reason, {HEALTH_COLUMNS}
             FROM upstream_credentials c JOIN accounts a ON a.id = c.account_id WHERE c.account_id = $1"
        );
        Ok(on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(select.clone()))
            .bind(account_id)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// Takes the lease to refresh the tokens at `version` until `until` (ms), unless another
    /// instance holds an unexpired one at `now`, a failed refresh's cooldown holds at `now`
    /// ([`Health::retry_at`]) or they have changed: a compare-and-swap, so that one caller among
    /// all instances refreshes. Returns whether it was taken.
    pub async fn claim_refresh(
        &self,
        account_id: i64,
        version: i64,
        now: i64,
        until: i64,
    ) -> Result<bool, Error> {
        Ok(on_pool!(self, pool => {
            sqlx::query(
                "UPDATE upstream_credentials SET refreshing_until = $4
                 WHERE account_id = $1 AND version = $2 AND (refreshing_until IS NULL OR refreshing_until <= $3)
                   AND (refresh_retry_at IS NULL OR refresh_retry_at <= $3)",
            )
            .bind(account_id)
            .bind(version)
            .bind(now)
            .bind(until)
            .execute(pool)
            .await?
            .rows_affected()
                == 1
        }))
    }

    /// Claims the check of an API-key or basic account's credential at `now` until `until`
    /// ([`crate::accounts::recheck`]): a compare-and-swap on the lease an OAuth account's
    /// refresh takes (such an account has nothing to refresh), kept until it runs out so that
    /// it is also the cooldown between checks. Returns whether this caller is to check.
    pub async fn claim_credential_check(&self, account_id: i64, now: i64, until: i64) -> Result<bool, Error> {
        Ok(on_pool!(self, pool => {
            sqlx::query(
                "UPDATE upstream_credentials SET refreshing_until = $3
                 WHERE account_id = $1 AND (refreshing_until IS NULL OR refreshing_until <= $2)",
            )
            .bind(account_id)
            .bind(now)
            .bind(until)
            .execute(pool)
            .await?
            .rows_affected()
                == 1
        }))
    }

    /// Saves refreshed tokens (access and, rotated or kept, refresh token together) over
    /// `version`, stamped as issued now, releases the lease and clears the refresh health, in
    /// one transaction; when refreshes had failed, adds `account.recovered` to the outbox.
    /// Returns whether they were still at `version`.
    pub async fn save_refreshed(&self, account_id: i64, version: i64, sealed: &[u8]) -> Result<bool, Error> {
        // The first statement matches only a failing account: whether it recovers is read and
        // written at once, with no row to lock beforehand.
        let update = |only_failing: &str| {
            format!(
                "UPDATE upstream_credentials SET sealed = $3, version = version + 1, refreshing_until = NULL,
                        modified = $4, refreshed_at = $4, refreshable = TRUE, {HEALTHY}
                 WHERE account_id = $1 AND version = $2{only_failing}"
            )
        };
        let (recovering, healthy) = (update(" AND refresh_failures > 0"), update(""));
        let now = now_millis();
        Ok(in_transaction!(self, tx => {
            let recovered = sqlx::query(sqlx::AssertSqlSafe(recovering))
                .bind(account_id)
                .bind(version)
                .bind(sealed)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            if recovered {
                record_event!(tx, EventKind::Recovered, account_id, None::<&str>);
            }
            recovered
                || sqlx::query(sqlx::AssertSqlSafe(healthy))
                    .bind(account_id)
                    .bind(version)
                    .bind(sealed)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    == 1
        }))
    }

    /// Marks the account inactive with `reason` (its grant was refused upstream) and gives up
    /// the lease: nothing refreshes it again until the user connects it again. An account
    /// that was active adds `account.inactive` to the outbox, in the same transaction.
    pub async fn deactivate(&self, account_id: i64, reason: &str) -> Result<(), Error> {
        self.deactivate_as(account_id, reason, EventKind::Inactive).await
    }

    /// Marks an API-key or basic account inactive with `reason` (its credential's check failed)
    /// as [`Store::deactivate`] does, adding `credentials.invalid` rather than
    /// `account.inactive`: one event for one change, of the type an app filters on.
    pub async fn invalidate_credentials(&self, account_id: i64, reason: &str) -> Result<(), Error> {
        self.deactivate_as(account_id, reason, EventKind::CredentialsInvalid).await
    }

    /// Marks the account inactive with `reason`; an account that was active adds `kind`.
    async fn deactivate_as(&self, account_id: i64, reason: &str, kind: EventKind) -> Result<(), Error> {
        in_transaction!(self, tx => {
            let was_active = sqlx::query("UPDATE accounts SET inactive_reason = $2 WHERE id = $1 AND inactive_reason IS NULL")
                .bind(account_id)
                .bind(reason)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            if was_active {
                record_event!(tx, kind, account_id, Some(reason));
            } else {
                sqlx::query("UPDATE accounts SET inactive_reason = $2 WHERE id = $1")
                    .bind(account_id)
                    .bind(reason)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query("UPDATE upstream_credentials SET refreshing_until = NULL WHERE account_id = $1")
                .bind(account_id)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }
}

/// An account whose upstream grant may go idle: see [`Store::idle_accounts`].
#[derive(Clone, Copy, Debug, PartialEq, sqlx::FromRow)]
pub struct IdleAccount {
    /// The account.
    pub account_id: i64,
    /// When its tokens were issued (ms since the epoch).
    pub refreshed_at: i64,
}

impl Store {
    /// Up to `limit` active accounts with a refresh token whose tokens were issued before
    /// `before` (ms), that no instance is refreshing at `now` and whose failed refresh's
    /// cooldown is over, oldest first, starting after `after` in that order (a cursor: the last
    /// one of the previous batch).
    pub async fn idle_accounts(
        &self,
        before: i64,
        now: i64,
        after: Option<IdleAccount>,
        limit: i64,
    ) -> Result<Vec<IdleAccount>, Error> {
        let after = after.unwrap_or(IdleAccount { account_id: i64::MIN, refreshed_at: i64::MIN });
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT c.account_id, c.refreshed_at
                 FROM upstream_credentials c JOIN accounts a ON a.id = c.account_id
                 WHERE a.inactive_reason IS NULL AND c.refreshable AND c.refreshed_at < $1
                   AND (c.refreshing_until IS NULL OR c.refreshing_until <= $2)
                   AND (c.refresh_retry_at IS NULL OR c.refresh_retry_at <= $2)
                   AND (c.refreshed_at > $3 OR (c.refreshed_at = $3 AND c.account_id > $4))
                 ORDER BY c.refreshed_at, c.account_id LIMIT $5",
            )
            .bind(before)
            .bind(now)
            .bind(after.refreshed_at)
            .bind(after.account_id)
            .bind(limit)
            .fetch_all(pool)
            .await?
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing;

    fn account<'a>(subject: &'a str, login: &'a str, sealed: &'a [u8]) -> UpstreamAccount<'a> {
        UpstreamAccount {
            client_id: "app",
            service: "acme",
            subject,
            login,
            admin: false,
            sealed,
            app: AppData::default(),
            refreshable: true,
        }
    }

    #[tokio::test]
    async fn the_same_upstream_user_is_the_same_account() {
        let (_dir, store) = testing::store().await;
        let (id, token) =
            store.connect_upstream("acme:normal.storage", account("u1", "a@x.test", b"s1")).await.unwrap();
        let (again, token2) = store
            .connect_upstream("acme:normal.storage", account("u1", "renamed@x.test", b"s2"))
            .await
            .unwrap();
        assert_eq!(id, again);
        assert_ne!(token, token2);
        let stored = store.account(id).await.unwrap().unwrap();
        assert_eq!(stored.name, "renamed@x.test", "the login is brought up to date");
        assert_eq!(stored.modified.len(), "2025-01-01T00:00:00Z".len());
        assert_eq!(store.upstream_credentials(id).await.unwrap().unwrap(), b"s2");
        let (other, _) =
            store.connect_upstream("acme:normal.storage", account("u2", "a@x.test", b"s")).await.unwrap();
        assert_ne!(other, id, "another subject is another account, even with the same login");
        assert_eq!(store.account(other).await.unwrap().unwrap().name, "a@x.test");
        assert_eq!(store.grant(&token).await.unwrap().unwrap().account_id, id);
    }

    #[tokio::test]
    async fn an_account_recorded_for_one_user_is_refused_to_another_and_kept_without_one() {
        let (_dir, store) = testing::store().await;
        let of = |user_id| UpstreamAccount {
            app: AppData { user_id, custom_properties: None },
            ..account("u1", "a@x.test", b"s1")
        };
        let (id, _) = store.connect_upstream("acme:normal.storage", of(Some("ann"))).await.unwrap();
        let taken = UpstreamAccount { sealed: b"s2", ..of(Some("eve")) };
        assert!(matches!(store.connect_upstream("acme:normal.storage", taken).await, Err(Error::OtherUser)));
        assert_eq!(
            store.account(id).await.unwrap().unwrap().user_id.as_deref(),
            Some("ann"),
            "not reassigned"
        );
        assert_eq!(store.upstream_credentials(id).await.unwrap().unwrap(), b"s1", "nothing changed");
        let (again, _) = store.connect_upstream("acme:normal.storage", of(None)).await.unwrap();
        assert_eq!(again, id);
        assert_eq!(store.account(id).await.unwrap().unwrap().user_id.as_deref(), Some("ann"), "kept");
        store.connect_upstream("acme:normal.storage", of(Some("ann"))).await.expect("the same user again");
    }

    #[tokio::test]
    async fn a_browsers_only_pending_request_at_a_provider_is_taken_and_never_one_of_several() {
        let (_dir, store) = testing::store().await;
        let at = |service, browser| PendingAt { service, browser };
        store.put_upstream_state("h1", at("acme", Some("b1")), b"one", 1_000).await.unwrap();
        store.put_upstream_state("h2", at("acme", Some("b2")), b"two", 1_000).await.unwrap();
        store.put_upstream_state("h3", at("acme", Some("b2")), b"three", 1_000).await.unwrap();
        store.put_upstream_state("h4", at("other", Some("b3")), b"four", 1_000).await.unwrap();
        assert_eq!(store.take_only_upstream_state(at("acme", None), 500).await.unwrap(), OpenAt::None);
        assert_eq!(store.take_only_upstream_state(at("acme", Some("b3")), 500).await.unwrap(), OpenAt::None);
        assert_eq!(
            store.take_only_upstream_state(at("acme", Some("b1")), 1_000).await.unwrap(),
            OpenAt::None
        );
        let one = OpenAt::One { state_hash: "h1".into(), sealed: b"one".to_vec() };
        assert_eq!(store.take_only_upstream_state(at("acme", Some("b1")), 500).await.unwrap(), one);
        assert_eq!(store.take_only_upstream_state(at("acme", Some("b1")), 500).await.unwrap(), OpenAt::None);
        assert_eq!(
            store.take_only_upstream_state(at("acme", Some("b2")), 500).await.unwrap(),
            OpenAt::Several
        );
        assert_eq!(store.take_upstream_state("h2", 500).await.unwrap().unwrap(), b"two", "left as it was");
    }

    #[tokio::test]
    async fn a_state_is_taken_once_and_not_after_it_expires() {
        let (_dir, store) = testing::store().await;
        let at = PendingAt { service: "acme", browser: None };
        store.put_upstream_state("h1", at, b"sealed", 1_000).await.unwrap();
        assert_eq!(store.take_upstream_state("h1", 500).await.unwrap().unwrap(), b"sealed");
        assert_eq!(store.take_upstream_state("h1", 500).await.unwrap(), None, "replayed");
        store.put_upstream_state("h2", at, b"sealed", 1_000).await.unwrap();
        assert_eq!(store.take_upstream_state("h2", 1_000).await.unwrap(), None, "expired");
        store.put_upstream_state("h3", at, b"sealed", 1_000).await.unwrap();
        assert_eq!(store.sweep_upstream_states(2_000).await.unwrap(), 1);
    }
}
