//! The credential an API-key or basic account was connected with (kept sealed, as a token is),
//! opened for a pass-through call: the key or user name and password, and the account's server
//! and region.

use crate::AppState;
use crate::error::AppError;
use crate::providers::client::Credential;
use crate::store::Account;
use serde::Deserialize;

/// What the credentials form kept for an account.
#[derive(Deserialize)]
pub struct Kept {
    /// The credential.
    pub credential: Credential,
    /// The server of a per-server entry (its `{hostname}`).
    pub hostname: Option<String>,
    /// The region of a regional entry (its `{region}`, and where AWS requests are signed for).
    #[serde(default)]
    pub region: Option<String>,
}

impl Kept {
    /// `template` (an entry's URL) with the account's `{hostname}` and `{region}`; `None` when
    /// it needs one the account does not name.
    pub fn fill(&self, template: &str) -> Option<String> {
        let mut url = template.to_owned();
        for (placeholder, value) in [("{hostname}", &self.hostname), ("{region}", &self.region)] {
            if url.contains(placeholder) {
                url = url.replace(placeholder, value.as_deref()?);
            }
        }
        (!url.contains('{')).then_some(url)
    }
}

/// Opens the credential `account` was connected with.
pub async fn open(app: &AppState, account: &Account) -> Result<Kept, AppError> {
    let lost = || AppError::Server("The account's credential could not be read.".into());
    let logged = |error: &dyn std::fmt::Display| {
        tracing::error!("storage error while reading a credential: {error}");
        lost()
    };
    let subject = app.store.account_subject(account.id).await.map_err(|e| logged(&e))?.ok_or_else(lost)?;
    let stored = app.store.stored_tokens(account.id).await.map_err(|e| logged(&e))?.ok_or_else(lost)?;
    let owner = crate::secrets::account_owner(&account.client_id, &account.service, &subject);
    let plain = app.secrets.open(&stored.sealed, owner.as_bytes()).map_err(|e| logged(&e))?;
    serde_json::from_slice(&plain).map_err(|e| logged(&e))
}
