//! The credential an API-key or basic account was connected with (kept sealed, as a token is),
//! opened for a pass-through call: the key or user name and password, and the account's server
//! (with its path, for a service under one) and region.

use crate::AppState;
use crate::error::AppError;
use crate::providers::client::Credential;
use crate::store::Account;
use serde::{Deserialize, Serialize};

/// What the credentials form kept for an account.
#[derive(Deserialize, Serialize)]
pub struct Kept {
    /// The credential.
    pub credential: Credential,
    /// The server of a per-server entry (its `{hostname}`).
    pub hostname: Option<String>,
    /// The path the service is under on that server, for an entry that takes one (a WebDAV
    /// root such as `/remote.php/webdav`): `{hostname}` is the server and this path, so the
    /// check and every pass-through call stay under it. No trailing `/`.
    #[serde(default)]
    pub path: Option<String>,
    /// The region of a regional entry (its `{region}`, and where AWS requests are signed for).
    #[serde(default)]
    pub region: Option<String>,
}

impl Kept {
    /// `template` (an entry's URL) with the account's `{hostname}` (and its path), `{region}`
    /// and `{account}` (an Azure storage account: the user name, checked as one when typed);
    /// `None` when it needs one the account does not name.
    pub fn fill(&self, template: &str) -> Option<String> {
        let server =
            self.hostname.as_ref().map(|host| format!("{host}{}", self.path.as_deref().unwrap_or("")));
        let account = match &self.credential {
            Credential::Basic { username, .. } => Some(username.clone()),
            Credential::ApiKey(_) => None,
        };
        let mut url = template.to_owned();
        for (placeholder, value) in
            [("{hostname}", server), ("{region}", self.region.clone()), ("{account}", account)]
        {
            if url.contains(placeholder) {
                url = url.replace(placeholder, &value?);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_is_filled_with_the_server_and_its_path_the_region_and_the_account() {
        let kept = Kept {
            credential: Credential::Basic { username: "acct".into(), password: "k".into() },
            hostname: Some("dav.example.org".into()),
            path: Some("/remote.php/webdav".into()),
            region: None,
        };
        assert_eq!(
            kept.fill("https://{hostname}/").as_deref(),
            Some("https://dav.example.org/remote.php/webdav/")
        );
        assert_eq!(
            kept.fill("https://{account}.blob.core.windows.net").as_deref(),
            Some("https://acct.blob.core.windows.net")
        );
        assert_eq!(kept.fill("https://s3.{region}.amazonaws.com"), None, "no region");
        let old: Kept =
            serde_json::from_str(r#"{"credential":{"api_key":"k"},"hostname":"a.example.org"}"#).unwrap();
        assert_eq!(
            old.fill("https://{hostname}").as_deref(),
            Some("https://a.example.org"),
            "kept before paths"
        );
        assert_eq!(old.fill("https://{account}.x"), None, "an API key names no account");
    }
}
