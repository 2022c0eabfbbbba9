//! The HTML pages: the pop-up's chooser, connect, result and error pages, and the relay; the
//! broker's newer forms (hostname, credentials, hand-off) are askama templates
//! (`server/templates/`, auto-escaped) inside the same page frame and policy.

use crate::providers::catalogue::{Entry, Kind};
use crate::security;
use crate::services::{Allowed, Service};
use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kloudless_protocol::{Envelope, MESSAGE_PREFIX, POPUP_PATH, RETURN_FRAGMENT};
use serde_json::Value;
use std::sync::LazyLock;

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A complete pop-up page: never cached, never framed, no referrer, and a strict policy (see
/// [`security::popup_csp`]) under which only [`STYLE`] and, when given, the inline `script`
/// (placed at the end of the body) apply.
fn page(status: StatusCode, title: &str, body: &str, body_attrs: &str, script: Option<&str>) -> Response {
    let script_element = script.map(|s| format!("<script>{s}</script>")).unwrap_or_default();
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head><body{body_attrs}><main>{body}</main>\
         {script_element}</body></html>",
        title = escape(title),
    );
    let csp = security::popup_csp(STYLE, script);
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

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}\
main{max-width:32rem;margin:2rem auto;padding:0 1rem}button{font:inherit;padding:.5rem 1rem;margin:.25rem 0;\
border:1px solid #c5cad3;border-radius:.4rem;background:#fff;cursor:pointer;width:100%;text-align:left}\
button[data-action=connect]{background:#2f6fed;color:#fff;border-color:#2f6fed;text-align:center}\
button[data-action=deny]{text-align:center}input{font:inherit;width:100%;box-sizing:border-box;padding:.4rem}\
.error{border-left:4px solid #d33;padding-left:1rem}";

fn hidden_inputs(params: &[(String, String)]) -> String {
    params
        .iter()
        .map(|(k, v)| format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">", escape(k), escape(v)))
        .collect()
}

/// Sends the abandon beacon when the user closes the pop-up on this page (not when one of its
/// forms moves the flow on), so that a page whose pop-up reads as closed learns at once that no
/// result will come.
const ABANDON_ON_CLOSE: &str = "(function(){var r=document.body.getAttribute('data-request'),moving=false;\
document.addEventListener('submit',function(){moving=true});addEventListener('pagehide',function(e){\
if(!moving&&!e.persisted)navigator.sendBeacon('/v1/oauth/progress/abandon',r)})})();";

/// A page of the flow under way: when the server tracks the flow (the library sent
/// `return_to`), the body attribute and script that abandon it when the user closes the pop-up.
fn page_under_way(title: &str, body: &str, params: &[(String, String)]) -> Response {
    let value = |key: &str| params.iter().find(|(k, _)| k == key).map(|(_, v)| v);
    match (value("return_to"), value("request_id")) {
        (Some(_), Some(request_id)) => {
            let attrs = format!(" data-request=\"{}\"", escape(request_id));
            page(StatusCode::OK, title, body, &attrs, Some(ABANDON_ON_CLOSE))
        }
        _ => page(StatusCode::OK, title, body, "", None),
    }
}

fn deny_button() -> &'static str {
    "<button type=\"submit\" name=\"action\" value=\"deny\" data-action=\"deny\">Deny</button>"
}

/// The service chooser: one button per allowed service, and a deny button.
pub fn chooser(client_id: &str, params: &[(String, String)], allowed: &[Allowed]) -> Response {
    let hidden = hidden_inputs(params);
    let buttons: String = allowed
        .iter()
        .map(|a| {
            let id = escape(&a.service.id);
            format!(
                "<button type=\"submit\" name=\"service\" value=\"{id}\" data-service=\"{id}\" \
                 title=\"{}\">{}</button>",
                escape(&a.service.category),
                escape(&a.service.name),
            )
        })
        .collect();
    let body = format!(
        "<h1>Connect an account</h1><p>The app <b>{}</b> asks to connect one of your accounts. Choose a service:</p>\
         <form method=\"get\" action=\"{POPUP_PATH}\">{hidden}{buttons}</form>\
         <form method=\"post\" action=\"{POPUP_PATH}\">{hidden}{}</form>",
        escape(client_id),
        deny_button(),
    );
    page_under_way("Connect an account", &body, params)
}

/// The connect page for one service: the account's name, connect and deny.
pub fn connect(client_id: &str, params: &[(String, String)], service: &Service, admin: bool) -> Response {
    let access = if admin { " with <b>admin</b> access" } else { "" };
    let body = format!(
        "<h1>{name}</h1><p>Connect your {name} account to the app <b>{app}</b>{access}. \
         (This is the built-in demo provider: any account name works.)</p>\
         <form method=\"post\" action=\"{POPUP_PATH}\">{hidden}\
         <input type=\"hidden\" name=\"service\" value=\"{id}\">\
         <p><label>Account name <input name=\"account\" value=\"demo.user@example.com\" maxlength=\"254\" required></label></p>\
         <button type=\"submit\" name=\"action\" value=\"connect\" data-action=\"connect\">Connect</button>{deny}</form>",
        name = escape(&service.name),
        app = escape(client_id),
        hidden = hidden_inputs(params),
        id = escape(&service.id),
        deny = deny_button(),
    );
    page_under_way(&service.name, &body, params)
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
    let mut response = page(StatusCode::OK, name, &body, "", None);
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
/// one (an identity provider's `Cross-Origin-Opener-Policy` cut it): takes the pop-up back to
/// `return_to`, the launching page on that origin, with the message in the fragment, which no
/// server sees and the library there hands to the waiting page. Without `return_to` either (an
/// older library): closes the pop-up.
const POST_RESULT: &str = "(function(){var r=JSON.parse(document.getElementById('kloudless-result').textContent);\
var m=r.message,o=window.opener;\
if(!o){if(r.return_to)location.replace(r.return_to+r.fragment+encodeURIComponent(m));\
else setTimeout(function(){window.close()},1500);return}\
var same=false;try{same=o.location.origin===location.origin}catch(e){}o.postMessage(m,same?location.origin:r.origin)})();";

/// The result page: shows the outcome and hands `data` to the page at `origin` that asked for
/// `request_id`: posted to the opener, or brought back to `return_to` in the URL fragment.
pub fn result(request_id: &str, origin: &str, return_to: Option<&str>, data: &Value) -> Response {
    let success = data.get("access_token").is_some();
    let envelope = serde_json::to_string(&Envelope::authentication(request_id, data)).unwrap_or_default();
    let embedded = serde_json::json!({
        "id": request_id,
        "origin": origin,
        "return_to": return_to,
        "data": data,
        "message": format!("{MESSAGE_PREFIX}{envelope}"),
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
            format!("<p class=\"error\">{} ({})</p>", escape(description), escape(code))
        }
        _ => String::new(),
    };
    let body = format!(
        "<h1>{text}</h1>{detail}<script type=\"application/json\" id=\"kloudless-result\">{}</script>",
        script_json(&embedded)
    );
    let attrs = if success { " data-result=\"success\"" } else { " data-result=\"error\"" };
    page(StatusCode::OK, text, &body, attrs, Some(POST_RESULT))
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
    let body = format!("<h1>This request cannot be completed</h1><p class=\"error\">{}</p>", escape(message));
    page(status, "Error", &body, " data-result=\"refused\"", None)
}

/// The relay page (`/static/iexd.html`), loaded by the library in a hidden iframe, with its
/// policy `csp` (see [`security::relay_csp`], which allows [`RELAY_SCRIPT`] by its hash and lets
/// the apps' pages frame it). No `X-Frame-Options`: it has to be frameable.
pub fn relay(csp: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Kloudless relay</title></head>\
         <body><script>{}</script></body></html>\n",
        *RELAY_SCRIPT
    );
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
