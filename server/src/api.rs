//! The JSON API the library calls: `GET /v1/oauth/token/` and `GET /v1/accounts/{id|me}/`,
//! CORS-enabled (see [`crate::cors`]) for the apps' trusted origins only.

use crate::AppState;
use crate::cors::{self, Audience};
use crate::services;
use crate::store::{Grant, Store};
use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::Arc;

/// An API error: a status with the body `{"error": code, "error_description": text}`.
#[derive(Clone, Copy, Debug, PartialEq)]
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

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.code, "error_description": self.description });
        (self.status, Json(body)).into_response()
    }
}

const INVALID_TOKEN: ApiError =
    ApiError::new(StatusCode::UNAUTHORIZED, "invalid_token", "A valid bearer token is required.");
const FORBIDDEN: ApiError =
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", "The token does not grant access to this account.");
const NO_ACCOUNT: ApiError = ApiError::new(StatusCode::NOT_FOUND, "not_found", "No such account.");
const NO_ENDPOINT: ApiError = ApiError::new(StatusCode::NOT_FOUND, "not_found", "No such endpoint.");
const STORAGE: ApiError =
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "The server's storage failed.");

/// The token in `Authorization: Bearer <token>` (the scheme is case-insensitive).
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// What the request's bearer token grants.
fn authorize(store: &Store, headers: &HeaderMap) -> Result<Grant, ApiError> {
    let token = bearer_token(headers).ok_or(INVALID_TOKEN)?;
    store.grant(token).map_err(|error| storage_failed(&error))?.ok_or(INVALID_TOKEN)
}

fn storage_failed(error: &dyn std::fmt::Display) -> ApiError {
    eprintln!("storage error: {error}");
    STORAGE
}

/// The token endpoint's answer.
pub fn token_info(grant: &Grant) -> Value {
    json!({ "account_id": grant.account_id, "client_id": grant.client_id, "scope": grant.scope })
}

/// The account `id` (a number or `me`), when `grant` gives access to it.
pub fn account_info(store: &Store, grant: &Grant, id: Option<&str>) -> Result<Value, ApiError> {
    let wanted = match id {
        Some("me") => grant.account_id,
        Some(number) => number.parse::<i64>().map_err(|_| NO_ACCOUNT)?,
        None => return Err(NO_ACCOUNT),
    };
    if wanted != grant.account_id {
        return Err(FORBIDDEN);
    }
    let account = store.account(wanted).map_err(|error| storage_failed(&error))?.ok_or(NO_ACCOUNT)?;
    let service_name = services::find(&account.service).map_or("", |service| service.name);
    Ok(json!({
        "id": account.id,
        "account": account.name,
        "service": account.service,
        "service_name": service_name,
        "admin": account.admin,
        "active": true,
        "created": account.created,
    }))
}

/// Authorizes the request and answers with `body(grant)`. CORS is granted to the token's app's
/// trusted origins, or, without a valid token, to any app's (so the page can read the 401).
fn respond(
    app: &AppState,
    headers: &HeaderMap,
    body: impl FnOnce(&Grant) -> Result<Value, ApiError>,
) -> Response {
    match authorize(&app.store, headers) {
        Err(error) => {
            let origin = cors::allowed_origin(&app.config, headers, Audience::AnyApp);
            cors::with_cors(error.into_response(), origin)
        }
        Ok(grant) => {
            let response = match body(&grant) {
                Ok(value) => Json(value).into_response(),
                Err(error) => error.into_response(),
            };
            let origin = cors::allowed_origin(&app.config, headers, Audience::App(&grant.client_id));
            cors::with_cors(response, origin)
        }
    }
}

/// `GET /v1/oauth/token/`: what the bearer token grants.
pub async fn token(State(app): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    respond(&app, &headers, |grant| Ok(token_info(grant)))
}

/// `GET /v1/accounts/{id|me}/`: the token's account.
pub async fn account(
    State(app): State<Arc<AppState>>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    let id = id.ok().map(|Path(id)| id);
    respond(&app, &headers, |grant| account_info(&app.store, grant, id.as_deref()))
}

/// `OPTIONS` on the API: the CORS preflight.
pub async fn preflight(State(app): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    cors::preflight(&app.config, &headers)
}

/// Any other path under `/v1/`.
pub fn not_found() -> Response {
    NO_ENDPOINT.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn auth(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn reads_bearer_tokens_only() {
        assert_eq!(bearer_token(&auth("Bearer abc")), Some("abc"));
        assert_eq!(bearer_token(&auth("bearer  abc ")), Some("abc"));
        for bad in ["Basic abc", "Bearer", "Bearer ", "abc", "Bearerabc"] {
            assert_eq!(bearer_token(&auth(bad)), None, "{bad}");
        }
        assert_eq!(bearer_token(&HeaderMap::new()), None);
    }

    #[test]
    fn accounts_are_visible_to_their_own_tokens_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db.sqlite")).unwrap();
        let (id, token) = store.connect("box:admin.storage", "app", "box", "ann", true).unwrap();
        let grant = store.grant(&token).unwrap().unwrap();
        let me = account_info(&store, &grant, Some("me")).unwrap();
        assert_eq!(me, account_info(&store, &grant, Some(&id.to_string())).unwrap());
        assert_eq!(me["service_name"], "Box (demo)");
        assert_eq!(me["admin"], true);
        assert_eq!(account_info(&store, &grant, Some(&(id + 1).to_string())), Err(FORBIDDEN));
        assert_eq!(account_info(&store, &grant, Some("x1")), Err(NO_ACCOUNT));
        assert_eq!(account_info(&store, &grant, None), Err(NO_ACCOUNT));
        assert_eq!(
            token_info(&grant),
            json!({ "account_id": id, "client_id": "app", "scope": "box:admin.storage" })
        );
    }
}
