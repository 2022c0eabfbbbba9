//! The TOML file, as written ([`File`]), and its checks, key by key, into a [`Config`]
//! (`TryFrom<File>`); each error names its key ([`ConfigError`]).

use super::{App, Config, ConfigError, DEFAULT_UPSTREAM_TIMEOUT, MIN_API_KEY_LEN};
use crate::accounts::settings::{self as accounts, Refresh};
use crate::events::settings::Webhook;
use crate::logging::LogFormat;
use crate::origin::{Origin, TrustedDomain};
use crate::pages::branding::{Branding, BrandingEntry};
use crate::pages::settings as pages;
use crate::popup::settings::{self as popup, Quotas};
use crate::providers::upstream::Secret;
use crate::providers::{self, ProviderConfig};
use crate::secrets::KeySource;
use crate::serve;
use crate::sign_in::settings as sign_in;
use crate::store::Database;
#[cfg(feature = "test-support")]
use crate::testing::fault::Fault;
use serde::Deserialize;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Duration;

/// The address listened on without `--listen`.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The database without `--database`.
pub const DEFAULT_DATABASE: &str = "data/authenticator.sqlite";

/// A configuration file as written: see the README's "Configuration" for its keys.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    apps: Vec<AppEntry>,
    www_dir: Option<PathBuf>,
    dist_dir: Option<PathBuf>,
    #[serde(default)]
    popup_flows: Quotas,
    #[serde(default)]
    refresh: Refresh,
    public_url: Option<String>,
    #[serde(default)]
    allow_private_upstreams: bool,
    upstream_timeout_secs: Option<u64>,
    sign_in_token_ttl_secs: Option<u64>,
    raw_max_body_bytes: Option<u64>,
    #[serde(default)]
    providers: Vec<ProviderConfig>,
    /// Whether the apps' `fault` entries are accepted (`--test-faults`): not a key of the file.
    #[cfg(feature = "test-support")]
    #[serde(skip)]
    test_faults: bool,
}

#[cfg(feature = "test-support")]
impl File {
    /// The file, its apps' `fault` entries accepted or not (`--test-faults`).
    pub fn with_test_faults(self, test_faults: bool) -> File {
        File { test_faults, ..self }
    }
}

/// An app's `fault` as written: read with the `test-support` feature, else only recognised (and
/// refused).
#[cfg(feature = "test-support")]
type FaultEntry = Fault;
#[cfg(not(feature = "test-support"))]
type FaultEntry = serde::de::IgnoredAny;

/// An [`App`] as written in the file: its Trusted Domains are parsed after reading, so that an
/// error can name the app (`apps[0]: ...`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AppEntry {
    client_id: String,
    trusted_domains: Vec<String>,
    #[serde(default)]
    fault: Option<FaultEntry>,
    api_key: Option<String>,
    api_key_env: Option<String>,
    api_key_file: Option<PathBuf>,
    #[serde(default)]
    allow_credentials: bool,
    #[serde(default)]
    require_sign_in_token: bool,
    #[serde(default)]
    return_urls: Vec<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    public: bool,
    webhook_url: Option<String>,
    webhook_secret: Option<String>,
    webhook_secret_env: Option<String>,
    webhook_secret_file: Option<PathBuf>,
    webhook_events: Option<Vec<String>>,
    #[serde(default)]
    branding: BrandingEntry,
}

impl TryFrom<File> for Config {
    type Error = ConfigError;

    /// Checks every key; the configuration listens on [`DEFAULT_LISTEN`] with
    /// [`DEFAULT_DATABASE`] and the default connection limits, which the command line replaces.
    fn try_from(file: File) -> Result<Config, ConfigError> {
        #[cfg(feature = "test-support")]
        let test_faults = file.test_faults;
        #[cfg(not(feature = "test-support"))]
        let test_faults = false;
        let apps = apps(file.apps, test_faults, file.allow_private_upstreams)?;
        if file.popup_flows.max_per_client == 0 || file.popup_flows.max_per_app == 0 {
            return Err(ConfigError::at("popup_flows", "max_per_client and max_per_app must be at least 1"));
        }
        file.refresh.check().map_err(ConfigError::Table)?;
        let database = Database::parse(DEFAULT_DATABASE);
        let pages = pages::Settings::default();
        Ok(Config {
            services: providers::resolve(&file.providers).map_err(ConfigError::Table)?,
            public_url: file.public_url.as_deref().map(public_url).transpose()?,
            allow_private_upstreams: file.allow_private_upstreams,
            upstream_timeout: seconds(
                "upstream_timeout_secs",
                file.upstream_timeout_secs,
                1..=300,
                DEFAULT_UPSTREAM_TIMEOUT,
            )?,
            sign_in: sign_in::Settings {
                token_ttl: seconds(
                    "sign_in_token_ttl_secs",
                    file.sign_in_token_ttl_secs,
                    1..=3600,
                    sign_in::DEFAULT_TOKEN_TTL,
                )?,
            },
            accounts: accounts::Settings {
                raw_max_body: raw_max_body(file.raw_max_body_bytes)?,
                refresh: file.refresh,
            },
            secret_key: KeySource::Default(PathBuf::from("data/secret.key")),
            listen: DEFAULT_LISTEN.parse().expect("a socket address"),
            database,
            apps,
            pages: pages::Settings {
                www_dir: file.www_dir.unwrap_or(pages.www_dir),
                dist_dir: file.dist_dir.unwrap_or(pages.dist_dir),
            },
            #[cfg(feature = "test-support")]
            latency: Duration::ZERO,
            popup: popup::Settings { flows: file.popup_flows },
            connections: serve::Limits::default(),
            log_format: LogFormat::Plain,
        })
    }
}

/// Checks the `[[apps]]` entries, each against those before it; errors name the app
/// (`apps[1]: ...`).
fn apps(entries: Vec<AppEntry>, test_faults: bool, allow_private: bool) -> Result<Vec<App>, ConfigError> {
    let mut apps = Vec::with_capacity(entries.len());
    for (i, entry) in entries.into_iter().enumerate() {
        let app = app(entry, &apps, test_faults, allow_private)
            .map_err(|message| ConfigError::at(format!("apps[{i}]"), message))?;
        apps.push(app);
    }
    Ok(apps)
}

/// Checks one app, after the apps `before` it; `allow_private`: `allow_private_upstreams`, for
/// its webhook.
fn app(entry: AppEntry, before: &[App], test_faults: bool, allow_private: bool) -> Result<App, String> {
    if entry.client_id.is_empty() {
        return Err("client_id is empty".to_owned());
    }
    if before.iter().any(|other| other.client_id == entry.client_id) {
        return Err(format!("client_id {:?} appears twice", entry.client_id));
    }
    let trusted_domains = entry
        .trusted_domains
        .iter()
        .map(|entry| TrustedDomain::parse(entry))
        .collect::<Result<Vec<_>, _>>()?;
    check_fault(entry.fault.as_ref(), test_faults)?;
    let api_key = api_key(&entry, before)?;
    if entry.require_sign_in_token && api_key.is_none() {
        return Err(
            "require_sign_in_token needs an api_key (its backend mints the tokens with it)".to_owned()
        );
    }
    let return_urls =
        entry.return_urls.iter().map(|text| return_url(text, &trusted_domains)).collect::<Result<_, _>>()?;
    let redirect_uris =
        entry.redirect_uris.iter().map(|text| redirect_uri(text)).collect::<Result<_, _>>()?;
    if !entry.redirect_uris.is_empty() && !entry.public && api_key.is_none() {
        return Err(
            "redirect_uris needs an api_key (the code's exchange), or public = true (PKCE)".to_owned()
        );
    }
    let webhook = webhook(&entry, allow_private)?;
    let branding = Branding::check(entry.branding, &trusted_domains)?;
    Ok(App {
        client_id: entry.client_id,
        trusted_domains,
        #[cfg(feature = "test-support")]
        fault: entry.fault,
        api_key,
        allow_credentials: entry.allow_credentials,
        require_sign_in_token: entry.require_sign_in_token,
        return_urls,
        redirect_uris,
        public: entry.public,
        webhook,
        branding,
    })
}

/// Reads an app's webhook (`webhook_url`, its secret and `webhook_events`), if it has one.
fn webhook(entry: &AppEntry, allow_private: bool) -> Result<Option<Webhook>, String> {
    let secret = providers::read_secret(
        "webhook_secret",
        entry.webhook_secret.as_deref(),
        entry.webhook_secret_env.as_deref(),
        entry.webhook_secret_file.as_deref(),
    )?;
    let Some(url) = &entry.webhook_url else {
        if secret.is_some() || entry.webhook_events.is_some() {
            return Err("webhook_secret and webhook_events need a webhook_url".to_owned());
        }
        return Ok(None);
    };
    Webhook::check(url, secret, entry.webhook_events.clone(), allow_private).map(Some)
}

/// Checks an app's test-only `fault`: accepted with `--test-faults` only.
fn check_fault(entry: Option<&FaultEntry>, test_faults: bool) -> Result<(), String> {
    match entry {
        Some(_) if !test_faults => Err(TEST_ONLY_FAULT.to_owned()),
        #[cfg(feature = "test-support")]
        Some(fault) => fault.check().map_err(|e| format!("fault: {e}")),
        _ => Ok(()),
    }
}

/// Why a `fault` entry is refused.
#[cfg(feature = "test-support")]
const TEST_ONLY_FAULT: &str = "fault is a test-only setting: start the server with --test-faults to use it";
#[cfg(not(feature = "test-support"))]
const TEST_ONLY_FAULT: &str =
    "fault is a test-only setting, for a server built with the test-support feature (make server)";

/// Reads an app's API key (`api_key`, `api_key_env` or `api_key_file`): long enough, without
/// spaces, and not another app's.
fn api_key(entry: &AppEntry, before: &[App]) -> Result<Option<Secret>, String> {
    let key = providers::read_secret(
        "api_key",
        entry.api_key.as_deref(),
        entry.api_key_env.as_deref(),
        entry.api_key_file.as_deref(),
    )?;
    let Some(key) = key else { return Ok(None) };
    if key.chars().count() < MIN_API_KEY_LEN || key.chars().any(char::is_whitespace) {
        return Err(format!("api_key must be at least {MIN_API_KEY_LEN} characters without spaces"));
    }
    if before.iter().any(|other| other.api_key.as_ref().is_some_and(|k| k.expose() == key)) {
        return Err("api_key is the same as another app's".to_owned());
    }
    Ok(Some(Secret::new(key)))
}

/// Reads a registered return URL of an app trusting `trusted_domains`: the error says what is
/// wrong with it.
fn return_url(text: &str, trusted_domains: &[TrustedDomain]) -> Result<url::Url, String> {
    let refuse = |why: &str| Err(format!("return_urls: {text:?} {why}"));
    let Ok(url) = url::Url::parse(text) else { return refuse("is not an absolute URL") };
    if !matches!(url.scheme(), "http" | "https") {
        return refuse("is not an http or https URL");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return refuse("has credentials");
    }
    if url.query().is_some() || url.fragment().is_some() {
        return refuse("has a query or a fragment (register the page's path only)");
    }
    if url.path().starts_with("//") {
        return refuse("has a path starting with //");
    }
    let on_trusted = Origin::parse(&url.origin().ascii_serialization())
        .is_some_and(|origin| origin.is_trusted_by(trusted_domains));
    if !on_trusted {
        return refuse("is not on a Trusted Domain of the app");
    }
    Ok(url)
}

/// Reads a registered redirect URI of the code flow: the error says what is wrong with it.
fn redirect_uri(text: &str) -> Result<String, String> {
    let refuse = |why: &str| Err(format!("redirect_uris: {text:?} {why}"));
    let Ok(url) = url::Url::parse(text) else { return refuse("is not an absolute URL") };
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
        return refuse("is not an https URL (http is for localhost, 127.0.0.1 and [::1] only)");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return refuse("has credentials");
    }
    if url.fragment().is_some() {
        return refuse("has a fragment");
    }
    if url.as_str() != text {
        return refuse(&format!("is not written as the exact URL {:?}", url.as_str()));
    }
    Ok(text.to_owned())
}

/// Reads `public_url`: a `scheme://host[:port]` origin, kept without its trailing slash.
fn public_url(text: &str) -> Result<String, ConfigError> {
    let url = providers::http_url(text).map_err(|e| ConfigError::at("public_url", e))?;
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::at("public_url", format!("{text:?} must be a scheme://host[:port] origin")));
    }
    Ok(text.trim_end_matches('/').to_owned())
}

/// Reads a number of seconds at `key` within `range`; `default` without one.
fn seconds(
    key: &str,
    value: Option<u64>,
    range: RangeInclusive<u64>,
    default: Duration,
) -> Result<Duration, ConfigError> {
    match value {
        None => Ok(default),
        Some(secs) if range.contains(&secs) => Ok(Duration::from_secs(secs)),
        Some(other) => {
            Err(ConfigError::at(key, format!("{other} is not from {} to {}", range.start(), range.end())))
        }
    }
}

/// Reads `raw_max_body_bytes`: at least 1, [`accounts::DEFAULT_RAW_MAX_BODY`] without one.
fn raw_max_body(value: Option<u64>) -> Result<u64, ConfigError> {
    match value {
        None => Ok(accounts::DEFAULT_RAW_MAX_BODY),
        Some(0) => Err(ConfigError::at("raw_max_body_bytes", "must be at least 1")),
        Some(bytes) => Ok(bytes),
    }
}
