//! The pass-through API streams both bodies, over real HTTP against a small local provider: a
//! multi-MiB upload reaches the upstream intact and its first chunk arrives before the client
//! has sent the rest; a multi-MiB download reaches the client intact and its first chunk
//! arrives before the upstream has sent the rest; a body over `raw_max_body_bytes` is refused
//! (413) without reaching the upstream; a short body is sent again after a 401 and a streamed
//! one is not; a stalled upstream is a 504 within the upstream timeout, and a reply it stops
//! sending midway is cut short (an error for the client) within it too; every other route
//! keeps its 16 KiB limit. The headers in `X-Kloudless-Raw-Headers` reach the provider (50 of
//! them too); a name that would take over the upstream request, CR, LF or another control
//! character, or anything but a JSON object of strings is a 400, and a 100 KB object a 431, with
//! nothing sent to the provider.

mod common;

use authenticator_server::providers::client::Tokens;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode};
use common::acme::{self, AcmeAccount, KEY};
use futures_util::StreamExt;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// The largest request body the server under test passes on.
const MAX_BODY: u64 = 12 * 1024 * 1024;
/// The server's upstream timeout: long enough for this debug build's provider to make and hash
/// 8 MiB with the other tests running beside it.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(2);
/// A stalled transfer ends well before this (a few upstream timeouts), not at some other limit.
const WITHIN_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a test waits for what must happen before it calls the test failed.
const PATIENCE: Duration = Duration::from_secs(20);

/// What the local provider saw and is told.
#[derive(Default)]
struct Seen {
    /// Token refreshes answered.
    refreshes: usize,
    /// Each API call's Authorization header and (for complete bodies) the body's SHA-256.
    calls: Vec<(String, Option<String>)>,
    /// The first chunk of an upload arrived.
    first_chunk: Arc<Notify>,
    /// The client got the first chunk of a download.
    downloaded_some: Arc<Notify>,
    /// The request headers of each call to `headers`.
    headers: Vec<HeaderMap>,
}

/// `len` bytes that are not all alike.
fn content(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8 ^ (i >> 12) as u8).collect()
}

/// The provider: `/token` refreshes (the access token valid is `ACCESS-<refreshes>`), and under
/// `/api`: `upload` hashes the body as it streams in, `download/N` sends N MiB (its last
/// MiB only once the client got its first), `stall` never answers, `stall-midway` sends 1 MiB
/// and then nothing, `headers` keeps the request's headers; `sink` counts what it is sent and
/// `source/N` sends N MiB (for the benchmark).
async fn provider() -> (String, Arc<Mutex<Seen>>) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let (token, upload, download, headers) = (seen.clone(), seen.clone(), seen.clone(), seen.clone());
    let router = axum::Router::new()
        .route(
            "/token",
            axum::routing::post(move || async move {
                let mut seen = token.lock().unwrap();
                seen.refreshes += 1;
                let access = format!("ACCESS-{}", seen.refreshes);
                axum::Json(json!({ "access_token": access, "token_type": "Bearer", "expires_in": 3600 }))
            }),
        )
        .route(
            "/api/upload",
            axum::routing::put(move |headers: HeaderMap, body: Body| async move {
                let auth = headers["authorization"].to_str().unwrap().to_owned();
                let (valid, first_chunk) = {
                    let seen = upload.lock().unwrap();
                    (format!("Bearer ACCESS-{}", seen.refreshes), seen.first_chunk.clone())
                };
                let mut hash = Sha256::new();
                let mut len = 0;
                let mut chunks = body.into_data_stream();
                let mut complete = true;
                while let Some(chunk) = chunks.next().await {
                    let Ok(chunk) = chunk else {
                        complete = false;
                        break;
                    };
                    if len == 0 {
                        first_chunk.notify_one();
                    }
                    len += chunk.len();
                    hash.update(&chunk);
                }
                let digest = complete.then(|| hex::encode(hash.finalize()));
                upload.lock().unwrap().calls.push((auth.clone(), digest.clone()));
                if auth != valid {
                    return (StatusCode::UNAUTHORIZED, axum::Json(json!({ "error": "expired" })));
                }
                let content_type = headers.get("content-type").map(|v| v.to_str().unwrap().to_owned());
                (
                    StatusCode::CREATED,
                    axum::Json(json!({ "sha256": digest, "len": len, "type": content_type })),
                )
            }),
        )
        .route(
            "/api/download/{mib}",
            axum::routing::get(move |axum::extract::Path(mib): axum::extract::Path<usize>| async move {
                let downloaded_some = download.lock().unwrap().downloaded_some.clone();
                let data = Bytes::from(content(mib << 20));
                let first = data.slice(..(mib - 1) << 20);
                let last = data.slice((mib - 1) << 20..);
                let chunks = futures_util::stream::once(async move { Ok::<_, std::io::Error>(first) }).chain(
                    futures_util::stream::once(async move {
                        downloaded_some.notified().await;
                        Ok(last)
                    }),
                );
                (
                    [("content-type", "application/octet-stream"), ("x-secret", "not passed")],
                    Body::from_stream(chunks),
                )
            }),
        )
        .route(
            "/api/sink",
            axum::routing::put(|body: Body| async move {
                let mut chunks = body.into_data_stream();
                let mut len = 0;
                while let Some(Ok(chunk)) = chunks.next().await {
                    len += chunk.len();
                }
                axum::Json(json!({ "len": len }))
            }),
        )
        .route(
            "/api/source/{mib}",
            axum::routing::get(|axum::extract::Path(mib): axum::extract::Path<usize>| async move {
                Body::from_stream(mebibytes(mib).map(Ok::<_, std::io::Error>))
            }),
        )
        .route(
            "/api/stall-midway",
            axum::routing::get(|| async {
                let first = futures_util::stream::once(async {
                    Ok::<_, std::io::Error>(Bytes::from(content(1 << 20)))
                });
                Body::from_stream(first.chain(futures_util::stream::pending()))
            }),
        )
        .route(
            "/api/headers",
            axum::routing::any(move |received: HeaderMap| async move {
                headers.lock().unwrap().headers.push(received);
                StatusCode::NO_CONTENT
            }),
        )
        .route(
            "/api/stall",
            axum::routing::any(|| async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                "too late"
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (base, seen)
}

/// `mib` chunks of the same MiB.
fn mebibytes(mib: usize) -> impl futures_util::Stream<Item = Bytes> {
    let chunk = Bytes::from(content(1 << 20));
    futures_util::stream::iter(std::iter::repeat_n(chunk, mib))
}

/// A server (upstream timeout [`UPSTREAM_TIMEOUT`], raw bodies up to [`MAX_BODY`]) with an `acme` account at
/// the provider `base` holding the access token `access`, not due.
async fn start(base: &str, access: &str) -> AcmeAccount {
    start_with(base, &format!("api_base = \"{base}/api\""), tokens(access), MAX_BODY).await
}

/// The upstream tokens `access` (not due) and `REFRESH`.
fn tokens(access: &str) -> Tokens {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    Tokens {
        access_token: access.to_owned(),
        refresh_token: Some("REFRESH".to_owned()),
        expires_at: Some(now + 3600),
        scope: None,
        hostname: None,
        instance_url: None,
        site: None,
    }
}

/// [`start`] with the provider entry's API lines `api`, the account's `tokens` and raw bodies
/// up to `max_body`.
async fn start_with(base: &str, api: &str, tokens: Tokens, max_body: u64) -> AcmeAccount {
    let endpoints = format!(
        "authorization_url = \"{base}/auth\"\ntoken_url = \"{base}/token\"\n\
         identity_url = \"{base}/me\"\n{api}"
    );
    let timeout = UPSTREAM_TIMEOUT.as_secs();
    let settings = format!("upstream_timeout_secs = {timeout}\nraw_max_body_bytes = {max_body}");
    acme::start(&settings, &endpoints, &tokens).await
}

/// A raw call's request, to be given a body and sent.
fn raw(running: &AcmeAccount, method: &str, uri: &str) -> reqwest::RequestBuilder {
    running
        .server
        .post(&format!("/v1/accounts/{}/raw", running.account))
        .header("Authorization", format!("APIKey {KEY}"))
        .header("X-Kloudless-Raw-URI", uri)
        .header("X-Kloudless-Raw-Method", method)
}

async fn json(reply: reqwest::Response) -> (u16, Value) {
    let status = reply.status().as_u16();
    (status, reply.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_multi_mib_upload_arrives_intact_and_streams_before_the_client_has_sent_it_all() {
    let (base, seen) = provider().await;
    let running = start(&base, "ACCESS-0").await;
    let data = Bytes::from(content(8 << 20));
    let first_chunk = seen.lock().unwrap().first_chunk.clone();
    // The client sends its last 7 MiB only once the upstream has received the first: a server
    // that collected the body before calling the upstream would wait forever.
    let (head, rest) = (data.slice(..1 << 20), data.slice(1 << 20..));
    let body = futures_util::stream::once(async move { Ok::<_, std::io::Error>(head) }).chain(
        futures_util::stream::once(async move {
            first_chunk.notified().await;
            Ok(rest)
        }),
    );
    let request = raw(&running, "PUT", "/upload")
        .header("Content-Type", "application/octet-stream")
        .body(reqwest::Body::wrap_stream(body))
        .send();
    let reply = tokio::time::timeout(PATIENCE, request).await.expect("the upload streams").unwrap();
    let (status, reply) = json(reply).await;
    assert_eq!(status, 201, "{reply}");
    assert_eq!(reply["sha256"].as_str(), Some(hex::encode(Sha256::digest(&data)).as_str()));
    assert_eq!(
        (reply["len"].as_u64(), reply["type"].as_str()),
        (Some(8 << 20), Some("application/octet-stream"))
    );
    assert_eq!(seen.lock().unwrap().calls.len(), 1);

    // With a declared length too (passed on, so the upstream needs no chunked encoding).
    let reply = raw(&running, "PUT", "/upload").body(data.clone()).send().await.unwrap();
    let (status, reply) = json(reply).await;
    assert_eq!((status, reply["len"].as_u64()), (201, Some(8 << 20)), "{reply}");
}

#[tokio::test]
async fn a_multi_mib_download_arrives_intact_and_starts_before_the_upstream_has_sent_it_all() {
    let (base, seen) = provider().await;
    let running = start(&base, "ACCESS-0").await;
    let downloaded_some = seen.lock().unwrap().downloaded_some.clone();
    let reply = raw(&running, "GET", "/download/8").send().await.unwrap();
    assert_eq!(reply.status(), 200);
    assert_eq!(reply.headers()["content-type"], "application/octet-stream");
    assert!(reply.headers().get("x-secret").is_none(), "only the allowed headers are passed back");
    let mut hash = Sha256::new();
    let mut len = 0;
    let mut chunks = reply.bytes_stream();
    // The upstream sends its last MiB only once the client has some of the first seven: a
    // server that collected the reply before passing it back would wait forever.
    while let Some(chunk) = tokio::time::timeout(PATIENCE, chunks.next()).await.expect("the download streams")
    {
        let chunk = chunk.unwrap();
        len += chunk.len();
        hash.update(&chunk);
        downloaded_some.notify_one();
    }
    assert_eq!(len, 8 << 20);
    assert_eq!(hex::encode(hash.finalize()), hex::encode(Sha256::digest(content(8 << 20))));
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_and_never_reaches_the_upstream() {
    let (base, seen) = provider().await;
    let running = start(&base, "ACCESS-0").await;
    let over = Bytes::from(content(MAX_BODY as usize + 1));
    let (status, body) = json(raw(&running, "PUT", "/upload").body(over.clone()).send().await.unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (413, Some("invalid_request")), "declared length: {body}");
    assert_eq!(seen.lock().unwrap().calls.len(), 0, "the upstream was not called");

    // Without a declared length: cut when the count passes the limit; the upstream never gets
    // a complete body.
    let chunks = futures_util::stream::iter(
        over.chunks(1 << 20).map(|c| Ok::<_, std::io::Error>(Bytes::copy_from_slice(c))).collect::<Vec<_>>(),
    );
    let request = raw(&running, "PUT", "/upload").body(reqwest::Body::wrap_stream(chunks)).send().await;
    if let Ok(reply) = request {
        let (status, body) = json(reply).await;
        assert_eq!(status, 413, "chunked: {body}");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let calls = seen.lock().unwrap().calls.clone();
    assert!(calls.iter().all(|(_, digest)| digest.is_none()), "no complete body upstream: {calls:?}");

    let exactly = Bytes::from(content(MAX_BODY as usize));
    let (status, body) = json(raw(&running, "PUT", "/upload").body(exactly).send().await.unwrap()).await;
    assert_eq!((status, body["len"].as_u64()), (201, Some(MAX_BODY)), "at the limit: {body}");
}

#[tokio::test]
async fn a_short_body_refused_with_401_is_sent_again_once_after_one_refresh() {
    let (base, seen) = provider().await;
    let running = start(&base, "REVOKED-UPSTREAM").await;
    let body = "{\"name\": \"report.txt\"}";
    let reply = raw(&running, "PUT", "/upload").header("Content-Type", "application/json").body(body).send();
    let (status, reply) = json(reply.await.unwrap()).await;
    assert_eq!(status, 201, "{reply}");
    let digest = hex::encode(Sha256::digest(body));
    assert_eq!(reply["sha256"].as_str(), Some(digest.as_str()));
    let seen = seen.lock().unwrap();
    assert_eq!(seen.refreshes, 1);
    let calls: Vec<_> = seen.calls.iter().map(|(auth, digest)| (auth.as_str(), digest.clone())).collect();
    assert_eq!(
        calls,
        [("Bearer REVOKED-UPSTREAM", Some(digest.clone())), ("Bearer ACCESS-1", Some(digest))],
        "one retry with the same body"
    );
}

#[tokio::test]
async fn a_streamed_body_refused_with_401_is_not_sent_again_and_the_caller_is_told_to_retry() {
    let (base, seen) = provider().await;
    let running = start(&base, "REVOKED-UPSTREAM").await;
    let data = Bytes::from(content(1 << 20));
    let (status, body) = json(raw(&running, "PUT", "/upload").body(data.clone()).send().await.unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (503, Some("upstream_token_refreshed")), "{body}");
    let (refreshes, calls) = {
        let seen = seen.lock().unwrap();
        (seen.refreshes, seen.calls.len())
    };
    assert_eq!((refreshes, calls), (1, 1), "one refresh, and the body was not sent again");

    let (status, body) = json(raw(&running, "PUT", "/upload").body(data).send().await.unwrap()).await;
    assert_eq!((status, body["len"].as_u64()), (201, Some(1 << 20)), "sent again: {body}");
    assert_eq!(seen.lock().unwrap().refreshes, 1);
}

#[tokio::test]
async fn a_stalled_upstream_is_a_504_within_the_upstream_timeout() {
    let (base, _seen) = provider().await;
    let running = start(&base, "ACCESS-0").await;
    for body in [Bytes::new(), Bytes::from(content(1 << 20))] {
        let started = Instant::now();
        let reply = tokio::time::timeout(PATIENCE, raw(&running, "POST", "/stall").body(body).send()).await;
        let (status, body) = json(reply.expect("answered").unwrap()).await;
        assert_eq!((status, body["error"].as_str()), (504, Some("temporarily_unavailable")), "{body}");
        assert!(started.elapsed() < WITHIN_TIMEOUT, "{:?}", started.elapsed());
    }
}

#[tokio::test]
async fn a_reply_the_upstream_stops_sending_is_cut_short_never_passed_as_complete() {
    let (base, _seen) = provider().await;
    let running = start(&base, "ACCESS-0").await;
    let started = Instant::now();
    let reply = raw(&running, "GET", "/stall-midway").send().await.unwrap();
    assert_eq!(reply.status(), 200, "the status and the first MiB came");
    let body = tokio::time::timeout(PATIENCE, reply.bytes()).await.expect("the reply ends");
    assert!(body.is_err(), "a cut reply reads as an error, not as a complete body");
    assert!(started.elapsed() < WITHIN_TIMEOUT, "within the upstream timeout: {:?}", started.elapsed());
}

#[tokio::test]
async fn every_other_route_still_refuses_bodies_over_16_kib() {
    let (base, _seen) = provider().await;
    let running = start(&base, "ACCESS-0").await;
    let client = running.server.http();
    let url = |path: &str| running.server.url(path);
    let big = "x".repeat(16 * 1024 + 1);
    let reply = client.get(url("/v1/oauth/token/")).header("Authorization", "Bearer x").body(big.clone());
    assert_eq!(reply.send().await.unwrap().status(), 413);
    let reply = client.post(url("/v1/oauth/progress")).body(big.clone()).send().await.unwrap();
    assert_eq!(reply.status(), 413);
    let reply = client.post(url("/v1/oauth/")).body(big).send().await.unwrap();
    assert_eq!(reply.status(), 413);
}

#[tokio::test]
async fn the_api_base_can_be_the_accounts_own_server() {
    let (base, _) = provider().await;
    let upload = |running: &AcmeAccount| raw(running, "PUT", "/upload").body("x").send();
    // Salesforce: the token reply's instance_url (kept with the tokens) is the org's API server.
    let on_instance = Tokens { instance_url: Some(base.clone()), ..tokens("ACCESS-0") };
    let running = start_with(&base, "api_base = \"{instance_url}/api\"", on_instance, MAX_BODY).await;
    let (status, reply) = json(upload(&running).await.unwrap()).await;
    assert_eq!((status, reply["len"].as_u64()), (201, Some(1)), "{reply}");
    // An account whose token reply named none has no API there.
    let running = start_with(&base, "api_base = \"{instance_url}/api\"", tokens("ACCESS-0"), MAX_BODY).await;
    let (status, reply) = json(upload(&running).await.unwrap()).await;
    assert_eq!((status, reply["error"].as_str()), (400, Some("invalid_request")), "{reply}");
    // A per-server provider: the account's server.
    let host = base.trim_start_matches("http://").to_owned();
    let on_server = Tokens { hostname: Some(host), ..tokens("ACCESS-0") };
    let api = "hostname_pattern = \"127.0.0.1:*\"\napi_base = \"http://{hostname}/api\"";
    let running = start_with(&base, api, on_server, MAX_BODY).await;
    let (status, reply) = json(upload(&running).await.unwrap()).await;
    assert_eq!((status, reply["len"].as_u64()), (201, Some(1)), "{reply}");
}

/// A raw call to the provider's `headers` with `raw_headers` in `X-Kloudless-Raw-Headers`.
async fn with_raw_headers(running: &AcmeAccount, raw_headers: &str) -> (u16, Value) {
    json(raw(running, "GET", "/headers").header("X-Kloudless-Raw-Headers", raw_headers).send().await.unwrap())
        .await
}

/// A JSON object of the `headers` given, in order.
fn object<'a>(headers: impl IntoIterator<Item = (&'a str, String)>) -> String {
    let map: serde_json::Map<String, Value> =
        headers.into_iter().map(|(name, value)| (name.to_owned(), Value::String(value))).collect();
    Value::Object(map).to_string()
}

#[tokio::test]
async fn raw_headers_reach_the_upstream_beside_the_servers_own() {
    let (base, seen) = provider().await;
    let running = start(&base, "ACCESS-0").await;
    // As the SDKs send Dropbox's argument: JSON in a header, non-ASCII escaped.
    let arg = r#"{"path": "/Reports/\u00e9t\u00e9 2026.pdf", "mode": "overwrite"}"#;
    let raw_headers = object([
        ("Dropbox-API-Arg", arg.to_owned()),
        ("If-Match", "\"v1\"".to_owned()),
        ("x-list", "a, b".to_owned()),
    ]);
    let (status, body) = with_raw_headers(&running, &raw_headers).await;
    assert_eq!(status, 204, "{body}");
    let seen = seen.lock().unwrap();
    let [received] = seen.headers.as_slice() else { panic!("one call: {:?}", seen.headers) };
    assert_eq!(received["dropbox-api-arg"], arg);
    assert_eq!(received["if-match"], "\"v1\"");
    assert_eq!(received["x-list"], "a, b");
    assert_eq!(received["authorization"], "Bearer ACCESS-0", "the server's token, as before");
    assert!(received.get("x-kloudless-raw-headers").is_none(), "the object itself is not passed on");
}

#[tokio::test]
async fn fifty_raw_headers_of_real_sizes_all_reach_the_upstream() {
    let (base, seen) = provider().await;
    let running = start(&base, "ACCESS-0").await;
    let headers: Vec<(String, String)> =
        (0..50).map(|i| (format!("X-Header-{i:02}"), format!("{i:02}-{}", "v".repeat(200)))).collect();
    let raw_headers = object(headers.iter().map(|(name, value)| (name.as_str(), value.clone())));
    assert!(raw_headers.len() > 10_000, "{}", raw_headers.len());
    let (status, body) = with_raw_headers(&running, &raw_headers).await;
    assert_eq!(status, 204, "{body}");
    let seen = seen.lock().unwrap();
    for (name, value) in &headers {
        assert_eq!(seen.headers[0].get(name).map(|v| v.to_str().unwrap()), Some(value.as_str()), "{name}");
    }
}

/// Refused raw headers: a 400 `invalid_raw_headers` (its description naming what is wrong), and
/// nothing reaches the upstream.
async fn assert_refused(running: &AcmeAccount, seen: &Mutex<Seen>, raw_headers: &str, names: &str) {
    let (status, body) = with_raw_headers(running, raw_headers).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_raw_headers")), "{raw_headers}: {body}");
    let description = body["error_description"].as_str().unwrap().to_ascii_lowercase();
    assert!(description.contains(&names.to_ascii_lowercase()), "{raw_headers}: {description}");
    assert!(seen.lock().unwrap().headers.is_empty(), "{raw_headers} reached the upstream");
}

#[tokio::test]
async fn headers_that_would_take_over_the_upstream_request_are_refused_in_any_case() {
    let (base, seen) = provider().await;
    let running = start(&base, "ACCESS-0").await;
    for name in [
        "Authorization",
        "authorization",
        "AUTHORIZATION",
        "Host",
        "Cookie",
        "Content-Length",
        "Transfer-Encoding",
        "Connection",
        "Keep-Alive",
        "TE",
        "Trailer",
        "Upgrade",
        "Proxy-Authorization",
        "Proxy-Authenticate",
        "Proxy-Connection",
        "proxy-anything",
        // Set by the relay itself: from the request's own Content-Type; the body's sending.
        "Content-Type",
        "Expect",
        // The reply's Content-Encoding is not passed back.
        "Accept-Encoding",
    ] {
        let raw_headers = object([("If-Match", "\"v1\"".to_owned()), (name, "x".to_owned())]);
        assert_refused(&running, &seen, &raw_headers, name).await;
    }
}

#[tokio::test]
async fn malformed_raw_headers_are_refused() {
    let (base, seen) = provider().await;
    let running = start(&base, "ACCESS-0").await;
    for (raw_headers, names) in [
        ("not json", "JSON"),
        (r#"{"If-Match": "x"} trailing"#, "JSON"),
        (r#"{"If-Match": "x""#, "JSON"),
        (r#"["If-Match", "x"]"#, "JSON object"),
        (r#""If-Match: x""#, "JSON object"),
        (r#"{"If-Match": 1}"#, "If-Match"),
        (r#"{"If-Match": null}"#, "If-Match"),
        (r#"{"If-Match": ["x"]}"#, "If-Match"),
        (r#"{"Bad Name": "x"}"#, "Bad Name"),
        (r#"{"": "x"}"#, "name"),
        (r#"{"X-A:b": "x"}"#, "X-A:b"),
        (r#"{"X-A\r\nX-Injected": "1"}"#, "name"),
        // CR, LF or any other control character in a value (header injection upstream).
        (r#"{"X-A": "x\r\nX-Injected: 1"}"#, "X-A"),
        (r#"{"X-A": "x\nX-Injected: 1"}"#, "X-A"),
        (r#"{"X-A": "x\rX-Injected: 1"}"#, "X-A"),
        (r#"{"X-A": "x\u0000"}"#, "X-A"),
        (r#"{"X-A": "\u00e9"}"#, "X-A"),
    ] {
        assert_refused(&running, &seen, raw_headers, names).await;
    }
    // The header given twice: which one was meant is unclear.
    let reply = raw(&running, "GET", "/headers")
        .header("X-Kloudless-Raw-Headers", r#"{"If-Match": "a"}"#)
        .header("X-Kloudless-Raw-Headers", r#"{"If-Match": "b"}"#);
    let (status, body) = json(reply.send().await.unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_raw_headers")), "{body}");
    assert!(seen.lock().unwrap().headers.is_empty());
}

#[tokio::test]
async fn oversized_raw_headers_are_refused_with_431() {
    let (base, seen) = provider().await;
    let running = start(&base, "ACCESS-0").await;
    // 100 KB: within what the HTTP layer reads (hyper's ~400 KB head), refused by the raw API.
    let raw_headers = object([("X-Big", "x".repeat(100 * 1024))]);
    let (status, body) = with_raw_headers(&running, &raw_headers).await;
    assert_eq!((status, body["error"].as_str()), (431, Some("invalid_raw_headers")), "{body}");
    // 1 MiB: past what the HTTP layer reads; it answers 431 without calling the handler.
    let raw_headers = object([("X-Big", "x".repeat(1 << 20))]);
    let reply = raw(&running, "GET", "/headers").header("X-Kloudless-Raw-Headers", raw_headers).send().await;
    assert_eq!(reply.unwrap().status(), 431);
    assert!(seen.lock().unwrap().headers.is_empty());
}

/// The benchmark (`make bench-raw`, a release build; not part of `make test`): 64 MiB uploaded
/// and downloaded through the pass-through API and directly to the provider, five times each,
/// interleaved; prints the medians and what the pass-through costs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: make bench-raw"]
async fn bench_raw_throughput() {
    const MIB: usize = 64;
    let (base, _seen) = provider().await;
    let api = format!("api_base = \"{base}/api\"");
    let running = start_with(&base, &api, tokens("ACCESS-0"), (MIB << 20) as u64).await;
    let client = reqwest::Client::new();
    let upload = |request: reqwest::RequestBuilder| async move {
        let started = Instant::now();
        let reply = request.body(reqwest::Body::wrap_stream(mebibytes(MIB).map(Ok::<_, std::io::Error>)));
        let (status, reply) = json(reply.send().await.unwrap()).await;
        assert_eq!((status, reply["len"].as_u64()), (200, Some((MIB << 20) as u64)), "{reply}");
        started.elapsed()
    };
    let download = |request: reqwest::RequestBuilder| async move {
        let started = Instant::now();
        let mut chunks = request.send().await.unwrap().bytes_stream();
        let mut len = 0;
        while let Some(chunk) = chunks.next().await {
            len += chunk.unwrap().len();
        }
        assert_eq!(len, MIB << 20);
        started.elapsed()
    };
    let mut times: [Vec<Duration>; 4] = Default::default();
    for _ in 0..5 {
        times[0].push(upload(client.put(format!("{base}/api/sink"))).await);
        times[1].push(upload(raw(&running, "PUT", "/sink")).await);
        times[2].push(download(client.get(format!("{base}/api/source/{MIB}"))).await);
        times[3].push(download(raw(&running, "GET", &format!("/source/{MIB}"))).await);
    }
    let median = |runs: &mut Vec<Duration>| {
        runs.sort();
        runs[runs.len() / 2]
    };
    let [direct_up, raw_up, direct_down, raw_down] = times.each_mut().map(median);
    let rate = |time: Duration| MIB as f64 / time.as_secs_f64();
    println!("| {MIB} MiB, median of 5 | direct | pass-through API | ratio |");
    println!("| --- | ---: | ---: | ---: |");
    for (what, direct, through) in [("upload", direct_up, raw_up), ("download", direct_down, raw_down)] {
        println!(
            "| {what} | {:.0} MiB/s | {:.0} MiB/s | {:.2}x the time |",
            rate(direct),
            rate(through),
            through.as_secs_f64() / direct.as_secs_f64()
        );
    }
}
