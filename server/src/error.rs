//! One error type for every handler: [`AppError`], which handlers return with `?` and which
//! renders itself (`IntoResponse`).
//!
//! How it renders is the route's kind, decided in one visible place, the router: every error
//! renders as the API's JSON error (`{"error": code, "error_description": sentence}`, the
//! protocol's [`kloudless_protocol::ApiError`], with Kloudless v1's `error_code`, `message` and
//! `status_code` for its SDKs) and carries, in its response's extensions, what
//! the pop-up's page for it says ([`PageError`]); the pop-up's routes carry the [`as_pages`]
//! layer, which renders such a response as the pop-up's escaped HTML error page instead, with
//! the same status (keeping the handler's other headers, e.g. the binding cookie). Nothing is
//! read back from an error's text: an upstream that did not answer in time is its own variant.
//! One error is no page on any route: a code flow's request refused once its app and redirect
//! URI are known good renders as the 303 back there ([`AppError::Redirected`]).

use crate::code_flow::request::{ErrorRedirect, Invalid};
use crate::i18n::{LOCALE, Locale};
use crate::pages;
use crate::params::BadParams;
use crate::providers::client::UpstreamError;
use crate::store;
use axum::Json;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kloudless_protocol::codes;
use std::borrow::Cow;

/// What the request's input was, for an [`AppError::Unreadable`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Input {
    /// The query string (too long: 414).
    Query,
    /// The form body (too long: 413).
    Form,
}

/// Why the request's parameters could not be read.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Unreadable {
    /// Too long, or not UTF-8 ([`crate::params::parse`]).
    Params(BadParams),
    /// The body was cut off or could not be read.
    Body,
}

/// Every way a request fails.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request is refused: its status, the JSON error's code and a sentence for the user.
    #[error("{status} {code}: {message}")]
    Refused {
        /// The status.
        status: StatusCode,
        /// The error code (`invalid_request`, `not_found`, …).
        code: &'static str,
        /// What is wrong, for the user.
        message: Cow<'static, str>,
    },
    /// The query string or the form cannot be read (see [`crate::extract`]).
    #[error("the {input:?} cannot be read: {why:?}")]
    Unreadable {
        /// Which input.
        input: Input,
        /// Why.
        why: Unreadable,
    },
    /// The storage failed: 500 `server_error`; the pop-up's page says `page`.
    #[error("storage error: {source}")]
    Storage {
        /// The storage's error (logged, never shown).
        source: store::Error,
        /// The pop-up page's sentence.
        page: &'static str,
    },
    /// Something else on this server failed (a template, the random source): 500
    /// `server_error` with the sentence.
    #[error("server error: {0}")]
    Server(Cow<'static, str>),
    /// An upstream answered with an error, or could not be reached: 502 with its code.
    #[error("upstream error {}: {}", .0.code, .0.description)]
    Upstream(UpstreamError),
    /// An upstream did not answer in time: 504 with its code.
    #[error("upstream timed out: {}", .0.description)]
    UpstreamTimeout(UpstreamError),
    /// An upstream failed a moment ago and is not asked again for `retry_after` seconds: 503
    /// with its last error's code and `Retry-After`.
    #[error("upstream cooling down for {retry_after} s after {}: {}", .error.code, .error.description)]
    CoolingDown {
        /// The upstream's last error.
        error: UpstreamError,
        /// The seconds until it is asked again.
        retry_after: u64,
    },
    /// The account's upstream grant no longer works (the reason): 401 `account_inactive`.
    #[error("account inactive: {0}")]
    Inactive(String),
    /// A code flow's request refused after its app and redirect URI were found good: rendered
    /// as the 303 back to the redirect URI with the error (RFC 6749 §4.1.2.1), never a page.
    #[error("{} (sent back to {}): {}", .0.error, .0.redirect_uri, .0.description)]
    Redirected(Box<ErrorRedirect>),
}

/// What the pop-up's error page for a response says, in the extensions of an error's response
/// (see [`as_pages`]).
#[derive(Clone, Debug, PartialEq)]
pub struct PageError {
    /// The page's status.
    pub status: StatusCode,
    /// The page's sentence.
    pub message: String,
    /// The JSON error's code, in the page's detail for the developer.
    pub code: String,
}

/// The sentence of a server failure the API shows.
const STORAGE_FAILED: &str = "The server's storage failed.";

/// How long a client should wait before retrying after a storage outage, in seconds.
const RETRY_AFTER_SECS: &str = "1";

impl AppError {
    /// A refusal with a fixed sentence (usable in a `const`).
    pub const fn fixed(status: StatusCode, code: &'static str, message: &'static str) -> AppError {
        AppError::Refused { status, code, message: Cow::Borrowed(message) }
    }

    /// A 400 `invalid_request` saying `message` (e.g. a pop-up request that does not validate).
    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> AppError {
        AppError::Refused {
            status: StatusCode::BAD_REQUEST,
            code: codes::INVALID_REQUEST,
            message: message.into(),
        }
    }

    /// The storage's `error` as an [`AppError::Storage`] whose pop-up page says `page`.
    pub fn storage(page: &'static str) -> impl FnOnce(store::Error) -> AppError {
        move |source| AppError::Storage { source, page }
    }

    /// The response's status.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Refused { status, .. } => *status,
            AppError::Unreadable { input, why: Unreadable::Params(BadParams::TooLong) } => match input {
                Input::Query => StatusCode::URI_TOO_LONG,
                Input::Form => StatusCode::PAYLOAD_TOO_LARGE,
            },
            AppError::Unreadable { .. } => StatusCode::BAD_REQUEST,
            // An outage: fast, and worth retrying (with `Retry-After`), never a bare 500.
            AppError::Storage { .. } | AppError::CoolingDown { .. } => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Server(_) => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::Upstream(_) => StatusCode::BAD_GATEWAY,
            AppError::UpstreamTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            AppError::Inactive(_) => StatusCode::UNAUTHORIZED,
            AppError::Redirected(_) => StatusCode::SEE_OTHER,
        }
    }

    /// The JSON error's code.
    pub fn code(&self) -> &str {
        match self {
            AppError::Refused { code, .. } => code,
            AppError::Unreadable { .. } => codes::INVALID_REQUEST,
            AppError::Storage { .. } | AppError::Server(_) => "server_error",
            AppError::Upstream(error)
            | AppError::UpstreamTimeout(error)
            | AppError::CoolingDown { error, .. } => &error.code,
            AppError::Inactive(_) => "account_inactive",
            AppError::Redirected(back) => back.error,
        }
    }

    /// The JSON error's sentence.
    pub fn description(&self) -> Cow<'_, str> {
        let text = match self {
            AppError::Refused { message, .. } | AppError::Server(message) => message,
            AppError::Unreadable { input, why } => return Cow::Borrowed(unreadable_in_api(*input, *why)),
            AppError::Storage { .. } => STORAGE_FAILED,
            AppError::Upstream(error)
            | AppError::UpstreamTimeout(error)
            | AppError::CoolingDown { error, .. } => &error.description,
            AppError::Redirected(back) => &back.description,
            AppError::Inactive(reason) => {
                return Cow::Owned(format!(
                    "The account's upstream grant no longer works ({reason}); connect it again."
                ));
            }
        };
        Cow::Borrowed(text)
    }

    /// The pop-up page's sentence.
    pub fn page_message(&self) -> Cow<'_, str> {
        match self {
            AppError::Storage { page, .. } => Cow::Borrowed(page),
            AppError::Unreadable { why: Unreadable::Params(bad), .. } => Cow::Borrowed(bad.message()),
            AppError::Unreadable { why: Unreadable::Body, .. } => {
                Cow::Borrowed("The form could not be read.")
            }
            _ => self.description(),
        }
    }
}

/// What the API says about input it cannot read.
fn unreadable_in_api(input: Input, why: Unreadable) -> &'static str {
    match (input, why) {
        (Input::Query, Unreadable::Params(BadParams::TooLong)) => "The query string is too long.",
        (Input::Query, _) => "The query string is not valid UTF-8.",
        (Input::Form, Unreadable::Params(BadParams::TooLong)) => "The request body is too large.",
        (Input::Form, Unreadable::Params(BadParams::NotUtf8)) => "The request body is not valid UTF-8.",
        (Input::Form, Unreadable::Body) => "The request body could not be read.",
    }
}

/// A storage failure on a route whose page, if any, says no more than the API.
impl From<store::Error> for AppError {
    fn from(source: store::Error) -> AppError {
        AppError::Storage { source, page: STORAGE_FAILED }
    }
}

impl From<UpstreamError> for AppError {
    fn from(error: UpstreamError) -> AppError {
        if error.timed_out { AppError::UpstreamTimeout(error) } else { AppError::Upstream(error) }
    }
}

/// The API's JSON error: the protocol's `{error, error_description}` (as RFC 6749 §5.2 writes
/// errors), and the same again as Kloudless v1 wrote its errors for its SDKs: `error_code`,
/// `message` and the `status_code`.
#[derive(serde::Serialize)]
struct ErrorBody<'e> {
    /// `error` and `error_description`.
    #[serde(flatten)]
    api: kloudless_protocol::ApiError,
    /// `error` again.
    error_code: &'e str,
    /// `error_description` again.
    message: &'e str,
    /// The response's status.
    status_code: u16,
}

/// A refused authorization request: a 400 `invalid_request` (its error page on the pop-up's
/// routes), or the way back to a code flow's redirect URI.
impl From<Invalid> for AppError {
    fn from(invalid: Invalid) -> AppError {
        match invalid {
            Invalid::Page(code, why) => {
                AppError::Refused { status: StatusCode::BAD_REQUEST, code, message: why.into() }
            }
            Invalid::Back(back) => AppError::Redirected(Box::new(back)),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Redirected(back) = self {
            return back.into_response();
        }
        if matches!(self, AppError::Storage { .. }) {
            tracing::error!("{self}");
        }
        let description = self.description();
        let body = ErrorBody {
            api: kloudless_protocol::ApiError {
                error: self.code().to_owned(),
                error_description: description.clone().into_owned(),
            },
            error_code: self.code(),
            message: &description,
            status_code: self.status().as_u16(),
        };
        let page = PageError {
            status: self.status(),
            message: self.page_message().into_owned(),
            code: self.code().to_owned(),
        };
        let mut response = (self.status(), Json(body)).into_response();
        match &self {
            AppError::Storage { .. } => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECS));
            }
            AppError::CoolingDown { retry_after, .. } => {
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
            _ => {}
        }
        response.extensions_mut().insert(page);
        response
    }
}

/// Middleware for the pop-up's routes (`axum::middleware::from_fn`): the request is answered in
/// its language ([`Locale::choose`] from the query's `locale` and `Accept-Language`, kept as
/// [`Locale::current`]), and an error's response becomes the pop-up's error page
/// ([`pages::error_page`]), with the same status and the error response's other headers; any
/// other response is left as it is.
pub async fn as_pages(request: Request, next: Next) -> Response {
    let query = request.uri().query().unwrap_or("").as_bytes();
    let param = form_urlencoded::parse(query).find(|(key, _)| key == LOCALE).map(|(_, value)| value);
    let accept = request.headers().get(header::ACCEPT_LANGUAGE).and_then(|value| value.to_str().ok());
    let locale = Locale::choose(param.as_deref(), accept);
    locale.scope(async { error_page(next.run(request).await) }).await
}

/// The pop-up's error page for `response` when it is an error's, else `response`.
fn error_page(response: Response) -> Response {
    let Some(PageError { status, message, code }) = response.extensions().get::<PageError>().cloned() else {
        return response;
    };
    let mut page = pages::error_page(status, &code, &message);
    let own: Vec<_> = page.headers().keys().cloned().collect();
    for (name, value) in response.headers() {
        if !own.contains(name) && name != header::CONTENT_LENGTH {
            page.headers_mut().append(name, value.clone());
        }
    }
    page
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::{Body, to_bytes};
    use axum::http::Request;
    use axum::routing::get;
    use tower::ServiceExt;

    const GONE: AppError = AppError::fixed(StatusCode::GONE, "not_delivered", "It went <away> & back.");

    /// A router whose one route fails with [`GONE`] (and sets a cookie), as the API or, with
    /// `pages`, as the pop-up.
    fn app(pages: bool) -> Router {
        let route = Router::new()
            .route("/", get(async || ([(header::SET_COOKIE, "a=b")], Err::<(), _>(GONE)).into_response()));
        if pages { route.layer(axum::middleware::from_fn(as_pages)) } else { route }
    }

    #[tokio::test]
    async fn renders_as_json_on_the_api() {
        let response = app(false).oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(response.status(), StatusCode::GONE);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(response.headers()[header::SET_COOKIE], "a=b");
        let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let said = "It went <away> & back.";
        let expected = serde_json::json!({
            "error": "not_delivered",
            "error_description": said,
            "error_code": "not_delivered",
            "message": said,
            "status_code": 410,
        });
        assert_eq!(json, expected);
    }

    #[tokio::test]
    async fn renders_as_an_escaped_page_in_the_popup() {
        let response = app(true).oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(response.status(), StatusCode::GONE);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(response.headers()[header::SET_COOKIE], "a=b", "the handler's headers are kept");
        assert!(response.headers().contains_key(header::CONTENT_SECURITY_POLICY));
        let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        let page = String::from_utf8(body.to_vec()).unwrap();
        assert!(page.contains("It went &#60;away&#62; &#38; back."), "{page}");
        assert!(page.contains("data-result=\"refused\""), "{page}");
    }

    #[test]
    fn a_timeout_is_a_504_by_its_type() {
        let timed_out = UpstreamError::timed_out("token endpoint");
        assert_eq!(AppError::from(timed_out).status(), StatusCode::GATEWAY_TIMEOUT);
        let refused = UpstreamError::new("invalid_grant", "did not answer in time");
        assert_eq!(AppError::from(refused).status(), StatusCode::BAD_GATEWAY, "no text is read");
    }

    #[test]
    fn a_cooldown_is_a_503_with_the_last_error_and_retry_after() {
        let error = UpstreamError::new("invalid_client", "Who are you?");
        let response = AppError::CoolingDown { error, retry_after: 4 }.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "4");
    }

    #[test]
    fn unreadable_input_says_so_in_each_rendering() {
        let query = AppError::Unreadable { input: Input::Query, why: Unreadable::Params(BadParams::TooLong) };
        assert_eq!(query.status(), StatusCode::URI_TOO_LONG);
        assert_eq!(query.description(), "The query string is too long.");
        assert_eq!(query.page_message(), "The request is too large.");
        let form = AppError::Unreadable { input: Input::Form, why: Unreadable::Params(BadParams::TooLong) };
        assert_eq!(form.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
}
