//! The server's configuration: one typed struct, from the command line and a TOML file.

use crate::faults::Fault;
use crate::keep_alive;
use crate::origin::{Origin, TrustedDomain};
use crate::progress::Quotas;
use crate::providers::{self, ProviderConfig, Secret};
use crate::secrets::KeySource;
use crate::serve;
use crate::services::Service;
use crate::store::Database;
use serde::Deserialize;
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
    /// app's results go back by `postMessage` only: see [`crate::returns`].
    pub return_urls: Vec<url::Url>,
}

/// The shortest API key accepted in the configuration.
pub const MIN_API_KEY_LEN: usize = 24;

/// Everything the server runs with.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The database: an SQLite file, or PostgreSQL (`--database`).
    pub database: Database,
    /// The apps that may use this server.
    pub apps: Vec<App>,
    /// The demo page's folder, served at `/`.
    pub www_dir: PathBuf,
    /// The library build's folder, served at `/dist/`.
    pub dist_dir: PathBuf,
    /// Added latency before every API request is answered (`--latency-ms`, for benchmarks; zero
    /// by default): see [`crate::latency`].
    pub latency: Duration,
    /// The limits on the pop-up flows tracked for the second channel (`[popup_flows]`).
    pub popup_flows: Quotas,
    /// The sweep keeping idle accounts' upstream grants alive (`[refresh]`): see
    /// [`keep_alive`].
    pub refresh: keep_alive::Settings,
    /// A new connection is closed unless it sends a complete request head within this time
    /// (`--header-timeout-secs`, default [`serve::DEFAULT_HEADER_TIMEOUT`]).
    pub header_timeout: Duration,
    /// A kept-alive connection is closed unless it completes its next request head within this
    /// time of the previous response (`--idle-timeout-secs`, default
    /// [`serve::DEFAULT_IDLE_TIMEOUT`]); at least `header_timeout`.
    pub idle_timeout: Duration,
    /// A connection is closed when writing to it makes no progress for this long: its client
    /// stopped reading (`--write-timeout-secs`, default [`serve::DEFAULT_WRITE_TIMEOUT`]).
    pub write_timeout: Duration,
    /// The most connections open at once; more wait in the listen backlog
    /// (`--max-connections`, default [`serve::default_max_connections`]).
    pub max_connections: usize,
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
    /// The largest request body the pass-through API passes on (`raw_max_body_bytes`, default
    /// [`DEFAULT_RAW_MAX_BODY`]); every other route takes at most 16 KiB. See [`crate::raw`].
    pub raw_max_body: u64,
    /// Where the key sealing upstream secrets comes from (`--secret-key-file`; by default
    /// `AUTHENTICATOR_SECRET_KEY` or `secret.key` in the data directory): see [`crate::secrets`].
    pub secret_key: KeySource,
    /// How long a minted sign-in token may wait for its pop-up (`sign_in_token_ttl_secs`, 1 to
    /// 3600, default [`DEFAULT_SIGN_IN_TOKEN_TTL`]).
    pub sign_in_token_ttl: Duration,
}

/// The default time a sign-in token may wait for its pop-up: 5 minutes.
pub const DEFAULT_SIGN_IN_TOKEN_TTL: Duration = Duration::from_secs(300);

/// The default time an upstream call may take.
pub const DEFAULT_UPSTREAM_TIMEOUT: Duration = Duration::from_secs(10);

/// The default largest request body of the pass-through API: 100 MiB.
pub const DEFAULT_RAW_MAX_BODY: u64 = 100 * 1024 * 1024;

/// What the command line asks for.
// Made once at start-up and taken apart at once: boxing the configuration would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, PartialEq)]
pub enum Command {
    /// Serve with this configuration.
    Run(Config),
    /// Print [`USAGE`].
    Help,
}

/// The command line's help text.
pub const USAGE: &str = "\
Usage: authenticator-server [--config FILE] [--database FILE] [--listen ADDR] [--test-faults]
                            [--latency-ms MS] [--header-timeout-secs S] [--idle-timeout-secs S]
                            [--write-timeout-secs S] [--max-connections N]
                            [--secret-key-file FILE]

  --config FILE     TOML file with [[apps]] entries (client_id, trusted_domains), optional
                    www_dir / dist_dir and an optional [popup_flows] table (max_per_client,
                    max_per_app, return_window_secs). A trusted domain is an origin with its
                    scheme, e.g. \"https://app.example.com\" or \"http://intranet.test:8080\"; a
                    bare host[:port] (both http and https) is only for localhost, 127.0.0.1 and
                    [::1]. An optional [refresh] table: sweep_interval_secs (default 3600;
                    0 turns off the sweep refreshing idle accounts) and idle_refresh_after_secs
                    (default 86400). An app may have an API key for the account API (api_key |
                    api_key_env | api_key_file, at least 24 characters) and allow_credentials =
                    true (its backend may read upstream access tokens), and
                    require_sign_in_token = true (every pop-up needs a sign-in token its backend
                    minted; sign_in_token_ttl_secs = 300 at the top level), and return_urls =
                    [\"https://app.example.com/kloudless-return\"] (the pages a pop-up whose
                    opener was cut may bring a result back to: exact URLs on a Trusted Domain,
                    no query; without any, results go back by postMessage only). Default: app
                    \"demo\" trusting localhost:8080, 127.0.0.1:8080 and, for the examples,
                    localhost:8000, localhost:5173 and localhost:4173.
                    Real services: public_url = \"https://auth.example.com\" (each provider
                    redirects to its own {public_url}/v1/oauth/callback/{id}: register that
                    redirect URI with it), allow_private_upstreams = false,
                    upstream_timeout_secs = 10, raw_max_body_bytes = 104857600 (the
                    pass-through API's largest request body), and [[providers]] entries: a catalogue id with
                    client_id and client_secret | client_secret_env | client_secret_file, or a
                    custom provider (kind = \"oidc\" with issuer, \"oauth2\" with its URLs and
                    optionally the issuer its responses name as iss,
                    \"api_key\" or \"basic\" with check_url, or \"demo\"); without
                    [[providers]], the demo provider's simulated services. See the README's
                    \"Connecting real services\".
  --secret-key-file FILE
                    the key (64 hex digits) sealing upstream tokens at rest (default: the
                    AUTHENTICATOR_SECRET_KEY variable, else secret.key beside the SQLite
                    database, created with mode 0600 on first run)
  --database FILE|URL
                    SQLite database file or sqlite:// URL (default: data/authenticator.sqlite),
                    or a postgres:// URL (for more than one instance); created when missing
  --listen ADDR     address to listen on (default: 127.0.0.1:8080)
  --test-faults     FOR TESTS ONLY: accept a `fault` key in [[apps]] entries, which makes the API
                    misbehave for that app's tokens, e.g.
                      fault = { endpoint = \"token\", kind = \"status_500\" }
                    endpoint: token | account; kind: status_500 | status_401 | malformed_json |
                    slow (optional slow_ms, default 5000) | drop | other_client_id (token only)
  --header-timeout-secs S
                    close a new connection that has not sent a complete request head within S
                    seconds (default 10)
  --idle-timeout-secs S
                    close a kept-alive connection that has not completed its next request head
                    within S seconds of the previous response (default 60; at least the header
                    timeout)
  --write-timeout-secs S
                    close a connection when writing a response to it makes no progress for S
                    seconds: its client stopped reading (default 30)
  --max-connections N
                    serve at most N connections at once; more wait in the listen backlog
                    (default: half the open-file limit `ulimit -n`, at most 10000)
  --help            this text
";

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    apps: Vec<AppEntry>,
    www_dir: Option<PathBuf>,
    dist_dir: Option<PathBuf>,
    #[serde(default)]
    popup_flows: Quotas,
    #[serde(default)]
    refresh: keep_alive::Settings,
    public_url: Option<String>,
    #[serde(default)]
    allow_private_upstreams: bool,
    upstream_timeout_secs: Option<u64>,
    sign_in_token_ttl_secs: Option<u64>,
    raw_max_body_bytes: Option<u64>,
    #[serde(default)]
    providers: Vec<ProviderConfig>,
}

/// An [`App`] as written in the file: its Trusted Domains are parsed after reading, so that an
/// error can name the app (`apps[0]: ...`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AppEntry {
    client_id: String,
    trusted_domains: Vec<String>,
    #[serde(default)]
    fault: Option<Fault>,
    api_key: Option<String>,
    api_key_env: Option<String>,
    api_key_file: Option<PathBuf>,
    #[serde(default)]
    allow_credentials: bool,
    #[serde(default)]
    require_sign_in_token: bool,
    #[serde(default)]
    return_urls: Vec<String>,
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

impl Config {
    /// Reads the command line (without the program name); errors are messages for the user.
    pub fn from_args(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
        let mut listen = "127.0.0.1:8080".to_owned();
        let mut database = Database::parse("data/authenticator.sqlite");
        let mut file = None;
        let mut test_faults = false;
        let mut latency = Duration::ZERO;
        let mut header_timeout = serve::DEFAULT_HEADER_TIMEOUT;
        let mut idle_timeout = serve::DEFAULT_IDLE_TIMEOUT;
        let mut write_timeout = serve::DEFAULT_WRITE_TIMEOUT;
        let mut max_connections = serve::default_max_connections();
        let mut secret_key_file = None;
        let mut args = args.into_iter();
        while let Some(flag) = args.next() {
            let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--help" | "-h" => return Ok(Command::Help),
                "--listen" => listen = value()?,
                "--database" => database = Database::parse(&value()?),
                "--test-faults" => test_faults = true,
                "--latency-ms" => latency = parse_latency(&value()?)?,
                "--header-timeout-secs" => header_timeout = parse_secs(&flag, &value()?)?,
                "--idle-timeout-secs" => idle_timeout = parse_secs(&flag, &value()?)?,
                "--write-timeout-secs" => write_timeout = parse_secs(&flag, &value()?)?,
                "--max-connections" => max_connections = parse_max_connections(&value()?)?,
                "--secret-key-file" => secret_key_file = Some(PathBuf::from(value()?)),
                "--config" => {
                    let path = value()?;
                    let text =
                        std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
                    file = Some((path, text));
                }
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        let listen = listen
            .parse()
            .map_err(|_| format!("--listen {listen:?} is not an address like 127.0.0.1:8080"))?;
        let (source, text) =
            file.unwrap_or_else(|| ("the default config".to_owned(), DEFAULT_CONFIG.to_owned()));
        Config::from_toml_with_faults(&text, listen, database, test_faults)
            .map(|config| Config {
                latency,
                header_timeout,
                idle_timeout,
                write_timeout,
                max_connections,
                secret_key: secret_key_file.map(KeySource::File).unwrap_or(config.secret_key.clone()),
                ..config
            })
            .map_err(|e| format!("{source}: {e}"))
            .and_then(|config| config.connection_limits().map(|_| Command::Run(config)))
    }

    /// Builds a configuration from TOML text and the command-line values; a `fault` is refused.
    pub fn from_toml(text: &str, listen: SocketAddr, database: Database) -> Result<Config, String> {
        Config::from_toml_with_faults(text, listen, database, false)
    }

    /// [`Config::from_toml`], accepting the apps' test-only `fault` when `test_faults` is set
    /// (the `--test-faults` flag).
    pub fn from_toml_with_faults(
        text: &str,
        listen: SocketAddr,
        database: Database,
        test_faults: bool,
    ) -> Result<Config, String> {
        let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut apps = Vec::with_capacity(file.apps.len());
        for (i, app) in file.apps.into_iter().enumerate() {
            if app.client_id.is_empty() {
                return Err(format!("apps[{i}]: client_id is empty"));
            }
            if apps.iter().any(|other: &App| other.client_id == app.client_id) {
                return Err(format!("apps[{i}]: client_id {:?} appears twice", app.client_id));
            }
            let trusted_domains = app
                .trusted_domains
                .iter()
                .map(|entry| TrustedDomain::parse(entry))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("apps[{i}]: {e}"))?;
            if let Some(fault) = &app.fault {
                if !test_faults {
                    return Err(format!(
                        "apps[{i}]: fault is a test-only setting: start the server with --test-faults to use it"
                    ));
                }
                fault.check().map_err(|e| format!("apps[{i}]: fault: {e}"))?;
            }
            let api_key = providers::read_secret(
                "api_key",
                app.api_key.as_deref(),
                app.api_key_env.as_deref(),
                app.api_key_file.as_deref(),
            )
            .map_err(|e| format!("apps[{i}]: {e}"))?;
            if let Some(key) = &api_key
                && (key.chars().count() < MIN_API_KEY_LEN || key.chars().any(|c| c.is_whitespace()))
            {
                return Err(format!(
                    "apps[{i}]: api_key must be at least {MIN_API_KEY_LEN} characters without spaces"
                ));
            }
            if let Some(key) = &api_key
                && apps.iter().any(|other: &App| other.api_key.as_ref().is_some_and(|k| k.expose() == key))
            {
                return Err(format!("apps[{i}]: api_key is the same as another app's"));
            }
            if app.require_sign_in_token && api_key.is_none() {
                return Err(format!(
                    "apps[{i}]: require_sign_in_token needs an api_key (its backend mints the tokens with it)"
                ));
            }
            let return_urls = app
                .return_urls
                .iter()
                .map(|text| return_url(text, &trusted_domains))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("apps[{i}]: {e}"))?;
            let api_key = api_key.map(Secret::new);
            apps.push(App {
                client_id: app.client_id,
                trusted_domains,
                fault: app.fault,
                api_key,
                allow_credentials: app.allow_credentials,
                require_sign_in_token: app.require_sign_in_token,
                return_urls,
            });
        }
        if file.popup_flows.max_per_client == 0 || file.popup_flows.max_per_app == 0 {
            return Err("popup_flows: max_per_client and max_per_app must be at least 1".to_owned());
        }
        file.refresh.check()?;
        let services = providers::resolve(&file.providers)?;
        let public_url = file
            .public_url
            .map(|text| {
                let url = providers::http_url(&text).map_err(|e| format!("public_url: {e}"))?;
                if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
                    return Err(format!("public_url: {text:?} must be a scheme://host[:port] origin"));
                }
                Ok(text.trim_end_matches('/').to_owned())
            })
            .transpose()?;
        let upstream_timeout = match file.upstream_timeout_secs {
            None => DEFAULT_UPSTREAM_TIMEOUT,
            Some(secs @ 1..=300) => Duration::from_secs(secs),
            Some(other) => return Err(format!("upstream_timeout_secs: {other} is not from 1 to 300")),
        };
        let sign_in_token_ttl = match file.sign_in_token_ttl_secs {
            None => DEFAULT_SIGN_IN_TOKEN_TTL,
            Some(secs @ 1..=3600) => Duration::from_secs(secs),
            Some(other) => return Err(format!("sign_in_token_ttl_secs: {other} is not from 1 to 3600")),
        };
        let raw_max_body = match file.raw_max_body_bytes {
            None => DEFAULT_RAW_MAX_BODY,
            Some(0) => return Err("raw_max_body_bytes: must be at least 1".to_owned()),
            Some(bytes) => bytes,
        };
        let data_dir = match &database {
            Database::Sqlite(path) => path.parent().map(PathBuf::from).unwrap_or_default(),
            Database::Postgres(_) => PathBuf::from("data"),
        };
        let bundled = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        Ok(Config {
            services,
            public_url,
            allow_private_upstreams: file.allow_private_upstreams,
            upstream_timeout,
            sign_in_token_ttl,
            raw_max_body,
            secret_key: KeySource::Default(data_dir.join("secret.key")),
            listen,
            database,
            apps,
            www_dir: file.www_dir.unwrap_or_else(|| bundled.join("www")),
            dist_dir: file.dist_dir.unwrap_or_else(|| bundled.join("dist")),
            latency: Duration::ZERO,
            popup_flows: file.popup_flows,
            refresh: file.refresh,
            header_timeout: serve::DEFAULT_HEADER_TIMEOUT,
            idle_timeout: serve::DEFAULT_IDLE_TIMEOUT,
            write_timeout: serve::DEFAULT_WRITE_TIMEOUT,
            max_connections: serve::default_max_connections(),
        })
    }

    /// The app with this `client_id`.
    pub fn app(&self, client_id: &str) -> Option<&App> {
        self.apps.iter().find(|app| app.client_id == client_id)
    }

    /// The connection settings, checked: the three timeouts above zero and at most
    /// [`serve::MAX_TIMEOUT_SECS`], the idle timeout no shorter than the header timeout, and
    /// from 1 to [`serve::MAX_CONNECTIONS`] connections.
    pub fn connection_limits(&self) -> Result<serve::Limits, String> {
        let max = Duration::from_secs(serve::MAX_TIMEOUT_SECS);
        for (flag, timeout) in [
            ("--header-timeout-secs", self.header_timeout),
            ("--idle-timeout-secs", self.idle_timeout),
            ("--write-timeout-secs", self.write_timeout),
        ] {
            if timeout.is_zero() || timeout > max {
                return Err(format!("{flag}: {timeout:?} is not above 0 and at most {}s", max.as_secs()));
            }
        }
        if self.idle_timeout < self.header_timeout {
            return Err(format!(
                "--idle-timeout-secs ({:?}) must be at least --header-timeout-secs ({:?})",
                self.idle_timeout, self.header_timeout
            ));
        }
        if !(1..=serve::MAX_CONNECTIONS).contains(&self.max_connections) {
            return Err(format!(
                "--max-connections {} is not from 1 to {}",
                self.max_connections,
                serve::MAX_CONNECTIONS
            ));
        }
        Ok(serve::Limits {
            header_timeout: self.header_timeout,
            idle_timeout: self.idle_timeout,
            write_timeout: self.write_timeout,
            max_connections: self.max_connections,
        })
    }
}

/// Reads `--latency-ms`: whole milliseconds, at most [`crate::latency::MAX_LATENCY_MS`].
fn parse_latency(value: &str) -> Result<Duration, String> {
    value
        .parse::<u64>()
        .ok()
        .filter(|ms| *ms <= crate::latency::MAX_LATENCY_MS)
        .map(Duration::from_millis)
        .ok_or_else(|| {
            format!(
                "--latency-ms {value:?} is not a number of milliseconds from 0 to {}",
                crate::latency::MAX_LATENCY_MS
            )
        })
}

/// Reads `--header-timeout-secs`, `--idle-timeout-secs` or `--write-timeout-secs` (`flag`):
/// whole seconds, from 1 to
/// [`serve::MAX_TIMEOUT_SECS`].
fn parse_secs(flag: &str, value: &str) -> Result<Duration, String> {
    value
        .parse::<u64>()
        .ok()
        .filter(|secs| (1..=serve::MAX_TIMEOUT_SECS).contains(secs))
        .map(Duration::from_secs)
        .ok_or_else(|| {
            format!("{flag} {value:?} is not a number of seconds from 1 to {}", serve::MAX_TIMEOUT_SECS)
        })
}

/// Reads `--max-connections`: a whole number from 1 to [`serve::MAX_CONNECTIONS`].
fn parse_max_connections(value: &str) -> Result<usize, String> {
    value.parse::<usize>().ok().filter(|n| (1..=serve::MAX_CONNECTIONS).contains(n)).ok_or_else(|| {
        format!("--max-connections {value:?} is not a number from 1 to {}", serve::MAX_CONNECTIONS)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Command, String> {
        Config::from_args(list.iter().map(|s| s.to_string()))
    }

    #[test]
    fn defaults() {
        let Ok(Command::Run(config)) = args(&[]) else { panic!("defaults must parse") };
        assert_eq!(config.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(config.database, Database::Sqlite("data/authenticator.sqlite".into()));
        assert_eq!(
            config.apps,
            vec![App {
                client_id: "demo".into(),
                trusted_domains: [
                    "localhost:8080",
                    "127.0.0.1:8080",
                    "localhost:8000",
                    "localhost:5173",
                    "localhost:4173"
                ]
                .map(|entry| TrustedDomain::LocalDev {
                    host: entry.split_once(':').unwrap().0.into(),
                    port: Some(entry.split_once(':').unwrap().1.parse().unwrap()),
                })
                .to_vec(),
                fault: None,
                api_key: None,
                allow_credentials: false,
                require_sign_in_token: false,
                return_urls: vec![url::Url::parse("http://localhost:8080/").unwrap()],
            }]
        );
        assert_eq!(config.sign_in_token_ttl, DEFAULT_SIGN_IN_TOKEN_TTL);
    }

    #[test]
    fn flags_and_errors() {
        let Ok(Command::Run(config)) = args(&["--listen", "127.0.0.1:0", "--database", "x.db"]) else {
            panic!()
        };
        assert_eq!(config.listen.port(), 0);
        assert_eq!(config.database, Database::Sqlite("x.db".into()));
        assert_eq!(args(&["--help"]), Ok(Command::Help));
        assert!(args(&["--listen"]).unwrap_err().contains("needs a value"));
        assert!(args(&["--listen", "nowhere"]).unwrap_err().contains("not an address"));
        assert!(args(&["--verbose"]).unwrap_err().contains("unknown argument"));
        assert!(args(&["--config", "/nonexistent.toml"]).unwrap_err().contains("cannot read"));
    }

    #[test]
    fn latency_flag() {
        let Ok(Command::Run(config)) = args(&[]) else { panic!() };
        assert_eq!(config.latency, Duration::ZERO, "off by default");
        let Ok(Command::Run(config)) = args(&["--latency-ms", "50"]) else { panic!() };
        assert_eq!(config.latency, Duration::from_millis(50));
        for bad in ["-1", "fast", "1.5", "60001", ""] {
            assert!(
                args(&["--latency-ms", bad]).unwrap_err().contains("not a number of milliseconds"),
                "{bad}"
            );
        }
        assert!(args(&["--latency-ms"]).unwrap_err().contains("needs a value"));
    }

    #[test]
    fn connection_flags() {
        let Ok(Command::Run(config)) = args(&[]) else { panic!() };
        assert_eq!(config.header_timeout, Duration::from_secs(10));
        assert_eq!(config.idle_timeout, Duration::from_secs(60));
        assert_eq!(config.write_timeout, Duration::from_secs(30));
        assert_eq!(config.max_connections, serve::default_max_connections());
        let Ok(Command::Run(config)) = args(&[
            "--header-timeout-secs",
            "2",
            "--idle-timeout-secs",
            "3",
            "--write-timeout-secs",
            "4",
            "--max-connections",
            "50",
        ]) else {
            panic!()
        };
        assert_eq!(
            config.connection_limits(),
            Ok(serve::Limits {
                header_timeout: Duration::from_secs(2),
                idle_timeout: Duration::from_secs(3),
                write_timeout: Duration::from_secs(4),
                max_connections: 50,
            })
        );
        let Ok(Command::Run(config)) = args(&["--header-timeout-secs", "5", "--idle-timeout-secs", "5"])
        else {
            panic!("equal timeouts are fine")
        };
        assert_eq!(config.idle_timeout, Duration::from_secs(5));
        for flag in ["--header-timeout-secs", "--idle-timeout-secs", "--write-timeout-secs"] {
            for bad in ["0", "-1", "1.5", "ten", "", "3601"] {
                let error = args(&[flag, bad]).unwrap_err();
                assert!(
                    error.contains(&format!("{flag} {bad:?} is not a number of seconds from 1 to 3600")),
                    "{error}"
                );
            }
            assert!(args(&[flag]).unwrap_err().contains("needs a value"));
        }
        for bad in ["0", "-1", "many", "", "1000001"] {
            let error = args(&["--max-connections", bad]).unwrap_err();
            assert!(error.contains("is not a number from 1 to 1000000"), "{error}");
        }
        assert!(args(&["--max-connections"]).unwrap_err().contains("needs a value"));
        // The default idle timeout (60 s) is shorter than this header timeout.
        let error = args(&["--header-timeout-secs", "61"]).unwrap_err();
        assert!(
            error.contains("--idle-timeout-secs (60s) must be at least --header-timeout-secs (61s)"),
            "{error}"
        );
    }

    #[test]
    fn connection_limits_are_checked_on_the_struct_too() {
        let at = "127.0.0.1:1".parse().unwrap();
        let toml = "[[apps]]\nclient_id = \"a\"\ntrusted_domains = []\n";
        let config = Config::from_toml(toml, at, "d".into()).unwrap();
        assert_eq!(config.header_timeout, serve::DEFAULT_HEADER_TIMEOUT, "from_toml has the defaults");
        assert_eq!(config.idle_timeout, serve::DEFAULT_IDLE_TIMEOUT);
        assert_eq!(config.write_timeout, serve::DEFAULT_WRITE_TIMEOUT);
        assert!(config.connection_limits().is_ok());
        let short = Duration::from_millis(500);
        let ok = Config { header_timeout: short, idle_timeout: short, ..config.clone() };
        assert!(ok.connection_limits().is_ok(), "sub-second timeouts are for tests");
        for bad in [
            Config { header_timeout: Duration::ZERO, ..config.clone() },
            Config { idle_timeout: Duration::from_secs(3601), ..config.clone() },
            Config { write_timeout: Duration::ZERO, ..config.clone() },
            Config { write_timeout: Duration::from_secs(3601), ..config.clone() },
            Config {
                header_timeout: Duration::from_secs(2),
                idle_timeout: Duration::from_secs(1),
                ..config.clone()
            },
            Config { max_connections: 0, ..config.clone() },
        ] {
            assert!(bad.connection_limits().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn return_urls_are_exact_pages_on_a_trusted_domain() {
        let at = "127.0.0.1:1".parse().unwrap();
        let app = |urls: &str| {
            let toml = format!(
                "[[apps]]\nclient_id = \"a\"\ntrusted_domains = [\"https://a.test\", \"localhost:3000\"]\n\
                 return_urls = [{urls}]\n"
            );
            Config::from_toml(&toml, at, "d".into())
        };
        let config = app("\"https://a.test/return\", \"http://localhost:3000/cb.html\"").unwrap();
        let urls: Vec<String> = config.apps[0].return_urls.iter().map(ToString::to_string).collect();
        assert_eq!(urls, ["https://a.test/return", "http://localhost:3000/cb.html"]);
        assert!(app("").unwrap().apps[0].return_urls.is_empty());
        for (bad, why) in [
            ("/return", "not an absolute URL"),
            ("blob:https://a.test/x", "not an http or https URL"),
            ("https://u:p@a.test/r", "credentials"),
            ("https://a.test/r?next=x", "query or a fragment"),
            ("https://a.test/r?", "query or a fragment"),
            ("https://a.test/r#x", "query or a fragment"),
            ("https://a.test//evil.test/", "starting with //"),
            ("https://b.test/r", "not on a Trusted Domain"),
            ("http://a.test/r", "not on a Trusted Domain"),
        ] {
            let error = app(&format!("{bad:?}")).unwrap_err();
            assert!(error.starts_with("apps[0]: return_urls:") && error.contains(why), "{bad}: {error}");
        }
    }

    #[test]
    fn the_raw_apis_body_limit_defaults_to_100_mib_and_is_at_least_one_byte() {
        let at = "127.0.0.1:1".parse().unwrap();
        let app = "[[apps]]\nclient_id = \"a\"\ntrusted_domains = [\"localhost:3000\"]\n";
        let config = Config::from_toml(app, at, "d".into()).unwrap();
        assert_eq!(config.raw_max_body, 100 * 1024 * 1024);
        let config = Config::from_toml(&format!("raw_max_body_bytes = 5000000000\n{app}"), at, "d".into());
        assert_eq!(config.unwrap().raw_max_body, 5_000_000_000, "more than 4 GiB may be allowed");
        for bad in ["raw_max_body_bytes = 0", "raw_max_body_bytes = -1", "raw_max_body_bytes = \"1M\""] {
            let error = Config::from_toml(&format!("{bad}\n{app}"), at, "d".into()).unwrap_err();
            assert!(error.contains("raw_max_body_bytes"), "{bad}: {error}");
        }
    }

    #[test]
    fn toml_is_checked() {
        let at = "127.0.0.1:1".parse().unwrap();
        let ok = "www_dir = \"/w\"\n[[apps]]\nclient_id = \"a\"\n\
                  trusted_domains = [\"https://x.test\", \"http://y.test:8080\", \"localhost:3000\"]\n";
        let config = Config::from_toml(ok, at, "d".into()).unwrap();
        assert_eq!(config.www_dir, PathBuf::from("/w"));
        assert_eq!(
            config.app("a").unwrap().trusted_domains,
            ["https://x.test", "http://y.test:8080", "localhost:3000"].map(|e| e.parse().unwrap())
        );
        for bad in [
            "[[apps]]\nclient_id = \"a\"\n",
            "[[apps]]\nclient_id = \"a\"\ntrusted_domains = []\ncolour = 1\n",
            "[[apps]]\nclient_id = \"\"\ntrusted_domains = []\n",
            "[[apps]]\nclient_id = \"a\"\ntrusted_domains = []\n[[apps]]\nclient_id = \"a\"\ntrusted_domains = []\n",
            "[[apps]]\nclient_id = \"a\"\ntrusted_domains = [\"a.test; script-src *\"]\n",
            "[[apps]]\nclient_id = \"a\"\ntrusted_domains = [\"https://a.test/\"]\n",
            "[[apps]]\nclient_id = \"a\"\ntrusted_domains = [\"a.test\"]\n",
            "[[apps]]\nclient_id = \"a\"\ntrusted_domains = []\nfault = { endpoint = \"token\", kind = \"drop\" }\n",
            "apps = 3",
            "not toml at all [",
        ] {
            assert!(Config::from_toml(bad, at, "d".into()).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_refresh_table_has_defaults_can_turn_the_sweep_off_and_is_checked() {
        let at = "127.0.0.1:1".parse().unwrap();
        let apps = "[[apps]]\nclient_id = \"a\"\ntrusted_domains = []\n";
        let load = |extra: &str| Config::from_toml(&format!("{apps}{extra}"), at, "d".into());
        assert_eq!(load("").unwrap().refresh, keep_alive::Settings::default());
        let set = load("[refresh]\nsweep_interval_secs = 60\nidle_refresh_after_secs = 600\n").unwrap();
        assert_eq!(
            set.refresh,
            keep_alive::Settings { sweep_interval_secs: 60, idle_refresh_after_secs: 600 }
        );
        let off = load("[refresh]\nsweep_interval_secs = 0\n").unwrap();
        assert_eq!((off.refresh.interval(), off.refresh.idle_after()), (None, Duration::from_secs(86_400)));
        for (bad, error) in [
            (
                "[refresh]\nsweep_interval_secs = 86401\n",
                "sweep_interval_secs 86401 is not from 0 (off) to 86400",
            ),
            ("[refresh]\nidle_refresh_after_secs = 60\n", "idle_refresh_after_secs 60 is not from 300 to"),
            ("[refresh]\nsweep_interval_secs = -1\n", "sweep_interval_secs"),
            ("[refresh]\nmargin_secs = 10\n", "unknown field"),
        ] {
            let text = load(bad).unwrap_err();
            assert!(text.contains(error), "{bad}: {text}");
        }
    }

    #[test]
    fn an_apps_api_key_comes_from_the_file_a_variable_or_a_file_and_is_never_printed() {
        let at = "127.0.0.1:1".parse().unwrap();
        let app = |extra: &str| format!("[[apps]]\nclient_id = \"a\"\ntrusted_domains = []\n{extra}\n");
        let key = "k".repeat(MIN_API_KEY_LEN);
        let config = Config::from_toml(&app(&format!("api_key = \"{key}\"")), at, "d".into()).unwrap();
        assert_eq!(config.apps[0].api_key.as_ref().map(Secret::expose), Some(key.as_str()));
        assert!(!format!("{config:?}").contains(&key), "never in Debug output");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("key");
        std::fs::write(&file, format!("{key}\nignored\n")).unwrap();
        let from_file = app(&format!("api_key_file = \"{}\"", file.display()));
        let config = Config::from_toml(&from_file, at, "d".into()).unwrap();
        assert_eq!(config.apps[0].api_key.as_ref().map(Secret::expose), Some(key.as_str()));
        assert_eq!(Config::from_toml(&app(""), at, "d".into()).unwrap().apps[0].api_key, None);
        for (extra, error) in [
            ("api_key = \"short\"".to_owned(), "at least 24 characters"),
            (format!("api_key = \"{key}\"\napi_key_env = \"X\""), "only one of"),
            ("api_key_env = \"KLOUDLESS_TEST_UNSET_VARIABLE\"".to_owned(), "is not set"),
        ] {
            let error_text = Config::from_toml(&app(&extra), at, "d".into()).unwrap_err();
            assert!(error_text.contains(error) && !error_text.contains(&key), "{error_text}");
        }
        let twice = format!(
            "{}[[apps]]\nclient_id = \"b\"\ntrusted_domains = []\napi_key = \"{key}\"\n",
            app(&format!("api_key = \"{key}\""))
        );
        assert!(Config::from_toml(&twice, at, "d".into()).unwrap_err().contains("the same as another app's"));
    }

    #[test]
    fn sign_in_tokens_are_required_per_app_with_an_api_key_and_their_lifetime_is_bounded() {
        let at = "127.0.0.1:1".parse().unwrap();
        let key = "k".repeat(MIN_API_KEY_LEN);
        let load = |top: &str, extra: &str| {
            let toml = format!("{top}\n[[apps]]\nclient_id = \"a\"\ntrusted_domains = []\n{extra}\n");
            Config::from_toml(&toml, at, "d".into())
        };
        let config =
            load("sign_in_token_ttl_secs = 2", &format!("api_key = \"{key}\"\nrequire_sign_in_token = true"))
                .unwrap();
        assert!(config.apps[0].require_sign_in_token);
        assert_eq!(config.sign_in_token_ttl, Duration::from_secs(2));
        assert!(load("", "require_sign_in_token = true").unwrap_err().contains("needs an api_key"));
        for bad in ["sign_in_token_ttl_secs = 0", "sign_in_token_ttl_secs = 3601"] {
            assert!(load(bad, "").unwrap_err().contains("is not from 1 to 3600"), "{bad}");
        }
    }

    #[test]
    fn bare_entries_other_than_loopback_are_refused() {
        let at = "127.0.0.1:1".parse().unwrap();
        let load = |entries: &str| {
            let toml = format!(
                "[[apps]]\nclient_id = \"a\"\ntrusted_domains = [\"localhost:3000\"]\n\
                 [[apps]]\nclient_id = \"b\"\ntrusted_domains = [{entries}]\n"
            );
            Config::from_toml(&toml, at, "d".into())
        };
        for (entry, suggestion) in [
            ("app.example.com", "https://app.example.com"),
            ("app.example.com:443", "https://app.example.com:443"),
        ] {
            assert_eq!(
                load(&format!("\"https://ok.test\", \"{entry}\"")).unwrap_err(),
                format!(
                    "apps[1]: trusted domain \"{entry}\" has no scheme: write \"{suggestion}\" (bare \
                     host:port entries are only for localhost, 127.0.0.1 and [::1])"
                )
            );
        }
        let loopback = load("\"127.0.0.1\", \"[::1]:8080\", \"LOCALHOST:5173\"").unwrap();
        assert_eq!(
            loopback.apps[1].trusted_domains.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["127.0.0.1", "[::1]:8080", "localhost:5173"]
        );
        for bad in [
            "\"https://a.test/x\"",
            "\"*\"",
            "\"https://u@a.test\"",
            "\"https://a.test?q\"",
            "\"ftp://a.test\"",
            "\"https://a.test:0\"",
        ] {
            assert!(load(bad).unwrap_err().starts_with("apps[1]: trusted domain "), "{bad}");
        }
    }
}
