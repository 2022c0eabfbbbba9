//! The pop-up flows' progress, for the library's second channel.
//!
//! An identity provider's page with `Cross-Origin-Opener-Policy` cuts the pop-up's
//! `window.opener`: the result page can then post nothing to the app's page, and the app's page
//! sees its pop-up as closed while the user is still signing in. So the library also sends
//! `return_to`, which must be one of the app's registered return pages (see
//! [`crate::popup::request::validate`]; an app without any gets postMessage only, and nothing is tracked
//! for it). When the result page finds no opener, it takes the pop-up to that page with a
//! one-time code in the URL fragment ([`crate::popup::returns`]), the library there hands the code to
//! the waiting page through a same-origin channel, and the waiting page redeems it for the
//! result, once.
//!
//! What it keeps, for flows with a return page, is where each flow is, so that a page whose
//! pop-up reads as closed knows whether to keep waiting ([`status`]): under way, returned to the
//! app's page with a code not yet redeemed (for [`Quotas::return_window`]; redeeming it forgets
//! the flow), or abandoned (the user closed the pop-up on one of
//! this server's pages: [`abandon`], a beacon). That is nothing a thief could use. It is kept in
//! the database ([`crate::store`]'s `popup_flows`), so that any instance can serve any step of a
//! flow and a restart loses nothing; it is bounded per client address and per app ([`Quotas`],
//! which hold across instances), so one client's flood cannot refuse another app's users; and
//! expired flows are swept ([`Progress::sweep`], every [`SWEEP_INTERVAL`]).

use crate::AppState;
use crate::clock::millis;
use crate::error::AppError;
use crate::extract::StrictForm;
use crate::params;
use crate::popup::settings::Quotas;
use crate::store::{self, Full, NewFlow, Stage, Store};
use crate::token_api::cors;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kloudless_protocol::{codes, progress_status};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// How long a flow is tracked after its last page was served.
pub const TTL: Duration = Duration::from_secs(600);

/// How often expired flows are deleted.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// What [`Progress::status`] reports to the waiting page.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Status {
    /// Keep waiting: the user is in the pop-up, or its result is on its way to the app's page.
    UnderWay,
    /// The result's code went back to the app's return page longer ago than the return window,
    /// and nobody redeemed it: that page did not hand it over.
    NotDelivered,
    /// The user closed the pop-up on one of the flow's pages ([`Progress::abandon`]).
    Closed,
    /// Nothing is known (never opened, expired or another app's).
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

/// The sentence for a client refused by its quota (a 429 page). A full app quota refuses no
/// one: the pop-up is served untracked ([`crate::popup::oauth`]).
pub const CLIENT_FULL: &str =
    "Too many sign-in windows are open from your network. Close some, or try again in a few minutes.";

/// The bits of an IPv6 prefix that count as one client: a /56, the smallest share an ISP commonly
/// delegates to one customer (who can pick any of its 256 /64s).
const IPV6_CLIENT_PREFIX: u32 = 56;

/// The address a quota counts: an IPv4 address, or an IPv6 address's /56 (one customer's share).
pub fn client_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & (u128::MAX << (128 - IPV6_CLIENT_PREFIX))).into()),
        },
    }
}

/// The tracked flows, in the database, and their quotas.
pub struct Progress {
    quotas: Quotas,
    store: Store,
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Progress {
    /// The flows kept in `store`, with these quotas.
    pub fn new(quotas: Quotas, store: Store) -> Progress {
        Progress { quotas, store }
    }

    /// A page of the flow `request_id` of app `client_id` was served to `client`, in the
    /// browser whose binding cookie hashes to `browser`: tracks it (or, when it is tracked for
    /// this app and browser, keeps it longer and takes back an abandonment: the pop-up was
    /// reloaded, not closed). Refused when a quota is full; the first app and browser to open a
    /// request id keep it.
    pub async fn open(
        &self,
        request_id: &str,
        client_id: &str,
        client: IpAddr,
        browser: &str,
        now: SystemTime,
    ) -> Result<Result<(), Refused>, store::Error> {
        let client = client_key(client).to_string();
        let flow = NewFlow {
            request_id,
            client_id,
            client: &client,
            browser,
            max_per_client: count(self.quotas.max_per_client),
            max_per_app: count(self.quotas.max_per_app),
        };
        let opened = self.store.open_flow(flow, millis(now), millis(now + TTL)).await?;
        Ok(opened.map_err(|full| match full {
            Full::Client => Refused::Client,
            Full::App => Refused::App,
        }))
    }

    /// The result page of the flow was served in the browser `browser` (the hash of its
    /// cookie): a code for its result is on its way back to the app's return page. The flow is
    /// kept only to report whether it got there (twice the return window), so a finished flow
    /// soon stops counting against the quotas.
    pub async fn returned(
        &self,
        request_id: &str,
        client_id: &str,
        browser: &str,
        now: SystemTime,
    ) -> Result<(), store::Error> {
        let expires = now + 2 * self.quotas.return_window();
        self.store.flow_returned(request_id, client_id, browser, millis(now), millis(expires)).await
    }

    /// The user closed the pop-up on one of this server's pages before it finished.
    pub async fn abandon(&self, request_id: &str, now: SystemTime) -> Result<(), store::Error> {
        self.store.abandon_flow(request_id, millis(now)).await
    }

    /// Where the flow `request_id` of app `client_id` is.
    pub async fn status(
        &self,
        request_id: &str,
        client_id: &str,
        now: SystemTime,
    ) -> Result<Status, store::Error> {
        let window = i64::try_from(self.quotas.return_window().as_millis()).unwrap_or(i64::MAX);
        Ok(match self.store.flow_stage(request_id, client_id, millis(now)).await? {
            Some(Stage::UnderWay) => Status::UnderWay,
            Some(Stage::Returned(at)) if millis(now) < at.saturating_add(window) => Status::UnderWay,
            Some(Stage::Returned(_)) => Status::NotDelivered,
            Some(Stage::Abandoned) => Status::Closed,
            None => Status::Unknown,
        })
    }

    /// How many flows are tracked (for tests and diagnostics).
    pub async fn len(&self, now: SystemTime) -> Result<i64, store::Error> {
        self.store.tracked_flows(millis(now)).await
    }

    /// Deletes the flows expired at `now` (they already count for nothing); returns how many.
    pub async fn sweep(&self, now: SystemTime) -> Result<u64, store::Error> {
        self.store.sweep_flows(millis(now)).await
    }
}

/// Whether `text` can be a request id: 1 to 128 characters, none a control character.
pub fn is_request_id(text: &str) -> bool {
    !text.is_empty() && text.chars().count() <= 128 && !text.chars().any(char::is_control)
}

const NO_FLOW_NAMED: AppError =
    AppError::fixed(StatusCode::BAD_REQUEST, codes::INVALID_REQUEST, "Give client_id and request_id.");
const NOT_DELIVERED: AppError = AppError::fixed(
    StatusCode::GONE,
    codes::NOT_DELIVERED,
    "The result went back to the app's page, which did not hand it over.",
);
const NOT_A_REQUEST_ID: AppError =
    AppError::fixed(StatusCode::BAD_REQUEST, codes::INVALID_REQUEST, "The body must be a request id.");

/// `POST /v1/oauth/progress` (form `client_id`, `request_id`), from the waiting page: where the
/// flow is, as a status of [`progress_status`] (202 under way, 205 closed by the user, 410 not
/// delivered, 204 nothing). Never a result. Only pages on an origin the app trusts may read the
/// answer (CORS).
pub async fn status(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    form: Result<StrictForm, AppError>,
) -> Result<Response, AppError> {
    let form = match form {
        Err(too_large) if too_large.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large),
        form => form.ok().filter(|StrictForm(form)| params::repeated(form).is_none()),
    };
    let field = |name: &str| form.iter().flat_map(|f| &f.0).find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let (Some(client_id), Some(request_id)) =
        (field("client_id"), field("request_id").filter(|r| is_request_id(r)))
    else {
        let any_app = cors::allowed_origin(&app.config, &headers, cors::Audience::AnyApp);
        return Ok(cors::with_cors(NO_FLOW_NAMED.into_response(), any_app));
    };
    let allowed = cors::allowed_origin(&app.config, &headers, cors::Audience::App(client_id));
    let response = flow_status(&app.progress, request_id, client_id).await.into_response();
    let mut response = cors::with_cors(response, allowed);
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// [`status`]'s answer for the flow `request_id` of app `client_id`.
async fn flow_status(progress: &Progress, request_id: &str, client_id: &str) -> Result<StatusCode, AppError> {
    let status = match progress.status(request_id, client_id, SystemTime::now()).await? {
        Status::UnderWay => progress_status::UNDER_WAY,
        Status::NotDelivered => return Err(NOT_DELIVERED),
        Status::Closed => progress_status::CLOSED,
        Status::Unknown => progress_status::NOTHING,
    };
    Ok(StatusCode::from_u16(status).unwrap_or(StatusCode::NO_CONTENT))
}

/// `POST /v1/oauth/progress/abandon` (body: the request id), the pop-up's beacon when the user
/// closes it on one of this server's pages: 204, whatever the id.
pub async fn abandon(
    State(app): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, AppError> {
    let body = body.unwrap_or_default();
    let request_id =
        std::str::from_utf8(&body).ok().filter(|id| is_request_id(id)).ok_or(NOT_A_REQUEST_ID)?;
    app.progress.abandon(request_id, SystemTime::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing;

    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    async fn progress(max_per_client: usize, max_per_app: usize) -> (tempfile::TempDir, Progress) {
        let (dir, store) = testing::store().await;
        (dir, Progress::new(Quotas { max_per_client, max_per_app, return_window_secs: 30 }, store))
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[tokio::test]
    async fn a_flow_is_under_way_then_returned_then_not_delivered() {
        let now = SystemTime::now();
        let (_dir, progress) = progress(10, 10).await;
        let status = async |at| progress.status("r", "app", at).await.unwrap();
        assert_eq!(status(now).await, Status::Unknown);
        progress.open("r", "app", HOME, "b", now).await.unwrap().unwrap();
        assert_eq!(status(now).await, Status::UnderWay);
        assert_eq!(progress.status("r", "other", now).await.unwrap(), Status::Unknown, "another app's");
        progress.returned("r", "other", "b", now).await.unwrap();
        assert_eq!(status(now).await, Status::UnderWay, "not by another app");
        progress.returned("r", "app", "b", now).await.unwrap();
        assert_eq!(status(now + secs(29)).await, Status::UnderWay);
        assert_eq!(status(now + secs(30)).await, Status::NotDelivered);
        assert_eq!(status(now + secs(60)).await, Status::Unknown, "forgotten");
        assert_eq!(progress.len(now + secs(60)).await.unwrap(), 0, "a finished flow frees its quota");
    }

    #[tokio::test]
    async fn closing_abandons_and_reloading_takes_it_back() {
        let now = SystemTime::now();
        let (_dir, progress) = progress(10, 10).await;
        let status = async || progress.status("r", "app", now).await.unwrap();
        progress.open("r", "app", HOME, "b", now).await.unwrap().unwrap();
        progress.abandon("r", now).await.unwrap();
        assert_eq!(status().await, Status::Closed);
        assert_eq!(progress.status("r", "other", now).await.unwrap(), Status::Unknown, "another app's");
        progress.open("r", "other", HOME, "b", now).await.unwrap().unwrap();
        assert_eq!(status().await, Status::Closed, "not taken back by another app");
        progress.open("r", "app", HOME, "b", now).await.unwrap().unwrap();
        assert_eq!(status().await, Status::UnderWay);
        progress.returned("r", "app", "b", now).await.unwrap();
        progress.abandon("r", now).await.unwrap();
        assert_eq!(status().await, Status::UnderWay, "a returned flow is not abandoned");
    }

    #[tokio::test]
    async fn quotas_hold_per_client_and_per_app_and_free_up_on_expiry() {
        let now = SystemTime::now();
        let (_dir, progress) = progress(3, 5).await;
        let open = async |id: &str, app: &str, from: &str, at| {
            progress.open(id, app, from.parse().unwrap(), "b", at).await.unwrap()
        };
        let flooder = "10.0.0.1";
        for i in 0..3 {
            open(&format!("f{i}"), "a", flooder, now).await.unwrap();
        }
        assert_eq!(open("f3", "b", flooder, now).await, Err(Refused::Client), "one client, any app");
        open("f0", "a", flooder, now).await.unwrap(); // a reload costs nothing
        for i in 0..2 {
            open(&format!("x{i}"), "a", &format!("10.0.1.{i}"), now).await.unwrap();
        }
        assert_eq!(open("y", "a", "10.0.2.1", now).await, Err(Refused::App));
        open("z", "b", "127.0.0.1", now).await.expect("another app's users are not refused");
        let later = now + TTL;
        open("f4", "a", flooder, later).await.expect("expired flows free their quota");
        assert_eq!(progress.len(later).await.unwrap(), 1);
        open("f0", "b", flooder, later).await.expect("an expired flow's id can be taken again");
        assert_eq!(progress.status("f0", "b", later).await.unwrap(), Status::UnderWay);
    }

    #[tokio::test]
    async fn expired_flows_are_swept() {
        let now = SystemTime::now();
        let (_dir, progress) = progress(10, 10).await;
        progress.open("old", "app", HOME, "b", now).await.unwrap().unwrap();
        progress.open("new", "app", HOME, "b", now + secs(60)).await.unwrap().unwrap();
        assert_eq!(progress.sweep(now + TTL).await.unwrap(), 1, "the one expired");
        assert_eq!(progress.sweep(now + TTL).await.unwrap(), 0);
        assert_eq!(progress.len(now).await.unwrap(), 1, "the other is still there");
        assert_eq!(progress.status("new", "app", now + TTL).await.unwrap(), Status::UnderWay);
    }

    #[tokio::test]
    async fn two_addresses_in_one_ipv6_56_share_a_client_quota() {
        let now = SystemTime::now();
        let (_dir, progress) = progress(2, 100).await;
        let open = async |id: &str, from: &str| {
            progress.open(id, "app", from.parse().unwrap(), "b", now).await.unwrap()
        };
        open("a", "2001:db8:0:1200::1").await.unwrap();
        open("b", "2001:db8:0:12ff:ffff::9").await.unwrap();
        assert_eq!(
            open("c", "2001:db8:0:1201::1").await,
            Err(Refused::Client),
            "another /64 of the same /56"
        );
        open("d", "2001:db8:0:1300::1").await.expect("another /56 is another client");
    }

    #[tokio::test]
    async fn a_flow_is_reloaded_and_returned_only_in_its_browser() {
        let now = SystemTime::now();
        let (_dir, progress) = progress(10, 10).await;
        progress.open("r", "app", HOME, "b1", now).await.unwrap().unwrap();
        progress.abandon("r", now).await.unwrap();
        progress.open("r", "app", HOME, "b2", now).await.unwrap().unwrap();
        assert_eq!(
            progress.status("r", "app", now).await.unwrap(),
            Status::Closed,
            "not taken back by another browser"
        );
        progress.open("r", "app", HOME, "b1", now).await.unwrap().unwrap();
        progress.returned("r", "app", "b2", now).await.unwrap();
        assert_eq!(progress.status("r", "app", now + secs(31)).await.unwrap(), Status::UnderWay);
        progress.returned("r", "app", "b1", now).await.unwrap();
        assert_eq!(progress.status("r", "app", now + secs(31)).await.unwrap(), Status::NotDelivered);
    }

    #[test]
    fn an_ipv6_client_is_its_56_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        let d: IpAddr = "2001:db8:1:100::1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_eq!(client_key(a), client_key(c), "another /64 of the same /56");
        assert_ne!(client_key(a), client_key(d));
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
