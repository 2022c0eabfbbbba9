//! JS values read into the core's types: messages and replies are parsed with the browser's
//! `JSON.parse`, and their members read with `Reflect.get`. The parsed values themselves are
//! what the callback gets (an own `__proto__` member stays an own property).

use crate::message::{self, Data, Dropped, Fields};
use js_sys::{Array, JsString, Reflect};
use kloudless_protocol::fields::{ACCESS_TOKEN, DATA, ERROR, ID, STATE, TYPE};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// `String(value)`; what it throws (a symbol, a throwing `toString`) is caught.
    #[wasm_bindgen(catch, js_name = String)]
    fn string_of(value: &JsValue) -> Result<JsString, JsValue>;
}

/// `String(value)`, or `None` when that throws.
pub fn text(value: &JsValue) -> Option<String> {
    string_of(value).ok().map(String::from)
}

/// `JSON.parse(text)`, or `None` for anything that is not JSON.
pub fn json(text: &str) -> Option<JsValue> {
    js_sys::JSON::parse(text).ok()
}

/// Whether `value` is a plain object (not `null`, not an array).
pub fn is_object(value: &JsValue) -> bool {
    value.is_object() && !Array::is_array(value)
}

/// `object[key]` when it is a string, or a number as its text (the original sent numeric ids).
pub fn scalar(object: &JsValue, key: &str) -> Option<String> {
    let value = Reflect::get(object, &key.into()).ok()?;
    match value.as_string() {
        Some(text) => Some(text),
        None if value.as_f64().is_some() => text(&value),
        None => None,
    }
}

/// A message's data, read only as far as the core lets it: its length first, then its prefix,
/// then `JSON.parse`; its members by the protocol's names for an [`Envelope`]'s
/// ([`kloudless_protocol::fields`]), without serde. Returns what the core decides on, and the
/// `data` object itself.
///
/// [`Envelope`]: kloudless_protocol::Envelope
pub fn message(data: &JsValue) -> Result<(Fields, JsValue), Dropped> {
    let text: &JsString = data.dyn_ref().ok_or(Dropped::NotText)?;
    message::check_length(text.length() as usize)?;
    let text = String::from(text);
    let value = json(message::payload(&text)?).ok_or(Dropped::NotJson)?;
    if !is_object(&value) {
        return Err(Dropped::Shape);
    }
    let object = Reflect::get(&value, &DATA.into()).ok().filter(is_object);
    let fields = Fields {
        kind: Reflect::get(&value, &TYPE.into()).ok().and_then(|kind| kind.as_string()),
        id: scalar(&value, ID),
        data: object.as_ref().map(|object| Data {
            state: scalar(object, STATE),
            access_token: Reflect::get(object, &ACCESS_TOKEN.into())
                .ok()
                .and_then(|token| token.as_string())
                .filter(|token| !token.is_empty()),
            error: scalar(object, ERROR),
        }),
    };
    Ok((fields, object.unwrap_or(JsValue::UNDEFINED)))
}
