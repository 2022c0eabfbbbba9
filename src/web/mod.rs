//! The browser shell: the JS API (`authenticator`, `stop`, `setGlobalOptions`,
//! `getGlobalOptions`) over the core, with every listener and timer owned RAII-style.
//!
//! Nothing here runs until the API is called, so loading the module touches no browser global.

mod globals;
mod http;
mod instance;
mod listener;
mod marshal;
pub mod registry;
mod timer;

use crate::error::Error;
use crate::options::Options;
use alloc::rc::Rc;
use instance::Instance;
use js_sys::Function;
use wasm_bindgen::prelude::*;
use web_sys::Element;

/// A global of the browser shell. The shell runs on wasm32 without threads (the build has no
/// `atomics`), so a plain static with interior mutability is what `thread_local!` would be
/// there, without needing std.
struct Global<T>(T);

// SAFETY: there is one thread (see above), so the value is never shared between threads.
unsafe impl<T> Sync for Global<T> {}

impl<T> core::ops::Deref for Global<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

#[cfg(target_feature = "atomics")]
compile_error!("the browser shell's globals assume a single thread (no `atomics`)");

fn thrown(error: Error) -> JsError {
    JsError::new(error.description())
}

/// What `authenticator()` returns: `launch()` opens the pop-up.
#[wasm_bindgen]
pub struct Authenticator {
    instance: Rc<Instance>,
}

#[wasm_bindgen]
impl Authenticator {
    /// Opens the pop-up (call it inside a user gesture, e.g. a click handler) and returns `true`:
    /// a new flow started, its callback will come. While this authenticator's flow is pending it
    /// focuses the open pop-up instead and returns `false`.
    pub fn launch(&self) -> Result<bool, JsError> {
        self.instance.launch().map_err(thrown)
    }

    /// Ends the pending flow, if any, with one `cancelled` callback (in a later task): its
    /// pop-up closes and everything it holds is released. Without a pending flow, nothing.
    pub fn cancel(&self) {
        self.instance.cancel();
    }

    /// Releases this authenticator: a pending flow ends without a callback (its pop-up is
    /// closed, its listener, timers and relay removed), and a click on its element no longer
    /// launches. The framework wrappers call it when a component unmounts.
    pub fn destroy(self) {
        self.instance.destroy();
    }
}

/// `authenticator(element, options, callback)` or `authenticator(options, callback)`.
///
/// `element` is an `Element` or a jQuery object; a click on it launches the pop-up. Throws
/// for a bad `element`, options without `client_id`, or a missing callback.
#[wasm_bindgen]
pub fn authenticator(
    element: JsValue,
    options: JsValue,
    callback: JsValue,
) -> Result<Authenticator, JsError> {
    let element = marshal::unwrap_jquery(element);
    let (element, options, callback) = match element.dyn_into::<Element>() {
        Ok(element) => (Some(element), options, callback),
        Err(element) if !element.is_truthy() => (None, options, callback),
        Err(_) if callback.is_truthy() => return Err(thrown(Error::InvalidElement)),
        // No element: the arguments shift left, as in the original.
        Err(shifted) => (None, shifted, options),
    };
    let options = Options::new(marshal::option_entries(&options).map_err(thrown)?).map_err(thrown)?;
    let callback = callback.dyn_into::<Function>().map_err(|_| thrown(Error::InvalidCallback))?;
    let instance = Rc::new(Instance::new(options, callback));
    if let Some(element) = element {
        registry::bind(element, Rc::clone(&instance));
    }
    Ok(Authenticator { instance })
}

/// Stops a click on `element` (an `Element` or jQuery object) from launching the pop-up, and
/// ends its pending flow, if any, with one `cancelled` callback.
#[wasm_bindgen]
pub fn stop(element: JsValue) {
    match marshal::unwrap_jquery(element).dyn_into::<Element>().ok().and_then(|e| registry::unbind(&e)) {
        Some(instance) => instance.cancel(),
        None => web_sys::console::log_1(&"No click listener found to remove.".into()),
    }
}

/// Sets the global options `{baseUrl, debug, requestTimeout, flowTimeout}`; throws for a
/// `baseUrl` that is not an http(s) URL or a timeout that is not whole milliseconds ≥ 0.
#[wasm_bindgen(js_name = setGlobalOptions)]
pub fn set_global_options(options: JsValue) -> Result<(), JsError> {
    globals::set(&options).map_err(thrown)
}

/// The global options `{baseUrl, debug, requestTimeout, flowTimeout}`.
#[wasm_bindgen(js_name = getGlobalOptions)]
pub fn get_global_options() -> JsValue {
    globals::to_js()
}
