//! `authenticator-server`: a self-hostable API server that speaks the Kloudless v1 OAuth 2.0
//! out-of-band protocol, brokering real accounts from upstream providers ([`providers`],
//! [`broker`]) or, by default, connecting the built-in demo provider's simulated services.
//!
//! Each feature is a folder that owns its routes (its `router()`, merged here with the layers
//! around them), its handlers and its settings (a leaf `settings.rs` that [`config::Config`]
//! composes); shared infrastructure sits below the features:
//!
//! ```text
//! popup/      the pop-up: chooser, forms, result delivery, progress, returned results
//! code_flow/  the server-side code flow: the redirect with a code, its exchange for the token
//! broker/     an upstream's sign-in: redirect, callback, credential forms
//! token_api/  the library's JSON API: /v1/oauth/token/, /v1/accounts/me/, CORS
//! accounts/   the account API, raw pass-through, upstream token refresh, idle sweep
//! sign_in/    single-use sign-in tokens
//! events/     the accounts' events: the outbox's API, the webhooks' signed sender
//! pages/      the HTML pages, the demo page, /dist/ and the relay page
//! i18n/       the pop-up's languages: Fluent message files (locales/), a request's locale
//! testing/    test knobs (faults, latency): the `test-support` feature only
//! providers/  upstream catalogue, the services offered, the upstream HTTP client
//! config/ store/ clock serve security secrets origin params logging   shared infrastructure
//! error extract   the one error type (JSON, or a page on the pop-up's routes), strict extractors
//! ```
//!
//! Handlers are thin; the rules live in plain functions ([`origin`], [`params`], [`security`],
//! [`popup::request::validate`]); storage is behind [`store`] (SQLite or PostgreSQL through async
//! drivers: accounts, hashed tokens, and where the pop-up flows are, never a result: see
//! [`popup::progress::Progress`]), shared by every instance; configuration is one typed struct
//! ([`config::Config`]: the shared keys and each feature's settings); connections are accepted,
//! timed out and capped by [`serve`].

#![warn(missing_docs)]

pub mod accounts;
pub mod broker;
pub mod clock;
pub mod code_flow;
pub mod config;
pub mod error;
pub mod events;
pub mod extract;
pub mod i18n;
pub mod logging;
pub mod origin;
pub mod pages;
pub mod params;
pub mod popup;
pub mod providers;
pub mod secrets;
pub mod security;
pub mod serve;
pub mod sign_in;
pub mod store;
#[cfg(feature = "test-support")]
pub mod testing;
pub mod token_api;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::Uri;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use config::Config;
use std::net::SocketAddr;
use std::sync::Arc;
use store::{Database, Store};
use tokio::net::TcpListener;
use tower_http::normalize_path::NormalizePath;
use tower_http::timeout::RequestBodyTimeoutLayer;

/// What every handler shares.
pub struct AppState {
    /// The configuration.
    pub config: Config,
    /// The database.
    pub store: Store,
    /// Where the pop-up flows are (in the database), for pages whose pop-up reads as closed.
    pub progress: popup::progress::Progress,
    /// The HTTP client for upstream calls (no redirects, timeouts, the SSRF guard).
    pub http: providers::client::Http,
    /// The key sealing upstream secrets at rest.
    pub secrets: secrets::SecretKey,
    /// This server's public URL (the configured one, else `http://` and the bound address).
    pub public_url: String,
    /// One upstream token refresh per account at a time in this instance ([`accounts::refresh`]).
    pub refresh_locks: accounts::refresh::Locks,
    /// One token mint per user of an organisation-wide account at a time in this instance
    /// ([`accounts::as_user`]).
    pub org_locks: accounts::refresh::Locks<(i64, String)>,
}

impl AppState {
    /// What the handlers share, for `config` on its opened `store`, served at `addr` (the public
    /// URL when the configuration names none): the upstream HTTP client and the secret key are
    /// made here. [`Server::bind`] builds it; a test can too, to call [`router`] without a socket.
    pub fn new(config: Config, store: Store, addr: SocketAddr) -> Result<AppState, String> {
        let progress = popup::progress::Progress::new(config.popup.flows.clone(), store.clone());
        let http = providers::client::Http::new(config.upstream_timeout, config.allow_private_upstreams)?;
        let secrets = secrets::SecretKey::load(&config.secret_key)?;
        let public_url = config.public_url.clone().unwrap_or_else(|| format!("http://{addr}"));
        Ok(AppState {
            progress,
            config,
            store,
            http,
            secrets,
            public_url,
            refresh_locks: Default::default(),
            org_locks: Default::default(),
        })
    }
}

/// The largest request body accepted (the pop-up's form).
const MAX_BODY: usize = params::MAX_LEN;

/// `path` as the routes match it: without its trailing slash, which [`router`] trims from
/// every request before routing.
pub(crate) fn routed(path: &str) -> &str {
    path.trim_end_matches('/')
}

/// All routes: the features' routers, merged, with the layers around them. A trailing slash is
/// trimmed before routing ([`NormalizePath`]: the library asks for `/v1/oauth/token/`, apps for
/// `/v1/accounts/`), so that each route is written once; the log, outside, shows the path asked.
pub fn router(state: Arc<AppState>) -> Router {
    let routes = Router::new()
        .route("/healthz", get(health))
        .merge(pages::router())
        .merge(popup::router())
        .merge(broker::router())
        .merge(token_api::router())
        .merge(accounts::router())
        .merge(sign_in::router())
        .merge(events::router())
        .fallback(not_found);
    let routes = with_test_knobs(routes, &state)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        // A client that sent a request head must send its body as promptly as the head.
        .layer(RequestBodyTimeoutLayer::new(state.config.connections.header_timeout))
        .layer(middleware::from_fn(security::defaults))
        .with_state(state);
    Router::new().fallback_service(NormalizePath::trim_trailing_slash(routes)).layer(logging::requests())
}

/// `routes` with the test knobs' layers: the apps' faults ([`testing::faults`]), then the added
/// latency ([`testing::latency`]).
#[cfg(feature = "test-support")]
fn with_test_knobs(routes: Router<Arc<AppState>>, state: &Arc<AppState>) -> Router<Arc<AppState>> {
    routes
        .layer(middleware::from_fn_with_state(state.clone(), testing::faults::inject))
        .layer(middleware::from_fn_with_state(state.clone(), testing::latency::delay))
}

/// Without the `test-support` feature: `routes` as they are.
#[cfg(not(feature = "test-support"))]
fn with_test_knobs(routes: Router<Arc<AppState>>, _state: &Arc<AppState>) -> Router<Arc<AppState>> {
    routes
}

/// Any unrouted path: a JSON error under `/v1/`, plain text elsewhere.
async fn not_found(uri: Uri) -> Response {
    if uri.path() == "/v1" || uri.path().starts_with("/v1/") {
        token_api::api::not_found().into_response()
    } else {
        pages::statics::not_found()
    }
}

/// Completes on Ctrl-C (SIGINT) or, on Unix, SIGTERM; never where no handler can be set.
async fn stop_signal() {
    let interrupted = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminated = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => drop(terminate.recv().await),
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminated = std::future::pending::<()>();
    tokio::select! {
        () = interrupted => {}
        () = terminated => {}
    }
}

/// `GET /healthz`: 200 `{"status":"ok"}` when the database answers, else 503 (for a load
/// balancer's health check: an instance that cannot reach the database gets no traffic).
async fn health(State(state): State<Arc<AppState>>) -> Response {
    match state.store.ping().await {
        Ok(()) => axum::Json(serde_json::json!({ "status": "ok" })).into_response(),
        Err(error) => {
            tracing::error!("health check: {error}");
            let body = serde_json::json!({ "status": "unavailable", "error": "database unreachable" });
            (axum::http::StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
        }
    }
}

/// A bound, ready-to-run server.
pub struct Server {
    listener: TcpListener,
    addr: SocketAddr,
    state: Arc<AppState>,
    limits: serve::Limits,
}

impl Server {
    /// Checks the connection settings, opens the database (creating its folder) and binds the
    /// listening socket.
    pub async fn bind(config: Config) -> Result<Server, String> {
        let limits = config.connections.check()?;
        if let Database::Sqlite(path) = &config.database
            && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let store = Store::open(&config.database)
            .await
            .map_err(|e| format!("cannot open database {}: {e}", config.database))?;
        let cannot_listen = |e| format!("cannot listen on {}: {e}", config.listen);
        let listener = TcpListener::bind(config.listen).await.map_err(cannot_listen)?;
        let addr = listener.local_addr().map_err(cannot_listen)?;
        let state = AppState::new(config, store, addr)?;
        Ok(Server { listener, addr, limits, state: Arc::new(state) })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until the process is interrupted (Ctrl-C, SIGINT) or asked to stop (SIGTERM);
    /// then lets the requests in progress finish. Never fails: accept errors are logged and
    /// retried ([`serve`]).
    pub async fn run(self) -> std::io::Result<()> {
        self.run_until(stop_signal()).await;
        Ok(())
    }

    /// Serves until `shutdown` completes, sweeping expired pop-up flows every
    /// [`popup::progress::SWEEP_INTERVAL`], refreshing idle accounts ([`accounts::keep_alive`])
    /// and sending the apps' events to their webhooks ([`events::sender`]); then stops
    /// accepting, lets the requests and the refresh in progress finish and closes the database
    /// connections.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) {
        let state = self.state.clone();
        let sweeper = tokio::spawn(async move {
            let mut every = tokio::time::interval(popup::progress::SWEEP_INTERVAL);
            loop {
                every.tick().await;
                sweep_expired(&state).await;
            }
        });
        let (stop_keep_alive, stopped) = tokio::sync::watch::channel(false);
        let keeper = tokio::spawn(accounts::keep_alive::run(self.state.clone(), stopped.clone()));
        let sender = tokio::spawn(events::sender::run(self.state.clone(), stopped));
        serve::serve(self.listener, router(self.state.clone()), self.limits, shutdown).await;
        sweeper.abort();
        // The idle accounts' sweep finishes the refresh under way, so that no rotated refresh
        // token is lost between the upstream's reply and the database.
        let _ = stop_keep_alive.send(true);
        let _ = keeper.await;
        // The webhooks' sender finishes the posts under way, recording their attempts.
        let _ = sender.await;
        self.state.store.close().await;
    }
}

/// Deletes what has expired: pop-up flows, upstream states, sign-in tokens, return codes,
/// authorization codes (those past [`code_flow::USED_CODES_KEPT_MS`]) and events (past
/// [`events::KEPT_MS`]).
async fn sweep_expired(state: &AppState) {
    let now = std::time::SystemTime::now();
    let millis = clock::millis(now);
    let codes_kept = millis.saturating_sub(code_flow::USED_CODES_KEPT_MS);
    sweep("flows", state.progress.sweep(now)).await;
    sweep("upstream states", state.store.sweep_upstream_states(millis)).await;
    sweep("sign-in tokens", state.store.sweep_sign_in_tokens(millis)).await;
    sweep("return codes", state.store.sweep_return_codes(millis)).await;
    sweep("authorization codes", state.store.sweep_authorization_codes(codes_kept)).await;
    sweep("events", state.store.sweep_events(millis.saturating_sub(events::KEPT_MS))).await;
    let notices_kept = millis.saturating_sub(accounts::revocations::KEPT_MS);
    sweep("revocation notices", state.store.sweep_notices(notices_kept)).await;
}

/// Runs one sweep of expired `what`; a storage error is logged, and the next tick tries again.
async fn sweep<T, E: std::fmt::Display>(what: &str, sweep: impl Future<Output = Result<T, E>>) {
    if let Err(error) = sweep.await {
        tracing::error!("storage error while sweeping expired {what}: {error}");
    }
}
