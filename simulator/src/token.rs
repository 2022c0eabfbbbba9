//! The token endpoint (RFC 6749 §4.1.3 and §6) in the profile's ways, and the client
//! authentication it shares with the introspection and revocation endpoints.

use crate::profile::{ClientAuth, ExpiresIn, Pkce, Refresh, TokenBody, TokenReply};
use crate::{AccessToken, CLIENT_ID, CLIENT_SECRET, Grant, RefreshToken, Shared, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// A form body as pairs.
pub type Form = Vec<(String, String)>;

/// The first value of `name` in `form`.
pub fn field<'a>(form: &'a Form, name: &str) -> Option<&'a str> {
    form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// An OAuth 2.0 error reply.
pub fn error(status: StatusCode, code: &str) -> Response {
    (status, axum::Json(json!({ "error": code, "error_description": format!("simulator: {code}") })))
        .into_response()
}

/// Whether the request authenticates the client as `auth` allows: Basic (id and secret
/// form-decoded after base64, RFC 6749 §2.3.1), the body's `client_id` and `client_secret`, or
/// (a public client) the body's `client_id` alone.
pub fn authenticated(auth: ClientAuth, headers: &HeaderMap, form: &Form) -> bool {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|pair| {
            let (id, secret) = pair.split_once(':')?;
            let decode = |s: &str| {
                form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned())
            };
            Some((decode(id)?, decode(secret)?))
        });
    let by_basic = basic.is_some_and(|(id, secret)| id == CLIENT_ID && secret == CLIENT_SECRET);
    let by_post =
        field(form, "client_id") == Some(CLIENT_ID) && field(form, "client_secret") == Some(CLIENT_SECRET);
    match auth {
        ClientAuth::Basic => by_basic && field(form, "client_secret").is_none(),
        ClientAuth::Post => by_post && !headers.contains_key(header::AUTHORIZATION),
        ClientAuth::Both => by_basic || by_post,
        ClientAuth::None => {
            field(form, "client_id") == Some(CLIENT_ID) && field(form, "client_secret").is_none()
        }
    }
}

/// Whether a token request proves the client by its `hash` (a `secret_hash` profile):
/// `client_id`, no secret anywhere, and `hash` the hex SHA-256 of the secret, `|` and the grant
/// (the code, or the refresh token).
fn hashed(headers: &HeaderMap, form: &Form) -> bool {
    use sha2::Digest;
    let grant = field(form, "code").or_else(|| field(form, "refresh_token")).unwrap_or_default();
    let digest = sha2::Sha256::digest(format!("{CLIENT_SECRET}|{grant}"));
    let expected: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    field(form, "client_id") == Some(CLIENT_ID)
        && field(form, "client_secret").is_none()
        && !headers.contains_key(header::AUTHORIZATION)
        && field(form, "hash") == Some(expected.as_str())
}

/// `POST /token` (`/refresh`: `at_refresh`): its parameters `form`, sent as JSON (`json`) or as
/// a form. A profile with `separate_refresh` takes refreshes at `/refresh` only, and nothing
/// else there.
pub async fn token(shared: Shared, headers: HeaderMap, form: Form, json: bool, at_refresh: bool) -> Response {
    let delay = shared.lock().token_delay;
    tokio::time::sleep(delay).await;
    let mut state = shared.lock();
    let grant = field(&form, "grant_type").unwrap_or_default().to_owned();
    let refreshing = grant == "refresh_token";
    if at_refresh != (refreshing && state.profile.separate_refresh) {
        return error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    match grant.as_str() {
        "authorization_code" => state.counts.code_grants += 1,
        "password" if state.profile.password_grant => state.counts.password_grants += 1,
        "refresh_token" => state.counts.refresh_attempts += 1,
        _ => return error(StatusCode::BAD_REQUEST, "unsupported_grant_type"),
    }
    let refused = |state: &State, Refusal(status, code): Refusal| match state.profile.token_errors_200 {
        true => axum::Json(json!({ "ok": false, "error": code })).into_response(),
        false => error(status, &code),
    };
    let body_as_documented = json == (state.profile.token_body == TokenBody::Json);
    let params_as_documented =
        state.profile.token_params.iter().all(|(name, value)| field(&form, name) == Some(value.as_str()));
    if !body_as_documented || !params_as_documented {
        return refused(&state, Refusal(StatusCode::BAD_REQUEST, "invalid_request".to_owned()));
    }
    let client_known = match state.profile.secret_hash {
        true => hashed(&headers, &form),
        false => authenticated(state.profile.client_auth, &headers, &form),
    };
    if !client_known {
        state.counts.bad_client_auth += 1;
        return refused(&state, Refusal(StatusCode::UNAUTHORIZED, "invalid_client".to_owned()));
    }
    let json_accepted = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    let reply = match grant.as_str() {
        "authorization_code" => exchange(&mut state, &form),
        "password" => password(&mut state, &form),
        _ => refresh(&mut state, &form),
    };
    match reply {
        Ok(reply) => render(state.profile.token_reply, json_accepted, reply),
        Err(refusal) => refused(&state, refusal),
    }
}

/// A refused token request: its status and OAuth 2.0 error code.
struct Refusal(StatusCode, String);

fn invalid_grant() -> Refusal {
    Refusal(StatusCode::BAD_REQUEST, "invalid_grant".to_owned())
}

/// The code exchange: the code used once, with its redirect URI and PKCE verifier.
fn exchange(state: &mut State, form: &Form) -> Result<Map<String, Value>, Refusal> {
    let invalid = invalid_grant;
    let code = state.codes.remove(field(form, "code").unwrap_or_default()).ok_or_else(invalid)?;
    if field(form, "redirect_uri") != Some(code.redirect_uri.as_str()) {
        return Err(invalid());
    }
    if let (Some(challenge), true) = (&code.challenge, state.profile.pkce != Pkce::Ignored) {
        let verifier = field(form, "code_verifier").ok_or_else(invalid)?;
        let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier));
        if &computed != challenge {
            return Err(invalid());
        }
    }
    state.grants.push(Grant::default());
    let grant = state.grants.len() - 1;
    let mut reply = issue(state, grant, true);
    reply.insert("scope".into(), json!(code.scope));
    Ok(reply)
}

/// The password grant: [`crate::USERNAME`] with [`crate::PASSWORD`] only.
fn password(state: &mut State, form: &Form) -> Result<Map<String, Value>, Refusal> {
    if field(form, "username") != Some(crate::USERNAME) || field(form, "password") != Some(crate::PASSWORD) {
        return Err(invalid_grant());
    }
    state.grants.push(Grant::default());
    let grant = state.grants.len() - 1;
    Ok(issue(state, grant, true))
}

/// The refresh grant, rotating as the profile says.
fn refresh(state: &mut State, form: &Form) -> Result<Map<String, Value>, Refusal> {
    if let Some((status, code)) = state.refuse_refreshes.clone() {
        return Err(Refusal(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST), code));
    }
    let invalid = invalid_grant;
    let presented = field(form, "refresh_token").unwrap_or_default().to_owned();
    let token = state.refresh.get(&presented).ok_or_else(invalid)?;
    let (grant, used) = (token.grant, token.used);
    if state.grants[grant].revoked {
        return Err(invalid());
    }
    let rotation = state.profile.refresh;
    if used {
        state.counts.reuses += 1;
        if rotation == Refresh::SingleUse {
            state.grants[grant].revoked = true;
        }
        return Err(invalid());
    }
    let rotates = matches!(rotation, Refresh::Rotating | Refresh::SingleUse);
    if let (Refresh::SingleUse, Some(token)) = (rotation, state.refresh.get_mut(&presented)) {
        token.used = true;
    }
    let mut reply = issue(state, grant, rotates);
    if rotation == Refresh::Kept {
        reply.insert("refresh_token".into(), json!(presented));
    }
    state.counts.refreshes += 1;
    Ok(reply)
}

/// A new access token for `grant` (and a new refresh token with `with_refresh`, where the
/// profile issues any), in the profile's reply fields.
fn issue(state: &mut State, grant: usize, with_refresh: bool) -> Map<String, Value> {
    let access = state.next("AT");
    state.access.insert(access.clone(), AccessToken { grant, expired: false });
    let mut reply = Map::new();
    reply.insert("access_token".into(), json!(access));
    reply.insert("token_type".into(), json!("Bearer"));
    let lifetime = state.profile.lifetime;
    match state.profile.expires_in {
        ExpiresIn::Number => drop(reply.insert("expires_in".into(), json!(lifetime))),
        ExpiresIn::String => drop(reply.insert("expires_in".into(), json!(lifetime.to_string()))),
        ExpiresIn::Absent => {}
    }
    if with_refresh && state.profile.refresh != Refresh::None {
        let refresh = state.next("RT");
        state.refresh.insert(refresh.clone(), RefreshToken { grant, used: false });
        reply.insert("refresh_token".into(), json!(refresh));
    }
    if state.profile.instance_url {
        reply.insert("instance_url".into(), json!(state.base));
    }
    if state.profile.api_domain {
        reply.insert("api_domain".into(), json!(state.base));
    }
    reply
}

/// The reply in the profile's format.
fn render(format: TokenReply, json_accepted: bool, reply: Map<String, Value>) -> Response {
    match format {
        TokenReply::Json => axum::Json(Value::Object(reply)).into_response(),
        TokenReply::FormUnlessJsonAccepted if json_accepted => {
            axum::Json(Value::Object(reply)).into_response()
        }
        TokenReply::FormUnlessJsonAccepted => {
            let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
            let body = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(reply.iter().map(|(k, v)| (k, text(v))))
                .finish();
            ([(header::CONTENT_TYPE, "application/x-www-form-urlencoded")], body).into_response()
        }
        TokenReply::NestedAuthedUser => {
            let mut user = reply;
            user.insert("id".into(), json!("U-sim-1"));
            user.insert("token_type".into(), json!("user"));
            let top = json!({
                "ok": true,
                "access_token": "xoxb-bot-token-of-the-simulator",
                "token_type": "bot",
                "authed_user": Value::Object(user),
            });
            axum::Json(top).into_response()
        }
    }
}
