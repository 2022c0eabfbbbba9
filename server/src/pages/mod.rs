//! The HTML pages: the pop-up's chooser ([`chooser`]), forms ([`forms`]), hand-off, result and
//! error pages ([`errors`]), and the relay. Each is an askama template (`server/templates/`,
//! auto-escaped) inside one page frame (`page.html`) and policy, in the app's look ([`look`],
//! from its [`branding`]); [`statics`] serves the demo page, the library build, the relay page
//! and the apps' logo files.

pub mod branding;
pub mod chooser;
pub mod errors;
pub mod forms;
pub mod look;
pub mod org_form;
pub mod settings;
pub mod statics;

pub use chooser::chooser;
pub use errors::{error_page, not_shown, setup_error};
pub use forms::{connect, credentials_form, hostname_form};
pub use org_form::org_form;

use crate::AppState;
use crate::i18n::Locale;
use crate::security;
use askama::Template;
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kloudless_protocol::{
    ABANDON_PATH, Envelope, MESSAGE_PREFIX, OAuthResult, POPUP_PATH, POPUP_WINDOW_NAME, RELAY_PATH,
    RETURN_FRAGMENT, RETURN_TO, ReturnTo, codes,
};
use look::{LOGO_PATH, Look, STYLE};
use serde::Serialize;
use std::sync::{Arc, LazyLock};

/// The pages served as they are: the demo page, its files, the library build, the relay.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(statics::index))
        .route("/{file}", get(statics::www))
        .route("/dist/{*path}", get(statics::dist))
        .route(RELAY_PATH, get(statics::relay))
        .route(LOGO_PATH, get(statics::logo))
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
/// [`security::popup_csp`]) under which only its style sheet and its inline scripts (placed at
/// the end of the body) apply, and images load only from where the app's logo is.
fn page(status: StatusCode, body: &Frame<'_>) -> Response {
    let Ok(html) = body.render() else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "The page could not be shown; try again.")
            .into_response();
    };
    let scripts: Vec<&str> = body.scripts.iter().map(|script| script.source.as_str()).collect();
    let csp = security::popup_csp(&body.style.source, &scripts, body.form_target, body.img_src);
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
    /// `<html lang>`: the page's language.
    lang: &'static str,
    title: &'a str,
    style: &'a Inline,
    body: &'a str,
    /// `data-request`: the flow the abandon beacon names.
    request: Option<&'a str>,
    /// `data-result`: `success`, `error` or `refused`, for the page's readers (and the tests).
    result: Option<&'a str>,
    /// The inline scripts: [`ENHANCE`], and the page's own.
    scripts: Vec<&'static Inline>,
    /// Where the app's logo loads from (`img-src`), if it has one.
    img_src: Option<&'a str>,
    /// On a code flow's form pages: the origin its forms' redirect goes to
    /// ([`security::popup_csp`]).
    form_target: Option<&'a str>,
}

impl<'a> Frame<'a> {
    /// A frame for `body` titled `title`, in the request's language ([`Locale::current`]).
    fn new(title: &'a str, body: &'a str) -> Frame<'a> {
        Frame {
            lang: Locale::current().tag(),
            title,
            style: &STYLE,
            body,
            request: None,
            result: None,
            scripts: vec![&ENHANCE],
            img_src: None,
            form_target: None,
        }
    }
}

/// Sends the abandon beacon (to [`ABANDON_PATH`]) when the user closes the pop-up on this page
/// (not when one of its forms moves the flow on), so that a page whose pop-up reads as closed
/// learns at once that no result will come.
static ABANDON_ON_CLOSE: LazyLock<Inline> =
    LazyLock::new(|| Inline::script(AbandonOnClose { abandon_path: &js_string(ABANDON_PATH) }.render()));

/// The pages' progressive enhancement (`templates/scripts/enhance.js`): the Close buttons, the
/// secrets' reveal toggles and the chooser's type-ahead search. Every page works without it.
static ENHANCE: LazyLock<Inline> = LazyLock::new(|| Inline::script(Enhance.render()));

/// [`ENHANCE`]'s template.
#[derive(Template)]
#[template(path = "scripts/enhance.js", escape = "none")]
struct Enhance;

/// [`ABANDON_ON_CLOSE`]'s template (`templates/scripts/abandon_on_close.js`).
#[derive(Template)]
#[template(path = "scripts/abandon_on_close.js", escape = "none")]
struct AbandonOnClose<'a> {
    /// [`ABANDON_PATH`], a JS string.
    abandon_path: &'a str,
}

/// A page of the flow under way, in the app's `look`: when the server tracks the flow (the
/// library sent `return_to`), the body attribute and script that abandon it when the user
/// closes the pop-up; on a code flow, its redirect URI's origin allowed as its forms' target.
fn page_under_way(title: &str, body: &str, params: &[(String, String)], look: &Look<'_>) -> Response {
    let value = |key: &str| params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    let mut frame = Frame {
        lang: Locale::for_params(params).tag(),
        style: look.style(),
        img_src: look.img_src.as_deref(),
        ..Frame::new(title, body)
    };
    if let (Some(_), Some(request_id)) = (value(RETURN_TO), value("request_id")) {
        frame.request = Some(request_id);
        frame.scripts.push(&ABANDON_ON_CLOSE);
    }
    // A code flow's request was validated: its redirect URI is one the app registered.
    let form_target = (value("response_type") == Some(crate::code_flow::request::RESPONSE_TYPE))
        .then(|| value("redirect_uri").and_then(|uri| url::Url::parse(uri).ok()))
        .flatten()
        .map(|url| url.origin().ascii_serialization());
    frame.form_target = form_target.as_deref();
    page(StatusCode::OK, &frame)
}

/// A form page of the flow under way from a rendered template: 400 when it shows an error, a
/// server error page when the template could not be rendered.
fn form_page(
    body: Result<String, askama::Error>,
    title: &str,
    params: &[(String, String)],
    error: bool,
    look: &Look<'_>,
) -> Response {
    let Ok(body) = body else { return not_shown() };
    let mut response = page_under_way(title, &body, params, look);
    if error {
        *response.status_mut() = StatusCode::BAD_REQUEST;
    }
    response
}

/// The hand-off to an upstream's sign-in page, after the chooser: its form may only go to this
/// server (`form-action 'self'`, which a browser also applies to the redirect that follows), so
/// this page moves on by a `Refresh` header instead, with a link for a browser that does not.
/// No abandon beacon: leaving this page is the flow going on.
pub fn handoff(name: &str, url: &str) -> Response {
    let Ok(body) = (Handoff { t: Locale::current(), name, url }).render() else {
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
    t: Locale,
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

/// Posts a setup error's message to the opener, if there is one, with the target origin `'*'`
/// (see [`errors::setup_error`]): it reads the JSON in `#kloudless-setup-error`.
static POST_SETUP_ERROR: LazyLock<Inline> = LazyLock::new(|| Inline::script(PostSetupError.render()));

/// [`POST_SETUP_ERROR`]'s template (`templates/scripts/post_setup_error.js`).
#[derive(Template)]
#[template(path = "scripts/post_setup_error.js", escape = "none")]
struct PostSetupError;

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

/// The result page, in `t`'s language: shows the outcome and hands `message` (the result
/// `data`'s [`message`] for `request_id`) to the page at `origin`: posted to the opener, or,
/// through `back`, a code for it brought to the app's return page in the URL fragment.
pub fn result(
    t: Locale,
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
    let (text, next, detail, outcome) = match data {
        OAuthResult::Success { .. } => (CONNECTED, None, None, "success"),
        OAuthResult::Failure { error, .. } if error == codes::ACCESS_DENIED => {
            (CANCELLED, Some(CANCELLED_NEXT), None, "error")
        }
        OAuthResult::Failure { error, error_description, .. } => (
            NOT_CONNECTED,
            Some(NOT_CONNECTED_NEXT),
            Some((error_description.as_str(), error.as_str())),
            "error",
        ),
    };
    let (text, next) = (t.text(text), next.map(|next| t.text(next)));
    let body = ResultBody { t, text: &text, next: next.as_deref(), detail, embedded: script_json(&embedded) };
    let Ok(body) = body.render() else {
        return not_shown();
    };
    let mut frame = Frame { lang: t.tag(), result: Some(outcome), ..Frame::new(&text, &body) };
    frame.scripts.push(&POST_RESULT);
    page(StatusCode::OK, &frame)
}

/// The message of the result page's title after a connected account.
const CONNECTED: &str = "result-connected";
/// The messages of the result page's title after the user cancelled, and of what follows.
const CANCELLED: &str = "result-cancelled";
const CANCELLED_NEXT: &str = "result-cancelled-next";
/// The messages of the result page's title after a failure, and of what to do.
const NOT_CONNECTED: &str = "result-failed";
const NOT_CONNECTED_NEXT: &str = "result-failed-next";

/// [`result`]'s body (`templates/result.html`): the outcome, and the result as JSON for
/// [`POST_RESULT`] (escaped by [`script_json`], so nothing in it ends the script element).
#[derive(Template)]
#[template(path = "result.html")]
struct ResultBody<'a> {
    t: Locale,
    text: &'a str,
    /// What to do next.
    next: Option<&'a str>,
    detail: Option<(&'a str, &'a str)>,
    embedded: String,
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
            (&*ENHANCE, "enhance.js"),
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
        let page = result(Locale::ENGLISH, "r", "https://a.test", None, &message("r", data), data);
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
        assert!(csp.contains(&format!("script-src {} {};", ENHANCE.source, POST_RESULT.source)), "{csp}");
        let (denied, _) = result_page(&failure(codes::ACCESS_DENIED)).await;
        assert!(denied.contains("You cancelled: no account was connected."), "{denied}");
        assert!(!denied.contains("(access_denied)"), "{denied}");
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
