//! The pass-through API's bodies ([`crate::accounts::raw`]), passed on as streams and never collected
//! whole, with the timeouts that keep one stalled party from holding the other's resources:
//!
//! - The request body ([`Outgoing`]) goes from the client to the upstream chunk by chunk, up to
//!   a maximum. One of at most [`RESENDABLE`] bytes is read first and kept, so that it can be
//!   sent again after a 401; a longer one is sent once.
//! - The upstream stalls ([`Sending::stalled`]) when it keeps us waiting for the idle time (the
//!   upstream timeout): to take the next chunk of the request body, or to answer once the whole
//!   body is sent. Time spent waiting on the client is not counted: between two chunks of its
//!   body, the client has the server's request body timeout (the header timeout).
//! - The reply body ([`reply_body`]) is read from the upstream by a task into a small channel
//!   of [`RELAYED_CHUNKS`] chunks. An upstream that sends nothing for the idle time, or a
//!   client that takes nothing for the idle time, ends it: the upstream connection is released
//!   and the client's connection closed at once ([`CloseHandle`]), so that its reply is cut
//!   short, never ended as if it were complete. (Cutting the body alone would not do: hyper
//!   reads the body's error only once it has written what came before, which a client that
//!   reads nothing never lets it do.)

use crate::serve::CloseHandle;
use axum::body::{Body, Bytes};
use futures_util::stream::{self, BoxStream, StreamExt};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

/// The largest request body kept so that it can be sent again (after a 401): 64 KiB.
pub const RESENDABLE: usize = 64 * 1024;

/// How many chunks of the upstream's reply are read ahead of the client.
pub const RELAYED_CHUNKS: usize = 8;

/// Why the client's request body was not passed on whole.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BodyError {
    /// It was longer than the maximum.
    TooLarge,
    /// It could not be read: the client stopped sending (the request body timeout) or went away.
    Unreadable,
}

/// A request body to pass on: read whole if short, else a stream sent once.
pub enum Outgoing {
    /// At most [`RESENDABLE`] bytes, read whole: it can be sent any number of times.
    Whole(Bytes),
    /// A longer body: the chunks read so far and the rest, until it is sent.
    Streamed(Option<BoxStream<'static, Result<Bytes, axum::Error>>>),
}

impl Outgoing {
    /// Reads `body` up to [`RESENDABLE`] bytes (and never more than `max`): whole if it ends
    /// there, else the part read and the rest to stream.
    pub async fn read(body: Body, max: u64) -> Result<Outgoing, BodyError> {
        let mut chunks = body.into_data_stream();
        let mut read = Vec::new();
        let mut len = 0usize;
        while len <= RESENDABLE {
            match chunks.next().await {
                None => return Ok(Outgoing::Whole(Bytes::from(read.concat::<u8>()))),
                Some(Err(_)) => return Err(BodyError::Unreadable),
                Some(Ok(chunk)) => {
                    len += chunk.len();
                    if len as u64 > max {
                        return Err(BodyError::TooLarge);
                    }
                    read.push(chunk);
                }
            }
        }
        let rest = stream::iter(read.into_iter().map(Ok)).chain(chunks);
        Ok(Outgoing::Streamed(Some(rest.boxed())))
    }

    /// Whether the body can be sent again.
    pub fn resendable(&self) -> bool {
        matches!(self, Outgoing::Whole(_))
    }

    /// The body to send this time, and the watch on its sending; `None` once a streamed body
    /// was sent. A streamed body is cut (an error) past `max` bytes.
    pub fn send(&mut self, max: u64) -> Option<(reqwest::Body, Sending)> {
        let state = Arc::new(watch::Sender::new(State::Waiting(Instant::now())));
        let body = match self {
            Outgoing::Whole(bytes) => reqwest::Body::from(bytes.clone()),
            Outgoing::Streamed(rest) => reqwest::Body::wrap_stream(watched(rest.take()?, max, state.clone())),
        };
        Some((body, Sending { state }))
    }
}

/// Where the sending of a request body is.
#[derive(Clone, Copy, Debug, PartialEq)]
enum State {
    /// The upstream is taking the body; the next chunk is awaited from the client.
    Moving,
    /// Waiting on the upstream since then: to take the next chunk, or to answer.
    Waiting(Instant),
    /// The client's body failed.
    Failed(BodyError),
}

/// `chunks`, counted (an error past `max` bytes), reporting to `state` what it waits on.
fn watched(
    chunks: BoxStream<'static, Result<Bytes, axum::Error>>,
    max: u64,
    state: Arc<watch::Sender<State>>,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    stream::unfold((chunks, 0u64, state), move |(mut chunks, sent, state)| async move {
        // Polled again: the upstream took the previous chunk.
        state.send_replace(State::Moving);
        let failed = |error: BodyError| {
            state.send_replace(State::Failed(error));
            Err(std::io::Error::other(format!("the request body failed: {error:?}")))
        };
        let (item, sent) = match chunks.next().await {
            None => {
                state.send_replace(State::Waiting(Instant::now()));
                return None;
            }
            Some(Err(_)) => (failed(BodyError::Unreadable), sent),
            Some(Ok(chunk)) => {
                let sent = sent + chunk.len() as u64;
                if sent > max {
                    (failed(BodyError::TooLarge), sent)
                } else {
                    state.send_replace(State::Waiting(Instant::now()));
                    (Ok(chunk), sent)
                }
            }
        };
        Some((item, (chunks, sent, state)))
    })
}

/// The watch on one sending of a request body.
pub struct Sending {
    state: Arc<watch::Sender<State>>,
}

impl Sending {
    /// Completes when the upstream has kept us waiting for `idle`: it has not taken the next
    /// chunk of the body, or has not answered once the body was sent.
    pub async fn stalled(&self, idle: Duration) {
        let mut state = self.state.subscribe();
        loop {
            let now = *state.borrow_and_update();
            if let State::Waiting(since) = now {
                tokio::select! {
                    () = tokio::time::sleep_until(since + idle) => return,
                    _ = state.changed() => {}
                }
            } else if state.changed().await.is_err() {
                // Cannot happen: `self` holds the sender.
                std::future::pending::<()>().await;
            }
        }
    }

    /// Why the client's body failed, if it did.
    pub fn failure(&self) -> Option<BodyError> {
        match *self.state.borrow() {
            State::Failed(error) => Some(error),
            _ => None,
        }
    }
}

/// The upstream's reply body as the client's, streamed through a channel of [`RELAYED_CHUNKS`]
/// by a task: cut short, and the client's connection closed through `close` (when it has one),
/// when the upstream sends nothing or the client takes nothing for `idle`.
pub fn reply_body(reply: reqwest::Response, idle: Duration, close: Option<CloseHandle>) -> Body {
    let (chunks, received) = mpsc::channel::<Bytes>(RELAYED_CHUNKS);
    let (complete, completed) = oneshot::channel::<()>();
    tokio::spawn(async move {
        if relay(reply, idle, &chunks).await {
            let _ = complete.send(());
        } else if let Some(close) = close.filter(|_| !chunks.is_closed()) {
            // The client's reply is still under way (a body already dropped, as after a HEAD
            // request, leaves the connection to its next request).
            close.close();
        }
    });
    let relayed = stream::unfold(received, |mut received| async move {
        let chunk = received.recv().await?;
        Some((Ok(chunk), received))
    });
    let end = stream::once(async move {
        completed.await.err().map(|_| Err(std::io::Error::other("the upstream's reply was cut short")))
    })
    .filter_map(std::future::ready);
    Body::from_stream(relayed.chain(end))
}

/// Passes `reply`'s body into `chunks`; whether it was passed whole, rather than given up on
/// because the upstream failed or sent nothing for `idle`, or the client went away or took
/// nothing for `idle`.
async fn relay(reply: reqwest::Response, idle: Duration, chunks: &mpsc::Sender<Bytes>) -> bool {
    let mut upstream = reply.bytes_stream();
    loop {
        match tokio::time::timeout(idle, upstream.next()).await {
            Ok(Some(Ok(chunk))) => {
                if chunks.send_timeout(chunk, idle).await.is_err() {
                    return false;
                }
            }
            Ok(None) => return true,
            Ok(Some(Err(_))) | Err(_) => return false,
        }
    }
}
