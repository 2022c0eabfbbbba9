//! `X-Kloudless-Raw-Headers` on the pass-through API ([`crate::accounts::raw`]): a JSON object of
//! headers for the upstream request, as the official Kloudless SDKs send them (Dropbox's
//! `Dropbox-API-Arg`, Google's `If-Match`). Each name and value must parse as an HTTP header name
//! and value (the `http` crate's parsers), a value being ASCII: visible characters, spaces and
//! tabs, so no CR, LF or other control character; the names that would let a caller take over
//! the upstream request ([`is_refused`]) are refused whatever their case. Any of these is a 400
//! `invalid_raw_headers` naming the header, an object over [`MAX_LEN`] bytes a 431, and nothing
//! is sent upstream.

use crate::error::AppError;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use serde_json::{Map, Value};

/// The request header holding the object.
pub const RAW_HEADERS: &str = "x-kloudless-raw-headers";

/// The error code of every refusal.
pub const INVALID_RAW_HEADERS: &str = "invalid_raw_headers";

/// The longest object taken, in bytes (16 KiB, as every other route's body).
pub const MAX_LEN: usize = 16 * 1024;

/// The names refused, besides every `Proxy-*` ([`is_refused`]): the upstream credentials and
/// target, which the relay sets (`Authorization`, `Host`, `Cookie`); the body's framing and the
/// rest the relay sets for it (`Content-Length`, `Transfer-Encoding`, `Expect`, `Content-Type`,
/// which is the request's own; `Accept-Encoding`, as the reply's `Content-Encoding` is not
/// passed back); the connection's own, hop-by-hop (RFC 9110 §7.6.1).
pub const REFUSED: [HeaderName; 13] = [
    header::AUTHORIZATION,
    header::HOST,
    header::COOKIE,
    header::CONTENT_LENGTH,
    header::TRANSFER_ENCODING,
    header::EXPECT,
    header::CONTENT_TYPE,
    header::ACCEPT_ENCODING,
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    header::TE,
    header::TRAILER,
    header::UPGRADE,
];

const NOT_AN_OBJECT: AppError = AppError::fixed(
    StatusCode::BAD_REQUEST,
    INVALID_RAW_HEADERS,
    "X-Kloudless-Raw-Headers must be a JSON object of header names and string values.",
);
const TWICE: AppError = AppError::fixed(
    StatusCode::BAD_REQUEST,
    INVALID_RAW_HEADERS,
    "X-Kloudless-Raw-Headers is given more than once.",
);
const TOO_LARGE: AppError = AppError::fixed(
    StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
    INVALID_RAW_HEADERS,
    "X-Kloudless-Raw-Headers is longer than 16 KiB.",
);

/// The headers the request's `X-Kloudless-Raw-Headers` asks for (none without it), or why they
/// are refused.
pub fn parse(request: &HeaderMap) -> Result<HeaderMap, AppError> {
    let mut given = request.get_all(RAW_HEADERS).iter();
    let Some(object) = given.next() else {
        return Ok(HeaderMap::new());
    };
    if given.next().is_some() {
        return Err(TWICE);
    }
    if object.len() > MAX_LEN {
        return Err(TOO_LARGE);
    }
    let object: Map<String, Value> = serde_json::from_slice(object.as_bytes()).map_err(|_| NOT_AN_OBJECT)?;
    let mut headers = HeaderMap::new();
    for (name, value) in &object {
        let (name, value) = header_of(name, value)?;
        headers.append(name, value);
    }
    Ok(headers)
}

/// One member of the object as a header, or why it is refused.
fn header_of(name: &str, value: &Value) -> Result<(HeaderName, HeaderValue), AppError> {
    let invalid = |why: String| AppError::Refused {
        status: StatusCode::BAD_REQUEST,
        code: INVALID_RAW_HEADERS,
        message: why.into(),
    };
    let parsed = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| invalid(format!("X-Kloudless-Raw-Headers: {name:?} is not a valid header name.")))?;
    if is_refused(&parsed) {
        return Err(invalid(format!(
            "X-Kloudless-Raw-Headers cannot set {name}: the server sets it, or it belongs to the connection."
        )));
    }
    // ASCII first: `http` takes other bytes as opaque in some versions and not in others.
    let value =
        value.as_str().filter(|value| value.is_ascii()).and_then(|value| HeaderValue::from_str(value).ok());
    let value = value.ok_or_else(|| {
        invalid(format!(
            "X-Kloudless-Raw-Headers: the value of {name} must be a string of visible ASCII, spaces and \
             tabs (no CR, LF or other control character; escape other characters as the service expects)."
        ))
    })?;
    Ok((parsed, value))
}

/// Whether `name` (lowercase, as parsed) would let a caller take over the upstream request: one
/// of [`REFUSED`], or any `Proxy-*` (`Proxy-Authorization`, `Proxy-Authenticate`,
/// `Proxy-Connection`, …).
pub fn is_refused(name: &HeaderName) -> bool {
    REFUSED.contains(name) || name.as_str().starts_with("proxy-")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(object: &str) -> HeaderMap {
        let mut request = HeaderMap::new();
        request.insert(RAW_HEADERS, HeaderValue::from_str(object).unwrap());
        request
    }

    #[test]
    fn names_are_matched_whatever_their_case() {
        for name in ["AUTHORIZATION", "Host", "keep-alive", "Proxy-Foo", "PROXY-AUTHORIZATION", "te"] {
            assert!(is_refused(&HeaderName::from_bytes(name.as_bytes()).unwrap()), "{name}");
        }
        for name in ["If-Match", "Dropbox-API-Arg", "Proxyish", "Range", "Accept"] {
            assert!(!is_refused(&HeaderName::from_bytes(name.as_bytes()).unwrap()), "{name}");
        }
    }

    #[test]
    fn an_object_of_strings_becomes_headers_and_anything_else_is_refused() {
        let headers =
            parse(&with(r#"{"If-Match": "\"v1\"", "Dropbox-API-Arg": "{\"path\": \"/a\"}"}"#)).unwrap();
        assert_eq!(headers["if-match"], "\"v1\"");
        assert_eq!(headers["dropbox-api-arg"], "{\"path\": \"/a\"}");
        assert!(parse(&HeaderMap::new()).unwrap().is_empty(), "no header, no headers");
        assert!(parse(&with("{}")).unwrap().is_empty());
        for bad in [
            "",
            "[]",
            "{\"a\": 1}",
            "{\"a\": \"\\n\"}",
            "{\"a\": \"\\u00e9\"}",
            "{\"a b\": \"c\"}",
            "{\"Host\": \"x\"}",
        ] {
            let refused = parse(&with(bad)).unwrap_err();
            assert_eq!(
                (refused.status(), refused.code()),
                (StatusCode::BAD_REQUEST, INVALID_RAW_HEADERS),
                "{bad}"
            );
        }
        let long = format!("{{\"a\": \"{}\"}}", "x".repeat(MAX_LEN));
        assert_eq!(parse(&with(&long)).unwrap_err().status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    }
}
