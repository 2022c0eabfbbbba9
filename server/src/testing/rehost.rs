//! A catalogue entry re-hosted on a local test provider (the quirk simulator): a configuration
//! may not change a catalogue entry's URLs, by design, but the conformance tests must run each
//! entry — its own quirk fields: client authentication, PKCE, scopes, identity method and
//! paths — against the simulator's endpoints.

use crate::config::Config;
use crate::providers::catalogue::Entry;
use crate::providers::services::Connect;
use std::sync::Arc;

/// What a re-hosted per-server entry's hostname must match: the simulator's `127.0.0.1:PORT`.
pub const LOCAL_PATTERN: &str = "127.0.0.1:*";

/// Points the enabled catalogue entry `id` at the provider at `base` (`http://127.0.0.1:PORT`),
/// which serves `/authorize`, `/token` (`/refresh` for a `refresh_url`), `/identity` (an
/// API-key entry's `check_url` too), `/revoke` and the API at every other path:
/// each URL keeps its query (and the API base its path); an `{instance_url}` API base is left
/// to the token reply to name; a per-server entry's URLs that hold `{hostname}` keep it, its
/// pattern becoming [`LOCAL_PATTERN`]; a URL holding `{tenant}` keeps its own path; an
/// `{account}` URL (Azure Storage's, `https://{account}.blob.core.windows.net/…`) becomes
/// path-style, `{base}/{account}/…` with its own path and query, as Azurite (Microsoft's
/// emulator) serves an account. Everything else of the entry is kept.
pub fn rehost(config: &mut Config, id: &str, base: &str) -> Result<(), String> {
    let service = config
        .services
        .iter_mut()
        .find(|service| service.id == id)
        .ok_or_else(|| format!("{id} is not enabled"))?;
    let shared = || format!("{id}'s configuration is in use already: re-host it before the server starts");
    match &mut service.connect {
        Connect::Upstream(upstream) => {
            let upstream = Arc::get_mut(upstream).ok_or_else(shared)?;
            upstream.entry = rehosted(&upstream.entry, base)?;
        }
        Connect::Credentials(entry) => {
            let entry = Arc::get_mut(entry).ok_or_else(shared)?;
            *entry = rehosted(entry, base)?;
        }
        Connect::Org(org) => {
            let org = Arc::get_mut(org).ok_or_else(shared)?;
            org.entry = rehosted(&org.entry, base)?;
        }
        Connect::Demo => return Err(format!("{id} is a demo service")),
    }
    Ok(())
}

/// `entry` with its URLs at `base` (see [`rehost`]).
fn rehosted(entry: &Entry, base: &str) -> Result<Entry, String> {
    let moved = |url: &Option<String>, path: &str| -> Result<Option<String>, String> {
        let Some(url) = url else { return Ok(None) };
        let host = if url.contains("{hostname}") { "http://{hostname}" } else { base };
        let probe = url
            .replace("{hostname}", "host.example")
            .replace("{region}", "us-east-1")
            .replace("{account}", "account")
            .replace("{instance_url}", "https://i.example")
            .replace("{site}", "site");
        url::Url::parse(&probe).map_err(|e| format!("{url}: {e}"))?;
        // The URL's own path, placeholders ({site}) kept.
        let own = url.split('?').next().unwrap_or_default().splitn(4, '/').nth(3).unwrap_or_default();
        let own = format!("/{}", own.trim_end_matches('/'));
        let query = url.split_once('?').map(|(_, query)| format!("?{query}")).unwrap_or_default();
        if url.contains("{account}") {
            // Path-style, as Azurite serves an account: its own path and query under it.
            let own = if path.is_empty() { own.trim_end_matches('/') } else { own.as_str() };
            return Ok(Some(format!("{base}/{{account}}{own}{query}")));
        }
        // A URL naming the tenant (Microsoft 365's) keeps its path, where the tenant is.
        let path = if path.is_empty() || url.contains("{tenant}") { own.trim_end_matches('/') } else { path };
        Ok(Some(format!("{host}{path}{query}")))
    };
    let mut moved_entry = entry.clone();
    moved_entry.authorization_url = moved(&entry.authorization_url, "/authorize")?;
    moved_entry.token_url = moved(&entry.token_url, "/token")?;
    moved_entry.refresh_url = moved(&entry.refresh_url, "/refresh")?;
    moved_entry.identity_url = moved(&entry.identity_url, "/identity")?;
    moved_entry.revocation_url = moved(&entry.revocation_url, "/revoke")?;
    moved_entry.check_url = moved(&entry.check_url, "/identity")?;
    if let Some(lookup) = &mut moved_entry.site_lookup {
        lookup.url = moved(&Some(lookup.url.clone()), "")?.unwrap_or_default();
    }
    if !entry.api_base.as_deref().is_some_and(|api| api.starts_with("{instance_url}")) {
        moved_entry.api_base = moved(&entry.api_base, "")?;
    }
    if entry.issuer.as_deref().is_some_and(|issuer| issuer.contains("{hostname}")) {
        moved_entry.issuer = Some("http://{hostname}".to_owned());
    }
    if entry.hostname_pattern.is_some() {
        moved_entry.hostname_pattern = Some(LOCAL_PATTERN.to_owned());
    }
    Ok(moved_entry)
}
