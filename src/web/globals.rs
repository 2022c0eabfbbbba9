//! The global options (`setGlobalOptions` / `getGlobalOptions`) and debug logging.

use super::Global;
use crate::DEFAULT_BASE_URL;
use crate::error::Error;
use crate::popup::trim_base_url;
use crate::text::concat;
use alloc::borrow::ToOwned;
use alloc::string::String;
use core::cell::RefCell;
use js_sys::{Object, Reflect};
use wasm_bindgen::JsValue;

/// The global options, with the API server's origin derived from `base_url`.
#[derive(Clone)]
pub struct Globals {
    /// The API server URL, as the user gave it.
    pub base_url: String,
    /// `base_url`'s origin: the only origin a result message is accepted from.
    pub api_origin: String,
    /// Whether to log what the library does and why it drops messages.
    pub debug: bool,
    /// How long a request to the API server may take before the flow ends with `timeout`; 0 for
    /// no limit.
    pub request_timeout_ms: i32,
    /// How long a whole flow may take before it ends with `timeout`; 0 for no limit.
    pub flow_timeout_ms: i32,
}

/// `requestTimeout`'s default, in milliseconds.
pub const DEFAULT_REQUEST_TIMEOUT_MS: i32 = 10_000;

static GLOBALS: Global<RefCell<Option<Globals>>> = Global(RefCell::new(None));

/// The current global options.
pub fn get() -> Globals {
    GLOBALS
        .borrow_mut()
        .get_or_insert_with(|| Globals {
            base_url: DEFAULT_BASE_URL.to_owned(),
            api_origin: DEFAULT_BASE_URL.to_owned(),
            debug: false,
            request_timeout_ms: DEFAULT_REQUEST_TIMEOUT_MS,
            flow_timeout_ms: 0,
        })
        .clone()
}

/// Applies `{baseUrl, debug, requestTimeout, flowTimeout}`: a truthy `baseUrl` must be an
/// absolute http(s) URL; `debug`, when present, is switched to its truthiness (so
/// `{debug: false}` switches it off); the timeouts, when present, must be whole milliseconds.
/// Nothing changes when anything is wrong.
pub fn set(options: &JsValue) -> Result<(), Error> {
    let mut next = get();
    let base_url = Reflect::get(options, &"baseUrl".into()).unwrap_or(JsValue::UNDEFINED);
    if base_url.is_truthy() {
        let base_url = base_url.as_string().ok_or(Error::InvalidBaseUrl)?;
        next.api_origin = origin_of(&base_url).ok_or(Error::InvalidBaseUrl)?;
        next.base_url = base_url;
    }
    let debug = Reflect::get(options, &"debug".into()).unwrap_or(JsValue::UNDEFINED);
    if !debug.is_undefined() {
        next.debug = debug.is_truthy();
    }
    for (key, field) in
        [("requestTimeout", &mut next.request_timeout_ms), ("flowTimeout", &mut next.flow_timeout_ms)]
    {
        let value = Reflect::get(options, &key.into()).unwrap_or(JsValue::UNDEFINED);
        if !value.is_undefined() {
            *field = milliseconds(&value).ok_or(Error::InvalidTimeout)?;
        }
    }
    *GLOBALS.borrow_mut() = Some(next);
    Ok(())
}

/// A whole number of milliseconds from 0 to `i32::MAX` (what `setTimeout` takes).
fn milliseconds(value: &JsValue) -> Option<i32> {
    let ms = value.as_f64()?;
    (ms >= 0.0 && ms <= f64::from(i32::MAX) && f64::from(ms as i32) == ms).then_some(ms as i32)
}

/// `{baseUrl, debug, requestTimeout, flowTimeout}` as a fresh JS object.
pub fn to_js() -> JsValue {
    let globals = get();
    let object = Object::new();
    let _ = Reflect::set(&object, &"baseUrl".into(), &globals.base_url.into());
    let _ = Reflect::set(&object, &"debug".into(), &globals.debug.into());
    let _ = Reflect::set(&object, &"requestTimeout".into(), &globals.request_timeout_ms.into());
    let _ = Reflect::set(&object, &"flowTimeout".into(), &globals.flow_timeout_ms.into());
    object.into()
}

fn origin_of(base_url: &str) -> Option<String> {
    let url = web_sys::Url::new(trim_base_url(base_url)).ok()?;
    matches!(url.protocol().as_str(), "http:" | "https:").then(|| url.origin())
}

/// Logs `[DEBUG]` and the parts (and an optional JS value) when debug mode is on.
pub fn debug_log(parts: &[&str], value: &JsValue) {
    if get().debug {
        web_sys::console::log_2(&concat(&["[DEBUG] ", &concat(parts)]).into(), value);
    }
}
