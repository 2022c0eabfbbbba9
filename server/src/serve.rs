//! The accept loop: HTTP/1.1 connections with a header-read timeout, a keep-alive idle timeout,
//! a write timeout and a cap on concurrent connections, shut down gracefully on a signal.
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
//! - **Write timeout** ([`Limits::write_timeout`]): every accepted socket is wrapped in
//!   [`WriteDeadline`], whose writes fail with `TimedOut` when one makes no progress for that
//!   long — a client that stops reading (its receive window stays shut) while a response is
//!   being written. hyper then ends the connection, which closes the socket and frees its slot.
//!   A client that reads, however slowly, is not cut (there is no minimum rate).
//! - **Closing from a handler** ([`CloseHandle`], in each request's extensions): a handler that
//!   gives up on a response already under way (the pass-through API's relay, [`crate::relay`])
//!   closes its connection at once rather than wait for hyper to find out.
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
//! [`crate::router`]).

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
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

/// Default [`Limits::header_timeout`]: 10 seconds.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Default [`Limits::idle_timeout`]: 60 seconds.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Default [`Limits::write_timeout`]: 30 seconds.
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest header, idle or write timeout accepted, in seconds (one hour).
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
    /// A connection is closed when writing to it makes no progress for this long: its client
    /// stopped reading.
    pub write_timeout: Duration,
    /// The most connections open at once; more wait in the listen backlog.
    pub max_connections: usize,
}

impl Default for Limits {
    /// The default timeouts and [`default_max_connections`].
    fn default() -> Limits {
        Limits {
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            write_timeout: DEFAULT_WRITE_TIMEOUT,
            max_connections: default_max_connections(),
        }
    }
}

impl Limits {
    /// The limits, checked: the three timeouts above zero and at most [`MAX_TIMEOUT_SECS`],
    /// the idle timeout no shorter than the header timeout, and from 1 to [`MAX_CONNECTIONS`]
    /// connections. Errors name the flags (`--idle-timeout-secs`…).
    pub fn check(self) -> Result<Limits, String> {
        let max = Duration::from_secs(MAX_TIMEOUT_SECS);
        for (flag, timeout) in [
            ("--header-timeout-secs", self.header_timeout),
            ("--idle-timeout-secs", self.idle_timeout),
            ("--write-timeout-secs", self.write_timeout),
        ] {
            if timeout.is_zero() || timeout > max {
                return Err(format!("{flag}: {timeout:?} is not above 0 and at most {}s", max.as_secs()));
            }
        }
        if self.idle_timeout < self.header_timeout {
            return Err(format!(
                "--idle-timeout-secs ({:?}) must be at least --header-timeout-secs ({:?})",
                self.idle_timeout, self.header_timeout
            ));
        }
        if !(1..=MAX_CONNECTIONS).contains(&self.max_connections) {
            return Err(format!(
                "--max-connections {} is not from 1 to {MAX_CONNECTIONS}",
                self.max_connections
            ));
        }
        Ok(self)
    }
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
                let stream = WriteDeadline::new(stream, limits.write_timeout);
                tokio::spawn(connection(stream, peer, router, http, limits.header_timeout, watcher, permit));
            }
            Err(error) if is_connection_error(&error) => {}
            Err(error) => {
                tracing::error!(
                    "accept error: {error}; accepting again in {} ms",
                    ACCEPT_BACKOFF.as_millis()
                );
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

/// Serves one accepted connection from `peer` (its requests carry it as axum's [`ConnectInfo`],
/// and a [`CloseHandle`]) until it ends, is cut by a timeout or a handler, or is shut down
/// gracefully through `watcher`; `_slot` frees its place under the cap when this returns and the
/// socket is closed.
async fn connection(
    stream: WriteDeadline<TcpStream>,
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
    let close = CloseHandle::default();
    let handle = close.clone();
    let router = TowerToHyperService::new(router);
    let service = service_fn(move |mut request: Request<Incoming>| {
        seen.store(true, Ordering::Relaxed);
        request.extensions_mut().insert(ConnectInfo(peer));
        request.extensions_mut().insert(handle.clone());
        router.call(request)
    });
    let conn = watcher.watch(http.serve_connection(TokioIo::new(stream), service));
    let first_head = tokio::time::sleep(header_timeout);
    let closed = close.0.notified();
    tokio::pin!(conn, first_head, closed);
    let mut waiting_for_first_head = true;
    loop {
        tokio::select! {
            // Its errors (a timeout, a reset, a malformed request) concern this client only.
            _ = &mut conn => return,
            () = &mut closed => return, // a handler gave up on its response
            () = &mut first_head, if waiting_for_first_head => {
                if !head_seen.load(Ordering::Relaxed) {
                    return; // dropping the connection closes the socket
                }
                waiting_for_first_head = false;
            }
        }
    }
}

/// Closes the connection a request came on (see the module's documentation); found in each
/// request's extensions.
#[derive(Clone, Debug, Default)]
pub struct CloseHandle(Arc<Notify>);

impl CloseHandle {
    /// Closes the connection now, whatever it is writing: for a response that cannot be
    /// completed and that its client may not be reading.
    pub fn close(&self) {
        self.0.notify_one();
    }
}

/// A stream whose writes must make progress: a write, flush or shutdown still waiting
/// `limit` after it first had to wait fails with [`io::ErrorKind::TimedOut`]. Reads are passed
/// through.
pub struct WriteDeadline<S> {
    inner: S,
    limit: Duration,
    /// When the waiting write fails; armed by the first write that waits, disarmed by any
    /// that completes.
    deadline: Pin<Box<Sleep>>,
    armed: bool,
}

impl<S> WriteDeadline<S> {
    /// `inner`, whose writes must make progress within `limit`.
    pub fn new(inner: S, limit: Duration) -> WriteDeadline<S> {
        WriteDeadline { inner, limit, deadline: Box::pin(tokio::time::sleep(limit)), armed: false }
    }

    /// Passes on a write's outcome `poll`: disarms the deadline when it is ready, else arms it
    /// (if it is not yet) and fails once it has passed.
    fn watch<T>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if poll.is_ready() {
            self.armed = false;
            return poll;
        }
        if !self.armed {
            self.armed = true;
            self.deadline.as_mut().reset(Instant::now() + self.limit);
        }
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => {
                Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "the client stopped reading")))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WriteDeadline<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WriteDeadline<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.watch(cx, poll)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.watch(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_flush(cx);
        this.watch(cx, poll)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.watch(cx, poll)
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

    #[tokio::test]
    async fn a_write_fails_once_it_makes_no_progress_for_the_limit_and_progress_rearms_it() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        // Ten times the reader's pace, so that a loaded machine's scheduling does not cut it.
        let limit = Duration::from_millis(1_000);
        let (mut reader, writer) = tokio::io::duplex(64);
        let mut writer = WriteDeadline::new(writer, limit);
        // A reader taking 64 bytes every 100 ms: a 1 KiB write takes far longer than the limit,
        // but each of its parts makes progress within it.
        let slow_reader = tokio::spawn(async move {
            let mut buf = [0u8; 64];
            let mut read = 0;
            while read < 1024 {
                tokio::time::sleep(Duration::from_millis(100)).await;
                read += reader.read(&mut buf).await.unwrap();
            }
            reader
        });
        writer.write_all(&[7u8; 1024]).await.expect("a slow reader is not cut");
        let _reader = slow_reader.await.unwrap();
        // Now nobody reads: the buffer fills, and the write that waits fails after the limit.
        let started = Instant::now();
        let error = writer.write_all(&[7u8; 1024]).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        let waited = started.elapsed();
        assert!(waited >= limit && waited < limit * 10, "{waited:?}");
    }
}
