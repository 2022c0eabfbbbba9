//! The pass-through API (Kloudless's raw API): `/v1/accounts/{id}/raw` calls the account's
//! provider API with the account's upstream access token — the path in `X-Kloudless-Raw-URI`
//! under the provider's `api_base`, the method in `X-Kloudless-Raw-Method`, the request's body
//! and content type passed on. The token is refreshed first if due and, on a 401, refreshed once
//! and the call retried once. Only the API base's own origin and path can be reached: an
//! absolute URL, a `..` segment (plain or percent-encoded), a backslash, an encoded slash or a
//! redirect are refused. The headers in `X-Kloudless-Raw-Headers` are passed on too, once
//! checked ([`crate::accounts::raw_headers`]). On an organisation-wide account, the call is made as
//! the user `X-Kloudless-As-User` names ([`crate::accounts::as_user`]). An API-key or basic
//! account's calls carry its [`kept`] credential instead, as its entry sends it (AWS: each call
//! signed), with nothing to refresh; when the upstream refuses it, the account's check is run
//! again ([`recheck`]), and an account made inactive so answers 401 `account_inactive`.
//!
//! Both bodies are streamed ([`crate::accounts::relay`]): the request body up to the configured maximum
//! (`raw_max_body_bytes`; over it, 413), the reply as it arrives. A request body of at most
//! [`relay::RESENDABLE`] bytes is kept and sent again after a 401; a longer one is sent once, so on a
//! 401 the token is refreshed and the caller told to send the request again (503,
//! `Retry-After: 0`). The upstream must take each chunk and answer within the upstream timeout
//! (else 504); a stalled reply body is cut short, its client's connection closed.

use crate::AppState;
use crate::accounts::api::find_account;
use crate::accounts::as_user;
use crate::accounts::kept;
use crate::accounts::raw_headers;
use crate::accounts::recheck;
use crate::accounts::relay::{self, BodyError, Outgoing};
use crate::error::AppError;
use crate::extract::Caller;
use crate::providers::catalogue::Entry;
use crate::providers::client::{Tokens, UpstreamError};
use crate::providers::services::{self, Connect};
use crate::serve::CloseHandle;
use axum::body::Body;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kloudless_protocol::codes;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The header naming the path to call under the provider's API base.
pub const RAW_URI: &str = "x-kloudless-raw-uri";
/// The header naming the method to call it with (default `GET`).
pub const RAW_METHOD: &str = "x-kloudless-raw-method";

const BAD_URI: AppError = AppError::fixed(
    StatusCode::BAD_REQUEST,
    codes::INVALID_REQUEST,
    "X-Kloudless-Raw-URI must be a path under the service's API (no scheme, host, .., backslash or encoded slash).",
);
const BAD_METHOD: AppError = AppError::fixed(
    StatusCode::BAD_REQUEST,
    codes::INVALID_REQUEST,
    "X-Kloudless-Raw-Method must be GET, HEAD, POST, PUT, PATCH or DELETE.",
);
const NO_API: AppError = AppError::fixed(
    StatusCode::BAD_REQUEST,
    codes::INVALID_REQUEST,
    "This account's service has no pass-through API.",
);
const REDIRECTED: AppError = AppError::fixed(
    StatusCode::BAD_GATEWAY,
    "upstream_redirect",
    "The service answered with a redirect, which is not followed.",
);
const TOO_LARGE: AppError = AppError::fixed(
    StatusCode::PAYLOAD_TOO_LARGE,
    codes::INVALID_REQUEST,
    "The request body is larger than this server passes on (raw_max_body_bytes).",
);
const UNREADABLE: AppError = AppError::fixed(
    StatusCode::BAD_REQUEST,
    codes::INVALID_REQUEST,
    "The request body could not be read: it was cut off or sent too slowly.",
);
const SEND_AGAIN: AppError = AppError::fixed(
    StatusCode::SERVICE_UNAVAILABLE,
    "upstream_token_refreshed",
    "The service refused the access token while a streamed request body was sent, which cannot be \
     sent twice; the token has been refreshed: send the request again.",
);

/// The upstream reply headers passed back.
const PASSED_BACK: [HeaderName; 6] = [
    header::CONTENT_TYPE,
    header::CACHE_CONTROL,
    header::ETAG,
    header::LAST_MODIFIED,
    header::CONTENT_DISPOSITION,
    header::RETRY_AFTER,
];

/// The URL for `path` under `api_base`, or `None` when `path` could leave it: it must start
/// with one `/`, hold no `\`, `#`, control character or whitespace, and neither as written nor
/// percent-decoded a `..` or `.` segment (also with path parameters, `..;x`, which Tomcat and
/// Spring resolve as `..`) or an encoded `/` or `\`; the joined URL must keep the base's
/// scheme, host, port and path prefix.
pub fn target(api_base: &str, path: &str) -> Option<String> {
    if !path.starts_with('/') || path.starts_with("//") || path.len() > 4096 {
        return None;
    }
    if path.chars().any(|c| c == '\\' || c == '#' || c.is_control() || c.is_whitespace()) {
        return None;
    }
    let lower = path.to_ascii_lowercase();
    if lower.contains("%2f") || lower.contains("%5c") || lower.contains("%25") {
        return None;
    }
    let raw_path = path.split('?').next().unwrap_or("");
    if !escapes_are_valid(raw_path) {
        return None;
    }
    let decoded = percent_encoding::percent_decode_str(raw_path).decode_utf8().ok()?;
    if decoded.split('/').any(is_dot_segment) || decoded.contains('\\') {
        return None;
    }
    let base = url::Url::parse(api_base.trim_end_matches('/')).ok()?;
    let joined = format!("{}{path}", api_base.trim_end_matches('/'));
    let url = url::Url::parse(&joined).ok()?;
    let prefix = base.path().trim_end_matches('/');
    let same_origin = url.scheme() == base.scheme()
        && url.host_str() == base.host_str()
        && url.port_or_known_default() == base.port_or_known_default()
        && url.username().is_empty()
        && url.password().is_none();
    let under = url.path() == prefix || url.path().starts_with(&format!("{prefix}/"));
    (same_origin && under).then(|| url.to_string())
}

/// Whether every `%` in `text` starts an escape of two hex digits (the decoder would pass any
/// other `%` on as it is, for the upstream to read as it likes).
fn escapes_are_valid(text: &str) -> bool {
    text.split('%')
        .skip(1)
        .all(|rest| rest.len() >= 2 && rest.as_bytes()[..2].iter().all(u8::is_ascii_hexdigit))
}

/// Whether a (decoded) path segment is `.` or `..`, once any path parameters (`;…`) are taken
/// off as servlet containers do.
fn is_dot_segment(segment: &str) -> bool {
    let name = segment.split(';').next().unwrap_or(segment);
    name == "." || name == ".."
}

/// `/v1/accounts/{id}/raw`: see the module's documentation.
pub async fn raw(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    close: Option<Extension<CloseHandle>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    let close = close.map(|Extension(close)| close);
    call(&app, &caller, &id, &headers, body, close).await
}

async fn call(
    app: &AppState,
    caller: &Caller,
    id: &str,
    headers: &HeaderMap,
    body: Body,
    close: Option<CloseHandle>,
) -> Result<Response, AppError> {
    let account = find_account(app, caller, id).await?;
    let service = services::find(&app.config.services, &account.service);
    let org = as_user::provider(app, &account);
    let as_user = as_user::named(headers, org.is_some())?;
    let (api_base, api_headers, placement, keyed) = service
        .and_then(|service| {
            let (entry, keyed): (&Entry, Option<&Entry>) = match &service.connect {
                Connect::Upstream(upstream) => (&upstream.entry, None),
                Connect::Org(org) => (&org.entry, None),
                Connect::Credentials(entry) => (entry, Some(entry)),
                Connect::Demo => return None,
            };
            Some((entry.api_base.clone()?, entry.api_headers.clone(), entry.placement(), keyed))
        })
        .ok_or(NO_API)?;
    let path = headers.get(RAW_URI).and_then(|v| v.to_str().ok()).ok_or(BAD_URI)?;
    let method = method(headers)?;
    let mut passed = raw_headers::parse(headers)?;
    with_api_headers(&mut passed, &api_headers);
    let max = app.config.accounts.raw_max_body;
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max) {
        return Err(TOO_LARGE);
    }
    let mut outgoing = Outgoing::read(body, max).await?;
    // Neither header can come from X-Kloudless-Raw-Headers.
    if let Some(content_type) = headers.get(header::CONTENT_TYPE) {
        passed.insert(reqwest::header::CONTENT_TYPE, content_type.clone());
    }
    if let (Some(len), false) = (declared, outgoing.resendable()) {
        passed.insert(reqwest::header::CONTENT_LENGTH, len.into());
    }
    let idle = app.config.upstream_timeout;
    if let Some(entry) = keyed {
        // An API-key or basic account: its credential on each call (AWS: each call signed),
        // nothing to refresh; checked again when the upstream refuses it.
        if let Some(reason) = &account.inactive_reason {
            return Err(AppError::Inactive(reason.clone()));
        }
        let kept = kept::open(app, &account).await?;
        let url = target(&kept.fill(&api_base).ok_or(NO_API)?, path).ok_or(BAD_URI)?;
        let (body, sending) = outgoing.send(max).ok_or(SEND_AGAIN)?;
        let request = app.http.raw_request(method, &url, &passed, body)?;
        let request = kept.credential.authorize(request, &placement, kept.region.as_deref())?;
        let reply = tokio::select! {
            reply = app.http.send_raw(request) => reply,
            () = sending.stalled(idle) => return Err(UpstreamError::timed_out("API").into()),
        };
        let reply = reply.map_err(|error| match sending.failure() {
            Some(failure) => AppError::from(failure),
            None => AppError::from(error),
        })?;
        if reply.status().is_redirection() {
            return Err(REDIRECTED);
        }
        if recheck::refused(entry, reply.status().as_u16()) {
            recheck::check(app, &account, entry, &kept).await;
        }
        return Ok(pass_back(reply, idle, close));
    }
    let as_user = as_user.as_deref();
    let mut tokens = as_user::tokens(app, &account, org, as_user, None).await?;
    let api_base = account_api_base(&api_base, &tokens).ok_or(NO_API)?;
    let path = as_user::path(org, path, as_user)?;
    let url = target(&api_base, &path).ok_or(BAD_URI)?;
    let mut retried = false;
    loop {
        let (body, sending) = outgoing.send(max).ok_or(SEND_AGAIN)?;
        let reply = tokio::select! {
            reply = app.http.raw(method.clone(), &url, (&placement, &tokens.access_token), &passed, body) => reply,
            () = sending.stalled(idle) => return Err(UpstreamError::timed_out("API").into()),
        };
        let reply = reply.map_err(|error| match sending.failure() {
            Some(failure) => AppError::from(failure),
            None => AppError::from(error),
        })?;
        if reply.status() == reqwest::StatusCode::UNAUTHORIZED && !retried {
            // Refreshed once; a streamed body, already sent, is not sent again (SEND_AGAIN).
            retried = true;
            tokens = as_user::tokens(app, &account, org, as_user, Some(&tokens.access_token)).await?;
            continue;
        }
        if reply.status().is_redirection() {
            return Err(REDIRECTED);
        }
        return Ok(pass_back(reply, idle, close));
    }
}
/// The entry's `api_headers` added to the caller's `passed` headers, those the caller gave
/// (`X-Kloudless-Raw-Headers`) winning: an app may ask for another API version.
fn with_api_headers(passed: &mut HeaderMap, api_headers: &BTreeMap<String, String>) {
    for (name, value) in api_headers {
        // Both parse: the catalogue checks them (catalogue::check).
        let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value))
        else {
            continue;
        };
        passed.entry(name).or_insert(value);
    }
}

/// The account's API base: the provider's, with the account's server in place of `{hostname}`
/// (a per-server provider), of `{instance_url}` (its own API server, e.g. a Salesforce org's)
/// and of `{site}` (its site, e.g. an Atlassian cloud id); `None` when the account does not name
/// one it needs.
fn account_api_base(template: &str, tokens: &Tokens) -> Option<String> {
    let mut base = template.to_owned();
    let filled = [
        ("{hostname}", &tokens.hostname),
        ("{instance_url}", &tokens.instance_url),
        ("{site}", &tokens.site),
    ];
    for (placeholder, value) in filled {
        if base.contains(placeholder) {
            base = base.replace(placeholder, value.as_deref()?);
        }
    }
    (!base.contains('{')).then_some(base)
}

/// The method in `X-Kloudless-Raw-Method` (default `GET`).
fn method(headers: &HeaderMap) -> Result<reqwest::Method, AppError> {
    let method = headers.get(RAW_METHOD).map_or(Ok("GET"), |v| v.to_str()).map_err(|_| BAD_METHOD)?;
    Ok(match method.to_ascii_uppercase().as_str() {
        "GET" => reqwest::Method::GET,
        "HEAD" => reqwest::Method::HEAD,
        "POST" => reqwest::Method::POST,
        "PUT" => reqwest::Method::PUT,
        "PATCH" => reqwest::Method::PATCH,
        "DELETE" => reqwest::Method::DELETE,
        _ => return Err(BAD_METHOD),
    })
}

/// A request body the relay could not pass on: too large (413), or cut off or too slow (400).
impl From<BodyError> for AppError {
    fn from(error: BodyError) -> AppError {
        match error {
            BodyError::TooLarge => TOO_LARGE,
            BodyError::Unreadable => UNREADABLE,
        }
    }
}

/// The upstream's status, [`PASSED_BACK`] headers and body, streamed ([`relay::reply_body`];
/// `close` closes the client's connection when the relay gives up).
fn pass_back(reply: reqwest::Response, idle: std::time::Duration, close: Option<CloseHandle>) -> Response {
    let status = StatusCode::from_u16(reply.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut passed = HeaderMap::new();
    for name in PASSED_BACK {
        if let Some(value) = reply.headers().get(&name) {
            passed.insert(name, value.clone());
        }
    }
    let mut response = (status, relay::reply_body(reply, idle, close)).into_response();
    response.headers_mut().extend(passed);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entrys_api_headers_are_sent_unless_the_caller_gives_its_own() {
        let api_headers = BTreeMap::from([
            ("Notion-Version".to_owned(), "2025-09-03".to_owned()),
            ("X-Other".to_owned(), "1".to_owned()),
        ]);
        let mut passed = HeaderMap::new();
        passed.insert("notion-version", HeaderValue::from_static("2022-06-28"));
        with_api_headers(&mut passed, &api_headers);
        assert_eq!(passed["notion-version"], "2022-06-28");
        assert_eq!(passed.get_all("notion-version").iter().count(), 1);
        assert_eq!(passed["x-other"], "1");
        let mut none = HeaderMap::new();
        with_api_headers(&mut none, &api_headers);
        assert_eq!(none["notion-version"], "2025-09-03");
    }

    #[test]
    fn an_accounts_api_base_is_filled_with_its_server_and_site() {
        let tokens = Tokens {
            access_token: "a".into(),
            refresh_token: None,
            expires_at: None,
            scope: None,
            hostname: None,
            instance_url: None,
            site: Some("1324a887".into()),
        };
        let jira = "https://api.atlassian.com/ex/jira/{site}";
        assert_eq!(
            account_api_base(jira, &tokens).as_deref(),
            Some("https://api.atlassian.com/ex/jira/1324a887")
        );
        let without = Tokens { site: None, ..tokens.clone() };
        assert_eq!(account_api_base(jira, &without), None, "no site looked up: no API");
        assert_eq!(account_api_base("https://{hostname}/api", &tokens), None, "no server");
    }

    #[test]
    fn only_paths_under_the_api_base_are_reached() {
        let base = "https://api.acme.test/v2";
        assert_eq!(target(base, "/files?x=1").as_deref(), Some("https://api.acme.test/v2/files?x=1"));
        assert_eq!(target("https://api.acme.test/", "/a/b").as_deref(), Some("https://api.acme.test/a/b"));
        for bad in [
            "https://evil.test/x",
            "files",
            "//evil.test/x",
            "/../admin",
            "/a/../../admin",
            "/%2e%2e/admin",
            "/%2E%2E/admin",
            "/.%2e/admin",
            "/a%2f..%2fadmin",
            "/a%5c..",
            "/%252e%252e/admin",
            "/\\evil.test",
            "/a#frag",
            "/a b",
            "/./x",
            // Path parameters on dot segments (Tomcat and Spring resolve `..;x` as `..`).
            "/..;/x",
            "/.;/x",
            "/a/..;jsessionid=1/../../admin",
            "/..;a=b/admin",
            "/%2e%2e;/admin",
            "/..%3b/admin",
            "/..%3B/admin",
            "/.%3bx/admin",
            "/%zz/admin",
            "/a%2",
            "/%",
        ] {
            assert_eq!(target(base, bad), None, "{bad}");
        }
        assert_eq!(target(base, "@evil.test/x"), None);
        assert_eq!(
            target(base, "/files;v=2/a..b/.x/..y").as_deref(),
            Some("https://api.acme.test/v2/files;v=2/a..b/.x/..y"),
            "parameters elsewhere and names that only contain dots are fine"
        );
    }
}
