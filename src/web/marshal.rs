//! Conversions between JS values and the core's plain-Rust types.

use crate::error::Error;
use crate::json::Json;
use crate::options::OptionValue;
use alloc::string::String;
use alloc::vec::Vec;
use js_sys::{Array, JSON, JsString, Object, Reflect};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

#[wasm_bindgen]
extern "C" {
    /// JS `String(value)`.
    #[wasm_bindgen(js_name = String, catch)]
    fn js_string(value: &JsValue) -> Result<JsString, JsValue>;
}

/// A jQuery object stands for its first node (an empty one for no element); anything else is itself.
pub fn unwrap_jquery(value: JsValue) -> JsValue {
    let is_jquery = value.is_object() && Reflect::get(&value, &"jquery".into()).is_ok_and(|v| v.is_string());
    if is_jquery { Reflect::get(&value, &0.into()).unwrap_or(JsValue::UNDEFINED) } else { value }
}

/// The options object's own enumerable properties in order, `null`/`undefined` ones dropped.
/// A non-object gives no entries (and so fails later for want of a `client_id`).
pub fn option_entries(options: &JsValue) -> Result<Vec<(String, OptionValue)>, Error> {
    let Some(object) = options.dyn_ref::<Object>().filter(|_| options.is_object()) else {
        return Ok(Vec::new());
    };
    let mut entries = Vec::new();
    for key in Object::keys(object) {
        let value = Reflect::get(object, &key).map_err(|_| Error::InvalidOptions)?;
        if value.is_null_or_undefined() {
            continue;
        }
        let value = if Array::is_array(&value) {
            let items = Array::from(&value).iter().map(|item| text(&item)).collect::<Option<_>>();
            OptionValue::Array { items: items.ok_or(Error::InvalidOptions)?, json: json(&value)? }
        } else if let Some(object) = value.dyn_ref::<Object>().filter(|_| value.is_object()) {
            let mut entries = Vec::new();
            for key in Object::keys(object) {
                let item = Reflect::get(object, &key).map_err(|_| Error::InvalidOptions)?;
                entries.push((
                    text(&key).ok_or(Error::InvalidOptions)?,
                    text(&item).ok_or(Error::InvalidOptions)?,
                ));
            }
            OptionValue::Object { entries, json: json(&value)? }
        } else {
            OptionValue::Text(text(&value).ok_or(Error::InvalidOptions)?)
        };
        entries.push((text(&key).ok_or(Error::InvalidOptions)?, value));
    }
    Ok(entries)
}

/// JS `String(value)`; `None` where that throws (e.g. an object without `toString`).
pub fn text(value: &JsValue) -> Option<String> {
    value.as_string().or_else(|| js_string(value).ok()?.as_string())
}

fn json(value: &JsValue) -> Result<String, Error> {
    JSON::stringify(value).ok().and_then(|s: JsString| s.as_string()).ok_or(Error::InvalidOptions)
}

/// A core JSON value as a plain JS value (numbers through `parseFloat`).
pub fn to_js(value: &Json) -> JsValue {
    match value {
        Json::Null => JsValue::NULL,
        Json::Bool(b) => JsValue::from_bool(*b),
        Json::Number(n) => JsValue::from_f64(js_sys::parse_float(n)),
        Json::String(s) => JsValue::from_str(s),
        Json::Array(items) => items.iter().map(to_js).collect::<Array>().into(),
        Json::Object(members) => {
            let object = Object::new();
            for (key, member) in members {
                let _ = Reflect::set(&object, &JsValue::from_str(key), &to_js(member));
            }
            object.into()
        }
    }
}
