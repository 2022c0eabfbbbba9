//! One-time codes for results brought back to an app's return page.
//!
//! When the result page finds no opener (an identity provider's `Cross-Origin-Opener-Policy`
//! cut it), it takes the pop-up to `return_to`, one of the app's registered return URLs
//! ([`crate::config::App::return_urls`]), with a code in the fragment — never the result: a URL
//! lands in history, session restore, and whatever the page there does next. The code is
//! random ([`new_token`]), kept only as its hash, good once and for [`Quotas::return_window`]
//! (a few seconds), and bound to its flow: the app, the request id and the origin of the page
//! that launched it. The result message is kept sealed ([`crate::secrets`]) under it.
//!
//! The library on the return page hands the code to the waiting page, which redeems it
//! ([`redeem`], `POST {REDEEM_PATH}`) and then checks the message as it checks a posted one.
//! A redemption must name the flow and come from its origin (the browser's `Origin` header);
//! anything else — a second use, an expired code, another flow or origin — gets `invalid_code`
//! and takes nothing. Redeeming is what hands the result over: the flow is then forgotten by
//! [`crate::popup::progress`].
//!
//! [`Quotas::return_window`]: crate::popup::settings::Quotas::return_window

use crate::AppState;
use crate::clock::now_millis;
use crate::error::AppError;
use crate::extract::StrictForm;
use crate::params;
use crate::popup::progress::is_request_id;
use crate::store::{self, CodeFlow, hash, new_token};
use crate::token_api::cors;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kloudless_protocol::codes;
use std::sync::Arc;

/// What seals a code's result to its flow: the hash of the code (as the broker seals its
/// upstream state), so a row cannot be opened under another code.
fn owner(code_hash: &str) -> Vec<u8> {
    ["return code ", code_hash].concat().into_bytes()
}

/// Mints a code for the result `message` of `flow`, good for the return window; returns it.
pub async fn mint(app: &AppState, flow: CodeFlow<'_>, message: &str) -> Result<String, store::Error> {
    let code = new_token()?;
    let code_hash = hash(&code);
    let sealed = app.secrets.seal(message.as_bytes(), &owner(&code_hash)).map_err(store::Error::Random)?;
    let window = i64::try_from(app.config.popup.flows.return_window().as_millis()).unwrap_or(i64::MAX);
    let expires = now_millis().saturating_add(window);
    app.store.put_return_code(&code_hash, flow, &sealed, expires).await?;
    Ok(code)
}

/// Takes the result message under `code` for `flow`, once; `None` for anything else.
async fn take(app: &AppState, code: &str, flow: CodeFlow<'_>) -> Result<Option<String>, store::Error> {
    let code_hash = hash(code);
    let Some(sealed) = app.store.take_return_code(&code_hash, flow, now_millis()).await? else {
        return Ok(None);
    };
    let message =
        app.secrets.open(&sealed, &owner(&code_hash)).ok().and_then(|plain| String::from_utf8(plain).ok());
    if message.is_some()
        && let Err(error) = app.store.forget_flow(flow.request_id, flow.client_id).await
    {
        // The message still goes to the page; only a progress check may find the flow returned.
        tracing::error!("storage error: {error}");
    }
    Ok(message)
}

const NO_FIELDS: AppError =
    AppError::fixed(StatusCode::BAD_REQUEST, codes::INVALID_REQUEST, "Give code, client_id and request_id.");
const INVALID_CODE: AppError = AppError::fixed(
    StatusCode::BAD_REQUEST,
    codes::INVALID_CODE,
    "The code is unknown, used, expired, or not this flow's or this origin's.",
);

/// The redemption's form fields: `code`, `client_id` and `request_id`, each given once.
fn fields(form: &[(String, String)]) -> Option<(String, String, String)> {
    if params::repeated(form).is_some() {
        return None;
    }
    let field =
        |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).filter(|v| !v.is_empty());
    Some((field("code")?, field("client_id")?, field("request_id").filter(|r| is_request_id(r))?))
}

/// `POST /v1/oauth/progress/redeem` (form `code`, `client_id`, `request_id`), from the waiting
/// page: 200 with the result message (`text/plain`), once, when the code is this flow's, has
/// not expired, and the request's `Origin` is the flow's; 400 `invalid_code` for anything else,
/// 400 `invalid_request` for a form without the three fields. Never cached; only the app's
/// trusted origins may read the answer (CORS).
pub async fn redeem(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    form: Result<StrictForm, AppError>,
) -> Response {
    let Some((code, client_id, request_id)) = form.ok().and_then(|StrictForm(form)| fields(&form)) else {
        let any_app = cors::allowed_origin(&app.config, &headers, cors::Audience::AnyApp);
        return no_store(cors::with_cors(NO_FIELDS.into_response(), any_app));
    };
    let allowed = cors::allowed_origin(&app.config, &headers, cors::Audience::App(&client_id));
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let flow = CodeFlow { client_id: &client_id, request_id: &request_id, origin };
    let response = match take(&app, &code, flow).await {
        Ok(Some(message)) => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], message).into_response(),
        Ok(None) => INVALID_CODE.into_response(),
        Err(error) => AppError::from(error).into_response(),
    };
    no_store(cors::with_cors(response, allowed))
}

fn no_store(mut response: Response) -> Response {
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
