//! The demo page (`/`, from `www_dir`) and the library build (`/dist/…`, from `dist_dir`).

use crate::error::AppError;
use crate::extract::StrictQuery;
use crate::pages::branding::Logo;
use crate::{AppState, pages, security};
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::path::Path as FilePath;
use std::sync::Arc;
use tower_http::services::ServeDir;

/// A plain file name: letters, digits, `.`, `_`, `-`; not starting with a dot, no `..`.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && !name.contains("..")
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Serves `file` (plain names joined by `/`, checked by the caller) from `dir` with tower-http's
/// [`ServeDir`] (its type from the extension, `Last-Modified`, conditional and range requests);
/// a folder, a missing or an unreadable file is a 404 with `missing` as its body.
async fn serve(dir: &FilePath, file: &str, mut request: Request, missing: &'static str) -> Response {
    let Ok(uri) = format!("/{file}").parse() else { return not_found() };
    *request.uri_mut() = uri;
    let mut files = ServeDir::new(dir).append_index_html_on_directories(false);
    match files.try_call(request).await {
        Ok(response) if response.status() != StatusCode::NOT_FOUND => with_charset(response.map(Body::new)),
        _ => (StatusCode::NOT_FOUND, missing).into_response(),
    }
}

/// A text type (`text/html`, `text/css`, `text/javascript`) is sent as UTF-8, whatever the
/// page that loads it is encoded in.
fn with_charset(mut response: Response) -> Response {
    let text = response.headers().get(header::CONTENT_TYPE).and_then(|t| t.to_str().ok());
    if let Some(text) = text.filter(|t| t.starts_with("text/") && !t.contains(';'))
        && let Ok(value) = HeaderValue::from_str(&format!("{text}; charset=utf-8"))
    {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

/// `GET /static/iexd.html`: the relay page, frameable by the apps' Trusted Domains only.
pub async fn relay(State(app): State<Arc<AppState>>) -> Response {
    pages::relay(&security::relay_csp(&app.config, &pages::RELAY_SCRIPT.source))
}

/// `GET /v1/oauth/logo?client_id=…`: an app's logo file (`logo_file`), for its pop-up pages;
/// under a policy that runs and loads nothing, should someone open an SVG logo on its own.
pub async fn logo(State(app): State<Arc<AppState>>, query: Result<StrictQuery, AppError>) -> Response {
    let Ok(StrictQuery(params)) = query else { return not_found() };
    let client_id = params.iter().find(|(key, _)| key == "client_id").map(|(_, value)| value.as_str());
    let logo = client_id.and_then(|id| app.config.app(id)).and_then(|app| app.branding.logo.as_ref());
    let Some(Logo::File { bytes, content_type }) = logo else { return not_found() };
    let headers = [
        (header::CONTENT_TYPE, *content_type),
        (header::CACHE_CONTROL, "public, max-age=3600"),
        (header::CONTENT_SECURITY_POLICY, security::LOGO_CSP),
    ];
    (headers, Body::from(bytes.to_vec())).into_response()
}

/// `GET /`: the demo page.
pub async fn index(State(app): State<Arc<AppState>>, request: Request) -> Response {
    serve(&app.config.pages.www_dir, "index.html", request, "Not found.").await
}

/// `GET /{file}`: the demo page's other files.
pub async fn www(
    State(app): State<Arc<AppState>>,
    file: Result<Path<String>, PathRejection>,
    request: Request,
) -> Response {
    let Some(Path(file)) = file.ok().filter(|Path(file)| is_plain_name(file)) else {
        return not_found();
    };
    serve(&app.config.pages.www_dir, &file, request, "Not found.").await
}

/// `GET /dist/{path}`: the library build (one level of sub-folder allowed, e.g. `esm/index.js`).
pub async fn dist(
    State(app): State<Arc<AppState>>,
    path: Result<Path<String>, PathRejection>,
    request: Request,
) -> Response {
    let Ok(Path(path)) = path else { return not_found() };
    let parts: Vec<&str> = path.split('/').collect();
    if parts.len() > 2 || !parts.iter().all(|p| is_plain_name(p)) {
        return not_found();
    }
    serve(&app.config.pages.dist_dir, &path, request, "Not built: run `make build` first.").await
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
