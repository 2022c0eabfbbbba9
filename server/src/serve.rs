//! The accept loop: HTTP/1.1 connections with a header-read timeout, a keep-alive idle timeout
//! and a cap on concurrent connections, shut down gracefully on a signal.
//!
//! `axum::serve` has none of these settings ("use hyper or hyper-util if you need
//! configuration"), so this follows axum's `serve-with-hyper` example: hyper's HTTP/1
//! connection builder for each accepted socket, and hyper-util's tokio glue and
//! [`GracefulShutdown`]. How each limit is enforced, as read in hyper 1.12's sources:
//!
//! - **Keep-alive idle timeout** ([`Limits::idle_timeout`]): hyper's
//!   `http1::Builder::header_read_timeout`. It needs a timer (`.timer(TokioTimer::new())`;
//!   setting the timeout without one panics, and hyper's 30 s default is silently off without
//!   one). hyper arms it whenever it waits for a request head: when the connection opens, and
//!   again as soon as a response has been written. So it bounds the idle time of a kept-alive
//!   connection *plus* the time to send the next head: a kept-alive connection that sends
//!   nothing, or trickles its next head, is closed `idle_timeout` after the previous response.
//! - **Header-read timeout** ([`Limits::header_timeout`]): hyper has only the one duration, so
//!   the first head of a connection gets its own, shorter deadline here: the connection's task
//!   closes the socket if hyper has not called the service (which it does once a complete
//!   request head has been parsed) within `header_timeout` of the accept. An idle socket that
//!   never sends a request, or a slow client that sends part of a head, is gone after that.
//! - **Connection cap** ([`Limits::max_connections`]): a [`Semaphore`] permit is taken
//!   *before* each `accept` and held by the connection's task until the socket is closed. At
//!   the cap the loop stops accepting: new connections wait in the kernel's listen backlog,
//!   where they cost the process no file descriptor, and are accepted in order as slots free up
//!   (within `header_timeout` when the slots are held by sockets that send nothing). Accepting and
//!   closing them at once instead would spend a descriptor on each and turn a legitimate
//!   client's wait into an error; once the backlog itself is full the kernel drops new SYNs and
//!   clients retry.
//! - **Accept errors** never end the loop: connection errors (reset, aborted) are skipped, and
//!   any other error (`EMFILE`, `ENFILE`, `ENOBUFS`) is logged and retried after
//!   [`ACCEPT_BACKOFF`], as `axum::serve` and hyper 0.14 did.
//!
//! The request body gets the header timeout too, from the router (`RequestBodyTimeoutLayer` in
//! [`crate::router`]). Not covered: how long a client takes to read the response.

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::{Service, service_fn};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Default [`Limits::header_timeout`]: 10 seconds.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Default [`Limits::idle_timeout`]: 60 seconds.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// The longest header or idle timeout accepted, in seconds (one hour).
pub const MAX_TIMEOUT_SECS: u64 = 3600;

/// The highest default connection cap, whatever the open-file limit.
pub const MAX_DEFAULT_CONNECTIONS: usize = 10_000;

/// The default connection cap where the open-file limit cannot be read.
pub const FALLBACK_MAX_CONNECTIONS: usize = 512;

/// The highest `--max-connections` accepted.
pub const MAX_CONNECTIONS: usize = 1_000_000;

/// How long the loop waits after an accept error such as `EMFILE` before accepting again.
pub const ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// The connection settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    /// A new connection is closed unless it sends a complete request head within this time.
    pub header_timeout: Duration,
    /// A kept-alive connection is closed unless it completes its next request head within this
    /// time of the previous response (no shorter than `header_timeout` in effect).
    pub idle_timeout: Duration,
    /// The most connections open at once; more wait in the listen backlog.
    pub max_connections: usize,
}

/// The soft limit on this process's open files (`RLIMIT_NOFILE`; a huge number where it is
/// unlimited), if it can be read.
pub fn open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    return rlimit::getrlimit(rlimit::Resource::NOFILE).ok().map(|(soft, _hard)| soft);
    #[cfg(not(unix))]
    return None;
}

/// The default connection cap: half the soft open-file limit, at least 1 and at most
/// [`MAX_DEFAULT_CONNECTIONS`] ([`FALLBACK_MAX_CONNECTIONS`] where the limit cannot be read).
/// The other half is left for what a connection may open while it is served (a static file),
/// the database and the runtime.
pub fn default_max_connections() -> usize {
    cap_for(open_file_limit())
}

/// [`default_max_connections`] for this soft open-file limit.
fn cap_for(soft_limit: Option<u64>) -> usize {
    match soft_limit {
        Some(soft) => usize::try_from(soft / 2).unwrap_or(usize::MAX).clamp(1, MAX_DEFAULT_CONNECTIONS),
        None => FALLBACK_MAX_CONNECTIONS,
    }
}

/// Serves `router` on `listener` within `limits` until `shutdown` completes; then stops
/// accepting, lets the requests in progress finish, closes idle connections and returns.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let mut http = http1::Builder::new();
    // Never shorter than the header timeout, so that the first head gets all of it.
    http.timer(TokioTimer::new()).header_read_timeout(limits.idle_timeout.max(limits.header_timeout));
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_closed) => break, // never: the semaphore is not closed
            },
            () = &mut shutdown => break,
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        match accepted {
            Ok((stream, peer)) => {
                let (router, http, watcher) = (router.clone(), http.clone(), graceful.watcher());
                tokio::spawn(connection(stream, peer, router, http, limits.header_timeout, watcher, permit));
            }
            Err(error) if is_connection_error(&error) => {}
            Err(error) => {
                eprintln!("accept error: {error}; accepting again in {} ms", ACCEPT_BACKOFF.as_millis());
                tokio::select! {
                    () = tokio::time::sleep(ACCEPT_BACKOFF) => {}
                    () = &mut shutdown => break,
                }
            }
        }
    }
    // New connections are refused from here on; the open ones finish their request and close.
    drop(listener);
    graceful.shutdown().await;
}

/// An error that concerns one connection only: accept the next one at once.
fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}

/// Serves one accepted connection from `peer` (its requests carry it as axum's [`ConnectInfo`])
/// until it ends, is cut by a timeout, or is shut down gracefully through `watcher`; `_slot`
/// frees its place under the cap when this returns and the socket is closed.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    http: http1::Builder,
    header_timeout: Duration,
    watcher: Watcher,
    _slot: OwnedSemaphorePermit,
) {
    // Set once hyper has parsed a complete request head and called the service.
    let head_seen = Arc::new(AtomicBool::new(false));
    let seen = head_seen.clone();
    let router = TowerToHyperService::new(router);
    let service = service_fn(move |mut request: Request<Incoming>| {
        seen.store(true, Ordering::Relaxed);
        request.extensions_mut().insert(ConnectInfo(peer));
        router.call(request)
    });
    let conn = watcher.watch(http.serve_connection(TokioIo::new(stream), service));
    let first_head = tokio::time::sleep(header_timeout);
    tokio::pin!(conn, first_head);
    let mut waiting_for_first_head = true;
    loop {
        tokio::select! {
            // Its errors (a timeout, a reset, a malformed request) concern this client only.
            _ = &mut conn => return,
            () = &mut first_head, if waiting_for_first_head => {
                if !head_seen.load(Ordering::Relaxed) {
                    return; // dropping the connection closes the socket
                }
                waiting_for_first_head = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_cap_is_half_the_open_file_limit_within_bounds() {
        assert_eq!(cap_for(Some(1024)), 512);
        assert_eq!(cap_for(Some(256)), 128, "macOS's usual soft limit");
        assert_eq!(cap_for(Some(20_000)), 10_000);
        assert_eq!(cap_for(Some(1_048_576)), MAX_DEFAULT_CONNECTIONS);
        assert_eq!(cap_for(Some(u64::MAX)), MAX_DEFAULT_CONNECTIONS, "unlimited");
        assert_eq!(cap_for(Some(1)), 1);
        assert_eq!(cap_for(None), FALLBACK_MAX_CONNECTIONS);
        assert_eq!(default_max_connections(), cap_for(open_file_limit()));
    }
}
