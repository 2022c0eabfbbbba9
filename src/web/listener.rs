//! An event listener owned RAII-style, as in `gloo-events`: dropped ⇒ removed.

use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{Event, EventTarget};

/// A listener on `target` for `kind` events, removed (and its closure freed) when dropped.
pub struct EventListener {
    target: EventTarget,
    kind: &'static str,
    closure: Closure<dyn FnMut(Event)>,
}

impl EventListener {
    /// Adds `handler` as a listener for `kind` events on `target`.
    pub fn new(
        target: &EventTarget,
        kind: &'static str,
        handler: impl FnMut(Event) + 'static,
    ) -> EventListener {
        let closure = Closure::<dyn FnMut(Event)>::new(handler);
        // addEventListener only throws for a non-callable listener, which this is not.
        let _ = target.add_event_listener_with_callback(kind, closure.as_ref().unchecked_ref());
        EventListener { target: target.clone(), kind, closure }
    }
}

impl Drop for EventListener {
    fn drop(&mut self) {
        let _ =
            self.target.remove_event_listener_with_callback(self.kind, self.closure.as_ref().unchecked_ref());
    }
}
