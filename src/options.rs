//! The user's `options` object → the pop-up's query parameters, by the original's rules.

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use crate::error::Error;
use crate::json::Json;
use crate::text::{concat, join};

/// Parameters the library sets itself; a user's values for them are dropped.
const RESERVED: [&str; 6] = ["redirect_uri", "response_type", "state", "request_id", "origin", "rendezvous"];

/// One option value, as the browser shell reads it from the JS object.
///
/// `null` and `undefined` values never get here: they are dropped, as the original did.
#[derive(Clone, Debug, PartialEq)]
pub enum OptionValue {
    /// A primitive, as JS `String(value)` gives it.
    Text(String),
    /// An array: its items as `String(item)`, and the whole as `JSON.stringify` gives it.
    Array {
        /// Each item as text.
        items: Vec<String>,
        /// The array as JSON.
        json: String,
    },
    /// A plain object: its own enumerable properties as text, and the whole as JSON.
    Object {
        /// `[key, String(value)]` for each own enumerable property.
        entries: Vec<(String, String)>,
        /// The object as JSON.
        json: String,
    },
}

/// Validated options of one authenticator: the app and its extra query parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// The app's `client_id` (or the legacy `app_id` when no `client_id` is given).
    pub client_id: String,
    /// The user's query parameters in order, `client_id` among them, reserved ones removed.
    pub params: Vec<(String, String)>,
}

impl Options {
    /// Options as the browser shell reads them off the JS object: a JSON array of
    /// `[key, 0, text]`, `[key, 1, [item, …], json]` (an array) and
    /// `[key, 2, [[key, text], …], json]` (an object), in the object's order; then [`Options::new`].
    pub fn parse(entries: &str) -> Result<Options, Error> {
        Options::new(&entries_of(entries).ok_or(Error::InvalidOptions)?)
    }

    /// Applies the original's rules: `scope` arrays are joined with spaces, `raw: {k: v}`
    /// becomes `raw[k]=v`, other objects are JSON, reserved keys are dropped. A legacy
    /// `app_id` stands in for a missing `client_id` (and is sent as `client_id`).
    pub fn new(entries: &[(String, OptionValue)]) -> Result<Options, Error> {
        let mut params = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            if RESERVED.contains(&key.as_str()) {
                continue;
            }
            let value = match value {
                OptionValue::Text(text) => text.clone(),
                OptionValue::Array { items, .. } if key == "scope" => join(items, " "),
                OptionValue::Object { entries, .. } if key == "raw" => {
                    for (k, v) in entries {
                        params.push((concat(&["raw[", k, "]"]), v.clone()));
                    }
                    continue;
                }
                OptionValue::Array { json, .. } | OptionValue::Object { json, .. } => json.clone(),
            };
            params.push((key.clone(), value));
        }
        let given = |name: &str| params.iter().rposition(|(k, v)| k == name && !v.is_empty());
        match (given("client_id"), given("app_id")) {
            (Some(at), _) => Ok(Options { client_id: params[at].1.clone(), params }),
            (None, Some(at)) => {
                let client_id = params[at].1.clone();
                let mut with_id = vec![("client_id".to_owned(), client_id.clone())];
                for (k, v) in params {
                    if k != "app_id" && k != "client_id" {
                        with_id.push((k, v));
                    }
                }
                Ok(Options { client_id, params: with_id })
            }
            (None, None) => Err(Error::MissingClientId),
        }
    }
}

/// The entries of [`Options::parse`]'s JSON; `None` if it has another shape.
fn entries_of(text: &str) -> Option<Vec<(String, OptionValue)>> {
    let json = Json::parse(text)?;
    let mut out = Vec::new();
    for entry in json.as_array()? {
        let (key, value) = match entry.as_array()? {
            [Json::String(key), Json::Number(kind), Json::String(text)] if kind == "0" => {
                (key, OptionValue::Text(text.clone()))
            }
            [Json::String(key), Json::Number(kind), items, Json::String(json)] if kind == "1" => {
                (key, OptionValue::Array { items: strings(items)?, json: json.clone() })
            }
            [Json::String(key), Json::Number(kind), Json::Array(pairs), Json::String(json)]
                if kind == "2" =>
            {
                let mut entries = Vec::new();
                for pair in pairs {
                    match pair.as_array()? {
                        [Json::String(k), Json::String(v)] => entries.push((k.clone(), v.clone())),
                        _ => return None,
                    }
                }
                (key, OptionValue::Object { entries, json: json.clone() })
            }
            _ => return None,
        };
        out.push((key.clone(), value));
    }
    Some(out)
}

/// The texts of a JSON array of strings.
fn strings(value: &Json) -> Option<Vec<String>> {
    let mut out = Vec::new();
    for item in value.as_array()? {
        match item {
            Json::String(text) => out.push(text.clone()),
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::{OptionValue, Options};
    use crate::error::Error;

    fn text(key: &str, value: &str) -> (String, OptionValue) {
        (key.to_owned(), OptionValue::Text(value.to_owned()))
    }

    fn pairs(options: &Options) -> Vec<(&str, &str)> {
        options.params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }

    #[test]
    fn requires_a_client_id() {
        assert_eq!(Options::new(&[]), Err(Error::MissingClientId));
        assert_eq!(Options::new(&[text("client_id", ""), text("scope", "box")]), Err(Error::MissingClientId));
        assert_eq!(Options::new(&[text("client_id", "abc")]).unwrap().client_id, "abc");
    }

    #[test]
    fn legacy_app_id_becomes_client_id() {
        let options = Options::new(&[text("scope", "box"), text("app_id", "legacy")]).unwrap();
        assert_eq!(options.client_id, "legacy");
        assert_eq!(pairs(&options), [("client_id", "legacy"), ("scope", "box")]);
    }

    #[test]
    fn applies_the_original_rules() {
        let options = Options::new(&[
            text("client_id", "app"),
            (
                "scope".into(),
                OptionValue::Array { items: vec!["box".into(), "gdrive:admin".into()], json: "[..]".into() },
            ),
            text("state", "mine"),
            text("redirect_uri", "https://evil.test/"),
            text("request_id", "1"),
            text("origin", "https://evil.test"),
            text("rendezvous", "mine"),
            text("response_type", "code"),
            (
                "raw".into(),
                OptionValue::Object { entries: vec![("a".into(), "1".into())], json: "{\"a\":1}".into() },
            ),
            ("extra_data".into(), OptionValue::Object { entries: vec![], json: "{\"domain\":\"x\"}".into() }),
            ("tags".into(), OptionValue::Array { items: vec!["a".into()], json: "[\"a\"]".into() }),
            text("developer", "true"),
        ])
        .unwrap();
        assert_eq!(
            pairs(&options),
            [
                ("client_id", "app"),
                ("scope", "box gdrive:admin"),
                ("raw[a]", "1"),
                ("extra_data", "{\"domain\":\"x\"}"),
                ("tags", "[\"a\"]"),
                ("developer", "true"),
            ]
        );
    }

    #[test]
    fn parses_the_shells_entries() {
        let options = Options::parse(
            r#"[["client_id",0,"app"],["scope",1,["a","b"],"[\"a\",\"b\"]"],["raw",2,[["k","v"]],"{\"k\":\"v\"}"],["n",0,"1"]]"#,
        )
        .unwrap();
        assert_eq!(pairs(&options), [("client_id", "app"), ("scope", "a b"), ("raw[k]", "v"), ("n", "1")]);
        assert_eq!(Options::parse("[]"), Err(Error::MissingClientId));
        for bad in [
            "",
            "{}",
            "[1]",
            r#"[["k"]]"#,
            r#"[["k",0,1]]"#,
            r#"[["k",0,"v","x"]]"#,
            r#"[["k",1,["a",1],"[]"]]"#,
            r#"[["k",1,["a"]]]"#,
            r#"[["k",2,[["a"]],"{}"]]"#,
            r#"[["k",2,[["a","b","c"]],"{}"]]"#,
            r#"[["k",3,"v"]]"#,
        ] {
            assert_eq!(Options::parse(bad), Err(Error::InvalidOptions), "{bad}");
        }
    }
}
