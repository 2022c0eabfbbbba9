//! Organisation-wide accounts: one connection by a tenant's admin through which the app reaches
//! every user of the tenant, none of whom ever sees a pop-up (seed 001's "server-to-server JWT
//! authentication"; Kloudless's admin accounts).
//!
//! Design, shared by every provider of this kind:
//! - **Catalogue**: an entry of `kind = "service_account"` names the token endpoint (`token_url`,
//!   also the assertion's audience), the scopes the tenant's admin authorizes (`scopes`) and the
//!   API base reached as each user (`api_base`).
//! - **Operator**: the `[[providers]]` entry enabling it gives our app's credential for the
//!   whole provider instead of a client secret: for Google Workspace, the service account's
//!   JSON key (`key_file`, or `key_env` naming a variable that holds the JSON), read once at
//!   start-up into an [`OrgCredential`] (never printed; a malformed key is refused naming the
//!   entry and the field that is wrong, no secret echoed).
//! - **Pop-up**: the admin names the tenant (a domain) and their own address; the page shows
//!   what to authorize in the provider's admin console, and "Check" proves it by minting a
//!   token for the admin. The account stored is the tenant's (`subject` = the domain,
//!   `admin: true`); its sealed secret is an [`OrgGrant`], never a user's token.
//! - **Acting as a user**: the raw API's `X-Kloudless-As-User` names a user of the tenant; the
//!   server mints that user's token ([`google::assertion`] + the RFC 7523 grant) and caches it
//!   sealed per (account, user), minted by one caller at a time across instances
//!   ([`crate::accounts::as_user`]). A user outside the tenant is refused before any call.
//! - **Revocation**: a token endpoint refusing the client itself (`unauthorized_client`: the
//!   delegation was removed) makes the account inactive with that reason.
//!
//! Microsoft 365 (admin consent, then the client-credentials grant per tenant) and Box (JWT app
//! authorization with `box_subject_type`) fit as further [`OrgCredential`] variants: each mints
//! differently, the rest (pop-up shape, grant, cache, raw API) is shared.

pub mod google;

use super::catalogue::Entry;
use super::client::{Http, Tokens, UpstreamError};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// An enabled organisation-wide provider: its catalogue entry and our credential there.
#[derive(Debug, PartialEq)]
pub struct OrgProvider {
    /// The catalogue entry (`kind = "service_account"`).
    pub entry: Entry,
    /// Our app's credential for the whole provider.
    pub credential: OrgCredential,
}

/// Our app's credential for an organisation-wide provider.
#[derive(Debug, PartialEq)]
pub enum OrgCredential {
    /// A Google Cloud service account with domain-wide delegation.
    Google(google::ServiceAccountKey),
}

impl OrgCredential {
    /// The id the tenant's admin authorizes in the provider's console.
    pub fn client_id(&self) -> &str {
        match self {
            OrgCredential::Google(key) => &key.client_id,
        }
    }

    /// Where the tenant's admin authorizes us, in the console's own words.
    pub fn console_steps(&self) -> &'static str {
        match self {
            // https://support.google.com/a/answer/162106
            OrgCredential::Google(_) => {
                "In the Google Admin console, go to Menu → Security → Access and data control → API \
                 controls, select Manage Domain Wide Delegation, then click Add new."
            }
        }
    }
}

impl OrgProvider {
    /// Mints the access token of `user` (an address of the tenant, checked by the caller).
    pub async fn mint(&self, http: &Http, user: &str) -> Result<Tokens, UpstreamError> {
        let unconfigured = || UpstreamError::new("server_error", "The service is not fully configured.");
        let token_url = self.entry.token_url.as_deref().ok_or_else(unconfigured)?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        match &self.credential {
            OrgCredential::Google(key) => {
                let assertion = key.assertion(user, &self.entry.scopes, token_url, now).map_err(|e| {
                    tracing::error!("{}: {e}", self.entry.id);
                    unconfigured()
                })?;
                http.jwt_bearer(&self.entry, token_url, &assertion).await
            }
        }
    }
}

/// What an organisation-wide account keeps (sealed): the tenant and the admin who connected it.
#[derive(Clone, Debug, Deserialize, PartialEq, Serialize)]
pub struct OrgGrant {
    /// The tenant: a domain, lower case.
    pub domain: String,
    /// The admin's address, the user acted as when the API names none.
    pub admin: String,
}

impl OrgGrant {
    /// Whether `user` (an address) is a user of the tenant: its domain, compared without case.
    pub fn holds(&self, user: &str) -> bool {
        domain_of(user).is_some_and(|domain| domain.eq_ignore_ascii_case(&self.domain))
    }
}

/// The domain of an address `local@domain`, when it looks like one (one `@`, both sides
/// non-empty, a dotted domain of letters, digits, `-` and `.`).
pub fn domain_of(address: &str) -> Option<&str> {
    let (local, domain) = address.split_once('@')?;
    let fine = !local.is_empty()
        && local.len() <= 64
        && !local.chars().any(|c| c.is_whitespace() || c.is_control() || c == '@')
        && is_domain(domain);
    fine.then_some(domain)
}

/// Whether `text` is a DNS domain name of at least two labels.
pub fn is_domain(text: &str) -> bool {
    text.len() <= 253
        && text.contains('.')
        && text.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// Reads the credential of an organisation-wide entry from exactly one of `key_file` (the
/// whole file) and `key_env` (a variable holding the JSON). Errors name the field, the file or
/// the variable, never a value.
pub fn read_credential(key_file: Option<&Path>, key_env: Option<&str>) -> Result<OrgCredential, String> {
    let (field, text) = match (key_file, key_env) {
        (Some(path), None) => (
            "key_file",
            std::fs::read_to_string(path)
                .map_err(|e| format!("key_file: cannot read {}: {}", path.display(), e.kind()))?,
        ),
        (None, Some(variable)) => (
            "key_env",
            std::env::var(variable)
                .map_err(|_| format!("key_env: the environment variable {variable} is not set"))?,
        ),
        (None, None) => return Err("a service account key is needed: key_file or key_env".to_owned()),
        _ => return Err("give only one of key_file and key_env".to_owned()),
    };
    let key = google::ServiceAccountKey::parse(&text).map_err(|e| format!("{field}: {e}"))?;
    Ok(OrgCredential::Google(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_holds_its_own_addresses_only() {
        let grant = OrgGrant { domain: "acme.test".into(), admin: "root@acme.test".into() };
        assert!(grant.holds("ann@acme.test") && grant.holds("Bob@ACME.test"));
        for outside in ["eve@evil.test", "eve@sub.acme.test", "acme.test", "@acme.test", "a@b@acme.test", ""]
        {
            assert!(!grant.holds(outside), "{outside}");
        }
        assert!(is_domain("acme.test") && !is_domain("acme") && !is_domain("-a.test") && !is_domain("a..b"));
    }
}
