//! The quirk simulator: one local OAuth 2.0 provider whose behaviour is a [`Profile`] — client
//! authentication, token reply format, `expires_in`, refresh-token rotation, scope separator,
//! error redirects with or without `state`, `iss` (and a discovery document advertising it),
//! the account's server named in the authorization response, token requests that must be JSON or
//! carry extra parameters, the password grant, identity by userinfo, a "me" endpoint or
//! introspection, the access token in a header of its own, RFC 7009 revocation, an API that
//! answers 401 to an expired token and 429 with `Retry-After`, `Cross-Origin-Opener-Policy` on
//! its pages.
//!
//! Tests run it in-process ([`Simulator::start`]) and read what it saw ([`Counts`]: token
//! requests by grant, refreshes, revocations, API calls), or start the `quirk-simulator` binary
//! and use its `/_sim/` control routes. Its authorization endpoint approves at once (a redirect
//! back with a code), so an HTTP client and a browser both get through it.
//!
//! Endpoints, at its base URL: `/authorize`, `/token`, `/identity` (userinfo, "me" or
//! introspection, as the profile says), `/revoke`, `/.well-known/openid-configuration` (where
//! the profile has `discovery`), and every other path is the API.

mod endpoints;
pub mod profile;
mod shared_key;
mod sigv4;
mod token;

pub use profile::Profile;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// The client id the simulator knows (the server under test is configured with it).
pub const CLIENT_ID: &str = "conformance-client";
/// Its client secret.
pub const CLIENT_SECRET: &str = "conformance-secret";
/// The user name its password grant takes (a profile with `password_grant`).
pub const USERNAME: &str = "ann";
/// That user's password.
pub const PASSWORD: &str = "correct horse battery staple";

/// What the simulator saw.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Counts {
    /// Authorization requests answered with a code.
    pub authorizations: usize,
    /// Token requests with `grant_type=authorization_code`, answered or refused.
    pub code_grants: usize,
    /// Token requests with `grant_type=password`, answered or refused.
    pub password_grants: usize,
    /// Token requests with `grant_type=refresh_token`, answered or refused.
    pub refresh_attempts: usize,
    /// Refreshes answered with new tokens.
    pub refreshes: usize,
    /// A used single-use refresh token presented again (the grant was revoked for it).
    pub reuses: usize,
    /// Token, introspection or revocation requests refused for their client authentication.
    pub bad_client_auth: usize,
    /// Identity requests answered.
    pub identity_calls: usize,
    /// Revocation requests answered (RFC 7009).
    pub revocations: usize,
    /// API calls answered 2xx.
    pub api_calls: usize,
    /// API calls answered 401 (expired, unknown or revoked token).
    pub api_unauthorized: usize,
}

/// One grant (one connected account): revoked or not.
#[derive(Debug, Default)]
struct Grant {
    revoked: bool,
}

/// A refresh token: its grant, and whether it was used (single-use rotation).
#[derive(Debug)]
struct RefreshToken {
    grant: usize,
    used: bool,
}

/// An access token: its grant, and whether it expired.
#[derive(Debug)]
struct AccessToken {
    grant: usize,
    expired: bool,
}

/// An authorization code's request.
#[derive(Debug)]
struct Code {
    redirect_uri: String,
    challenge: Option<String>,
    scope: String,
}

/// The simulator's state, behind one lock.
#[derive(Debug)]
struct State {
    profile: Profile,
    base: String,
    serial: usize,
    codes: HashMap<String, Code>,
    grants: Vec<Grant>,
    access: HashMap<String, AccessToken>,
    refresh: HashMap<String, RefreshToken>,
    counts: Counts,
    /// The last authorization request's query, as pairs.
    last_authorization: Vec<(String, String)>,
    /// Refresh requests answered with this status and error code instead.
    refuse_refreshes: Option<(u16, String)>,
    /// How long the token endpoint takes.
    token_delay: Duration,
    /// The next n API calls answer 429.
    throttle: usize,
    /// The next authorization request is denied (`access_denied`).
    deny_next: bool,
}

impl State {
    fn next(&mut self, prefix: &str) -> String {
        self.serial += 1;
        format!("{prefix}-{}", self.serial)
    }
}

/// Shared state of a running simulator.
#[derive(Clone, Debug)]
struct Shared(Arc<Mutex<State>>);

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A simulator running on a port of 127.0.0.1 (until the runtime ends).
#[derive(Clone, Debug)]
pub struct Simulator {
    base: String,
    shared: Shared,
}

impl Simulator {
    /// Starts a simulator with `profile` on a free port of 127.0.0.1.
    pub async fn start(profile: Profile) -> std::io::Result<Simulator> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let simulator = Simulator::on(&listener, profile)?;
        let router = endpoints::router(simulator.shared.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Ok(simulator)
    }

    /// Serves `profile` on `listener` until the process ends (the binary).
    pub async fn serve(listener: tokio::net::TcpListener, profile: Profile) -> std::io::Result<()> {
        let simulator = Simulator::on(&listener, profile)?;
        axum::serve(listener, endpoints::router(simulator.shared)).await
    }

    fn on(listener: &tokio::net::TcpListener, profile: Profile) -> std::io::Result<Simulator> {
        profile.check().map_err(std::io::Error::other)?;
        let base = format!("http://{}", listener.local_addr()?);
        let state = State {
            profile,
            base: base.clone(),
            serial: 0,
            codes: HashMap::new(),
            grants: Vec::new(),
            access: HashMap::new(),
            refresh: HashMap::new(),
            counts: Counts::default(),
            last_authorization: Vec::new(),
            refuse_refreshes: None,
            token_delay: Duration::ZERO,
            throttle: 0,
            deny_next: false,
        };
        Ok(Simulator { base, shared: Shared(Arc::new(Mutex::new(state))) })
    }

    /// Its base URL (`http://127.0.0.1:PORT`).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// What it saw so far.
    pub fn counts(&self) -> Counts {
        self.shared.lock().counts.clone()
    }

    /// The last authorization request's query parameters.
    pub fn last_authorization(&self) -> Vec<(String, String)> {
        self.shared.lock().last_authorization.clone()
    }

    /// Every access token issued so far expires now: the API answers 401 to it.
    pub fn expire_access_tokens(&self) {
        self.shared.lock().access.values_mut().for_each(|token| token.expired = true);
    }

    /// Every grant is revoked (as by the user at the provider): its tokens are refused.
    pub fn revoke_grants(&self) {
        self.shared.lock().grants.iter_mut().for_each(|grant| grant.revoked = true);
    }

    /// Sets the lifetime (`expires_in`) of the access tokens issued from now on.
    pub fn set_lifetime(&self, seconds: u64) {
        self.shared.lock().profile.lifetime = seconds;
    }

    /// Refresh requests are answered `status` with the error `code` (e.g. 401 `invalid_client`)
    /// until [`Simulator::refuse_refreshes`] is called with `None`.
    pub fn refuse_refreshes(&self, refusal: Option<(u16, &str)>) {
        self.shared.lock().refuse_refreshes = refusal.map(|(status, code)| (status, code.to_owned()));
    }

    /// The token endpoint answers after `delay` (so that concurrent callers overlap a refresh).
    pub fn set_token_delay(&self, delay: Duration) {
        self.shared.lock().token_delay = delay;
    }

    /// The next `calls` API calls answer 429 with `Retry-After: 1`.
    pub fn throttle(&self, calls: usize) {
        self.shared.lock().throttle = calls;
    }

    /// The next authorization request is denied: `error=access_denied`, with `state` only if the
    /// profile's error redirects carry it.
    pub fn deny_next(&self) {
        self.shared.lock().deny_next = true;
    }
}
