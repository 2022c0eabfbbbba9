//! The user's `options` object → the pop-up's query parameters, by the original's rules.

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use crate::error::Error;
use crate::json::Json;
use crate::text::concat;

/// Parameters the library sets itself; a user's values for them are dropped.
const RESERVED: [&str; 6] = ["redirect_uri", "response_type", "state", "request_id", "origin", "return_to"];

/// Validated options of one authenticator: the app and its extra query parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// The app's `client_id` (or the legacy `app_id` when no `client_id` is given).
    pub client_id: String,
    /// The user's query parameters in order, `client_id` among them, reserved ones removed.
    pub params: Vec<(String, String)>,
}

impl Options {
    /// Options as the browser shell reads them off the JS object: a JSON array, in the
    /// object's order, of `[key, 0, text]` (a primitive, as `String(value)`),
    /// `[key, 1, [item, …], json]` (an array: each item as `String(item)`, and the whole as
    /// `JSON.stringify` gives it) and `[key, 2, [[key, text], …], json]` (a plain object: its own
    /// enumerable properties, and the whole as JSON); `null` and `undefined` values are left
    /// out, as the original did.
    ///
    /// Applies the original's rules: `scope` arrays are joined with spaces, `raw: {k: v}`
    /// becomes `raw[k]=v`, other arrays and objects are JSON, reserved keys are dropped. A
    /// legacy `app_id` stands in for a missing `client_id` (and is sent as `client_id`).
    pub fn parse(entries: &str) -> Result<Options, Error> {
        let entries = Json::parse(entries).ok_or(Error::InvalidOptions)?;
        let mut params = Vec::new();
        for entry in entries.as_array().ok_or(Error::InvalidOptions)? {
            add_param(entry, &mut params).ok_or(Error::InvalidOptions)?;
        }
        // The last non-empty one wins.
        let given = |name: &str| {
            params.iter().rev().find(|(k, v)| k == name && !v.is_empty()).map(|(_, v)| v.clone())
        };
        if let Some(client_id) = given("client_id") {
            return Ok(Options { client_id, params });
        }
        let client_id = given("app_id").ok_or(Error::MissingClientId)?;
        let mut with_id = vec![("client_id".to_owned(), client_id.clone())];
        for (k, v) in params {
            if k != "app_id" && k != "client_id" {
                with_id.push((k, v));
            }
        }
        Ok(Options { client_id, params: with_id })
    }
}

/// Adds the query parameters of one of [`Options::parse`]'s entries; `None` if it has another
/// shape.
fn add_param(entry: &Json, params: &mut Vec<(String, String)>) -> Option<()> {
    let [Json::String(key), Json::Number(kind), rest @ ..] = entry.as_array()? else { return None };
    let value = match (kind.as_str(), rest) {
        ("0", [Json::String(text)]) => text.clone(),
        ("1", [Json::Array(items), Json::String(json)]) => {
            if key != "scope" {
                json.clone()
            } else {
                let mut joined = String::new();
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        joined.push(' ');
                    }
                    joined.push_str(item.as_str()?);
                }
                joined
            }
        }
        ("2", [Json::Array(members), Json::String(json)]) => {
            if key != "raw" {
                json.clone()
            } else {
                for member in members {
                    let [Json::String(k), Json::String(v)] = member.as_array()? else { return None };
                    params.push((concat(&["raw[", k, "]"]), v.clone()));
                }
                return Some(());
            }
        }
        _ => return None,
    };
    if !RESERVED.contains(&key.as_str()) {
        params.push((key.clone(), value));
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::Options;
    use crate::error::Error;

    fn pairs(options: &Options) -> Vec<(&str, &str)> {
        options.params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }

    #[test]
    fn requires_a_client_id() {
        assert_eq!(Options::parse("[]"), Err(Error::MissingClientId));
        assert_eq!(Options::parse(r#"[["client_id",0,""],["scope",0,"box"]]"#), Err(Error::MissingClientId));
        assert_eq!(Options::parse(r#"[["client_id",0,"abc"]]"#).unwrap().client_id, "abc");
    }

    #[test]
    fn legacy_app_id_becomes_client_id() {
        let options = Options::parse(r#"[["scope",0,"box"],["app_id",0,"legacy"]]"#).unwrap();
        assert_eq!(options.client_id, "legacy");
        assert_eq!(pairs(&options), [("client_id", "legacy"), ("scope", "box")]);
        // An empty client_id is dropped with it: client_id is sent once.
        let options = Options::parse(r#"[["client_id",0,""],["app_id",0,"x"]]"#).unwrap();
        assert_eq!(pairs(&options), [("client_id", "x")]);
    }

    #[test]
    fn the_last_non_empty_id_wins() {
        let options =
            Options::parse(r#"[["client_id",0,"a"],["client_id",0,"b"],["client_id",0,""]]"#).unwrap();
        assert_eq!(options.client_id, "b");
        let options = Options::parse(r#"[["app_id",0,"a"],["app_id",0,"b"]]"#).unwrap();
        assert_eq!(options.client_id, "b");
    }

    #[test]
    fn applies_the_original_rules() {
        let options = Options::parse(
            r#"[
                ["client_id",0,"app"],
                ["scope",1,["box","gdrive:admin"],"[..]"],
                ["state",0,"mine"],
                ["redirect_uri",0,"https://evil.test/"],
                ["request_id",0,"1"],
                ["origin",0,"https://evil.test"],
                ["return_to",0,"mine"],
                ["response_type",0,"code"],
                ["raw",2,[["a","1"]],"{\"a\":1}"],
                ["extra_data",2,[],"{\"domain\":\"x\"}"],
                ["tags",1,["a"],"[\"a\"]"],
                ["developer",0,"true"]
            ]"#,
        )
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
            r#"[["scope",1,["a",1],"[]"]]"#,
            r#"[["k",1,["a"]]]"#,
            r#"[["raw",2,[["a"]],"{}"]]"#,
            r#"[["raw",2,[["a","b","c"]],"{}"]]"#,
            r#"[["k",3,"v"]]"#,
        ] {
            assert_eq!(Options::parse(bad), Err(Error::InvalidOptions), "{bad}");
        }
    }
}
