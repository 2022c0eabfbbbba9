//! Upstream providers: the catalogue (data, [`catalogue`]), the operator's `[[providers]]`
//! that enable entries of it or add custom OpenID Connect / OAuth 2.0 providers (resolved here
//! into [`crate::providers::services::Service`] values), and the calls made to them ([`client`]).

pub mod catalogue;
pub mod client;
pub mod guard;
pub mod icons;
pub mod notice;
pub mod org;
pub mod raw_params;
pub mod scope;
pub mod services;
pub mod upstream;

use catalogue::{ClientAuth, Entry, IdentityPaths, Kind};
use serde::Deserialize;
use services::{Connect, Service};
use std::path::PathBuf;
use std::sync::Arc;
use upstream::{Secret, Upstream};

/// The kind of a `[[providers]]` entry that is not (only) a catalogue entry.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum ConfigKind {
    /// A custom OpenID Connect provider, by issuer URL (discovery).
    Oidc,
    /// A custom OAuth 2.0 provider, by its endpoint URLs.
    Oauth2,
    /// A custom API-key service, by the URL that checks a key.
    ApiKey,
    /// A custom basic-authentication service, by the URL that checks a user name and password.
    Basic,
    /// A custom organisation-wide service: a token endpoint taking RFC 7523 assertions signed
    /// with a Google-format service account key ([`org`]), by its `token_url` and `api_base`.
    ServiceAccount,
    /// A simulated service of the built-in demo provider.
    Demo,
}

/// One `[[providers]]` entry of the operator's configuration.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// The service id: a catalogue entry's, or a custom provider's own.
    pub id: String,
    /// A custom provider's kind; absent for a catalogue entry.
    pub kind: Option<ConfigKind>,
    /// A custom provider's display name (or a catalogue entry's, replaced).
    pub name: Option<String>,
    /// A custom provider's category (or a catalogue entry's, replaced).
    pub category: Option<String>,
    /// `oidc`: the issuer URL (its endpoints discovered from it). `oauth2`: the issuer
    /// identifier its authorization responses carry as `iss` (RFC 9207; `{hostname}` in it is
    /// the account's server), checked when given.
    pub issuer: Option<String>,
    /// Our OAuth app's client id.
    pub client_id: Option<String>,
    /// Our OAuth app's client secret, in the file itself.
    pub client_secret: Option<String>,
    /// …or the environment variable that holds it.
    pub client_secret_env: Option<String>,
    /// …or the file that holds it (its first line).
    pub client_secret_file: Option<PathBuf>,
    /// A `service_account` entry: the file holding the service account's JSON key.
    pub key_file: Option<PathBuf>,
    /// …or the environment variable that holds the JSON key. An admin-consent
    /// `service_account` entry (Microsoft 365): the certificate's private key (PEM).
    pub key_env: Option<String>,
    /// An admin-consent `service_account` entry (Microsoft 365): the certificate uploaded to
    /// the app registration (PEM), whose key (`key_file` / `key_env`) signs our client
    /// assertions instead of a client secret.
    pub certificate_file: Option<PathBuf>,
    /// `oauth2`: the authorization endpoint. `service_account`: the admin-consent endpoint
    /// (`{tenant}` in it), which makes it a consent-flow provider ([`org::microsoft`]).
    pub authorization_url: Option<String>,
    /// `oauth2` / `service_account`: the token endpoint.
    pub token_url: Option<String>,
    /// `oauth2`: the identity endpoint (an OpenID userinfo by default paths).
    pub identity_url: Option<String>,
    /// `oauth2`: how the identity endpoint is called (`GET`, `POST` or `INTROSPECT`; default:
    /// the entry's, or `GET` for custom providers).
    pub identity_method: Option<catalogue::Method>,
    /// `oauth2`: when its URLs hold `{hostname}` (a per-server provider), the pattern the
    /// hostname typed in the pop-up must match (`*` is one DNS label or a port; several,
    /// separated by spaces: any). A per-server catalogue entry's, replaced (a self-hosted
    /// server's name).
    pub hostname_pattern: Option<String>,
    /// `api_key` / `basic`: the endpoint that checks the credential.
    pub check_url: Option<String>,
    /// `api_key` / `basic`: how the credential is sent (see [`catalogue::Placement`]).
    pub credential: Option<String>,
    /// Where the identity sits in the identity (or check) endpoint's reply (default: the
    /// OpenID claims `sub`, `email` / `preferred_username`, `name`).
    pub identity: Option<IdentityPaths>,
    /// The scopes asked for at the normal level, replacing the entry's.
    pub scopes: Option<Vec<String>>,
    /// The scopes asked for at the admin level, replacing the entry's.
    pub admin_scopes: Option<Vec<String>>,
    /// Extra authorization parameters, added to the entry's.
    #[serde(default)]
    pub authorization_params: std::collections::BTreeMap<String, String>,
    /// Whether to send PKCE (default: the entry's, or on for custom providers).
    pub pkce: Option<bool>,
    /// The token endpoint's client authentication (default: a catalogue entry's; for an `oidc`
    /// provider, chosen from its discovery document's `token_endpoint_auth_methods_supported`;
    /// else `client_secret_basic`).
    pub client_auth: Option<ClientAuth>,
    /// `oauth2` / `oidc`: the token revocation endpoint (RFC 7009) called when an account is
    /// disconnected (an `oidc` provider's is otherwise discovered as `revocation_endpoint`).
    pub revocation_url: Option<String>,
    /// `oauth2` / `oidc` / `service_account` / `api_key` / `basic`: the API's base URL, the only
    /// place the pass-through API reaches.
    pub api_base: Option<String>,
    /// The `raw[…]` parameters passed on to the authorization URL, replacing the entry's
    /// ([`Entry::raw_params`]).
    pub raw_params: Option<Vec<String>>,
    /// The upstream scopes a `scope` may nest for this provider, replacing the entry's
    /// ([`Entry::allowed_scopes`]).
    pub allowed_scopes: Option<Vec<String>>,
    /// The logo: a bundled icon's slug ([`icons`]), replacing the entry's.
    pub icon: Option<String>,
    /// A catalogue entry with a `revocation_notice` (GitHub, Slack): the secret its revocation
    /// notices are signed with (GitHub: the app's webhook secret; Slack: its signing secret),
    /// in the file itself; without one, no notice is taken.
    pub revocation_secret: Option<String>,
    /// …or the environment variable that holds it.
    pub revocation_secret_env: Option<String>,
    /// …or the file that holds it (its first line).
    pub revocation_secret_file: Option<PathBuf>,
}

/// Resolves the operator's `[[providers]]` against the built-in catalogue into the services the
/// pop-up offers. No `[[providers]]` at all keeps the demo provider's services. Errors name the
/// entry (`providers[1] (gdrive): ...`) and never hold a secret.
pub fn resolve(entries: &[ProviderConfig]) -> Result<Vec<Service>, String> {
    if entries.is_empty() {
        return Ok(services::demo());
    }
    let catalogue = catalogue::catalogue()?;
    let mut resolved: Vec<Service> = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let service = resolve_one(entry, &catalogue)
            .and_then(|service| with_icon(service, entry.icon.as_deref()))
            .and_then(|service| match &service.connect {
                // Only an upstream's entry can describe notices (checked when it is built).
                Connect::Upstream(_) => Ok(service),
                _ if revocation_secret(entry)?.is_some() => Err(NO_NOTICES.to_owned()),
                _ => Ok(service),
            })
            .map_err(|e| format!("providers[{i}] ({}): {e}", entry.id))?;
        if resolved.iter().any(|other| other.id == service.id) {
            return Err(format!("providers[{i}]: the id {:?} appears twice", entry.id));
        }
        resolved.push(service);
    }
    Ok(resolved)
}

/// `service` with the logo `icon` names, when it names one of the bundled icons.
fn with_icon(service: Service, icon: Option<&str>) -> Result<Service, String> {
    let Some(icon) = icon else { return Ok(service) };
    if icons::find(icon).is_none() {
        return Err(format!("icon {icon:?} is not a bundled icon (see server/assets/icons.json)"));
    }
    Ok(Service { icon: Some(icon.to_owned()), ..service })
}

fn resolve_one(config: &ProviderConfig, catalogue: &[Entry]) -> Result<Service, String> {
    if !catalogue::is_service_id(&config.id) {
        return Err("the id must be 1 to 64 of a-z, 0-9, _ and -".to_owned());
    }
    let custom_name = |what: &str| {
        config
            .name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| format!("name is needed for a {what} provider"))
    };
    let custom_category = |what: &str| {
        config
            .category
            .clone()
            .filter(|c| !c.trim().is_empty())
            .ok_or_else(|| format!("category is needed for a {what} provider"))
    };
    let mut issuer = None;
    let mut entry = match config.kind {
        Some(ConfigKind::Demo) => {
            let known = services::DEMO.iter().find(|(id, _, _)| *id == config.id);
            let name = match (&config.name, known) {
                (Some(name), _) => format!("{name} (demo)"),
                (None, Some((_, name, _))) => (*name).to_owned(),
                (None, None) => custom_name("demo")?,
            };
            let category = match (&config.category, known) {
                (Some(category), _) => category.clone(),
                (None, Some((_, _, category))) => (*category).to_owned(),
                (None, None) => custom_category("demo")?,
            };
            return Ok(services::demo_service(&config.id, &name, &category));
        }
        Some(kind @ (ConfigKind::ApiKey | ConfigKind::Basic)) => {
            let what = if kind == ConfigKind::ApiKey { "api_key" } else { "basic" };
            let mut entry = custom_entry(config, custom_name(what)?, custom_category(what)?);
            entry.kind = if kind == ConfigKind::ApiKey { Kind::ApiKey } else { Kind::Basic };
            entry.check_url = Some(
                config
                    .check_url
                    .clone()
                    .ok_or_else(|| format!("check_url is needed for a {what} provider"))?,
            );
            entry.credential = config.credential.clone();
            entry.hostname_pattern = config.hostname_pattern.clone();
            entry.api_base = config.api_base.clone();
            if let Some(identity) = &config.identity {
                entry.identity = identity.clone();
            }
            catalogue::check(&entry)?;
            return Ok(credentials_service(entry, &config.id));
        }
        Some(ConfigKind::ServiceAccount) => {
            let what = "service_account";
            let mut entry = custom_entry(config, custom_name(what)?, custom_category(what)?);
            entry.kind = Kind::ServiceAccount;
            entry.scopes = config.scopes.clone().ok_or("scopes are needed for a service_account provider")?;
            entry.token_url = config.token_url.clone();
            entry.api_base = config.api_base.clone();
            // An admin-consent endpoint: a Microsoft 365-like tenant (see [`org_service`]).
            entry.authorization_url = config.authorization_url.clone();
            catalogue::check(&entry)?;
            return org_service(entry, config);
        }
        Some(ConfigKind::Oidc) => {
            let url = config.issuer.clone().ok_or("issuer is needed for an oidc provider")?;
            http_url(&url).map_err(|e| format!("issuer: {e}"))?;
            issuer = Some(url.trim_end_matches('/').to_owned());
            let mut entry = custom_entry(config, custom_name("oidc")?, custom_category("oidc")?);
            if let Some(url) = &config.revocation_url {
                http_url(url).map_err(|e| format!("revocation_url: {e}"))?;
            }
            entry.revocation_url = config.revocation_url.clone();
            if let Some(url) = &config.api_base {
                http_url(url).map_err(|e| format!("api_base: {e}"))?;
            }
            entry.api_base = config.api_base.clone();
            entry
        }
        Some(ConfigKind::Oauth2) => {
            let mut entry = custom_entry(config, custom_name("oauth2")?, custom_category("oauth2")?);
            for (field, value) in [
                ("authorization_url", &config.authorization_url),
                ("token_url", &config.token_url),
                ("identity_url", &config.identity_url),
            ] {
                let url = value.clone().ok_or_else(|| format!("{field} is needed for an oauth2 provider"))?;
                http_url(&url.replace("{hostname}", "host.example")).map_err(|e| format!("{field}: {e}"))?;
            }
            entry.authorization_url = config.authorization_url.clone();
            entry.token_url = config.token_url.clone();
            entry.identity_url = config.identity_url.clone();
            entry.hostname_pattern = config.hostname_pattern.clone();
            entry.revocation_url = config.revocation_url.clone();
            entry.api_base = config.api_base.clone();
            entry.issuer = config.issuer.clone();
            catalogue::check(&entry)?;
            entry
        }
        None => {
            let mut entry =
                catalogue.iter().find(|e| e.answers_to(&config.id)).cloned().ok_or_else(|| {
                    "there is no catalogue entry with this id: give a kind (oidc, oauth2 or demo) for a \
                 custom provider"
                        .to_owned()
                })?;
            if entry.kind == Kind::ServiceAccount {
                return org_service(entry, config);
            }
            if !entry.has_tokens() {
                if let Some(name) = &config.name {
                    entry.name = name.clone();
                }
                if config.client_id.is_some() || config.client_secret.is_some() {
                    return Err("an api_key or basic service takes no client_id or client_secret: \
                                each user types their own credential"
                        .to_owned());
                }
                return Ok(credentials_service(entry, &config.id));
            }
            if let Some(name) = &config.name {
                entry.name = name.clone();
            }
            if let Some(category) = &config.category {
                entry.category = category.clone();
            }
            if let Some(pattern) = &config.hostname_pattern {
                if entry.hostname_pattern.is_none() || entry.callback_hostname.is_some() {
                    return Err("hostname_pattern: this entry's server is not typed in the pop-up".to_owned());
                }
                // A self-hosted server of a per-server entry (SugarCRM's own host).
                entry.hostname_pattern = Some(pattern.clone());
            }
            for field in [
                &config.issuer,
                &config.authorization_url,
                &config.token_url,
                &config.identity_url,
                &config.revocation_url,
                &config.api_base,
            ] {
                if field.is_some() {
                    return Err(
                        "a catalogue entry's URLs are the catalogue's: give a kind for a custom provider"
                            .to_owned(),
                    );
                }
            }
            entry
        }
    };
    if let Some(scopes) = &config.scopes {
        entry.scopes = scopes.clone();
    }
    if let Some(scopes) = &config.admin_scopes {
        entry.admin_scopes = scopes.clone();
    }
    if let Some(params) = &config.raw_params {
        if let Some(name) = params.iter().find(|name| raw_params::is_protocol(name)) {
            return Err(format!("raw_params: {name} is the protocol's own parameter"));
        }
        entry.raw_params = params.clone();
    }
    if let Some(scopes) = &config.allowed_scopes {
        entry.allowed_scopes = scopes.clone();
    }
    entry.authorization_params.extend(config.authorization_params.clone());
    if let Some(pkce) = config.pkce {
        entry.pkce = pkce;
    }
    if let Some(auth) = config.client_auth {
        entry.client_auth = auth;
    }
    if let Some(method) = config.identity_method {
        entry.identity_method = method;
    }
    let client_id = config.client_id.clone().filter(|c| !c.is_empty()).ok_or("client_id is needed")?;
    let client_secret = client_secret(config)?;
    let revocation_secret = revocation_secret(config)?;
    if revocation_secret.is_some() && entry.revocation_notice.is_none() {
        return Err(NO_NOTICES.to_owned());
    }
    let upstream = Upstream {
        entry: entry.clone(),
        client_id,
        client_secret,
        revocation_secret,
        discover_client_auth: issuer.is_some() && config.client_auth.is_none(),
        issuer,
        discovered: tokio::sync::OnceCell::new(),
    };
    Ok(Service {
        id: entry.id.clone(),
        aliases: entry.id_aliases.clone(),
        config_id: config.id.clone(),
        name: entry.name,
        category: entry.category,
        icon: entry.icon.clone(),
        connect: Connect::Upstream(Arc::new(upstream)),
    })
}

/// A service connected with a credential typed in the pop-up, enabled as `config_id`.
fn credentials_service(entry: Entry, config_id: &str) -> Service {
    Service {
        id: entry.id.clone(),
        aliases: entry.id_aliases.clone(),
        config_id: config_id.to_owned(),
        name: entry.name.clone(),
        category: entry.category.clone(),
        icon: entry.icon.clone(),
        connect: Connect::Credentials(Arc::new(entry)),
    }
}

/// An organisation-wide service ([`org`]) enabled by `config`: its key read, its scopes the
/// entry's unless `scopes` replaces them.
/// An entry with an admin-consent `authorization_url` (Microsoft 365) takes our app's
/// `client_id` and client secret (or certificate); one whose client authenticates by
/// `client_secret_post` (Box's Client Credentials Grant), our app's `client_id` and client
/// secret; any other, a key (Google Workspace).
fn org_service(mut entry: Entry, config: &ProviderConfig) -> Result<Service, String> {
    let secret_given = config.client_secret.is_some()
        || config.client_secret_env.is_some()
        || config.client_secret_file.is_some();
    let key_given = config.key_file.is_some() || config.key_env.is_some();
    if let Some(name) = &config.name {
        entry.name = name.clone();
    }
    if let Some(scopes) = &config.scopes {
        entry.scopes = scopes.clone();
    }
    if let Some(auth) = config.client_auth {
        entry.client_auth = auth;
    }
    let credential = if entry.authorization_url.is_some() {
        let client_id = config.client_id.clone().filter(|id| !id.trim().is_empty());
        let client_id = client_id.ok_or("client_id is needed: our app's application (client) id")?;
        let auth = match (key_given, &config.certificate_file) {
            (false, None) => org::microsoft::ClientAuth::Secret(client_secret(config)?),
            (true, Some(certificate)) if !secret_given => {
                let (field, key) = org::read_key(config.key_file.as_deref(), config.key_env.as_deref())?;
                let pem = std::fs::read_to_string(certificate).map_err(|e| {
                    format!("certificate_file: cannot read {}: {}", certificate.display(), e.kind())
                })?;
                let certificate = org::microsoft::Certificate::parse(&key, &pem).map_err(|e| {
                    let at = if e.starts_with("the key") { field } else { "certificate_file" };
                    format!("{at}: {e}")
                })?;
                org::microsoft::ClientAuth::Certificate(certificate)
            }
            _ => {
                return Err("an admin-consent service takes a client secret, or a certificate \
                            (certificate_file with key_file or key_env), not both"
                    .to_owned());
            }
        };
        org::OrgCredential::Microsoft(org::microsoft::AppCredential { client_id, auth })
    } else if entry.client_auth == ClientAuth::ClientSecretPost {
        // Box's Client Credentials Grant: our app's client id and secret in the form.
        let client_id = config.client_id.clone().filter(|id| !id.trim().is_empty());
        let client_id = client_id.ok_or("client_id is needed: our app's client id")?;
        if key_given || config.certificate_file.is_some() {
            return Err("a client-credentials service takes client_id and a client secret, no key".to_owned());
        }
        let auth = org::microsoft::ClientAuth::Secret(client_secret(config)?);
        org::OrgCredential::Box(org::microsoft::AppCredential { client_id, auth })
    } else {
        if config.client_id.is_some() || secret_given || config.certificate_file.is_some() {
            return Err("a service_account service takes key_file or key_env, no client_id or client_secret"
                .to_owned());
        }
        org::read_credential(config.key_file.as_deref(), config.key_env.as_deref())?
    };
    Ok(Service {
        id: entry.id.clone(),
        aliases: entry.id_aliases.clone(),
        config_id: config.id.clone(),
        name: entry.name.clone(),
        category: entry.category.clone(),
        icon: entry.icon.clone(),
        connect: Connect::Org(Arc::new(org::OrgProvider { entry, credential })),
    })
}

/// The entry a custom provider describes: OpenID Connect's identity claims, `openid email
/// profile` unless scopes are given, PKCE on.
fn custom_entry(config: &ProviderConfig, name: String, category: String) -> Entry {
    let openid = ["openid", "email", "profile"].map(str::to_owned).to_vec();
    Entry {
        id: config.id.clone(),
        name,
        category,
        kind: Kind::Oauth2,
        docs: String::new(),
        authorization_url: None,
        token_url: None,
        scopes: openid.clone(),
        admin_scopes: openid,
        scope_separator: " ".to_owned(),
        scope_param: "scope".to_owned(),
        authorization_params: Default::default(),
        pkce: true,
        client_auth: ClientAuth::default(),
        identity_url: None,
        identity_method: catalogue::Method::Get,
        identity: IdentityPaths::openid(),
        api_base: None,
        hostname_pattern: None,
        server_path: false,
        check_url: None,
        check: None,
        credential: None,
        revocation_url: None,
        issuer: None,
        id_aliases: Vec::new(),
        raw_params: Vec::new(),
        allowed_scopes: Vec::new(),
        icon: None,
        help: None,
        labels: None,
        token_path: None,
        default_expires_in: None,
        refresh_url: None,
        site_lookup: None,
        token_params: Default::default(),
        api_headers: Default::default(),
        identity_body: None,
        secret_hash: false,
        token_body: Default::default(),
        callback_hostname: None,
        instance_url_field: "instance_url".to_owned(),
        bad_credential_statuses: vec![401],
        revocation_notice: None,
        profile: None,
    }
}

/// The client secret, from exactly one of `client_secret`, `client_secret_env` and
/// `client_secret_file`. Errors name the variable or file, never a value.
fn client_secret(config: &ProviderConfig) -> Result<Secret, String> {
    let text = read_secret(
        "client_secret",
        config.client_secret.as_deref(),
        config.client_secret_env.as_deref(),
        config.client_secret_file.as_deref(),
    )?
    .ok_or_else(|| {
        "a client secret is needed: client_secret, client_secret_env or client_secret_file".to_owned()
    })?;
    if text.is_empty() {
        return Err("the client secret is empty".to_owned());
    }
    Ok(Secret::new(text))
}

/// Why a `revocation_secret` is refused for a provider whose entry has no `revocation_notice`.
const NO_NOTICES: &str = "revocation_secret: this provider sends no revocation notices this server reads";

/// The secret of the provider's revocation notices, if one of `revocation_secret`,
/// `revocation_secret_env` and `revocation_secret_file` gives it.
fn revocation_secret(config: &ProviderConfig) -> Result<Option<Secret>, String> {
    let text = read_secret(
        "revocation_secret",
        config.revocation_secret.as_deref(),
        config.revocation_secret_env.as_deref(),
        config.revocation_secret_file.as_deref(),
    )?;
    match text {
        Some(text) if text.is_empty() => Err("the revocation secret is empty".to_owned()),
        text => Ok(text.map(Secret::new)),
    }
}

/// A secret given by at most one of `{field}` (inline), `{field}_env` (an environment
/// variable) and `{field}_file` (a file's first line), trimmed; `None` when none is given.
/// Errors name the field, the variable or the file, never a value.
pub fn read_secret(
    field: &str,
    inline: Option<&str>,
    env: Option<&str>,
    file: Option<&std::path::Path>,
) -> Result<Option<String>, String> {
    let text = match (inline, env, file) {
        (Some(secret), None, None) => secret.to_owned(),
        (None, Some(variable), None) => std::env::var(variable)
            .map_err(|_| format!("{field}_env: the environment variable {variable} is not set"))?,
        (None, None, Some(path)) => std::fs::read_to_string(path)
            .map_err(|e| format!("{field}_file: cannot read {}: {}", path.display(), e.kind()))?
            .lines()
            .next()
            .unwrap_or("")
            .to_owned(),
        (None, None, None) => return Ok(None),
        _ => return Err(format!("give only one of {field}, {field}_env and {field}_file")),
    };
    Ok(Some(text.trim().to_owned()))
}

/// Checks an absolute http(s) URL.
pub fn http_url(text: &str) -> Result<url::Url, String> {
    match url::Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(url),
        _ => Err(format!("{text:?} is not an absolute http(s) URL")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(toml_text: &str) -> Result<Vec<Service>, String> {
        #[derive(Deserialize)]
        struct File {
            providers: Vec<ProviderConfig>,
        }
        let file: File = toml::from_str(toml_text).map_err(|e| e.to_string())?;
        resolve(&file.providers)
    }

    #[test]
    fn no_providers_keeps_the_demo_services() {
        assert_eq!(resolve(&[]).unwrap(), services::demo());
    }

    #[test]
    fn catalogue_entries_custom_providers_and_demo_services_resolve() {
        let services = load(
            "[[providers]]\nid = \"gdrive\"\nclient_id = \"c\"\nclient_secret = \"s\"\n\
             [[providers]]\nid = \"acme\"\nname = \"Acme ID\"\ncategory = \"storage\"\nkind = \"oidc\"\n\
             issuer = \"https://id.acme.example/\"\nclient_id = \"c\"\nclient_secret = \"s\"\n\
             [[providers]]\nid = \"box\"\nkind = \"demo\"\n",
        )
        .unwrap();
        assert_eq!(
            services.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
            ["Google Drive", "Acme ID", "Box (demo)"]
        );
        let Connect::Upstream(acme) = &services[1].connect else { panic!() };
        assert_eq!(acme.issuer.as_deref(), Some("https://id.acme.example"));
        assert_eq!(acme.entry.identity, IdentityPaths::openid());
        assert_eq!(services[2].connect, Connect::Demo);
    }

    #[test]
    fn a_catalogue_entry_enabled_by_its_alias_keeps_that_id_for_its_callback_and_accounts() {
        let by_alias =
            load("[[providers]]\nid = \"onedrive\"\nclient_id = \"c\"\nclient_secret = \"s\"\n").unwrap();
        assert_eq!((by_alias[0].id.as_str(), by_alias[0].config_id.as_str()), ("skydrive", "onedrive"));
        assert!(by_alias[0].answers_to("onedrive") && by_alias[0].answers_to("skydrive"));
        let both = "[[providers]]\nid = \"onedrive\"\nclient_id = \"c\"\nclient_secret = \"s\"\n\
                    [[providers]]\nid = \"skydrive\"\nclient_id = \"c\"\nclient_secret = \"s\"\n";
        assert!(load(both).unwrap_err().contains("appears twice"));
        let raw = "[[providers]]\nid = \"gdrive\"\nclient_id = \"c\"\nclient_secret = \"s\"\nraw_params = [\"state\"]\n";
        assert!(load(raw).unwrap_err().contains("state is the protocol's own"));
        let own = "[[providers]]\nid = \"gdrive\"\nclient_id = \"c\"\nclient_secret = \"s\"\n\
                   raw_params = [\"hd\"]\nallowed_scopes = [\"openid\"]\n";
        let Connect::Upstream(gdrive) = &load(own).unwrap()[0].connect else { panic!() };
        assert_eq!(
            (gdrive.entry.raw_params.clone(), gdrive.entry.allowed_scopes.clone()),
            (vec!["hd".into()], vec!["openid".into()])
        );
    }

    #[test]
    fn an_oauth2_providers_issuer_is_the_one_its_responses_must_name_and_never_discovery() {
        let per_server = "[[providers]]\nid = \"intranet\"\nkind = \"oauth2\"\nname = \"I\"\ncategory = \"crm\"\n\
             client_id = \"c\"\nclient_secret = \"s\"\nhostname_pattern = \"*.intranet.test\"\n\
             authorization_url = \"https://{hostname}/a\"\ntoken_url = \"https://{hostname}/t\"\n\
             identity_url = \"https://{hostname}/me\"\nissuer = \"https://{hostname}\"\n";
        let services = load(per_server).unwrap();
        let Connect::Upstream(intranet) = &services[0].connect else { panic!() };
        assert_eq!(intranet.entry.issuer.as_deref(), Some("https://{hostname}"));
        assert_eq!(intranet.issuer, None, "an oauth2 provider's endpoints are its URLs, not discovered");
        let unpatterned = per_server
            .replace("hostname_pattern = \"*.intranet.test\"\n", "")
            .replace("{hostname}", "intranet.test")
            .replace("issuer = \"https://intranet.test\"", "issuer = \"https://{hostname}\"");
        assert!(load(&unpatterned).unwrap_err().contains("no hostname_pattern"));
    }

    #[test]
    fn a_per_server_entrys_pattern_may_name_a_self_hosted_server() {
        let sugar = "[[providers]]\nid = \"sugarcrm\"\nclient_id = \"c\"\nclient_secret = \"s\"\n";
        let own = format!("{sugar}hostname_pattern = \"crm.acme.test\"\n");
        let Connect::Upstream(upstream) = &load(&own).unwrap()[0].connect else { panic!() };
        assert_eq!(upstream.entry.hostname_pattern.as_deref(), Some("crm.acme.test"));
        let fixed = "[[providers]]\nid = \"gdrive\"\nclient_id = \"c\"\nclient_secret = \"s\"\nhostname_pattern = \"x.test\"\n";
        assert!(load(fixed).unwrap_err().contains("not typed in the pop-up"));
    }

    #[test]
    fn bad_entries_are_refused_with_a_reason_and_no_secret() {
        let cases = [
            ("id = \"nope\"\nclient_id = \"c\"\nclient_secret = \"s3cr3t\"", "no catalogue entry"),
            ("id = \"gdrive\"\nclient_id = \"c\"", "a client secret is needed"),
            ("id = \"gdrive\"\nclient_secret = \"s3cr3t\"", "client_id is needed"),
            (
                "id = \"gdrive\"\nclient_id = \"c\"\nclient_secret_env = \"KLOUDLESS_TEST_UNSET_VARIABLE\"",
                "KLOUDLESS_TEST_UNSET_VARIABLE is not set",
            ),
            (
                "id = \"gdrive\"\nclient_id = \"c\"\nclient_secret = \"s3cr3t\"\nclient_secret_file = \"/x\"",
                "only one of",
            ),
            (
                "id = \"a\"\nkind = \"oidc\"\nname = \"A\"\ncategory = \"crm\"\nclient_id = \"c\"\nclient_secret = \"s3cr3t\"",
                "issuer is needed",
            ),
            (
                "id = \"a\"\nkind = \"oidc\"\nname = \"A\"\ncategory = \"crm\"\nissuer = \"ftp://x\"\nclient_id = \"c\"\nclient_secret = \"s3cr3t\"",
                "not an absolute http(s) URL",
            ),
            (
                "id = \"a\"\nkind = \"oauth2\"\nname = \"A\"\ncategory = \"crm\"\nclient_id = \"c\"\nclient_secret = \"s3cr3t\"",
                "authorization_url is needed",
            ),
            ("id = \"pipedrive_token\"\nclient_id = \"c\"", "takes no client_id"),
            (
                "id = \"gdrive\"\nclient_id = \"c\"\nclient_secret = \"s\"\nrevocation_secret = \"s3cr3t\"",
                "sends no revocation notices",
            ),
            ("id = \"pipedrive_token\"\nrevocation_secret = \"s3cr3t\"", "sends no revocation notices"),
            (
                "id = \"github\"\nclient_id = \"c\"\nclient_secret = \"s\"\nrevocation_secret_env = \"KLOUDLESS_TEST_UNSET_VARIABLE\"",
                "revocation_secret_env: the environment variable KLOUDLESS_TEST_UNSET_VARIABLE is not set",
            ),
            ("id = \"k\"\nkind = \"api_key\"\nname = \"K\"\ncategory = \"crm\"", "check_url is needed"),
            (
                "id = \"google_workspace\"\nclient_id = \"c\"\nkey_env = \"X\"",
                "no client_id or client_secret",
            ),
            ("id = \"google_workspace\"", "a service account key is needed"),
            (
                "id = \"w\"\nkind = \"service_account\"\nname = \"W\"\ncategory = \"storage\"\nkey_env = \"X\"",
                "scopes are needed",
            ),
            (
                "id = \"w\"\nkind = \"service_account\"\nname = \"W\"\ncategory = \"storage\"\nscopes = [\"s\"]",
                "token_url is needed",
            ),
            (
                "id = \"google_workspace\"\nkey_env = \"KLOUDLESS_TEST_UNSET_VARIABLE\"",
                "key_env: the environment variable KLOUDLESS_TEST_UNSET_VARIABLE is not set",
            ),
            ("id = \"google_workspace\"\nkey_file = \"/nonexistent/k.json\"\nkey_env = \"X\"", "only one of"),
            (
                "id = \"box_enterprise\"\nclient_id = \"c\"\nclient_secret = \"s3cr3t\"\nkey_env = \"X\"",
                "no key",
            ),
            ("id = \"box_enterprise\"\nclient_secret = \"s3cr3t\"", "client_id is needed"),
            ("id = \"Bad Id\"\nkind = \"demo\"\nname = \"x\"\ncategory = \"y\"", "the id must be"),
        ];
        for (entry, expected) in cases {
            let error = load(&format!("[[providers]]\n{entry}\n")).unwrap_err();
            assert!(error.contains(expected), "{entry}: {error}");
            assert!(!error.contains("s3cr3t"), "{error}");
        }
        let twice =
            "[[providers]]\nid = \"box\"\nkind = \"demo\"\n[[providers]]\nid = \"box\"\nkind = \"demo\"\n";
        assert!(load(twice).unwrap_err().contains("appears twice"));
        let debug = format!(
            "{:?}",
            load("[[providers]]\nid = \"gdrive\"\nclient_id = \"c\"\nclient_secret = \"s3cr3t\"\n").unwrap()
        );
        assert!(!debug.contains("s3cr3t"), "{debug}");
    }
}
