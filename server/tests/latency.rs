//! `--latency-ms` over real HTTP: API requests (preflights included) wait, pages do not. A test
//! knob: with the `test-support` feature only.
#![cfg(feature = "test-support")]

mod common;

use authenticator_server::Server;
use authenticator_server::config::Config;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const LATENCY: Duration = Duration::from_millis(300);

async fn start(latency: Duration) -> (SocketAddr, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let toml = "[[apps]]\nclient_id = \"app\"\ntrusted_domains = [\"localhost:3000\"]\n";
    let config =
        Config::from_toml(toml, "127.0.0.1:0".parse().unwrap(), common::fresh_database(dir.path())).unwrap();
    let server = Server::bind(Config { latency, ..config }).await.unwrap();
    let addr = server.local_addr();
    tokio::spawn(server.run());
    (addr, dir)
}

/// Sends `head` (request line and headers) with `body`; returns the status and the time taken.
async fn timed(addr: SocketAddr, head: &str, body: &str) -> (u16, Duration) {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "{head}\r\nHost: {addr}\r\nOrigin: http://localhost:3000\r\nConnection: close\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).await.unwrap();
    let status = reply.split(' ').nth(1).unwrap().parse().unwrap();
    (status, started.elapsed())
}

fn api_requests() -> [(&'static str, &'static str, u16); 5] {
    [
        ("GET /v1/oauth/token/ HTTP/1.1\r\nAuthorization: Bearer nope", "", 401),
        ("GET /v1/accounts/me/?retrieve_full=False HTTP/1.1\r\nAuthorization: Bearer nope", "", 401),
        (
            "OPTIONS /v1/oauth/token/ HTTP/1.1\r\nAccess-Control-Request-Method: GET\r\n\
             Access-Control-Request-Headers: authorization",
            "",
            204,
        ),
        ("POST /v1/oauth/progress HTTP/1.1\r\nContent-Type: text/plain", "{}", 400),
        ("POST /v1/oauth/progress/abandon HTTP/1.1\r\nContent-Type: text/plain", "", 400),
    ]
}

#[tokio::test]
async fn every_api_request_waits_and_pages_do_not() {
    let (addr, _dir) = start(LATENCY).await;
    for (head, body, expected) in api_requests() {
        let (status, took) = timed(addr, head, body).await;
        assert_eq!(status, expected, "{head}");
        assert!(took >= LATENCY, "{head}: answered after {took:?}, before the added {LATENCY:?}");
    }
    for (page, expected) in
        [("GET /static/iexd.html HTTP/1.1", 200), ("GET /v1/oauth?client_id=app HTTP/1.1", 400)]
    {
        let (status, took) = timed(addr, page, "").await;
        assert_eq!(status, expected, "{page}");
        assert!(took < LATENCY, "{page} is not delayed, took {took:?}");
    }
}

#[tokio::test]
async fn no_latency_by_default() {
    let (addr, _dir) = start(Duration::ZERO).await;
    for (head, body, expected) in api_requests() {
        let (status, took) = timed(addr, head, body).await;
        assert_eq!(status, expected, "{head}");
        assert!(took < LATENCY, "{head}: took {took:?}");
    }
}
