//! One authenticator instance and its pending flow: the shell around [`Flow`].
//!
//! While a flow is pending, its listeners, timers and requests hold the instance (an
//! intentional cycle, so a result is never lost because the page dropped its reference);
//! finishing the flow drops them all, which breaks the cycle, removes every listener, timer
//! and the relay, and aborts a request under way.

use super::events::{Listener, later};
use super::globals::{self, debug_log};
use super::http::{self, Failure, InFlight, Outcome as Reply, Send};
use super::read;
use super::relay::Relay;
use super::returns::Returns;
use crate::error::Error;
use crate::flow::{self, Flow, Millis, Outcome, Step};
use crate::message::Sender;
use crate::options::Options;
use crate::popup;
use crate::verify::{AccountReply, TokenReply};
use gloo_timers::callback::Timeout;
use kloudless_protocol::OAuthResult;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use web_sys::{Event, MessageEvent, Window};

#[wasm_bindgen]
extern "C" {
    /// `performance.now()`: the monotonic clock the flow's deadlines are on.
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
}

/// The time now, for the flow.
fn now() -> Millis {
    performance_now() as Millis
}

/// An authenticator: its options, callback, server and at most one pending flow.
pub struct Instance {
    options: Options,
    callback: js_sys::Function,
    base_url: String,
    api_origin: String,
    pending: RefCell<Option<Pending>>,
    destroyed: Cell<bool>,
    /// Counts `cancel()` calls, so that a launch sees one made by page code it ran.
    cancels: Cell<u32>,
    /// Numbers requests, so that a reply is taken only by the request still awaited.
    requests: Cell<u32>,
}

/// What a pending flow owns; all of it is released when this is dropped.
struct Pending {
    flow: Flow,
    popup: Option<Window>,
    relay: Option<Relay>,
    /// The result message's `data` and the account, as parsed, once they are in.
    data: JsValue,
    account: JsValue,
    _message: Listener,
    /// Codes handed over by the return page a pop-up whose opener was cut came back to.
    _returns: Returns,
    /// The one timer: it wakes the flow at the time the flow asked for (see [`Flow::poll_timeout`]).
    wake: Option<Timeout>,
    /// The requests awaited (by number), aborted when dropped.
    requests: Vec<(u32, InFlight)>,
    /// The verification endpoints' preflights being warmed (see [`Send::Warm`]).
    _warming: [InFlight; 2],
}

impl Drop for Pending {
    fn drop(&mut self) {
        close(self.popup.take());
    }
}

/// Closes a pop-up, if there is one.
fn close(popup: Option<Window>) {
    if let Some(popup) = popup {
        let _ = popup.close();
    }
}

/// Which of the flow's events a request's reply is.
#[derive(Clone, Copy)]
enum Awaited {
    /// [`Flow::on_token`].
    Token,
    /// [`Flow::on_account`].
    Account,
    /// [`Flow::on_progress`].
    Progress,
    /// [`Flow::takes_redeemed`], then the body as a message.
    Redeem,
}

impl Instance {
    /// An instance bound to the current global `baseUrl`.
    pub fn new(options: Options, callback: js_sys::Function) -> Instance {
        let globals = globals::get();
        Instance {
            options,
            callback,
            base_url: globals.base_url,
            api_origin: globals.api_origin,
            pending: RefCell::new(None),
            destroyed: Cell::new(false),
            cancels: Cell::new(0),
            requests: Cell::new(0),
        }
    }

    /// Whether `destroy()` has been called.
    pub fn is_destroyed(&self) -> bool {
        self.destroyed.get()
    }

    /// Opens the pop-up, synchronously (so inside the user's click); `true` when a new flow
    /// started (its callback will come). While a flow is pending this only focuses its pop-up
    /// (`false`); if that pop-up reads as closed, the pending flow ends with `popup_closed` and
    /// a new one starts.
    pub fn launch(self: &Rc<Self>) -> Result<bool, Error> {
        // No borrow is held across a call into the browser (here and everywhere): the page can
        // run code in a browser call (a getter, a focus handler) that calls this instance again.
        let pending_popup = self.pending.borrow().as_ref().map(|pending| pending.popup.clone());
        if let Some(popup) = pending_popup {
            match popup {
                Some(popup) if !popup.closed().unwrap_or(false) => {
                    let _ = popup.focus();
                    return Ok(false);
                }
                // Its pop-up is gone: start over.
                Some(_) => self.end(Error::PopupClosed),
                // The pop-up delivered; the result is being verified.
                None => return Ok(false),
            }
        }
        let cancels = self.cancels.get();
        let window = web_sys::window().ok_or(Error::NoBrowser)?;
        let location = window.location();
        let page_origin = location.origin().map_err(|_| Error::NoBrowser)?;
        let page_url = location.href().map_err(|_| Error::NoBrowser)?;
        let page_url = page_url.split('#').next().unwrap_or_default();
        let mut random = [0u8; flow::RANDOM_BYTES];
        getrandom::fill(&mut random).map_err(|_| Error::NoRandomSource)?;
        let flow_timeout = globals::get().flow_timeout_ms;
        let mut flow =
            Flow::new(&self.base_url, &self.api_origin, &self.options, &random, now(), flow_timeout);
        let url = flow.popup_url(&self.options, &page_origin, page_url);
        debug_log(&format!("Path is {url}"), None);
        let screen = window.screen().ok();
        let size =
            |read: fn(&web_sys::Screen) -> Result<i32, JsValue>| screen.as_ref().and_then(|s| read(s).ok());
        let features = popup::features(
            size(web_sys::Screen::width).unwrap_or(0),
            size(web_sys::Screen::height).unwrap_or(0),
        );
        let popup =
            window.open_with_url_and_target_and_features(&url, popup::WINDOW_NAME, &features).ok().flatten();
        let Some(popup) = popup else {
            let step = flow.on_popup_blocked();
            self.finish_later(step_with_state(step, flow.state().to_owned()));
            return Ok(true);
        };
        let _ = popup.focus();
        let me = Rc::clone(self);
        let message =
            Listener::new(&window, "message", move |event: Event| me.on_posted(&event.unchecked_into()));
        let me = Rc::clone(self);
        let returns = Returns::listen(&window, move |data| me.on_handed_over(&data));
        let relay = Relay::load(&window, &self.base_url);
        // While the user is in the pop-up: once the result is in, its verification then costs one
        // round trip, not a preflight and a request.
        let warm = |url: &str| http::start(url, Send::Warm, 0, Rc::new(|_| {}));
        let [token_url, account_url] = flow.verify_urls();
        let warming = [warm(&token_url), warm(&account_url)];
        let previous = self.pending.replace(Some(Pending {
            flow,
            popup: Some(popup),
            relay,
            data: JsValue::UNDEFINED,
            account: JsValue::UNDEFINED,
            _message: message,
            _returns: returns,
            wake: None,
            requests: Vec::new(),
            _warming: warming,
        }));
        self.schedule();
        // None, unless page code run by the browser calls above (a patched `window.open`)
        // launched again: that flow is superseded, and ends with its one callback.
        if let Some(mut previous) = previous {
            let step = previous.flow.abort(Error::Cancelled);
            let state = previous.flow.state().to_owned();
            drop(previous);
            self.finish_later(step_with_state(step, state));
        }
        // Page code run by those calls (a patched `fetch` or `appendChild`) may also have
        // destroyed or cancelled this instance before the flow was stored: it ends now, as it
        // would have then (a destroyed instance's callback never runs).
        if self.destroyed.get() || self.cancels.get() != cancels {
            self.end(Error::Cancelled);
        }
        Ok(true)
    }

    /// Ends the pending flow, if any, with `cancelled`: its pop-up closes, everything is
    /// released, and the callback follows in a later task.
    pub fn cancel(self: &Rc<Self>) {
        self.cancels.set(self.cancels.get().wrapping_add(1));
        self.end(Error::Cancelled);
    }

    /// Ends the pending flow with `error`, the callback in a later task.
    fn end(self: &Rc<Self>, error: Error) {
        let pending = self.pending.borrow_mut().take();
        if let Some(mut pending) = pending {
            let step = pending.flow.abort(error);
            let state = pending.flow.state().to_owned();
            drop(pending);
            self.finish_later(step_with_state(step, state));
        }
    }

    /// Ends this instance for good: no callback ever again, the pending flow (if any) is
    /// released (the caller removes its click binding). A request still in flight finds no flow and is ignored.
    pub fn destroy(self: &Rc<Self>) {
        self.destroyed.set(true);
        let pending = self.pending.borrow_mut().take();
        drop(pending);
    }

    /// A message posted to the window: taken only from the API's origin and this flow's pop-up
    /// or relay (the core decides), and only then read.
    fn on_posted(self: &Rc<Self>, event: &MessageEvent) {
        let source = event.source().map(JsValue::from);
        let from_flow_window = |pending: &Pending| {
            let is = |window: Option<&Window>| window.is_some_and(|w| source.as_ref() == Some(w.as_ref()));
            is(pending.popup.as_ref()) || is(pending.relay.as_ref().and_then(|r| r.window.as_ref()))
        };
        let origin = event.origin();
        let verdict = self.pending.borrow().as_ref().map(|pending| {
            pending
                .flow
                .accepts(Sender::Posted { origin: &origin, from_flow_window: from_flow_window(pending) })
        });
        match verdict {
            None => {}
            Some(Err(dropped)) => debug_log(&format!("Message dropped, {}", dropped.reason()), None),
            Some(Ok(())) => self.on_data(&event.data()),
        }
    }

    /// A code handed over on this page's origin by the return page a pop-up came back to: the
    /// flow decides whether to redeem it.
    fn on_handed_over(self: &Rc<Self>, data: &JsValue) {
        let code = data.as_string().unwrap_or_default();
        let step = self.pending.borrow().as_ref().map_or(Step::Ignore, |pending| {
            match pending.flow.accepts(Sender::HandedOver) {
                Ok(()) => pending.flow.on_handed_over(&code),
                Err(_) => Step::Ignore,
            }
        });
        self.run(step);
    }

    /// A message's data, from a sender the flow accepts: read, parsed and handed to the flow.
    fn on_data(self: &Rc<Self>, data: &JsValue) {
        let step = read::message(data).and_then(|(fields, value)| {
            let mut pending = self.pending.borrow_mut();
            let Some(pending) = pending.as_mut() else { return Ok(Step::Ignore) };
            let step = pending.flow.on_message(&fields)?;
            if matches!(step, Step::Verify { .. } | Step::Finish(Outcome::PassedThrough | Outcome::Refused)) {
                pending.data = value;
            }
            Ok(step)
        });
        match step {
            Ok(step) => self.run(step),
            Err(dropped) => debug_log(&format!("Message dropped, {}:", dropped.reason()), Some(data)),
        }
    }

    /// The flow's timer fired: the flow decides what is due.
    fn on_timeout(self: &Rc<Self>) {
        let now = now();
        let step = self.pending.borrow_mut().as_mut().map_or(Step::Ignore, |p| p.flow.handle_timeout(now));
        self.run(step);
    }

    /// Sets the timer to the time the flow now asks to be woken at (after each of its events).
    fn schedule(self: &Rc<Self>) {
        let Some(at) = self.pending.borrow().as_ref().and_then(|p| p.flow.poll_timeout()) else { return };
        // The timer is made and the old one cleared outside the borrow: both call the browser.
        let me = Rc::clone(self);
        let wake = Some(Timeout::new(at.saturating_sub(now()) as u32, move || me.on_timeout()));
        let replaced = self.pending.borrow_mut().as_mut().map(|p| std::mem::replace(&mut p.wake, wake));
        drop(replaced);
    }

    fn check_popup(self: &Rc<Self>) {
        let popup = self.pending.borrow().as_ref().and_then(|p| p.popup.clone());
        if !popup.is_some_and(|p| p.closed().unwrap_or(false)) {
            return;
        }
        let step = self.pending.borrow_mut().as_mut().map_or(Step::Ignore, |p| p.flow.on_popup_closed());
        if !matches!(step, Step::Ignore) {
            debug_log("Pop-up reads as closed; asking the server whether its flow is under way", None);
        }
        self.run(step);
    }

    /// Carries out what the flow decided.
    fn run(self: &Rc<Self>, step: Step) {
        match step {
            Step::Ignore => {}
            Step::Verify { token_url, account_url, token } => {
                // Both requests first (the wait for them is the user's), then the pop-up has
                // delivered: close it and check its progress no more (outside the borrow, as
                // everywhere).
                self.request(&token_url, Send::Bearer(&token), Awaited::Token);
                self.request(&account_url, Send::Bearer(&token), Awaited::Account);
                let popup = self.pending.borrow_mut().as_mut().and_then(|p| p.popup.take());
                close(popup);
            }
            Step::Redeem(redeem) => self.request(&redeem.url, Send::Form(&redeem.body), Awaited::Redeem),
            Step::CheckPopup => self.check_popup(),
            Step::CheckProgress { url, body } => self.request(&url, Send::Form(&body), Awaited::Progress),
            Step::Finish(outcome) => {
                // The flow is over as soon as it is taken out, and its pop-up is closed before the
                // callback: a launch from the callback opens a pop-up of the same window name,
                // which must not be the old one, closed after. The listeners, timers and relay
                // are released after the callback, which so waits for no DOM work.
                let mut pending = self.pending.borrow_mut().take();
                close(pending.as_mut().and_then(|p| p.popup.take()));
                if let Some(pending) = &pending {
                    let result = self.result(outcome, pending);
                    self.call_back(&result);
                }
                drop(pending);
            }
        }
        // Whatever the step, the flow may want to be woken at another time.
        self.schedule();
    }

    /// The callback's value for a finished flow.
    fn result(&self, outcome: Outcome, pending: &Pending) -> JsValue {
        match outcome {
            Outcome::Connected => {
                let _ = js_sys::Reflect::set(&pending.data, &"account".into(), &pending.account);
                pending.data.clone()
            }
            Outcome::PassedThrough => pending.data.clone(),
            Outcome::Refused => {
                let _ = js_sys::Reflect::set(&pending.data, &"state".into(), &pending.flow.state().into());
                pending.data.clone()
            }
            Outcome::Failed(error) => failure(error, pending.flow.state()),
        }
    }

    /// Sends a request whose reply (or failure) goes to the flow as `awaited`.
    fn request(self: &Rc<Self>, url: &str, send: Send, awaited: Awaited) {
        let id = self.requests.get().wrapping_add(1);
        self.requests.set(id);
        let me = Rc::clone(self);
        let on_done = Rc::new(move |reply| me.on_response(id, awaited, reply));
        let in_flight = http::start(url, send, globals::get().request_timeout_ms, on_done);
        let unawaited = match self.pending.borrow_mut().as_mut() {
            Some(pending) => {
                pending.requests.push((id, in_flight));
                None
            }
            None => Some(in_flight),
        };
        drop(unawaited); // no flow awaits it: aborted, outside the borrow
    }

    /// Feeds a reply to request `id` to the flow, if it is still awaited: a late reply to an
    /// aborted request (of a flow that ended) is dropped.
    fn on_response(self: &Rc<Self>, id: u32, awaited: Awaited, reply: Reply) {
        let failed = |failure: Failure| match failure {
            Failure::TimedOut => Error::RequestTimeout,
            Failure::Failed => Error::NetworkError,
        };
        // The finished request is dropped (its timeout cleared) outside the borrows.
        let Some(done) = self.take_request(id) else { return };
        if let Awaited::Redeem = awaited {
            drop(done);
            return self.on_redeemed(reply);
        }
        // Parsed before the borrow: JSON.parse runs no page code, but nothing is held across it.
        let parsed = reply.map(|(status, body)| (status, read::json(&body)));
        let now = now();
        let step = {
            let mut pending = self.pending.borrow_mut();
            let Some(pending) = pending.as_mut() else { return };
            match (awaited, parsed) {
                (Awaited::Token, Ok((status, body))) => {
                    let client_id = body.as_ref().and_then(|body| read::scalar(body, "client_id"));
                    pending.flow.on_token(Ok(TokenReply { status, client_id: client_id.as_deref() }))
                }
                (Awaited::Account, Ok((status, body))) => {
                    let object = body.as_ref().is_some_and(read::is_object);
                    if let Some(body) = body.filter(|_| object) {
                        pending.account = body;
                    }
                    pending.flow.on_account(Ok(AccountReply { status, object }))
                }
                (Awaited::Token, Err(failure)) => pending.flow.on_token(Err(failed(failure))),
                (Awaited::Account, Err(failure)) => pending.flow.on_account(Err(failed(failure))),
                (Awaited::Progress, reply) => {
                    pending.flow.on_progress(reply.ok().map(|(status, _)| status), now)
                }
                (Awaited::Redeem, _) => Step::Ignore,
            }
        };
        drop(done);
        self.run(step);
    }

    /// Takes request `id` out of the pending flow, if it is still awaited.
    fn take_request(&self, id: u32) -> Option<(u32, InFlight)> {
        let mut pending = self.pending.borrow_mut();
        let requests = &mut pending.as_mut()?.requests;
        let at = requests.iter().position(|(r, _)| *r == id)?;
        Some(requests.swap_remove(at))
    }

    /// The reply to a redemption: its body, when the flow takes it, is read as a message.
    fn on_redeemed(self: &Rc<Self>, reply: Reply) {
        let status = reply.as_ref().ok().map(|(status, _)| *status);
        let taken = self.pending.borrow().as_ref().is_some_and(|p| p.flow.takes_redeemed(status));
        match reply {
            Ok((_, message)) if taken => self.on_data(&JsValue::from_str(&message)),
            _ => debug_log("A handed-over code was not redeemed", None),
        }
    }

    /// Delivers the result of a flow that ended through a page's call (a blocked pop-up,
    /// `cancel()`, a relaunch after the pop-up closed) or through [`Instance::end`] (also the
    /// flow timeout), in a later task, so that the callback never runs inside the page's call.
    fn finish_later(self: &Rc<Self>, result: Option<JsValue>) {
        if let Some(result) = result {
            let me = Rc::clone(self);
            later(move || me.call_back(&result));
        }
    }

    fn call_back(&self, result: &JsValue) {
        if self.destroyed.get() {
            return;
        }
        if let Err(error) = self.callback.call1(&JsValue::NULL, result) {
            let text = JsValue::from_str("[Kloudless] The authenticator callback threw:");
            web_sys::console::error_2(&text, &error);
        }
    }
}

/// The callback's value for an aborted flow's step (an abort only ever fails the flow).
fn step_with_state(step: Step, state: String) -> Option<JsValue> {
    match step {
        Step::Finish(Outcome::Failed(error)) => Some(failure(error, &state)),
        _ => None,
    }
}

/// `{error, error_description, state}`.
fn failure(error: Error, state: &str) -> JsValue {
    let result = OAuthResult::Failure {
        error: error.code().to_owned(),
        error_description: error.description().to_owned(),
        state: state.to_owned(),
    };
    serde_wasm_bindgen::to_value(&result).unwrap_or(JsValue::UNDEFINED)
}
