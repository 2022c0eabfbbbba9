//! The apps' events, over real HTTP to a receiver in the test that checks every delivery's
//! Standard Webhooks signature (HMAC-SHA256 of `id.timestamp.body`, computed here with the
//! `hmac` crate, not the server's code): each change to an account gives its event once; a
//! receiver down (503), then rate limiting (429 with `Retry-After: 2`), then back gets every
//! event exactly once, in order per account, the `Retry-After` honoured; two instances on one
//! database deliver each event once, and an instance killed mid-delivery leaves only the post
//! under way to be sent again, by the other; `/v1/events` and redelivery are the app's own; a
//! webhook at a private address is refused at start-up. An API key a local upstream stops
//! taking makes one check for a storm of refusals and one `credentials.invalid`; a passing
//! refusal or an unanswered check changes nothing. GitHub's and Slack's revocation notices,
//! signed here with the `hmac` crate and posted over HTTP, delete the user's accounts once.

mod common;

use authenticator_server::config::Config;
use authenticator_server::events::settings::Webhook;
use authenticator_server::store::{RefreshFailure, Store, UpstreamAccount};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{Process, Reply, TestServer, fresh_database};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// App `a`'s API key (its events go to the receiver).
const KEY_A: &str = "key-of-app-a-0123456789abcdef";
/// App `b`'s API key (no webhook).
const KEY_B: &str = "key-of-app-b-0123456789abcdef";
/// The signing secret: 24 bytes in base64.
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Got {
    /// `webhook-id`.
    id: String,
    /// The event's type.
    kind: String,
    /// The event's account.
    account: i64,
    /// When it came.
    at: Instant,
    /// What the receiver answered.
    status: u16,
}

/// The receiver's state: the answers it is told to give first (then 204), what it got.
#[derive(Default)]
struct Inbox {
    /// Answers to give, in order, before 204s: a status and a `Retry-After` (seconds).
    script: VecDeque<(u16, Option<u64>)>,
    /// How long to hold requests before answering, in order (then at once).
    holds: VecDeque<Duration>,
    got: Vec<Got>,
}

impl Inbox {
    /// The events it took (answered 2xx), in the order they came.
    fn delivered(&self) -> Vec<Got> {
        self.got.iter().filter(|got| got.status < 300).cloned().collect()
    }
}

/// Whether `signature` (`v1,<base64>`, maybe several, space-separated) signs `id.timestamp.body`
/// under [`SECRET`].
fn verifies(id: &str, timestamp: &str, body: &str, signature: &str) -> bool {
    let key = STANDARD.decode(SECRET.trim_start_matches("whsec_")).unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    signature.split(' ').any(|one| one == expected)
}

/// Starts the receiver on 127.0.0.1: its URL and its inbox. A delivery whose signature or
/// timestamp (within 5 minutes) does not verify fails the test.
async fn receiver() -> (String, Arc<Mutex<Inbox>>) {
    let inbox = Arc::new(Mutex::new(Inbox::default()));
    let state = inbox.clone();
    let hook = move |headers: axum::http::HeaderMap, body: String| {
        let state = state.clone();
        async move {
            let header = |name: &str| headers.get(name).unwrap().to_str().unwrap().to_owned();
            let (id, timestamp) = (header("webhook-id"), header("webhook-timestamp"));
            assert!(verifies(&id, &timestamp, &body, &header("webhook-signature")), "{body}");
            let sent = timestamp.parse::<u64>().unwrap();
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
            assert!(now.abs_diff(sent) < 300, "timestamp {sent}, now {now}");
            let event: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(event["id"].to_string(), id, "webhook-id is the event's id");
            let (status, retry_after, hold) = {
                let mut inbox = state.lock().unwrap();
                let (status, retry_after) = inbox.script.pop_front().unwrap_or((204, None));
                let kind = event["type"].as_str().unwrap().to_owned();
                let account = event["account"].as_i64().unwrap();
                inbox.got.push(Got { id, kind, account, at: Instant::now(), status });
                (status, retry_after, inbox.holds.pop_front().unwrap_or_default())
            };
            tokio::time::sleep(hold).await;
            let mut reply = axum::http::Response::builder().status(status);
            if let Some(seconds) = retry_after {
                reply = reply.header("retry-after", seconds.to_string());
            }
            reply.body(axum::body::Body::empty()).unwrap()
        }
    };
    let router = axum::Router::new().route("/hook", axum::routing::post(hook));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, inbox)
}

/// The configuration of apps `a` (its webhook at `url`) and `b`.
fn config(url: &str) -> String {
    format!(
        "allow_private_upstreams = true\n\
         [[apps]]\nclient_id = \"a\"\ntrusted_domains = [\"localhost:3000\"]\napi_key = \"{KEY_A}\"\n\
         webhook_url = \"{url}\"\nwebhook_secret = \"{SECRET}\"\n\
         [[apps]]\nclient_id = \"b\"\ntrusted_domains = [\"localhost:3000\"]\napi_key = \"{KEY_B}\"\n"
    )
}

/// A server with [`config`], and its database opened a second time.
async fn start(url: &str) -> (TestServer, Store) {
    let server = TestServer::start(&config(url)).await;
    let store = Store::open(server.database()).await.unwrap();
    (server, store)
}

/// An OAuth account of app `a` at `acme` for the upstream user `subject` (connected again when
/// it exists): its id.
async fn connect_upstream(store: &Store, subject: &str) -> i64 {
    connect_at(store, "a", "acme", subject).await
}

/// An OAuth account of app `client_id` at `service` for the upstream user `subject` (connected
/// again when it exists): its id.
async fn connect_at(store: &Store, client_id: &str, service: &str, subject: &str) -> i64 {
    let account = UpstreamAccount {
        client_id,
        service,
        subject,
        login: subject,
        admin: false,
        sealed: b"sealed",
        app: Default::default(),
        refreshable: true,
    };
    store.connect_upstream("acme:normal.storage", account).await.unwrap().0
}

/// Waits (up to 30 s) until `done` holds for the inbox.
async fn until(inbox: &Arc<Mutex<Inbox>>, done: impl Fn(&Inbox) -> bool) {
    for _ in 0..300 {
        if done(&inbox.lock().unwrap()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out: {:?}", inbox.lock().unwrap().got);
}

/// `GET path` with the API key `key`: the reply.
async fn get(server: &TestServer, path: &str, key: &str) -> Reply {
    Reply::of(server.get(path).header("authorization", format!("APIKey {key}"))).await
}

/// The types of app `key`'s events listed by `GET /v1/events`, oldest first.
async fn listed(server: &TestServer, key: &str) -> Vec<(String, i64)> {
    let reply = get(server, "/v1/events?after=0", key).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let objects = reply.json()["objects"].as_array().unwrap().clone();
    objects.iter().map(|e| (e["type"].as_str().unwrap().to_owned(), e["account"].as_i64().unwrap())).collect()
}

/// Every 2xx delivery's event id once, and each account's in increasing order.
fn once_each_in_order_per_account(delivered: &[Got]) {
    let mut ids: Vec<i64> = delivered.iter().map(|got| got.id.parse().unwrap()).collect();
    let count = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), count, "a duplicate: {delivered:?}");
    let mut last: HashMap<i64, i64> = HashMap::new();
    for got in delivered {
        let id: i64 = got.id.parse().unwrap();
        let before = last.insert(got.account, id).unwrap_or(0);
        assert!(before < id, "account {}: {id} after {before}: {delivered:?}", got.account);
    }
}

#[tokio::test]
async fn each_change_to_an_account_gives_its_event_once() {
    let (url, inbox) = receiver().await;
    let (server, store) = start(&url).await;
    let id = connect_upstream(&store, "u1").await;
    assert_eq!(connect_upstream(&store, "u1").await, id, "the same account");
    let version = store.stored_tokens(id).await.unwrap().unwrap().version;
    for at in [1_000, 2_000, 3_000] {
        let failure = RefreshFailure { code: "server_error", description: "down", at, retry_at: at };
        assert!(store.record_refresh_failure(id, version, &failure).await.unwrap());
    }
    assert!(store.save_refreshed(id, version, b"sealed-2").await.unwrap());
    store.deactivate(id, "invalid_grant: revoked").await.unwrap();
    let reply = Reply::of(
        server
            .request(reqwest::Method::DELETE, &format!("/v1/accounts/{id}/"))
            .header("authorization", format!("APIKey {KEY_A}")),
    )
    .await;
    assert!(reply.status < 300, "{} {}", reply.status, reply.body);
    let expected = [
        "account.connected",
        "account.reconnected",
        "account.refresh_failed",
        "account.recovered",
        "account.inactive",
        "account.deleted",
    ];
    let kinds: Vec<(String, i64)> = expected.iter().map(|kind| ((*kind).to_owned(), id)).collect();
    assert_eq!(listed(&server, KEY_A).await, kinds);
    until(&inbox, |inbox| inbox.delivered().len() >= expected.len()).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let delivered: Vec<String> = inbox.lock().unwrap().delivered().into_iter().map(|got| got.kind).collect();
    assert_eq!(delivered, expected, "each once, in order");
    let events = get(&server, "/v1/events", KEY_A).await.json();
    let failed = &events["objects"][2];
    assert_eq!(failed["reason"], "server_error", "{failed}");
    assert_eq!(failed["metadata"]["consecutive_failures"], 1, "{failed}");
    assert_eq!(events["objects"][4]["reason"], "invalid_grant: revoked");
    assert_eq!(events["objects"][4]["metadata"]["active"], false);
}

#[tokio::test]
async fn an_outage_then_rate_limiting_delays_but_delivers_every_event_once_in_order() {
    let (url, inbox) = receiver().await;
    {
        let mut inbox = inbox.lock().unwrap();
        inbox.script.extend([(503, None); 6]);
        inbox.script.push_back((429, Some(2)));
    }
    let (server, store) = start(&url).await;
    let mut accounts = Vec::new();
    for n in 0..5 {
        accounts.push(connect_upstream(&store, &format!("user{n}")).await);
    }
    for &id in &accounts {
        store.deactivate(id, "invalid_grant: revoked").await.unwrap();
    }
    until(&inbox, |inbox| inbox.delivered().len() >= 10).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let got = inbox.lock().unwrap().got.clone();
    let delivered = inbox.lock().unwrap().delivered();
    assert_eq!(delivered.len(), 10, "{got:?}");
    once_each_in_order_per_account(&delivered);
    let limited = got.iter().find(|g| g.status == 429).unwrap();
    let next = got.iter().find(|g| g.id == limited.id && g.at > limited.at).unwrap();
    assert!(next.at - limited.at >= Duration::from_secs(2), "Retry-After: {:?}", next.at - limited.at);
    let deliveries = get(&server, "/v1/webhook/deliveries?page_size=100", KEY_A).await.json();
    let statuses: Vec<i64> =
        deliveries["objects"].as_array().unwrap().iter().map(|d| d["status"].as_i64().unwrap()).collect();
    assert_eq!(statuses.len(), got.len(), "{deliveries}");
    assert_eq!(statuses.iter().filter(|s| **s == 503).count(), 6);
    assert!(
        deliveries["objects"].as_array().unwrap().iter().any(|d| d["error"] == "the receiver answered 429")
    );
}

#[tokio::test]
async fn two_instances_on_one_database_deliver_each_event_once() {
    let (url, inbox) = receiver().await;
    let (server, store) = start(&url).await;
    let second = server.another().await;
    for n in 0..15 {
        let id = connect_upstream(&store, &format!("user{n}")).await;
        store.deactivate(id, "invalid_grant: revoked").await.unwrap();
        assert!(store.delete_account(id).await.unwrap());
    }
    until(&inbox, |inbox| inbox.got.len() >= 45).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let got = inbox.lock().unwrap().got.clone();
    assert_eq!(got.len(), 45, "no event sent twice: {got:?}");
    once_each_in_order_per_account(&got);
    second.stop().await;
}

#[tokio::test]
async fn an_instance_killed_mid_delivery_leaves_the_event_to_another_at_least_once() {
    let (url, inbox) = receiver().await;
    inbox.lock().unwrap().holds.push_back(Duration::from_secs(60));
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    let database = fresh_database(&dir.path().join("data"));
    let path = dir.path().join("config.toml");
    std::fs::write(&path, config(&url)).unwrap();
    let at = match &database {
        authenticator_server::store::Database::Sqlite(path) => path.to_str().unwrap().to_owned(),
        authenticator_server::store::Database::Postgres(url) => url.clone(),
    };
    let first = Process::start("true", &at, &["--config", path.to_str().unwrap()]);
    let store = Store::open(&database).await.unwrap();
    for n in 0..3 {
        connect_upstream(&store, &format!("user{n}")).await;
    }
    // The first post is held; the others are answered and recorded.
    until(&inbox, |inbox| inbox.got.len() == 3).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let held = inbox.lock().unwrap().got[0].id.clone();
    first.kill();
    // The dead instance's lease made to pass, as LEASE (60 s) would.
    common::execute(&database, "UPDATE events SET leased_until = 1 WHERE leased_until IS NOT NULL").await;
    let second = TestServer::with(&config(&url)).on(&database).start().await;
    until(&inbox, |inbox| inbox.got.len() >= 4).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let ids: Vec<String> = inbox.lock().unwrap().got.iter().map(|got| got.id.clone()).collect();
    assert_eq!(ids.len(), 4, "{ids:?}");
    let mut distinct = ids.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 3, "every event, {ids:?}");
    assert_eq!(ids[3], held, "only the post under way when it died is sent twice: {ids:?}");
    second.stop().await;
}

#[tokio::test]
async fn events_and_redelivery_are_the_apps_own() {
    let (url, inbox) = receiver().await;
    let (server, store) = start(&url).await;
    let id = connect_upstream(&store, "u1").await;
    until(&inbox, |inbox| inbox.delivered().len() == 1).await;
    assert_eq!(listed(&server, KEY_A).await, [("account.connected".to_owned(), id)]);
    assert_eq!(listed(&server, KEY_B).await, [], "another app's key sees nothing");
    let event = get(&server, "/v1/events", KEY_A).await.json()["objects"][0]["id"].as_i64().unwrap();
    let after = get(&server, &format!("/v1/events?after={event}"), KEY_A).await.json();
    assert_eq!((after["count"].as_i64(), after["cursor"].as_i64()), (Some(0), Some(event)), "{after}");
    let redeliver = |key: &'static str| {
        let request = server
            .post(&format!("/v1/events/{event}/redeliver"))
            .header("authorization", format!("APIKey {key}"));
        Reply::of(request)
    };
    assert_eq!(redeliver(KEY_B).await.status, 404, "not b's");
    assert_eq!(redeliver(KEY_A).await.status, 202);
    until(&inbox, |inbox| inbox.delivered().len() == 2).await;
    assert_eq!(inbox.lock().unwrap().got[1].id, event.to_string(), "sent again, same id");
    let deliveries = get(&server, "/v1/webhook/deliveries", KEY_B).await.json();
    assert_eq!(deliveries["objects"], serde_json::json!([]), "{deliveries}");
    assert_eq!(get(&server, "/v1/events?after=x", KEY_A).await.status, 400);
    assert_eq!(get(&server, "/v1/events", "not-a-key-0123456789abcdef").await.status, 401);
}

#[test]
fn a_webhook_at_a_private_address_is_refused_at_start_up_unless_allowed() {
    let config = |allow: bool| {
        let toml = format!(
            "allow_private_upstreams = {allow}\n[[apps]]\nclient_id = \"a\"\ntrusted_domains = [\"localhost:3000\"]\n\
             webhook_url = \"https://10.1.2.3/hook\"\nwebhook_secret = \"{SECRET}\"\n"
        );
        let database = authenticator_server::store::Database::Sqlite("unused.sqlite".into());
        Config::from_toml(&toml, "127.0.0.1:0".parse().unwrap(), database)
    };
    let error = config(false).unwrap_err().to_string();
    assert!(error.contains("apps[0]") && error.contains("webhook_url"), "{error}");
    let allowed = config(true).unwrap();
    let webhook: &Webhook = allowed.apps[0].webhook.as_ref().unwrap();
    assert_eq!(webhook.url.as_str(), "https://10.1.2.3/hook");
}

/// A keyed upstream: `GET /me` (the check) and `GET /api/files` (the API) take
/// `Bearer <key>` for the key it accepts now; it counts the checks, and can refuse the next
/// API calls whatever the key (a passing refusal), and its check can be down (503).
#[derive(Default)]
struct Keyed {
    accepted: Mutex<String>,
    checks: std::sync::atomic::AtomicUsize,
    refuse_next: std::sync::atomic::AtomicUsize,
    check_down: std::sync::atomic::AtomicBool,
}

/// Starts [`Keyed`] on 127.0.0.1, accepting `right-key`: its address and state.
async fn keyed_upstream() -> (std::net::SocketAddr, Arc<Keyed>) {
    use axum::http::{HeaderMap, StatusCode};
    use std::sync::atomic::Ordering;
    let state = Arc::new(Keyed::default());
    *state.accepted.lock().unwrap() = "right-key".into();
    let takes = |keyed: &Keyed, headers: &HeaderMap| {
        let given = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
        given == format!("Bearer {}", keyed.accepted.lock().unwrap())
    };
    let (me, api) = (state.clone(), state.clone());
    let router = axum::Router::new()
        .route(
            "/me",
            axum::routing::get(move |headers: HeaderMap| async move {
                me.checks.fetch_add(1, Ordering::SeqCst);
                // A check takes a moment, so that concurrent refusals find it under way.
                tokio::time::sleep(Duration::from_millis(200)).await;
                if me.check_down.load(Ordering::SeqCst) {
                    return Err(StatusCode::SERVICE_UNAVAILABLE);
                }
                match takes(&me, &headers) {
                    true => {
                        Ok(axum::Json(serde_json::json!({ "sub": "key.user", "email": "key.user@x.test" })))
                    }
                    false => Err(StatusCode::UNAUTHORIZED),
                }
            }),
        )
        .route(
            "/api/files",
            axum::routing::get(move |headers: HeaderMap| async move {
                let passing =
                    api.refuse_next.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
                match passing.is_err() && takes(&api, &headers) {
                    true => (StatusCode::OK, "[]"),
                    false => (StatusCode::UNAUTHORIZED, "{\"error\":\"bad key\"}"),
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (addr, state)
}

/// The binding cookie of the one browser the pop-up tests connect from.
const BROWSER: &str =
    "__Host-kloudless-browser=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

/// A server with [`config`] and the API-key service `keyed` at `upstream`, and an account of
/// app `a` connected there through the pop-up's form with `right-key`: the server and the
/// account's id.
async fn with_keyed_account(url: &str, upstream: std::net::SocketAddr) -> (TestServer, i64) {
    let toml = format!(
        "public_url = \"https://auth.example.test\"\n{}[[providers]]\nid = \"keyed\"\nkind = \"api_key\"\nname = \"Keyed\"\ncategory = \"crm\"\n\
         check_url = \"http://{upstream}/me\"\napi_base = \"http://{upstream}/api\"\n",
        config(url)
    );
    let server = TestServer::with(&toml).browser(BROWSER).start().await;
    let origin = "http://localhost:3000";
    let page = server.get(&format!("/v1/oauth?{}", common::popup_query("a", origin, "keyed", &[])));
    assert_eq!(Reply::of(page).await.status, 200);
    let extra = [("service", "keyed"), ("action", "connect"), ("api_key", "right-key")];
    let form = server
        .post("/v1/oauth")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(common::popup_query("a", origin, "keyed", &extra));
    let reply = Reply::of(form).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let accounts = get(&server, "/v1/accounts/", KEY_A).await.json();
    let id = accounts["objects"][0]["id"].as_i64().unwrap();
    (server, id)
}

/// A pass-through call of app `a` to `/files` on the account `id`: the reply.
async fn raw_call(server: &TestServer, id: i64) -> Reply {
    let request = server
        .get(&format!("/v1/accounts/{id}/raw"))
        .header("authorization", format!("APIKey {KEY_A}"))
        .header("x-kloudless-raw-uri", "/files");
    Reply::of(request).await
}

#[tokio::test]
async fn a_key_the_upstream_stops_taking_makes_one_check_and_one_credentials_invalid_event() {
    use std::sync::atomic::Ordering;
    let (url, inbox) = receiver().await;
    let (upstream, keyed) = keyed_upstream().await;
    let (server, id) = with_keyed_account(&url, upstream).await;
    assert_eq!(keyed.checks.swap(0, Ordering::SeqCst), 1, "connecting checked the key once");
    assert_eq!(raw_call(&server, id).await.status, 200);
    *keyed.accepted.lock().unwrap() = "rotated-key".into();
    // 20 calls at once, half through a second instance on the same database.
    let second = server.another().await;
    let calls = (0..20).map(|n| raw_call(if n % 2 == 0 { &server } else { &second }, id));
    let replies = futures_util::future::join_all(calls).await;
    for reply in &replies {
        assert!(matches!(reply.status, 401), "{} {}", reply.status, reply.body);
    }
    assert!(replies.iter().any(|reply| reply.body.contains("bad key")), "the upstream's own 401 passed back");
    assert_eq!(keyed.checks.load(Ordering::SeqCst), 1, "20 refusals on two instances, one check");
    let account = get(&server, &format!("/v1/accounts/{id}/"), KEY_A).await.json();
    assert_eq!(account["active"], false, "{account}");
    let after = raw_call(&server, id).await;
    assert_eq!(after.status, 401);
    assert!(
        after.body.contains("account_inactive") && after.body.contains("credentials_invalid"),
        "{}",
        after.body
    );
    let kinds = [("account.connected".to_owned(), id), ("credentials.invalid".to_owned(), id)];
    assert_eq!(listed(&server, KEY_A).await, kinds, "one event, not account.inactive besides");
    let event = &get(&server, "/v1/events", KEY_A).await.json()["objects"][1];
    assert!(event["reason"].as_str().unwrap().starts_with("credentials_invalid: "), "{event}");
    assert_eq!(event["metadata"]["active"], false, "{event}");
    until(&inbox, |inbox| inbox.delivered().len() >= 2).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let delivered: Vec<String> = inbox.lock().unwrap().delivered().into_iter().map(|got| got.kind).collect();
    assert_eq!(delivered, ["account.connected", "credentials.invalid"]);
    assert_eq!(keyed.checks.load(Ordering::SeqCst), 1, "an inactive account is not checked again");
    second.stop().await;
}

#[tokio::test]
async fn a_passing_refusal_whose_check_passes_changes_nothing() {
    use std::sync::atomic::Ordering;
    let (url, _inbox) = receiver().await;
    let (upstream, keyed) = keyed_upstream().await;
    let (server, id) = with_keyed_account(&url, upstream).await;
    keyed.checks.store(0, Ordering::SeqCst);
    keyed.refuse_next.store(1, Ordering::SeqCst);
    assert_eq!(raw_call(&server, id).await.status, 401, "the upstream's refusal passed back");
    assert_eq!(keyed.checks.load(Ordering::SeqCst), 1, "checked");
    assert_eq!(raw_call(&server, id).await.status, 200, "still usable");
    let account = get(&server, &format!("/v1/accounts/{id}/"), KEY_A).await.json();
    assert_eq!(account["active"], true, "{account}");
    assert_eq!(listed(&server, KEY_A).await, [("account.connected".to_owned(), id)], "no event");
}

#[tokio::test]
async fn a_check_the_upstream_cannot_answer_does_not_make_the_account_inactive() {
    use std::sync::atomic::Ordering;
    let (url, _inbox) = receiver().await;
    let (upstream, keyed) = keyed_upstream().await;
    let (server, id) = with_keyed_account(&url, upstream).await;
    keyed.checks.store(0, Ordering::SeqCst);
    *keyed.accepted.lock().unwrap() = "rotated-key".into();
    keyed.check_down.store(true, Ordering::SeqCst);
    assert_eq!(raw_call(&server, id).await.status, 401);
    assert_eq!(keyed.checks.load(Ordering::SeqCst), 1, "checked");
    let account = get(&server, &format!("/v1/accounts/{id}/"), KEY_A).await.json();
    assert_eq!(account["active"], true, "an outage is not an invalid key: {account}");
    assert_eq!(listed(&server, KEY_A).await, [("account.connected".to_owned(), id)], "no event");
}

/// GitHub's and Slack's revocation secrets in [`with_notices`].
const GITHUB_SECRET: &str = "github-webhook-secret";
const SLACK_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

/// A server with [`config`] and GitHub and Slack enabled with their revocation secrets.
async fn with_notices(url: &str) -> (TestServer, Store) {
    let toml = format!(
        "{}[[providers]]\nid = \"github\"\nclient_id = \"c\"\nclient_secret = \"s\"\nrevocation_secret = \"{GITHUB_SECRET}\"\n\
         [[providers]]\nid = \"slack\"\nclient_id = \"c\"\nclient_secret = \"s\"\nrevocation_secret = \"{SLACK_SECRET}\"\n",
        config(url)
    );
    let server = TestServer::start(&toml).await;
    let store = Store::open(server.database()).await.unwrap();
    (server, store)
}

/// The hex HMAC-SHA256 of `message` under `secret`, as the upstreams sign.
fn hex_hmac(secret: &str, message: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

/// GitHub's `github_app_authorization` notice (delivery `delivery`) that the user `sender`
/// revoked the app, as `event`, signed under `secret`, posted: the reply.
async fn github_notice(server: &TestServer, secret: &str, delivery: &str, event: &str, sender: u64) -> Reply {
    let body = serde_json::json!({ "action": "revoked", "sender": { "login": "octocat", "id": sender } })
        .to_string();
    let request = server
        .post("/v1/upstream/github/revocations")
        .header("content-type", "application/json")
        .header("x-github-event", event)
        .header("x-github-delivery", delivery)
        .header("x-hub-signature-256", format!("sha256={}", hex_hmac(secret, body.as_bytes())))
        .body(body);
    Reply::of(request).await
}

/// A Slack Events API request with `body` sent at `at` (seconds), signed under `secret`: the
/// reply.
async fn slack_notice(server: &TestServer, secret: &str, at: u64, body: &serde_json::Value) -> Reply {
    let body = body.to_string();
    let signature = hex_hmac(secret, format!("v0:{at}:{body}").as_bytes());
    let request = server
        .post("/v1/upstream/slack/revocations")
        .header("content-type", "application/json")
        .header("x-slack-request-timestamp", at.to_string())
        .header("x-slack-signature", format!("v0={signature}"))
        .body(body);
    Reply::of(request).await
}

/// The seconds since the epoch now.
fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

#[tokio::test]
async fn githubs_signed_revocation_deletes_the_users_accounts_once() {
    let (url, inbox) = receiver().await;
    let (server, store) = with_notices(&url).await;
    let revoked = connect_at(&store, "a", "github", "583231").await;
    let in_b = connect_at(&store, "b", "github", "583231").await;
    let other = connect_at(&store, "a", "github", "1").await;
    let connected = |id| ("account.connected".to_owned(), id);

    let forged = github_notice(&server, "not-the-secret", "d-1", "github_app_authorization", 583231).await;
    assert_eq!(forged.status, 401, "{}", forged.body);
    assert!(forged.body.contains("invalid_signature"), "{}", forged.body);
    assert!(store.account(revoked).await.unwrap().is_some(), "nothing changed");

    let reply = github_notice(&server, GITHUB_SECRET, "d-1", "github_app_authorization", 583231).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["deleted"], 2, "in every app");
    assert!(store.account(revoked).await.unwrap().is_none() && store.account(in_b).await.unwrap().is_none());
    assert!(store.account(other).await.unwrap().is_some(), "another user's stays");
    let deleted = ("account.deleted".to_owned(), revoked);
    assert_eq!(listed(&server, KEY_A).await, [connected(revoked), connected(other), deleted.clone()]);
    let event = &get(&server, "/v1/events", KEY_A).await.json()["objects"][2];
    assert_eq!(event["reason"], "revoked_upstream", "{event}");
    assert_eq!(listed(&server, KEY_B).await, [connected(in_b), ("account.deleted".to_owned(), in_b)]);
    until(&inbox, |inbox| inbox.delivered().iter().any(|got| got.kind == "account.deleted")).await;

    // Sent again (a retry, a replay), even after the user connected again: nothing more.
    let again = connect_at(&store, "a", "github", "583231").await;
    let replay = github_notice(&server, GITHUB_SECRET, "d-1", "github_app_authorization", 583231).await;
    assert_eq!((replay.status, replay.json()["deleted"].as_i64()), (200, Some(0)), "{}", replay.body);
    assert!(store.account(again).await.unwrap().is_some(), "an old notice deletes nothing new");
    // Another event, and a user with no account here: 200, nothing done.
    let push = github_notice(&server, GITHUB_SECRET, "d-2", "push", 1).await;
    assert_eq!((push.status, push.json()["deleted"].as_i64()), (200, Some(0)), "{}", push.body);
    let unknown = github_notice(&server, GITHUB_SECRET, "d-3", "github_app_authorization", 4242).await;
    assert_eq!((unknown.status, unknown.json()["deleted"].as_i64()), (200, Some(0)), "{}", unknown.body);
    let events = listed(&server, KEY_A).await;
    assert_eq!(events.iter().filter(|(kind, _)| kind == "account.deleted").count(), 1, "{events:?}");
    assert!(store.account(other).await.unwrap().is_some());
}

#[tokio::test]
async fn slacks_signed_tokens_revoked_deletes_its_users_accounts_and_its_challenge_is_answered() {
    let (url, _inbox) = receiver().await;
    let (server, store) = with_notices(&url).await;
    let revoked = connect_at(&store, "a", "slack", "U1").await;
    let challenge = serde_json::json!({ "token": "t", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification" });
    let reply = slack_notice(&server, SLACK_SECRET, now_secs(), &challenge).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["challenge"], challenge["challenge"]);
    assert_eq!(slack_notice(&server, "wrong", now_secs(), &challenge).await.status, 401, "signed or nothing");

    let notice = serde_json::json!({
        "token": "t", "team_id": "T1", "api_app_id": "A1", "type": "event_callback", "event_id": "Ev1",
        "event_time": now_secs(), "event": { "type": "tokens_revoked", "tokens": { "oauth": ["U1"], "bot": ["B1"] } }
    });
    let stale = slack_notice(&server, SLACK_SECRET, now_secs() - 600, &notice).await;
    assert_eq!(stale.status, 401, "a timestamp 10 minutes old: {}", stale.body);
    assert_eq!(slack_notice(&server, "wrong", now_secs(), &notice).await.status, 401);
    assert!(store.account(revoked).await.unwrap().is_some(), "nothing changed");
    let reply = slack_notice(&server, SLACK_SECRET, now_secs(), &notice).await;
    assert_eq!((reply.status, reply.json()["deleted"].as_i64()), (200, Some(1)), "{}", reply.body);
    assert!(store.account(revoked).await.unwrap().is_none());
    let replay = slack_notice(&server, SLACK_SECRET, now_secs(), &notice).await;
    assert_eq!((replay.status, replay.json()["deleted"].as_i64()), (200, Some(0)), "{}", replay.body);
    let deleted: Vec<_> =
        listed(&server, KEY_A).await.into_iter().filter(|(kind, _)| kind == "account.deleted").collect();
    assert_eq!(deleted, [("account.deleted".to_owned(), revoked)], "one event");
    let unknown = Reply::of(server.post("/v1/upstream/gdrive/revocations").body("{}")).await;
    assert_eq!(unknown.status, 404, "a provider without notices: {}", unknown.body);
}

#[tokio::test]
async fn an_account_deleted_twice_at_once_gives_one_event() {
    let (url, _inbox) = receiver().await;
    let (server, store) = start(&url).await;
    for n in 0..5 {
        let id = connect_upstream(&store, &format!("user{n}")).await;
        let deletions = (0..8).map(|_| store.delete_account_because(id, Some("revoked_upstream")));
        let results = futures_util::future::join_all(deletions).await;
        let existed = results.into_iter().map(Result::unwrap).filter(|existed| *existed).count();
        assert_eq!(existed, 1, "one deletion found it");
    }
    let events = listed(&server, KEY_A).await;
    assert_eq!(events.iter().filter(|(kind, _)| kind == "account.deleted").count(), 5, "{events:?}");
}
