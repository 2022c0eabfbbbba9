//! A pop-up request and its checks ([`validate`]): what the broker and the sign-in tokens share
//! with the pop-up, kept apart from its handlers so that neither imports them back.

use crate::accounts::custom_properties;
use crate::code_flow::request::{self as code_flow, CodeRequest, ErrorRedirect, Invalid};
use crate::config::{App, Config};
use crate::origin::Origin;
use crate::params::single;
use crate::popup::prefill::{EXTRA_DATA, Prefill};
use crate::popup::progress;
use crate::providers::services::{self, Allowed, Connect};
use crate::providers::{raw_params, scope};
use crate::store::AppData;
use kloudless_protocol::{
    OOB_REDIRECT_URI, RESERVED_PARAMS, RESPONSE_TYPE, RETURN_TO, ReturnTo, SIGN_IN_TOKEN, codes,
    is_sign_in_token,
};
use std::time::Duration;

/// How long a pop-up request may wait at the upstream.
pub const STATE_LIFETIME: Duration = Duration::from_secs(10 * 60);

/// Parameters the pop-up reads itself; `raw[x]` go to the provider ([`raw_params`]), every
/// other one is kept and ignored.
const PROTOCOL: [&str; 11] = {
    let [a, b, c, d, e, f] = RESERVED_PARAMS;
    ["client_id", "scope", SIGN_IN_TOKEN, EXTRA_DATA, custom_properties::PARAM, a, b, c, d, e, f]
};

/// The longest `return_to` accepted.
const MAX_RETURN_TO: usize = 2048;
/// The chooser's search box (a form control: never carried from page to page).
pub const SEARCH: &str = "search";

/// Parameters the pop-up's own forms add.
const CONTROLS: [&str; 12] = [
    "service",
    "account",
    "action",
    "hostname",
    "api_key",
    "username",
    "password",
    "domain",
    "admin_email",
    "tenant",
    "enterprise_id",
    SEARCH,
];

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
    pub return_to: Option<ReturnTo>,
    /// The request's parameters, without the forms' own, to carry from page to page.
    pub params: Vec<(String, String)>,
    /// The sign-in token the app's backend minted for this flow, if given (see [`sign_in`]).
    pub sign_in_token: Option<String>,
    /// The SHA-256 of the binding cookie of the browser the flow was admitted in ([`admitted`],
    /// [`crate::popup::browser`]).
    pub browser: Option<String>,
    /// For the code flow (`response_type=code`): where the browser goes back with a code
    /// ([`crate::code_flow`]); `None` for the pop-up, whose result page posts the result.
    pub code_flow: Option<CodeRequest>,
    /// The forms' defaults from `extra_data` ([`crate::popup::prefill`]).
    pub prefill: Prefill,
    /// The `raw[name]=value` parameters for the provider's authorization request
    /// ([`raw_params`]), checked.
    pub raw: Vec<(String, String)>,
    /// The app's own data to keep on the account, checked ([`custom_properties`]); `None`:
    /// keep the account's.
    pub custom_properties: Option<String>,
}

impl AuthRequest {
    /// What connecting an account through this request attaches to it for the app: the end
    /// user it was admitted for (`user_id`) and its custom properties.
    pub fn app_data<'a>(&'a self, user_id: Option<&'a str>) -> AppData<'a> {
        AppData { user_id, custom_properties: self.custom_properties.as_deref() }
    }

    /// The allowed service with this id.
    pub fn service(&self, id: &str) -> Option<&Allowed> {
        self.allowed.iter().find(|a| a.service.answers_to(id))
    }

    /// Drops `return_to`, here and in the parameters its pages carry on: the flow is not
    /// tracked, so its result goes back by `postMessage` only.
    pub fn untracked(&mut self) {
        self.return_to = None;
        self.params.retain(|(key, _)| key != RETURN_TO);
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

/// Checks a pop-up request (or a code flow's): an unknown app is refused on an error page, and
/// so is anything else wrong unless the request names one of its app's registered redirect URIs,
/// where it goes back with the error instead ([`ErrorRedirect`], RFC 6749 §4.1.2.1). Each
/// refusal has its code, one of [`codes::SETUP_ERRORS`], and a sentence that names the fix.
pub fn validate(config: &Config, params: &[(String, String)]) -> Result<AuthRequest, Invalid> {
    let client_id =
        required(params, "client_id", 256).map_err(|why| Invalid::Page(codes::INVALID_CLIENT, why))?;
    let app = config.app(client_id).ok_or_else(|| {
        let why = format!(
            "There is no app with client_id {client_id}: check the client_id option, and that baseUrl is this server."
        );
        Invalid::Page(codes::INVALID_CLIENT, why)
    })?;
    checked(config, app, params).map_err(|(error, description)| match ErrorRedirect::target(app, params) {
        Some((redirect_uri, state)) => {
            Invalid::Back(ErrorRedirect { redirect_uri, state, error, description })
        }
        None => Invalid::Page(error, description),
    })
}

/// An OAuth error code (RFC 6749 §4.1.2.1) and a sentence for the user.
type Refusal = (&'static str, String);

/// `why` as an `invalid_request`.
fn bad(why: String) -> Refusal {
    (codes::INVALID_REQUEST, why)
}

/// [`validate`] for the request's `app`.
fn checked(config: &Config, app: &App, params: &[(String, String)]) -> Result<AuthRequest, Refusal> {
    for key in PROTOCOL.iter().chain(&CONTROLS) {
        single(params, key).map_err(bad)?;
    }
    let code_flow = match single(params, "response_type").map_err(bad)? {
        Some(RESPONSE_TYPE) => None,
        Some(code_flow::RESPONSE_TYPE) => Some(code_flow::check(app, params).map_err(bad)?),
        given => {
            let why = format!(
                "The response_type must be {RESPONSE_TYPE} (the pop-up) or {} (the code flow).",
                code_flow::RESPONSE_TYPE
            );
            let error =
                if given.is_some() { codes::UNSUPPORTED_RESPONSE_TYPE } else { codes::INVALID_REQUEST };
            return Err((error, why));
        }
    };
    if code_flow.is_none()
        && let Some(uri) = single(params, "redirect_uri").map_err(bad)?.filter(|u| *u != OOB_REDIRECT_URI)
    {
        let why = format!(
            "The redirect_uri {uri} is not supported with the response_type {RESPONSE_TYPE}: use \
             {OOB_REDIRECT_URI} (the pop-up), or the response_type {} (the code flow).",
            code_flow::RESPONSE_TYPE
        );
        return Err((codes::UNSUPPORTED_RESPONSE_TYPE, why));
    }
    let state = required(params, "state", 512).map_err(bad)?;
    let (request_id, origin, return_to) = match &code_flow {
        None => pop_up(app, params)?,
        // The code flow's pages are one browser's, identified by the state: no page waits
        // for a message, the browser itself goes back.
        Some(code) => (crate::store::hash(state), redirect_origin(&code.redirect_uri), None),
    };
    let sign_in_token = single(params, SIGN_IN_TOKEN).map_err(bad)?;
    if sign_in_token.is_some_and(|token| !is_sign_in_token(token)) {
        return Err(bad(format!("The parameter {SIGN_IN_TOKEN} is not a sign-in token.")));
    }
    let prefill = Prefill::parse(single(params, EXTRA_DATA).map_err(bad)?).map_err(bad)?;
    let raw = raw_params::from_params(params).map_err(bad)?;
    let custom_properties =
        custom_properties::from_param(single(params, custom_properties::PARAM).map_err(bad)?).map_err(bad)?;
    let scope = single(params, "scope").map_err(bad)?.unwrap_or("");
    let invalid_scope = |why: String| (codes::INVALID_SCOPE, why);
    let items = scope::parse(scope).map_err(|error| invalid_scope(error.to_string()))?;
    let allowed = services::allowed(&config.services, &items);
    if allowed.is_empty() {
        let why = match not_enabled(&config.services, &items) {
            Some(id) => format!("The service {id} is not enabled on this server."),
            None => format!("No service matches the scope {scope:?}."),
        };
        return Err(invalid_scope(why));
    }
    allowed.iter().try_for_each(nested_scopes_allowed).map_err(invalid_scope)?;
    Ok(AuthRequest {
        client_id: app.client_id.clone(),
        state: state.to_owned(),
        request_id,
        origin,
        allowed,
        params: params
            .iter()
            .filter(|(k, _)| !CONTROLS.contains(&k.as_str()) && (k != RETURN_TO || return_to.is_some()))
            .cloned()
            .collect(),
        return_to,
        sign_in_token: sign_in_token.map(str::to_owned),
        browser: None,
        code_flow,
        prefill,
        raw,
        custom_properties,
    })
}

/// Whether the upstream scopes nested for `allowed` are ones its provider takes: any on an
/// OAuth provider whose entry allows each ([`crate::providers::catalogue::Entry::allows_scope`]),
/// none on any other service.
fn nested_scopes_allowed(allowed: &Allowed) -> Result<(), String> {
    let Some(scopes) = &allowed.upstream_scopes else { return Ok(()) };
    let id = &allowed.service.id;
    let Connect::Upstream(upstream) = &allowed.service.connect else {
        return Err(format!(
            "The service {id} takes no upstream scopes: remove the quoted part of its scope."
        ));
    };
    match scopes.iter().find(|scope| !upstream.entry.allows_scope(scope)) {
        Some(refused) => Err(format!(
            "The upstream scope {refused:?} is not allowed for the service {id} on this server (its allowed_scopes)."
        )),
        None => Ok(()),
    }
}

/// The pop-up's own parameters, checked: its `request_id`, the `origin` of the page that opened
/// it (a Trusted Domain of `app`: else `untrusted_origin`) and its `return_to`, if any (one of
/// the app's return pages: else `invalid_return_to`).
fn pop_up(app: &App, params: &[(String, String)]) -> Result<(String, String, Option<ReturnTo>), Refusal> {
    let client_id = &app.client_id;
    let request_id = required(params, "request_id", 128).map_err(bad)?;
    let untrusted = |why: String| (codes::UNTRUSTED_ORIGIN, why);
    let origin_text = required(params, "origin", 512).map_err(untrusted)?;
    let origin = Origin::parse(origin_text).ok_or_else(|| {
        untrusted(format!("The origin {origin_text} is not a plain scheme://host[:port] origin."))
    })?;
    if !origin.is_trusted_by(&app.trusted_domains) {
        return Err(untrusted(format!(
            "The origin {origin_text} is not a Trusted Domain of app {client_id}: add it to the app's trusted_domains."
        )));
    }
    if !progress::is_request_id(request_id) {
        return Err(bad("The parameter request_id must not hold control characters.".to_owned()));
    }
    // Without registered return URLs the app gets postMessage only: `return_to` is ignored.
    let return_to = single(params, RETURN_TO)
        .map_err(bad)?
        .filter(|_| !app.return_urls.is_empty())
        .map(|url| return_page(url, &origin.to_string(), &app.return_urls))
        .transpose()
        .map_err(|why| (codes::INVALID_RETURN_TO, why))?;
    Ok((request_id.to_owned(), origin.to_string(), return_to))
}

/// The origin of a registered (so well-formed) redirect URI.
fn redirect_origin(redirect_uri: &str) -> String {
    url::Url::parse(redirect_uri).map(|url| url.origin().ascii_serialization()).unwrap_or_default()
}

/// A service id the scope `items` name that this server knows of (in the catalogue or the demo
/// provider) but has not enabled, for a clearer page than an empty chooser. An item enabled
/// here (by id or alias) is not one, whatever else it asks.
fn not_enabled(services: &[services::Service], items: &[scope::Item]) -> Option<String> {
    let catalogue = crate::providers::catalogue::catalogue().unwrap_or_default();
    items.iter().map(|item| item.name.as_str()).find_map(|id| {
        let known = catalogue.iter().any(|entry| entry.answers_to(id))
            || services::DEMO.iter().any(|(demo, _, _)| *demo == id);
        (known && services::find(services, id).is_none()).then(|| id.to_owned())
    })
}

/// Checks `return_to`: an absolute http(s) URL on `origin`, without credentials or a fragment
/// (the code goes there), that is one of the app's `registered` return URLs once its query is
/// set aside. Returns it (query included) as the WHATWG URL parser writes it.
fn return_page(text: &str, origin: &str, registered: &[url::Url]) -> Result<ReturnTo, String> {
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
    Ok(ReturnTo::new(url))
}
