//! The demo page (`/`, from `www_dir`) and the library build (`/dist/…`, from `dist_dir`).

use crate::{AppState, pages, security};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::path::PathBuf;
use std::sync::Arc;

/// A plain file name: letters, digits, `.`, `_`, `-`; not starting with a dot, no `..`.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && !name.contains("..")
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("wasm") => "application/wasm",
        Some("svg") => "image/svg+xml",
        Some("ts") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

async fn serve(path: PathBuf, missing: &'static str) -> Response {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    match tokio::fs::read(&path).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, content_type(name))], bytes).into_response(),
        Err(_) => (StatusCode::NOT_FOUND, missing).into_response(),
    }
}

/// `GET /static/iexd.html`: the relay page, frameable by the apps' Trusted Domains only.
pub async fn relay(State(app): State<Arc<AppState>>) -> Response {
    pages::relay(&security::relay_csp(&app.config, &pages::RELAY_SCRIPT))
}

/// `GET /`: the demo page.
pub async fn index(State(app): State<Arc<AppState>>) -> Response {
    serve(app.config.www_dir.join("index.html"), "Not found.").await
}

/// `GET /{file}`: the demo page's other files.
pub async fn www(State(app): State<Arc<AppState>>, file: Result<Path<String>, PathRejection>) -> Response {
    let Some(Path(file)) = file.ok().filter(|Path(file)| is_plain_name(file)) else {
        return not_found();
    };
    serve(app.config.www_dir.join(file), "Not found.").await
}

/// `GET /dist/{path}`: the library build (one level of sub-folder allowed, e.g. `esm/index.js`).
pub async fn dist(State(app): State<Arc<AppState>>, path: Result<Path<String>, PathRejection>) -> Response {
    let Ok(Path(path)) = path else { return not_found() };
    let parts: Vec<&str> = path.split('/').collect();
    if parts.len() > 2 || !parts.iter().all(|p| is_plain_name(p)) {
        return not_found();
    }
    serve(app.config.dist_dir.join(path), "Not built: run `make build` first.").await
}

/// Any other path outside the API.
pub fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "Not found.").into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn plain_names_only() {
        assert!(super::is_plain_name("kloudless.authenticator.js"));
        for bad in ["", ".env", "..", "a..b", "a/b", "a\\b", "%2e%2e", "a b", "a\0b"] {
            assert!(!super::is_plain_name(bad), "{bad}");
        }
    }
}
