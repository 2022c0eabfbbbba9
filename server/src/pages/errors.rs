//! The pop-up's error page: a plain-language title and what to do next, chosen by the status,
//! a Close button, and the technical detail folded below for the app's developer, in the
//! request's language ([`Locale::current`]; the detail is the server's own sentence); on a
//! setup error, also the message that reports it to the library at once ([`setup_error`]).

use crate::i18n::{self, Around, Locale};
use crate::pages::{Frame, POST_SETUP_ERROR, page, script_json};
use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kloudless_protocol::{ApiError, Envelope, MESSAGE_PREFIX};

/// What kind of failure a status is, for the person in front of the page.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ErrorKind {
    /// The request cannot be served as sent (a setup mistake of the app, a bad form).
    Refused,
    /// The flow is over or was started elsewhere (403, 404, 410).
    Expired,
    /// Too many flows at once (429).
    Busy,
    /// The upstream failed or did not answer (502, 504).
    Upstream,
    /// This server cannot serve now (503).
    Unavailable,
    /// Anything else on this server (500).
    Failed,
}

impl ErrorKind {
    /// The kind of a page with `status`.
    pub fn of(status: StatusCode) -> ErrorKind {
        match status.as_u16() {
            403 | 404 | 410 => ErrorKind::Expired,
            429 => ErrorKind::Busy,
            502 | 504 => ErrorKind::Upstream,
            503 => ErrorKind::Unavailable,
            400..=499 => ErrorKind::Refused,
            _ => ErrorKind::Failed,
        }
    }

    /// The message of the page's title (also its `<title>`); with `-next`, of what to do.
    fn key(self) -> &'static str {
        match self {
            ErrorKind::Refused => "error-refused",
            ErrorKind::Expired => "error-expired",
            ErrorKind::Busy => "error-busy",
            ErrorKind::Upstream => "error-upstream",
            ErrorKind::Unavailable => "error-unavailable",
            ErrorKind::Failed => "error-failed",
        }
    }
}

/// An error page with `status`: says what went wrong, what to do, and the detail (`message`,
/// the error `code`) for the developer; it posts nothing (the pop-up's rendering of an
/// [`crate::error::AppError`], by [`crate::error::as_pages`]).
pub fn error_page(status: StatusCode, code: &str, message: &str) -> Response {
    shown(status, code, message, None)
}

/// The error page of a pop-up request refused before any flow started (a setup error, see
/// [`kloudless_protocol::codes::SETUP_ERRORS`]): [`error_page`] with the code `error`, which
/// also posts `error` and `description` to its opener, as the result message for `request_id`
/// without a `state`, with the target origin `'*'` ([`POST_SETUP_ERROR`]): the page that
/// opened it may be on an origin the app does not trust, and it learns only what the request it
/// sent was refused for (nothing secret: no state, no token), as the relay's `frame-ancestors`
/// already tells it. Without a readable `request_id` it posts nothing.
pub fn setup_error(error: &str, description: &str, request_id: Option<&str>) -> Response {
    let refused = ApiError { error: error.to_owned(), error_description: description.to_owned() };
    let posted = request_id.map(|id| {
        let envelope = serde_json::to_string(&Envelope::authentication(id, &refused)).unwrap_or_default();
        script_json(&format!("{MESSAGE_PREFIX}{envelope}"))
    });
    shown(StatusCode::BAD_REQUEST, error, description, posted.as_deref())
}

/// The error page with `status`, `code` and `message`; with `posted` (a message as JSON, escaped
/// by [`script_json`]), the setup error's script that posts it.
fn shown(status: StatusCode, code: &str, message: &str, posted: Option<&str>) -> Response {
    let (t, key) = (Locale::current(), ErrorKind::of(status).key());
    let (title, next) = (t.text(key), t.text(&format!("{key}-next")));
    // A setup error's code has a plain sentence of its own (`setup-<code>`), above the detail.
    let why = t.find(&format!("setup-{code}"));
    let body = Message { t, title: &title, next: &next, why, message, code, status: status.as_u16(), posted };
    let Ok(body) = body.render() else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "The page could not be shown; try again.")
            .into_response();
    };
    let mut frame = Frame { result: Some("refused"), ..Frame::new(&title, &body) };
    if posted.is_some() {
        frame.scripts.push(&POST_SETUP_ERROR);
    }
    page(status, &frame)
}

/// The error page of a page that could not be rendered.
pub fn not_shown() -> Response {
    error_page(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "The page could not be shown; try again.")
}

/// [`error_page`]'s body (`templates/message.html`).
#[derive(Template)]
#[template(path = "message.html")]
struct Message<'a> {
    t: Locale,
    title: &'a str,
    /// What to do next.
    next: &'a str,
    /// What went wrong, in the page's language, for the codes that have a sentence.
    why: Option<String>,
    message: &'a str,
    code: &'a str,
    status: u16,
    /// A setup error's message for [`POST_SETUP_ERROR`], in `#kloudless-setup-error`.
    posted: Option<&'a str>,
}

impl Message<'_> {
    /// The line naming the error code (marked up as code) and the status.
    fn code_line(&self) -> Around {
        self.t.around("error-code", "code", i18n::args([("status", self.status.to_string().into())]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error page for `code`, rendered for a request in `language`.
    async fn shown_in(language: &str, code: &str) -> String {
        let locale = Locale::of_tag(language).unwrap();
        let page = locale.scope(async { error_page(StatusCode::BAD_REQUEST, code, "The <detail>.") }).await;
        let body = axum::body::to_bytes(page.into_body(), usize::MAX).await.unwrap();
        String::from_utf8(body.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn a_setup_error_says_what_went_wrong_in_the_pages_language() {
        let page = shown_in("de", "invalid_client").await;
        assert!(page.contains("<html lang=\"de\">"), "{page}");
        assert!(page.contains("<h1>Diese Verbindung konnte nicht starten</h1>"), "{page}");
        assert!(page.contains("<p data-why>Diese App ist auf diesem Server nicht registriert"), "{page}");
        assert!(page.contains("data-detail>The &#60;detail&#62;.</p>"), "the detail as the server said it");
        assert!(page.contains("Fehlercode <code>invalid_client</code>, HTTP-Status 400"), "{page}");
        assert!(!shown_in("en", "invalid_request").await.contains("data-why"), "no sentence of its own");
    }
}
