//! `POST /v1/oauth/token` with `grant_type=authorization_code` (RFC 6749 §4.1.3): the app's
//! server trades a code for the token, authenticated by its API key as `client_secret` (in the
//! form, or HTTP Basic); a public app by PKCE instead. The reply is
//! `{access_token, token_type: "bearer", account_id, scope}`; errors are RFC 6749 §5.2's
//! (`invalid_request`, `invalid_client` 401, `invalid_grant`, `unsupported_grant_type`). Every
//! reply has `Cache-Control: no-store`.

use super::owner;
use crate::AppState;
use crate::clock::now_millis;
use crate::config::App;
use crate::error::AppError;
use crate::extract::StrictForm;
use crate::params;
use crate::store::{AuthorizationCode, Presented, hash};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::sync::Arc;

/// The one grant type served.
const AUTHORIZATION_CODE: &str = "authorization_code";

const INVALID_CLIENT: AppError = AppError::fixed(
    StatusCode::UNAUTHORIZED,
    "invalid_client",
    "The client_id and client_secret (the app's API key) do not authenticate an app.",
);
const UNSUPPORTED_GRANT_TYPE: AppError = AppError::fixed(
    StatusCode::BAD_REQUEST,
    "unsupported_grant_type",
    "The grant_type must be authorization_code.",
);
const TWO_METHODS: AppError = AppError::fixed(
    StatusCode::BAD_REQUEST,
    "invalid_request",
    "Authenticate the client one way only: HTTP Basic, or client_secret in the form.",
);
const REPEATED: AppError =
    AppError::fixed(StatusCode::BAD_REQUEST, "invalid_request", "A parameter is given more than once.");

/// An `invalid_grant` saying `why`.
fn invalid_grant(why: &'static str) -> AppError {
    AppError::Refused { status: StatusCode::BAD_REQUEST, code: "invalid_grant", message: Cow::Borrowed(why) }
}

/// `POST /v1/oauth/token`: the code's exchange, never cached.
pub async fn exchange(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    form: Result<StrictForm, AppError>,
) -> Response {
    let reply = match form {
        Ok(StrictForm(params)) => exchanged(&app, &headers, &params).await,
        Err(error) => Err(error),
    };
    let mut response = match reply {
        Ok(body) => Json(body).into_response(),
        Err(error) => error.into_response(),
    };
    let no_store = [(header::CACHE_CONTROL, "no-store"), (header::PRAGMA, "no-cache")];
    for (name, value) in no_store {
        response.headers_mut().insert(name, HeaderValue::from_static(value));
    }
    if response.status() == StatusCode::UNAUTHORIZED && basic(&headers).is_some() {
        let challenge = HeaderValue::from_static("Basic realm=\"kloudless\"");
        response.headers_mut().insert(header::WWW_AUTHENTICATE, challenge);
    }
    response
}

/// The value of `key` in the form, if given.
fn field<'p>(params: &'p [(String, String)], key: &str) -> Option<&'p str> {
    params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
}

/// The one value of `key`, which the request must give.
fn required<'p>(params: &'p [(String, String)], key: &str) -> Result<&'p str, AppError> {
    field(params, key).ok_or_else(|| AppError::bad_request(format!("The parameter {key} is missing.")))
}

/// The exchange's reply for the form `params`, or its error.
async fn exchanged(
    app: &AppState,
    headers: &HeaderMap,
    params: &[(String, String)],
) -> Result<Value, AppError> {
    if params::repeated(params).is_some() {
        return Err(REPEATED);
    }
    if required(params, "grant_type")? != AUTHORIZATION_CODE {
        return Err(UNSUPPORTED_GRANT_TYPE);
    }
    let client = authenticate(app, headers, params)?;
    let code = required(params, "code")?;
    let redirect_uri = required(params, "redirect_uri")?;
    let stored = match app.store.present_authorization_code(&hash(code), now_millis()).await? {
        Presented::First(stored) => stored,
        Presented::Again => {
            return Err(invalid_grant("The code was used already: the token it gave is revoked."));
        }
        Presented::Unknown => return Err(invalid_grant("The code is unknown, or expired.")),
    };
    if let Err(refused) = bound(&stored, client, redirect_uri, field(params, "code_verifier")) {
        // A code shown where it does not belong leaked: nothing it gave may stay valid.
        app.store.revoke_token(&stored.token_hash).await?;
        return Err(refused);
    }
    let token = app
        .secrets
        .open(&stored.sealed_token, &owner(&hash(code)))
        .ok()
        .and_then(|plain| String::from_utf8(plain).ok())
        .ok_or(invalid_grant("The code cannot be opened with this server's secret key."))?;
    let grant = app.store.grant(&token).await?.ok_or(invalid_grant("The code's token was revoked."))?;
    Ok(json!({
        "access_token": token,
        "token_type": "bearer",
        "account_id": grant.account_id,
        "scope": grant.scope,
    }))
}

/// Whether the code `stored` was issued to `client` for `redirect_uri`, and `verifier` answers
/// its PKCE challenge (if it had one): `invalid_grant` otherwise.
fn bound(
    stored: &AuthorizationCode,
    client: &App,
    redirect_uri: &str,
    verifier: Option<&str>,
) -> Result<(), AppError> {
    if stored.client_id != client.client_id {
        return Err(invalid_grant("The code was issued to another app."));
    }
    if stored.redirect_uri != redirect_uri {
        return Err(invalid_grant("The redirect_uri is not the one the code was sent to."));
    }
    match (&stored.code_challenge, verifier) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(invalid_grant("The code has no code_challenge for a code_verifier.")),
        (Some(_), None) => Err(invalid_grant("The code_verifier is missing.")),
        (Some(challenge), Some(verifier)) => {
            let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
            let valid = (43..=128).contains(&verifier.len()) && super::request::is_pkce_text(verifier);
            if valid && computed == *challenge {
                Ok(())
            } else {
                Err(invalid_grant("The code_verifier does not match."))
            }
        }
    }
}

/// The app the request authenticates: `client_id` and `client_secret` (its API key) from HTTP
/// Basic or the form, not both; a public app may give its `client_id` alone (PKCE then
/// authenticates the exchange). Secrets are compared by their SHA-256 hashes.
fn authenticate<'c>(
    app: &'c AppState,
    headers: &HeaderMap,
    params: &[(String, String)],
) -> Result<&'c App, AppError> {
    let in_form = (field(params, "client_id"), field(params, "client_secret"));
    let (client_id, secret) = match basic(headers) {
        Some(_) if in_form.1.is_some() => return Err(TWO_METHODS),
        Some(Some((id, secret))) if in_form.0.is_none_or(|form_id| form_id == id) => (id, Some(secret)),
        Some(_) => return Err(INVALID_CLIENT),
        None => (in_form.0.ok_or(INVALID_CLIENT)?.to_owned(), in_form.1.map(str::to_owned)),
    };
    let client = app.config.app(&client_id).ok_or(INVALID_CLIENT)?;
    let key = client.api_key.as_ref().map(|key| Sha256::digest(key.expose().as_bytes()));
    let given = secret.map(|secret| Sha256::digest(secret.as_bytes()));
    let authenticated = match (key, given) {
        (Some(key), Some(given)) => key == given,
        (_, None) => client.public,
        (None, Some(_)) => false,
    };
    if authenticated { Ok(client) } else { Err(INVALID_CLIENT) }
}

/// The request's HTTP Basic credentials: `None` without them, `Some(None)` when they do not
/// read (RFC 6749 §2.3.1: each part form-encoded, then base64).
fn basic(headers: &HeaderMap) -> Option<Option<(String, String)>> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok().and_then(|bytes| String::from_utf8(bytes).ok());
    let form_decoded = |part: &str| {
        percent_encoding::percent_decode_str(&part.replace('+', " ")).decode_utf8().ok().map(Cow::into_owned)
    };
    Some(decoded.and_then(|text| {
        let (id, secret) = text.split_once(':')?;
        Some((form_decoded(id)?, form_decoded(secret)?))
    }))
}
