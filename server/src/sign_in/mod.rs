//! Single-use sign-in tokens: an app's backend mints one with its API key for one of its end
//! users (`POST /v1/sign_in_tokens`), the page passes it to the library (option
//! `sign_in_token`), the library puts it on the pop-up URL, and the pop-up's first request
//! binds it to that flow and to the browser it runs in ([`admit`], [`crate::popup::browser`]): the
//! flow's next pages in that browser (a reload, the chooser's form, the upstream's return) pass
//! with it, any other pop-up or browser presenting it is refused, and the flow's result
//! consumes it ([`consume`], once only, even when two results race). An app with `require_sign_in_token` refuses every flow without one, so no
//! page can start a flow in its name without its backend. The end user is recorded on the
//! account the flow connects (`user_id` in the account API).

pub mod settings;

use crate::AppState;
use crate::clock::{self, millis};
use crate::error::AppError;
use crate::extract::Caller;
use crate::popup::request::{AuthRequest, STATE_LIFETIME};
use crate::store::{self, Store};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::post;
use kloudless_protocol::{SIGN_IN_TOKENS_PATH, codes};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// How long a flow admitted by a sign-in token may take from its first page to its result
/// (twice the time a user may spend at an upstream).
pub const FLOW_LIFETIME: Duration = Duration::from_secs(2 * STATE_LIFETIME.as_secs());

/// The longest `user_id`.
pub const MAX_USER_ID_LEN: usize = 256;

/// The route minting sign-in tokens.
pub fn router() -> Router<Arc<AppState>> {
    Router::new().route(SIGN_IN_TOKENS_PATH, post(mint))
}

const API_KEY_ONLY: AppError = AppError::fixed(
    StatusCode::FORBIDDEN,
    "forbidden",
    "Sign-in tokens are minted with the app's API key (Authorization: APIKey <key>).",
);
const BAD_BODY: AppError = AppError::fixed(
    StatusCode::BAD_REQUEST,
    codes::INVALID_REQUEST,
    "The body must be JSON {\"user_id\": \"…\"}: the end user's id in your app, 1 to 256 characters without control characters.",
);

/// The body of `POST /v1/sign_in_tokens`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MintRequest {
    /// The app's end user the pop-up is for.
    user_id: String,
}

/// `POST /v1/sign_in_tokens` with the app's API key and `{"user_id": "…"}`: 201 with
/// `{token, user_id, expires_in, expires_at}`; the token admits one pop-up flow of the app.
pub async fn mint(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, AppError> {
    let Caller::App { client_id } = caller else { return Err(API_KEY_ONLY) };
    let body = body.map_err(|_| BAD_BODY)?;
    let MintRequest { user_id } = serde_json::from_slice(&body).map_err(|_| BAD_BODY)?;
    if user_id.is_empty()
        || user_id.chars().count() > MAX_USER_ID_LEN
        || user_id.chars().any(char::is_control)
    {
        return Err(BAD_BODY);
    }
    let ttl = app.config.sign_in.token_ttl;
    let expires_at = SystemTime::now() + ttl;
    let token = app.store.mint_sign_in_token(&client_id, &user_id, millis(expires_at)).await?;
    let body = json!({
        "token": token,
        "user_id": user_id,
        "expires_in": ttl.as_secs(),
        "expires_at": clock::rfc3339(millis(expires_at)),
    });
    Ok((StatusCode::CREATED, [(header::CACHE_CONTROL, "no-store")], Json(body)))
}

/// The description of a result refusing to connect an account recorded for another end user of
/// the app (`account_of_another_user`).
pub const OTHER_USER: &str = "This account is already connected for another user of this app: nothing was changed. Sign in to the app as that user, or ask the app to remove the account first.";

/// Why a flow's sign-in token does not admit it: its error code (`sign_in_token_required` when
/// it is missing and the app requires one, else `invalid_sign_in_token`) and a sentence that
/// says which. The flow then ends with that error as its result.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InvalidToken(pub &'static str, pub &'static str);

/// Admits the validated pop-up `request` in the browser whose cookie hashes to `browser`:
/// without a `sign_in_token`, unless its app requires one; with one, only if the token is the
/// app's and either unused and unexpired (it is then bound to this flow and this browser) or
/// already bound to this flow (its `request_id`) within [`FLOW_LIFETIME`]. Returns the browser
/// the token is bound to, which the caller checks ([`crate::popup::browser::check`]); its end user is
/// recorded when the flow's result [`consume`]s it.
pub async fn admit(
    app: &AppState,
    request: &AuthRequest,
    browser: &str,
) -> Result<Result<Option<String>, InvalidToken>, store::Error> {
    let Some(token) = &request.sign_in_token else {
        if app.config.app(&request.client_id).is_some_and(|a| a.require_sign_in_token) {
            return Ok(Err(InvalidToken(
                codes::SIGN_IN_TOKEN_REQUIRED,
                "This app requires a sign-in token from its backend (the sign_in_token option): none was given.",
            )));
        }
        return Ok(Ok(None));
    };
    let now = SystemTime::now();
    let admitted = app
        .store
        .admit_sign_in_token(
            token,
            &request.client_id,
            &request.request_id,
            browser,
            millis(now),
            millis(now + FLOW_LIFETIME),
        )
        .await?;
    Ok(admitted.map(Some).ok_or(InvalidToken(
        codes::INVALID_SIGN_IN_TOKEN,
        "The sign-in token is unknown, expired, already used or not this app's: ask the app for a new one.",
    )))
}

/// Consumes the sign-in token of `request`'s flow for the account its result connects: the end
/// user to record it for (`None` for a flow without a token). Refused when the token was
/// consumed already (two results of one flow raced) or expired meanwhile: then nothing may be
/// connected.
pub async fn consume(
    store: &Store,
    request: &AuthRequest,
) -> Result<Result<Option<String>, InvalidToken>, store::Error> {
    let Some(token) = &request.sign_in_token else { return Ok(Ok(None)) };
    let browser = request.browser.as_deref().unwrap_or_default();
    let consumed =
        store.consume_sign_in_token(token, &request.request_id, browser, millis(SystemTime::now())).await?;
    Ok(consumed.map(Some).ok_or(InvalidToken(
        codes::INVALID_SIGN_IN_TOKEN,
        "The sign-in token was used already by this sign-in's result, or expired: ask the app for a new one.",
    )))
}

/// Ends the sign-in token of `request`'s flow, which has its result: it admits nothing more.
pub async fn end(app: &AppState, request: &AuthRequest) {
    let Some(token) = &request.sign_in_token else { return };
    if let Err(error) = app.store.end_sign_in_token(token, &request.request_id).await {
        // It expires with the flow's deadline anyway.
        tracing::error!("storage error: {error}");
    }
}
