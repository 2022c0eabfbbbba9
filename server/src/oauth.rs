//! The pop-up (`GET|POST /v1/oauth`): validate the request, choose a service, connect or deny,
//! and hand the result to the page that asked — only if that page's origin is trusted.

use crate::AppState;
use crate::config::Config;
use crate::origin::Origin;
use crate::pages;
use crate::services::{self, Allowed};
use axum::extract::{RawQuery, State};
use axum::response::Response;
use serde_json::{Value, json};
use std::sync::Arc;

/// Parameters the pop-up reads itself; every other one (e.g. `raw[x]`) is kept and ignored.
const PROTOCOL: [&str; 7] =
    ["client_id", "redirect_uri", "response_type", "state", "request_id", "origin", "scope"];
/// Parameters the pop-up's own forms add.
const CONTROLS: [&str; 3] = ["service", "account", "action"];

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
    /// The request's parameters, without the forms' own, to carry from page to page.
    pub params: Vec<(String, String)>,
}

impl AuthRequest {
    /// The allowed service with this id.
    pub fn service(&self, id: &str) -> Option<&Allowed> {
        self.allowed.iter().find(|a| a.service.id == id)
    }
}

/// Decodes `a=1&b=2` (a query string or a form body).
pub fn parse_params(text: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(text.as_bytes()).into_owned().collect()
}

fn single<'p>(params: &'p [(String, String)], key: &str) -> Result<Option<&'p str>, String> {
    let mut values = params.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str());
    let first = values.next();
    match values.next() {
        Some(_) => Err(format!("The parameter {key} is given more than once.")),
        None => Ok(first),
    }
}

fn required<'p>(params: &'p [(String, String)], key: &str, max: usize) -> Result<&'p str, String> {
    match single(params, key)? {
        Some(v) if !v.is_empty() && v.len() <= max => Ok(v),
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
    if let Some(uri) = single(params, "redirect_uri")?.filter(|u| *u != "urn:ietf:wg:oauth:2.0:oob") {
        return Err(format!("The redirect_uri {uri} is not supported: use urn:ietf:wg:oauth:2.0:oob."));
    }
    if single(params, "response_type")? != Some("token") {
        return Err("The response_type must be token.".to_owned());
    }
    let state = required(params, "state", 512)?;
    let request_id = required(params, "request_id", 128)?;
    let origin_text = required(params, "origin", 512)?;
    let origin = Origin::parse(origin_text)
        .ok_or_else(|| format!("The origin {origin_text} is not a plain scheme://host[:port] origin."))?;
    if !origin.is_trusted_by(&app.trusted_domains) {
        return Err(format!("The origin {origin_text} is not a Trusted Domain of app {client_id}."));
    }
    let scope = single(params, "scope")?.unwrap_or("");
    let allowed = services::allowed(scope);
    if allowed.is_empty() {
        return Err(format!("No service matches the scope {scope:?}."));
    }
    Ok(AuthRequest {
        client_id: client_id.to_owned(),
        state: state.to_owned(),
        request_id: request_id.to_owned(),
        origin: origin_text.to_owned(),
        allowed,
        params: params.iter().filter(|(k, _)| !CONTROLS.contains(&k.as_str())).cloned().collect(),
    })
}

/// The result of a denial: `access_denied`, with the page's state.
pub fn denied(request: &AuthRequest) -> Value {
    json!({ "error": "access_denied", "error_description": "The user denied access.", "state": request.state })
}

/// `GET /v1/oauth`: the chooser, or the connect page when one service is chosen or allowed.
pub async fn show(State(app): State<Arc<AppState>>, RawQuery(query): RawQuery) -> Response {
    let params = parse_params(query.as_deref().unwrap_or(""));
    let request = match validate(&app.config, &params) {
        Ok(request) => request,
        Err(message) => return pages::error(&message),
    };
    let chosen = match params.iter().find(|(k, _)| k == "service") {
        Some((_, id)) => match request.service(id) {
            Some(allowed) => allowed,
            None => return pages::error(&format!("The service {id} is not allowed by the scope.")),
        },
        None if request.allowed.len() == 1 => &request.allowed[0],
        None => return pages::chooser(&request.client_id, &request.params, &request.allowed),
    };
    pages::connect(&request.client_id, &request.params, chosen.service, chosen.admin)
}

/// `POST /v1/oauth`: connect (issue a token for the named account) or deny.
pub async fn submit(State(app): State<Arc<AppState>>, body: String) -> Response {
    let params = parse_params(&body);
    let request = match validate(&app.config, &params) {
        Ok(request) => request,
        Err(message) => return pages::error(&message),
    };
    let field = |key| params.iter().find(|(k, _)| k == key).map(|(_, v)| v.trim());
    let data = match field("action") {
        Some("deny") => denied(&request),
        Some("connect") => {
            let Some(chosen) = field("service").and_then(|id| request.service(id)) else {
                return pages::error("Choose one of the services the scope allows.");
            };
            let name = field("account").unwrap_or("");
            if name.is_empty() || name.chars().count() > 254 {
                return pages::error("The account name must be 1 to 254 characters.");
            }
            let scope = chosen.granted_scope();
            match app.store.connect(&scope, &request.client_id, chosen.service.id, name, chosen.admin) {
                Ok((_, token)) => {
                    json!({ "access_token": token, "token_type": "Bearer", "scope": scope, "state": request.state })
                }
                Err(error) => {
                    eprintln!("storage error: {error}");
                    return pages::error("The account could not be saved; try again.");
                }
            }
        }
        _ => return pages::error("The action must be connect or deny."),
    };
    pages::result(&request.request_id, &request.origin, &data)
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
}
