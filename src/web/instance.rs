//! One authenticator instance and its pending flow: the shell around [`Flow`].
//!
//! While a flow is pending, its listener, timers and requests hold the instance (an
//! intentional cycle, so a result is never lost because the page dropped its reference);
//! finishing the flow drops them all, which breaks the cycle, removes every listener, timer
//! and the relay, and aborts a request under way.

use super::globals::{self, debug_log};
use super::http::{self, Failure, InFlight, Outcome, Send};
use super::listener::EventListener;
use super::timer::Timer;
use super::{marshal, registry};
use crate::error::Error;
use crate::flow::{self, Flow, Step};
use crate::json::Json;
use crate::options::Options;
use crate::popup;
use crate::text::concat;
use crate::verify::Reply;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};
use js_sys::Function;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{HtmlIFrameElement, MessageEvent, Window};

/// An authenticator: its options, callback, server and at most one pending flow.
pub struct Instance {
    options: Options,
    callback: Function,
    base_url: String,
    api_origin: String,
    pending: RefCell<Option<Pending>>,
    destroyed: Cell<bool>,
    /// Numbers requests, so that a reply is taken only by the request still awaited.
    requests: Cell<u32>,
}

/// What a pending flow owns; all of it is released when this is dropped.
struct Pending {
    flow: Flow,
    popup: Option<Window>,
    relay: Option<Relay>,
    _message: EventListener,
    _poll: Option<Timer>,
    _flow_timeout: Option<Timer>,
    /// The requests awaited (by number), aborted when dropped.
    requests: Vec<(u32, InFlight)>,
    /// The pause before the next collection attempt.
    collect_after: Option<Timer>,
}

/// Which of the flow's events a request's reply is.
#[derive(Clone, Copy)]
enum Awaited {
    /// [`Flow::on_token`].
    Token,
    /// [`Flow::on_account`].
    Account,
    /// [`Flow::on_collected`].
    Collected,
}

impl Pending {
    /// The windows a result may come from: the pop-up and the relay's iframe element.
    fn windows(&self) -> (Option<Window>, Option<HtmlIFrameElement>) {
        (self.popup.clone(), self.relay.as_ref().map(|r| r.0.clone()))
    }
}

/// Whether `popup` reads as closed (a hint only: COOP makes an open pop-up read so too). An
/// unreadable answer counts as open.
fn is_closed(popup: &Window) -> bool {
    popup.closed().unwrap_or(false)
}

/// Closes a pop-up, if there is one.
fn close(popup: Option<Window>) {
    if let Some(popup) = popup {
        let _ = popup.close();
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        close(self.popup.take());
    }
}

/// The API server's relay page in a hidden iframe, removed from the page when dropped.
struct Relay(HtmlIFrameElement);

impl Relay {
    fn load(window: &Window, base_url: &str) -> Option<Relay> {
        let document = window.document()?;
        // Attributes rather than the typed setters: fewer browser calls to bind.
        let iframe: HtmlIFrameElement = document.create_element("iframe").ok()?.unchecked_into();
        iframe.set_attribute("src", &concat(&[popup::trim_base_url(base_url), "/static/iexd.html"])).ok()?;
        let _ = iframe.set_attribute("style", "display:none");
        document.body()?.append_child(&iframe).ok()?;
        Some(Relay(iframe))
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.0.remove();
    }
}

impl Instance {
    /// An instance bound to the current global `baseUrl`.
    pub fn new(options: Options, callback: Function) -> Instance {
        let globals = globals::get();
        Instance {
            options,
            callback,
            base_url: globals.base_url,
            api_origin: globals.api_origin,
            pending: RefCell::new(None),
            destroyed: Cell::new(false),
            requests: Cell::new(0),
        }
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
                Some(popup) if !is_closed(&popup) => {
                    let _ = popup.focus();
                    return Ok(false);
                }
                // Its pop-up is gone: start over.
                Some(_) => self.end(Error::PopupClosed),
                // The pop-up delivered; the result is being verified.
                None => return Ok(false),
            }
        }
        let window = web_sys::window().ok_or(Error::NoBrowser)?;
        let mut random = [0u8; flow::RANDOM_BYTES];
        window
            .crypto()
            .and_then(|crypto| crypto.get_random_values_with_u8_array(&mut random))
            .map_err(|_| Error::NoRandomSource)?;
        let mut flow = Flow::new(&self.base_url, &self.options, &random);
        let location = window.location();
        let (protocol, host) = (location.protocol().unwrap_or_default(), location.host().unwrap_or_default());
        let page_origin = concat(&[&protocol, "//", &host]);
        let url = flow.popup_url(&self.options, &page_origin);
        debug_log(&["Path is ", &url], &JsValue::UNDEFINED);
        let (width, height) =
            window.screen().map(|s| (s.width().unwrap_or(0), s.height().unwrap_or(0))).unwrap_or((0, 0));
        let features = popup::features(width, height);
        let Some(popup) =
            window.open_with_url_and_target_and_features(&url, popup::WINDOW_NAME, &features).ok().flatten()
        else {
            self.finish_later(flow.on_popup_blocked());
            return Ok(true);
        };
        let _ = popup.focus();
        let me = Rc::clone(self);
        let message =
            EventListener::new(&window, "message", move |event| me.on_message(event.unchecked_ref()));
        let me = Rc::clone(self);
        let poll = Timer::interval(flow::POPUP_POLL_MS, move || me.check_popup());
        let relay = Relay::load(&window, &self.base_url);
        let flow_timeout = match globals::get().flow_timeout_ms {
            0 => None,
            ms => {
                let me = Rc::clone(self);
                Timer::timeout(ms, move || {
                    let step = me
                        .pending
                        .borrow_mut()
                        .as_mut()
                        .map_or(Step::Ignore, |p| p.flow.abort(Error::FlowTimeout));
                    me.run(step);
                })
            }
        };
        let previous = self.pending.replace(Some(Pending {
            flow,
            popup: Some(popup),
            relay,
            _message: message,
            _poll: poll,
            _flow_timeout: flow_timeout,
            requests: Vec::new(),
            collect_after: None,
        }));
        drop(previous); // None: a pending flow was focused or ended above.
        Ok(true)
    }

    /// Ends the pending flow, if any, with `cancelled`: its pop-up closes, everything is
    /// released, and the callback follows in a later task.
    pub fn cancel(self: &Rc<Self>) {
        self.end(Error::Cancelled);
    }

    /// Ends the pending flow with `error`, the callback in a later task.
    fn end(self: &Rc<Self>, error: Error) {
        let pending = self.pending.borrow_mut().take();
        if let Some(mut pending) = pending {
            let step = pending.flow.abort(error);
            drop(pending);
            self.finish_later(step);
        }
    }

    /// Ends this instance for good: no callback ever again, the pending flow (if any) and the
    /// click binding (if any) are released. A request still in flight finds no flow and is ignored.
    pub fn destroy(self: &Rc<Self>) {
        self.destroyed.set(true);
        let pending = self.pending.borrow_mut().take();
        drop(pending);
        registry::unbind_instance(self);
    }

    fn on_message(self: &Rc<Self>, event: &MessageEvent) {
        let Some(data) = event.data().as_string() else { return };
        let Some((popup, relay)) = self.pending.borrow().as_ref().map(Pending::windows) else { return };
        let origin = event.origin();
        if origin != self.api_origin {
            return debug_log(&["Message dropped, origin mismatch: ", &origin], &event.data());
        }
        let source = event.source().map(JsValue::from);
        let relay = relay.and_then(|r| r.content_window());
        let own = [popup, relay].into_iter().flatten().any(|w| source.as_ref() == Some(&JsValue::from(w)));
        if !own {
            return debug_log(&["Message dropped, not from this flow's pop-up or relay"], &event.data());
        }
        let step = self.pending.borrow_mut().as_mut().map_or(Step::Ignore, |p| p.flow.on_message(&data));
        if step == Step::Ignore {
            debug_log(
                &["Message dropped, not this flow's result (prefix, size, JSON, type or id)"],
                &event.data(),
            );
        }
        self.run(step);
    }

    fn check_popup(self: &Rc<Self>) {
        let popup = self.pending.borrow().as_ref().and_then(|p| p.popup.clone());
        if !popup.is_some_and(|p| is_closed(&p)) {
            return;
        }
        let step = self.pending.borrow_mut().as_mut().map_or(Step::Ignore, |p| p.flow.on_popup_closed());
        if step != Step::Ignore {
            debug_log(&["Pop-up reads as closed; collecting its result at the server"], &JsValue::UNDEFINED);
        }
        self.run(step);
    }

    fn run(self: &Rc<Self>, step: Step) {
        match step {
            Step::Ignore => {}
            Step::Verify { token_url, account_url, token } => {
                // Both requests first (the wait for them is the user's), then the pop-up has
                // delivered: close it and collect nothing more (outside the borrow, as everywhere).
                self.request(&token_url, Send::Bearer(&token), Awaited::Token);
                self.request(&account_url, Send::Bearer(&token), Awaited::Account);
                let taken =
                    self.pending.borrow_mut().as_mut().map(|p| (p.popup.take(), p.collect_after.take()));
                if let Some((popup, retry)) = taken {
                    close(popup);
                    drop(retry);
                }
            }
            Step::Collect { url, body, after_ms } => {
                let me = Rc::clone(self);
                let wait =
                    Timer::timeout(after_ms, move || me.request(&url, Send::Form(&body), Awaited::Collected));
                let replaced = self
                    .pending
                    .borrow_mut()
                    .as_mut()
                    .map(|p| core::mem::replace(&mut p.collect_after, wait));
                drop(replaced);
            }
            Step::Finish(result) => {
                // The flow is over as soon as it is taken out, and its pop-up is closed before the
                // callback: a launch from the callback opens a pop-up of the same window name,
                // which must not be the old one, closed after. The listeners, timers and relay
                // are released after the callback, which so waits for no DOM work.
                let mut pending = self.pending.borrow_mut().take();
                close(pending.as_mut().and_then(|p| p.popup.take()));
                self.call_back(&result);
                drop(pending);
            }
        }
    }

    /// Sends a request whose reply (or failure) goes to the flow as `awaited`.
    fn request(self: &Rc<Self>, url: &str, send: Send, awaited: Awaited) {
        let id = self.requests.get().wrapping_add(1);
        self.requests.set(id);
        let me = Rc::clone(self);
        let in_flight = http::start(url, send, globals::get().request_timeout_ms, move |reply| {
            me.on_response(id, awaited, reply)
        });
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
    fn on_response(self: &Rc<Self>, id: u32, awaited: Awaited, reply: Outcome) {
        // The finished request is dropped (its timeout cleared) outside the borrow.
        let (done, step) = {
            let mut pending = self.pending.borrow_mut();
            let Some(pending) = pending.as_mut() else { return };
            let Some(at) = pending.requests.iter().position(|(r, _)| *r == id) else { return };
            let done = pending.requests.swap_remove(at);
            let reply = reply.as_ref().map(|(status, body)| Reply { status: *status, body });
            let failed = |failure: &Failure| match failure {
                Failure::TimedOut => Error::RequestTimeout,
                Failure::Failed => Error::NetworkError,
            };
            let step = match awaited {
                Awaited::Token => pending.flow.on_token(reply.map_err(failed)),
                Awaited::Account => pending.flow.on_account(reply.map_err(failed)),
                Awaited::Collected => pending.flow.on_collected(reply.ok()),
            };
            (done, step)
        };
        drop(done);
        self.run(step);
    }

    /// Delivers the result of a flow that ended outside a browser event (a blocked pop-up,
    /// `cancel()`), in a later task so that the callback never runs inside the page's call.
    fn finish_later(self: &Rc<Self>, step: Step) {
        if let Step::Finish(result) = step {
            let me = Rc::clone(self);
            // A one-shot closure, freed when it has run.
            let later = Closure::once_into_js(move || me.call_back(&result));
            if let Some(window) = web_sys::window() {
                let _ =
                    window.set_timeout_with_callback_and_timeout_and_arguments_0(later.unchecked_ref(), 0);
            }
        }
    }

    fn call_back(&self, result: &Json) {
        if self.destroyed.get() {
            return;
        }
        if let Err(thrown) = self.callback.call1(&JsValue::UNDEFINED, &marshal::to_js(result)) {
            web_sys::console::error_2(&"[Kloudless] The authenticator callback threw:".into(), &thrown);
        }
    }
}
