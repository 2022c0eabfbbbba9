//! `--latency-ms` over real HTTP: API requests (preflights included) wait, pages do not. A test
//! knob: with the `test-support` feature only.
#![cfg(feature = "test-support")]

mod common;

use common::{Target, TestServer};
use reqwest::Method;
use std::time::{Duration, Instant};

const LATENCY: Duration = Duration::from_millis(300);

async fn start(latency: Duration) -> TestServer {
    let toml = "[[apps]]\nclient_id = \"app\"\ntrusted_domains = [\"localhost:3000\"]\n";
    TestServer::with(toml).tune(move |config| config.latency = latency).start().await
}

/// A request: its method, path and headers, its body.
type Request = (Method, &'static str, &'static [(&'static str, &'static str)], &'static str);

/// Sends `request` from the app's page; returns the status and the time taken.
async fn timed(server: &TestServer, (method, path, headers, body): &Request) -> (u16, Duration) {
    let started = Instant::now();
    let headers = [&[("Origin", "http://localhost:3000")], *headers].concat();
    let status = server.send(method.clone(), path, &headers, body.as_bytes()).await.status;
    (status, started.elapsed())
}

fn api_requests() -> [(Request, u16); 5] {
    [
        ((Method::GET, "/v1/oauth/token/", &[("Authorization", "Bearer nope")], ""), 401),
        ((Method::GET, "/v1/accounts/me/?retrieve_full=False", &[("Authorization", "Bearer nope")], ""), 401),
        (
            (
                Method::OPTIONS,
                "/v1/oauth/token/",
                &[
                    ("Access-Control-Request-Method", "GET"),
                    ("Access-Control-Request-Headers", "authorization"),
                ],
                "",
            ),
            204,
        ),
        ((Method::POST, "/v1/oauth/progress", &[("Content-Type", "text/plain")], "{}"), 400),
        ((Method::POST, "/v1/oauth/progress/abandon", &[("Content-Type", "text/plain")], ""), 400),
    ]
}

#[tokio::test]
async fn every_api_request_waits_and_pages_do_not() {
    let server = start(LATENCY).await;
    for (request, expected) in api_requests() {
        let (status, took) = timed(&server, &request).await;
        let head = format!("{} {}", request.0, request.1);
        assert_eq!(status, expected, "{head}");
        assert!(took >= LATENCY, "{head}: answered after {took:?}, before the added {LATENCY:?}");
    }
    for (page, expected) in [("/static/iexd.html", 200), ("/v1/oauth?client_id=app", 400)] {
        let (status, took) = timed(&server, &(Method::GET, page, &[], "")).await;
        assert_eq!(status, expected, "{page}");
        assert!(took < LATENCY, "{page} is not delayed, took {took:?}");
    }
}

#[tokio::test]
async fn no_latency_by_default() {
    let server = start(Duration::ZERO).await;
    for (request, expected) in api_requests() {
        let (status, took) = timed(&server, &request).await;
        let head = format!("{} {}", request.0, request.1);
        assert_eq!(status, expected, "{head}");
        assert!(took < LATENCY, "{head}: took {took:?}");
    }
}
