//! The flow's requests to the API server, with `fetch`: each can be aborted, and is when its
//! [`InFlight`] is dropped (the flow ended) or its timeout fires.

use super::timer::Timer;
use alloc::rc::Rc;
use alloc::string::String;
use js_sys::Function;
use wasm_bindgen::JsValue;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;

// `live` (not the signal's `aborted`, which a page can patch) keeps a reply from reaching
// `done` after the request was cancelled, when its closure is gone.
#[wasm_bindgen(inline_js = "export function send(url, bearer, form, done) {
  let live = true;
  let abort;
  const reply = (status, body) => { if (live) { live = false; done(status, body); } };
  const failed = () => reply(0, '');
  try {
    abort = new AbortController();
    const post = bearer === undefined;
    const headers = post
      ? { 'Content-Type': 'application/x-www-form-urlencoded' }
      : { Authorization: 'Bearer ' + bearer, 'X-Kloudless-Source': 'authenticator' };
    fetch(url, { method: post ? 'POST' : 'GET', body: post ? form : null, headers, mode: 'cors',
      credentials: 'omit', signal: abort.signal })
      .then((r) => r.text().then((body) => reply(r.status, body), failed), failed);
  } catch (error) {
    Promise.resolve().then(failed);
  }
  return () => { live = false; try { abort.abort(); } catch (error) {} };
}")]
extern "C" {
    /// Starts the request; `done(status, body)` gets its reply (status 0: none) once, in a later
    /// task, unless it was cancelled first. Returns what cancels it (and aborts the fetch).
    fn send(url: &str, bearer: Option<&str>, form: &str, done: &Closure<dyn FnMut(u16, String)>) -> Function;
}

/// What a request carries.
pub enum Send<'a> {
    /// A GET with `Authorization: Bearer {token}` and `X-Kloudless-Source: authenticator`.
    Bearer(&'a str),
    /// A POST of this form body (a CORS-safelisted content type: no preflight).
    Form(&'a str),
}

/// A request under way: dropping it aborts the request (its reply is never delivered) and
/// clears its timeout.
pub struct InFlight {
    cancel: Function,
    _done: Closure<dyn FnMut(u16, String)>,
    _timeout: Option<Timer>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let _ = self.cancel.call0(&JsValue::UNDEFINED);
    }
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
pub fn start(url: &str, send: Send, timeout_ms: i32, on_done: impl Fn(Outcome) + 'static) -> InFlight {
    let on_done = Rc::new(on_done);
    let on_timeout = Rc::clone(&on_done);
    let done = Closure::<dyn FnMut(u16, String)>::new(move |status, body| {
        on_done(if status == 0 { Err(Failure::Failed) } else { Ok((status, body)) })
    });
    let cancel = match send {
        Send::Bearer(token) => self::send(url, Some(token), "", &done),
        Send::Form(body) => self::send(url, None, body, &done),
    };
    // 0: no limit.
    let timeout =
        (timeout_ms > 0).then(|| Timer::timeout(timeout_ms, move || on_timeout(Err(Failure::TimedOut))));
    InFlight { cancel, _done: done, _timeout: timeout.flatten() }
}
