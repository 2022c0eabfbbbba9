//! The global options (`setGlobalOptions` / `getGlobalOptions`) and debug logging.

use super::host::{self, Handle, kind};
use super::{Global, Shared};
use crate::DEFAULT_BASE_URL;
use crate::error::Error;
use crate::json;
use crate::popup::trim_base_url;
use crate::text::{concat, push_int};
use alloc::borrow::ToOwned;
use alloc::string::String;

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

static GLOBALS: Global<Shared<Option<Globals>>> = Global(Shared::new(None));

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
pub fn set(options: &Handle) -> Result<(), Error> {
    let mut next = get();
    let base_url = options.get("baseUrl");
    if base_url.is(kind::TRUTHY) {
        let base_url =
            base_url.is(kind::STRING).then(|| base_url.text()).flatten().ok_or(Error::InvalidBaseUrl)?;
        next.api_origin = host::origin_of(trim_base_url(&base_url)).ok_or(Error::InvalidBaseUrl)?;
        next.base_url = base_url;
    }
    let debug = options.get("debug");
    if !debug.is_undefined() {
        next.debug = debug.is(kind::TRUTHY);
    }
    set_timeout(options, "requestTimeout", &mut next.request_timeout_ms)?;
    set_timeout(options, "flowTimeout", &mut next.flow_timeout_ms)?;
    *GLOBALS.borrow_mut() = Some(next);
    Ok(())
}

/// Sets `field` to the option `key`, when present: whole milliseconds.
fn set_timeout(options: &Handle, key: &str, field: &mut i32) -> Result<(), Error> {
    let value = options.get(key);
    if !value.is_undefined() {
        *field = milliseconds(value.number()).ok_or(Error::InvalidTimeout)?;
    }
    Ok(())
}

/// A whole number of milliseconds from 0 to `i32::MAX` (what `setTimeout` takes).
fn milliseconds(ms: f64) -> Option<i32> {
    (ms >= 0.0 && ms <= f64::from(i32::MAX) && f64::from(ms as i32) == ms).then_some(ms as i32)
}

/// `{baseUrl, debug, requestTimeout, flowTimeout}` as JSON.
pub fn to_json() -> String {
    let globals = get();
    let mut out = String::from("{\"baseUrl\":");
    json::write_string(&globals.base_url, &mut out);
    out.push_str(if globals.debug { ",\"debug\":true" } else { ",\"debug\":false" });
    out.push_str(",\"requestTimeout\":");
    push_int(globals.request_timeout_ms, &mut out);
    out.push_str(",\"flowTimeout\":");
    push_int(globals.flow_timeout_ms, &mut out);
    out.push('}');
    out
}

/// Logs `[DEBUG]` and the parts (and the data of the message being delivered, if `with_data`)
/// when debug mode is on.
pub fn debug_log(parts: &[&str], with_data: bool) {
    // Read in place, not through `get()`: it is asked for every message the page receives.
    if GLOBALS.borrow().as_ref().is_some_and(|globals| globals.debug) {
        host::console_log(&concat(&["[DEBUG] ", &concat(parts)]), with_data);
    }
}
