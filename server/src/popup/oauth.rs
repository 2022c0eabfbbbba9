//! The pop-up (`GET|POST /v1/oauth`): validate the request, choose a service, connect or deny,
//! and hand the result to the page that asked — only if that page's origin is trusted.

use crate::AppState;
use crate::code_flow::request::Invalid;
use crate::error::AppError;
use crate::extract::{StrictForm, StrictQuery};
use crate::pages;
use crate::popup::browser::Browser;
use crate::popup::flow::{Admission, NOT_STARTED, admitted, deliver, denied, failure};
use crate::popup::progress;
use crate::popup::request::{AuthRequest, validate};
use crate::providers::services::{Allowed, Connect};
use crate::sign_in;
use crate::store::{self, Store};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use kloudless_protocol::{OAuthResult, codes};
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

/// Completes a validated submission: `action=deny` gives [`denied`]; `action=connect` consumes
/// the flow's sign-in token ([`sign_in::consume`]), stores the account named `account` for the
/// chosen `service` and gives a fresh token for it — or a failure result when the token was
/// consumed already, or the account is recorded for another end user of the app.
pub async fn complete(
    store: &Store,
    request: &AuthRequest,
    params: &[(String, String)],
) -> Result<OAuthResult, AppError> {
    let refuse = |message: &'static str| AppError::bad_request(message);
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
            let user_id =
                match sign_in::consume(store, request).await.map_err(AppError::storage(NOT_SAVED))? {
                    Ok(user_id) => user_id,
                    Err(sign_in::InvalidToken(code, why)) => {
                        return Ok(failure(request, code, why));
                    }
                };
            let scope = chosen.granted_scope();
            let connected = store
                .connect(
                    &scope,
                    &request.client_id,
                    &chosen.service.id,
                    name,
                    chosen.admin,
                    request.app_data(user_id.as_deref()),
                )
                .await;
            let token = match connected {
                Ok((_, token)) => token,
                Err(store::Error::OtherUser) => {
                    return Ok(failure(request, codes::ACCOUNT_OF_ANOTHER_USER, sign_in::OTHER_USER));
                }
                Err(error) => return Err(AppError::storage(NOT_SAVED)(error)),
            };
            Ok(OAuthResult::Success {
                access_token: token,
                token_type: "Bearer".to_owned(),
                scope,
                state: request.state.clone(),
            })
        }
        _ => Err(refuse("The action must be connect or deny.")),
    }
}

/// The trimmed value of a form control (validation has made sure it is not repeated).
pub fn field<'p>(params: &'p [(String, String)], key: &str) -> Option<&'p str> {
    params.iter().find(|(k, _)| k == key).map(|(_, v)| v.trim())
}

/// The sentence of a page whose account could not be saved for a server failure.
const NOT_SAVED: &str = "The account could not be saved; try again.";

const CLIENT_FULL: AppError =
    AppError::fixed(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", progress::CLIENT_FULL);

/// `GET /v1/oauth`: the chooser, or the connect page when one service is chosen or allowed; a
/// browser without a binding cookie gets one ([`crate::popup::browser`]), whatever the page.
pub async fn show(
    State(app): State<Arc<AppState>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    query: Result<StrictQuery, AppError>,
) -> Result<Response, AppError> {
    let browser =
        Browser::first_page(&headers, &app.public_url).ok_or(AppError::Server(NOT_STARTED.into()))?;
    let page = first_page(&app, client, &browser, query).await.into_response();
    Ok(browser.set_cookie(&app.public_url, page))
}

/// The page [`show`] answers `query` with, for `browser` at the address `client`. A request
/// refused on a page is a setup error, which that page also posts to the library
/// ([`pages::setup_error`]).
async fn first_page(
    app: &AppState,
    client: SocketAddr,
    browser: &Browser,
    query: Result<StrictQuery, AppError>,
) -> Result<Response, AppError> {
    let StrictQuery(params) = query?;
    let request = match validate(&app.config, &params) {
        Err(Invalid::Page(error, description)) => {
            let request_id = field(&params, "request_id").filter(|id| progress::is_request_id(id));
            return Ok(pages::setup_error(error, &description, request_id));
        }
        validated => validated?,
    };
    let mut request = match admitted(app, request, Some(browser)).await? {
        Admission::Admitted(request) => *request,
        Admission::Ended(result) => return Ok(result),
    };
    if request.return_to.is_some() {
        let now = SystemTime::now();
        let tracked =
            app.progress.open(&request.request_id, &request.client_id, client.ip(), browser.hash(), now);
        match tracked.await.map_err(AppError::storage(NOT_STARTED))? {
            Ok(()) => {}
            Err(progress::Refused::Client) => return Err(CLIENT_FULL),
            // Served all the same, by postMessage only: a full app refuses none of its users.
            Err(progress::Refused::App) => request.untracked(),
        }
    }
    let app_config = app.config.app(&request.client_id).ok_or(AppError::Server(NOT_STARTED.into()))?;
    let Some(chosen) = chosen(&request, &params).map_err(AppError::bad_request)? else {
        let search = field(&params, crate::popup::request::SEARCH).unwrap_or("");
        return Ok(pages::chooser(app_config, &request.params, &request.allowed, search));
    };
    Ok(match &chosen.service.connect {
        Connect::Demo => pages::connect(app_config, &request.params, &chosen.service, chosen.admin),
        Connect::Upstream(upstream) => {
            let via_form = field(&params, "service").is_some();
            let hostname = field(&params, "hostname");
            return crate::broker::choose(app, &request, chosen, upstream, hostname, via_form).await;
        }
        Connect::Org(org) => return crate::broker::org::form(app, &request, chosen, org),
        Connect::Credentials(entry) => pages::credentials_form(
            app_config,
            &request.params,
            &request.prefill,
            &chosen.service,
            entry,
            None,
        ),
    })
}

/// `POST /v1/oauth`: connect (issue a token for the named account) or deny, then the result page;
/// only from the browser the flow was admitted in ([`admitted`]).
pub async fn submit(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    StrictForm(params): StrictForm,
) -> Result<Response, AppError> {
    let request = validate(&app.config, &params)?;
    let browser = Browser::from_headers(&headers, &app.public_url);
    let request = match admitted(&app, request, browser.as_ref()).await? {
        Admission::Admitted(request) => *request,
        Admission::Ended(result) => return Ok(result),
    };
    if field(&params, "action") == Some("connect")
        && let Some(chosen) = field(&params, "service").and_then(|id| request.service(id))
        && chosen.service.connect.is_typed()
    {
        return crate::broker::credentials(&app, &request, chosen, &params).await;
    }
    if field(&params, "action") == Some("connect")
        && let Some(chosen) = field(&params, "service").and_then(|id| request.service(id))
        && let Connect::Org(org) = &chosen.service.connect
    {
        return crate::broker::org::check(&app, &request, chosen, org, &params).await;
    }
    let data = complete(&app.store, &request, &params).await?;
    Ok(deliver(&app, &request, &data).await)
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
            // An app without redirect URIs: every refusal is a page.
            let Err(Invalid::Page(_, error)) = validate(&config(), &params(extra)) else {
                panic!("{extra:?}")
            };
            assert!(error.to_lowercase().contains(&expected.to_lowercase()), "{error} / {expected}");
        }
        let mut repeated = params(&[]);
        repeated.push(("state".into(), "t".into()));
        let Err(Invalid::Page(_, error)) = validate(&config(), &repeated) else { panic!("repeated") };
        assert!(error.contains("more than once"));
    }

    #[test]
    fn each_setup_error_has_its_code() {
        let cases: [(&[(&str, &str)], &str); 6] = [
            (&[("client_id", "nope")], codes::INVALID_CLIENT),
            (&[("client_id", "<none>")], codes::INVALID_CLIENT),
            (&[("origin", "http://localhost:3001")], codes::UNTRUSTED_ORIGIN),
            (&[("origin", "<none>")], codes::UNTRUSTED_ORIGIN),
            (&[("scope", "unknown")], codes::INVALID_SCOPE),
            (&[("state", "")], codes::INVALID_REQUEST),
        ];
        for (extra, expected) in cases {
            let Err(Invalid::Page(code, _)) = validate(&config(), &params(extra)) else {
                panic!("{extra:?}")
            };
            assert_eq!(code, expected, "{extra:?}");
            assert!(codes::SETUP_ERRORS.contains(&code), "{code}: the library takes it");
        }
        let toml = "[[apps]]\nclient_id = \"app\"\ntrusted_domains = [\"localhost:3000\"]\n\
                    return_urls = [\"http://localhost:3000/back\"]\n";
        let with_returns = Config::from_toml(toml, "127.0.0.1:0".parse().unwrap(), "db".into()).unwrap();
        let refused = validate(&with_returns, &params(&[("return_to", "http://localhost:3000/other")]));
        let Err(Invalid::Page(code, why)) = refused else { panic!("{refused:?}") };
        assert_eq!(code, codes::INVALID_RETURN_TO);
        assert!(why.contains("return_urls"), "names the fix: {why}");
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
        let OAuthResult::Success { scope, state, access_token, .. } = data else { panic!("{data:?}") };
        assert_eq!(scope, "box:admin.storage");
        assert_eq!(state, "s");
        let grant = store.grant(&access_token).await.unwrap().unwrap();
        assert_eq!(store.account(grant.account_id).await.unwrap().unwrap().name, "a");
        let denied = complete(&store, &request, &form(&[("action", "deny")])).await.unwrap();
        assert!(matches!(denied, OAuthResult::Failure { error, .. } if error == "access_denied"));
        for bad in [
            form(&[("service", "box"), ("account", "   "), ("action", "connect")]),
            form(&[("service", "box"), ("account", &"x".repeat(255)), ("action", "connect")]),
            form(&[("service", "gdrive"), ("account", "a"), ("action", "connect")]),
            form(&[("service", "box"), ("account", "a")]),
        ] {
            let refused = complete(&store, &request, &bad).await;
            assert!(
                matches!(refused, Err(AppError::Refused { status: StatusCode::BAD_REQUEST, .. })),
                "{bad:?}"
            );
        }
    }
}
