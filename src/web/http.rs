//! The flow's requests to the API server, with `fetch`: each can be aborted, and is when its
//! [`InFlight`] is dropped (the flow ended) or its timeout fires.

use super::events::{Event, Hook};
use super::host;
use alloc::rc::Rc;
use alloc::string::String;

/// What a request carries.
pub enum Send<'a> {
    /// A GET with `Authorization: Bearer {token}` and `X-Kloudless-Source: authenticator`.
    Bearer(&'a str),
    /// A POST of this form body (a CORS-safelisted content type: no preflight).
    Form(&'a str),
    /// An OPTIONS with the headers of [`Send::Bearer`] (and no token): its preflight warms the
    /// browser's preflight cache for the URL, so that a later [`Send::Bearer`] needs none.
    Warm,
}

/// A request under way: dropping it aborts the request (its reply is never delivered) and
/// clears its timeout.
pub struct InFlight {
    _request: Hook,
    _timeout: Option<Hook>,
}

/// How a request ended without a reply.
pub enum Failure {
    /// Its timeout fired first.
    TimedOut,
    /// No reply: network failure, CORS refusal or unreadable body.
    Failed,
}

/// A request's outcome: its status and body, or why there is none.
pub type Outcome = Result<(u16, String), Failure>;

/// Starts a request to `url` that times out after `timeout_ms` (0: never); `on_done` gets its
/// outcome once, unless the returned [`InFlight`] (keep it while waiting) is dropped first.
pub fn start(url: &str, send: Send, timeout_ms: i32, on_done: Rc<dyn Fn(Outcome)>) -> InFlight {
    let on_timeout = Rc::clone(&on_done);
    let (value, method) = match send {
        Send::Bearer(token) => (token, host::GET),
        Send::Form(body) => (body, host::POST),
        Send::Warm => ("-", host::OPTIONS),
    };
    let request = Hook::new(
        |id| host::start_request(url, value, method, id),
        move |event| {
            if let Event::Reply { status, body } = event {
                on_done(if status == 0 { Err(Failure::Failed) } else { Ok((status, body)) })
            }
        },
    );
    // 0: no limit.
    let timeout =
        (timeout_ms > 0).then(|| Hook::timer(timeout_ms, false, move || on_timeout(Err(Failure::TimedOut))));
    InFlight { _request: request, _timeout: timeout }
}
