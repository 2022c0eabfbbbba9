//! Connection hygiene over real sockets: idle sockets, kept-alive connections and slow clients
//! are closed after their timeouts, clients that stop reading a download are dropped after the
//! write timeout (or when the relay gives up on them), the server never holds more connections
//! than its cap, an accept error (EMFILE) does not stop it, and Ctrl-C lets a request in
//! progress finish.
//!
//! These tests speak HTTP over raw sockets on purpose: the connection itself (what is sent when,
//! what is left unread, when it is closed) is what they are about.
//!
//! Only behaviour is asserted, each timing as "within the timeout plus a generous margin"; the
//! times measured are printed (`cargo test -p authenticator-server --test connections --
//! --nocapture`).

mod common;

use authenticator_server::config::Config;
use authenticator_server::providers::client::Tokens;
use common::{Process, TestServer};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// Added to every timeout before a test gives up: machines running tests are busy.
const MARGIN: Duration = Duration::from_secs(10);

const SECOND: Duration = Duration::from_secs(1);

/// A running server with these connection settings.
async fn start(header: Duration, idle: Duration, max_connections: usize) -> TestServer {
    let toml = "[[apps]]\nclient_id = \"app\"\ntrusted_domains = [\"localhost:3000\"]\n";
    let tune = move |config: &mut Config| {
        let limits = &mut config.connections;
        (limits.header_timeout, limits.idle_timeout, limits.max_connections) = (header, idle, max_connections)
    };
    TestServer::with(toml).tune(tune).start().await
}

/// `GET /static/iexd.html` on a fresh connection; the status, or why there is none.
async fn status_of_a_request(addr: SocketAddr) -> Result<u16, String> {
    let mut stream = TcpStream::connect(addr).await.map_err(|e| format!("connect: {e}"))?;
    let request = format!("GET /static/iexd.html HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.map_err(|e| format!("write: {e}"))?;
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).await.map_err(|e| format!("read: {e}"))?;
    let reply = String::from_utf8_lossy(&reply);
    reply.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| format!("no status in {reply:?}"))
}

/// Waits until the server closes `stream` (end of file or reset); `None` if it is still open
/// at `deadline`. Any bytes the server sends are an error: these clients never asked anything.
async fn closed_by(stream: &mut TcpStream, deadline: tokio::time::Instant) -> Option<Instant> {
    let mut buf = [0u8; 64];
    match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
        Err(_elapsed) => None,
        Ok(Ok(0) | Err(_)) => Some(Instant::now()),
        Ok(Ok(n)) => panic!("the server sent {:?}", String::from_utf8_lossy(&buf[..n])),
    }
}

/// Raises this process's soft open-file limit to its hard limit; returns the soft limit.
fn raise_open_file_limit() -> u64 {
    rlimit::increase_nofile_limit(u64::MAX).unwrap_or_else(|e| panic!("cannot read RLIMIT_NOFILE: {e}"))
}

/// A client that sends a complete request head and then only part of its body is answered
/// (400: the body could not be read) and cut after the header timeout, not held forever.
#[tokio::test]
async fn a_request_body_that_stops_coming_is_cut_after_the_header_timeout() {
    let server = start(SECOND, 5 * SECOND, 100).await;
    let addr = server.addr();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /v1/oauth HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: 100\r\n\r\nclient_id="
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let sent = Instant::now();
    let mut reply = Vec::new();
    let read = timeout(SECOND + MARGIN, stream.read_to_end(&mut reply)).await;
    assert!(read.is_ok(), "still open after {:?}", sent.elapsed());
    let took = sent.elapsed();
    eprintln!("a stalled body: cut after {took:?}");
    assert!(took >= SECOND, "cut before the timeout: {took:?}");
    let reply = String::from_utf8_lossy(&reply);
    assert!(reply.starts_with("HTTP/1.1 4"), "{reply}");
}

/// (a) 5,000 idle sockets that never send a byte (the attack: idle sockets until the server
/// runs out of descriptors) are all closed by the server within the header timeout, and a
/// request made while they are held is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_idle_sockets_are_closed_after_the_header_timeout_and_requests_get_through() {
    const WANTED: usize = 5_000;
    // This process holds both ends of each socket, and the other tests run beside this one.
    let limit = raise_open_file_limit();
    let sockets = WANTED.min(usize::try_from(limit.saturating_sub(400) / 2).unwrap_or(WANTED));
    if sockets < WANTED {
        eprintln!(
            "the open-file limit is {limit} (hard limit reached): {sockets} idle sockets instead of {WANTED}"
        );
    }
    assert!(sockets >= 100, "the open-file limit {limit} is too low for this test");
    let header = 3 * SECOND;
    // The idle timeout, which would close them too, is far away: this is the header timeout.
    let server = start(header, 600 * SECOND, sockets + 64).await;
    let addr = server.addr();

    let flood_started = Instant::now();
    let mut idle = Vec::with_capacity(sockets);
    for i in 0..sockets {
        let stream = timeout(MARGIN, TcpStream::connect(addr))
            .await
            .unwrap_or_else(|_| panic!("connecting idle socket {i} took over {MARGIN:?}"))
            .unwrap_or_else(|e| panic!("idle socket {i}: {e}"));
        idle.push((stream, Instant::now()));
    }
    let connected_in = flood_started.elapsed();

    let asked = Instant::now();
    assert_eq!(status_of_a_request(addr).await, Ok(200), "a request during the flood");
    let answered_in = asked.elapsed();
    let still_open = idle.iter().filter(|(stream, _)| stream.try_read(&mut [0u8; 1]).is_err()).count();
    assert!(still_open > 0, "the request was answered only after the flood was over");

    let closers: Vec<_> = idle
        .into_iter()
        .map(|(mut stream, connected)| {
            tokio::spawn(async move {
                let deadline = tokio::time::Instant::from_std(connected + header + MARGIN);
                closed_by(&mut stream, deadline).await.map(|closed| closed - connected)
            })
        })
        .collect();
    let mut slowest = Duration::ZERO;
    let mut open = 0;
    for closer in closers {
        match closer.await.unwrap() {
            Some(after) => slowest = slowest.max(after),
            None => open += 1,
        }
    }
    eprintln!(
        "{sockets} idle sockets connected in {connected_in:.2?}; a request during the flood answered \
         in {answered_in:.2?} with {still_open} of them still open; each closed at most {slowest:.2?} \
         after it connected (header timeout {header:?})"
    );
    assert_eq!(open, 0, "idle sockets still open {:?} after they connected", header + MARGIN);
}

/// (b) A kept-alive connection that goes idle after its requests is closed after the idle
/// timeout.
#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_the_idle_timeout() {
    let idle_timeout = 2 * SECOND;
    let server = start(SECOND, idle_timeout, 100).await;
    let addr = server.addr();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut pending = Vec::new();
    // Two requests on the one connection: it is kept alive.
    for _ in 0..2 {
        let request = format!("GET /static/iexd.html HTTP/1.1\r\nHost: {addr}\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let (status, rest) = read_response(&mut stream, pending).await;
        assert_eq!(status, 200);
        pending = rest;
    }
    assert!(pending.is_empty());
    let last_response = Instant::now();
    let deadline = tokio::time::Instant::now() + idle_timeout + MARGIN;
    let closed = closed_by(&mut stream, deadline).await;
    let Some(closed) = closed else {
        panic!("still open {:?} after the last response", idle_timeout + MARGIN)
    };
    eprintln!(
        "the idle kept-alive connection was closed {:.2?} after its last response (idle timeout \
         {idle_timeout:?})",
        closed - last_response
    );
}

/// Reads one response with a `Content-Length` from `stream`, after the bytes `pending`; returns
/// its status and the bytes read past it.
async fn read_response(stream: &mut TcpStream, mut pending: Vec<u8>) -> (u16, Vec<u8>) {
    loop {
        let text = String::from_utf8_lossy(&pending).into_owned();
        if let Some((head, _)) = text.split_once("\r\n\r\n") {
            let length: usize = head
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length: ").map(str::to_owned))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or_else(|| panic!("no Content-Length in {head:?}"));
            let end = head.len() + 4 + length;
            if pending.len() >= end {
                let status = head.split(' ').nth(1).unwrap().parse().unwrap();
                return (status, pending.split_off(end));
            }
        }
        let mut buf = [0u8; 4096];
        let n = timeout(MARGIN, stream.read(&mut buf)).await.expect("a response").unwrap();
        assert!(n > 0, "closed before the response ended: {text:?}");
        pending.extend_from_slice(&buf[..n]);
    }
}

/// (c) A slow client that sends part of a request head and stops, and one that keeps sending a
/// byte of it now and then, are both cut after the header timeout.
#[tokio::test]
async fn slow_clients_are_cut_after_the_header_timeout() {
    let header = SECOND;
    let server = start(header, 600 * SECOND, 100).await;
    let addr = server.addr();
    let partial = format!("GET /static/iexd.html HTTP/1.1\r\nHost: {addr}\r\nX-Slow: ");

    let mut stopped = TcpStream::connect(addr).await.unwrap();
    let connected = Instant::now();
    stopped.write_all(partial.as_bytes()).await.unwrap();

    let mut trickling = TcpStream::connect(addr).await.unwrap();
    let trickle_connected = Instant::now();
    trickling.write_all(partial.as_bytes()).await.unwrap();
    let trickle = async {
        let deadline = tokio::time::Instant::now() + header + MARGIN;
        let mut buf = [0u8; 64];
        loop {
            tokio::select! {
                read = trickling.read(&mut buf) => {
                    assert!(!matches!(read, Ok(n) if n > 0), "the server answered a partial head");
                    return Some(Instant::now());
                }
                () = tokio::time::sleep(Duration::from_millis(100)) => {
                    // One more byte of the header's value; the server may already be gone.
                    let _ = trickling.write_all(b"x").await;
                }
                () = tokio::time::sleep_until(deadline) => return None,
            }
        }
    };
    let stopped_deadline = tokio::time::Instant::now() + header + MARGIN;
    let (stopped_closed, trickle_closed) = tokio::join!(closed_by(&mut stopped, stopped_deadline), trickle);
    let stopped_closed = stopped_closed
        .unwrap_or_else(|| panic!("the stopped client is still connected {:?} on", header + MARGIN));
    let trickle_closed = trickle_closed
        .unwrap_or_else(|| panic!("the trickling client is still connected {:?} on", header + MARGIN));
    eprintln!(
        "slow clients cut {:.2?} (stopped) and {:.2?} (trickling) after they connected (header \
         timeout {header:?})",
        stopped_closed - connected,
        trickle_closed - trickle_connected
    );
}

/// The sockets the server holds open on `port`: accepted ones only (in `/proc/net/tcp` a
/// socket still waiting in the listen backlog has no inode yet), not the listening socket.
/// Counted by inode: the table is read in pieces while sockets come and go, so one socket can
/// appear twice in a read, and one read can see a socket just closed beside the one accepted in
/// its place. So the table is read twice and only the sockets in both count: each was open at
/// the instant between the reads, and the count is never more than the server held then.
#[cfg(target_os = "linux")]
fn sockets_held_by_the_server(port: u16) -> usize {
    let first = server_socket_inodes(port);
    server_socket_inodes(port).intersection(&first).count()
}

/// The inodes of the sockets on `port` in one read of `/proc/net/tcp` (see
/// [`sockets_held_by_the_server`]).
#[cfg(target_os = "linux")]
fn server_socket_inodes(port: u16) -> std::collections::HashSet<String> {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local_port = fields.get(1).and_then(|a| a.rsplit(':').next());
            let on_port = local_port.and_then(|p| u16::from_str_radix(p, 16).ok()) == Some(port);
            let listening = fields.get(3) == Some(&"0A");
            let inode = *fields.get(9)?;
            (on_port && !listening && inode != "0").then(|| inode.to_owned())
        })
        .collect()
}

/// (d) With a cap of 50, 60 idle sockets: the server never holds more than 50 connections, the
/// rest wait in the listen backlog, and a request made behind them is answered once the idle
/// ones have been timed out.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_never_holds_more_connections_than_its_cap() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    const CAP: usize = 50;
    const IDLE_SOCKETS: usize = 60;
    // Long enough for a few samples of a full cap: the table is slow to read beside 10,000
    // sockets of the other test.
    let header = 2 * SECOND;
    let server = start(header, 600 * SECOND, CAP).await;
    let addr = server.addr();

    let most = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (most, done) = (most.clone(), done.clone());
        std::thread::spawn(move || {
            let mut samples = 0;
            // Each sample is compared with the one before, as `sockets_held_by_the_server`
            // compares its two reads, without reading the table twice as often.
            let mut previous = server_socket_inodes(addr.port());
            while !done.load(Ordering::Relaxed) {
                let now = server_socket_inodes(addr.port());
                most.fetch_max(now.intersection(&previous).count(), Ordering::Relaxed);
                previous = now;
                samples += 1;
                std::thread::sleep(Duration::from_millis(5));
            }
            samples
        })
    };

    let started = Instant::now();
    let mut idle = Vec::new();
    for _ in 0..IDLE_SOCKETS {
        idle.push(timeout(MARGIN, TcpStream::connect(addr)).await.expect("connect").unwrap());
    }
    // Behind all of them: answered once the first 50 are timed out and slots free up.
    let asked = Instant::now();
    let status = timeout(2 * header + MARGIN, status_of_a_request(addr))
        .await
        .unwrap_or_else(|_| panic!("no answer {:?} on", 2 * header + MARGIN));
    assert_eq!(status, Ok(200));
    let answered_in = asked.elapsed();
    // The ten that waited in the backlog are accepted, and timed out, in their turn.
    let deadline = tokio::time::Instant::now() + 2 * header + MARGIN;
    for (i, stream) in idle.iter_mut().enumerate() {
        assert!(closed_by(stream, deadline).await.is_some(), "idle socket {i} is still open");
    }
    let all_closed_in = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let samples = sampler.join().unwrap();
    let most = most.load(Ordering::Relaxed);
    eprintln!(
        "cap {CAP}, {IDLE_SOCKETS} idle sockets: at most {most} held by the server ({samples} samples); \
         the request behind them answered in {answered_in:.2?}; all idle ones closed within \
         {all_closed_in:.2?} (header timeout {header:?})"
    );
    assert!(most <= CAP, "the server held {most} connections, over its cap of {CAP}");
    assert_eq!(most, CAP, "the server filled its cap (or the sampling missed it)");
}

/// Starts the binary through `sh` with `shell_setup` run first (e.g. `ulimit -n 48`), then
/// `args` plus a port and a database in `dir`; returns it, its address and its stderr lines.
fn spawn_binary(
    dir: &std::path::Path,
    shell_setup: &str,
    args: &[&str],
) -> (Process, String, std::sync::mpsc::Receiver<String>) {
    let mut process = Process::start_in(dir, shell_setup, args);
    let (lines_tx, lines) = std::sync::mpsc::channel();
    let stderr = BufReader::new(process.child.stderr.take().unwrap());
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let addr = process.addr.clone();
    (process, addr, lines)
}

/// An accept error does not stop the server: with only 48 descriptors and a cap far above, a
/// flood makes `accept` fail with EMFILE; the server logs it, backs off, and once the idle
/// sockets are timed out it answers again.
#[cfg(unix)]
#[tokio::test]
async fn accept_errors_are_logged_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--header-timeout-secs", "1", "--idle-timeout-secs", "1", "--max-connections", "1000"];
    let (mut child, addr, stderr) = spawn_binary(dir.path(), "ulimit -n 48", &args);
    let addr: SocketAddr = addr.parse().unwrap();

    let mut idle = Vec::new();
    for _ in 0..100 {
        idle.push(timeout(MARGIN, TcpStream::connect(addr)).await.expect("connect").unwrap());
    }
    let error = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + MARGIN;
        while let Ok(line) = stderr.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            if line.starts_with("accept error") {
                return Some(line);
            }
        }
        None
    })
    .await
    .unwrap();
    let error = error.expect("the flood of 100 sockets made no accept fail: the test proves nothing");
    assert!(error.contains("Too many open files"), "{error}");
    let asked = Instant::now();
    let status = timeout(10 * MARGIN, status_of_a_request(addr)).await.expect("an answer");
    assert_eq!(status, Ok(200));
    eprintln!("{error:?}; a request after the flood answered in {:.2?}", asked.elapsed());
    assert!(child.child.try_wait().unwrap().is_none(), "the server has exited");
}

/// Ctrl-C (SIGINT) stops the server gracefully: a request in progress is answered, an idle
/// connection is closed without waiting for its timeout, and the process exits with 0.
#[cfg(all(unix, feature = "test-support"))]
#[tokio::test]
async fn ctrl_c_lets_a_request_in_progress_finish() {
    stops_gracefully_on("-INT").await;
}

/// SIGTERM (what a process manager or a container runtime sends) does the same.
#[cfg(all(unix, feature = "test-support"))]
#[tokio::test]
async fn sigterm_lets_a_request_in_progress_finish() {
    stops_gracefully_on("-TERM").await;
}

/// (With `--latency-ms`, a test knob: the `test-support` feature.)
#[cfg(all(unix, feature = "test-support"))]
async fn stops_gracefully_on(signal: &str) {
    let dir = tempfile::tempdir().unwrap();
    // Each API request takes 1.5 s; the timeouts are far longer than the test.
    let args = ["--latency-ms", "1500", "--header-timeout-secs", "600", "--idle-timeout-secs", "600"];
    let (mut child, addr, _stderr) = spawn_binary(dir.path(), "true", &args);
    let addr: SocketAddr = addr.parse().unwrap();

    let mut idle = TcpStream::connect(addr).await.unwrap();
    let mut slow = TcpStream::connect(addr).await.unwrap();
    let preflight = format!(
        "OPTIONS /v1/oauth/token/ HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://localhost:8080\r\n\
         Access-Control-Request-Method: GET\r\n\r\n"
    );
    slow.write_all(preflight.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pid = child.child.id().to_string();
    assert!(std::process::Command::new("kill").args([signal, &pid]).status().unwrap().success());

    let mut reply = Vec::new();
    timeout(MARGIN, slow.read_to_end(&mut reply)).await.expect("the reply").unwrap();
    let reply = String::from_utf8_lossy(&reply);
    assert!(reply.starts_with("HTTP/1.1 204"), "the request in progress: {reply:?}");
    let deadline = tokio::time::Instant::now() + MARGIN;
    assert!(closed_by(&mut idle, deadline).await.is_some(), "the idle connection is still open");
    let exited = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + MARGIN;
        while Instant::now() < deadline {
            if let Some(status) = child.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    })
    .await
    .unwrap();
    assert_eq!(exited.expect("the server is still running").code(), Some(0));
}

/// The size of the download the slow readers ask for.
const DOWNLOAD_MIB: usize = 64;

/// A provider whose API sends [`DOWNLOAD_MIB`] MiB at `/api/big`; its base URL.
async fn download_provider() -> String {
    let router = axum::Router::new().route(
        "/api/big",
        axum::routing::get(|| async {
            let mib = axum::body::Bytes::from(vec![b'x'; 1 << 20]);
            let chunks = futures_util::stream::iter(std::iter::repeat_n(mib, DOWNLOAD_MIB));
            axum::body::Body::from_stream(futures_util::StreamExt::map(chunks, Ok::<_, std::io::Error>))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    base
}

/// A server with an account at the [`download_provider`] `base`, upstream timeout `upstream`
/// seconds, tuned by `tune`.
async fn start_download(
    base: &str,
    upstream: u64,
    tune: impl FnOnce(&mut Config),
) -> common::acme::AcmeAccount {
    let endpoints = format!(
        "authorization_url = \"{base}/auth\"\ntoken_url = \"{base}/token\"\n\
         identity_url = \"{base}/me\"\napi_base = \"{base}/api\""
    );
    let tokens = Tokens {
        access_token: "ACCESS".to_owned(),
        refresh_token: None,
        expires_at: None,
        scope: None,
        hostname: None,
        instance_url: None,
        site: None,
    };
    common::acme::start_tuned(&format!("upstream_timeout_secs = {upstream}"), &endpoints, &tokens, tune).await
}

/// A socket with a 1 KB receive buffer that asks for the download and reads none of it; once
/// its reply has started (peeked, not read).
async fn stalled_download(running: &common::acme::AcmeAccount) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(1024).unwrap();
    let mut stream = socket.connect(running.server.addr()).await.unwrap();
    let request = format!(
        "POST /v1/accounts/{}/raw HTTP/1.1\r\nHost: {}\r\nAuthorization: APIKey {}\r\n\
         X-Kloudless-Raw-URI: /big\r\nContent-Length: 0\r\n\r\n",
        running.account,
        running.server.addr(),
        common::acme::KEY
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = [0u8; 12];
    let peeked = timeout(MARGIN, stream.peek(&mut head)).await.expect("the reply starts").unwrap();
    assert!(head[..peeked].starts_with(b"HTTP/1.1 200"), "{:?}", String::from_utf8_lossy(&head));
    stream
}

/// Reads `stream` to its end (the server closed it) within `patience`; the bytes read, or
/// `None` if it is still open then.
async fn drain(stream: &mut TcpStream, patience: Duration) -> Option<usize> {
    let mut total = 0;
    let mut buf = vec![0u8; 1 << 16];
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_elapsed) => return None,
            Ok(Ok(0) | Err(_)) => return Some(total),
            Ok(Ok(n)) => total += n,
        }
    }
}

/// Issue 20, finding 4: eight sockets that ask for a 64 MiB download and never read held a
/// server capped at eight connections forever. Each write must now make progress within the
/// write timeout: they are dropped, `/healthz` is answered again within the write timeout (plus
/// the margin; the relay, with its upstream timeout of five minutes, plays no part), and each
/// of them was closed by the server with its download cut short.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_stop_reading_are_dropped_after_the_write_timeout() {
    const CAP: usize = 8;
    let write_timeout = 2 * SECOND;
    let base = download_provider().await;
    let running = start_download(&base, 300, |config| {
        config.connections.write_timeout = write_timeout;
        config.connections.max_connections = CAP;
    })
    .await;
    let started = Instant::now();
    let mut readers = Vec::new();
    for _ in 0..CAP {
        readers.push(stalled_download(&running).await);
    }
    let asked = Instant::now();
    let health = async {
        let mut stream = TcpStream::connect(running.server.addr()).await.map_err(|e| e.to_string())?;
        let request =
            format!("GET /healthz HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", running.server.addr());
        stream.write_all(request.as_bytes()).await.map_err(|e| e.to_string())?;
        let mut reply = Vec::new();
        stream.read_to_end(&mut reply).await.map_err(|e| e.to_string())?;
        Ok::<_, String>(String::from_utf8_lossy(&reply).into_owned())
    };
    let reply = timeout(write_timeout + MARGIN, health)
        .await
        .unwrap_or_else(|_| {
            panic!("/healthz unanswered {:?} on: the slow readers hold every slot", write_timeout + MARGIN)
        })
        .unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    let answered_in = asked.elapsed();
    for (i, reader) in readers.iter_mut().enumerate() {
        let read =
            drain(reader, MARGIN).await.unwrap_or_else(|| panic!("slow reader {i} is still connected"));
        assert!(read < DOWNLOAD_MIB << 20, "slow reader {i} got the whole download ({read} bytes)");
    }
    eprintln!(
        "{CAP} slow readers at a cap of {CAP}: /healthz answered {answered_in:.2?} after it was asked \
         ({:.2?} after the first download started; write timeout {write_timeout:?})",
        started.elapsed()
    );
}

/// When the relay gives up on a download because its client takes nothing for the upstream
/// timeout, the client's connection is closed at once — not left to the write timeout (ten
/// minutes here), with the server holding it.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_the_relay_gives_up_on_closes_the_clients_connection() {
    let upstream_timeout = 2 * SECOND;
    let base = download_provider().await;
    let running = start_download(&base, upstream_timeout.as_secs(), |config| {
        config.connections.write_timeout = 600 * SECOND;
    })
    .await;
    let _reader = stalled_download(&running).await;
    let asked = Instant::now();
    assert_eq!(sockets_held_by_the_server(running.server.addr().port()), 1);
    // Closed by the server: its socket is orphaned (or gone) without the client reading a byte.
    while sockets_held_by_the_server(running.server.addr().port()) > 0 {
        assert!(
            asked.elapsed() < upstream_timeout + MARGIN,
            "the server still holds the connection {:?} after the download started",
            asked.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "the relay gave up and the connection was closed {:.2?} after the download started (upstream \
         timeout {upstream_timeout:?})",
        asked.elapsed()
    );
}
