//! The command line, parsed by clap: each flag with its range and default, `--help` generated
//! from the doc comments below. The test knobs (`--test-faults`, `--latency-ms`, `--rehost`) exist only with
//! the `test-support` feature: the release binary refuses them as unknown arguments.

use super::file::{DEFAULT_DATABASE, DEFAULT_LISTEN};
use super::{Config, ConfigError, DEFAULT_CONFIG, File};
use crate::logging::LogFormat;
use crate::secrets::KeySource;
use crate::serve;
use crate::store::Database;
use clap::{CommandFactory, Parser};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// What the command line asks for.
// Made once at start-up and taken apart at once: boxing the configuration would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, PartialEq)]
pub enum Command {
    /// Serve with this configuration.
    Run(Config),
    /// Print [`help`].
    Help,
}

/// A command line refused.
#[derive(Debug, thiserror::Error)]
pub enum ArgsError {
    /// An unknown flag, a missing or out-of-range value: clap's message, with the usage.
    #[error("{0}")]
    Usage(#[from] clap::Error),
    /// The `--config` file cannot be read.
    #[error("cannot read {path}: {error}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        error: std::io::Error,
    },
    /// The configuration file (or the default one) is refused.
    #[error("{file}: {error}")]
    Config {
        /// The file's path, or "the default config".
        file: String,
        /// What is wrong in it.
        error: ConfigError,
    },
    /// The connection flags do not fit together.
    #[error("{0}")]
    Limits(String),
}

impl ArgsError {
    /// Whether the message already ends with the usage (clap's own errors do).
    pub fn shows_usage(&self) -> bool {
        matches!(self, ArgsError::Usage(_))
    }
}

/// A self-hosted API server speaking the Kloudless v1 OAuth out-of-band protocol.
#[derive(Debug, Parser)]
#[command(
    name = "authenticator-server",
    override_usage = "authenticator-server [--config FILE] [--database FILE] [--listen ADDR] [OPTIONS]",
    help_template = "{usage-heading} {usage}\n\n{about-with-newline}\n{all-args}{after-help}",
    allow_negative_numbers = true
)]
struct Args {
    /// TOML file with [[apps]] entries (client_id, trusted_domains; see the README's
    /// "Configuration"). Default: app "demo" trusting localhost:8080, 127.0.0.1:8080 and, for
    /// the examples, localhost:8000, localhost:5173 and localhost:4173.
    ///
    /// A trusted domain is an origin with its scheme, e.g. "https://app.example.com" or
    /// "http://intranet.test:8080"; a bare host[:port] (both http and https) is only for
    /// localhost, 127.0.0.1 and [::1]. Optional: www_dir / dist_dir; a [popup_flows] table
    /// (max_per_client, max_per_app, return_window_secs); a [refresh] table
    /// (sweep_interval_secs, default 3600, 0 turns off the sweep refreshing idle accounts;
    /// idle_refresh_after_secs, default 86400). An app may have an API key for the account API
    /// (api_key | api_key_env | api_key_file, at least 24 characters), allow_credentials = true
    /// (its backend may read upstream access tokens), require_sign_in_token = true (every pop-up
    /// needs a sign-in token its backend minted; sign_in_token_ttl_secs = 300 at the top level)
    /// and return_urls = ["https://app.example.com/kloudless-return"] (the pages a pop-up whose
    /// opener was cut may bring a result back to: exact URLs on a Trusted Domain, no query;
    /// without any, results go back by postMessage only). For the server-side code flow:
    /// redirect_uris = ["https://app.example.com/kloudless/callback"] (exact URLs, https outside
    /// localhost; needs the api_key, the exchange's client_secret) or public = true (PKCE).
    ///
    /// Real services: public_url = "https://auth.example.com" (each provider redirects to its
    /// own {public_url}/v1/oauth/callback/{id}: register that redirect URI with it),
    /// allow_private_upstreams = false, upstream_timeout_secs = 10, raw_max_body_bytes =
    /// 104857600 (the pass-through API's largest request body), and [[providers]] entries: a
    /// catalogue id with client_id and client_secret | client_secret_env | client_secret_file
    /// (GitHub, Slack: and revocation_secret | _env | _file, to take their revocation notices
    /// at /v1/upstream/{id}/revocations), or a custom provider (kind = "oidc" with issuer,
    /// "oauth2" with its URLs and optionally the issuer its responses name as iss, "api_key" or
    /// "basic" with check_url and optionally api_base, or "demo");
    /// without [[providers]], the demo provider's simulated services. See the README's
    /// "Connecting real services".
    #[arg(long, value_name = "FILE", verbatim_doc_comment)]
    config: Option<PathBuf>,
    /// SQLite database file or sqlite:// URL, or a postgres:// URL (for more than one
    /// instance); created when missing.
    #[arg(long, value_name = "FILE|URL", default_value = DEFAULT_DATABASE)]
    database: String,
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_LISTEN, value_parser = address)]
    listen: SocketAddr,
    /// Close a new connection that has not sent a complete request head within S seconds.
    #[arg(long, value_name = "S", default_value_t = serve::DEFAULT_HEADER_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..=serve::MAX_TIMEOUT_SECS))]
    header_timeout_secs: u64,
    /// Close a kept-alive connection that has not completed its next request head within S
    /// seconds of the previous response (at least the header timeout).
    #[arg(long, value_name = "S", default_value_t = serve::DEFAULT_IDLE_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..=serve::MAX_TIMEOUT_SECS))]
    idle_timeout_secs: u64,
    /// Close a connection when writing a response to it makes no progress for S seconds: its
    /// client stopped reading.
    #[arg(long, value_name = "S", default_value_t = serve::DEFAULT_WRITE_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..=serve::MAX_TIMEOUT_SECS))]
    write_timeout_secs: u64,
    /// Serve at most N connections at once; more wait in the listen backlog (default: half the
    /// open-file limit `ulimit -n`, at most 10000).
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..=serve::MAX_CONNECTIONS as u64))]
    max_connections: Option<u64>,
    /// The key (64 hex digits) sealing upstream tokens at rest (default: the
    /// AUTHENTICATOR_SECRET_KEY variable, else secret.key beside the SQLite database, created
    /// with mode 0600 on first run).
    #[arg(long, value_name = "FILE")]
    secret_key_file: Option<PathBuf>,
    /// Log lines: plain (one line per request: method, path, status, latency) or json (one
    /// object per line). Never a query string, a header or a body.
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = LogFormat::Plain)]
    log_format: LogFormat,
    #[command(flatten)]
    knobs: TestKnobs,
}

/// The test knobs: see [`crate::testing::faults`] and [`crate::testing::latency`].
#[cfg(feature = "test-support")]
#[derive(Debug, clap::Args)]
struct TestKnobs {
    /// FOR TESTS ONLY: accept a `fault` key in [[apps]] entries, which makes the API misbehave
    /// for that app's tokens, e.g.
    ///   fault = { endpoint = "token", kind = "status_500" }
    /// endpoint: token | account; kind: status_500 | status_401 | malformed_json |
    /// slow (optional slow_ms, default 5000) | drop | other_client_id (token only)
    #[arg(long, verbatim_doc_comment)]
    test_faults: bool,
    /// FOR BENCHMARKS: every API request waits MS milliseconds before it is answered.
    #[arg(long, value_name = "MS", default_value_t = 0,
          value_parser = clap::value_parser!(u64).range(0..=crate::testing::latency::MAX_LATENCY_MS))]
    latency_ms: u64,
    /// FOR TESTS ONLY: the enabled catalogue entry ID re-hosted on the local test provider at
    /// URL (the quirk simulator, `simulator/`), e.g. `--rehost github=http://127.0.0.1:9000`:
    /// see [`crate::testing::rehost`]. Repeatable.
    #[arg(long, value_name = "ID=URL")]
    rehost: Vec<String>,
}

/// Without the `test-support` feature: no test knob.
#[cfg(not(feature = "test-support"))]
#[derive(Debug, clap::Args)]
struct TestKnobs {}

/// Reads `--listen`.
fn address(text: &str) -> Result<SocketAddr, String> {
    text.parse().map_err(|_| "is not an address like 127.0.0.1:8080".to_owned())
}

/// The generated `--help` text.
pub fn help() -> String {
    Args::command().render_long_help().to_string()
}

/// The usage line.
pub fn usage() -> String {
    Args::command().render_usage().to_string()
}

impl Config {
    /// Reads the command line (without the program name) and the configuration file it names.
    pub fn from_args(args: impl IntoIterator<Item = String>) -> Result<Command, ArgsError> {
        let program = std::iter::once("authenticator-server".to_owned());
        let args = match Args::try_parse_from(program.chain(args)) {
            Ok(args) => args,
            Err(error) if error.kind() == clap::error::ErrorKind::DisplayHelp => return Ok(Command::Help),
            Err(error) => return Err(error.into()),
        };
        let config = args.config()?;
        config.connections.check().map_err(ArgsError::Limits)?;
        Ok(Command::Run(config))
    }
}

impl Args {
    /// The configuration file (or the default one) with the flags' values.
    fn config(self) -> Result<Config, ArgsError> {
        let (source, text) = match &self.config {
            Some(path) => {
                let read = std::fs::read_to_string(path);
                let path = path.display().to_string();
                let text = read.map_err(|error| ArgsError::Read { path: path.clone(), error })?;
                (path, text)
            }
            None => ("the default config".to_owned(), DEFAULT_CONFIG.to_owned()),
        };
        let refused = |error| ArgsError::Config { file: source.clone(), error };
        let file: File = toml::from_str(&text).map_err(|e| refused(ConfigError::from(e)))?;
        #[cfg(feature = "test-support")]
        let file = file.with_test_faults(self.knobs.test_faults);
        #[allow(unused_mut)]
        let mut config =
            Config::from_file(file, self.listen, Database::parse(&self.database)).map_err(refused)?;
        #[cfg(feature = "test-support")]
        for rehost in &self.knobs.rehost {
            let (id, url) = rehost.split_once('=').unwrap_or((rehost, ""));
            crate::testing::rehost::rehost(&mut config, id, url)
                .map_err(|error| refused(ConfigError::at("--rehost", format!("{rehost}: {error}"))))?;
        }
        Ok(Config {
            #[cfg(feature = "test-support")]
            latency: Duration::from_millis(self.knobs.latency_ms),
            connections: serve::Limits {
                header_timeout: Duration::from_secs(self.header_timeout_secs),
                idle_timeout: Duration::from_secs(self.idle_timeout_secs),
                write_timeout: Duration::from_secs(self.write_timeout_secs),
                max_connections: self
                    .max_connections
                    .map_or_else(serve::default_max_connections, |n| n as usize),
            },
            log_format: self.log_format,
            secret_key: self.secret_key_file.map(KeySource::File).unwrap_or(config.secret_key.clone()),
            ..config
        })
    }
}
