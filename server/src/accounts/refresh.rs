//! Keeping an account's upstream tokens fresh: an access token due to expire within [`MARGIN`]
//! is refreshed before it is used, by one caller at a time across every instance sharing the
//! database — concurrent callers wait for that refresh and share its result.
//!
//! Single flight: within an instance, callers for one account queue on an in-process lock; across
//! instances, the one refreshing holds a lease taken by compare-and-swap on the stored tokens'
//! version ([`crate::store::Store::claim_refresh`]); the others poll until the version changes.
//! The new access token and the rotated refresh token (or, when the reply omits one, the old)
//! are sealed together and saved over the version refreshed, in one statement, before anyone
//! uses them. `invalid_grant` (revoked, expired, reused) marks the account inactive with the
//! upstream's reason: it is not tried again until the user connects the account again.
//!
//! Failures are shared too. Any other refusal (`invalid_client`, a 5xx, a time-out) is recorded
//! in the database with the lease given up, in one statement: the account's health (its last
//! error, when, how many in a row, since when) and a cooldown ([`super::cooldown`]: 1 s
//! doubling to 5 minutes, with jitter). Until it ends, every caller on every instance — those
//! that waited on the failed refresh included — gets that error ([`RefreshError::CoolingDown`]:
//! a 503 with `Retry-After`) with no call upstream. A success clears the health; failing
//! without one for [`super::cooldown::GIVE_UP_AFTER`] makes the account inactive.
//!
//! The same path keeps idle grants alive ([`keep_alive`], called by [`crate::accounts::keep_alive`]'s
//! background sweep): it refreshes only tokens still issued before a given time, so a sweep
//! that meets a refresh just made by a request or another instance leaves them as they are.

use super::cooldown;
use crate::AppState;
use crate::clock::now_millis;
use crate::providers::client::{Tokens, UpstreamError};
use crate::providers::services::{self, Connect};
use crate::store::{Account, Health, RefreshFailure, StoredTokens};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// An access token expiring within this margin is refreshed before use.
pub const MARGIN: Duration = Duration::from_secs(300);
/// How long the lease of the instance refreshing an account lasts: another instance takes
/// over after it (the first one died or hung).
pub const LEASE: Duration = Duration::from_secs(30);
/// How often a caller waiting on another instance's refresh looks again.
pub(crate) const POLL: Duration = Duration::from_millis(100);

/// Why no fresh access token could be had.
#[derive(Clone, Debug, PartialEq)]
pub enum RefreshError {
    /// The account's grant was refused upstream: the reason shown by the account API.
    Inactive(String),
    /// The upstream failed now (unreachable, an error other than `invalid_grant`).
    Upstream(UpstreamError),
    /// A refresh failed a moment ago (its error) and the provider is not asked again before
    /// `retry_after` has passed.
    CoolingDown {
        /// The last refresh's error.
        error: UpstreamError,
        /// How long the cooldown still holds.
        retry_after: Duration,
    },
    /// The account has no upstream OAuth tokens (demo, API-key or basic accounts), or its
    /// provider is no longer configured.
    NotOAuth,
    /// The database failed, the tokens did not open, or another instance held the lease too long.
    Server,
}

/// The in-process locks, one per key (an account id: one refresh at a time per account in
/// this instance; an account and a user: one mint at a time per user, [`super::as_user`]).
#[derive(Debug, Default)]
pub struct Locks<K = i64>(Mutex<HashMap<K, Arc<tokio::sync::Mutex<()>>>>);

impl<K: std::hash::Hash + Eq> Locks<K> {
    /// The lock of `key`.
    pub(crate) fn of(&self, key: K) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        map.entry(key).or_default().clone()
    }
}

/// Whether `tokens`' access token is due for a refresh at `now` (ms).
pub fn due(tokens: &Tokens, now: i64) -> bool {
    let margin = i64::try_from(MARGIN.as_millis()).unwrap_or(i64::MAX);
    tokens
        .expires_at
        .is_some_and(|at| i64::try_from(at).unwrap_or(i64::MAX).saturating_mul(1000) <= now + margin)
}

fn storage(error: &dyn std::fmt::Display) -> RefreshError {
    tracing::error!("storage error while refreshing: {error}");
    RefreshError::Server
}

/// `ms` milliseconds (at least 0) as a duration.
fn duration_of(ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// A duration in milliseconds, as stored.
fn millis_of(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// The error callers get while `health`'s cooldown holds at `now`, if it does.
fn cooling_down(health: &Health, now: i64) -> Option<RefreshError> {
    let retry_at = health.retry_at.filter(|at| *at > now)?;
    let code = health.last_error.as_deref().unwrap_or("temporarily_unavailable");
    let description = health
        .last_error_description
        .clone()
        .unwrap_or_else(|| "The service refused to refresh the token.".into());
    let error = UpstreamError::new(code, description);
    Some(RefreshError::CoolingDown { error, retry_after: duration_of(retry_at - now) })
}

/// The account's upstream tokens with an access token that is not due, refreshed first if it
/// was (see the module's documentation).
///
/// `stale`: an access token the upstream just refused (401); if it is still the stored one, it
/// is refreshed whatever its expiry says.
pub async fn fresh_tokens(
    app: &AppState,
    account: &Account,
    stale: Option<&str>,
) -> Result<Tokens, RefreshError> {
    let reason = match stale {
        Some(access_token) => Reason::Refused(access_token),
        None => Reason::Due,
    };
    obtain(app, account, reason).await.map(|(tokens, _)| tokens)
}

/// Refreshes the account's upstream tokens if they were issued before `before` (ms since the
/// epoch), whatever their expiry says, so that a provider expiring unused refresh tokens keeps
/// the grant; returns whether this call refreshed them (`false`: they were issued since, by a
/// request or another instance, or hold no refresh token).
pub async fn keep_alive(app: &AppState, account: &Account, before: i64) -> Result<bool, RefreshError> {
    obtain(app, account, Reason::Idle { before }).await.map(|(_, refreshed)| refreshed)
}

/// Why the stored tokens are to be refreshed, checked against them under the lease.
#[derive(Clone, Copy)]
enum Reason<'a> {
    /// The access token is due ([`due`]).
    Due,
    /// The upstream refused this access token (401) and it is still the stored one.
    Refused(&'a str),
    /// The tokens were issued before this time (ms): the grant has been idle.
    Idle { before: i64 },
}

impl Reason<'_> {
    fn holds(self, stored: &StoredTokens, tokens: &Tokens, now: i64) -> bool {
        match self {
            Reason::Due => due(tokens, now),
            Reason::Refused(access_token) => due(tokens, now) || tokens.access_token == access_token,
            Reason::Idle { before } => stored.refreshed_at < before,
        }
    }
}

/// The account's tokens, refreshed first if `reason` holds for the stored ones; and whether
/// this call refreshed them.
async fn obtain(
    app: &AppState,
    account: &Account,
    reason: Reason<'_>,
) -> Result<(Tokens, bool), RefreshError> {
    let Some(service) = services::find(&app.config.services, &account.service) else {
        return Err(RefreshError::NotOAuth);
    };
    let Connect::Upstream(upstream) = &service.connect else { return Err(RefreshError::NotOAuth) };
    let subject = app.store.account_subject(account.id).await.map_err(|e| storage(&e))?;
    let subject = subject.ok_or(RefreshError::NotOAuth)?;
    let owner = crate::secrets::account_owner(&account.client_id, &account.service, &subject);
    let lock = app.refresh_locks.of(account.id);
    let _one_at_a_time = lock.lock().await;
    let lease_ms = millis_of(LEASE);
    let deadline = now_millis() + 2 * lease_ms;
    loop {
        let stored = app.store.stored_tokens(account.id).await.map_err(|e| storage(&e))?;
        let stored = stored.ok_or(RefreshError::NotOAuth)?;
        if let Some(reason) = stored.inactive_reason {
            return Err(RefreshError::Inactive(reason));
        }
        let plain = app.secrets.open(&stored.sealed, owner.as_bytes()).map_err(|e| storage(&e))?;
        let tokens: Tokens = serde_json::from_slice(&plain).map_err(|e| storage(&e))?;
        let now = now_millis();
        let Some(refresh_token) =
            tokens.refresh_token.clone().filter(|_| reason.holds(&stored, &tokens, now))
        else {
            return Ok((tokens, false));
        };
        if let Some(cooling) = cooling_down(&stored.health, now) {
            return Err(cooling);
        }
        if !app
            .store
            .claim_refresh(account.id, stored.version, now, now + lease_ms)
            .await
            .map_err(|e| storage(&e))?
        {
            if now > deadline {
                return Err(RefreshError::Server);
            }
            tokio::time::sleep(POLL).await;
            continue;
        }
        let refreshed = match app.http.endpoints(upstream, tokens.hostname.as_deref()).await {
            Ok(endpoints) => app.http.refresh(upstream, &endpoints, &refresh_token).await,
            Err(error) => Err(error),
        };
        let mut new = match refreshed {
            Ok(new) => new,
            Err(error) if error.code == "invalid_grant" => {
                let reason = format!("invalid_grant: {}", error.description);
                app.store.deactivate(account.id, &reason).await.map_err(|e| storage(&e))?;
                return Err(RefreshError::Inactive(reason));
            }
            Err(error) => return Err(failed(app, account.id, &stored, error).await),
        };
        // An omitted refresh token keeps the old one; a rotated one replaces it.
        if new.refresh_token.is_none() {
            new.refresh_token = Some(refresh_token);
        }
        new.hostname = tokens.hostname.clone();
        if new.instance_url.is_none() {
            new.instance_url = tokens.instance_url.clone();
        }
        new.site = tokens.site.clone();
        let plain = serde_json::to_vec(&new).map_err(|e| storage(&e))?;
        let sealed = app.secrets.seal(&plain, owner.as_bytes()).map_err(|e| storage(&e))?;
        if app.store.save_refreshed(account.id, stored.version, &sealed).await.map_err(|e| storage(&e))? {
            return Ok((new, true));
        }
        // Our lease ran out and another instance saved first: use what it saved.
    }
}

/// Records the refresh of `stored` that failed with `error` (giving up the lease): one more
/// failure in a row and a cooldown; or, failing since [`cooldown::GIVE_UP_AFTER`] ago, makes
/// the account inactive. The error for the caller.
async fn failed(
    app: &AppState,
    account_id: i64,
    stored: &StoredTokens,
    error: UpstreamError,
) -> RefreshError {
    let now = now_millis();
    let failures = stored.health.failures.saturating_add(1);
    let failure = RefreshFailure {
        code: &error.code,
        description: &error.description,
        at: now,
        retry_at: now.saturating_add(millis_of(cooldown::after(failures))),
    };
    if let Err(e) = app.store.record_refresh_failure(account_id, stored.version, &failure).await {
        return storage(&e);
    }
    let since = stored.health.failing_since.unwrap_or(now);
    if now.saturating_sub(since) < millis_of(cooldown::GIVE_UP_AFTER) {
        return RefreshError::Upstream(error);
    }
    let days = cooldown::GIVE_UP_AFTER.as_secs() / 86_400;
    let reason = format!(
        "refresh_failing: every refresh for {days} days failed ({failures} in a row), the last with {}: {}",
        error.code, error.description
    );
    match app.store.deactivate(account_id, &reason).await {
        Ok(()) => RefreshError::Inactive(reason),
        Err(e) => storage(&e),
    }
}
