//! The pop-up (`GET|POST /v1/oauth`): validate the request, choose a service, connect or deny,
//! and hand the result to the page that asked — only if that page's origin is trusted.

use crate::AppState;
use crate::browser::{self, Browser};
use crate::config::Config;
use crate::origin::Origin;
use crate::pages;
use crate::params::{self, BadParams};
use crate::progress;
use crate::returns;
use crate::services::{self, Allowed, Connect};
use crate::sign_in;
use crate::store::{self, Store};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use kloudless_protocol::{
    OAuthResult, OOB_REDIRECT_URI, RESERVED_PARAMS, RESPONSE_TYPE, SIGN_IN_TOKEN, codes, is_sign_in_token,
};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

/// Parameters the pop-up reads itself; every other one (e.g. `raw[x]`) is kept and ignored.
const PROTOCOL: [&str; 9] = {
    let [a, b, c, d, e, f] = RESERVED_PARAMS;
    ["client_id", "scope", SIGN_IN_TOKEN, a, b, c, d, e, f]
};

/// The longest `return_to` accepted.
const MAX_RETURN_TO: usize = 2048;
/// Parameters the pop-up's own forms add.
const CONTROLS: [&str; 7] = ["service", "account", "action", "hostname", "api_key", "username", "password"];

/// A pop-up request that passed every check.
#[derive(Debug)]
pub struct AuthRequest {
    /// The app.
    pub client_id: String,
    /// The page's `state`, echoed in the result.
    pub state: String,
    /// The id the result message carries.
    pub request_id: String,
    /// The page's origin: the only target of the result.
    pub origin: String,
    /// The services the scope allows (at least one).
    pub allowed: Vec<Allowed>,
    /// The app's registered return page (on `origin`; its query kept) the library sent, where a
    /// code for the result goes back when the pop-up has no opener (see [`progress`]); `None`
    /// when not sent, or when the app registered none (postMessage only).
    pub return_to: Option<String>,
    /// The request's parameters, without the forms' own, to carry from page to page.
    pub params: Vec<(String, String)>,
    /// The sign-in token the app's backend minted for this flow, if given (see [`sign_in`]).
    pub sign_in_token: Option<String>,
    /// The SHA-256 of the binding cookie of the browser the flow was admitted in ([`admitted`],
    /// [`crate::browser`]).
    pub browser: Option<String>,
}

impl AuthRequest {
    /// The allowed service with this id.
    pub fn service(&self, id: &str) -> Option<&Allowed> {
        self.allowed.iter().find(|a| a.service.id == id)
    }

    /// Drops `return_to`, here and in the parameters its pages carry on: the flow is not
    /// tracked, so its result goes back by `postMessage` only.
    fn untracked(&mut self) {
        self.return_to = None;
        self.params.retain(|(key, _)| key != "return_to");
    }
}

/// The value of `key`, if given; given more than once is an error.
fn single<'p>(params: &'p [(String, String)], key: &str) -> Result<Option<&'p str>, String> {
    let mut values = params.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str());
    let first = values.next();
    match values.next() {
        Some(_) => Err(format!("The parameter {key} is given more than once.")),
        None => Ok(first),
    }
}

/// The one value of `key`, which must be present, non-empty and at most `max` characters.
fn required<'p>(params: &'p [(String, String)], key: &str, max: usize) -> Result<&'p str, String> {
    match single(params, key)? {
        Some(v) if !v.is_empty() && v.chars().count() <= max => Ok(v),
        Some(v) if !v.is_empty() => Err(format!("The parameter {key} is too long.")),
        _ => Err(format!("The parameter {key} is missing.")),
    }
}

/// Checks a pop-up request; the error is a sentence for the user.
pub fn validate(config: &Config, params: &[(String, String)]) -> Result<AuthRequest, String> {
    for key in PROTOCOL.iter().chain(&CONTROLS) {
        single(params, key)?;
    }
    let client_id = required(params, "client_id", 256)?;
    let app = config.app(client_id).ok_or_else(|| format!("There is no app with client_id {client_id}."))?;
    if let Some(uri) = single(params, "redirect_uri")?.filter(|u| *u != OOB_REDIRECT_URI) {
        return Err(format!("The redirect_uri {uri} is not supported: use {OOB_REDIRECT_URI}."));
    }
    if single(params, "response_type")? != Some(RESPONSE_TYPE) {
        return Err(format!("The response_type must be {RESPONSE_TYPE}."));
    }
    let state = required(params, "state", 512)?;
    let request_id = required(params, "request_id", 128)?;
    let origin_text = required(params, "origin", 512)?;
    let origin = Origin::parse(origin_text)
        .ok_or_else(|| format!("The origin {origin_text} is not a plain scheme://host[:port] origin."))?;
    if !origin.is_trusted_by(&app.trusted_domains) {
        return Err(format!("The origin {origin_text} is not a Trusted Domain of app {client_id}."));
    }
    if !progress::is_request_id(request_id) {
        return Err("The parameter request_id must not hold control characters.".to_owned());
    }
    // Without registered return URLs the app gets postMessage only: `return_to` is ignored.
    let return_to = single(params, "return_to")?
        .filter(|_| !app.return_urls.is_empty())
        .map(|url| return_page(url, &origin.to_string(), &app.return_urls))
        .transpose()?;
    let sign_in_token = single(params, SIGN_IN_TOKEN)?;
    if sign_in_token.is_some_and(|token| !is_sign_in_token(token)) {
        return Err(format!("The parameter {SIGN_IN_TOKEN} is not a sign-in token."));
    }
    let scope = single(params, "scope")?.unwrap_or("");
    let allowed = services::allowed(&config.services, scope);
    if allowed.is_empty() {
        if let Some(id) = not_enabled(scope) {
            return Err(format!("The service {id} is not enabled on this server."));
        }
        return Err(format!("No service matches the scope {scope:?}."));
    }
    Ok(AuthRequest {
        client_id: client_id.to_owned(),
        state: state.to_owned(),
        request_id: request_id.to_owned(),
        origin: origin.to_string(),
        allowed,
        params: params
            .iter()
            .filter(|(k, _)| !CONTROLS.contains(&k.as_str()) && (k != "return_to" || return_to.is_some()))
            .cloned()
            .collect(),
        return_to,
        sign_in_token: sign_in_token.map(str::to_owned),
        browser: None,
    })
}

/// The validated `request` once it comes from a `browser` ([`browser::check`]) and its sign-in
/// token admits it there ([`sign_in::admit`]), with its browser; otherwise the
/// refusal page, or the result page with `invalid_sign_in_token` (the page's callback gets it).
pub async fn admitted(
    app: &AppState,
    mut request: AuthRequest,
    browser: Option<&Browser>,
) -> Result<AuthRequest, Response> {
    browser::check(browser, None).map_err(browser::Refused::page)?;
    let hash = browser.map(Browser::hash).unwrap_or_default();
    match sign_in::admit(app, &request, hash).await {
        Ok(bound_to) => {
            browser::check(browser, bound_to.as_deref()).map_err(browser::Refused::page)?;
            request.browser = Some(hash.to_owned());
            Ok(request)
        }
        Err(sign_in::Refusal::Invalid(description)) => {
            let refused = failure(&request, codes::INVALID_SIGN_IN_TOKEN, description);
            Err(deliver(app, &request, &refused).await)
        }
        Err(sign_in::Refusal::Storage(error)) => {
            tracing::error!("storage error: {error}");
            Err(pages::server_error("The sign-in could not be started; try again."))
        }
    }
}

/// A service id the scope names that this server knows of (in the catalogue or the demo
/// provider) but has not enabled, for a clearer page than an empty chooser.
fn not_enabled(scope: &str) -> Option<String> {
    let catalogue = crate::providers::catalogue::catalogue().unwrap_or_default();
    scope.split_whitespace().find_map(|item| {
        let name = item.split(':').next().unwrap_or(item);
        let id = name.split('.').next().unwrap_or(name);
        let known = catalogue.iter().any(|entry| entry.id == id)
            || services::DEMO.iter().any(|(demo, _, _)| *demo == id);
        known.then(|| id.to_owned())
    })
}

/// Checks `return_to`: an absolute http(s) URL on `origin`, without credentials or a fragment
/// (the code goes there), that is one of the app's `registered` return URLs once its query is
/// set aside. Returns it (query included) as the WHATWG URL parser writes it.
fn return_page(text: &str, origin: &str, registered: &[url::Url]) -> Result<String, String> {
    let refuse = |why: &str| Err(format!("The parameter return_to {why}."));
    if text.chars().count() > MAX_RETURN_TO {
        return refuse("is too long");
    }
    let Ok(url) = url::Url::parse(text) else { return refuse("is not an absolute URL") };
    if !matches!(url.scheme(), "http" | "https") {
        return refuse("is not an http or https URL");
    }
    if url.origin().ascii_serialization() != origin {
        return refuse("is not a page of the origin that opened the pop-up");
    }
    if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
        return refuse("may have neither credentials nor a fragment");
    }
    let mut page = url.clone();
    page.set_query(None);
    if !registered.contains(&page) {
        return Err(format!(
            "The parameter return_to {page} is not a registered return URL of this app: add it to the \
             app's return_urls, or set the library's return_url option to a page that is."
        ));
    }
    Ok(url.into())
}

/// The failure result `error` with `description` and the page's state.
pub fn failure(request: &AuthRequest, error: &str, description: &str) -> Value {
    let failed = OAuthResult::Failure {
        error: error.to_owned(),
        error_description: description.to_owned(),
        state: request.state.clone(),
    };
    serde_json::to_value(failed).unwrap_or_default()
}

/// The result of a denial: `access_denied`, with the page's state.
pub fn denied(request: &AuthRequest) -> Value {
    failure(request, codes::ACCESS_DENIED, "The user denied access.")
}

/// The service to show the connect page for: the one chosen with `service` (which the scope
/// must allow), or the only one allowed. `None` means the user has to choose.
pub fn chosen<'r>(
    request: &'r AuthRequest,
    params: &[(String, String)],
) -> Result<Option<&'r Allowed>, String> {
    match field(params, "service") {
        Some(id) => request
            .service(id)
            .map(Some)
            .ok_or_else(|| format!("The service {id} is not allowed by the scope.")),
        None => Ok(match request.allowed.as_slice() {
            [only] => Some(only),
            _ => None,
        }),
    }
}

/// Why a pop-up submission was not completed.
#[derive(Debug)]
pub enum Refusal {
    /// The submission is wrong; the text says how.
    BadRequest(String),
    /// Storing the account failed.
    Storage(store::Error),
}

/// Completes a validated submission: `action=deny` gives [`denied`]; `action=connect` consumes
/// the flow's sign-in token ([`sign_in::consume`]), stores the account named `account` for the
/// chosen `service` and gives a fresh token for it — or a failure result when the token was
/// consumed already, or the account is recorded for another end user of the app.
pub async fn complete(
    store: &Store,
    request: &AuthRequest,
    params: &[(String, String)],
) -> Result<Value, Refusal> {
    let refuse = |message: &str| Refusal::BadRequest(message.to_owned());
    match field(params, "action") {
        Some("deny") => Ok(denied(request)),
        Some("connect") => {
            let chosen = field(params, "service")
                .and_then(|id| request.service(id))
                .ok_or_else(|| refuse("Choose one of the services the scope allows."))?;
            if !matches!(chosen.service.connect, Connect::Demo) {
                return Err(refuse("This service is connected through its own sign-in page."));
            }
            let name = field(params, "account").unwrap_or("");
            if name.is_empty() || name.chars().count() > 254 {
                return Err(refuse("The account name must be 1 to 254 characters."));
            }
            let user_id = match sign_in::consume(store, request).await {
                Ok(user_id) => user_id,
                Err(sign_in::Refusal::Invalid(why)) => {
                    return Ok(failure(request, codes::INVALID_SIGN_IN_TOKEN, why));
                }
                Err(sign_in::Refusal::Storage(error)) => return Err(Refusal::Storage(error)),
            };
            let scope = chosen.granted_scope();
            let connected = store
                .connect(
                    &scope,
                    &request.client_id,
                    &chosen.service.id,
                    name,
                    chosen.admin,
                    user_id.as_deref(),
                )
                .await;
            let token = match connected {
                Ok((_, token)) => token,
                Err(store::Error::OtherUser) => {
                    return Ok(failure(request, codes::ACCOUNT_OF_ANOTHER_USER, sign_in::OTHER_USER));
                }
                Err(error) => return Err(Refusal::Storage(error)),
            };
            let connected = OAuthResult::Success {
                access_token: token,
                token_type: "Bearer".to_owned(),
                scope,
                state: request.state.clone(),
            };
            Ok(serde_json::to_value(connected).unwrap_or_default())
        }
        _ => Err(refuse("The action must be connect or deny.")),
    }
}

/// The result page for `request`, with (when the flow has a return page) a one-time code for its
/// result to bring back there, the flow noted as returned; the flow's sign-in token ends with it.
pub async fn deliver(app: &AppState, request: &AuthRequest, data: &Value) -> Response {
    sign_in::end(app, request).await;
    let message = pages::message(&request.request_id, data);
    let code = match &request.return_to {
        Some(_) => returned(app, request, &message).await,
        None => None,
    };
    let back = request
        .return_to
        .as_deref()
        .zip(code.as_deref())
        .map(|(return_to, code)| pages::Back { return_to, code });
    pages::result(&request.request_id, &request.origin, back, &message, data)
}

/// For a flow with a return page: a one-time code for its result `message` ([`returns`]), the
/// flow noted as returned. `None` when the code cannot be kept (the result then goes by
/// postMessage only).
async fn returned(app: &AppState, request: &AuthRequest, message: &str) -> Option<String> {
    let browser = request.browser.as_deref().unwrap_or_default();
    let flow = store::CodeFlow {
        client_id: &request.client_id,
        request_id: &request.request_id,
        origin: &request.origin,
    };
    let code = returns::mint(app, flow, message)
        .await
        .map_err(|error| tracing::error!("storage error: {error}"))
        .ok()?;
    if let Err(error) =
        app.progress.returned(&request.request_id, &request.client_id, browser, SystemTime::now()).await
    {
        // The code still goes back; only a progress check may find the flow unknown.
        tracing::error!("storage error: {error}");
    }
    Some(code)
}

/// The trimmed value of a form control (validation has made sure it is not repeated).
pub fn field<'p>(params: &'p [(String, String)], key: &str) -> Option<&'p str> {
    params.iter().find(|(k, _)| k == key).map(|(_, v)| v.trim())
}

/// The status and sentence for parameters that cannot be read; `too_long` is the status for
/// [`BadParams::TooLong`] (414 for a query string, 413 for a form body).
fn unreadable(bad: BadParams, too_long: StatusCode) -> (StatusCode, &'static str) {
    let status = if bad == BadParams::TooLong { too_long } else { StatusCode::BAD_REQUEST };
    (status, bad.message())
}

/// The submitted form's parameters, or why the body cannot be read.
fn form(body: Result<Bytes, BytesRejection>) -> Result<Vec<(String, String)>, (StatusCode, &'static str)> {
    let too_long = StatusCode::PAYLOAD_TOO_LARGE;
    let body = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => unreadable(BadParams::TooLong, too_long),
        _ => (StatusCode::BAD_REQUEST, "The form could not be read."),
    })?;
    params::parse(&body).map_err(|bad| unreadable(bad, too_long))
}

/// `GET /v1/oauth`: the chooser, or the connect page when one service is chosen or allowed; a
/// browser without a binding cookie gets one ([`browser`]).
pub async fn show(
    State(app): State<Arc<AppState>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(browser) = Browser::first_page(&headers, &app.public_url) else {
        return pages::server_error("The sign-in could not be started; try again.");
    };
    let page = first_page(&app, client, &browser, query.as_deref().unwrap_or("")).await;
    browser.set_cookie(&app.public_url, page)
}

/// The page [`show`] answers `query` with, for `browser` at the address `client`.
async fn first_page(app: &AppState, client: SocketAddr, browser: &Browser, query: &str) -> Response {
    let params = match params::parse(query.as_bytes()) {
        Ok(params) => params,
        Err(bad) => {
            let (status, message) = unreadable(bad, StatusCode::URI_TOO_LONG);
            return pages::refused(status, message);
        }
    };
    let request = match validate(&app.config, &params) {
        Ok(request) => request,
        Err(message) => return pages::error(&message),
    };
    let mut request = match admitted(app, request, Some(browser)).await {
        Ok(request) => request,
        Err(refused) => return refused,
    };
    if request.return_to.is_some() {
        let tracked = app
            .progress
            .open(&request.request_id, &request.client_id, client.ip(), browser.hash(), SystemTime::now())
            .await;
        match tracked {
            Ok(Ok(())) => {}
            Ok(Err(progress::Refused::Client)) => {
                return pages::refused(StatusCode::TOO_MANY_REQUESTS, progress::CLIENT_FULL);
            }
            // Served all the same, by postMessage only: a full app refuses none of its users.
            Ok(Err(progress::Refused::App)) => request.untracked(),
            Err(error) => {
                tracing::error!("storage error: {error}");
                return pages::server_error("The sign-in could not be started; try again.");
            }
        }
    }
    match chosen(&request, &params) {
        Ok(Some(chosen)) => match &chosen.service.connect {
            Connect::Demo => {
                pages::connect(&request.client_id, &request.params, &chosen.service, chosen.admin)
            }
            Connect::Upstream(upstream) => {
                let via_form = field(&params, "service").is_some();
                crate::broker::choose(app, &request, chosen, upstream, field(&params, "hostname"), via_form)
                    .await
            }
            Connect::Credentials(entry) => {
                pages::credentials_form(&request.client_id, &request.params, &chosen.service, entry, None)
            }
        },
        Ok(None) => pages::chooser(&request.client_id, &request.params, &request.allowed),
        Err(message) => pages::error(&message),
    }
}

/// `POST /v1/oauth`: connect (issue a token for the named account) or deny, then the result page;
/// only from the browser the flow was admitted in ([`admitted`]).
pub async fn submit(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let params = match form(body) {
        Ok(params) => params,
        Err((status, message)) => return pages::refused(status, message),
    };
    let request = match validate(&app.config, &params) {
        Ok(request) => request,
        Err(message) => return pages::error(&message),
    };
    let browser = Browser::from_headers(&headers, &app.public_url);
    let request = match admitted(&app, request, browser.as_ref()).await {
        Ok(request) => request,
        Err(refused) => return refused,
    };
    if field(&params, "action") == Some("connect")
        && let Some(chosen) = field(&params, "service").and_then(|id| request.service(id))
        && let Connect::Credentials(entry) = &chosen.service.connect
    {
        return crate::broker::credentials(&app, &request, chosen, entry, &params).await;
    }
    match complete(&app.store, &request, &params).await {
        Ok(data) => deliver(&app, &request, &data).await,
        Err(Refusal::BadRequest(message)) => pages::error(&message),
        Err(Refusal::Storage(error)) => {
            tracing::error!("storage error: {error}");
            pages::server_error("The account could not be saved; try again.")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        let toml = "[[apps]]\nclient_id = \"app\"\ntrusted_domains = [\"localhost:3000\"]\n";
        Config::from_toml(toml, "127.0.0.1:0".parse().unwrap(), "db".into()).unwrap()
    }

    fn params(extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut base = vec![
            ("client_id", "app"),
            ("redirect_uri", "urn:ietf:wg:oauth:2.0:oob"),
            ("response_type", "token"),
            ("state", "s"),
            ("request_id", "r"),
            ("origin", "http://localhost:3000"),
        ];
        for (k, v) in extra {
            base.retain(|(key, _)| key != k);
            base.push((k, v));
        }
        base.into_iter().filter(|(_, v)| *v != "<none>").map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
    }

    #[test]
    fn accepts_a_protocol_request() {
        let request = validate(&config(), &params(&[("scope", "crm"), ("raw[x]", "1")])).unwrap();
        assert_eq!(request.allowed.len(), 2);
        assert_eq!(request.origin, "http://localhost:3000");
        assert!(request.params.iter().any(|(k, _)| k == "raw[x]"));
    }

    #[test]
    fn refuses_what_is_wrong_and_says_why() {
        let cases: [(&[(&str, &str)], &str); 9] = [
            (&[("client_id", "nope")], "no app"),
            (&[("origin", "http://localhost:3001")], "not a Trusted Domain"),
            (&[("origin", "http://localhost:3000/")], "not a plain"),
            (&[("origin", "<none>")], "origin is missing"),
            (&[("state", "")], "state is missing"),
            (&[("response_type", "code")], "response_type"),
            (&[("redirect_uri", "https://evil.test/")], "redirect_uri"),
            (&[("scope", "unknown")], "No service"),
            (&[("request_id", &"x".repeat(129))], "too long"),
        ];
        for (extra, expected) in cases {
            let error = validate(&config(), &params(extra)).unwrap_err();
            assert!(error.to_lowercase().contains(&expected.to_lowercase()), "{error} / {expected}");
        }
        let mut repeated = params(&[]);
        repeated.push(("state".into(), "t".into()));
        assert!(validate(&config(), &repeated).unwrap_err().contains("more than once"));
    }

    #[tokio::test]
    async fn chooses_and_completes() {
        let config = config();
        let request = validate(&config, &params(&[("scope", "box:admin dropbox")])).unwrap();
        assert_eq!(chosen(&request, &params(&[])).unwrap(), None, "two services: the chooser");
        let box_choice = params(&[("service", "box")]);
        assert_eq!(chosen(&request, &box_choice).unwrap().map(|a| a.admin), Some(true));
        assert!(chosen(&request, &params(&[("service", "gdrive")])).unwrap_err().contains("not allowed"));
        let single = validate(&config, &params(&[("scope", "hubspot")])).unwrap();
        assert_eq!(chosen(&single, &params(&[])).unwrap().map(|a| a.service.id.as_str()), Some("hubspot"));

        let (_dir, store) = crate::store::testing::store().await;
        let form = |extra: &[(&str, &str)]| params(&[&[("scope", "box:admin dropbox")], extra].concat());
        let data = complete(
            &store,
            &request,
            &form(&[("service", "box"), ("account", " a "), ("action", "connect")]),
        )
        .await
        .unwrap();
        assert_eq!(data["scope"], "box:admin.storage");
        assert_eq!(data["state"], "s");
        let grant = store.grant(data["access_token"].as_str().unwrap()).await.unwrap().unwrap();
        assert_eq!(store.account(grant.account_id).await.unwrap().unwrap().name, "a");
        assert_eq!(
            complete(&store, &request, &form(&[("action", "deny")])).await.unwrap()["error"],
            "access_denied"
        );
        for bad in [
            form(&[("service", "box"), ("account", "   "), ("action", "connect")]),
            form(&[("service", "box"), ("account", &"x".repeat(255)), ("action", "connect")]),
            form(&[("service", "gdrive"), ("account", "a"), ("action", "connect")]),
            form(&[("service", "box"), ("account", "a")]),
        ] {
            assert!(matches!(complete(&store, &request, &bad).await, Err(Refusal::BadRequest(_))), "{bad:?}");
        }
    }
}
