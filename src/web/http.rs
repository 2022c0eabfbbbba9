//! The flow's requests to the API server, with `fetch`: each can be aborted, and is when its
//! [`InFlight`] is dropped (the flow ended) or its timeout fires.

use super::timer::Timer;
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, Headers, Request, RequestCredentials, RequestInit, RequestMode, Response};

/// What a request carries.
pub enum Send<'a> {
    /// A GET with `Authorization: Bearer {token}` and `X-Kloudless-Source: authenticator`.
    Bearer(&'a str),
    /// A POST of this form body (a CORS-safelisted content type: no preflight).
    Form(&'a str),
}

/// A request under way: dropping it aborts the request and clears its timeout.
pub struct InFlight {
    abort: AbortController,
    _timeout: Option<Timer>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.abort.abort();
    }
}

/// How a request ended without a reply.
pub enum Failure {
    /// Aborted by its timeout.
    TimedOut,
    /// No reply: network failure, CORS refusal, unreadable body, or aborted because dropped.
    Failed,
}

/// A request's outcome: its status and body, or why there is none.
pub type Outcome = Result<(u16, String), Failure>;

/// Starts a request to `url` that times out after `timeout_ms` (0: never); returns its [`InFlight`]
/// (keep it while waiting) and the outcome to await.
pub fn start(
    url: &str,
    send: Send,
    timeout_ms: i32,
) -> Option<(InFlight, impl Future<Output = Outcome> + 'static)> {
    let abort = AbortController::new().ok()?;
    let init = RequestInit::new();
    let headers = Headers::new().ok()?;
    match send {
        Send::Bearer(token) => {
            headers.set("Authorization", &["Bearer ", token].concat()).ok()?;
            headers.set("X-Kloudless-Source", "authenticator").ok()?;
            init.set_method("GET");
        }
        Send::Form(body) => {
            headers.set("Content-Type", "application/x-www-form-urlencoded").ok()?;
            init.set_method("POST");
            init.set_body(&body.into());
        }
    }
    init.set_headers(&headers);
    init.set_mode(RequestMode::Cors);
    init.set_credentials(RequestCredentials::Omit);
    init.set_signal(Some(&abort.signal()));
    let request = Request::new_with_str_and_init(url, &init).ok()?;
    let fetch = JsFuture::from(web_sys::window()?.fetch_with_request(&request));
    let timed_out = Rc::new(Cell::new(false));
    let (flag, on_timeout) = (Rc::clone(&timed_out), abort.clone());
    // 0: no limit.
    let timeout = (timeout_ms > 0)
        .then(|| {
            Timer::timeout(timeout_ms, move || {
                flag.set(true);
                on_timeout.abort();
            })
        })
        .flatten();
    let reply = async move {
        let reply = async {
            let response: Response = fetch.await.ok()?.dyn_into().ok()?;
            let body = JsFuture::from(response.text().ok()?).await.ok()?.as_string()?;
            Some((response.status(), body))
        };
        reply.await.ok_or(if timed_out.get() { Failure::TimedOut } else { Failure::Failed })
    };
    Some((InFlight { abort, _timeout: timeout }, reply))
}
