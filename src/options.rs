//! The user's `options` object → the pop-up's query parameters, by the original's rules.

use crate::error::Error;
use kloudless_protocol::{RESERVED_PARAMS, ReturnTo, SIGN_IN_TOKEN, is_sign_in_token};

/// One option's value, as the shell reads it off the JS object (`null` and `undefined` values
/// are left out before, as the original did).
#[derive(Clone, Debug, PartialEq)]
pub enum OptionValue {
    /// A primitive, as `String(value)` gives it.
    Text(String),
    /// An array: each item as `String(item)`, and the whole as `JSON.stringify` gives it.
    List {
        /// The items.
        items: Vec<String>,
        /// The array's JSON.
        json: String,
    },
    /// Any other object: its own enumerable properties (`String(value)` each), and its JSON.
    Map {
        /// The properties, in order.
        members: Vec<(String, String)>,
        /// The object's JSON.
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
    /// The `return_url` option: the app's registered return page a pop-up whose opener was cut
    /// brings the result back to (default: the launching page's URL). Not a query parameter.
    pub return_url: Option<ReturnTo>,
}

/// The library's own option naming the return page ([`Options::return_url`]).
const RETURN_URL: &str = "return_url";

impl Options {
    /// Applies the original's rules to the options' entries, in the object's order: `scope`
    /// arrays are joined with spaces, `raw: {k: v}` becomes `raw[k]=v`, other arrays and
    /// objects are sent as JSON, reserved keys are dropped. A `sign_in_token` must be a token
    /// string ([`is_sign_in_token`]), else [`Error::InvalidSignInToken`]; a `return_url` a
    /// non-empty string, else [`Error::InvalidOptions`] (it is kept, not sent). The `locale`
    /// extension (the pop-up's language) goes on as any text option: the server checks it. A
    /// legacy `app_id` stands in for a
    /// missing `client_id` (and is sent as `client_id`). The last non-empty one wins.
    pub fn new(entries: impl IntoIterator<Item = (String, OptionValue)>) -> Result<Options, Error> {
        let mut params = Vec::new();
        let mut return_url = None;
        for (key, value) in entries {
            if key == RETURN_URL {
                match value {
                    OptionValue::Text(url) if !url.is_empty() => return_url = Some(ReturnTo::new(url)),
                    _ => return Err(Error::InvalidOptions),
                }
                continue;
            }
            if key == SIGN_IN_TOKEN && !matches!(&value, OptionValue::Text(t) if is_sign_in_token(t)) {
                return Err(Error::InvalidSignInToken);
            }
            match value {
                OptionValue::Map { members, .. } if key == "raw" => {
                    params.extend(members.into_iter().map(|(k, v)| (format!("raw[{k}]"), v)));
                }
                OptionValue::List { items, .. } if key == "scope" => params.push((key, items.join(" "))),
                OptionValue::List { json, .. } | OptionValue::Map { json, .. } => params.push((key, json)),
                OptionValue::Text(text) => params.push((key, text)),
            }
        }
        params.retain(|(key, _)| !RESERVED_PARAMS.contains(&key.as_str()));
        let given = |name: &str| {
            params.iter().rev().find(|(k, v)| k == name && !v.is_empty()).map(|(_, v)| v.clone())
        };
        if let Some(client_id) = given("client_id") {
            return Ok(Options { client_id, params, return_url });
        }
        let client_id = given("app_id").ok_or(Error::MissingClientId)?;
        let rest = params.into_iter().filter(|(k, _)| k != "app_id" && k != "client_id");
        let params = std::iter::once(("client_id".to_owned(), client_id.clone())).chain(rest).collect();
        Ok(Options { client_id, params, return_url })
    }
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
        assert_eq!(Options::new([]), Err(Error::MissingClientId));
        assert_eq!(Options::new([text("client_id", ""), text("scope", "box")]), Err(Error::MissingClientId));
        assert_eq!(Options::new([text("client_id", "abc")]).unwrap().client_id, "abc");
    }

    #[test]
    fn legacy_app_id_becomes_client_id() {
        let options = Options::new([text("scope", "box"), text("app_id", "legacy")]).unwrap();
        assert_eq!(options.client_id, "legacy");
        assert_eq!(pairs(&options), [("client_id", "legacy"), ("scope", "box")]);
        // An empty client_id is dropped with it: client_id is sent once.
        let options = Options::new([text("client_id", ""), text("app_id", "x")]).unwrap();
        assert_eq!(pairs(&options), [("client_id", "x")]);
        // A client_id wins over an app_id, which is then sent as given.
        let options = Options::new([text("app_id", "a"), text("client_id", "c")]).unwrap();
        assert_eq!(options.client_id, "c");
        assert_eq!(pairs(&options), [("app_id", "a"), ("client_id", "c")]);
    }

    #[test]
    fn the_last_non_empty_client_id_wins() {
        let options =
            Options::new([text("client_id", "a"), text("client_id", "b"), text("client_id", "")]).unwrap();
        assert_eq!(options.client_id, "b");
    }

    #[test]
    fn a_sign_in_token_is_passed_on_and_a_bad_one_refused() {
        let token = "0123456789abcdef".repeat(4);
        let options = Options::new([text("client_id", "app"), text("sign_in_token", &token)]).unwrap();
        assert_eq!(pairs(&options), [("client_id", "app"), ("sign_in_token", token.as_str())]);
        let list = OptionValue::List { items: vec![token.clone()], json: format!("[\"{token}\"]") };
        for bad in [
            OptionValue::Text(String::new()),
            OptionValue::Text("a b".into()),
            OptionValue::Text("x".repeat(257)),
            list,
            OptionValue::Map { members: vec![], json: "{}".into() },
        ] {
            let entries = [text("client_id", "app"), ("sign_in_token".to_owned(), bad.clone())];
            assert_eq!(Options::new(entries), Err(Error::InvalidSignInToken), "{bad:?}");
        }
    }

    #[test]
    fn the_return_url_is_kept_not_sent_and_must_be_text() {
        let options =
            Options::new([text("client_id", "app"), text("return_url", "https://a.test/back")]).unwrap();
        assert_eq!(options.return_url.as_deref(), Some("https://a.test/back"));
        assert_eq!(pairs(&options), [("client_id", "app")]);
        assert_eq!(Options::new([text("client_id", "app")]).unwrap().return_url, None);
        for bad in [OptionValue::Text(String::new()), OptionValue::Map { members: vec![], json: "{}".into() }]
        {
            let entries = [text("client_id", "app"), ("return_url".to_owned(), bad)];
            assert_eq!(Options::new(entries), Err(Error::InvalidOptions));
        }
    }

    #[test]
    fn the_locale_extension_is_sent_as_given() {
        let locale = kloudless_protocol::LOCALE;
        let options = Options::new([text("client_id", "app"), text(locale, "de-DE")]).unwrap();
        assert_eq!(pairs(&options), [("client_id", "app"), (locale, "de-DE")]);
    }

    #[test]
    fn applies_the_original_rules() {
        let options = Options::new([
            text("client_id", "app"),
            (
                "scope".into(),
                OptionValue::List { items: vec!["box".into(), "gdrive:admin".into()], json: "[…]".into() },
            ),
            ("tags".into(), OptionValue::List { items: vec!["a".into()], json: r#"["a"]"#.into() }),
            (
                "raw".into(),
                OptionValue::Map {
                    members: vec![("a".into(), "1".into()), ("b".into(), "x y".into())],
                    json: "{}".into(),
                },
            ),
            ("extra_data".into(), OptionValue::Map { members: vec![], json: r#"{"k":1}"#.into() }),
            text("state", "mine"),
            text("request_id", "mine"),
            text("origin", "mine"),
            text("return_to", "mine"),
            text("redirect_uri", "mine"),
            text("response_type", "mine"),
            text("custom", "7"),
        ])
        .unwrap();
        assert_eq!(
            pairs(&options),
            [
                ("client_id", "app"),
                ("scope", "box gdrive:admin"),
                ("tags", r#"["a"]"#),
                ("raw[a]", "1"),
                ("raw[b]", "x y"),
                ("extra_data", r#"{"k":1}"#),
                ("custom", "7"),
            ]
        );
    }
}
