//! The server's configuration: one typed struct ([`Config`]), from the command line
//! ([`args`], parsed by clap) and a TOML file ([`file`], checked key by key into a
//! [`ConfigError`] naming the key at fault).

pub mod args;
mod error;
pub mod file;

pub use args::Command;
pub use error::ConfigError;
pub use file::File;

use crate::accounts::settings as accounts;
use crate::logging::LogFormat;
use crate::origin::TrustedDomain;
use crate::pages::branding::Branding;
use crate::pages::settings as pages;
use crate::popup::settings as popup;
use crate::providers::services::Service;
use crate::providers::upstream::Secret;
use crate::secrets::KeySource;
use crate::serve;
use crate::sign_in::settings as sign_in;
use crate::store::Database;
#[cfg(feature = "test-support")]
use crate::testing::fault::Fault;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// An app: its `client_id` and the origins its pages may run on.
#[derive(Clone, Debug, PartialEq)]
pub struct App {
    /// The app's id, as pages send it in `client_id`.
    pub client_id: String,
    /// Trusted Domains, parsed when the configuration is loaded: `https://host[:port]` or
    /// `http://host[:port]`, or for development a bare `localhost[:port]`, `127.0.0.1[:port]` or
    /// `[::1][:port]` (both schemes); see [`TrustedDomain`].
    pub trusted_domains: Vec<TrustedDomain>,
    /// A fault to inject in its API replies: test-only, accepted with `--test-faults` only.
    #[cfg(feature = "test-support")]
    pub fault: Option<Fault>,
    /// The key its backend sends as `Authorization: APIKey <key>` to the account API
    /// (`api_key`, `api_key_env` or `api_key_file`; at least [`MIN_API_KEY_LEN`] characters).
    /// Without one, the app's backend has no account API. Never printed.
    pub api_key: Option<Secret>,
    /// Whether its backend may read an account's upstream access token
    /// (`GET /v1/accounts/{id}/credentials/`; `allow_credentials`, default false).
    pub allow_credentials: bool,
    /// Whether every pop-up flow of the app needs a sign-in token minted by its backend
    /// (`require_sign_in_token`, default false; needs an API key): see [`crate::sign_in`].
    pub require_sign_in_token: bool,
    /// The pages a pop-up whose opener was cut may bring a result back to (`return_urls`):
    /// absolute http(s) URLs on a Trusted Domain of the app, without credentials, query or
    /// fragment; a pop-up's `return_to` must be one of them (its query aside). Without any, the
    /// app's results go back by `postMessage` only: see [`crate::popup::returns`].
    pub return_urls: Vec<url::Url>,
    /// Where its server receives the code flow's codes (`redirect_uris`): absolute URLs, each
    /// written as the URL parser writes it, https (http for `localhost`, `127.0.0.1` and `[::1]`
    /// only), without credentials or a fragment; a code flow's `redirect_uri` must be one of
    /// them, character for character. See [`crate::code_flow`].
    pub redirect_uris: Vec<String>,
    /// Whether the app is public (`public`, default false): its code flows need no secret but
    /// must use PKCE (`code_challenge`, S256). Not public, the code flow needs its `api_key`.
    pub public: bool,
    /// Where its accounts' events are posted, signed (`webhook_url` and its secret): see
    /// [`crate::events`]. Without one, the app reads them from `GET /v1/events`.
    pub webhook: Option<crate::events::settings::Webhook>,
    /// How the pop-up presents the app (`[apps.branding]`): see [`Branding`].
    pub branding: Branding,
}

/// The shortest API key accepted in the configuration.
pub const MIN_API_KEY_LEN: usize = 24;

/// Everything the server runs with: the shared keys, and each feature's own settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The database: an SQLite file, or PostgreSQL (`--database`).
    pub database: Database,
    /// The apps that may use this server.
    pub apps: Vec<App>,
    /// The static files: the demo page and the library build (`www_dir`, `dist_dir`).
    pub pages: pages::Settings,
    /// Added latency before every API request is answered (`--latency-ms`, for benchmarks; zero
    /// by default): see [`crate::testing::latency`].
    #[cfg(feature = "test-support")]
    pub latency: Duration,
    /// The pop-up's settings (`[popup_flows]`).
    pub popup: popup::Settings,
    /// The account API's settings (`raw_max_body_bytes`, `[refresh]`).
    pub accounts: accounts::Settings,
    /// The sign-in tokens' settings (`sign_in_token_ttl_secs`).
    pub sign_in: sign_in::Settings,
    /// The connections' timeouts and cap (`--header-timeout-secs`, `--idle-timeout-secs`,
    /// `--write-timeout-secs`, `--max-connections`), checked by [`serve::Limits::check`].
    pub connections: serve::Limits,
    /// The services the pop-up offers (`[[providers]]`; without any, the demo provider's).
    pub services: Vec<Service>,
    /// This server's public URL (`public_url`): each upstream redirects to its own
    /// `{public_url}/v1/oauth/callback/{id}`. Default: `http://` and the address listened on.
    pub public_url: Option<String>,
    /// Whether upstream URLs may resolve to loopback and private addresses
    /// (`allow_private_upstreams`, default false): see [`crate::providers::guard`].
    pub allow_private_upstreams: bool,
    /// How long an upstream call may take (`upstream_timeout_secs`, default 10 s).
    pub upstream_timeout: Duration,
    /// Where the key sealing upstream secrets comes from (`--secret-key-file`; by default
    /// `AUTHENTICATOR_SECRET_KEY` or `secret.key` in the data directory): see [`crate::secrets`].
    pub secret_key: KeySource,
    /// How log lines are written (`--log-format`, plain by default): see [`crate::logging`].
    pub log_format: LogFormat,
}

/// The default time an upstream call may take.
pub const DEFAULT_UPSTREAM_TIMEOUT: Duration = Duration::from_secs(10);

/// The configuration used without `--config`.
pub const DEFAULT_CONFIG: &str = r#"
[[apps]]
client_id = "demo"
# The demo page, then the examples: a static server, `vite` and `vite preview`. Bare host:port
# entries (http and https) are for localhost, 127.0.0.1 and [::1] only: a deployed app's entries
# name their scheme, e.g. "https://app.example.com".
trusted_domains = ["localhost:8080", "127.0.0.1:8080", "localhost:8000", "localhost:5173", "localhost:4173"]
# Where a pop-up whose opener an identity provider cut brings its result back: the demo page.
return_urls = ["http://localhost:8080/"]
"#;

impl Config {
    /// Builds a configuration from TOML text and the command-line values; a `fault` is refused.
    pub fn from_toml(text: &str, listen: SocketAddr, database: Database) -> Result<Config, ConfigError> {
        Config::from_file(toml::from_str(text)?, listen, database)
    }

    /// [`Config::from_toml`], accepting the apps' test-only `fault` when `test_faults` is set
    /// (the `--test-faults` flag).
    #[cfg(feature = "test-support")]
    pub fn from_toml_with_faults(
        text: &str,
        listen: SocketAddr,
        database: Database,
        test_faults: bool,
    ) -> Result<Config, ConfigError> {
        let file: File = toml::from_str(text)?;
        Config::from_file(file.with_test_faults(test_faults), listen, database)
    }

    /// [`Config::try_from`] the file, listening on `listen` with `database` (whose folder holds
    /// the default secret key).
    fn from_file(file: File, listen: SocketAddr, database: Database) -> Result<Config, ConfigError> {
        let data_dir = match &database {
            Database::Sqlite(path) => path.parent().map(PathBuf::from).unwrap_or_default(),
            Database::Postgres(_) => PathBuf::from("data"),
        };
        let secret_key = KeySource::Default(data_dir.join("secret.key"));
        Ok(Config { listen, database, secret_key, ..Config::try_from(file)? })
    }

    /// The app with this `client_id`.
    pub fn app(&self, client_id: &str) -> Option<&App> {
        self.apps.iter().find(|app| app.client_id == client_id)
    }
}

#[cfg(test)]
mod tests;
