//! Added latency, for benchmarks: `--latency-ms N` (off by default) makes every API request —
//! the token, account and progress endpoints, their CORS preflights included — wait `N` ms
//! before it is answered, as a distant API server would. Pages (the pop-up, the relay, the demo
//! and the build files) are not delayed.

use crate::AppState;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::Arc;
use std::time::Duration;

/// The largest `--latency-ms` accepted (one minute).
pub const MAX_LATENCY_MS: u64 = 60_000;

/// Whether `path` is an API request that the added latency applies to.
pub fn applies_to(path: &str) -> bool {
    let path = path.strip_suffix('/').unwrap_or(path);
    matches!(path, "/v1/oauth/token" | "/v1/oauth/progress" | "/v1/oauth/progress/abandon")
        || path.strip_prefix("/v1/accounts/").is_some_and(|id| !id.is_empty() && !id.contains('/'))
}

/// How long a request for `path` waits before it is handled, with `latency` configured.
pub fn delay_for(path: &str, latency: Duration) -> Duration {
    if applies_to(path) { latency } else { Duration::ZERO }
}

/// Middleware: waits [`delay_for`] the request's path, then handles it.
pub async fn delay(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let wait = delay_for(request.uri().path(), state.config.latency);
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_api_requests_are_delayed() {
        let ms = Duration::from_millis(50);
        for api in [
            "/v1/oauth/token",
            "/v1/oauth/token/",
            "/v1/accounts/me/",
            "/v1/accounts/42",
            "/v1/oauth/progress",
            "/v1/oauth/progress/abandon",
        ] {
            assert_eq!(delay_for(api, ms), ms, "{api}");
        }
        for page in [
            "/",
            "/index.html",
            "/static/iexd.html",
            "/v1/oauth",
            "/v1/oauth/",
            "/dist/x.js",
            "/v1/accounts/",
        ] {
            assert_eq!(delay_for(page, ms), Duration::ZERO, "{page}");
        }
        assert_eq!(delay_for("/v1/oauth/token/", Duration::ZERO), Duration::ZERO);
    }
}
