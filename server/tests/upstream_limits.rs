//! Upstream replies are read with their limit (256 KiB) enforced while reading (issue 20,
//! finding 5): a provider that answers OpenID discovery or a token request with a huge chunked
//! body gets a clear upstream error back, and sees its connection dropped once the server has
//! read about the limit — the server never holds the reply whole. The provider here is a raw TCP
//! server with a small send buffer that counts the bytes it managed to write (raw on purpose:
//! the connection itself is what is measured).

mod common;

use authenticator_server::providers::client::Tokens;
use common::TestServer;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How much the flooding provider offers in each reply: far over the limit.
const OFFERED: usize = 32 << 20;
/// The most it may have written when the server hangs up: the limit read, plus what the two
/// sockets' buffers hold on loopback. Reading the reply whole would take all of [`OFFERED`].
const AT_MOST_WRITTEN: usize = 2 << 20;
/// How long a test waits for its answer.
const PATIENCE: Duration = Duration::from_secs(30);

/// What one connection to the flooding provider came to: the body bytes it wrote, and whether
/// the server hung up before it had written them all.
#[derive(Clone, Copy, Debug)]
struct Flooded {
    written: usize,
    dropped: bool,
}

/// A provider that answers every request with `200`, a JSON content type and a chunked body of
/// [`OFFERED`] bytes (a string value that never ends), 16 KiB a chunk; its address, and what
/// each connection came to once it is over.
async fn flooding_provider() -> (SocketAddr, Arc<Mutex<Vec<Flooded>>>) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_send_buffer_size(16 * 1024).unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(16).unwrap();
    let addr = listener.local_addr().unwrap();
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let seen = outcomes.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let flooded = flood(stream).await;
                seen.lock().unwrap().push(flooded);
            });
        }
    });
    (addr, outcomes)
}

/// Reads a request head from `stream`, then writes the huge reply until it is all written or
/// the server hangs up.
async fn flood(mut stream: tokio::net::TcpStream) -> Flooded {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return Flooded { written: 0, dropped: true },
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let reply_head =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    if stream.write_all(reply_head.as_bytes()).await.is_err() {
        return Flooded { written: 0, dropped: true };
    }
    let mut chunk = b"{\"access_token\":\"".to_vec();
    chunk.resize(16 * 1024, b'a');
    let mut written = 0;
    while written < OFFERED {
        let frame = [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
        if stream.write_all(&frame).await.is_err() {
            return Flooded { written, dropped: true };
        }
        written += chunk.len();
        chunk.fill(b'a');
    }
    let dropped = stream.write_all(b"0\r\n\r\n").await.is_err();
    Flooded { written, dropped }
}

/// Waits until the provider has seen one connection end; what it came to.
async fn the_flood(outcomes: &Mutex<Vec<Flooded>>) -> Flooded {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(flooded) = outcomes.lock().unwrap().first() {
            return *flooded;
        }
        assert!(tokio::time::Instant::now() < deadline, "the provider's connection never ended");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn assert_cut_after_about_the_limit(flooded: Flooded) {
    eprintln!("the provider wrote {} KiB before the server hung up", flooded.written >> 10);
    assert!(flooded.dropped, "the server read the whole {} MiB reply", OFFERED >> 20);
    assert!(
        flooded.written <= AT_MOST_WRITTEN,
        "the provider could write {} KiB before the server hung up",
        flooded.written >> 10
    );
}

#[tokio::test]
async fn a_huge_discovery_reply_is_cut_at_the_limit_and_the_pop_up_says_why() {
    let (provider, outcomes) = flooding_provider().await;
    let toml = format!(
        "allow_private_upstreams = true\n\
         [[apps]]\nclient_id = \"app\"\ntrusted_domains = [\"localhost:3000\"]\n\
         [[providers]]\nid = \"flood\"\nkind = \"oidc\"\nname = \"Flood\"\ncategory = \"storage\"\n\
         client_id = \"our-app\"\nclient_secret = \"s3cr3t-value\"\nissuer = \"http://{provider}\"\n"
    );
    let server = TestServer::start(&toml).await;

    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("client_id", "app"),
            ("redirect_uri", "urn:ietf:wg:oauth:2.0:oob"),
            ("response_type", "token"),
            ("state", "page-state"),
            ("request_id", "req1"),
            ("origin", "http://localhost:3000"),
            ("scope", "flood"),
        ])
        .finish();
    let reply = server.get(&format!("/v1/oauth?{query}")).send();
    let reply = tokio::time::timeout(PATIENCE, reply).await.expect("the pop-up answers").unwrap();
    let page = reply.text().await.unwrap();
    assert!(page.contains("server_error"), "{page}");
    assert!(page.contains("OpenID configuration reply is larger than 256 KiB"), "{page}");
    assert_cut_after_about_the_limit(the_flood(&outcomes).await);
}

#[tokio::test]
async fn a_huge_token_reply_is_cut_at_the_limit_and_the_caller_told_why() {
    let (provider, outcomes) = flooding_provider().await;
    let base = format!("http://{provider}");
    let endpoints = format!(
        "authorization_url = \"{base}/auth\"\ntoken_url = \"{base}/token\"\n\
         identity_url = \"{base}/me\"\napi_base = \"{base}/api\""
    );
    // Expired: the raw call refreshes first, at the flooding token endpoint.
    let tokens = Tokens {
        access_token: "ACCESS".to_owned(),
        refresh_token: Some("REFRESH".to_owned()),
        expires_at: Some(1),
        scope: None,
        hostname: None,
        instance_url: None,
        site: None,
    };
    let running = common::acme::start("", &endpoints, &tokens).await;
    let reply = running
        .server
        .post(&format!("/v1/accounts/{}/raw", running.account))
        .header("Authorization", format!("APIKey {}", common::acme::KEY))
        .header("X-Kloudless-Raw-URI", "/files")
        .send();
    let reply = tokio::time::timeout(PATIENCE, reply).await.expect("the call answers").unwrap();
    let status = reply.status().as_u16();
    let body: serde_json::Value = reply.json().await.unwrap();
    assert_eq!((status, body["error"].as_str()), (502, Some("server_error")), "{body}");
    let description = body["error_description"].as_str().unwrap();
    assert!(description.contains("token endpoint reply is larger than 256 KiB"), "{body}");
    assert_cut_after_about_the_limit(the_flood(&outcomes).await);
}
