//! The JSON API the library calls: `GET /v1/oauth/token/` and `GET /v1/accounts/{id|me}/`,
//! CORS-enabled (see [`crate::token_api::cors`]) for the apps' trusted origins only.

use crate::AppState;
use crate::params::{self, BadParams};
use crate::providers::services;
use crate::store::{Grant, Store};
use crate::token_api::cors::{self, Audience};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kloudless_protocol::{TokenInfo, codes};
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
        error_json(self.status, self.code, self.description)
    }
}

/// A JSON error reply of the API, `{"error": code, "error_description": description}` (the
/// protocol's [`kloudless_protocol::ApiError`]), with `status`.
pub fn error_json(status: StatusCode, code: &str, description: &str) -> Response {
    let body =
        kloudless_protocol::ApiError { error: code.to_owned(), error_description: description.to_owned() };
    (status, Json(body)).into_response()
}

const INVALID_TOKEN: ApiError =
    ApiError::new(StatusCode::UNAUTHORIZED, codes::INVALID_TOKEN, "A valid bearer token is required.");
const FORBIDDEN: ApiError =
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", "The token does not grant access to this account.");
const NO_ACCOUNT: ApiError = ApiError::new(StatusCode::NOT_FOUND, codes::NOT_FOUND, "No such account.");
const NO_ENDPOINT: ApiError = ApiError::new(StatusCode::NOT_FOUND, codes::NOT_FOUND, "No such endpoint.");
const STORAGE: ApiError =
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "The server's storage failed.");
const TWO_AUTHORIZATIONS: ApiError =
    ApiError::new(StatusCode::BAD_REQUEST, codes::INVALID_REQUEST, "Give one Authorization header only.");
const QUERY_TOO_LONG: ApiError =
    ApiError::new(StatusCode::URI_TOO_LONG, codes::INVALID_REQUEST, "The query string is too long.");
const QUERY_NOT_UTF8: ApiError =
    ApiError::new(StatusCode::BAD_REQUEST, codes::INVALID_REQUEST, "The query string is not valid UTF-8.");
const QUERY_REPEATED: ApiError = ApiError::new(
    StatusCode::BAD_REQUEST,
    codes::INVALID_REQUEST,
    "A query parameter is given more than once.",
);
const BODY_TOO_LARGE: ApiError =
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, codes::INVALID_REQUEST, "The request body is too large.");
const BODY_GIVEN: ApiError =
    ApiError::new(StatusCode::BAD_REQUEST, codes::INVALID_REQUEST, "This endpoint takes no request body.");

/// The token in `Authorization: Bearer <token>` (the scheme is case-insensitive).
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Refuses a request with more than one `Authorization` header (which one would count is
/// ambiguous).
pub(crate) fn one_authorization(headers: &HeaderMap) -> Result<(), ApiError> {
    if headers.get_all(header::AUTHORIZATION).iter().count() > 1 {
        return Err(TWO_AUTHORIZATIONS);
    }
    Ok(())
}

/// Checks what the API ignores but must not be malformed: the query string (at most
/// [`params::MAX_LEN`] bytes, UTF-8, no name twice) and the body (there is none).
pub fn check_input(query: Option<&str>, body: &Result<Bytes, BytesRejection>) -> Result<(), ApiError> {
    let query = params::parse(query.unwrap_or("").as_bytes()).map_err(|bad| match bad {
        BadParams::TooLong => QUERY_TOO_LONG,
        BadParams::NotUtf8 => QUERY_NOT_UTF8,
    })?;
    if params::repeated(&query).is_some() {
        return Err(QUERY_REPEATED);
    }
    match body {
        Ok(body) if body.is_empty() => Ok(()),
        Ok(_) => Err(BODY_GIVEN),
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(BODY_TOO_LARGE),
        Err(_) => Err(BODY_GIVEN),
    }
}

/// What the request's bearer token grants.
async fn authorize(store: &Store, headers: &HeaderMap) -> Result<Grant, ApiError> {
    one_authorization(headers)?;
    let token = bearer_token(headers).ok_or(INVALID_TOKEN)?;
    store.grant(token).await.map_err(|error| storage_failed(&error))?.ok_or(INVALID_TOKEN)
}

pub(crate) fn storage_failed(error: &dyn std::fmt::Display) -> ApiError {
    tracing::error!("storage error: {error}");
    STORAGE
}

/// The token endpoint's answer.
pub fn token_info(grant: &Grant) -> Value {
    let info = TokenInfo {
        account_id: grant.account_id,
        client_id: grant.client_id.clone(),
        scope: grant.scope.clone(),
    };
    serde_json::to_value(info).unwrap_or_default()
}

/// The account `id` (a number or `me`), when `grant` gives access to it.
pub async fn account_info(
    store: &Store,
    services: &[services::Service],
    grant: &Grant,
    id: Option<&str>,
) -> Result<Value, ApiError> {
    let wanted = match id {
        Some("me") => grant.account_id,
        Some(number) => number.parse::<i64>().map_err(|_| NO_ACCOUNT)?,
        None => return Err(NO_ACCOUNT),
    };
    if wanted != grant.account_id {
        return Err(FORBIDDEN);
    }
    let account = store.account(wanted).await.map_err(|error| storage_failed(&error))?.ok_or(NO_ACCOUNT)?;
    Ok(account_json(services, &account))
}

/// An account as the API shows it.
pub fn account_json(services: &[services::Service], account: &crate::store::Account) -> Value {
    let service_name = services::find(services, &account.service).map_or("", |service| service.name.as_str());
    json!({
        "id": account.id,
        "account": account.name,
        "service": account.service,
        "service_name": service_name,
        "admin": account.admin,
        "active": account.inactive_reason.is_none(),
        "inactive_reason": account.inactive_reason,
        "user_id": account.user_id,
        "created": account.created,
        "modified": account.modified,
    })
}

/// An endpoint of the library's API (named so in a test fault: `endpoint = "token"`).
#[derive(Clone, Copy, Debug, serde::Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// `GET /v1/oauth/token/`.
    Token,
    /// `GET /v1/accounts/{id}/`.
    Account,
}

/// What an API reply answered: its endpoint and the token's grant, in the reply's extensions.
#[cfg(feature = "test-support")]
#[derive(Clone, Debug)]
pub struct Answered {
    /// The endpoint called.
    pub endpoint: Endpoint,
    /// What the request's token grants.
    pub grant: Grant,
}

/// `response`, marked as the answer of `endpoint` to a token granting `grant`.
#[cfg(feature = "test-support")]
pub fn mark(mut response: Response, endpoint: Endpoint, grant: Grant) -> Response {
    response.extensions_mut().insert(Answered { endpoint, grant });
    response
}

/// One API request: its input as [`check_input`] found it, its headers, its endpoint.
struct Call<'r> {
    input: Result<(), ApiError>,
    headers: &'r HeaderMap,
    /// Read by the test faults only.
    #[cfg_attr(not(feature = "test-support"), allow(dead_code))]
    endpoint: Endpoint,
}

/// Checks the input, authorizes the request and answers with `body(grant)`, marked for the test
/// faults' layer with the `test-support` feature (see `faults`). CORS is granted to the token's
/// app's trusted origins, or, without a valid token, to any app's (so the page can read the
/// error).
async fn respond(
    app: &AppState,
    call: Call<'_>,
    body: impl AsyncFnOnce(&Grant) -> Result<Value, ApiError>,
) -> Response {
    let authorized = match call.input {
        Ok(()) => authorize(&app.store, call.headers).await,
        Err(error) => Err(error),
    };
    let grant = match authorized {
        Ok(grant) => grant,
        Err(error) => {
            let origin = cors::allowed_origin(&app.config, call.headers, Audience::AnyApp);
            return cors::with_cors(error.into_response(), origin);
        }
    };
    let response = reply(body(&grant).await);
    #[cfg(feature = "test-support")]
    let response = mark(response, call.endpoint, grant.clone());
    let origin = cors::allowed_origin(&app.config, call.headers, Audience::App(&grant.client_id));
    cors::with_cors(response, origin)
}

fn reply(body: Result<Value, ApiError>) -> Response {
    match body {
        Ok(value) => Json(value).into_response(),
        Err(error) => error.into_response(),
    }
}

/// `GET /v1/oauth/token/`: what the bearer token grants.
pub async fn token(
    State(app): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let call =
        Call { input: check_input(query.as_deref(), &body), headers: &headers, endpoint: Endpoint::Token };
    respond(&app, call, async |grant| Ok(token_info(grant))).await
}

/// `GET /v1/accounts/{id|me}/`: the token's account.
pub async fn account(
    State(app): State<Arc<AppState>>,
    id: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let id = id.ok().map(|Path(id)| id);
    let call =
        Call { input: check_input(query.as_deref(), &body), headers: &headers, endpoint: Endpoint::Account };
    respond(&app, call, async |grant| {
        account_info(&app.store, &app.config.services, grant, id.as_deref()).await
    })
    .await
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

    #[tokio::test]
    async fn accounts_are_visible_to_their_own_tokens_only() {
        let (_dir, store) = crate::store::testing::store().await;
        let (id, token) = store.connect("box:admin.storage", "app", "box", "ann", true, None).await.unwrap();
        let grant = store.grant(&token).await.unwrap().unwrap();
        let me = account_info(&store, &services::demo(), &grant, Some("me")).await.unwrap();
        assert_eq!(me, account_info(&store, &services::demo(), &grant, Some(&id.to_string())).await.unwrap());
        assert_eq!(me["service_name"], "Box (demo)");
        assert_eq!(me["admin"], true);
        assert_eq!(
            account_info(&store, &services::demo(), &grant, Some(&(id + 1).to_string())).await,
            Err(FORBIDDEN)
        );
        assert_eq!(account_info(&store, &services::demo(), &grant, Some("x1")).await, Err(NO_ACCOUNT));
        assert_eq!(account_info(&store, &services::demo(), &grant, None).await, Err(NO_ACCOUNT));
        assert_eq!(
            token_info(&grant),
            json!({ "account_id": id, "client_id": "app", "scope": "box:admin.storage" })
        );
    }
}
