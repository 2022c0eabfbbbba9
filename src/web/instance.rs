//! One authenticator instance and its pending flow: the shell around [`Flow`].
//!
//! While a flow is pending, its listener, timers and requests hold the instance (an
//! intentional cycle, so a result is never lost because the page dropped its reference);
//! finishing the flow drops them all, which breaks the cycle, removes every listener, timer
//! and the relay, and aborts a request under way.

use super::events::{self, Event, Hook};
use super::globals::{self, debug_log};
use super::host::{self, Handle};
use super::http::{self, Failure, InFlight, Outcome, Send};
use super::{Shared, registry};
use crate::error::Error;
use crate::flow::{self, Flow, Step};
use crate::message;
use crate::options::Options;
use crate::popup;
use crate::progress;
use crate::text::concat;
use crate::verify::Reply;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::Cell;

/// An authenticator: its options, callback, server and at most one pending flow.
pub struct Instance {
    options: Options,
    callback: Handle,
    base_url: String,
    api_origin: String,
    pending: Shared<Option<Pending>>,
    destroyed: Cell<bool>,
    /// Counts `cancel()` calls, so that a launch sees one made by page code it ran.
    cancels: Cell<u32>,
    /// Numbers requests, so that a reply is taken only by the request still awaited.
    requests: Cell<u32>,
}

/// What a pending flow owns; all of it is released when this is dropped.
struct Pending {
    flow: Flow,
    popup: Option<Handle>,
    relay: Option<Relay>,
    _message: Hook,
    /// Results handed over by the page a pop-up whose opener was cut came back to.
    _returns: Hook,
    _poll: Hook,
    _flow_timeout: Option<Hook>,
    /// The requests awaited (by number), aborted when dropped.
    requests: Vec<(u32, InFlight)>,
    /// The verification endpoints' preflights being warmed (see [`Send::Warm`]).
    _warming: [InFlight; 2],
    /// The pause before the next progress check.
    check_after: Option<Hook>,
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
}

impl Pending {
    /// Whether the message being delivered comes from the pop-up or the relay.
    fn sent_the_message(&self) -> bool {
        self.popup.as_ref().is_some_and(Handle::sent_the_message)
            || self.relay.as_ref().is_some_and(|relay| relay.window.sent_the_message())
    }
}

/// Closes a pop-up, if there is one.
fn close(popup: Option<Handle>) {
    if let Some(popup) = popup {
        popup.close();
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        close(self.popup.take());
    }
}

/// The API server's relay page in a hidden iframe, removed from the page when dropped.
struct Relay {
    iframe: Handle,
    /// The iframe's window, which its messages come from.
    window: Handle,
}

impl Relay {
    fn load(base_url: &str) -> Option<Relay> {
        let iframe = host::add_iframe(&concat(&[popup::trim_base_url(base_url), "/static/iexd.html"]))?;
        Some(Relay { window: iframe.content_window(), iframe })
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.iframe.remove();
    }
}

impl Instance {
    /// An instance bound to the current global `baseUrl`.
    pub fn new(options: Options, callback: Handle) -> Instance {
        let globals = globals::get();
        Instance {
            options,
            callback,
            base_url: globals.base_url,
            api_origin: globals.api_origin,
            pending: Shared::new(None),
            destroyed: Cell::new(false),
            cancels: Cell::new(0),
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
                Some(popup) if !popup.is_closed() => {
                    popup.focus();
                    return Ok(false);
                }
                // Its pop-up is gone: start over.
                Some(_) => self.end(Error::PopupClosed),
                // The pop-up delivered; the result is being verified.
                None => return Ok(false),
            }
        }
        let cancels = self.cancels.get();
        let page_origin = host::origin_of_page().ok_or(Error::NoBrowser)?;
        let page_url = host::url_of_page().ok_or(Error::NoBrowser)?;
        let mut random = [0u8; flow::RANDOM_BYTES];
        if !host::fill_random(&mut random) {
            return Err(Error::NoRandomSource);
        }
        let mut flow = Flow::new(&self.base_url, &self.options, &random);
        let url = flow.popup_url(&self.options, &page_origin, &page_url);
        debug_log(&["Path is ", &url], false);
        let (width, height) = host::screen_size();
        let features = popup::features(width, height);
        let Some(popup) = host::open_window(&url, popup::WINDOW_NAME, &features) else {
            self.finish_later(flow.on_popup_blocked());
            return Ok(true);
        };
        popup.focus();
        let me = Rc::clone(self);
        let message = Hook::listen(None, move |event| {
            if let Event::Message { origin } = event {
                me.on_message(&origin);
            }
        });
        let me = Rc::clone(self);
        let returns = Hook::returns(progress::RETURN_CHANNEL, move |event| {
            if let Event::Message { .. } = event {
                me.on_returned();
            }
        });
        let me = Rc::clone(self);
        let poll = Hook::timer(flow::POPUP_POLL_MS, true, move || me.check_popup());
        let relay = Relay::load(&self.base_url);
        // While the user is in the pop-up: once the result is in, its verification then costs one
        // round trip, not a preflight and a request.
        let warm = |url: &str| http::start(url, Send::Warm, 0, Rc::new(|_| {}));
        let [token_url, account_url] = flow.verify_urls();
        let warming = [warm(&token_url), warm(&account_url)];
        let flow_timeout = match globals::get().flow_timeout_ms {
            0 => None,
            ms => {
                let me = Rc::clone(self);
                Some(Hook::timer(ms, false, move || me.end(Error::FlowTimeout)))
            }
        };
        let previous = self.pending.replace(Some(Pending {
            flow,
            popup: Some(popup),
            relay,
            _message: message,
            _returns: returns,
            _poll: poll,
            _flow_timeout: flow_timeout,
            requests: Vec::new(),
            _warming: warming,
            check_after: None,
        }));
        // None, unless page code run by the browser calls above (a patched `window.open`)
        // launched again: that flow is superseded, and ends with its one callback.
        if let Some(mut previous) = previous {
            let step = previous.flow.abort(Error::Cancelled);
            drop(previous);
            self.finish_later(step);
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

    fn on_message(self: &Rc<Self>, origin: &str) {
        // The host read the event before calling: comparing windows runs no page code.
        let Some(own) = self.pending.borrow().as_ref().map(Pending::sent_the_message) else { return };
        if origin != self.api_origin {
            return debug_log(&["Message dropped, origin mismatch: ", origin], true);
        }
        if !own {
            return debug_log(&["Message dropped, not from this flow's pop-up or relay"], true);
        }
        // Only now is the data copied in, and only if the core might take it (a longer one
        // reads as empty, which the core drops as well).
        let data = host::data_of_message(message::MAX_LEN as u32).unwrap_or_default();
        let step = self.pending.borrow_mut().as_mut().map_or(Step::Ignore, |p| p.flow.on_message(&data));
        if matches!(step, Step::Ignore) {
            debug_log(&["Message dropped, not this flow's result (prefix, size, JSON, type or id)"], true);
        }
        self.run(step);
    }

    /// A message handed over on this page's origin, by the page a pop-up came back to: no
    /// origin or source to check (the channel is this origin's), the rest as for a posted one.
    fn on_returned(self: &Rc<Self>) {
        let data = host::data_of_message(message::MAX_LEN as u32).unwrap_or_default();
        let step = self.pending.borrow_mut().as_mut().map_or(Step::Ignore, |p| p.flow.on_message(&data));
        if matches!(step, Step::Ignore) {
            debug_log(
                &["Handed-over result dropped, not this flow's (prefix, size, JSON, type or id)"],
                true,
            );
        }
        self.run(step);
    }

    fn check_popup(self: &Rc<Self>) {
        let popup = self.pending.borrow().as_ref().and_then(|p| p.popup.clone());
        if !popup.is_some_and(|p| p.is_closed()) {
            return;
        }
        let step = self.pending.borrow_mut().as_mut().map_or(Step::Ignore, |p| p.flow.on_popup_closed());
        if !matches!(step, Step::Ignore) {
            debug_log(&["Pop-up reads as closed; asking the server whether its flow is under way"], false);
        }
        self.run(step);
    }

    fn run(self: &Rc<Self>, step: Step) {
        match step {
            Step::Ignore => {}
            Step::Verify { token_url, account_url, token } => {
                // Both requests first (the wait for them is the user's), then the pop-up has
                // delivered: close it and check its progress no more (outside the borrow, as
                // everywhere).
                self.request(&token_url, Send::Bearer(&token), Awaited::Token);
                self.request(&account_url, Send::Bearer(&token), Awaited::Account);
                let taken =
                    self.pending.borrow_mut().as_mut().map(|p| (p.popup.take(), p.check_after.take()));
                if let Some((popup, retry)) = taken {
                    close(popup);
                    drop(retry);
                }
            }
            Step::CheckProgress { url, body, after_ms } => {
                let me = Rc::clone(self);
                let wait = Some(Hook::timer(after_ms, false, move || {
                    me.request(&url, Send::Form(&body), Awaited::Progress)
                }));
                let replaced =
                    self.pending.borrow_mut().as_mut().map(|p| core::mem::replace(&mut p.check_after, wait));
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
                Awaited::Progress => pending.flow.on_progress(reply.ok()),
            };
            (done, step)
        };
        drop(done);
        self.run(step);
    }

    /// Delivers the result of a flow that ended through a page's call (a blocked pop-up,
    /// `cancel()`, a relaunch after the pop-up closed) or through [`Instance::end`] (also the
    /// flow timeout), in a later task, so that the callback never runs inside the page's call.
    fn finish_later(self: &Rc<Self>, step: Step) {
        if let Step::Finish(result) = step {
            let me = Rc::clone(self);
            events::later(move || me.call_back(&result));
        }
    }

    fn call_back(&self, result: &str) {
        if self.destroyed.get() {
            return;
        }
        self.callback.call(result);
    }
}
