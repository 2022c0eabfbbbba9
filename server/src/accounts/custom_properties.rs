//! `custom_properties`: the app's own data on an account, as Kloudless kept it — a JSON object
//! of at most [`MAX_BYTES`], given in the pop-up request (the library sends the option
//! URL-encoded, as `extra_data`) or by `PATCH /v1/accounts/{id}/` with the app's API key, and
//! returned in the account JSON. A flow that gives none keeps the account's; one that gives
//! some replaces them, as a PATCH does.

use serde_json::{Map, Value};

/// The pop-up request's parameter.
pub const PARAM: &str = "custom_properties";

/// The largest object accepted, in bytes of its compact JSON.
pub const MAX_BYTES: usize = 4096;

/// `value` checked — a JSON object of at most [`MAX_BYTES`] once written compactly — as the
/// text to store; else a sentence saying why not.
pub fn check(value: &Value) -> Result<String, String> {
    if !value.is_object() {
        return Err(format!("The {PARAM} must be a JSON object."));
    }
    let text = value.to_string();
    if text.len() > MAX_BYTES {
        return Err(format!("The {PARAM} must be at most {MAX_BYTES} bytes of JSON (it is {}).", text.len()));
    }
    Ok(text)
}

/// The pop-up request's `custom_properties` (JSON text), checked as by [`check`]; `None` when
/// absent or empty.
pub fn from_param(text: Option<&str>) -> Result<Option<String>, String> {
    let Some(text) = text.filter(|text| !text.is_empty()) else { return Ok(None) };
    if text.len() > 2 * MAX_BYTES {
        return Err(format!("The {PARAM} must be at most {MAX_BYTES} bytes of JSON."));
    }
    let value: Value = serde_json::from_str(text).map_err(|_| format!("The {PARAM} is not valid JSON."))?;
    check(&value).map(Some)
}

/// The stored text as the account JSON shows it: the object, or `{}` when none was given.
pub fn shown(stored: Option<&str>) -> Value {
    stored
        .and_then(|text| serde_json::from_str::<Map<String, Value>>(text).ok())
        .map_or_else(|| Value::Object(Map::new()), Value::Object)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_object_up_to_the_limit_is_taken_and_anything_else_refused() {
        assert_eq!(from_param(None), Ok(None));
        assert_eq!(from_param(Some("")), Ok(None));
        assert_eq!(from_param(Some(r#"{ "crm_id": 7 }"#)), Ok(Some(r#"{"crm_id":7}"#.to_owned())));
        assert!(from_param(Some("[1]")).unwrap_err().contains("JSON object"));
        assert!(from_param(Some("{")).unwrap_err().contains("not valid JSON"));
        let just_fits = json!({ "k": "x".repeat(MAX_BYTES - 8) });
        assert_eq!(check(&just_fits).map(|text| text.len()), Ok(MAX_BYTES));
        let too_big = json!({ "k": "x".repeat(MAX_BYTES - 7) });
        assert!(check(&too_big).unwrap_err().contains("at most 4096 bytes"));
        assert_eq!(shown(None), json!({}));
        assert_eq!(shown(Some(r#"{"a":[1]}"#)), json!({ "a": [1] }));
    }
}
