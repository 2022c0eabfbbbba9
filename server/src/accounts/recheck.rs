//! An API-key or basic account whose credential stops working: its check is made once, at
//! connect time ([`crate::broker`]); after that, the upstream refusing a pass-through call
//! (401, or a status its entry's `bad_credential_statuses` names, S3's 403) runs the check
//! again. A check the upstream refuses (401 or 403: `access_denied`) makes the account inactive
//! with the reason `credentials_invalid: …` and adds `credentials.invalid` to the outbox, in
//! one transaction ([`crate::store::Store::invalidate_credentials`]); a check that passes (the
//! refusal was passing) and one that cannot be made (the upstream unreachable, a 5xx) change
//! nothing.
//!
//! One check at a time per account across every instance, and at most one per [`COOLDOWN`]:
//! the caller that wins a compare-and-swap on the account's lease
//! ([`crate::store::Store::claim_credential_check`]) checks, and keeps the lease until it runs
//! out; the others — a storm of 401s — pass the upstream's reply back at once.

use crate::AppState;
use crate::accounts::kept::Kept;
use crate::clock::now_millis;
use crate::providers::catalogue::Entry;
use crate::store::Account;
use std::time::Duration;

/// How long after a check the next one waits: the refusals within it are the same news.
pub const COOLDOWN: Duration = Duration::from_secs(60);

/// The reason an account whose check failed is inactive with (then `: ` and the check's
/// error).
pub const REASON: &str = "credentials_invalid";

/// Whether `status`, an upstream reply to a pass-through call with the account's credential,
/// may mean the credential no longer works.
pub fn refused(entry: &Entry, status: u16) -> bool {
    entry.bad_credential_statuses.contains(&status)
}

/// Checks `account`'s credential (`kept`) again at `entry`'s `check_url`, unless another
/// check holds the account's lease; makes the account inactive if the upstream refuses it.
/// What goes wrong on our side is logged: the caller passes the upstream's reply back either
/// way.
pub async fn check(app: &AppState, account: &Account, entry: &Entry, kept: &Kept) {
    let now = now_millis();
    let until = now.saturating_add(i64::try_from(COOLDOWN.as_millis()).unwrap_or(i64::MAX));
    match app.store.claim_credential_check(account.id, now, until).await {
        Ok(true) => {}
        Ok(false) => return,
        Err(error) => {
            tracing::error!("storage error while claiming a credential check: {error}");
            return;
        }
    }
    let Some(url) = entry.check_url.as_deref().and_then(|url| kept.fill(url)) else { return };
    let checked = app.http.check_credential(entry, &url, &kept.credential, kept.region.as_deref()).await;
    let error = match checked {
        Ok(_) => return,
        Err(error) if error.code == "access_denied" => error,
        Err(error) => {
            tracing::warn!("account {}: its credential could not be checked ({})", account.id, error.code);
            return;
        }
    };
    let reason = format!("{REASON}: {}", error.description);
    if let Err(error) = app.store.invalidate_credentials(account.id, &reason).await {
        tracing::error!("storage error while making an account inactive: {error}");
    }
}
