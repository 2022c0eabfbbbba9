//! Upstream tokens kept fresh, over real HTTP against a small local OAuth token endpoint that
//! counts its refreshes and rotates refresh tokens: an expired access token is refreshed once
//! for 20 concurrent callers, the rotated refresh token is saved with it, a reply without one
//! keeps the old, and invalid_grant makes the account inactive with no retry. The background
//! sweep refreshes idle accounts only, once each even with two instances on one database or
//! racing requests' refreshes.

mod common;

use authenticator_server::config::Config;
use authenticator_server::providers::client::Tokens;
use authenticator_server::secrets::SecretKey;
use authenticator_server::store::{Store, UpstreamAccount};
use common::TestServer;
use common::acme::{self, AcmeAccount, HEX, KEY};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// The upstream's state: the refresh tokens it honours now, how many refreshes it answered,
/// whether it rotates refresh tokens.
#[derive(Default)]
struct Upstream {
    valid: HashSet<String>,
    refreshes: usize,
    rotate: bool,
    /// Every token request, answered or refused.
    requests: usize,
    /// The refresh tokens it answered, in order.
    refreshed: Vec<String>,
    /// The Authorization headers the API saw.
    api_calls: Vec<String>,
    /// Calls that reached a path outside the API base.
    secret_hits: usize,
    /// Calls to a path no route has.
    unrouted_hits: usize,
    /// Whether the token endpoint takes our client's credentials only by HTTP Basic (RFC 6749
    /// §2.3.1), refusing them in the form body with 401 `invalid_client`.
    basic_only: bool,
    /// Whether it takes them only in the form body (`client_secret_post`), refusing HTTP Basic.
    post_only: bool,
    /// Its discovery document's `token_endpoint_auth_methods_supported` (`None`: left out).
    auth_methods: Option<Vec<&'static str>>,
    /// When set, how the token endpoint fails every request (counted in `requests`).
    failure: Option<Failure>,
}

/// A token endpoint's failure: after `delay`, `status` with the JSON `reply`.
#[derive(Clone)]
struct Failure {
    status: u16,
    reply: Value,
    delay: std::time::Duration,
}

/// The HTTP Basic credentials of the tests' OAuth app (`our-app`, `s3cr3t-value`).
const OUR_APP_BASIC: &str = "Basic b3VyLWFwcDpzM2NyM3QtdmFsdWU=";

async fn upstream(valid: &str, rotate: bool) -> (String, Arc<Mutex<Upstream>>) {
    let state = Arc::new(Mutex::new(Upstream {
        valid: HashSet::from([valid.to_owned()]),
        refreshes: 0,
        rotate,
        ..Default::default()
    }));
    let shared = state.clone();
    let api = state.clone();
    let secret = state.clone();
    let unrouted = state.clone();
    let discovery = state.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let issuer = base.clone();
    let router = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            axum::routing::get(move || async move {
                let mut document = json!({
                    "issuer": issuer, "authorization_endpoint": format!("{issuer}/auth"),
                    "token_endpoint": format!("{issuer}/token"), "userinfo_endpoint": format!("{issuer}/me"),
                });
                if let Some(methods) = &discovery.lock().unwrap().auth_methods {
                    document["token_endpoint_auth_methods_supported"] = json!(methods);
                }
                axum::Json(document)
            }),
        )
        .route(
            "/api/echo",
            axum::routing::any(move |method: axum::http::Method, headers: axum::http::HeaderMap, body: String| async move {
                let auth = headers.get("authorization").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
                api.lock().unwrap().api_calls.push(auth.clone());
                if auth != format!("Bearer ACCESS-{}", api.lock().unwrap().refreshes) {
                    return (axum::http::StatusCode::UNAUTHORIZED, [("etag", "\"e\"")], axum::Json(json!({ "error": "expired" })));
                }
                let content_type = headers.get("content-type").map(|v| v.to_str().unwrap().to_owned());
                let reply = json!({ "method": method.as_str(), "body": body, "content_type": content_type, "auth": auth });
                (axum::http::StatusCode::CREATED, [("etag", "\"v1\"")], axum::Json(reply))
            }),
        )
        .route(
            "/api/redirect",
            axum::routing::get(|| async { (axum::http::StatusCode::FOUND, [("location", "http://evil.test/steal")]) }),
        )
        .route(
            "/secret",
            axum::routing::any(move || async move {
                secret.lock().unwrap().secret_hits += 1;
                "secret"
            }),
        )
        .route(
        "/token",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| async move {
            let failure = shared.lock().unwrap().failure.clone();
            if let Some(Failure { status, reply, delay }) = failure {
                shared.lock().unwrap().requests += 1;
                tokio::time::sleep(delay).await;
                return (axum::http::StatusCode::from_u16(status).unwrap(), axum::Json(reply));
            }
            let form: HashMap<String, String> =
                form_urlencoded::parse(body.as_bytes()).into_owned().collect();
            // Slow enough that concurrent callers overlap the refresh.
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            let mut upstream = shared.lock().unwrap();
            upstream.requests += 1;
            let basic = headers.get("authorization").is_some_and(|v| v == OUR_APP_BASIC);
            let posted = form.get("client_secret").is_some_and(|secret| secret == "s3cr3t-value");
            let refused = (upstream.basic_only && (!basic || form.contains_key("client_secret")))
                || (upstream.post_only && (!posted || headers.contains_key("authorization")));
            if refused {
                let error = json!({ "error": "invalid_client", "error_description": "client authentication failed" });
                return (axum::http::StatusCode::UNAUTHORIZED, axum::Json(error));
            }
            let presented = form.get("refresh_token").cloned().unwrap_or_default();
            if form.get("grant_type").map(String::as_str) != Some("refresh_token")
                || !upstream.valid.contains(&presented)
            {
                let error =
                    json!({ "error": "invalid_grant", "error_description": "grant request is invalid" });
                return (axum::http::StatusCode::BAD_REQUEST, axum::Json(error));
            }
            upstream.refreshes += 1;
            upstream.refreshed.push(presented.clone());
            let n = upstream.refreshes;
            let mut reply =
                json!({ "access_token": format!("ACCESS-{n}"), "token_type": "Bearer", "expires_in": 3600 });
            if upstream.rotate {
                upstream.valid.remove(&presented);
                upstream.valid.insert(format!("REFRESH-{n}"));
                reply["refresh_token"] = json!(format!("REFRESH-{n}"));
            }
            (axum::http::StatusCode::OK, axum::Json(reply))
        }),
    )
    .fallback(move || async move {
        unrouted.lock().unwrap().unrouted_hits += 1;
        axum::http::StatusCode::NOT_FOUND
    });
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (base, state)
}

/// The server, its database opened a second time, and the account.
type Running = AcmeAccount;

/// A server with provider `acme` at `base` and an `acme` account of app `a` whose access token
/// expired a minute ago.
async fn start(base: &str, refresh_token: &str) -> Running {
    start_expiring(base, refresh_token, -60).await
}

/// [`start`] with the access token expiring `in_secs` from now.
async fn start_expiring(base: &str, refresh_token: &str, in_secs: i64) -> Running {
    start_with(base, refresh_token, in_secs, "").await
}

/// [`start_expiring`] with this `[refresh]` table (the sweep's settings).
async fn start_with(base: &str, refresh_token: &str, in_secs: i64, refresh: &str) -> Running {
    start_tuned(base, refresh_token, in_secs, refresh, |_| {}).await
}

/// [`start_with`], its configuration changed by `tune` first; apps `a` and `b` (API key
/// `{KEY}-b`) may read their accounts' upstream credentials.
async fn start_tuned(
    base: &str,
    refresh_token: &str,
    in_secs: i64,
    refresh: &str,
    tune: impl FnOnce(&mut Config),
) -> Running {
    let settings = format!(
        "[refresh]\n{refresh}\n\
         [[apps]]\nclient_id = \"b\"\ntrusted_domains = [\"localhost:3001\"]\napi_key = \"{KEY}-b\"\nallow_credentials = true\n"
    );
    let endpoints = format!(
        "authorization_url = \"{base}/auth\"\ntoken_url = \"{base}/token\"\nidentity_url = \"{base}/me\"\napi_base = \"{base}/api\"\n"
    );
    let allow_credentials = |config: &mut Config| {
        config.apps.iter_mut().for_each(|app| app.allow_credentials = true);
        tune(config);
    };
    acme::start_tuned(&settings, &endpoints, &expiring(refresh_token, in_secs), allow_credentials).await
}

/// Upstream tokens whose access token `ACCESS-0` expires `in_secs` from now.
fn expiring(refresh_token: &str, in_secs: i64) -> Tokens {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    Tokens {
        access_token: "ACCESS-0".to_owned(),
        refresh_token: Some(refresh_token.to_owned()),
        expires_at: Some((now as i64 + in_secs) as u64),
        scope: None,
        hostname: None,
        instance_url: None,
        site: None,
    }
}

/// Connects the `acme` account of app `a` and upstream user `subject`, with an access token
/// expiring `in_secs` from now; its id.
async fn connect(store: &Store, subject: &str, refresh_token: &str, in_secs: i64) -> i64 {
    let tokens = expiring(refresh_token, in_secs);
    let sealed = SecretKey::from_hex(HEX)
        .unwrap()
        .seal(&serde_json::to_vec(&tokens).unwrap(), format!("a\nacme\n{subject}").as_bytes())
        .unwrap();
    let account = UpstreamAccount {
        client_id: "a",
        service: "acme",
        subject,
        login: "ann",
        admin: false,
        sealed: &sealed,
        app: Default::default(),
        refreshable: true,
    };
    store.connect_upstream("acme:normal.storage", account).await.unwrap().0
}

async fn get(running: &Running, path: &str, key: &str) -> (u16, Value) {
    let reply = running
        .server
        .http()
        .get(running.server.url(path))
        .header("Authorization", format!("APIKey {key}"))
        .send()
        .await
        .unwrap();
    let status = reply.status().as_u16();
    (status, reply.json().await.unwrap_or(Value::Null))
}

/// The tokens stored for the account now.
async fn stored(running: &Running) -> Tokens {
    let sealed = running.store.upstream_credentials(running.account).await.unwrap().unwrap();
    serde_json::from_slice(&SecretKey::from_hex(HEX).unwrap().open(&sealed, b"a\nacme\nu1").unwrap()).unwrap()
}

#[tokio::test]
async fn twenty_concurrent_callers_after_expiry_share_one_refresh_and_the_rotated_token_is_saved() {
    let (base, upstream) = upstream("REFRESH-0", true).await;
    let running = Arc::new(start(&base, "REFRESH-0").await);
    let path = format!("/v1/accounts/{}/credentials/", running.account);
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let (running, path) = (running.clone(), path.clone());
            tokio::spawn(async move { get(&running, &path, KEY).await })
        })
        .collect();
    for call in calls {
        let (status, body) = call.await.unwrap();
        assert_eq!((status, body["access_token"].as_str()), (200, Some("ACCESS-1")), "{body}");
    }
    assert_eq!(upstream.lock().unwrap().refreshes, 1, "exactly one upstream refresh");
    let tokens = stored(&running).await;
    assert_eq!(
        (tokens.access_token.as_str(), tokens.refresh_token.as_deref()),
        ("ACCESS-1", Some("REFRESH-1"))
    );
    let (_, again) = get(&running, &path, KEY).await;
    assert_eq!(again["access_token"], "ACCESS-1", "a fresh token is not refreshed again");
    assert_eq!(upstream.lock().unwrap().refreshes, 1);
}

/// A custom provider configured without `client_auth` authenticates by HTTP Basic, which RFC
/// 6749 §2.3.1 makes every token endpoint take: one that refuses credentials in the body is
/// refreshed.
#[tokio::test]
async fn by_default_a_token_endpoint_taking_only_basic_authentication_refreshes() {
    let (base, upstream) = upstream("REFRESH-0", true).await;
    upstream.lock().unwrap().basic_only = true;
    let running = start(&base, "REFRESH-0").await;
    let (status, body) = get(&running, &format!("/v1/accounts/{}/credentials/", running.account), KEY).await;
    assert_eq!((status, body["access_token"].as_str()), (200, Some("ACCESS-1")), "{body}");
    assert_eq!(upstream.lock().unwrap().refreshes, 1);
}

/// An `oidc` provider configured without `client_auth` authenticates as its discovery document
/// lists: one listing only `client_secret_post` (and refusing Basic) gets the credentials in the
/// form body; one listing none (the specification's default) gets HTTP Basic.
#[tokio::test]
async fn an_oidc_provider_is_refreshed_with_the_client_authentication_its_discovery_lists() {
    for (methods, post_only) in [(Some(vec!["client_secret_post"]), true), (None, false)] {
        let (base, upstream) = upstream("REFRESH-0", true).await;
        {
            let mut upstream = upstream.lock().unwrap();
            (upstream.auth_methods, upstream.post_only, upstream.basic_only) =
                (methods.clone(), post_only, !post_only);
        }
        let issuer = base.clone();
        let oidc = move |config: &mut Config| {
            let provider = format!(
                "id = \"acme\"\nkind = \"oidc\"\nname = \"Acme\"\ncategory = \"storage\"\n\
                 client_id = \"our-app\"\nclient_secret = \"s3cr3t-value\"\nissuer = \"{issuer}\"\n"
            );
            let provider = toml::from_str(&provider).unwrap();
            config.services = authenticator_server::providers::resolve(&[provider]).unwrap();
        };
        let running = start_tuned(&base, "REFRESH-0", -60, "", oidc).await;
        let path = format!("/v1/accounts/{}/credentials/", running.account);
        let (status, body) = get(&running, &path, KEY).await;
        assert_eq!((status, body["access_token"].as_str()), (200, Some("ACCESS-1")), "{methods:?}: {body}");
    }
}

#[tokio::test]
async fn a_reply_without_a_refresh_token_keeps_the_old_one() {
    let (base, upstream) = upstream("REFRESH-0", false).await;
    let running = start(&base, "REFRESH-0").await;
    let (status, body) = get(&running, &format!("/v1/accounts/{}/credentials/", running.account), KEY).await;
    assert_eq!((status, body["access_token"].as_str()), (200, Some("ACCESS-1")));
    let tokens = stored(&running).await;
    assert_eq!(tokens.refresh_token.as_deref(), Some("REFRESH-0"));
    assert_eq!(upstream.lock().unwrap().refreshes, 1);
}

#[tokio::test]
async fn a_refused_grant_makes_the_account_inactive_with_its_reason_and_is_not_tried_again() {
    let (base, upstream) = upstream("SOMETHING-ELSE", true).await;
    let running = start(&base, "REVOKED-0").await;
    let path = format!("/v1/accounts/{}/credentials/", running.account);
    for _ in 0..3 {
        let (status, body) = get(&running, &path, KEY).await;
        assert_eq!((status, body["error"].as_str()), (401, Some("account_inactive")), "{body}");
        assert!(body["error_description"].as_str().unwrap().contains("invalid_grant"));
    }
    let (status, account) = get(&running, &format!("/v1/accounts/{}/", running.account), KEY).await;
    assert_eq!((status, account["active"].as_bool()), (200, Some(false)));
    assert!(account["inactive_reason"].as_str().unwrap().starts_with("invalid_grant"), "{account}");
    assert_eq!(upstream.lock().unwrap().refreshes, 0);
}

/// A token endpoint that answers every request, after `delay`, with `status` and `reply`.
async fn failing_token_endpoint(status: u16, reply: Value, delay: std::time::Duration) -> String {
    let status = axum::http::StatusCode::from_u16(status).unwrap();
    let router = axum::Router::new().route(
        "/token",
        axum::routing::post(move || async move {
            tokio::time::sleep(delay).await;
            (status, axum::Json(reply))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    base
}

#[tokio::test]
async fn a_failed_refresh_is_a_502_and_only_one_that_timed_out_a_504() {
    // The upstream's own words do not make a time-out: it answered.
    let said = json!({ "error": "temporarily_unavailable", "error_description": "Our database did not answer in time." });
    let base = failing_token_endpoint(503, said, std::time::Duration::ZERO).await;
    let running = start(&base, "REFRESH-0").await;
    let path = format!("/v1/accounts/{}/credentials/", running.account);
    let (status, body) = get(&running, &path, KEY).await;
    assert_eq!((status, body["error"].as_str()), (502, Some("temporarily_unavailable")), "{body}");
    assert_eq!(body["error_description"], "Our database did not answer in time.");

    let slow = json!({ "access_token": "late", "token_type": "Bearer" });
    let base = failing_token_endpoint(200, slow, std::time::Duration::from_secs(3)).await;
    let one_second = |config: &mut Config| config.upstream_timeout = std::time::Duration::from_secs(1);
    let running = start_tuned(&base, "REFRESH-0", -60, "", one_second).await;
    let path = format!("/v1/accounts/{}/credentials/", running.account);
    let (status, body) = get(&running, &path, KEY).await;
    assert_eq!((status, body["error"].as_str()), (504, Some("temporarily_unavailable")), "{body}");
}

#[tokio::test]
async fn credentials_go_only_to_an_app_allowed_them_and_never_to_another_app() {
    let (base, _upstream) = upstream("REFRESH-0", true).await;
    let running = start(&base, "REFRESH-0").await;
    let path = format!("/v1/accounts/{}/credentials/", running.account);
    let (status, _) = get(&running, &path, &format!("{KEY}-b")).await;
    assert_eq!(status, 404, "another app's account is not found, even for an app allowed credentials");
    let (status, _) = get(&running, "/v1/accounts/9999/credentials/", KEY).await;
    assert_eq!(status, 404);
}

async fn raw(
    running: &Running,
    method: &str,
    uri: &str,
    body: &str,
) -> (u16, HashMap<String, String>, String) {
    raw_at(&running.server, running.account, method, uri, body).await
}

/// A raw call of app `a` on `account` through `server` (any instance): status, headers, body.
async fn raw_at(
    server: &TestServer,
    account: i64,
    method: &str,
    uri: &str,
    body: &str,
) -> (u16, HashMap<String, String>, String) {
    let reply = server
        .http()
        .post(server.url(&format!("/v1/accounts/{account}/raw")))
        .header("Authorization", format!("APIKey {KEY}"))
        .header("X-Kloudless-Raw-URI", uri)
        .header("X-Kloudless-Raw-Method", method)
        .header("Content-Type", "text/plain; charset=utf-8")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = reply.status().as_u16();
    let headers =
        reply.headers().iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned())).collect();
    (status, headers, reply.text().await.unwrap())
}

#[tokio::test]
async fn a_raw_call_after_expiry_is_refreshed_once_and_passes_method_body_and_reply_through() {
    let (base, upstream) = upstream("REFRESH-0", true).await;
    let running = start(&base, "REFRESH-0").await;
    let (status, headers, body) = raw(&running, "PUT", "/echo?x=1", "hello").await;
    assert_eq!(status, 201, "{body}");
    let reply: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(reply["method"], "PUT");
    assert_eq!(reply["body"], "hello");
    assert_eq!(reply["content_type"], "text/plain; charset=utf-8");
    assert_eq!(reply["auth"], "Bearer ACCESS-1", "the refreshed upstream token, injected");
    assert_eq!(headers["etag"], "\"v1\"");
    assert_eq!(upstream.lock().unwrap().refreshes, 1);
}

#[tokio::test]
async fn a_401_from_upstream_is_refreshed_once_and_retried_once() {
    let (base, upstream) = upstream("REFRESH-0", true).await;
    // The API accepts only `ACCESS-{refreshes}`: counting from 5, it refuses the stored,
    // unexpired ACCESS-0 as if revoked early, and accepts what the next refresh issues.
    upstream.lock().unwrap().refreshes = 5;
    let running = start_expiring(&base, "REFRESH-0", 3600).await;
    let (status, _, body) = raw(&running, "GET", "/echo", "").await;
    assert_eq!(status, 201, "{body}");
    let calls = upstream.lock().unwrap().api_calls.clone();
    assert_eq!(calls, ["Bearer ACCESS-0", "Bearer ACCESS-6"], "one call, one refresh, one retry");
    assert_eq!(upstream.lock().unwrap().refreshes, 6);
}

#[tokio::test]
async fn raw_calls_reach_the_providers_api_only() {
    let (base, upstream) = upstream("REFRESH-0", true).await;
    let running = start_expiring(&base, "REFRESH-0", 3600).await;
    let host = base.trim_start_matches("http://");
    for uri in [
        format!("{base}/secret"),
        format!("//{host}/secret"),
        "http://evil.test/x".to_owned(),
        "/../secret".to_owned(),
        "/%2e%2e/secret".to_owned(),
        "/..%2fsecret".to_owned(),
        "/%252e%252e/secret".to_owned(),
        "/\\evil.test".to_owned(),
        "echo".to_owned(),
    ] {
        let (status, _, body) = raw(&running, "GET", &uri, "").await;
        assert_eq!(status, 400, "{uri}: {body}");
    }
    let (status, _, body) = raw(&running, "GET", "/redirect", "").await;
    assert_eq!(
        (status, body.contains("upstream_redirect")),
        (502, true),
        "a redirect is not followed: {body}"
    );
    let (status, _, _) = raw(&running, "TRACE", "/echo", "").await;
    assert_eq!(status, 400);
    assert_eq!(upstream.lock().unwrap().secret_hits, 0, "nothing outside the API base was reached");
}

/// Makes 20 raw calls at once; each must succeed.
async fn twenty_concurrent_raw_calls(running: &Arc<Running>) {
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let running = running.clone();
            tokio::spawn(async move { raw(&running, "GET", "/echo", "").await })
        })
        .collect();
    for call in calls {
        let (status, _, body) = call.await.unwrap();
        assert_eq!(status, 201, "{body}");
    }
}

/// `..` and `.` segments with path parameters (`/..;/x`), which Tomcat and Spring resolve
/// outside the API base, are refused in every spelling and reach nothing upstream.
#[tokio::test]
async fn dot_segments_with_path_parameters_are_refused_and_reach_nothing() {
    let (base, upstream) = upstream("REFRESH-0", true).await;
    let running = start_expiring(&base, "REFRESH-0", 3600).await;
    for uri in
        ["/..;/secret", "/.;/echo", "/echo/..;jsessionid=1/../secret", "/%2e%2e;/secret", "/..%3B/secret"]
    {
        let (status, _, body) = raw(&running, "GET", uri, "").await;
        assert_eq!((status, body.contains("invalid_request")), (400, true), "{uri}: {body}");
    }
    let upstream = upstream.lock().unwrap();
    assert_eq!(
        (upstream.api_calls.len(), upstream.secret_hits, upstream.unrouted_hits),
        (0, 0, 0),
        "nothing was sent upstream"
    );
}

/// The upstream access token is never cached on the way to the app's backend.
#[tokio::test]
async fn credentials_are_answered_with_no_store() {
    let (base, _upstream) = upstream("REFRESH-0", true).await;
    let running = start(&base, "REFRESH-0").await;
    let reply = running
        .server
        .http()
        .get(running.server.url(&format!("/v1/accounts/{}/credentials/", running.account)))
        .header("Authorization", format!("APIKey {KEY}"))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    assert_eq!(reply.headers().get("cache-control").map(|v| v.to_str().unwrap()), Some("no-store"));
}

#[tokio::test]
async fn twenty_concurrent_raw_calls_after_expiry_cause_one_refresh_and_all_succeed() {
    let (base, upstream) = upstream("REFRESH-0", true).await;
    let running = Arc::new(start(&base, "REFRESH-0").await);
    twenty_concurrent_raw_calls(&running).await;
    let upstream = upstream.lock().unwrap();
    assert_eq!(upstream.refreshes, 1);
    assert!(
        upstream.api_calls.iter().all(|auth| auth == "Bearer ACCESS-1"),
        "no call with the expired token"
    );
}

/// The sweep every second (on average); accounts idle for a day are refreshed.
const SWEEP: &str = "sweep_interval_secs = 1";

/// Makes two days pass for the stored tokens of `accounts`: they were issued that long ago.
async fn idle(running: &Running, accounts: &[i64]) {
    let ids = accounts.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "UPDATE upstream_credentials SET refreshed_at = refreshed_at - 172800000 WHERE account_id IN ({ids})"
    );
    common::execute(running.server.database(), &sql).await;
}

/// Waits (up to 10 s) until `done` holds for the upstream, then lets three more rounds pass
/// (each at most 1.5 s apart) for anything that should not happen to have a chance to.
async fn settle(upstream: &Arc<Mutex<Upstream>>, done: impl Fn(&Upstream) -> bool) {
    for _ in 0..100 {
        if done(&upstream.lock().unwrap()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(4500)).await;
}

#[tokio::test]
async fn the_sweep_refreshes_an_idle_account_without_any_call_but_not_a_recent_or_inactive_one() {
    let (base, upstream) = upstream("REFRESH-0", true).await;
    upstream.lock().unwrap().valid.extend(["RECENT-0".to_owned(), "INACTIVE-0".to_owned()]);
    let running = start_with(&base, "REFRESH-0", 3600, SWEEP).await;
    connect(&running.store, "u2", "RECENT-0", 3600).await;
    let inactive = connect(&running.store, "u3", "INACTIVE-0", 3600).await;
    running.store.deactivate(inactive, "invalid_grant: revoked").await.unwrap();
    idle(&running, &[running.account, inactive]).await;
    settle(&upstream, |upstream| upstream.requests > 0).await;
    {
        let upstream = upstream.lock().unwrap();
        assert_eq!(upstream.refreshed, ["REFRESH-0"], "the idle account only, once, over several rounds");
        assert_eq!(upstream.requests, 1);
        assert!(upstream.api_calls.is_empty(), "no API call was made");
    }
    let tokens = stored(&running).await;
    assert_eq!(
        (tokens.access_token.as_str(), tokens.refresh_token.as_deref()),
        ("ACCESS-1", Some("REFRESH-1")),
        "the rotated refresh token is saved"
    );
}

#[tokio::test]
async fn a_refused_grant_in_the_sweep_makes_the_account_inactive_and_is_not_tried_again() {
    let (base, upstream) = upstream("SOMETHING-ELSE", true).await;
    let running = start_with(&base, "REVOKED-0", 3600, SWEEP).await;
    idle(&running, &[running.account]).await;
    settle(&upstream, |upstream| upstream.requests > 0).await;
    assert_eq!(upstream.lock().unwrap().requests, 1, "one refusal, no retry in later rounds");
    let (status, account) = get(&running, &format!("/v1/accounts/{}/", running.account), KEY).await;
    assert_eq!((status, account["active"].as_bool()), (200, Some(false)));
    assert!(account["inactive_reason"].as_str().unwrap().starts_with("invalid_grant"), "{account}");
}

#[tokio::test]
async fn two_instances_sweeping_one_database_refresh_each_idle_account_once() {
    let (base, upstream) = upstream("R-u1", true).await;
    let running = start_with(&base, "R-u1", 3600, SWEEP).await;
    let _second = running.server.another().await;
    let mut accounts = vec![running.account];
    for subject in ["u2", "u3", "u4", "u5"] {
        upstream.lock().unwrap().valid.insert(format!("R-{subject}"));
        accounts.push(connect(&running.store, subject, &format!("R-{subject}"), 3600).await);
    }
    idle(&running, &accounts).await;
    settle(&upstream, |upstream| upstream.requests >= accounts.len()).await;
    let upstream = upstream.lock().unwrap();
    let mut refreshed = upstream.refreshed.clone();
    refreshed.sort();
    assert_eq!(refreshed, ["R-u1", "R-u2", "R-u3", "R-u4", "R-u5"], "each once");
    assert_eq!(upstream.requests, accounts.len(), "and nothing refused (no rotated token reused)");
}

#[tokio::test]
async fn raw_calls_during_a_sweeps_refresh_share_it() {
    let (base, upstream) = upstream("REFRESH-0", true).await;
    // Expired and idle: both the calls and the sweep want to refresh it.
    let running = Arc::new(start_with(&base, "REFRESH-0", -60, SWEEP).await);
    idle(&running, &[running.account]).await;
    // The sweep's refresh reached the upstream, which answers after 300 ms: call meanwhile.
    for _ in 0..300 {
        if upstream.lock().unwrap().requests > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(upstream.lock().unwrap().requests, 1, "the sweep refreshes the idle account");
    twenty_concurrent_raw_calls(&running).await;
    settle(&upstream, |_| true).await;
    let upstream = upstream.lock().unwrap();
    assert_eq!((upstream.refreshes, upstream.requests), (1, 1), "one refresh for the sweep and the calls");
    assert!(upstream.api_calls.iter().all(|auth| auth == "Bearer ACCESS-1"), "{:?}", upstream.api_calls);
}

#[tokio::test]
async fn a_sweep_after_raw_calls_refreshed_an_idle_account_leaves_it() {
    let (base, upstream) = upstream("REFRESH-0", true).await;
    let running = Arc::new(start_with(&base, "REFRESH-0", -60, SWEEP).await);
    idle(&running, &[running.account]).await;
    let calls: Vec<_> = (0..25)
        .map(|i| {
            let running = running.clone();
            tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(100 * i)).await;
                raw(&running, "GET", "/echo", "").await
            })
        })
        .collect();
    for call in calls {
        let (status, _, body) = call.await.unwrap();
        assert_eq!(status, 201, "{body}");
    }
    settle(&upstream, |_| true).await;
    let upstream = upstream.lock().unwrap();
    assert_eq!((upstream.refreshes, upstream.requests), (1, 1), "one refresh for the calls and the sweep");
    assert!(upstream.api_calls.iter().all(|auth| auth == "Bearer ACCESS-1"));
}

/// 20 concurrent raw calls over two instances while the token endpoint fails with `failure`
/// (its error `code`): one upstream refresh attempt, whose error every caller gets — the others
/// as a 503 with `Retry-After`, during the cooldown kept in the database. After the cooldown a
/// call tries again (and fails again); once the provider recovers, a call after the cooldown
/// refreshes and the account's health is reset.
async fn refused_refreshes_do_not_storm(failure: Failure, code: &str) {
    let (base, upstream) = upstream("REFRESH-0", true).await;
    upstream.lock().unwrap().failure = Some(failure);
    let one_second = |config: &mut Config| config.upstream_timeout = std::time::Duration::from_secs(1);
    let running = Arc::new(start_tuned(&base, "REFRESH-0", -60, "", one_second).await);
    let second = Arc::new(running.server.another().await);
    let calls: Vec<_> = (0..20)
        .map(|i| {
            let (running, second) = (running.clone(), second.clone());
            tokio::spawn(async move {
                let server = if i % 2 == 0 { &running.server } else { &*second };
                raw_at(server, running.account, "GET", "/echo", "").await
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for call in calls {
        let (status, headers, body) = call.await.unwrap();
        assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["error"], code, "{status} {body}");
        assert!(status != 503 || headers.contains_key("retry-after"), "{body}");
        statuses.push(status);
    }
    assert_eq!(upstream.lock().unwrap().requests, 1, "one refresh attempt for 20 calls: {statuses:?}");
    assert!(statuses.iter().filter(|&&s| s != 503).count() <= 1, "{statuses:?}");
    // The cooldown made to pass: the next call tries again, and fails again.
    let database = running.server.database().clone();
    let cooldown_over = "UPDATE upstream_credentials SET refresh_retry_at = 0";
    common::execute(&database, cooldown_over).await;
    let (status, _, body) = raw_at(&second, running.account, "GET", "/echo", "").await;
    assert_ne!(status, 201, "{body}");
    assert_eq!(upstream.lock().unwrap().requests, 2, "tried again after the cooldown");
    let health = running.store.stored_tokens(running.account).await.unwrap().unwrap().health;
    assert_eq!((health.failures, health.last_error.as_deref()), (2, Some(code)));
    assert!(health.retry_at.unwrap() > health.failed_at.unwrap(), "a new cooldown");
    // The provider recovers: after the cooldown, one call refreshes; the health is reset.
    upstream.lock().unwrap().failure = None;
    common::execute(&database, cooldown_over).await;
    let (status, _, body) = raw_at(&running.server, running.account, "GET", "/echo", "").await;
    assert_eq!(status, 201, "{body}");
    let counts = {
        let upstream = upstream.lock().unwrap();
        (upstream.requests, upstream.refreshes)
    };
    assert_eq!(counts, (3, 1));
    let health = running.store.stored_tokens(running.account).await.unwrap().unwrap().health;
    assert_eq!(health, authenticator_server::store::Health::default(), "reset by the success");
}

#[tokio::test]
async fn a_token_endpoint_failing_with_500_is_tried_once_for_twenty_calls_over_two_instances() {
    let failure = Failure { status: 500, reply: json!({}), delay: std::time::Duration::ZERO };
    refused_refreshes_do_not_storm(failure, "server_error").await;
}

#[tokio::test]
async fn a_token_endpoint_refusing_our_client_is_tried_once_for_twenty_calls_over_two_instances() {
    let reply = json!({ "error": "invalid_client", "error_description": "client authentication failed" });
    let failure = Failure { status: 401, reply, delay: std::time::Duration::ZERO };
    refused_refreshes_do_not_storm(failure, "invalid_client").await;
}

#[tokio::test]
async fn a_token_endpoint_timing_out_is_tried_once_for_twenty_calls_over_two_instances() {
    let reply = json!({ "access_token": "late", "token_type": "Bearer" });
    let failure = Failure { status: 200, reply, delay: std::time::Duration::from_secs(3) };
    refused_refreshes_do_not_storm(failure, "temporarily_unavailable").await;
}
