//! The HTML pages: the pop-up's chooser, connect, form, hand-off, result and error pages, and
//! the relay. Each is an askama template (`server/templates/`, auto-escaped) inside one page
//! frame (`page.html`) and policy; [`statics`] serves the demo page, the library build and the relay page.

pub mod settings;
pub mod statics;

use crate::AppState;
use crate::popup::prefill::Prefill;
use crate::providers::catalogue::{Entry, Kind};
use crate::providers::services::{Allowed, Service};
use crate::security;
use askama::Template;
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kloudless_protocol::{
    ABANDON_PATH, ApiError, Envelope, MESSAGE_PREFIX, OAuthResult, POPUP_PATH, POPUP_WINDOW_NAME, RELAY_PATH,
    RETURN_FRAGMENT, RETURN_TO, ReturnTo, codes,
};
use serde::Serialize;
use std::sync::{Arc, LazyLock};

/// The pages served as they are: the demo page, its files, the library build, the relay.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(statics::index))
        .route("/{file}", get(statics::www))
        .route("/dist/{*path}", get(statics::dist))
        .route(RELAY_PATH, get(statics::relay))
}

/// An inline script or style of the pages, made once: its text and the CSP hash source that
/// lets it apply ([`security::hash_source`]).
pub struct Inline {
    /// The exact text of the element.
    pub text: String,
    /// `'sha256-…'` of [`Inline::text`].
    pub source: String,
}

impl Inline {
    /// `text` and its hash source.
    fn new(text: String) -> Inline {
        let source = security::hash_source(&text);
        Inline { text, source }
    }

    /// A script rendered from its template (`templates/scripts/`); empty, so that it runs
    /// nothing, if it could not be rendered.
    fn script(rendered: askama::Result<String>) -> Inline {
        Inline::new(rendered.unwrap_or_default())
    }
}

/// `text` as a JS string literal, for a script template.
fn js_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

/// A complete pop-up page: never cached, never framed, no referrer, and a strict policy (see
/// [`security::popup_csp`]) under which only [`STYLE`] and, when given, the inline `script`
/// (placed at the end of the body) apply.
fn page(status: StatusCode, body: &Frame<'_>) -> Response {
    let Ok(html) = body.render() else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "The page could not be shown; try again.")
            .into_response();
    };
    let script = body.script.map(|script| script.source.as_str());
    let csp = security::popup_csp(&STYLE.source, script, body.form_target);
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
    script: Option<&'static Inline>,
    /// On a code flow's form pages: the origin its forms' redirect goes to
    /// ([`security::popup_csp`]).
    form_target: Option<&'a str>,
}

impl<'a> Frame<'a> {
    fn new(title: &'a str, body: &'a str) -> Frame<'a> {
        Frame {
            title,
            style: &STYLE.text,
            body,
            request: None,
            result: None,
            script: None,
            form_target: None,
        }
    }
}

/// The pages' style sheet, inline.
static STYLE: LazyLock<Inline> = LazyLock::new(|| Inline::new(STYLE_TEXT.to_owned()));

const STYLE_TEXT: &str = "body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}\
main{max-width:32rem;margin:2rem auto;padding:0 1rem}button{font:inherit;padding:.5rem 1rem;margin:.25rem 0;\
border:1px solid #c5cad3;border-radius:.4rem;background:#fff;cursor:pointer;width:100%;text-align:left}\
button[data-action=connect]{background:#2f6fed;color:#fff;border-color:#2f6fed;text-align:center}\
button[data-action=deny]{text-align:center}input{font:inherit;width:100%;box-sizing:border-box;padding:.4rem}\
.error{border-left:4px solid #d33;padding-left:1rem}";

/// Sends the abandon beacon (to [`ABANDON_PATH`]) when the user closes the pop-up on this page
/// (not when one of its forms moves the flow on), so that a page whose pop-up reads as closed
/// learns at once that no result will come.
static ABANDON_ON_CLOSE: LazyLock<Inline> =
    LazyLock::new(|| Inline::script(AbandonOnClose { abandon_path: &js_string(ABANDON_PATH) }.render()));

/// [`ABANDON_ON_CLOSE`]'s template (`templates/scripts/abandon_on_close.js`).
#[derive(Template)]
#[template(path = "scripts/abandon_on_close.js", escape = "none")]
struct AbandonOnClose<'a> {
    /// [`ABANDON_PATH`], a JS string.
    abandon_path: &'a str,
}

/// A page of the flow under way: when the server tracks the flow (the library sent
/// `return_to`), the body attribute and script that abandon it when the user closes the pop-up;
/// on a code flow, its redirect URI's origin allowed as its forms' target.
fn page_under_way(title: &str, body: &str, params: &[(String, String)]) -> Response {
    let value = |key: &str| params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    let mut frame = Frame::new(title, body);
    if let (Some(_), Some(request_id)) = (value(RETURN_TO), value("request_id")) {
        frame.request = Some(request_id);
        frame.script = Some(&ABANDON_ON_CLOSE);
    }
    // A code flow's request was validated: its redirect URI is one the app registered.
    let form_target = (value("response_type") == Some(crate::code_flow::RESPONSE_TYPE))
        .then(|| value("redirect_uri").and_then(|uri| url::Url::parse(uri).ok()))
        .flatten()
        .map(|url| url.origin().ascii_serialization());
    frame.form_target = form_target.as_deref();
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
/// filled in with the app's default (`prefill`), with `error` (status 400) when the one typed
/// was refused.
pub fn hostname_form(
    client_id: &str,
    params: &[(String, String)],
    prefill: &Prefill,
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
        hostname: prefill.hostname.as_deref(),
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
    /// The default server ([`Prefill::hostname`]).
    hostname: Option<&'a str>,
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
    let Ok(body) = body else { return not_shown() };
    let mut response = page_under_way(title, &body, params);
    if error {
        *response.status_mut() = StatusCode::BAD_REQUEST;
    }
    response
}

/// The form for an API-key or basic service: the key, or a user name and password (and the
/// server's hostname for a per-server entry), posted to this server only; with `error` (status
/// 400) when the last one was refused. What was typed is never sent back; the app's defaults
/// (`prefill`: the server, the user name, never a secret) fill the form in.
pub fn credentials_form(
    client_id: &str,
    params: &[(String, String)],
    prefill: &Prefill,
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
        hostname: prefill.hostname.as_deref(),
        username: prefill.username.as_deref(),
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
    /// The default server ([`Prefill::hostname`]).
    hostname: Option<&'a str>,
    /// The default user name ([`Prefill::username`]).
    username: Option<&'a str>,
    error: Option<&'a str>,
    popup_path: &'a str,
}

/// The hand-off to an upstream's sign-in page, after the chooser: its form may only go to this
/// server (`form-action 'self'`, which a browser also applies to the redirect that follows), so
/// this page moves on by a `Refresh` header instead, with a link for a browser that does not.
/// No abandon beacon: leaving this page is the flow going on.
pub fn handoff(name: &str, url: &str) -> Response {
    let Ok(body) = (Handoff { name, url }).render() else {
        return not_shown();
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
fn script_json(value: &impl Serialize) -> String {
    serde_json::to_string(value)
        .unwrap_or_default()
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
static POST_RESULT: LazyLock<Inline> = LazyLock::new(|| Inline::script(PostResult.render()));

/// [`POST_RESULT`]'s template (`templates/scripts/post_result.js`): it reads [`Embedded`].
#[derive(Template)]
#[template(path = "scripts/post_result.js", escape = "none")]
struct PostResult;

/// The result message for the flow `request_id`: [`MESSAGE_PREFIX`] and the envelope of `data`.
pub fn message(request_id: &str, data: &OAuthResult) -> String {
    let envelope = serde_json::to_string(&Envelope::authentication(request_id, data)).unwrap_or_default();
    format!("{MESSAGE_PREFIX}{envelope}")
}

/// Where a result page without an opener takes the pop-up: a registered return page, with the
/// one-time code of the result.
#[derive(Clone, Copy, Debug)]
pub struct Back<'a> {
    /// The validated `return_to`.
    pub return_to: &'a ReturnTo,
    /// The code ([`crate::popup::returns`]).
    pub code: &'a str,
}

/// What the result page hands [`POST_RESULT`], as JSON in `#kloudless-result`.
#[derive(Serialize)]
struct Embedded<'a> {
    /// The flow's `request_id`.
    id: &'a str,
    /// The only origin the message is posted to.
    origin: &'a str,
    /// Where to go without an opener ([`Back::return_to`]).
    return_to: Option<&'a ReturnTo>,
    /// The code for it ([`Back::code`]).
    code: Option<&'a str>,
    /// The result.
    data: &'a OAuthResult,
    /// The result's [`message`].
    message: &'a str,
    /// [`RETURN_FRAGMENT`], between `return_to` and `code`.
    fragment: &'static str,
}

/// The result page: shows the outcome and hands `message` (the result `data`'s [`message`] for
/// `request_id`) to the page at `origin`: posted to the opener, or, through `back`, a code for it brought to the
/// app's return page in the URL fragment.
pub fn result(
    request_id: &str,
    origin: &str,
    back: Option<Back<'_>>,
    message: &str,
    data: &OAuthResult,
) -> Response {
    let embedded = Embedded {
        id: request_id,
        origin,
        return_to: back.map(|b| b.return_to),
        code: back.map(|b| b.code),
        data,
        message,
        fragment: RETURN_FRAGMENT,
    };
    // A failure other than a denial says why (an upstream's error, in its words).
    let (text, detail, outcome) = match data {
        OAuthResult::Success { .. } => ("Account connected. You can close this window.", None, "success"),
        OAuthResult::Failure { error, .. } if error == codes::ACCESS_DENIED => {
            ("Access denied.", None, "error")
        }
        OAuthResult::Failure { error, error_description, .. } => (
            "The account could not be connected.",
            Some((error_description.as_str(), error.as_str())),
            "error",
        ),
    };
    let Ok(body) = (ResultBody { text, detail, embedded: script_json(&embedded) }).render() else {
        return not_shown();
    };
    let frame = Frame { result: Some(outcome), script: Some(&POST_RESULT), ..Frame::new(text, &body) };
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

/// An error page with `status`: says what went wrong and posts nothing (the pop-up's rendering
/// of an [`crate::error::AppError`], by [`crate::error::as_pages`]).
pub fn error_page(status: StatusCode, message: &str) -> Response {
    let Ok(body) = (Message { message }).render() else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "The page could not be shown; try again.")
            .into_response();
    };
    page(status, &Frame { result: Some("refused"), ..Frame::new("Error", &body) })
}

/// The error page of a pop-up request refused before any flow started (a setup error, see
/// [`codes::SETUP_ERRORS`]): [`error_page`], which also posts `error` and `description` to its
/// opener, as the result message for `request_id` without a `state`, with the target origin
/// `'*'` ([`POST_SETUP_ERROR`]): the page that opened it may be on an origin the app does not
/// trust, and it learns only what the request it sent was refused for (nothing secret: no
/// state, no token), as the relay's `frame-ancestors` already tells it. Without a readable
/// `request_id` it posts nothing.
pub fn setup_error(error: &str, description: &str, request_id: Option<&str>) -> Response {
    let refused = ApiError { error: error.to_owned(), error_description: description.to_owned() };
    let message = request_id.map(|id| {
        let envelope = serde_json::to_string(&Envelope::authentication(id, &refused)).unwrap_or_default();
        script_json(&format!("{MESSAGE_PREFIX}{envelope}"))
    });
    let (Ok(body), Some(message)) = ((Message { message: description }).render(), message) else {
        return error_page(StatusCode::BAD_REQUEST, description);
    };
    let Ok(body) = (SetupError { body: &body, message: &message }).render() else { return not_shown() };
    let frame =
        Frame { result: Some("refused"), script: Some(&POST_SETUP_ERROR), ..Frame::new("Error", &body) };
    page(StatusCode::BAD_REQUEST, &frame)
}

/// [`setup_error`]'s body (`templates/setup_error.html`): the error page's, and the message as
/// JSON for [`POST_SETUP_ERROR`] (escaped by [`script_json`]).
#[derive(Template)]
#[template(path = "setup_error.html")]
struct SetupError<'a> {
    body: &'a str,
    message: &'a str,
}

/// Posts the setup error's message (see [`setup_error`]) to the opener, if there is one.
static POST_SETUP_ERROR: LazyLock<Inline> = LazyLock::new(|| Inline::script(PostSetupError.render()));

/// [`POST_SETUP_ERROR`]'s template (`templates/scripts/post_setup_error.js`).
#[derive(Template)]
#[template(path = "scripts/post_setup_error.js", escape = "none")]
struct PostSetupError;

/// The error page of a page that could not be rendered.
fn not_shown() -> Response {
    error_page(StatusCode::INTERNAL_SERVER_ERROR, "The page could not be shown; try again.")
}

/// [`error_page`]'s body (`templates/message.html`).
#[derive(Template)]
#[template(path = "message.html")]
struct Message<'a> {
    message: &'a str,
}

/// The relay page (`/static/iexd.html`), loaded by the library in a hidden iframe, with its
/// policy `csp` (see [`security::relay_csp`], which allows [`RELAY_SCRIPT`] by its hash and lets
/// the apps' pages frame it). No `X-Frame-Options`: it has to be frameable.
pub fn relay(csp: &str) -> Response {
    let html = Relay { script: &RELAY_SCRIPT.text }.render().unwrap_or_default();
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
/// for, which must be the parent's own.
pub static RELAY_SCRIPT: LazyLock<Inline> = LazyLock::new(|| {
    let script = RelayScript {
        prefix: &js_string(MESSAGE_PREFIX),
        popup_path: &js_string(POPUP_PATH),
        window_name: &js_string(POPUP_WINDOW_NAME),
    };
    Inline::script(script.render())
});

/// [`RELAY_SCRIPT`]'s template (`templates/scripts/relay.js`), filled in with the protocol's
/// constants as JS strings.
#[derive(Template)]
#[template(path = "scripts/relay.js", escape = "none")]
struct RelayScript<'a> {
    /// [`MESSAGE_PREFIX`].
    prefix: &'a str,
    /// [`POPUP_PATH`].
    popup_path: &'a str,
    /// [`POPUP_WINDOW_NAME`].
    window_name: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_are_their_files_with_the_protocols_constants() {
        let scripts = [
            (&*ABANDON_ON_CLOSE, "abandon_on_close.js"),
            (&*POST_RESULT, "post_result.js"),
            (&*POST_SETUP_ERROR, "post_setup_error.js"),
            (&*RELAY_SCRIPT, "relay.js"),
        ];
        for (script, file) in scripts {
            let path = [env!("CARGO_MANIFEST_DIR"), "/templates/scripts/", file].concat();
            let template = std::fs::read_to_string(path).unwrap();
            let constant = |line: &&str| line.contains("{{");
            for line in template.lines().filter(|line| !constant(line)) {
                assert!(script.text.contains(line), "{file}: {line}");
            }
            assert!(!script.text.contains("{{"), "{file}: every placeholder filled");
            assert_eq!(script.source, security::hash_source(&script.text), "{file}");
        }
        assert!(ABANDON_ON_CLOSE.text.contains("navigator.sendBeacon(\"/v1/oauth/progress/abandon\",r)"));
        assert!(RELAY_SCRIPT.text.contains("var ns = \"kloudless:\","));
        assert!(
            RELAY_SCRIPT
                .text
                .contains("url.pathname !== \"/v1/oauth\" && url.pathname !== \"/v1/oauth\" + '/'")
        );
        assert!(RELAY_SCRIPT.text.contains("window.open(url.href, \"kPOPUP\", "));
    }

    /// The result page for `data`: its body and its policy.
    async fn result_page(data: &OAuthResult) -> (String, String) {
        let page = result("r", "https://a.test", None, &message("r", data), data);
        assert_eq!(page.status(), StatusCode::OK);
        let csp = page.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
        let body = axum::body::to_bytes(page.into_body(), usize::MAX).await.unwrap();
        (String::from_utf8(body.to_vec()).unwrap(), csp)
    }

    #[tokio::test]
    async fn the_result_page_says_what_the_typed_result_is() {
        let failure = |error: &str| OAuthResult::Failure {
            error: error.into(),
            error_description: "<b>expired</b>".into(),
            state: "s".into(),
        };
        let (failed, csp) = result_page(&failure("invalid_grant")).await;
        assert!(failed.contains("data-result=\"error\""));
        assert!(failed.contains("The account could not be connected."));
        assert!(failed.contains("&#60;b&#62;expired&#60;/b&#62; (invalid_grant)"), "{failed}");
        assert!(csp.contains(&format!("script-src {};", POST_RESULT.source)), "{csp}");
        let (denied, _) = result_page(&failure(codes::ACCESS_DENIED)).await;
        assert!(denied.contains("Access denied.") && !denied.contains("(access_denied)"), "{denied}");
        let connected = OAuthResult::Success {
            access_token: "t".into(),
            token_type: "Bearer".into(),
            scope: "box".into(),
            state: "s".into(),
        };
        let (success, _) = result_page(&connected).await;
        assert!(success.contains("data-result=\"success\"") && success.contains("Account connected."));
        assert!(
            success
                .contains(r#""data":{"access_token":"t","token_type":"Bearer","scope":"box","state":"s"}"#)
        );
    }
}
