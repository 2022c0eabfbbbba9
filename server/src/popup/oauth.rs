//! The pop-up (`GET|POST /v1/oauth`): validate the request, choose a service, connect or deny,
//! and hand the result to the page that asked — only if that page's origin is trusted.

use crate::AppState;
use crate::pages;
use crate::params::{self, BadParams};
use crate::popup::browser::Browser;
use crate::popup::flow::{admitted, deliver, denied, failure};
use crate::popup::progress;
use crate::popup::request::{AuthRequest, validate};
use crate::providers::services::{Allowed, Connect};
use crate::sign_in;
use crate::store::{self, Store};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use kloudless_protocol::{OAuthResult, codes};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

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
    use crate::config::Config;

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
