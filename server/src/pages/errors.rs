//! The pop-up's error page: a plain-language title and what to do next, chosen by the status,
//! a Close button, and the technical detail folded below for the app's developer.

use crate::pages::{Frame, page};
use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

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

    /// The page's title (also its `<title>`).
    fn title(self) -> &'static str {
        match self {
            ErrorKind::Refused => "This connection could not start",
            ErrorKind::Expired => "This window has expired",
            ErrorKind::Busy => "Too many attempts",
            ErrorKind::Upstream => "The service did not answer",
            ErrorKind::Unavailable => "The service is busy",
            ErrorKind::Failed => "Something went wrong",
        }
    }
}

/// An error page with `status`: says what went wrong, what to do, and the detail (`message`,
/// the error `code`) for the developer; it posts nothing (the pop-up's rendering of an
/// [`crate::error::AppError`], by [`crate::error::as_pages`]).
pub fn error_page(status: StatusCode, code: &str, message: &str) -> Response {
    let kind = ErrorKind::of(status);
    let body = Message { kind, title: kind.title(), message, code, status: status.as_u16() };
    let Ok(body) = body.render() else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "The page could not be shown; try again.")
            .into_response();
    };
    page(status, &Frame { result: Some("refused"), ..Frame::new(kind.title(), &body) })
}

/// The error page of a page that could not be rendered.
pub fn not_shown() -> Response {
    error_page(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "The page could not be shown; try again.")
}

/// [`error_page`]'s body (`templates/message.html`).
#[derive(Template)]
#[template(path = "message.html")]
struct Message<'a> {
    kind: ErrorKind,
    title: &'a str,
    message: &'a str,
    code: &'a str,
    status: u16,
}
