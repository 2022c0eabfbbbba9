//! Event listeners owned RAII-style, as `gloo-events` does: dropping a [`Listener`] removes it.
//! (gloo-events itself throws through the module when a page's `addEventListener` or
//! `removeEventListener` throws, which would leave it mid-call; these never throw.) Timers are
//! gloo-timers' `Timeout` and `Interval`, which are cleared when dropped.

use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{Event, EventTarget};

/// A listener for `kind` events on a target: removed when dropped.
pub struct Listener {
    target: EventTarget,
    kind: &'static str,
    callback: Closure<dyn FnMut(Event)>,
}

impl Listener {
    /// Listens for `kind` events on `target`. If adding the listener throws (page code), the
    /// listener is simply not there: its events never come.
    pub fn new(target: &EventTarget, kind: &'static str, handler: impl FnMut(Event) + 'static) -> Listener {
        let callback = Closure::<dyn FnMut(Event)>::new(handler);
        let _ = target.add_event_listener_with_callback(kind, callback.as_ref().unchecked_ref());
        Listener { target: target.clone(), kind, callback }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let callback = self.callback.as_ref().unchecked_ref();
        let _ = self.target.remove_event_listener_with_callback(self.kind, callback);
    }
}

/// Runs `handler` once, in a later task (`setTimeout(…, 0)`); its closure is freed once it ran.
pub fn later(handler: impl FnOnce() + 'static) {
    let Some(window) = web_sys::window() else { return };
    let callback = Closure::once_into_js(handler);
    let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(callback.unchecked_ref(), 0);
}
