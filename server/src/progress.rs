//! The pop-up flows' progress, for the library's second channel.
//!
//! An identity provider's page with `Cross-Origin-Opener-Policy` cuts the pop-up's
//! `window.opener`: the result page can then post nothing to the app's page, and the app's page
//! sees its pop-up as closed while the user is still signing in. So the library also sends
//! `return_to`, the URL of the page that launched the flow (on a Trusted Domain of the app: see
//! [`crate::oauth::validate`]). When the result page finds no opener, it takes the pop-up back to
//! that page with the result in the URL fragment (which no server sees), and the library there
//! hands it to the waiting page through a same-origin channel. The token only ever reaches a page
//! on the app's trusted origin; this server keeps no result at all.
//!
//! What it keeps, for flows that sent `return_to`, is where each flow is, so that a page whose
//! pop-up reads as closed knows whether to keep waiting ([`status`]): under way, returned to the
//! app's page (for [`Quotas::return_window`]), or abandoned (the user closed the pop-up on one of
//! this server's pages: [`abandon`], a beacon). That is nothing a thief could use, and its memory
//! is bounded per client address and per app ([`Quotas`]), so one client's flood cannot refuse
//! another app's users.

use crate::AppState;
use crate::cors;
use crate::params;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kloudless_protocol::codes;
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long a flow is tracked after its last page was served.
pub const TTL: Duration = Duration::from_secs(600);

/// The limits on tracked flows (the `[popup_flows]` table of the config file).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Quotas {
    /// Flows tracked at once for one client address (an IPv6 /64 counts as one).
    pub max_per_client: usize,
    /// Flows tracked at once for one app.
    pub max_per_app: usize,
    /// Seconds a flow counts as under way after its result went back to the app's page: the
    /// time that page may take to load and hand the result over.
    pub return_window_secs: u64,
}

impl Default for Quotas {
    fn default() -> Quotas {
        Quotas { max_per_client: 100, max_per_app: 10_000, return_window_secs: 30 }
    }
}

impl Quotas {
    /// [`Quotas::return_window_secs`] as a duration.
    pub fn return_window(&self) -> Duration {
        Duration::from_secs(self.return_window_secs)
    }
}

/// Where a tracked flow is.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Stage {
    /// The user is in the pop-up.
    UnderWay,
    /// The user closed the pop-up on one of this server's pages.
    Abandoned,
    /// The result page sent the result back to the app's page at this instant.
    Returned(Instant),
}

struct Entry {
    client_id: String,
    client: IpAddr,
    stage: Stage,
    expires: Instant,
}

/// What [`Progress::status`] reports to the waiting page.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Status {
    /// Keep waiting: the user is in the pop-up, or its result is on its way to the app's page.
    UnderWay,
    /// The result went back to the app's page longer ago than the return window, and the
    /// waiting page has not received it: that page did not hand it over.
    NotDelivered,
    /// Nothing is known (never opened, abandoned, expired or another app's).
    Unknown,
}

/// Why a flow cannot be tracked.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Refused {
    /// The client address has [`Quotas::max_per_client`] flows under way.
    Client,
    /// The app has [`Quotas::max_per_app`] flows under way.
    App,
}

impl Refused {
    /// The sentence for the user (a 429 page).
    pub fn message(self) -> &'static str {
        match self {
            Refused::Client => {
                "Too many sign-in windows are open from your network. Close some, or try again in a few minutes."
            }
            Refused::App => "This app has too many sign-in windows open. Try again in a few minutes.",
        }
    }
}

#[derive(Default)]
struct Flows {
    by_request: HashMap<String, Entry>,
    per_client: HashMap<IpAddr, usize>,
    per_app: HashMap<String, usize>,
}

impl Flows {
    fn remove(&mut self, request_id: &str) {
        if let Some(entry) = self.by_request.remove(request_id) {
            uncount(&mut self.per_client, &entry.client);
            uncount(&mut self.per_app, &entry.client_id);
        }
    }
}

fn uncount<K: std::hash::Hash + Eq>(counts: &mut HashMap<K, usize>, key: &K) {
    if let Some(count) = counts.get_mut(key) {
        *count -= 1;
        if *count == 0 {
            counts.remove(key);
        }
    }
}

/// The tracked flows, by `request_id`, in memory.
pub struct Progress {
    quotas: Quotas,
    flows: Mutex<Flows>,
}

/// The address a quota counts: an IPv4 address, or an IPv6 address's /64 (one host's share).
pub fn client_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
    }
}

impl Progress {
    /// No flows, with these quotas.
    pub fn new(quotas: Quotas) -> Progress {
        Progress { quotas, flows: Mutex::default() }
    }

    fn flows(&self, now: Instant) -> MutexGuard<'_, Flows> {
        let mut flows = self.flows.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let expired: Vec<String> =
            flows.by_request.iter().filter(|(_, e)| e.expires <= now).map(|(id, _)| id.clone()).collect();
        for id in expired {
            flows.remove(&id);
        }
        flows
    }

    /// A page of the flow `request_id` of app `client_id` was served to `client`: tracks it
    /// (or, when it is tracked for this app, keeps it longer and takes back an abandonment: the
    /// pop-up was reloaded, not closed). Refused when a quota is full; the first app to open a
    /// request id keeps it.
    pub fn open(
        &self,
        request_id: &str,
        client_id: &str,
        client: IpAddr,
        now: Instant,
    ) -> Result<(), Refused> {
        let client = client_key(client);
        let mut flows = self.flows(now);
        if let Some(entry) = flows.by_request.get_mut(request_id) {
            if entry.client_id == client_id {
                entry.stage = Stage::UnderWay;
                entry.expires = now + TTL;
            }
            return Ok(());
        }
        if flows.per_client.get(&client).copied().unwrap_or(0) >= self.quotas.max_per_client {
            return Err(Refused::Client);
        }
        if flows.per_app.get(client_id).copied().unwrap_or(0) >= self.quotas.max_per_app {
            return Err(Refused::App);
        }
        *flows.per_client.entry(client).or_default() += 1;
        *flows.per_app.entry(client_id.to_owned()).or_default() += 1;
        let entry =
            Entry { client_id: client_id.to_owned(), client, stage: Stage::UnderWay, expires: now + TTL };
        flows.by_request.insert(request_id.to_owned(), entry);
        Ok(())
    }

    /// The result page of the flow was served: its result is on its way back to the app's page.
    /// The flow is kept only to report whether it got there (twice the return window), so a
    /// finished flow soon stops counting against the quotas.
    pub fn returned(&self, request_id: &str, client_id: &str, now: Instant) {
        if let Some(entry) =
            self.flows(now).by_request.get_mut(request_id).filter(|e| e.client_id == client_id)
        {
            entry.stage = Stage::Returned(now);
            entry.expires = now + 2 * self.quotas.return_window();
        }
    }

    /// The user closed the pop-up on one of this server's pages before it finished.
    pub fn abandon(&self, request_id: &str, now: Instant) {
        if let Some(entry) =
            self.flows(now).by_request.get_mut(request_id).filter(|e| e.stage == Stage::UnderWay)
        {
            entry.stage = Stage::Abandoned;
        }
    }

    /// Where the flow `request_id` of app `client_id` is.
    pub fn status(&self, request_id: &str, client_id: &str, now: Instant) -> Status {
        let flows = self.flows(now);
        match flows.by_request.get(request_id).filter(|e| e.client_id == client_id).map(|e| e.stage) {
            Some(Stage::UnderWay) => Status::UnderWay,
            Some(Stage::Returned(at)) if now < at + self.quotas.return_window() => Status::UnderWay,
            Some(Stage::Returned(_)) => Status::NotDelivered,
            Some(Stage::Abandoned) | None => Status::Unknown,
        }
    }

    /// How many flows are tracked (for tests and diagnostics).
    pub fn len(&self, now: Instant) -> usize {
        self.flows(now).by_request.len()
    }

    /// Whether no flow is tracked.
    pub fn is_empty(&self, now: Instant) -> bool {
        self.len(now) == 0
    }
}

/// Whether `text` can be a request id: 1 to 128 characters, none a control character.
pub fn is_request_id(text: &str) -> bool {
    !text.is_empty() && text.chars().count() <= 128 && !text.chars().any(char::is_control)
}

fn json_error(status: StatusCode, code: &str, description: &str) -> Response {
    (status, axum::Json(json!({ "error": code, "error_description": description }))).into_response()
}

/// `POST /v1/oauth/progress` (form `client_id`, `request_id`), from the waiting page: 202 while
/// the flow is under way (or its result is on its way back to the app's page), 410 when the
/// result went back and was not handed over in time, 404 for nothing. Never a result. Only
/// pages on an origin the app trusts may read the answer (CORS).
pub async fn status(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if body.as_ref().is_err_and(|rejection| rejection.status() == StatusCode::PAYLOAD_TOO_LARGE) {
        return json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            codes::INVALID_REQUEST,
            "The request body is too large.",
        );
    }
    let form = body.ok().and_then(|body| params::parse(&body).ok()).filter(|p| params::repeated(p).is_none());
    let field = |name: &str| form.iter().flatten().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let (Some(client_id), Some(request_id)) =
        (field("client_id"), field("request_id").filter(|r| is_request_id(r)))
    else {
        let response =
            json_error(StatusCode::BAD_REQUEST, codes::INVALID_REQUEST, "Give client_id and request_id.");
        return cors::with_cors(
            response,
            cors::allowed_origin(&app.config, &headers, cors::Audience::AnyApp),
        );
    };
    let allowed = cors::allowed_origin(&app.config, &headers, cors::Audience::App(client_id));
    let response = match app.progress.status(request_id, client_id, Instant::now()) {
        Status::UnderWay => StatusCode::ACCEPTED.into_response(),
        Status::NotDelivered => json_error(
            StatusCode::GONE,
            codes::NOT_DELIVERED,
            "The result went back to the app's page, which did not hand it over.",
        ),
        Status::Unknown => json_error(StatusCode::NOT_FOUND, codes::NOT_FOUND, "No such flow under way."),
    };
    let mut response = cors::with_cors(response, allowed);
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `POST /v1/oauth/progress/abandon` (body: the request id), the pop-up's beacon when the user
/// closes it on one of this server's pages: 204, whatever the id.
pub async fn abandon(State(app): State<Arc<AppState>>, body: Result<Bytes, BytesRejection>) -> Response {
    match body.ok().as_deref().and_then(|b| std::str::from_utf8(b).ok()).filter(|id| is_request_id(id)) {
        Some(request_id) => {
            app.progress.abandon(request_id, Instant::now());
            StatusCode::NO_CONTENT.into_response()
        }
        None => json_error(StatusCode::BAD_REQUEST, codes::INVALID_REQUEST, "The body must be a request id."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    fn progress(max_per_client: usize, max_per_app: usize) -> Progress {
        Progress::new(Quotas { max_per_client, max_per_app, return_window_secs: 30 })
    }

    #[test]
    fn a_flow_is_under_way_then_returned_then_not_delivered() {
        let now = Instant::now();
        let progress = progress(10, 10);
        assert_eq!(progress.status("r", "app", now), Status::Unknown);
        progress.open("r", "app", HOME, now).unwrap();
        assert_eq!(progress.status("r", "app", now), Status::UnderWay);
        assert_eq!(progress.status("r", "other", now), Status::Unknown, "another app's");
        progress.returned("r", "other", now);
        assert_eq!(progress.status("r", "app", now), Status::UnderWay, "not by another app");
        progress.returned("r", "app", now);
        assert_eq!(progress.status("r", "app", now + Duration::from_secs(29)), Status::UnderWay);
        assert_eq!(progress.status("r", "app", now + Duration::from_secs(30)), Status::NotDelivered);
        assert_eq!(progress.status("r", "app", now + Duration::from_secs(60)), Status::Unknown, "forgotten");
        assert!(progress.is_empty(now + Duration::from_secs(60)), "a finished flow frees its quota");
    }

    #[test]
    fn closing_abandons_and_reloading_takes_it_back() {
        let now = Instant::now();
        let progress = progress(10, 10);
        progress.open("r", "app", HOME, now).unwrap();
        progress.abandon("r", now);
        assert_eq!(progress.status("r", "app", now), Status::Unknown);
        progress.open("r", "other", HOME, now).unwrap();
        assert_eq!(progress.status("r", "app", now), Status::Unknown, "not by another app");
        progress.open("r", "app", HOME, now).unwrap();
        assert_eq!(progress.status("r", "app", now), Status::UnderWay);
        progress.returned("r", "app", now);
        progress.abandon("r", now);
        assert_eq!(progress.status("r", "app", now), Status::UnderWay, "a returned flow is not abandoned");
    }

    #[test]
    fn quotas_hold_per_client_and_per_app_and_free_up_on_expiry() {
        let now = Instant::now();
        let progress = progress(3, 5);
        let flooder: IpAddr = "10.0.0.1".parse().unwrap();
        for i in 0..3 {
            progress.open(&format!("f{i}"), "a", flooder, now).unwrap();
        }
        assert_eq!(progress.open("f3", "b", flooder, now), Err(Refused::Client), "one client, any app");
        progress.open("f0", "a", flooder, now).unwrap(); // a reload costs nothing
        for i in 0..2 {
            progress.open(&format!("x{i}"), "a", format!("10.0.1.{i}").parse().unwrap(), now).unwrap();
        }
        assert_eq!(progress.open("y", "a", "10.0.2.1".parse().unwrap(), now), Err(Refused::App));
        progress.open("z", "b", HOME, now).expect("another app's users are not refused");
        let later = now + TTL;
        progress.open("f4", "a", flooder, later).expect("expired flows free their quota");
        assert_eq!(progress.len(later), 1);
    }

    #[test]
    fn an_ipv6_client_is_its_64_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(c));
        assert_eq!(client_key("::ffff:10.0.0.1".parse().unwrap()), "10.0.0.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn request_ids_are_bounded_text() {
        assert!(is_request_id("0123abcd"));
        assert!(!is_request_id(""));
        assert!(!is_request_id(&"x".repeat(129)));
        assert!(!is_request_id("a\nb"));
    }
}
