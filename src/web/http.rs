//! The flow's requests to the API server, with `fetch`: each can be aborted, and is when its
//! [`InFlight`] is dropped (the flow ended) or its timeout fires.

use gloo_timers::callback::Timeout;
use js_sys::Promise;
use kloudless_protocol::SOURCE_HEADER;
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, spawn_local};
use web_sys::{AbortController, Headers, RequestCredentials, RequestInit, RequestMode, Response};

#[wasm_bindgen]
extern "C" {
    /// The global `fetch`, looked up at each call (a page's wrapper is honoured); what it
    /// throws is caught.
    #[wasm_bindgen(catch, js_name = fetch)]
    fn fetch(input: &str, init: &RequestInit) -> Result<Promise, JsValue>;
}

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

/// How a request ended without a reply.
#[derive(Clone, Copy, Debug)]
pub enum Failure {
    /// Its timeout fired first.
    TimedOut,
    /// No reply: network failure, CORS refusal or unreadable body.
    Failed,
}

/// A request's outcome: its status and body, or why there is none.
pub type Outcome = Result<(u16, String), Failure>;

/// A request under way: dropping it aborts the request (its reply is never delivered) and
/// clears its timeout.
pub struct InFlight {
    abort: Option<AbortController>,
    /// Whether the outcome is still wanted (not `signal.aborted`, which a page can patch).
    live: Rc<Cell<bool>>,
    _timeout: Option<Timeout>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.live.set(false);
        if let Some(abort) = &self.abort {
            super::release::abort(abort);
        }
    }
}

fn init(send: &Send, abort: Option<&AbortController>) -> Result<RequestInit, JsValue> {
    let init = RequestInit::new();
    init.set_mode(RequestMode::Cors);
    init.set_credentials(RequestCredentials::Omit);
    if let Some(abort) = abort {
        init.set_signal(Some(&abort.signal()));
    }
    let headers = Headers::new()?;
    match send {
        Send::Bearer(token) => {
            init.set_method("GET");
            headers.append("Authorization", &format!("Bearer {token}"))?;
            headers.append(SOURCE_HEADER.0, SOURCE_HEADER.1)?;
        }
        Send::Warm => {
            init.set_method("OPTIONS");
            headers.append("Authorization", "-")?;
            headers.append(SOURCE_HEADER.0, SOURCE_HEADER.1)?;
        }
        Send::Form(body) => {
            init.set_method("POST");
            headers.append("Content-Type", "application/x-www-form-urlencoded")?;
            init.set_body(&JsValue::from_str(body));
        }
    }
    init.set_headers(&headers);
    Ok(init)
}

/// The status and body of a fetch's promise.
async fn reply(promise: Promise) -> Result<(u16, String), JsValue> {
    let response: Response = JsFuture::from(promise).await?.dyn_into()?;
    let body = JsFuture::from(response.text()?).await?;
    Ok((response.status(), body.as_string().unwrap_or_default()))
}

/// Starts a request to `url` that times out after `timeout_ms` (0: never); `on_done` gets its
/// outcome once, unless the returned [`InFlight`] (keep it while waiting) is dropped first.
pub fn start(url: &str, send: Send, timeout_ms: u32, on_done: Rc<dyn Fn(Outcome)>) -> InFlight {
    let abort = AbortController::new().ok();
    let live = Rc::new(Cell::new(true));
    let finish = {
        let live = Rc::clone(&live);
        let on_done = Rc::clone(&on_done);
        move |outcome: Outcome| {
            if live.replace(false) {
                on_done(outcome);
            }
        }
    };
    let finish = Rc::new(finish);
    let started = init(&send, abort.as_ref()).and_then(|init| fetch(url, &init));
    let on_reply = Rc::clone(&finish);
    // A request that could not even start fails in a later task, as a network failure would.
    spawn_local(async move {
        let outcome = match started {
            Ok(promise) => reply(promise).await.map_err(|_| Failure::Failed),
            Err(_) => Err(Failure::Failed),
        };
        on_reply(outcome);
    });
    let timeout = (timeout_ms > 0).then(|| Timeout::new(timeout_ms, move || finish(Err(Failure::TimedOut))));
    InFlight { abort, live, _timeout: timeout }
}
