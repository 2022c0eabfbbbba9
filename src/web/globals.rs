//! The global options (`setGlobalOptions` / `getGlobalOptions`) and debug logging.

use crate::DEFAULT_BASE_URL;
use crate::error::Error;
use crate::popup::trim_base_url;
use serde::Serialize;
use std::cell::RefCell;
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
    pub request_timeout_ms: u32,
    /// How long a whole flow may take before it ends with `timeout`; 0 for no limit.
    pub flow_timeout_ms: u32,
}

/// `requestTimeout`'s default, in milliseconds.
pub const DEFAULT_REQUEST_TIMEOUT_MS: u32 = 10_000;

impl Default for Globals {
    fn default() -> Globals {
        Globals {
            base_url: DEFAULT_BASE_URL.to_owned(),
            api_origin: DEFAULT_BASE_URL.to_owned(),
            debug: false,
            request_timeout_ms: DEFAULT_REQUEST_TIMEOUT_MS,
            flow_timeout_ms: 0,
        }
    }
}

thread_local! {
    static GLOBALS: RefCell<Globals> = RefCell::new(Globals::default());
}

/// The current global options.
pub fn get() -> Globals {
    GLOBALS.with_borrow(Globals::clone)
}

/// What `getGlobalOptions()` returns.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Public<'a> {
    base_url: &'a str,
    debug: bool,
    request_timeout: u32,
    flow_timeout: u32,
}

/// `{baseUrl, debug, requestTimeout, flowTimeout}` as a new JS object.
pub fn to_js() -> JsValue {
    GLOBALS.with_borrow(|globals| {
        let public = Public {
            base_url: &globals.base_url,
            debug: globals.debug,
            request_timeout: globals.request_timeout_ms,
            flow_timeout: globals.flow_timeout_ms,
        };
        serde_wasm_bindgen::to_value(&public).unwrap_or(JsValue::UNDEFINED)
    })
}

/// Applies `{baseUrl, debug, requestTimeout, flowTimeout}`: a truthy `baseUrl` must be an
/// absolute http(s) URL (as the browser's `URL` reads it); `debug`, when present, is switched to
/// its truthiness (so `{debug: false}` switches it off); the timeouts, when present, must be
/// whole milliseconds. Nothing changes when anything is wrong.
pub fn set(options: &JsValue) -> Result<(), Error> {
    let read = |key: &str| js_sys::Reflect::get(options, &key.into()).unwrap_or(JsValue::UNDEFINED);
    let mut next = get();
    let base_url = read("baseUrl");
    if base_url.is_truthy() {
        let base_url = base_url.as_string().ok_or(Error::InvalidBaseUrl)?;
        next.api_origin = http_origin(trim_base_url(&base_url)).ok_or(Error::InvalidBaseUrl)?;
        next.base_url = base_url;
    }
    let debug = read("debug");
    if !debug.is_undefined() {
        next.debug = debug.is_truthy();
    }
    for (key, field) in
        [("requestTimeout", &mut next.request_timeout_ms), ("flowTimeout", &mut next.flow_timeout_ms)]
    {
        let value = read(key);
        if !value.is_undefined() {
            *field = value.as_f64().and_then(milliseconds).ok_or(Error::InvalidTimeout)?;
        }
    }
    GLOBALS.set(next);
    Ok(())
}

/// The origin of an absolute http(s) URL, as the browser's `URL` reads it.
fn http_origin(url: &str) -> Option<String> {
    let url = web_sys::Url::new(url).ok()?;
    matches!(url.protocol().as_str(), "http:" | "https:").then(|| url.origin())
}

/// A whole number of milliseconds from 0 to `i32::MAX` (what `setTimeout` takes).
fn milliseconds(ms: f64) -> Option<u32> {
    (ms >= 0.0 && ms <= f64::from(i32::MAX) && ms.fract() == 0.0).then_some(ms as u32)
}

/// Logs `[DEBUG]` and the text (and `value`, when given) when debug mode is on.
pub fn debug_log(text: &str, value: Option<&JsValue>) {
    if GLOBALS.with_borrow(|globals| globals.debug) {
        let text = JsValue::from_str(&format!("[DEBUG] {text}"));
        match value {
            Some(value) => web_sys::console::log_2(&text, value),
            None => web_sys::console::log_1(&text),
        }
    }
}
