//! The background sweep keeping idle accounts' upstream grants alive: many providers expire a
//! refresh token that goes unused (Microsoft after 90 days, Google after 6 months, others
//! after days of a sliding idle lifetime), so an account nobody calls would stop working.
//!
//! Every instance sweeps, each round after a jittered wait (half to one and a half times
//! [`sweep_interval_secs`](crate::accounts::settings::Refresh::sweep_interval_secs), so
//! instances drift apart). A round walks the active accounts with a refresh token whose tokens
//! were issued longer than
//! [`idle_refresh_after_secs`](crate::accounts::settings::Refresh::idle_refresh_after_secs) ago
//! and that no instance is refreshing, oldest first, in
//! batches of [`BATCH`], and refreshes them one at a time through [`refresh::keep_alive`] — the
//! same single-flight path as a request's refresh, which refreshes only tokens still issued
//! before the threshold: an account refreshed meanwhile by a request or another instance's
//! sweep is left as it is. An upstream failure is logged and the account tried again next
//! round; `invalid_grant` makes it inactive, and an inactive account is never picked again.

use crate::AppState;
use crate::accounts::refresh::{self, RefreshError};
use crate::clock::now_millis;
use crate::store::{self, IdleAccount};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How many candidates a round reads from the database at a time.
pub const BATCH: i64 = 100;

/// What one round did.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Round {
    /// Accounts this instance refreshed.
    pub refreshed: usize,
    /// Accounts refreshed meanwhile by a request or another instance, deleted, or no longer
    /// OAuth (their provider left the configuration).
    pub skipped: usize,
    /// Accounts whose refresh failed now (tried again next round).
    pub failed: usize,
    /// Accounts made inactive (the upstream refused their grant).
    pub deactivated: usize,
}

/// One round: refreshes every account idle for `idle_after` (see the module's documentation),
/// stopping between accounts once `stop` holds `true`.
pub async fn sweep(
    app: &AppState,
    idle_after: Duration,
    stop: &watch::Receiver<bool>,
) -> Result<Round, store::Error> {
    let now = now_millis();
    let before = now.saturating_sub(i64::try_from(idle_after.as_millis()).unwrap_or(i64::MAX));
    let mut round = Round::default();
    let mut after: Option<IdleAccount> = None;
    loop {
        let batch = app.store.idle_accounts(before, now, after, BATCH).await?;
        let Some(last) = batch.last() else { return Ok(round) };
        after = Some(*last);
        for candidate in batch {
            if *stop.borrow() {
                return Ok(round);
            }
            let Some(account) = app.store.account(candidate.account_id).await? else {
                round.skipped += 1;
                continue;
            };
            match refresh::keep_alive(app, &account, before).await {
                Ok(true) => round.refreshed += 1,
                Ok(false) | Err(RefreshError::NotOAuth | RefreshError::CoolingDown { .. }) => {
                    round.skipped += 1;
                }
                Err(RefreshError::Inactive(reason)) => {
                    tracing::warn!("refresh sweep: account {} made inactive: {reason}", account.id);
                    round.deactivated += 1;
                }
                Err(RefreshError::Upstream(error)) => {
                    tracing::warn!("refresh sweep: account {} not refreshed: {}", account.id, error.code);
                    round.failed += 1;
                }
                Err(RefreshError::Server) => round.failed += 1,
            }
        }
    }
}

/// Sweeps until `stop` holds `true` (or its sender is dropped), each round after a jittered
/// wait; does nothing when the sweep is off. A round under way finishes the refresh it is in
/// before stopping, so that no rotated refresh token is lost.
pub async fn run(app: Arc<AppState>, mut stop: watch::Receiver<bool>) {
    let Some(interval) = app.config.accounts.refresh.interval() else { return };
    loop {
        tokio::select! {
            () = tokio::time::sleep(jittered(interval)) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
        match sweep(&app, app.config.accounts.refresh.idle_after(), &stop).await {
            Ok(round) if round != Round::default() => tracing::info!(
                "refresh sweep: {} refreshed, {} skipped, {} failed, {} made inactive",
                round.refreshed,
                round.skipped,
                round.failed,
                round.deactivated
            ),
            Ok(_) => {}
            Err(error) => tracing::error!("storage error while sweeping idle accounts: {error}"),
        }
    }
}

/// From half to one and a half times `interval`, at random.
fn jittered(interval: Duration) -> Duration {
    let unit = getrandom::u64().map_or(0.5, |n| n as f64 / u64::MAX as f64);
    interval.mul_f64(0.5 + unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_half_to_one_and_a_half_intervals_and_varies() {
        let interval = Duration::from_secs(100);
        let waits: Vec<_> = (0..50).map(|_| jittered(interval)).collect();
        assert!(waits.iter().all(|w| (Duration::from_secs(50)..=Duration::from_secs(150)).contains(w)));
        assert!(waits.iter().any(|w| *w != waits[0]), "instances drift apart");
    }
}
