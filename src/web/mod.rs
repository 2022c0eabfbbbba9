//! The browser shell: the exports behind the JS API (`authenticator`, the authenticator's
//! `launch`, `cancel` and `destroy`, `stop`, `setGlobalOptions`, `getGlobalOptions`), over the
//! core, with every listener, timer and request owned RAII-style. It reaches the browser only
//! through wasm-bindgen's generated glue (web-sys, js-sys).
//!
//! Nothing here runs until the API is called, and creating an authenticator touches no browser
//! global, so the module can be imported and used under server-side rendering until `launch()`.

mod events;
mod globals;
mod http;
mod instance;
mod read;
mod registry;
mod relay;
mod release;
mod returns;

use crate::error::Error;
use crate::options::{OptionValue, Options};
use instance::Instance;
use js_sys::{Array, Object, Reflect};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use web_sys::Element;

impl From<Error> for JsValue {
    fn from(error: Error) -> JsValue {
        js_sys::Error::new(error.description()).into()
    }
}

/// An authenticator, as `authenticator()` returns it. The page may drop it: a pending flow
/// still ends with its callback.
#[wasm_bindgen]
pub struct Authenticator(Rc<Instance>);

#[wasm_bindgen]
impl Authenticator {
    /// Opens the pop-up (call it inside a user gesture, e.g. a click handler): `true` when a new
    /// flow started, whose callback will come; `false` when it focused the pending flow's pop-up.
    pub fn launch(&self) -> Result<bool, JsValue> {
        if self.0.is_destroyed() {
            return Err(js_sys::Error::new("This authenticator was destroyed.").into());
        }
        Ok(self.0.launch()?)
    }

    /// Ends the pending flow, if any, with one `cancelled` callback (in a later task): its
    /// pop-up closes and everything it holds is released.
    pub fn cancel(&self) {
        self.0.cancel();
    }

    /// Releases the authenticator: a pending flow ends without a callback (its pop-up is closed,
    /// its listeners, timers and relay removed), and a click on its element no longer launches.
    pub fn destroy(&self) {
        if !self.0.is_destroyed() {
            self.0.destroy();
            registry::unbind_instance(&self.0);
        }
    }
}

/// A jQuery object stands for its first node (an empty one for no element); anything else is itself.
fn unwrap_jquery(value: JsValue) -> JsValue {
    let is_jquery = value.is_object() && Reflect::get(&value, &"jquery".into()).is_ok_and(|v| v.is_string());
    if is_jquery { Reflect::get(&value, &0.into()).unwrap_or(JsValue::UNDEFINED) } else { value }
}

/// `authenticator(element, options, callback)` or `authenticator(options, callback)`: throws
/// for a bad `element`, options without `client_id`, or a missing callback. A click on
/// `element` (an `Element` or a jQuery object) launches the pop-up.
#[wasm_bindgen]
pub fn authenticator(
    element: JsValue,
    options: JsValue,
    callback: JsValue,
) -> Result<Authenticator, JsValue> {
    let element = unwrap_jquery(element);
    let (element, options, callback) = match element.dyn_into::<Element>() {
        Ok(element) => (Some(element), options, callback),
        Err(element) if !element.is_truthy() => (None, options, callback),
        Err(_) if callback.is_truthy() => return Err(Error::InvalidElement.into()),
        // No element: the arguments shift left, as in the original.
        Err(element) => (None, element, options),
    };
    let options = Options::new(option_entries(&options)?)?;
    let callback = callback.dyn_into::<js_sys::Function>().map_err(|_| Error::InvalidCallback)?;
    let instance = Rc::new(Instance::new(options, callback));
    if let Some(element) = element {
        registry::bind(element, Rc::clone(&instance));
    }
    Ok(Authenticator(instance))
}

/// The options object's own enumerable entries, as the original read them: `null` and
/// `undefined` left out, arrays and other objects also as their JSON.
fn option_entries(options: &JsValue) -> Result<Vec<(String, OptionValue)>, Error> {
    if !options.is_object() {
        return Ok(Vec::new()); // no client_id: refused for that
    }
    let json =
        |value: &JsValue| js_sys::JSON::stringify(value).ok().map(String::from).ok_or(Error::InvalidOptions);
    let each = |object: &JsValue| -> Result<Vec<(String, JsValue)>, Error> {
        let keys = Object::keys(object.unchecked_ref::<Object>());
        (0..keys.length())
            .map(|i| {
                let key = keys.get(i);
                let value = Reflect::get(object, &key).map_err(|_| Error::InvalidOptions)?;
                Ok((key.as_string().unwrap_or_default(), value))
            })
            .collect()
    };
    let text = |value: &JsValue| read::text(value).ok_or(Error::InvalidOptions);
    let mut entries = Vec::new();
    for (key, value) in each(options)? {
        let value = if value.is_null() || value.is_undefined() {
            continue;
        } else if Array::is_array(&value) {
            let items = Array::from(&value);
            let items = (0..items.length()).map(|i| text(&items.get(i))).collect::<Result<_, _>>()?;
            OptionValue::List { items, json: json(&value)? }
        } else if value.is_object() {
            let members =
                each(&value)?.iter().map(|(k, v)| Ok((k.clone(), text(v)?))).collect::<Result<_, _>>()?;
            OptionValue::Map { members, json: json(&value)? }
        } else {
            OptionValue::Text(text(&value)?)
        };
        entries.push((key, value));
    }
    Ok(entries)
}

/// Stops a click on `element` (an `Element` or jQuery object) from launching the pop-up, and
/// ends its pending flow, if any, with one `cancelled` callback.
#[wasm_bindgen]
pub fn stop(element: JsValue) {
    match registry::unbind(&unwrap_jquery(element)) {
        Some(instance) => instance.cancel(),
        None => web_sys::console::log_1(&"No click listener found to remove.".into()),
    }
}

/// Sets the global options `{baseUrl, debug, requestTimeout, flowTimeout}`; throws, changing
/// nothing, for a `baseUrl` that is not an http(s) URL or a timeout that is not whole
/// milliseconds ≥ 0.
#[wasm_bindgen(js_name = setGlobalOptions)]
pub fn set_global_options(options: JsValue) -> Result<(), JsValue> {
    Ok(globals::set(&options)?)
}

/// The global options `{baseUrl, debug, requestTimeout, flowTimeout}`.
#[wasm_bindgen(js_name = getGlobalOptions)]
pub fn get_global_options() -> JsValue {
    globals::to_js()
}

#[cfg(test)]
mod tests;
