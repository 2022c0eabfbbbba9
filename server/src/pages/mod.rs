//! The HTML pages: the pop-up's chooser, connect, form, hand-off, result and error pages, and
//! the relay. Each is an askama template (`server/templates/`, auto-escaped) inside one page
//! frame (`page.html`) and policy; [`statics`] serves the demo page, the library build and the relay page.

pub mod statics;

use crate::AppState;
use crate::providers::catalogue::{Entry, Kind};
use crate::providers::services::{Allowed, Service};
use crate::security;
use askama::Template;
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kloudless_protocol::{Envelope, MESSAGE_PREFIX, POPUP_PATH, RELAY_PATH, RETURN_FRAGMENT};
use serde_json::Value;
use std::sync::{Arc, LazyLock};

/// The pages served as they are: the demo page, its files, the library build, the relay.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(statics::index))
        .route("/{file}", get(statics::www))
        .route("/dist/{*path}", get(statics::dist))
        .route(RELAY_PATH, get(statics::relay))
}

/// A complete pop-up page: never cached, never framed, no referrer, and a strict policy (see
/// [`security::popup_csp`]) under which only [`STYLE`] and, when given, the inline `script`
/// (placed at the end of the body) apply.
fn page(status: StatusCode, body: &Frame<'_>) -> Response {
    let Ok(html) = body.render() else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "The page could not be shown; try again.")
            .into_response();
    };
    let csp = security::popup_csp(STYLE, body.script);
    let mut response = (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::X_FRAME_OPTIONS, "DENY"),
        ],
        html,
    )
        .into_response();
    let csp = HeaderValue::from_str(&csp)
        .unwrap_or(HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"));
    response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, csp);
    response
}

/// The page frame (`templates/page.html`) around a rendered body.
#[derive(Template)]
#[template(path = "page.html")]
struct Frame<'a> {
    title: &'a str,
    style: &'a str,
    body: &'a str,
    /// `data-request`: the flow the abandon beacon names.
    request: Option<&'a str>,
    /// `data-result`: `success`, `error` or `refused`, for the page's readers (and the tests).
    result: Option<&'a str>,
    script: Option<&'a str>,
}

impl<'a> Frame<'a> {
    fn new(title: &'a str, body: &'a str) -> Frame<'a> {
        Frame { title, style: STYLE, body, request: None, result: None, script: None }
    }
}

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}\
main{max-width:32rem;margin:2rem auto;padding:0 1rem}button{font:inherit;padding:.5rem 1rem;margin:.25rem 0;\
border:1px solid #c5cad3;border-radius:.4rem;background:#fff;cursor:pointer;width:100%;text-align:left}\
button[data-action=connect]{background:#2f6fed;color:#fff;border-color:#2f6fed;text-align:center}\
button[data-action=deny]{text-align:center}input{font:inherit;width:100%;box-sizing:border-box;padding:.4rem}\
.error{border-left:4px solid #d33;padding-left:1rem}";

/// Sends the abandon beacon when the user closes the pop-up on this page (not when one of its
/// forms moves the flow on), so that a page whose pop-up reads as closed learns at once that no
/// result will come.
const ABANDON_ON_CLOSE: &str = "(function(){var r=document.body.getAttribute('data-request'),moving=false;\
document.addEventListener('submit',function(){moving=true});addEventListener('pagehide',function(e){\
if(!moving&&!e.persisted)navigator.sendBeacon('/v1/oauth/progress/abandon',r)})})();";

/// A page of the flow under way: when the server tracks the flow (the library sent
/// `return_to`), the body attribute and script that abandon it when the user closes the pop-up.
fn page_under_way(title: &str, body: &str, params: &[(String, String)]) -> Response {
    let value = |key: &str| params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    let mut frame = Frame::new(title, body);
    if let (Some(_), Some(request_id)) = (value("return_to"), value("request_id")) {
        frame.request = Some(request_id);
        frame.script = Some(ABANDON_ON_CLOSE);
    }
    page(StatusCode::OK, &frame)
}

/// The service chooser: one button per allowed service, and a deny button.
pub fn chooser(client_id: &str, params: &[(String, String)], allowed: &[Allowed]) -> Response {
    let body = Chooser { app: client_id, params, allowed, popup_path: POPUP_PATH };
    form_page(body.render(), "Connect an account", params, false)
}

/// [`chooser`]'s body (`templates/chooser.html`).
#[derive(Template)]
#[template(path = "chooser.html")]
struct Chooser<'a> {
    app: &'a str,
    params: &'a [(String, String)],
    allowed: &'a [Allowed],
    popup_path: &'a str,
}

/// The connect page for one service: the account's name, connect and deny.
pub fn connect(client_id: &str, params: &[(String, String)], service: &Service, admin: bool) -> Response {
    let body = Connect {
        name: &service.name,
        app: client_id,
        admin,
        params,
        id: &service.id,
        popup_path: POPUP_PATH,
    };
    form_page(body.render(), &service.name, params, false)
}

/// [`connect`]'s body (`templates/connect.html`).
#[derive(Template)]
#[template(path = "connect.html")]
struct Connect<'a> {
    name: &'a str,
    app: &'a str,
    admin: bool,
    params: &'a [(String, String)],
    id: &'a str,
    popup_path: &'a str,
}

/// The form asking for a per-server provider's server (`pattern`, e.g. `*.service-now.com`),
/// with `error` (status 400) when the one typed was refused.
pub fn hostname_form(
    client_id: &str,
    params: &[(String, String)],
    service: &Service,
    pattern: &str,
    error: Option<&str>,
) -> Response {
    let form = HostnameForm {
        name: &service.name,
        app: client_id,
        params,
        id: &service.id,
        pattern,
        error,
        popup_path: POPUP_PATH,
    };
    form_page(form.render(), &service.name, params, error.is_some())
}

/// [`hostname_form`]'s body (`templates/hostname_form.html`).
#[derive(Template)]
#[template(path = "hostname_form.html")]
struct HostnameForm<'a> {
    name: &'a str,
    app: &'a str,
    params: &'a [(String, String)],
    id: &'a str,
    pattern: &'a str,
    error: Option<&'a str>,
    popup_path: &'a str,
}

/// A form page of the flow under way from a rendered template: 400 when it shows an error, a
/// server error page when the template could not be rendered.
fn form_page(
    body: Result<String, askama::Error>,
    title: &str,
    params: &[(String, String)],
    error: bool,
) -> Response {
    let Ok(body) = body else { return server_error("The page could not be shown; try again.") };
    let mut response = page_under_way(title, &body, params);
    if error {
        *response.status_mut() = StatusCode::BAD_REQUEST;
    }
    response
}

/// The form for an API-key or basic service: the key, or a user name and password (and the
/// server's hostname for a per-server entry), posted to this server only; with `error` (status
/// 400) when the last one was refused. What was typed is never sent back.
pub fn credentials_form(
    client_id: &str,
    params: &[(String, String)],
    service: &Service,
    entry: &Entry,
    error: Option<&str>,
) -> Response {
    let form = CredentialsForm {
        name: &service.name,
        app: client_id,
        params,
        id: &service.id,
        pattern: entry.hostname_pattern.as_deref(),
        basic: entry.kind == Kind::Basic,
        error,
        popup_path: POPUP_PATH,
    };
    form_page(form.render(), &service.name, params, error.is_some())
}

/// [`credentials_form`]'s body (`templates/credentials_form.html`).
#[derive(Template)]
#[template(path = "credentials_form.html")]
struct CredentialsForm<'a> {
    name: &'a str,
    app: &'a str,
    params: &'a [(String, String)],
    id: &'a str,
    pattern: Option<&'a str>,
    basic: bool,
    error: Option<&'a str>,
    popup_path: &'a str,
}

/// The hand-off to an upstream's sign-in page, after the chooser: its form may only go to this
/// server (`form-action 'self'`, which a browser also applies to the redirect that follows), so
/// this page moves on by a `Refresh` header instead, with a link for a browser that does not.
/// No abandon beacon: leaving this page is the flow going on.
pub fn handoff(name: &str, url: &str) -> Response {
    let Ok(body) = (Handoff { name, url }).render() else {
        return server_error("The page could not be shown; try again.");
    };
    let mut response = page(StatusCode::OK, &Frame::new(name, &body));
    if let Ok(refresh) = HeaderValue::from_str(&format!("0;url={url}")) {
        response.headers_mut().insert(header::REFRESH, refresh);
    }
    response
}

/// [`handoff`]'s body (`templates/handoff.html`).
#[derive(Template)]
#[template(path = "handoff.html")]
struct Handoff<'a> {
    name: &'a str,
    url: &'a str,
}

/// Embeds `value` as JSON inside a `<script>` element, so no `</script>` or `<!--` can break out.
fn script_json(value: &Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// Hands the result to the page that asked. With an opener: posts it, to the validated `origin`
/// only (or, when the opener is this server's own relay, to this origin); never to `'*'`. Without
/// one (an identity provider's `Cross-Origin-Opener-Policy` cut it): takes the pop-up to
/// `return_to`, one of the app's registered return pages, with a one-time code in the fragment
/// (never the result), which the library there hands to the waiting page. Without `return_to`
/// (the app registered no return page): says that the result cannot reach the app.
const POST_RESULT: &str = "(function(){var r=JSON.parse(document.getElementById('kloudless-result').textContent);\
var m=r.message,o=window.opener;\
if(!o){if(r.return_to)location.replace(r.return_to+r.fragment+r.code);\
else document.getElementById('kloudless-unreachable').hidden=false;return}\
var same=false;try{same=o.location.origin===location.origin}catch(e){}o.postMessage(m,same?location.origin:r.origin)})();";

/// The result message for the flow `request_id`: [`MESSAGE_PREFIX`] and the envelope of `data`.
pub fn message(request_id: &str, data: &Value) -> String {
    let envelope = serde_json::to_string(&Envelope::authentication(request_id, data)).unwrap_or_default();
    format!("{MESSAGE_PREFIX}{envelope}")
}

/// Where a result page without an opener takes the pop-up: a registered return page, with the
/// one-time code of the result.
#[derive(Clone, Copy, Debug)]
pub struct Back<'a> {
    /// The validated `return_to`.
    pub return_to: &'a str,
    /// The code ([`crate::popup::returns`]).
    pub code: &'a str,
}

/// The result page: shows the outcome and hands `message` (the result `data`'s [`message`] for
/// `request_id`) to the page at `origin`: posted to the opener, or, through `back`, a code for it brought to the
/// app's return page in the URL fragment.
pub fn result(
    request_id: &str,
    origin: &str,
    back: Option<Back<'_>>,
    message: &str,
    data: &Value,
) -> Response {
    let success = data.get("access_token").is_some();
    let embedded = serde_json::json!({
        "id": request_id,
        "origin": origin,
        "return_to": back.map(|b| b.return_to),
        "code": back.map(|b| b.code),
        "data": data,
        "message": message,
        "fragment": RETURN_FRAGMENT,
    });
    let error = data.get("error").and_then(Value::as_str);
    let text = match error {
        _ if success => "Account connected. You can close this window.",
        Some(kloudless_protocol::codes::ACCESS_DENIED) | None => "Access denied.",
        Some(_) => "The account could not be connected.",
    };
    // A failure other than a denial says why (an upstream's error, in its words).
    let detail = match (error, data.get("error_description").and_then(Value::as_str)) {
        (Some(code), Some(description)) if code != kloudless_protocol::codes::ACCESS_DENIED => {
            Some((description, code))
        }
        _ => None,
    };
    let Ok(body) = (ResultBody { text, detail, embedded: script_json(&embedded) }).render() else {
        return server_error("The page could not be shown; try again.");
    };
    let frame = Frame {
        result: Some(if success { "success" } else { "error" }),
        script: Some(POST_RESULT),
        ..Frame::new(text, &body)
    };
    page(StatusCode::OK, &frame)
}

/// [`result`]'s body (`templates/result.html`): the outcome, and the result as JSON for
/// [`POST_RESULT`] (escaped by [`script_json`], so nothing in it ends the script element).
#[derive(Template)]
#[template(path = "result.html")]
struct ResultBody<'a> {
    text: &'a str,
    detail: Option<(&'a str, &'a str)>,
    embedded: String,
}

/// An error page (status 400): says what is wrong with the request and posts nothing.
pub fn error(message: &str) -> Response {
    message_page(StatusCode::BAD_REQUEST, message)
}

/// An error page with another status (e.g. 413 or 414): posts nothing.
pub fn refused(status: StatusCode, message: &str) -> Response {
    message_page(status, message)
}

/// A server failure page (status 500): posts nothing.
pub fn server_error(message: &str) -> Response {
    message_page(StatusCode::INTERNAL_SERVER_ERROR, message)
}

fn message_page(status: StatusCode, message: &str) -> Response {
    let Ok(body) = (Message { message }).render() else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "The page could not be shown; try again.")
            .into_response();
    };
    page(status, &Frame { result: Some("refused"), ..Frame::new("Error", &body) })
}

/// [`message_page`]'s body (`templates/message.html`).
#[derive(Template)]
#[template(path = "message.html")]
struct Message<'a> {
    message: &'a str,
}

/// The relay page (`/static/iexd.html`), loaded by the library in a hidden iframe, with its
/// policy `csp` (see [`security::relay_csp`], which allows [`RELAY_SCRIPT`] by its hash and lets
/// the apps' pages frame it). No `X-Frame-Options`: it has to be frameable.
pub fn relay(csp: &str) -> Response {
    let html = Relay { script: &RELAY_SCRIPT }.render().unwrap_or_default();
    let csp = HeaderValue::from_str(csp).unwrap_or(HeaderValue::from_static("frame-ancestors 'none'"));
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
            (header::CONTENT_SECURITY_POLICY, csp),
        ],
        html,
    )
        .into_response()
}

/// [`relay`]'s page (`templates/relay.html`).
#[derive(Template)]
#[template(path = "relay.html")]
struct Relay<'a> {
    script: &'a str,
}

/// The relay's script. It opens the pop-up on its parent's request (the original's IE path)
/// and forwards the pop-up's result to the parent — only to the origin the pop-up was issued
/// for, which must be the parent's own. (The protocol's prefix and the pop-up's path are filled
/// in from [`kloudless_protocol`].)
pub static RELAY_SCRIPT: LazyLock<String> = LazyLock::new(|| {
    RELAY_TEMPLATE
        .replace("PREFIX", &serde_json::to_string(MESSAGE_PREFIX).unwrap_or_default())
        .replace("POPUP_PATH", &serde_json::to_string(POPUP_PATH).unwrap_or_default())
});

const RELAY_TEMPLATE: &str = r#"
(function () {
  var ns = PREFIX, opened = null, target = null;
  window.addEventListener('message', function (e) {
    if (typeof e.data !== 'string' || e.data.indexOf(ns) !== 0) return;
    var msg;
    try { msg = JSON.parse(e.data.slice(ns.length)); } catch (err) { return; }
    if (!msg || typeof msg !== 'object') return;
    if (e.source === window.parent && e.source !== window) {
      if (msg.type === 'prepareToOpenAuthenticator' && typeof msg.url === 'string') {
        var url;
        try { url = new URL(msg.url); } catch (err) { return; }
        if (url.origin !== location.origin) return;
        if (url.pathname !== POPUP_PATH && url.pathname !== POPUP_PATH + '/') return;
        if (url.searchParams.get('origin') !== e.origin) return;
        target = e.origin;
        opened = window.open(url.href, 'kPOPUP', typeof msg.params === 'string' ? msg.params : '');
      } else if (msg.type === 'close' && opened) {
        opened.close();
      }
    } else if (opened && e.source === opened && e.origin === location.origin && target) {
      window.parent.postMessage(e.data, target);
    }
  });
})();
"#;
