//! The JSON API the library calls: `GET /v1/oauth/token/` and `GET /v1/accounts/{id|me}/`,
//! with CORS for the apps' trusted origins only.

use crate::AppState;
use crate::config::Config;
use crate::origin::Origin;
use crate::store::Grant;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::Arc;

/// An API error: a 4xx (or 500) with `{error, error_description}`.
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    description: &'static str,
}

impl ApiError {
    /// A new error response.
    pub const fn new(status: StatusCode, code: &'static str, description: &'static str) -> ApiError {
        ApiError { status, code, description }
    }
}

const INVALID_TOKEN: ApiError =
    ApiError::new(StatusCode::UNAUTHORIZED, "invalid_token", "A valid bearer token is required.");
const STORAGE: ApiError = ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "Storage failed.");

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.code, "error_description": self.description });
        (self.status, axum::Json(body)).into_response()
    }
}

/// The origin CORS grants to: the request's `Origin` when an app trusts it — the token's app
/// when there is a valid token, any app otherwise (so the page can read a 401).
fn cors_origin(config: &Config, headers: &HeaderMap, client_id: Option<&str>) -> Option<HeaderValue> {
    let value = headers.get(header::ORIGIN)?;
    let origin = Origin::parse(value.to_str().ok()?)?;
    let trusted = match client_id {
        Some(id) => config.app(id).is_some_and(|app| origin.is_trusted_by(&app.trusted_domains)),
        None => config.apps.iter().any(|app| origin.is_trusted_by(&app.trusted_domains)),
    };
    trusted.then(|| value.clone())
}

fn with_cors(mut response: Response, origin: Option<HeaderValue>) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(origin) = origin {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    }
    response
}

fn authorize(app: &AppState, headers: &HeaderMap) -> Result<Grant, ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .filter(|t| !t.is_empty())
        .ok_or(INVALID_TOKEN)?;
    app.store.grant(token).map_err(|_| STORAGE)?.ok_or(INVALID_TOKEN)
}

/// Answers with `body` (or the error), CORS-enabled for the grant's app.
fn respond(app: &AppState, headers: &HeaderMap, result: Result<(Grant, Value), ApiError>) -> Response {
    match result {
        Ok((grant, body)) => with_cors(
            axum::Json(body).into_response(),
            cors_origin(&app.config, headers, Some(&grant.client_id)),
        ),
        Err(error) => with_cors(error.into_response(), cors_origin(&app.config, headers, None)),
    }
}

/// `GET /v1/oauth/token/`: what the bearer token grants.
pub async fn token(State(app): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let result = authorize(&app, &headers).map(|grant| {
        let body =
            json!({ "account_id": grant.account_id, "client_id": grant.client_id, "scope": grant.scope });
        (grant, body)
    });
    respond(&app, &headers, result)
}

/// `GET /v1/accounts/{id|me}/`: the token's account.
pub async fn account(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let result = account_of(&app, &id, &headers);
    respond(&app, &headers, result)
}

fn account_of(app: &AppState, id: &str, headers: &HeaderMap) -> Result<(Grant, Value), ApiError> {
    const NOT_FOUND: ApiError = ApiError::new(StatusCode::NOT_FOUND, "not_found", "No such account.");
    const FORBIDDEN: ApiError =
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", "The token does not grant access to this account.");
    let grant = authorize(app, headers)?;
    let wanted = if id == "me" { grant.account_id } else { id.parse().map_err(|_| NOT_FOUND)? };
    if wanted != grant.account_id {
        return Err(FORBIDDEN);
    }
    let account = app.store.account(wanted).map_err(|_| STORAGE)?.ok_or(NOT_FOUND)?;
    let service_name =
        crate::services::SERVICES.iter().find(|s| s.id == account.service).map_or("", |s| s.name);
    let body = json!({
        "id": account.id,
        "account": account.name,
        "service": account.service,
        "service_name": service_name,
        "admin": account.admin,
        "active": true,
        "created": account.created,
    });
    Ok((grant, body))
}

/// `OPTIONS` on the API: the CORS preflight, granted only to an origin some app trusts.
pub async fn preflight(State(app): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let Some(origin) = cors_origin(&app.config, &headers, None) else {
        return with_cors(StatusCode::FORBIDDEN.into_response(), None);
    };
    let response = (
        StatusCode::NO_CONTENT,
        [
            (header::ACCESS_CONTROL_ALLOW_METHODS, "GET, OPTIONS"),
            (header::ACCESS_CONTROL_ALLOW_HEADERS, "Authorization, X-Kloudless-Source, Content-Type"),
            (header::ACCESS_CONTROL_MAX_AGE, "600"),
        ],
    )
        .into_response();
    with_cors(response, Some(origin))
}

/// Any other path under `/v1/`.
pub async fn not_found() -> Response {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "No such endpoint.").into_response()
}
