//! The JSON API the library calls: `GET /v1/oauth/token/` and `GET /v1/accounts/{id|me}/`,
//! CORS-enabled (see [`crate::token_api::cors`]) for the apps' trusted origins only.

use crate::AppState;
use crate::error::AppError;
use crate::extract::{Bearer, INVALID_TOKEN, StrictQuery};
use crate::providers::services;
use crate::store::{Grant, Store};
use crate::token_api::cors::{self, Audience};
use crate::token_api::endpoint::Endpoint;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use kloudless_protocol::{TokenInfo, codes};
use serde_json::{Value, json};
use std::sync::Arc;

const FORBIDDEN: AppError =
    AppError::fixed(StatusCode::FORBIDDEN, "forbidden", "The token does not grant access to this account.");
const NO_ACCOUNT: AppError = AppError::fixed(StatusCode::NOT_FOUND, codes::NOT_FOUND, "No such account.");
const NO_ENDPOINT: AppError = AppError::fixed(StatusCode::NOT_FOUND, codes::NOT_FOUND, "No such endpoint.");
const BODY_TOO_LARGE: AppError =
    AppError::fixed(StatusCode::PAYLOAD_TOO_LARGE, codes::INVALID_REQUEST, "The request body is too large.");
const BODY_GIVEN: AppError =
    AppError::fixed(StatusCode::BAD_REQUEST, codes::INVALID_REQUEST, "This endpoint takes no request body.");

/// Checks what the API ignores but must not be malformed: the query string (read by
/// [`StrictQuery`], no name twice) and the body (there is none).
pub fn check_input(
    query: Result<StrictQuery, AppError>,
    body: &Result<Bytes, BytesRejection>,
) -> Result<(), AppError> {
    query?.once_each()?;
    match body {
        Ok(body) if body.is_empty() => Ok(()),
        Ok(_) => Err(BODY_GIVEN),
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(BODY_TOO_LARGE),
        Err(_) => Err(BODY_GIVEN),
    }
}

/// What the bearer token grants.
async fn authorize(store: &Store, bearer: Result<Bearer, AppError>) -> Result<Grant, AppError> {
    let Bearer(token) = bearer?;
    store.grant(&token).await?.ok_or(INVALID_TOKEN)
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
) -> Result<Value, AppError> {
    let wanted = match id {
        Some("me") => grant.account_id,
        Some(number) => number.parse::<i64>().map_err(|_| NO_ACCOUNT)?,
        None => return Err(NO_ACCOUNT),
    };
    if wanted != grant.account_id {
        return Err(FORBIDDEN);
    }
    let account = store.account(wanted).await?.ok_or(NO_ACCOUNT)?;
    Ok(account_json(services, &account))
}

/// An account as the API shows it.
pub fn account_json(services: &[services::Service], account: &crate::store::Account) -> Value {
    // An account stored under an alias (an id the catalogue had before) shows the service's id.
    let service = services::find(services, &account.service);
    json!({
        "id": account.id,
        "account": account.name,
        "service": service.map_or(account.service.as_str(), |service| service.id.as_str()),
        "service_name": service.map_or("", |service| service.name.as_str()),
        "admin": account.admin,
        "active": account.inactive_reason.is_none(),
        "inactive_reason": account.inactive_reason,
        "user_id": account.user_id,
        "created": account.created,
        "modified": account.modified,
        "custom_properties": crate::accounts::custom_properties::shown(account.custom_properties.as_deref()),
        "last_refresh_at": account.last_refresh_at,
        "last_refresh_error": account.last_refresh_error,
        "consecutive_failures": account.consecutive_failures,
    })
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

/// One API request: its input as [`check_input`] found it, its bearer token, its headers, its
/// endpoint.
struct Call<'r> {
    input: Result<(), AppError>,
    bearer: Result<Bearer, AppError>,
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
    body: impl AsyncFnOnce(&Grant) -> Result<Value, AppError>,
) -> Response {
    let authorized = match call.input {
        Ok(()) => authorize(&app.store, call.bearer).await,
        Err(error) => Err(error),
    };
    let grant = match authorized {
        Ok(grant) => grant,
        Err(error) => {
            let origin = cors::allowed_origin(&app.config, call.headers, Audience::AnyApp);
            return cors::with_cors(error.into_response(), origin);
        }
    };
    let response = body(&grant).await.map(Json).into_response();
    #[cfg(feature = "test-support")]
    let response = mark(response, call.endpoint, grant.clone());
    let origin = cors::allowed_origin(&app.config, call.headers, Audience::App(&grant.client_id));
    cors::with_cors(response, origin)
}

/// `GET /v1/oauth/token/`: what the bearer token grants.
pub async fn token(
    State(app): State<Arc<AppState>>,
    query: Result<StrictQuery, AppError>,
    bearer: Result<Bearer, AppError>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let input = check_input(query, &body);
    let call = Call { input, bearer, headers: &headers, endpoint: Endpoint::Token };
    respond(&app, call, async |grant| Ok(token_info(grant))).await
}

/// `GET /v1/accounts/{id|me}/`: the token's account.
pub async fn account(
    State(app): State<Arc<AppState>>,
    id: Result<Path<String>, PathRejection>,
    query: Result<StrictQuery, AppError>,
    bearer: Result<Bearer, AppError>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let id = id.ok().map(|Path(id)| id);
    let input = check_input(query, &body);
    let call = Call { input, bearer, headers: &headers, endpoint: Endpoint::Account };
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
pub fn not_found() -> AppError {
    NO_ENDPOINT
}

#[cfg(test)]
mod tests {
    use super::*;
    #[tokio::test]
    async fn accounts_are_visible_to_their_own_tokens_only() {
        let (_dir, store) = crate::store::testing::store().await;
        let (id, token) =
            store.connect("box:admin.storage", "app", "box", "ann", true, Default::default()).await.unwrap();
        let grant = store.grant(&token).await.unwrap().unwrap();
        let me = account_info(&store, &services::demo(), &grant, Some("me")).await.unwrap();
        assert_eq!(me, account_info(&store, &services::demo(), &grant, Some(&id.to_string())).await.unwrap());
        assert_eq!(me["service_name"], "Box (demo)");
        assert_eq!(me["admin"], true);
        let refusal = |info: Result<Value, AppError>| info.unwrap_err().to_string();
        assert_eq!(
            refusal(account_info(&store, &services::demo(), &grant, Some(&(id + 1).to_string())).await),
            FORBIDDEN.to_string()
        );
        assert_eq!(
            refusal(account_info(&store, &services::demo(), &grant, Some("x1")).await),
            NO_ACCOUNT.to_string()
        );
        assert_eq!(
            refusal(account_info(&store, &services::demo(), &grant, None).await),
            NO_ACCOUNT.to_string()
        );
        assert_eq!(
            token_info(&grant),
            json!({ "account_id": id, "client_id": "app", "scope": "box:admin.storage" })
        );
    }
}
