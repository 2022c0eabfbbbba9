//! The pop-up as a broker: the chosen upstream's sign-in ([`start`]: our single-use state,
//! kept in the database with the pop-up request's parameters and the PKCE verifier, sealed,
//! then a redirect to the upstream's authorization URL) and its return ([`callback`]: the state
//! taken once, the code exchanged, the identity read, the account stored, our token minted and
//! the result delivered by the same result page as the demo's — to the opener, or back to
//! `return_to` when an upstream's `Cross-Origin-Opener-Policy` cut the pop-up from its page).
//!
//! Against IdP mix-up, each provider has its own redirect URI ([`redirect_uri`]): a state comes
//! back only on its own provider's path, and the authorization response's `iss` (RFC 9207) must
//! be that provider's issuer ([`crate::providers::upstream::Endpoints::check_iss`]). Otherwise
//! an authorization URL of one provider carrying the state of a flow at another (a per-server
//! host an attacker runs) would take the user's code to the other's token endpoint.
//!
//! Every upstream failure (denied, unreachable, slow, a malformed reply) ends in a result that
//! carries the upstream's error code and a description, on a readable page.

pub mod org;
mod stateless;

use crate::AppState;
use crate::accounts;
use crate::accounts::kept::Kept as KeptCredential;
use crate::clock::millis;
use crate::error::{self, AppError};
use crate::extract::StrictQuery;
use crate::i18n::{self, Locale};
use crate::pages;
use crate::pages::forms::{Field, FormError};
use crate::popup::browser::{self, Browser};
use crate::popup::flow::{Admission, NOT_STARTED, admitted, deliver};
use crate::popup::prefill::Prefill;
use crate::popup::request::{AuthRequest, STATE_LIFETIME, validate};
use crate::providers::catalogue::{self, Entry, Kind, MAX_SERVER_PATH, Placement};
use crate::providers::client::{self, Credential, Identity, UpstreamError, azure};
use crate::providers::services::{Allowed, Connect};
use crate::providers::upstream::Upstream;
use crate::providers::{guard, raw_params};
use crate::secrets;
use crate::sign_in;
use crate::store::{self, UpstreamAccount};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kloudless_protocol::{OAuthResult, codes};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::SystemTime;

/// The callbacks' path, under the public URL: each provider's is `{CALLBACK_PATH}/{provider}`
/// ([`redirect_uri`]). The bare path, shared by every provider before, takes only the states
/// made before per-provider redirect URIs (whose pending request names no redirect URI).
pub const CALLBACK_PATH: &str = "/v1/oauth/callback";

/// The callbacks' routes: the bare path and each provider's.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route(CALLBACK_PATH, get(callback))
        .route(&format!("{CALLBACK_PATH}/{{provider}}"), get(callback))
        // Its errors are pages ([`error::as_pages`]).
        .layer(axum::middleware::from_fn(error::as_pages))
}

/// What is kept (sealed) while the user is at the upstream.
#[derive(Deserialize, Serialize)]
struct Pending {
    /// The service chosen.
    service: String,
    /// The pop-up request's parameters (client_id, origin, state, request_id, return_to, …).
    params: Vec<(String, String)>,
    /// The PKCE verifier, when the upstream takes PKCE.
    verifier: Option<String>,
    /// A per-server provider's server, as typed (checked) in the pop-up.
    #[serde(default)]
    hostname: Option<String>,
    /// The redirect URI sent to the upstream, the service's own ([`redirect_uri`]); the code is
    /// exchanged with it. `None` in a state made before per-provider redirect URIs, whose
    /// upstream returns to the bare [`CALLBACK_PATH`].
    #[serde(default)]
    redirect_uri: Option<String>,
    /// The SHA-256 of the binding cookie of the browser that started the flow: only that
    /// browser may bring the upstream's answer back ([`crate::popup::browser`]).
    #[serde(default)]
    browser: Option<String>,
}

impl Pending {
    /// The redirect URI to exchange the code with, when the upstream's return reached the one
    /// this state was sent out with (`came_back_to`: the [`redirect_uri`] of the path's
    /// `{provider}`, `None` for the bare path); else the sentence refusing it. A state made
    /// before per-provider redirect URIs (it names none, and keeps no browser to check) is
    /// refused on every path.
    fn returned_to(&self, came_back_to: Option<&str>) -> Result<&str, &'static str> {
        match (&self.redirect_uri, came_back_to) {
            (Some(sent), Some(came_back_to)) if sent == came_back_to => Ok(sent),
            (None, _) => Err("This sign-in was started before this server was upgraded, so it was not \
                 used: start again from the app."),
            _ => Err("This sign-in came back from another service than the one it was started with, so \
                 it was not used: start again from the app."),
        }
    }
}

/// The redirect URI registered with `provider` (a service's [`config_id`](crate::providers::services::Service::config_id)):
/// `{public_url}/v1/oauth/callback/{provider}`.
pub fn redirect_uri(app: &AppState, provider: &str) -> String {
    format!("{}{CALLBACK_PATH}/{provider}", app.public_url)
}

fn state_hash(state: &str) -> String {
    hex::encode(Sha256::digest(state.as_bytes()))
}

/// The failure result for `request`, on its result page.
async fn failed(app: &AppState, request: &AuthRequest, error: UpstreamError) -> Response {
    let failure = OAuthResult::Failure {
        error: error.code,
        error_description: error.description,
        state: request.state.clone(),
    };
    deliver(app, request, &failure).await
}

/// The chosen upstream: for a per-server provider, first the hostname form (again, with the
/// reason, when the typed hostname does not match the entry's pattern or resolves to a refused
/// address — no request is made to it then); then [`start`]. A password entry's is the
/// credentials form ([`credentials`]).
pub async fn choose(
    app: &AppState,
    request: &AuthRequest,
    chosen: &Allowed,
    upstream: &Upstream,
    hostname: Option<&str>,
    via_form: bool,
) -> Result<Response, AppError> {
    if upstream.entry.kind == Kind::Password {
        let app_config = app.config.app(&request.client_id).ok_or(AppError::Server(NOT_STARTED.into()))?;
        let (params, prefill) = (&request.params, &request.prefill);
        return Ok(pages::credentials_form(
            app_config,
            params,
            prefill,
            &chosen.service,
            &upstream.entry,
            None,
        ));
    }
    let pattern = match &upstream.entry.hostname_pattern {
        // Its server is named by its authorization response (Zoho, ShareFile), not typed.
        Some(_) if upstream.entry.callback_hostname.is_some() => None,
        pattern => pattern.as_ref(),
    };
    let Some(pattern) = pattern else {
        return start(app, request, chosen, upstream, None, via_form).await;
    };
    let app_config = app.config.app(&request.client_id).ok_or(AppError::Server(NOT_STARTED.into()))?;
    let form = |filled: &Prefill, reason: Option<&str>| {
        let error = reason.map(|message| FormError { field: Field::Hostname, message });
        pages::hostname_form(app_config, &request.params, filled, &chosen.service, pattern, error)
    };
    let Some(typed) = hostname else { return Ok(form(&request.prefill, None)) };
    let host = typed.trim().to_ascii_lowercase();
    let refusal = if !guard::matches_pattern(&host, pattern) {
        Some(not_of_pattern(Locale::for_params(&request.params), &host, pattern))
    } else {
        guard::check_host(&host, app.config.allow_private_upstreams).await.err()
    };
    match refusal {
        Some(reason) => {
            Ok(form(&Prefill { hostname: Some(typed.to_owned()), ..Prefill::default() }, Some(&reason)))
        }
        None => start(app, request, chosen, upstream, Some(&host), true).await,
    }
}

/// The form error for a typed `host` that does not match the entry's `pattern`, in `t`'s
/// language.
fn not_of_pattern(t: Locale, host: &str, pattern: &str) -> String {
    t.format("form-error-hostname", &i18n::args([("host", host.into()), ("pattern", pattern.into())]))
}

/// Sends the user to `upstream`'s authorization URL for the validated `request`: by a redirect,
/// or, after the chooser's form (`via_form`), by the hand-off page ([`pages::handoff`]).
pub async fn start(
    app: &AppState,
    request: &AuthRequest,
    chosen: &Allowed,
    upstream: &Upstream,
    hostname: Option<&str>,
    via_form: bool,
) -> Result<Response, AppError> {
    let endpoints = match app.http.endpoints(upstream, hostname).await {
        Ok(endpoints) => endpoints,
        Err(error) => return Ok(failed(app, request, error).await),
    };
    let verifier = upstream.entry.pkce.then(client::new_verifier);
    let (state, pending) = keep_pending(app, request, chosen, verifier, hostname).await?;
    let redirect = pending.redirect_uri.clone().unwrap_or_default();
    let entry = &upstream.entry;
    let scopes = match &chosen.upstream_scopes {
        Some(nested) => nested,
        None if chosen.admin => &entry.admin_scopes,
        None => &entry.scopes,
    };
    // A per-server provider's scopes may name its server (Dynamics 365's
    // `https://{hostname}/user_impersonation`).
    let scopes: Vec<String> =
        scopes.iter().map(|scope| scope.replace("{hostname}", hostname.unwrap_or("{hostname}"))).collect();
    let raw = raw_params::accepted(&entry.id, &entry.raw_params, &request.raw);
    let url = client::authorization_url(
        upstream,
        &endpoints,
        &redirect,
        &state,
        pending.verifier.as_deref(),
        &scopes,
        &raw,
    );
    Ok(match url {
        Ok(url) if via_form => pages::handoff(&chosen.service.name, &url),
        Ok(url) => {
            (StatusCode::FOUND, [(header::LOCATION, url), (header::CACHE_CONTROL, "no-store".to_owned())])
                .into_response()
        }
        Err(error) => failed(app, request, error).await,
    })
}

/// Keeps the pending `request` (PKCE `verifier`, typed `hostname`: the server, or an
/// organisation-wide provider's tenant) sealed under a new single-use state, for
/// [`STATE_LIFETIME`], bound to the request's browser: the state, and what was kept (its
/// `redirect_uri`: the chosen provider's [`redirect_uri`]).
async fn keep_pending(
    app: &AppState,
    request: &AuthRequest,
    chosen: &Allowed,
    verifier: Option<String>,
    hostname: Option<&str>,
) -> Result<(String, Pending), AppError> {
    let not_started = || AppError::Server(NOT_STARTED.into());
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|_| not_started())?;
    let state = hex::encode(bytes);
    let hash = state_hash(&state);
    let pending = Pending {
        service: chosen.service.id.clone(),
        params: request.params.clone(),
        verifier,
        hostname: hostname.map(str::to_owned),
        redirect_uri: Some(redirect_uri(app, &chosen.service.config_id)),
        browser: request.browser.clone(),
    };
    let plain = serde_json::to_vec(&pending).unwrap_or_default();
    let sealed = app.secrets.seal(&plain, hash.as_bytes()).map_err(|_| not_started())?;
    let expires = millis(SystemTime::now() + STATE_LIFETIME);
    let at = store::PendingAt { service: &chosen.service.config_id, browser: request.browser.as_deref() };
    let kept = app.store.put_upstream_state(&hash, at, &sealed, expires).await;
    kept.map_err(AppError::storage(NOT_STARTED))?;
    Ok((state, pending))
}

/// `GET /v1/oauth/callback/{provider}` (and the bare `/v1/oauth/callback`, for states made before
/// per-provider redirect URIs): the upstream's return. A missing, unknown, expired or replayed
/// state is refused (400, nothing stored); so is one that came back to another path than its
/// own provider's — it is taken all the same, so that it cannot be tried on any other path (it
/// came back through another provider: an IdP mix-up) — and a return in another browser than
/// the one that started the flow (403, nothing exchanged or stored). A known one on its own path,
/// in its own browser, ends in the result page, whatever the upstream says. An error without
/// any state ends the one flow open at that provider in that browser ([`stateless`]).
pub async fn callback(
    State(app): State<Arc<AppState>>,
    provider: Option<Path<String>>,
    headers: HeaderMap,
    query: StrictQuery,
) -> Result<Response, AppError> {
    let StrictQuery(params) = query;
    if let Some(name) = crate::params::repeated(&params) {
        return Err(AppError::bad_request(format!("The parameter {name} is given more than once.")));
    }
    let value = |key: &str| params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    let provider = provider.as_deref().map(String::as_str);
    let browser = Browser::from_headers(&headers, &app.public_url);
    let pending = match value("state") {
        None if value("error").is_some() => stateless::denied(&app, provider, browser.as_ref()).await?,
        state => {
            let state = state
                .filter(|s| !s.is_empty() && s.len() <= 512)
                .ok_or(AppError::bad_request(stateless::NO_STATE))?;
            take_pending(&app, state).await?
        }
    };
    let came_back_to = provider.map(|provider| redirect_uri(&app, provider));
    let redirect_uri = pending.returned_to(came_back_to.as_deref()).map_err(AppError::bad_request)?;
    // Only the browser that started the flow brings its answer back: nothing is exchanged else.
    browser::check(browser.as_ref(), Some(pending.browser.as_deref().unwrap_or_default()))?;
    // The request is checked again: the configuration may have changed since.
    let request = validate(&app.config, &pending.params)?;
    let request = match admitted(&app, request, browser.as_ref()).await? {
        Admission::Admitted(request) => *request,
        Admission::Ended(result) => return Ok(result),
    };
    let chosen = request
        .service(&pending.service)
        .ok_or(AppError::bad_request("The service is no longer allowed for this request."))?;
    let finished = match &chosen.service.connect {
        Connect::Upstream(upstream) => {
            finish(&app, &request, chosen, upstream, &pending, redirect_uri, value).await
        }
        Connect::Org(org) if org.credential.consents() => {
            org::consented(&app, &request, chosen, org, &pending, value).await
        }
        _ => return Err(AppError::bad_request("The service is no longer connected through an upstream.")),
    };
    Ok(match finished {
        Ok(data) => deliver(&app, &request, &data).await,
        Err(error) => failed(&app, &request, error).await,
    })
}

/// What the pop-up says when the pending request could not be read back.
const NOT_RESUMED: &str = "The sign-in could not be resumed; try again.";

/// The pending request kept under the upstream's `state`, taken once: refused when unknown,
/// expired or already taken.
async fn take_pending(app: &AppState, state: &str) -> Result<Pending, AppError> {
    let hash = state_hash(state);
    let sealed = app
        .store
        .take_upstream_state(&hash, millis(SystemTime::now()))
        .await
        .map_err(AppError::storage(NOT_RESUMED))?
        .ok_or(AppError::bad_request(
            "This sign-in is unknown, expired or already finished: start again from the app.",
        ))?;
    open_pending(app, &hash, &sealed)
}

/// The pending request `sealed` under the state hash `hash`, opened.
fn open_pending(app: &AppState, hash: &str, sealed: &[u8]) -> Result<Pending, AppError> {
    let plain = app.secrets.open(sealed, hash.as_bytes()).map_err(|error| {
        tracing::error!("secret key: {error}");
        AppError::Server("The sign-in could not be resumed: this server's secret key has changed.".into())
    })?;
    serde_json::from_slice(&plain).map_err(|_| AppError::Server(NOT_RESUMED.into()))
}

/// The upstream's answer to a known state: its error, or the code exchanged (with the
/// `redirect_uri` it was sent out with) for tokens, the identity read and the account stored;
/// gives our success result.
async fn finish<'p>(
    app: &AppState,
    request: &AuthRequest,
    chosen: &Allowed,
    upstream: &Upstream,
    pending: &Pending,
    redirect_uri: &str,
    value: impl Fn(&str) -> Option<&'p str>,
) -> Result<OAuthResult, UpstreamError> {
    // A server named by the answer (Zoho's data centre, a ShareFile account's) must be one of
    // the provider's own: else nothing is exchanged.
    let named = match value("error") {
        None => upstream.entry.host_named_by(&value).transpose(),
        Some(_) => Ok(None),
    };
    let named = named.map_err(|reason| UpstreamError::new("invalid_request", reason))?;
    let hostname = pending.hostname.clone().or(named);
    let hostname = hostname.as_deref();
    let endpoints = app.http.endpoints(upstream, hostname).await?;
    endpoints.check_iss(value("iss"))?;
    if let Some(error) = answered_error(&value) {
        return Err(error);
    }
    let Some(code) = value("code").filter(|c| !c.is_empty() && c.len() <= 2048) else {
        return Err(UpstreamError::new(
            "invalid_request",
            "The service's answer holds no authorization code.",
        ));
    };
    let verifier = pending.verifier.as_deref();
    let mut tokens = app.http.exchange(upstream, &endpoints, redirect_uri, code, verifier).await?;
    tokens.hostname = hostname.map(str::to_owned);
    if let Some(lookup) = &upstream.entry.site_lookup {
        tokens.site = Some(app.http.site(upstream, lookup, &tokens.access_token).await?);
    }
    let identity = app.http.identity(upstream, &endpoints, &tokens.access_token).await?;
    let plain = serde_json::to_vec(&tokens).unwrap_or_default();
    let refreshable = tokens.refresh_token.is_some();
    save_account(app, request, chosen, hostname, &identity, &plain, refreshable).await
}

/// The error an upstream's answer names (`error`, sanitized, with its `error_description`),
/// if it names one.
fn answered_error<'p>(value: &impl Fn(&str) -> Option<&'p str>) -> Option<UpstreamError> {
    let code = client::sanitize(value("error")?, 64);
    let description = value("error_description")
        .map(|d| client::sanitize(d, 300))
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "The service did not grant access.".to_owned());
    let code = if code.is_empty() { "access_denied" } else { &code };
    Some(UpstreamError::new(code, description))
}

/// Stores the account `identity` names (on `hostname`'s server, for a per-server provider) with
/// its secrets `plain` sealed (`refreshable`: they hold a refresh token, which the idle sweep
/// keeps alive), and gives our success result.
async fn save_account(
    app: &AppState,
    request: &AuthRequest,
    chosen: &Allowed,
    hostname: Option<&str>,
    identity: &Identity,
    plain: &[u8],
    refreshable: bool,
) -> Result<OAuthResult, UpstreamError> {
    // On a per-server provider, the same subject on another server is another user.
    let subject = match hostname {
        Some(host) => format!("{host}/{}", identity.subject),
        None => identity.subject.clone(),
    };
    let storage = |error: &dyn std::fmt::Display| {
        tracing::error!("storage error: {error}");
        UpstreamError::new("server_error", "The account could not be saved; try again.")
    };
    let refused = |code: &str, description: &str| UpstreamError::new(code, description);
    let user_id = match sign_in::consume(&app.store, request).await.map_err(|e| storage(&e))? {
        Ok(user_id) => user_id,
        Err(sign_in::InvalidToken(code, why)) => return Err(refused(code, why)),
    };
    // Stored under the id it was enabled by (an alias keeps accounts stored under it).
    let service = &chosen.service.config_id;
    let owner = secrets::account_owner(&request.client_id, service, &subject);
    let sealed = app.secrets.seal(plain, owner.as_bytes()).map_err(|e| storage(&e))?;
    let scope = chosen.granted_scope();
    let account = UpstreamAccount {
        client_id: &request.client_id,
        service,
        subject: &subject,
        login: &identity.login,
        admin: chosen.admin,
        sealed: &sealed,
        app: request.app_data(user_id.as_deref()),
        refreshable,
    };
    let (_, token) = match app.store.connect_upstream(&scope, account).await {
        Ok(connected) => connected,
        Err(store::Error::OtherUser) => {
            return Err(refused(codes::ACCOUNT_OF_ANOTHER_USER, sign_in::OTHER_USER));
        }
        Err(error) => return Err(storage(&error)),
    };
    Ok(OAuthResult::Success {
        access_token: token,
        token_type: "Bearer".to_owned(),
        scope,
        state: request.state.clone(),
    })
}

/// The longest API key, user name or password accepted.
const MAX_CREDENTIAL: usize = 1024;

/// `POST /v1/oauth` with `action=connect` for a service whose credential is typed in the
/// pop-up: an API-key or basic one checks it (and the hostname, for a per-server entry) against
/// the entry's `check_url`, and stores the account with the credential sealed; a password one
/// trades it at the token endpoint for tokens ([`traded`]), which are stored, never the
/// password. Then the result page. A refused or unchecked credential is the form again with the
/// reason (400), nothing stored.
pub async fn credentials(
    app: &AppState,
    request: &AuthRequest,
    chosen: &Allowed,
    params: &[(String, String)],
) -> Result<Response, AppError> {
    let entry = match &chosen.service.connect {
        Connect::Credentials(entry) => entry.as_ref(),
        Connect::Upstream(upstream) if upstream.entry.kind == Kind::Password => &upstream.entry,
        _ => return Err(AppError::bad_request("This service is not connected with a typed credential.")),
    };
    let app_config = app.config.app(&request.client_id).ok_or(AppError::Server(NOT_STARTED.into()))?;
    // Passwords are taken as typed (spaces included); the rest trimmed.
    let raw = |key: &str| params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).unwrap_or("");
    // The form again with what was typed, but never the secret.
    let typed = |key: &str| Some(raw(key).trim().to_owned()).filter(|value| !value.is_empty());
    let filled =
        Prefill { hostname: typed("hostname"), username: typed("username"), region: typed("region") };
    let refused = |field: Field, message: &str| {
        let error = Some(FormError { field, message });
        Ok(pages::credentials_form(app_config, &request.params, &filled, &chosen.service, entry, error))
    };
    let again = |reason: &str| refused(Field::Form, reason);
    // An Azure storage account's name is the first label of its host: lowercase.
    let azure = entry.placement() == Placement::AzureSharedKey;
    let username = match azure {
        true => raw("username").trim().to_ascii_lowercase(),
        false => raw("username").trim().to_owned(),
    };
    let credential = match entry.kind {
        Kind::Basic | Kind::Password => Credential::Basic { username, password: raw("password").to_owned() },
        _ => Credential::ApiKey(raw("api_key").trim().to_owned()),
    };
    let too_long = |text: &str| text.is_empty() || text.chars().count() > MAX_CREDENTIAL;
    let bad = match &credential {
        Credential::ApiKey(key) => too_long(key),
        Credential::Basic { username, password } => too_long(username) || too_long(password),
    };
    let t = Locale::for_params(&request.params);
    if bad {
        return again(&t.count("form-error-fill", "max", MAX_CREDENTIAL));
    }
    if let (true, Some((field, reason))) = (azure, refused_account(&credential, t)) {
        return refused(field, &reason);
    }
    let (hostname, path) = match &entry.hostname_pattern {
        None => (None, None),
        Some(pattern) => {
            let (host, path) = match typed_server(entry, pattern, raw("hostname").trim(), t) {
                Ok(server) => server,
                Err(reason) => return refused(Field::Hostname, &reason),
            };
            if !guard::matches_pattern(&host, pattern) {
                return refused(Field::Hostname, &not_of_pattern(t, &host, pattern));
            }
            if let Err(reason) = guard::check_host(&host, app.config.allow_private_upstreams).await {
                return refused(Field::Hostname, &reason);
            }
            (Some(host), path)
        }
    };
    let region = match entry.needs_region() {
        false => None,
        true => match raw("region").trim().to_ascii_lowercase() {
            region if catalogue::is_region(&region) => Some(region),
            region => {
                return refused(
                    Field::Region,
                    &format!("{region:?} is not a region name, such as us-east-1."),
                );
            }
        },
    };
    let host = hostname.as_deref();
    let checked = match (&chosen.service.connect, &entry.check_url, &credential) {
        (Connect::Upstream(upstream), _, Credential::Basic { username, password }) => {
            traded(app, upstream, host, username, password).await
        }
        (Connect::Credentials(_), Some(check_url), _) => {
            let kept = KeptCredential { credential, hostname: hostname.clone(), path, region };
            let Some(url) = kept.fill(check_url) else { return again(&t.text("form-error-misconfigured")) };
            if entry.placement() == Placement::AzureSharedKey {
                // The account's own host, named by the account typed: guarded as a typed server is.
                if let Err(reason) =
                    guard::check_host(&host_of(&url), app.config.allow_private_upstreams).await
                {
                    return refused(Field::Form, &reason);
                }
            }
            check_credential(app, entry, &url, kept).await
        }
        _ => return again(&t.text("form-error-misconfigured")),
    };
    let (identity, kept, refreshable) = match checked {
        Ok(checked) => checked,
        Err(error) if error.code == "access_denied" => {
            let service = i18n::args([("service", chosen.service.name.as_str().into())]);
            return refused(Field::Secret, &t.format("form-error-refused", &service));
        }
        Err(error) => return refused(Field::Secret, &error.description),
    };
    let saved = save_account(app, request, chosen, hostname.as_deref(), &identity, &kept, refreshable);
    let connected = saved.await.map_err(|error| AppError::Server(error.description.into()))?;
    Ok(deliver(app, request, &connected).await)
}

/// What an account keeps (sealed), and whether it holds a refresh token.
type Kept = (Identity, Vec<u8>, bool);

/// An API key or user name and password checked at `url` (the entry's `check_url` filled
/// with what `kept` names): the identity, and the credential to keep.
async fn check_credential(
    app: &AppState,
    entry: &Entry,
    url: &str,
    kept: KeptCredential,
) -> Result<Kept, UpstreamError> {
    let identity = app.http.check_credential(entry, url, &kept.credential, kept.region.as_deref()).await?;
    let sealed = serde_json::to_vec(&kept)
        .map_err(|_| UpstreamError::new("server_error", "The credential could not be kept."))?;
    Ok((identity, sealed, false))
}

/// Why an Azure storage account's name or key typed (`credential`) cannot be used, in `t`'s
/// language: a name that cannot be its host's first label, a key that is not base64.
fn refused_account(credential: &Credential, t: Locale) -> Option<(Field, String)> {
    let Credential::Basic { username, password } = credential else { return None };
    if !azure::is_account_name(username) {
        let account = i18n::args([("account", username.as_str().into())]);
        return Some((Field::Form, t.format("form-error-account", &account)));
    }
    (!azure::is_key(password)).then(|| (Field::Secret, t.text("form-error-account-key")))
}

/// The server `typed` for a per-server `entry` whose hostnames match `pattern`: its host
/// (lowercased) and, for an entry whose service may be under a path, that path
/// ([`split_server`], in the scheme of the entry's check URL); or the form's error, in `t`'s
/// language.
fn typed_server(
    entry: &Entry,
    pattern: &str,
    typed: &str,
    t: Locale,
) -> Result<(String, Option<String>), String> {
    if !entry.server_path {
        return Ok((typed.to_ascii_lowercase(), None));
    }
    let scheme = entry.check_url.as_deref().and_then(|url| url.split_once("://")).map(|(scheme, _)| scheme);
    split_server(typed, scheme.unwrap_or("https")).ok_or_else(|| {
        let example = pages::forms::example_hostname(pattern);
        t.format(
            "form-error-server-path",
            &i18n::args([("server", typed.into()), ("example", example.into())]),
        )
    })
}

/// A typed server address, for an entry whose service may be under a path
/// ([`Entry::server_path`]): its host (`name[:port]`, lowercased, matched against the pattern by
/// the caller) and the path (kept as typed, without a final `/`; `None` at the root). A
/// `scheme://` may lead, and must be the entry's own (`https`; a re-hosted test entry's
/// `http`). `None` for anything else: user info (an `@` before the path), a query or fragment,
/// or a path that could
/// leave itself (a `.` or `..` segment, plain or encoded, an encoded `/` or `\`: the same rules
/// as a pass-through path's, [`accounts::raw::target`]).
fn split_server(typed: &str, scheme: &str) -> Option<(String, Option<String>)> {
    let rest = match typed.split_once("://") {
        Some((given, rest)) => given.eq_ignore_ascii_case(scheme).then_some(rest)?,
        None => typed,
    };
    if rest.contains(['?', '#']) || rest.len() > MAX_SERVER_PATH {
        return None;
    }
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    // User info is before the host; an `@` in the path is the path's (a Nextcloud user id).
    if host.contains('@') {
        return None;
    }
    let host = host.to_ascii_lowercase();
    let path = path.trim_end_matches('/');
    if path.is_empty() {
        return Some((host, None));
    }
    accounts::raw::target(&format!("{scheme}://{host}"), path)?;
    Some((host, Some(path.to_owned())))
}

/// The host (`name[:port]`) of `url`; empty when it has none.
fn host_of(url: &str) -> String {
    let Ok(url) = url::Url::parse(url) else { return String::new() };
    let name = url.host_str().unwrap_or_default();
    url.port().map_or_else(|| name.to_owned(), |port| format!("{name}:{port}"))
}

/// A user name and password traded once at a password entry's token endpoint (on `hostname`,
/// for a per-server entry) for tokens: the identity they name, and the tokens to keep — never
/// the password.
async fn traded(
    app: &AppState,
    upstream: &Upstream,
    hostname: Option<&str>,
    username: &str,
    password: &str,
) -> Result<Kept, UpstreamError> {
    let endpoints = app.http.endpoints(upstream, hostname).await?;
    let mut tokens = app.http.password_grant(upstream, &endpoints, username, password).await?;
    tokens.hostname = hostname.map(str::to_owned);
    if let Some(lookup) = &upstream.entry.site_lookup {
        tokens.site = Some(app.http.site(upstream, lookup, &tokens.access_token).await?);
    }
    let identity = app.http.identity(upstream, &endpoints, &tokens.access_token).await?;
    let refreshable = tokens.refresh_token.is_some();
    Ok((identity, serde_json::to_vec(&tokens).unwrap_or_default(), refreshable))
}

#[cfg(test)]
mod tests {
    use super::split_server;

    #[test]
    fn a_server_is_split_into_its_host_and_the_path_it_is_under() {
        let split = |typed: &str| split_server(typed, "https");
        let some = |host: &str, path: Option<&str>| Some((host.to_owned(), path.map(str::to_owned)));
        assert_eq!(split("dav.example.org"), some("dav.example.org", None));
        assert_eq!(split("Dav.Example.org/"), some("dav.example.org", None));
        assert_eq!(
            split("https://Cloud.example.org/remote.php/dav/files/Ann/"),
            some("cloud.example.org", Some("/remote.php/dav/files/Ann")),
            "the host lowercased, the path as typed"
        );
        assert_eq!(
            split("cloud.example.org:8443/dav%20root"),
            some("cloud.example.org:8443", Some("/dav%20root"))
        );
        assert_eq!(
            split("cloud.example.org/remote.php/dav/files/ann@example.org"),
            some("cloud.example.org", Some("/remote.php/dav/files/ann@example.org"))
        );
        for refused in [
            "http://dav.example.org/dav",
            "ftp://dav.example.org",
            "ann:pw@dav.example.org/dav",
            "https://ann@dav.example.org",
            "dav.example.org/dav?user=ann",
            "dav.example.org/dav#x",
            "dav.example.org/a/../b",
            "dav.example.org/a/./b",
            "dav.example.org/%2E%2E/b",
            "dav.example.org/a%2Fb",
            "dav.example.org/a\\b",
            "dav.example.org/a b",
            "dav.example.org//dav",
        ] {
            assert_eq!(split(refused), None, "{refused}");
        }
        assert_eq!(split_server("http://127.0.0.1:8080/dav", "http"), some("127.0.0.1:8080", Some("/dav")));
        assert_eq!(split(&format!("dav.example.org/{}", "a".repeat(1024))), None, "too long");
    }
}
