//! Releasing browser objects on drop paths. A page's code can make these calls throw (a patched
//! `Element.prototype.remove`, `AbortController.prototype.abort` or `BroadcastChannel.prototype.close`);
//! web-sys declares them as never throwing, so an exception would cross the module in the middle
//! of a drop and leave the rest of what a flow owns (its listeners, timers, requests) unreleased.
//! These bindings catch it: the object is released as far as the page lets it, and every other
//! owned resource still is.

use wasm_bindgen::prelude::*;
use web_sys::{AbortController, BroadcastChannel, Element};

#[wasm_bindgen]
extern "C" {
    /// Any object with the method called: an element, an abort controller or a channel.
    type Releasable;
    #[wasm_bindgen(method, catch)]
    fn remove(this: &Releasable) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch)]
    fn abort(this: &Releasable) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch)]
    fn close(this: &Releasable) -> Result<(), JsValue>;
}

/// Removes `element` from its document.
pub fn remove(element: &Element) {
    let _ = element.unchecked_ref::<Releasable>().remove();
}

/// Aborts the request `controller` signals for.
pub fn abort(controller: &AbortController) {
    let _ = controller.unchecked_ref::<Releasable>().abort();
}

/// Closes `channel`.
pub fn close(channel: &BroadcastChannel) {
    let _ = channel.unchecked_ref::<Releasable>().close();
}
