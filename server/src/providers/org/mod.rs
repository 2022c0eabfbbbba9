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
//! **Microsoft 365** ([`microsoft`]) differs in three places: the operator gives our Entra
//! app's `client_id` and client secret (no key); in the pop-up the admin names the tenant and
//! is sent to Microsoft's admin-consent endpoint (the entry's `authorization_url`, which only
//! consent-flow entries have), whose answer comes back to the provider's callback; and its
//! tokens are the tenant's (client-credentials grant), cached once per tenant, acting as a user
//! being a rewrite of the raw path ([`microsoft::as_user_path`]).
//!
//! **Box** ([`box_enterprise`]) takes our app's `client_id` and client secret as Microsoft
//! does, but its admin authorizes the app in the Admin Console (no consent page): the pop-up
//! asks the enterprise id and proves it by minting the enterprise's token (client-credentials
//! grant, `box_subject_type=enterprise`); acting as a user mints that user's token
//! (`box_subject_type=user`), cached per (account, user) as Google's are. Users are Box ids.

pub mod box_enterprise;
pub mod google;
pub mod microsoft;

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
    /// Our multi-tenant Microsoft Entra app, consented to per tenant.
    Microsoft(microsoft::AppCredential),
    /// Our Box app (Client Credentials Grant), authorized per enterprise; a client secret only.
    Box(microsoft::AppCredential),
}

impl OrgCredential {
    /// The id the tenant's admin authorizes in the provider's console.
    pub fn client_id(&self) -> &str {
        match self {
            OrgCredential::Google(key) => &key.client_id,
            OrgCredential::Microsoft(app) | OrgCredential::Box(app) => &app.client_id,
        }
    }

    /// Whether the tenant's admin grants access by the provider's admin-consent page (the
    /// pop-up sends them there) rather than in its console (the pop-up checks by minting).
    pub fn consents(&self) -> bool {
        matches!(self, OrgCredential::Microsoft(_))
    }

    /// Where the tenant's admin authorizes us, in the console's own words; `None` for a
    /// consent-flow provider, whose consent page the pop-up describes in the page's language.
    pub fn console_steps(&self) -> Option<&'static str> {
        match self {
            // https://support.google.com/a/answer/162106
            OrgCredential::Google(_) => Some(
                "In the Google Admin console, go to Menu → Security → Access and data control → API \
                 controls, select Manage Domain Wide Delegation, then click Add new.",
            ),
            // https://developer.box.com/guides/authorization/platform-app-approval/ (formerly
            // Apps → Custom Apps Manager → Add App).
            OrgCredential::Box(_) => Some(
                "In the Box Admin Console, go to Integrations → Platform Apps Manager → Server \
                 Authentication Apps, click Add Platform App, enter the client ID below, then Authorize.",
            ),
            OrgCredential::Microsoft(_) => None,
        }
    }

    /// Whether the tenant is a Box enterprise (the pop-up asks its enterprise id).
    pub fn enterprise(&self) -> bool {
        matches!(self, OrgCredential::Box(_))
    }
}

impl OrgProvider {
    /// Whom a token of `grant`'s tenant is minted for, and cached under, to act as `user`
    /// (default: the admin): the user (Google), the tenant itself (Microsoft: app-only
    /// tokens are the tenant's), or the user or else the enterprise (Box: a
    /// [`box_enterprise::Subject::key`]).
    pub fn minted_for(&self, grant: &OrgGrant, user: Option<&str>) -> String {
        match &self.credential {
            OrgCredential::Google(_) => user.unwrap_or(&grant.admin).to_owned(),
            OrgCredential::Microsoft(_) => grant.domain.clone(),
            OrgCredential::Box(_) => match user {
                Some(user) => box_enterprise::Subject::User(user).key(),
                None => box_enterprise::Subject::Enterprise(&grant.domain).key(),
            },
        }
    }

    /// Whether `user` (as `X-Kloudless-As-User` gave it) may be a user of `grant`'s tenant: an
    /// address at one of its domains, or for Box a user id (whose enterprise Box checks when
    /// minting).
    pub fn holds(&self, grant: &OrgGrant, user: &str) -> bool {
        match &self.credential {
            OrgCredential::Box(_) => box_enterprise::is_id(user),
            _ => grant.holds(user),
        }
    }

    /// Mints the access token of `subject` ([`OrgProvider::minted_for`]): a user of the tenant
    /// (checked by the caller), or the tenant.
    pub async fn mint(&self, http: &Http, subject: &str) -> Result<Tokens, UpstreamError> {
        let unconfigured = || UpstreamError::new("server_error", "The service is not fully configured.");
        let token_url = self.entry.token_url.as_deref().ok_or_else(unconfigured)?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        match &self.credential {
            OrgCredential::Google(key) => {
                let assertion = key.assertion(subject, &self.entry.scopes, token_url, now).map_err(|e| {
                    tracing::error!("{}: {e}", self.entry.id);
                    unconfigured()
                })?;
                http.jwt_bearer(&self.entry, token_url, &assertion).await
            }
            OrgCredential::Microsoft(app) => {
                if !microsoft::is_tenant(subject) {
                    return Err(UpstreamError::new(
                        "invalid_request",
                        "The tenant is not a tenant id or domain.",
                    ));
                }
                let token_url = microsoft::for_tenant(token_url, subject);
                http.client_credentials(&self.entry, &token_url, app, &self.entry.scopes, &[], now).await
            }
            OrgCredential::Box(app) => {
                let subject = box_enterprise::Subject::of_key(subject)
                    .ok_or_else(|| UpstreamError::new("invalid_request", "The user is not a Box user id."))?;
                http.client_credentials(&self.entry, token_url, app, &[], &subject.params(), now).await
            }
        }
    }

    /// Whether a mint's refusal `error` for `subject` ([`OrgProvider::minted_for`]) means the
    /// tenant took its authorization back (the account becomes inactive): Google's
    /// `unauthorized_client` (the delegation removed), Microsoft's
    /// [`microsoft::consent_revoked`], or Box's [`box_enterprise::revoked`].
    pub fn revoked(&self, error: &UpstreamError, subject: &str) -> bool {
        match &self.credential {
            OrgCredential::Google(_) => error.code == "unauthorized_client",
            OrgCredential::Microsoft(_) => microsoft::consent_revoked(error),
            OrgCredential::Box(_) => box_enterprise::revoked(error, box_enterprise::Subject::of_key(subject)),
        }
    }
}

/// A user of a tenant, as the users listing gives it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OrgUser {
    /// The provider's id of the user.
    pub id: String,
    /// The user's address (what `X-Kloudless-As-User` takes).
    pub email: String,
    /// The display name, if any.
    pub name: Option<String>,
    /// Whether the user may sign in (not suspended or disabled).
    pub active: bool,
}

/// One page of a tenant's users, and the provider's token for the next page, if any.
#[derive(Debug, PartialEq)]
pub struct UsersPage {
    /// The users.
    pub users: Vec<OrgUser>,
    /// The provider's page token of the next page (never a URL).
    pub next: Option<String>,
}

/// The longest provider page token taken or given.
pub const MAX_PAGE_TOKEN: usize = 2048;

impl OrgProvider {
    /// The URL of the page of `grant`'s users after the provider's page token `after` (none:
    /// the first), `size` per page: always on the entry's API base, the token only a query
    /// value. `None` when the entry has no API base.
    pub fn users_url(&self, grant: &OrgGrant, size: u32, after: Option<&str>) -> Option<String> {
        let base = self.entry.api_base.as_deref()?;
        match &self.credential {
            OrgCredential::Google(_) => google::users_url(base, &grant.domain, size, after),
            OrgCredential::Microsoft(_) => microsoft::users_url(base, size, after),
            OrgCredential::Box(_) => box_enterprise::users_url(base, size, after),
        }
    }

    /// Reads a page of users from the provider's reply to [`OrgProvider::users_url`].
    pub fn users_page(&self, reply: &serde_json::Value) -> Result<UsersPage, UpstreamError> {
        let page = match &self.credential {
            OrgCredential::Google(_) => google::users_page(reply),
            OrgCredential::Microsoft(_) => microsoft::users_page(reply, self.entry.api_base.as_deref()),
            OrgCredential::Box(_) => box_enterprise::users_page(reply),
        };
        page.ok_or_else(|| {
            UpstreamError::new("server_error", "The service's list of users could not be read.")
        })
    }
}

/// What an organisation-wide account keeps (sealed): the tenant and the admin who connected it.
#[derive(Clone, Debug, Deserialize, PartialEq, Serialize)]
pub struct OrgGrant {
    /// The tenant: a domain, lower case (Google), a tenant id (Microsoft) or an enterprise id
    /// (Box).
    pub domain: String,
    /// The admin's address, the user acted as when the API names none (Google; empty for
    /// Microsoft and Box, whose default tokens are the tenant's).
    pub admin: String,
    /// The tenant's verified domains, lower case (Microsoft: its users' addresses are at these).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verified_domains: Vec<String>,
}

impl OrgGrant {
    /// Whether `user` (an address) is a user of the tenant: its domain, compared without case,
    /// is the tenant's or one of its verified domains.
    pub fn holds(&self, user: &str) -> bool {
        domain_of(user).is_some_and(|domain| {
            std::iter::once(&self.domain)
                .chain(&self.verified_domains)
                .any(|tenant| domain.eq_ignore_ascii_case(tenant))
        })
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
    let (field, text) = read_key(key_file, key_env)?;
    let key = google::ServiceAccountKey::parse(&text).map_err(|e| format!("{field}: {e}"))?;
    Ok(OrgCredential::Google(key))
}

/// The text of exactly one of `key_file` (the whole file) and `key_env` (a variable), with the
/// field it came from. Errors name the field, the file or the variable, never a value.
pub fn read_key(key_file: Option<&Path>, key_env: Option<&str>) -> Result<(&'static str, String), String> {
    Ok(match (key_file, key_env) {
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
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_holds_its_own_addresses_only() {
        let grant =
            OrgGrant { domain: "acme.test".into(), admin: "root@acme.test".into(), verified_domains: vec![] };
        assert!(grant.holds("ann@acme.test") && grant.holds("Bob@ACME.test"));
        let tenant = OrgGrant {
            domain: "aaaabbbb-0000-cccc-1111-dddd2222eeee".into(),
            admin: String::new(),
            verified_domains: vec!["contoso.test".into(), "contoso.onmicrosoft.test".into()],
        };
        assert!(tenant.holds("ann@contoso.test") && tenant.holds("bob@Contoso.onmicrosoft.test"));
        assert!(!tenant.holds("eve@evil.test") && !tenant.holds("x@aaaabbbb-0000-cccc-1111-dddd2222eeee"));
        for outside in ["eve@evil.test", "eve@sub.acme.test", "acme.test", "@acme.test", "a@b@acme.test", ""]
        {
            assert!(!grant.holds(outside), "{outside}");
        }
        assert!(is_domain("acme.test") && !is_domain("acme") && !is_domain("-a.test") && !is_domain("a..b"));
    }
}
