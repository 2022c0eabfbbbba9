//! The simulator's routes: authorization, token, identity, revocation, the API, and the
//! `/_sim/` control routes for a test driving the binary.

use crate::profile::{Discovery, Identity, Pkce};
use crate::token::{self, Form, authenticated, error, field};
use crate::{Code, Shared};
use axum::Router;
use axum::body::Bytes;
use axum::extract::RawQuery;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{any, get, post};
use base64::Engine;
use serde_json::json;

/// Every route, with `Cross-Origin-Opener-Policy: same-origin` on every reply where the profile
/// says so.
pub fn router(shared: Shared) -> Router {
    let coop = shared.lock().profile.coop;
    let with = |shared: &Shared| shared.clone();
    let (a, t, f, i, r, api, counts, expire, revoke, d) = (
        with(&shared),
        with(&shared),
        with(&shared),
        with(&shared),
        with(&shared),
        with(&shared),
        with(&shared),
        with(&shared),
        with(&shared),
        with(&shared),
    );
    let router = Router::new()
        .route("/authorize", get(move |query: RawQuery| async move { authorize(&a, query) }))
        .route("/token", post(move |headers: HeaderMap, body: Bytes| token_request(t, headers, body, false)))
        .route("/refresh", post(move |headers: HeaderMap, body: Bytes| token_request(f, headers, body, true)))
        .route(
            "/identity",
            any(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| async move {
                let (credential, webdav) = {
                    let state = i.lock();
                    (state.profile.credential.clone(), state.profile.webdav)
                };
                match credential {
                    Some(_) if webdav => propfind(&i, &method, &headers),
                    Some(placement) => credential_check(&i, &placement, &method, &uri, &headers),
                    None => identity(&i, &method, &headers, &body),
                }
            }),
        )
        .route(
            "/revoke",
            post(
                move |headers: HeaderMap, body: Bytes| async move { revocation(&r, &headers, &form(&body)) },
            ),
        )
        .route("/.well-known/openid-configuration", get(move || async move { discovery(&d) }))
        .route("/_sim/counts", get(move || async move { axum::Json(counts.lock().counts.clone()) }))
        .route(
            "/_sim/expire",
            post(move || async move { expire.lock().access.values_mut().for_each(|t| t.expired = true) }),
        )
        .route(
            "/_sim/revoke",
            post(move || async move { revoke.lock().grants.iter_mut().for_each(|g| g.revoked = true) }),
        )
        .fallback(move |method: Method, uri: Uri, headers: HeaderMap| async move {
            call_api(&api, &method, &uri, &headers)
        });
    router.layer(axum::middleware::map_response(move |mut response: Response| async move {
        if coop {
            response
                .headers_mut()
                .insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
        }
        response
    }))
}

/// A request to `/token` (or, `at_refresh`, to `/refresh`): its parameters read from a JSON or
/// form body.
async fn token_request(shared: Shared, headers: HeaderMap, body: Bytes, at_refresh: bool) -> Response {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let params = if json { json_form(&body) } else { form(&body) };
    token::token(shared, headers, params, json, at_refresh).await
}

fn form(body: &[u8]) -> Form {
    form_urlencoded::parse(body).into_owned().collect()
}

/// A JSON object's string members as pairs (nothing for anything else).
fn json_form(body: &[u8]) -> Form {
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(body).unwrap_or_default();
    object.into_iter().filter_map(|(k, v)| Some((k, v.as_str()?.to_owned()))).collect()
}

/// `GET /authorize`: approves at once (a redirect to `redirect_uri` with a code, `state` and the
/// profile's `iss`), or denies when told to (`error=access_denied`, `state` only where the
/// profile's error redirects carry it).
fn authorize(shared: &Shared, RawQuery(query): RawQuery) -> Response {
    let query: Form = form(query.unwrap_or_default().as_bytes());
    let mut state = shared.lock();
    state.last_authorization = query.clone();
    let known = field(&query, "client_id") == Some(crate::CLIENT_ID)
        && field(&query, "response_type") == Some("code");
    let Some(redirect_uri) = field(&query, "redirect_uri").filter(|_| known) else {
        return (StatusCode::BAD_REQUEST, "simulator: unknown client, response_type or no redirect_uri")
            .into_response();
    };
    let challenge = match field(&query, "code_challenge_method") {
        Some("S256") => field(&query, "code_challenge").map(str::to_owned),
        _ => None,
    };
    let mut back = vec![];
    let denied = std::mem::take(&mut state.deny_next);
    if denied || (state.profile.pkce == Pkce::Required && challenge.is_none()) {
        back.push(("error", if denied { "access_denied" } else { "invalid_request" }.to_owned()));
        if !state.profile.error_state {
            return Redirect::to(&with_query(redirect_uri, &back)).into_response();
        }
    } else {
        let code = state.next("CODE");
        let scope = field(&query, &state.profile.scope_param).unwrap_or_default().to_owned();
        state.codes.insert(code.clone(), Code { redirect_uri: redirect_uri.to_owned(), challenge, scope });
        state.counts.authorizations += 1;
        back.push(("code", code));
    }
    if let Some(value) = field(&query, "state") {
        back.push(("state", value.to_owned()));
    }
    let host = state.base.trim_start_matches("http://").to_owned();
    let (first_label, rest) = host.split_once('.').unwrap_or((&host, ""));
    for (name, template) in &state.profile.callback_params {
        let value = template
            .replace("{base}", &state.base)
            .replace("{host}", &host)
            .replace("{first_label}", first_label)
            .replace("{rest}", rest);
        back.push((name.as_str(), value));
    }
    let iss = match state.profile.discovery {
        Some(Discovery::Iss) => Some(state.base.clone()),
        Some(Discovery::IssOmitted) => None,
        None => state.profile.issuer.clone(),
    };
    if let Some(issuer) = iss {
        back.push(("iss", issuer));
    }
    Redirect::to(&with_query(redirect_uri, &back)).into_response()
}

/// `GET /.well-known/openid-configuration`: the discovery document of a profile that has one
/// (its base URL as the issuer, `iss` advertised), else 404.
fn discovery(shared: &Shared) -> Response {
    let state = shared.lock();
    if state.profile.discovery.is_none() {
        return StatusCode::NOT_FOUND.into_response();
    }
    let base = &state.base;
    let methods = match state.profile.client_auth {
        crate::profile::ClientAuth::Basic => json!(["client_secret_basic"]),
        crate::profile::ClientAuth::Post => json!(["client_secret_post"]),
        crate::profile::ClientAuth::Both => json!(["client_secret_basic", "client_secret_post"]),
        crate::profile::ClientAuth::None => json!(["none"]),
    };
    axum::Json(json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "userinfo_endpoint": format!("{base}/identity"),
        "token_endpoint_auth_methods_supported": methods,
        "authorization_response_iss_parameter_supported": true,
    }))
    .into_response()
}

fn with_query(url: &str, pairs: &[(&str, String)]) -> String {
    let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    let joiner = if url.contains('?') { '&' } else { '?' };
    format!("{url}{joiner}{query}")
}

/// The bearer token of `headers`, if it is live: known, not expired, its grant not revoked.
fn live(shared: &Shared, token: &str) -> bool {
    let state = shared.lock();
    state.access.get(token).is_some_and(|t| !t.expired && !state.grants[t.grant].revoked)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ")
}

/// The access token of a request to the API or the identity endpoint, where the profile takes
/// it (its `token_header`, else `Authorization: Bearer`).
fn presented<'h>(shared: &Shared, headers: &'h HeaderMap) -> Option<&'h str> {
    match shared.lock().profile.token_header.clone() {
        Some(name) => headers.get(name.as_str())?.to_str().ok(),
        None => bearer(headers),
    }
}

fn unauthorized() -> Response {
    let challenge = [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")];
    (StatusCode::UNAUTHORIZED, challenge, axum::Json(json!({ "error": "invalid_token" }))).into_response()
}

/// `/identity`: the profile's `me` reply to the method it takes.
fn identity(shared: &Shared, method: &Method, headers: &HeaderMap, body: &[u8]) -> Response {
    let (kind, auth, me, query) = {
        let state = shared.lock();
        (
            state.profile.identity,
            state.profile.client_auth,
            state.profile.me.clone(),
            state.profile.identity_body.clone(),
        )
    };
    let form = &form(body);
    if let Some(query) = query.filter(|_| kind == Identity::MePost)
        && serde_json::from_slice::<serde_json::Value>(body).ok() != Some(query)
    {
        return error(StatusCode::BAD_REQUEST, "invalid_query");
    }
    let expected = match kind {
        Identity::Userinfo | Identity::MeGet => Method::GET,
        Identity::MePost | Identity::Introspect => Method::POST,
    };
    if *method != expected {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    if kind != Identity::Introspect
        && let Some(missing) = without_api_headers(shared, headers)
    {
        return missing;
    }
    let reply = if kind == Identity::Introspect {
        if !authenticated(auth, headers, form) {
            shared.lock().counts.bad_client_auth += 1;
            return error(StatusCode::UNAUTHORIZED, "invalid_client");
        }
        let active = field(form, "token").is_some_and(|t| live(shared, t));
        let mut me = me;
        me["active"] = json!(active);
        if !active {
            return axum::Json(json!({ "active": false })).into_response();
        }
        me
    } else {
        if !presented(shared, headers).is_some_and(|t| live(shared, t)) {
            return unauthorized();
        }
        me
    };
    shared.lock().counts.identity_calls += 1;
    axum::Json(reply).into_response()
}

/// `/identity` of an API-key or basic provider: the profile's `me` when the request carries the
/// credential where the profile's `credential` says ([`credential_ok`]), else 401.
fn credential_check(
    shared: &Shared,
    placement: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Response {
    if !credential_ok(placement, method, uri, headers) {
        return unauthorized();
    }
    let mut state = shared.lock();
    state.counts.identity_calls += 1;
    axum::Json(state.profile.me.clone()).into_response()
}

/// Whether the request carries the key (or, by HTTP Basic, the password)
/// [`crate::CLIENT_SECRET`] as `placement` says — or, for `aws_sigv4:<service>`, an AWS
/// Signature V4 made with it as the secret access key ([`crate::sigv4::verify`]); for
/// `azure_shared_key`, an Azure Shared Key signature keyed with it ([`crate::shared_key::verify`]).
fn credential_ok(placement: &str, method: &Method, uri: &Uri, headers: &HeaderMap) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let presented = match placement.split_once(':') {
        Some(("aws_sigv4", service)) => return crate::sigv4::verify(method, uri, headers, service),
        Some(("header", name)) => header(name),
        Some(("query", name)) => form(uri.query().unwrap_or_default().as_bytes())
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v),
        None if placement == "azure_shared_key" => return crate::shared_key::verify(method, uri, headers),
        None if placement == "basic" => basic_password(headers),
        _ => bearer(headers).map(str::to_owned),
    };
    presented.as_deref() == Some(crate::CLIENT_SECRET)
}

/// `/identity` of a WebDAV server: `PROPFIND` with `Depth: 0` under HTTP Basic with the password
/// [`crate::CLIENT_SECRET`], answered 207 Multi-Status with the collection's properties in XML
/// (RFC 4918 §9.1); 405 to another method, 400 to another depth, 401 to another password.
fn propfind(shared: &Shared, method: &Method, headers: &HeaderMap) -> Response {
    if method.as_str() != "PROPFIND" {
        return (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "OPTIONS, PROPFIND")]).into_response();
    }
    if headers.get("depth").and_then(|v| v.to_str().ok()) != Some("0") {
        return (StatusCode::BAD_REQUEST, "simulator: PROPFIND needs Depth: 0 here").into_response();
    }
    if basic_password(headers).as_deref() != Some(crate::CLIENT_SECRET) {
        let challenge = [(header::WWW_AUTHENTICATE, "Basic realm=\"simulator\"")];
        return (StatusCode::UNAUTHORIZED, challenge).into_response();
    }
    shared.lock().counts.identity_calls += 1;
    let xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<d:multistatus xmlns:d=\"DAV:\"><d:response>\
               <d:href>/</d:href><d:propstat><d:prop><d:resourcetype><d:collection/></d:resourcetype>\
               </d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>";
    (StatusCode::MULTI_STATUS, [(header::CONTENT_TYPE, "application/xml; charset=utf-8")], xml)
        .into_response()
}

/// The password of an HTTP Basic `Authorization` (the user name when the password is empty:
/// an API key as the user).
fn basic_password(headers: &HeaderMap) -> Option<String> {
    let encoded = headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(encoded).ok()?).ok()?;
    let (user, password) = decoded.split_once(':').unwrap_or((&decoded, ""));
    Some(if password.is_empty() { user } else { password }.to_owned())
}

/// `POST /revoke` (RFC 7009): the grant of the token is revoked; an unknown token is a 200 too.
fn revocation(shared: &Shared, headers: &HeaderMap, form: &Form) -> Response {
    let mut state = shared.lock();
    if !state.profile.revocation {
        return StatusCode::NOT_FOUND.into_response();
    }
    if !authenticated(state.profile.client_auth, headers, form) {
        state.counts.bad_client_auth += 1;
        return error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    let token = field(form, "token").unwrap_or_default();
    let grant =
        state.refresh.get(token).map(|t| t.grant).or_else(|| state.access.get(token).map(|t| t.grant));
    if let Some(grant) = grant {
        state.grants[grant].revoked = true;
    }
    state.counts.revocations += 1;
    StatusCode::OK.into_response()
}

/// A 400 `missing_header` when the request lacks one of the profile's `api_headers` (or
/// carries another value), as Notion refuses a request without `Notion-Version`; else `None`.
fn without_api_headers(shared: &Shared, headers: &HeaderMap) -> Option<Response> {
    let required = shared.lock().profile.api_headers.clone();
    let sent = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    required
        .iter()
        .any(|(name, value)| sent(name) != Some(value.as_str()))
        .then(|| error(StatusCode::BAD_REQUEST, "missing_header"))
}

/// Any other path: the API. 401 to a token that is not live (an API-key or basic provider: to a
/// request without the credential, [`credential_ok`]), 429 with `Retry-After` while throttled,
/// the profile's sites at their path, 404 outside the sites' API prefix, else a small JSON reply.
fn call_api(shared: &Shared, method: &Method, uri: &Uri, headers: &HeaderMap) -> Response {
    let credential = shared.lock().profile.credential.clone();
    let authorized = match &credential {
        Some(placement) => credential_ok(placement, method, uri, headers),
        None => presented(shared, headers).is_some_and(|t| live(shared, t)),
    };
    if !authorized {
        shared.lock().counts.api_unauthorized += 1;
        return unauthorized();
    }
    if let Some(missing) = without_api_headers(shared, headers) {
        return missing;
    }
    let mut state = shared.lock();
    if state.throttle > 0 {
        state.throttle -= 1;
        return (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "1")]).into_response();
    }
    if let Some(sites) = &state.profile.sites {
        if uri.path() == sites.path {
            return axum::Json(sites.reply.clone()).into_response();
        }
        if !uri.path().starts_with(&sites.api_prefix) {
            return StatusCode::NOT_FOUND.into_response();
        }
    }
    state.counts.api_calls += 1;
    axum::Json(json!({ "ok": true })).into_response()
}
