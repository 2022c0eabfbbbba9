//! The calls made to an upstream: OpenID Connect discovery, the authorization URL (with PKCE
//! S256), the code exchange (the `oauth2` crate over reqwest) and the identity request. The HTTP
//! client follows no redirect, times out, and resolves names through the SSRF guard
//! ([`super::guard`]). Every reply read (discovery, token, identity, introspection, credential
//! checks) is read chunk by chunk with [`MAX_REPLY`] enforced while reading ([`read_limited`];
//! the `oauth2` crate's calls go through [`Limited`]), so a chunked or understated reply cannot
//! make the server hold more. Errors ([`UpstreamError`]) carry an OAuth 2.0 error code and a
//! sentence for the user, never a token or a secret.

mod aws;
pub mod azure;
mod credential;
pub mod jwt_bearer;
mod read;
mod reply;

pub use credential::Credential;
pub use read::{Limited, ReadError, read_limited};
use reply::TokenReply;

use super::catalogue::{ClientAuth, Method, Placement, SiteLookup, TokenBody};
use super::guard;
use super::upstream::{Endpoints, Upstream};
use oauth2::basic::{
    BasicClient, BasicErrorResponse, BasicErrorResponseType, BasicRevocationErrorResponse,
    BasicTokenIntrospectionResponse,
};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, Client, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, ResourceOwnerPassword,
    ResourceOwnerUsername, Scope, StandardRevocableToken, TokenUrl,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// The largest upstream reply read (other than the pass-through API's, which is streamed):
/// 256 KiB.
pub const MAX_REPLY: usize = 256 * 1024;

/// The longest upstream user id (`subject`) kept, in bytes: far beyond any real provider's, and
/// well within what the database indexes (the pair of app and service with it is unique).
pub const MAX_SUBJECT_BYTES: usize = 1024;

impl Endpoints {
    /// RFC 9207: an authorization response's `iss` must be this upstream's issuer when both
    /// are known, and present where the upstream advertises it. Without a known issuer, `iss`
    /// cannot be checked and is ignored. A refusal is `invalid_request`: nothing is exchanged.
    pub fn check_iss(&self, iss: Option<&str>) -> Result<(), UpstreamError> {
        match (iss, &self.issuer) {
            (Some(given), Some(expected)) if given != expected => Err(UpstreamError::new(
                "invalid_request",
                "The sign-in's answer names another service as its sender (its iss is not this \
                 service's issuer), so it was not used.",
            )),
            (None, _) if self.iss_required => Err(UpstreamError::new(
                "invalid_request",
                "The sign-in's answer does not name its sender (no iss), which this service always \
                 does, so it was not used.",
            )),
            _ => Ok(()),
        }
    }
}

/// Why a call to an upstream failed.
#[derive(Clone, Debug, PartialEq)]
pub struct UpstreamError {
    /// The OAuth 2.0 error code for the result (`access_denied`, `invalid_grant`,
    /// `temporarily_unavailable`, `server_error`, …).
    pub code: String,
    /// A sentence for the user.
    pub description: String,
    /// Whether the upstream did not answer in time (a 504 in the API, not a 502).
    pub timed_out: bool,
}

impl UpstreamError {
    /// An error with `code` and `description` (not a time-out).
    pub fn new(code: &str, description: impl Into<String>) -> UpstreamError {
        UpstreamError { code: code.to_owned(), description: description.into(), timed_out: false }
    }

    /// The service's `what` did not answer in time: `temporarily_unavailable`.
    pub fn timed_out(what: &str) -> UpstreamError {
        let description = format!("The service's {what} did not answer in time.");
        UpstreamError { timed_out: true, ..UpstreamError::new("temporarily_unavailable", description) }
    }

    /// Why the reply of the service's `what` could not be read.
    fn unreadable(what: &str, error: &ReadError) -> UpstreamError {
        match error {
            ReadError::Http(error) => UpstreamError::unreachable(what, error),
            ReadError::TooLarge => UpstreamError::new(
                "server_error",
                format!("The service's {what} reply is larger than {} KiB.", MAX_REPLY / 1024),
            ),
        }
    }

    /// The upstream could not be reached (or refused by the guard), or answered too slowly.
    fn unreachable(what: &str, error: &reqwest::Error) -> UpstreamError {
        if error.is_timeout() {
            UpstreamError::timed_out(what)
        } else {
            UpstreamError::new(
                "temporarily_unavailable",
                format!("The service's {what} could not be reached."),
            )
        }
    }
}

/// The upstream's tokens, as kept (sealed) for the account.
#[derive(Clone, Debug, Deserialize, PartialEq, Serialize)]
pub struct Tokens {
    /// The access token.
    pub access_token: String,
    /// The refresh token, if one was given.
    pub refresh_token: Option<String>,
    /// When the access token expires (seconds since the Unix epoch), if said.
    pub expires_at: Option<u64>,
    /// The scopes granted, if said.
    pub scope: Option<String>,
    /// The server a per-server provider's account is on (its `{hostname}`).
    #[serde(default)]
    pub hostname: Option<String>,
    /// The account's own API server, when the token reply names it (Salesforce's
    /// `instance_url`, an `https://` origin): its `{instance_url}` in the API base.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_url: Option<String>,
    /// The account's site, looked up once after connecting (the entry's `site_lookup`:
    /// Atlassian's cloud id): its `{site}` in the API base.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
}

/// The `oauth2` client of a token endpoint (no other endpoint set: `HasTokenUrl` says whether
/// the token endpoint is).
type TokenClient<HasTokenUrl = EndpointSet> = Client<
    BasicErrorResponse,
    TokenReply,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    HasTokenUrl,
>;
/// Who the account is upstream.
#[derive(Clone, Debug, PartialEq)]
pub struct Identity {
    /// The upstream's stable id of the user.
    pub subject: String,
    /// The login shown (email, else username, else the subject).
    pub login: String,
    /// The display name, if given.
    pub name: Option<String>,
}

/// The error code of an API call whose token was refused (401), by [`Http::get_json`].
pub const INVALID_TOKEN: &str = "invalid_token";

/// The HTTP client for upstream calls.
#[derive(Clone, Debug)]
pub struct Http {
    client: reqwest::Client,
    /// The pass-through API's: no total timeout, its bodies being streamed (see
    /// [`crate::accounts::relay`] for how a stall is bounded instead).
    streaming: reqwest::Client,
    allow_private: bool,
}

impl Http {
    /// A client: no redirects, `timeout` per request (to connect, for the pass-through API),
    /// names resolved through the guard.
    pub fn new(timeout: Duration, allow_private: bool) -> Result<Http, String> {
        let builder = || {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(timeout)
                .user_agent(concat!("authenticator-server/", env!("CARGO_PKG_VERSION")))
                .dns_resolver(Arc::new(guard::Resolver { allow_private }))
        };
        let failed = |e| format!("cannot build the HTTP client: {e}");
        let client = builder().timeout(timeout).build().map_err(failed)?;
        let streaming = builder().build().map_err(failed)?;
        Ok(Http { client, streaming, allow_private })
    }

    /// Refuses a URL to a refused IP literal.
    fn check(&self, url: &str, what: &str) -> Result<url::Url, UpstreamError> {
        let parsed = url::Url::parse(url).map_err(|_| {
            UpstreamError::new("server_error", format!("The service's {what} URL is not valid."))
        })?;
        guard::check_url(&parsed, self.allow_private).map_err(|_| {
            UpstreamError::new("server_error", format!("The service's {what} is on a refused address."))
        })?;
        Ok(parsed)
    }

    /// Reads a JSON reply of at most [`MAX_REPLY`] bytes.
    async fn json(&self, response: reqwest::Response, what: &str) -> Result<Value, UpstreamError> {
        if !response.status().is_success() {
            return Err(UpstreamError::new(
                "server_error",
                format!("The service's {what} answered with status {}.", response.status().as_u16()),
            ));
        }
        let bytes = read_limited(response).await.map_err(|e| UpstreamError::unreadable(what, &e))?;
        serde_json::from_slice(&bytes).map_err(|_| {
            UpstreamError::new("server_error", format!("The service's {what} reply could not be read."))
        })
    }

    /// The upstream's endpoints: its entry's, or discovered from its issuer (once; a failure
    /// is tried again next time).
    /// `hostname` (checked against the entry's pattern by the caller) fills `{hostname}`.
    pub async fn endpoints(
        &self,
        upstream: &Upstream,
        hostname: Option<&str>,
    ) -> Result<Endpoints, UpstreamError> {
        let Some(issuer) = &upstream.issuer else {
            let entry = &upstream.entry;
            let missing = || UpstreamError::new("server_error", "The service is not fully configured.");
            let fill = |url: &Option<String>| -> Result<String, UpstreamError> {
                let url = url.clone().ok_or_else(missing)?;
                match (url.contains("{hostname}"), hostname) {
                    (false, _) => Ok(url),
                    (true, Some(host)) => Ok(url.replace("{hostname}", host)),
                    // Named by the authorization response: filled once it comes back.
                    (true, None) if entry.callback_hostname.is_some() => Ok(url),
                    (true, None) => {
                        Err(UpstreamError::new("invalid_request", "The server's hostname is needed."))
                    }
                }
            };
            // A password entry has none: its user types the password in the pop-up.
            let authorization = entry.authorization_url.as_ref().map(|_| fill(&entry.authorization_url));
            return Ok(Endpoints {
                authorization: authorization.transpose()?.unwrap_or_default(),
                token: fill(&entry.token_url)?,
                refresh: fill(entry.refresh_url.as_ref().map_or(&entry.token_url, |_| &entry.refresh_url))?,
                identity: fill(&entry.identity_url)?,
                revocation: entry.revocation_url.as_ref().map(|_| fill(&entry.revocation_url)).transpose()?,
                issuer: entry.issuer.as_ref().map(|_| fill(&entry.issuer)).transpose()?,
                iss_required: false,
                client_auth: entry.client_auth,
            });
        };
        let discover = async || {
            let mut endpoints = self.discover(issuer).await?;
            if !upstream.discover_client_auth {
                endpoints.client_auth = upstream.entry.client_auth;
            }
            Ok(endpoints)
        };
        upstream.discovered.get_or_try_init(discover).await.cloned()
    }

    /// OpenID Connect discovery: `{issuer}/.well-known/openid-configuration`, whose `issuer`
    /// must be the one configured (kept as the document says it, for RFC 9207's `iss`). The
    /// token endpoint's client authentication is chosen from the document ([`client_auth_of`]).
    async fn discover(&self, issuer: &str) -> Result<Endpoints, UpstreamError> {
        let what = "OpenID configuration";
        let url = format!("{issuer}/.well-known/openid-configuration");
        self.check(&url, what)?;
        let response =
            self.client.get(&url).send().await.map_err(|e| UpstreamError::unreachable(what, &e))?;
        let document = self.json(response, what).await?;
        let field = |name: &str| document.get(name).and_then(Value::as_str).map(str::to_owned);
        let malformed = || UpstreamError::new("server_error", format!("The service's {what} is incomplete."));
        let named = field("issuer");
        if named.as_deref().map(|i| i.trim_end_matches('/')) != Some(issuer) {
            return Err(UpstreamError::new(
                "server_error",
                format!("The service's {what} names another issuer."),
            ));
        }
        Ok(Endpoints {
            authorization: field("authorization_endpoint").ok_or_else(malformed)?,
            token: field("token_endpoint").ok_or_else(malformed)?,
            refresh: field("token_endpoint").ok_or_else(malformed)?,
            identity: field("userinfo_endpoint").ok_or_else(malformed)?,
            revocation: field("revocation_endpoint"),
            issuer: named,
            iss_required: document.get("authorization_response_iss_parameter_supported")
                == Some(&Value::Bool(true)),
            client_auth: client_auth_of(&document)?,
        })
    }

    /// Revokes `token` at the provider's revocation endpoint (RFC 7009: a form POST of `token`
    /// and `token_type_hint`, our client authenticated as at the token endpoint). A provider
    /// without one: nothing to do.
    pub async fn revoke(
        &self,
        upstream: &Upstream,
        endpoints: &Endpoints,
        token: &str,
        hint: &str,
    ) -> Result<(), UpstreamError> {
        let what = "revocation endpoint";
        let Some(url) = &endpoints.revocation else { return Ok(()) };
        self.check(url, what)?;
        let request = self.token_form(upstream, endpoints, url, token, hint);
        let response = request.send().await.map_err(|e| UpstreamError::unreachable(what, &e))?;
        if !response.status().is_success() {
            return Err(UpstreamError::new(
                "server_error",
                format!("The service's {what} answered with status {}.", response.status().as_u16()),
            ));
        }
        Ok(())
    }

    /// A form POST of `token` and `token_type_hint` to `url` (revocation, introspection), our
    /// client authenticated as at the token endpoint.
    fn token_form(
        &self,
        upstream: &Upstream,
        endpoints: &Endpoints,
        url: &str,
        token: &str,
        hint: &str,
    ) -> reqwest::RequestBuilder {
        let mut form = vec![("token", token), ("token_type_hint", hint)];
        let mut request = self.client.post(url);
        match endpoints.client_auth {
            ClientAuth::ClientSecretPost => {
                form.push(("client_id", &upstream.client_id));
                form.push(("client_secret", upstream.client_secret.expose()));
            }
            ClientAuth::ClientSecretBasic => {
                request = request.basic_auth(&upstream.client_id, Some(upstream.client_secret.expose()));
            }
        }
        request.form(&form)
    }

    /// Exchanges the authorization `code` (with the PKCE `verifier`, if one was sent).
    pub async fn exchange(
        &self,
        upstream: &Upstream,
        endpoints: &Endpoints,
        redirect_uri: &str,
        code: &str,
        verifier: Option<&str>,
    ) -> Result<Tokens, UpstreamError> {
        let what = "token endpoint";
        self.check(&endpoints.token, what)?;
        let redirect_uri = RedirectUrl::new(redirect_uri.to_owned()).map_err(|_| bad_config())?;
        let client = token_client(upstream, endpoints)?.set_redirect_uri(redirect_uri);
        let mut request = client.exchange_code(AuthorizationCode::new(code.to_owned()));
        if let Some(verifier) = verifier {
            request = request.set_pkce_verifier(PkceCodeVerifier::new(verifier.to_owned()));
        }
        for (name, value) in &upstream.entry.token_params {
            request = request.add_extra_param(name.clone(), value.clone());
        }
        if upstream.entry.secret_hash {
            request = request.add_extra_param("hash", secret_hash(upstream, code));
        }
        let reply = request.request_async(&self.token_http(upstream)).await;
        let refused = "The service refused to issue a token.";
        let reply = reply.map_err(|error| token_error(error, what, refused))?;
        reply.tokens(&upstream.entry, true, now(), refused)
    }

    /// Exchanges a refresh token for new tokens at the refresh endpoint (the token endpoint but
    /// where the entry names a `refresh_url`). The reply's refresh
    /// token, if any, is in the result (a rotated one); the caller keeps the old one otherwise.
    pub async fn refresh(
        &self,
        upstream: &Upstream,
        endpoints: &Endpoints,
        refresh_token: &str,
    ) -> Result<Tokens, UpstreamError> {
        let what = "token endpoint";
        self.check(&endpoints.refresh, what)?;
        let client = token_client(upstream, endpoints)?
            .set_token_uri(TokenUrl::new(endpoints.refresh.clone()).map_err(|_| bad_config())?);
        let refresh = oauth2::RefreshToken::new(refresh_token.to_owned());
        let mut request = client.exchange_refresh_token(&refresh);
        for (name, value) in &upstream.entry.token_params {
            request = request.add_extra_param(name.clone(), value.clone());
        }
        if upstream.entry.secret_hash {
            request = request.add_extra_param("hash", secret_hash(upstream, refresh_token));
        }
        let reply = request.request_async(&self.token_http(upstream)).await;
        let refused = "The service refused to refresh the token.";
        let reply = reply.map_err(|error| token_error(error, what, refused))?;
        reply.tokens(&upstream.entry, false, now(), refused)
    }

    /// Trades a user name and `password` typed in the pop-up for tokens (RFC 6749 §4.3, the
    /// resource owner password credentials grant), with the entry's scopes and token
    /// parameters; the password goes to the token endpoint only and is not kept.
    pub async fn password_grant(
        &self,
        upstream: &Upstream,
        endpoints: &Endpoints,
        username: &str,
        password: &str,
    ) -> Result<Tokens, UpstreamError> {
        let what = "token endpoint";
        self.check(&endpoints.token, what)?;
        let client = token_client(upstream, endpoints)?;
        let (username, password) = (
            ResourceOwnerUsername::new(username.to_owned()),
            ResourceOwnerPassword::new(password.to_owned()),
        );
        let mut request = client.exchange_password(&username, &password);
        for scope in &upstream.entry.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        for (name, value) in &upstream.entry.token_params {
            request = request.add_extra_param(name.clone(), value.clone());
        }
        let reply = request.request_async(&self.token_http(upstream)).await;
        let refused = "The service refused this user name and password.";
        let reply = reply.map_err(|error| token_error(error, what, refused))?;
        reply.tokens(&upstream.entry, false, now(), refused)
    }

    /// The HTTP client of `upstream`'s token requests: bounded replies, the body in the entry's
    /// `token_body` format.
    fn token_http(&self, upstream: &Upstream) -> Limited {
        Limited { client: self.client.clone(), json: upstream.entry.token_body == TokenBody::Json }
    }

    /// Calls the provider's API (the pass-through API): `method` on `url` (checked by the
    /// caller to be under the provider's API base) with the upstream `access_token` (sent as
    /// `placement` says: [`with_token`]), the
    /// request's content type and length, and `body`. Nothing bounds the call's total time:
    /// the caller bounds its stalls ([`crate::accounts::relay`]).
    pub async fn raw(
        &self,
        method: reqwest::Method,
        url: &str,
        (placement, access_token): (&Placement, &str),
        passed: &reqwest::header::HeaderMap,
        body: reqwest::Body,
    ) -> Result<reqwest::Response, UpstreamError> {
        let request = with_token(self.raw_request(method, url, passed, body)?, placement, access_token);
        request.send().await.map_err(|e| UpstreamError::unreachable("API", &e))
    }

    /// A pass-through call to `url` (checked against the SSRF guard) with the caller's `passed`
    /// headers and `body`, not yet authorized.
    pub fn raw_request(
        &self,
        method: reqwest::Method,
        url: &str,
        passed: &reqwest::header::HeaderMap,
        body: reqwest::Body,
    ) -> Result<reqwest::RequestBuilder, UpstreamError> {
        self.check(url, "API")?;
        Ok(self.streaming.request(method, url).headers(passed.clone()).body(body))
    }

    /// Sends a pass-through call made by [`Http::raw_request`] and authorized.
    pub async fn send_raw(&self, request: reqwest::Request) -> Result<reqwest::Response, UpstreamError> {
        self.streaming.execute(request).await.map_err(|e| UpstreamError::unreachable("API", &e))
    }

    /// `GET url` (an API's, checked against the SSRF guard) with a bearer `access_token`: its
    /// JSON reply; a status other than 2xx is an error naming `what` and the status, a 401 the
    /// code [`INVALID_TOKEN`] (the token is to be minted again).
    pub async fn get_json(&self, url: &str, access_token: &str, what: &str) -> Result<Value, UpstreamError> {
        self.check(url, what)?;
        let request = self.client.get(url).bearer_auth(access_token);
        let response = request
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| UpstreamError::unreachable(what, &e))?;
        if response.status() == reqwest::StatusCode::UNAUTHORIZED {
            return Err(UpstreamError::new(
                INVALID_TOKEN,
                format!("The service's {what} refused the token."),
            ));
        }
        self.json(response, what).await
    }

    /// The account's site, by `lookup` with its access token: the first value at its JSON
    /// pointer (Atlassian's `/oauth/token/accessible-resources`: `/0/id`, the cloud id; Basecamp's
    /// `authorization.json`: `/accounts/0/id`, a number), kept
    /// only if it is a plain path segment (letters, digits, `-`, `_`, `.`).
    pub async fn site(
        &self,
        upstream: &Upstream,
        lookup: &SiteLookup,
        access_token: &str,
    ) -> Result<String, UpstreamError> {
        let what = "site lookup";
        self.check(&lookup.url, what)?;
        let request = with_token(self.client.get(&lookup.url), &upstream.entry.placement(), access_token);
        let response = request
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| UpstreamError::unreachable(what, &e))?;
        let reply = self.json(response, what).await?;
        let plain = |s: &String| {
            (1..=128).contains(&s.len())
                && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
                && s != "."
                && s != ".."
        };
        // A string (Atlassian's cloud id) or a number (Basecamp's account id).
        let site = match reply.pointer(&lookup.id) {
            Some(Value::String(site)) => Some(site.clone()),
            Some(Value::Number(site)) => Some(site.to_string()),
            _ => None,
        };
        site.filter(plain).ok_or_else(|| {
            UpstreamError::new("server_error", "The service names no site this account can reach.")
        })
    }

    /// Reads who the account is, with its access token.
    pub async fn identity(
        &self,
        upstream: &Upstream,
        endpoints: &Endpoints,
        access_token: &str,
    ) -> Result<Identity, UpstreamError> {
        let what = "identity endpoint";
        let encoded: String = form_urlencoded::byte_serialize(access_token.as_bytes()).collect();
        let url = endpoints.identity.replace("{access_token}", &encoded);
        self.check(&url, what)?;
        let placement = upstream.entry.placement();
        let request = match upstream.entry.identity_method {
            Method::Get => with_token(self.client.get(&url), &placement, access_token),
            Method::Post => match &upstream.entry.identity_body {
                Some(query) => with_token(self.client.post(&url), &placement, access_token).json(query),
                None => with_token(self.client.post(&url), &placement, access_token),
            },
            Method::Introspect => self.token_form(upstream, endpoints, &url, access_token, "access_token"),
        };
        // The API's own headers (Notion-Version) go to its "who am I" endpoint too, not to an
        // introspection endpoint, which is the authorization server's.
        let request = match upstream.entry.identity_method {
            Method::Introspect => request,
            Method::Get | Method::Post => upstream
                .entry
                .api_headers
                .iter()
                .fold(request, |request, (name, value)| request.header(name.as_str(), value.as_str())),
        };
        let response = request
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| UpstreamError::unreachable(what, &e))?;
        let reply = self.json(response, what).await?;
        if upstream.entry.identity_method == Method::Introspect
            && reply.get("active") != Some(&Value::Bool(true))
        {
            return Err(UpstreamError::new("server_error", "The service says the new token is not active."));
        }
        read_identity(&reply, &upstream.entry.identity)
    }
}

/// The authorization URL for `upstream`, carrying our `state`, the PKCE challenge for
/// `verifier` (when the entry uses PKCE), `scopes` (none: no `scope` parameter), the entry's
/// `authorization_params` and the pop-up's accepted `raw[…]` parameters, which replace those
/// of the same name.
pub fn authorization_url(
    upstream: &Upstream,
    endpoints: &Endpoints,
    redirect_uri: &str,
    state: &str,
    verifier: Option<&str>,
    scopes: &[String],
    raw: &[(&str, &str)],
) -> Result<String, UpstreamError> {
    let client = BasicClient::new(ClientId::new(upstream.client_id.clone()))
        .set_auth_uri(AuthUrl::new(endpoints.authorization.clone()).map_err(|_| bad_config())?)
        .set_redirect_uri(RedirectUrl::new(redirect_uri.to_owned()).map_err(|_| bad_config())?);
    let state = state.to_owned();
    let mut request = client.authorize_url(move || CsrfToken::new(state));
    let entry = &upstream.entry;
    if !scopes.is_empty() {
        request = request.add_extra_param(entry.scope_param.clone(), scopes.join(&entry.scope_separator));
    }
    let mut extra: std::collections::BTreeMap<&str, &str> =
        entry.authorization_params.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
    extra.extend(raw.iter().copied());
    for (name, value) in extra {
        request = request.add_extra_param(name.to_owned(), value.to_owned());
    }
    if let Some(verifier) = verifier {
        let verifier = PkceCodeVerifier::new(verifier.to_owned());
        request = request.set_pkce_challenge(PkceCodeChallenge::from_code_verifier_sha256(&verifier));
    }
    let (url, _) = request.url();
    Ok(url.into())
}

/// A fresh PKCE verifier (43 characters of base64url from 32 random bytes).
pub fn new_verifier() -> String {
    PkceCodeChallenge::new_random_sha256().1.secret().clone()
}

/// The identity the `paths` point at in `reply`. The id (the account's key) is taken exactly as
/// given — a string that is not blank, or a number — and never shortened or cleaned: one longer
/// than [`MAX_SUBJECT_BYTES`] or holding a control character is refused, so two different users
/// can never become one account. The login and name are only shown: cleaned and cut.
pub fn read_identity(
    reply: &Value,
    paths: &super::catalogue::IdentityPaths,
) -> Result<Identity, UpstreamError> {
    let subject = match reply.pointer(&paths.id) {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(UpstreamError::new("server_error", "The service's reply names no user.")),
    };
    if subject.len() > MAX_SUBJECT_BYTES {
        return Err(UpstreamError::new(
            "server_error",
            format!(
                "The service's user id is longer than {MAX_SUBJECT_BYTES} bytes, which this server does not keep."
            ),
        ));
    }
    if subject.chars().any(char::is_control) {
        return Err(UpstreamError::new("server_error", "The service's user id holds control characters."));
    }
    let text = |pointer: &str| match reply.pointer(pointer)? {
        Value::String(s) if !s.trim().is_empty() => Some(sanitize(s, 254)),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let login = paths.login.iter().find_map(|pointer| text(pointer)).unwrap_or_else(|| subject.clone());
    let name = paths.name.as_deref().and_then(text);
    Ok(Identity { subject, login, name })
}

/// Up to `max` characters of an upstream's text, without control characters.
pub fn sanitize(text: &str, max: usize) -> String {
    text.chars().filter(|c| !c.is_control()).take(max).collect::<String>().trim().to_owned()
}

/// A token endpoint's failure as the pop-up and the API report it: the service's own error
/// code and description (cleaned), `refused` when it gave none, or why no answer could be read.
fn token_error(
    error: RequestTokenError<ReadError, BasicErrorResponse>,
    what: &str,
    refused: &str,
) -> UpstreamError {
    match error {
        RequestTokenError::ServerResponse(response) => {
            let code = match response.error() {
                BasicErrorResponseType::Extension(other) => sanitize(other, 64),
                known => known.as_ref().to_owned(),
            };
            let description = response
                .error_description()
                .map(|d| sanitize(d, 300))
                .filter(|d| !d.is_empty())
                .unwrap_or_else(|| refused.to_owned());
            UpstreamError::new(&code, description)
        }
        RequestTokenError::Request(error) => UpstreamError::unreadable(what, &error),
        RequestTokenError::Parse(..) | RequestTokenError::Other(_) => UpstreamError::new(
            "server_error",
            "The service's token endpoint gave a reply that could not be read.",
        ),
    }
}

/// `request` carrying an upstream access token as its entry says ([`Placement`]: its
/// `credential`): a header of its own (SugarCRM's `OAuth-Token`), else `Authorization: Bearer`.
fn with_token(
    request: reqwest::RequestBuilder,
    placement: &Placement,
    token: &str,
) -> reqwest::RequestBuilder {
    match placement {
        Placement::Header(name) => request.header(name.as_str(), token),
        _ => request.bearer_auth(token),
    }
}

/// Now, in seconds since the Unix epoch.
fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

fn bad_config() -> UpstreamError {
    UpstreamError::new("server_error", "The service is not configured correctly.")
}

/// The token endpoint's client authentication a discovery document allows (OpenID Connect
/// Discovery 1.0 §3, `token_endpoint_auth_methods_supported`): `client_secret_basic` when it
/// is listed or the list is absent (the specification's default, and RFC 6749 §2.3.1's
/// MUST), else `client_secret_post`; a list naming neither is refused (the other methods need
/// keys or certificates this server does not hold).
fn client_auth_of(document: &Value) -> Result<ClientAuth, UpstreamError> {
    let Some(listed) = document.get("token_endpoint_auth_methods_supported").and_then(Value::as_array) else {
        return Ok(ClientAuth::ClientSecretBasic);
    };
    let has = |method: &str| listed.iter().any(|m| m.as_str() == Some(method));
    if has("client_secret_basic") {
        Ok(ClientAuth::ClientSecretBasic)
    } else if has("client_secret_post") {
        Ok(ClientAuth::ClientSecretPost)
    } else {
        Err(UpstreamError::new(
            "server_error",
            "The service's token endpoint takes neither client_secret_basic nor client_secret_post, \
             which are the only client authentications this server can use.",
        ))
    }
}

/// The OAuth 2.0 client for `upstream`'s token endpoint: its credentials, sent as `endpoints`
/// say (the catalogue entry's `client_auth`, or the discovery document's choice).
fn token_client(upstream: &Upstream, endpoints: &Endpoints) -> Result<TokenClient, UpstreamError> {
    let auth_type = match endpoints.client_auth {
        ClientAuth::ClientSecretPost => AuthType::RequestBody,
        ClientAuth::ClientSecretBasic => AuthType::BasicAuth,
    };
    let client = TokenClient::<EndpointNotSet>::new(ClientId::new(upstream.client_id.clone()));
    // An entry proving its secret by a hash sends it nowhere: client_id alone, in the body.
    let client = match upstream.entry.secret_hash {
        true => client.set_auth_type(AuthType::RequestBody),
        false => client
            .set_client_secret(ClientSecret::new(upstream.client_secret.expose().to_owned()))
            .set_auth_type(auth_type),
    };
    Ok(client.set_token_uri(TokenUrl::new(endpoints.token.clone()).map_err(|_| bad_config())?))
}

/// The `hash` of an entry with `secret_hash` for a token request whose grant is `grant` (the
/// code, or the refresh token): the hex SHA-256 of the client secret, `|` and the grant.
fn secret_hash(upstream: &Upstream, grant: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(format!("{}|{grant}", upstream.client_secret.expose())))
}

#[cfg(test)]
mod tests;
