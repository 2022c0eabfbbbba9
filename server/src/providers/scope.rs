//! The Kloudless scope grammar, parsed without looking at any service: a scope is items
//! separated by white space, each
//!
//! ```text
//! item     = name [":" level] ["." name] ["." quoted ":raw"]
//! name     = 1*( a-z / A-Z / 0-9 / "_" / "-" )     ; a service id, a category, any or all
//! level    = name                                  ; admin when it starts with "admin"
//! quoted   = DQUOTE 1*( any character but DQUOTE ) DQUOTE
//! ```
//!
//! e.g. `box`, `storage`, `any.all`, `box:admin`, `salesforce:normal.crm` or
//! `gdrive.storage."https://www.googleapis.com/auth/drive.readonly openid":raw`. The quoted part
//! is the upstream's own scopes (space-separated), which replace the provider's defaults for the
//! flow ([`crate::providers::services::allowed`]). A malformed item is a [`ParseError`] naming it.

use std::fmt;

/// One scope item.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    /// The first name: a service id, a category, `any` or `all`.
    pub name: String,
    /// Whether its level starts with `admin`.
    pub admin: bool,
    /// The second name, if any: a category, `any` or `all`.
    pub category: Option<String>,
    /// The upstream scopes quoted in it (`"…":raw`), if any: never empty.
    pub upstream: Option<Vec<String>>,
}

/// Whether `name` stands for every service or category.
pub fn is_any(name: &str) -> bool {
    name == "any" || name == "all"
}

/// A scope item that does not follow the grammar.
#[derive(Clone, Debug, PartialEq)]
pub struct ParseError {
    /// The item, as given.
    pub token: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "The scope item '{}' is malformed: {}.", self.token, self.reason)
    }
}

/// The items of `scope`, in order; an empty scope has none.
pub fn parse(scope: &str) -> Result<Vec<Item>, ParseError> {
    tokens(scope)?.into_iter().map(item).collect()
}

/// Splits `scope` at white space outside double quotes.
fn tokens(scope: &str) -> Result<Vec<&str>, ParseError> {
    let mut tokens = Vec::new();
    let mut start = None;
    let mut quoted = false;
    for (i, c) in scope.char_indices() {
        match (c, quoted) {
            ('"', _) => {
                quoted = !quoted;
                start.get_or_insert(i);
            }
            (c, false) if c.is_whitespace() => {
                if let Some(from) = start.take() {
                    tokens.push(&scope[from..i]);
                }
            }
            _ => {
                start.get_or_insert(i);
            }
        }
    }
    if let Some(from) = start {
        let token = &scope[from..];
        if quoted {
            return Err(ParseError { token: token.to_owned(), reason: "a quote is not closed" });
        }
        tokens.push(token);
    }
    Ok(tokens)
}

/// One item (no white space outside its quotes).
fn item(token: &str) -> Result<Item, ParseError> {
    let fail = |reason| ParseError { token: token.to_owned(), reason };
    let (head, upstream) = match token.find('"') {
        None => (token, None),
        Some(open) => {
            let head =
                token[..open].strip_suffix('.').ok_or_else(|| fail("a quoted part must follow a ."))?;
            let rest = &token[open + 1..];
            let close = rest.find('"').ok_or_else(|| fail("a quote is not closed"))?;
            if &rest[close + 1..] != ":raw" {
                return Err(fail("a quoted part must end in \":raw"));
            }
            let scopes: Vec<String> = rest[..close].split_whitespace().map(str::to_owned).collect();
            if scopes.is_empty() {
                return Err(fail("the quotes hold no upstream scope"));
            }
            (head, Some(scopes))
        }
    };
    let (service, category) = match head.split_once('.') {
        Some((service, category)) => (service, Some(category)),
        None => (head, None),
    };
    let (name, level) = match service.split_once(':') {
        Some((name, level)) => (name, Some(level)),
        None => (service, None),
    };
    let word = |part: &str| {
        !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    if !word(name) {
        return Err(fail("it must start with a service, a category, any or all"));
    }
    if level.is_some_and(|level| !word(level)) {
        return Err(fail("the level after : must be a word such as admin"));
    }
    if category.is_some_and(|category| !word(category)) {
        return Err(fail("the part after . must be a category, any or all"));
    }
    if upstream.is_some() && is_any(name) {
        return Err(fail("upstream scopes need a service id, not any or all"));
    }
    Ok(Item {
        name: name.to_owned(),
        admin: level.is_some_and(|level| level.starts_with("admin")),
        category: category.map(str::to_owned),
        upstream,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn one(text: &str) -> Item {
        let items = parse(text).unwrap();
        assert_eq!(items.len(), 1, "{text}");
        items.into_iter().next().unwrap()
    }

    #[test]
    fn reads_every_form_of_the_grammar() {
        assert_eq!(parse("").unwrap(), []);
        assert_eq!(parse("  \t ").unwrap(), []);
        let plain = one("box");
        assert_eq!(
            (plain.name.as_str(), plain.admin, plain.category, plain.upstream),
            ("box", false, None, None)
        );
        let admin = one("all:admin");
        assert!(admin.admin && admin.name == "all");
        let full = one("salesforce:normal.crm");
        assert_eq!((full.admin, full.category.as_deref()), (false, Some("crm")));
        let readme = one(
            r#"gdrive.storage."https://www.googleapis.com/auth/userinfo.email https://www.googleapis.com/auth/drive.readonly":raw"#,
        );
        assert_eq!(readme.name, "gdrive");
        assert_eq!(readme.category.as_deref(), Some("storage"));
        assert_eq!(
            readme.upstream.unwrap(),
            [
                "https://www.googleapis.com/auth/userinfo.email",
                "https://www.googleapis.com/auth/drive.readonly"
            ]
        );
        let bare = one(r#"gdrive:admin."openid":raw"#);
        assert!(bare.admin && bare.category.is_none());
        assert_eq!(bare.upstream.unwrap(), ["openid"]);
        let items = parse(r#"box gdrive."a b":raw   crm"#).unwrap();
        assert_eq!(items.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(), ["box", "gdrive", "crm"]);
    }

    #[test]
    fn a_malformed_item_is_named_with_its_reason() {
        let cases = [
            (r#"box gdrive."https://x:raw"#, r#"gdrive."https://x:raw"#, "not closed"),
            (r#"gdrive."a""#, r#"gdrive."a""#, ":raw"),
            (r#"gdrive."a"x"#, r#"gdrive."a"x"#, ":raw"),
            (r#"gdrive."a":rawx"#, r#"gdrive."a":rawx"#, ":raw"),
            (r#"gdrive"a":raw"#, r#"gdrive"a":raw"#, "follow a ."),
            (r#"gdrive."  ":raw"#, r#"gdrive."  ":raw"#, "no upstream scope"),
            (r#"any."a":raw"#, r#"any."a":raw"#, "need a service id"),
            (
                "https://www.googleapis.com/auth/drive",
                "https://www.googleapis.com/auth/drive",
                "level after :",
            ),
            ("gdrive.storage.https://x/y", "gdrive.storage.https://x/y", "after ."),
            ("box:", "box:", "level"),
            ("box.", "box.", "after ."),
            ("box.storage.crm", "box.storage.crm", "after ."),
            (":admin", ":admin", "must start"),
        ];
        for (scope, token, reason) in cases {
            let error = parse(scope).unwrap_err();
            assert_eq!(error.token, token, "{scope}");
            assert!(error.to_string().contains(reason), "{scope}: {error}");
            assert!(error.to_string().contains(token), "{error}");
        }
    }

    fn word() -> impl Strategy<Value = String> {
        "[a-z0-9_]{1,8}"
    }

    fn upstream_scope() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9:/._-]{1,20}"
    }

    fn any_item() -> impl Strategy<Value = Item> {
        (
            word(),
            any::<bool>(),
            proptest::option::of(word()),
            proptest::option::of(prop::collection::vec(upstream_scope(), 1..4)),
        )
            .prop_map(|(name, admin, category, upstream)| Item { name, admin, category, upstream })
            .prop_filter("upstream scopes need a service", |item| {
                !(item.upstream.is_some() && is_any(&item.name))
            })
    }

    fn write(item: &Item) -> String {
        let mut text = item.name.clone();
        if item.admin {
            text.push_str(":admin");
        }
        if let Some(category) = &item.category {
            text = format!("{text}.{category}");
        }
        if let Some(upstream) = &item.upstream {
            text = format!("{text}.\"{}\":raw", upstream.join(" "));
        }
        text
    }

    proptest! {
        #[test]
        fn what_is_written_reads_back(items in prop::collection::vec(any_item(), 0..5), gap in "[ \t\n]{1,3}") {
            let text = items.iter().map(write).collect::<Vec<_>>().join(&gap);
            prop_assert_eq!(parse(&text).unwrap(), items);
        }

        #[test]
        fn no_input_panics_and_an_error_names_a_token_of_it(text in "\\PC{0,40}") {
            if let Err(error) = parse(&text) {
                prop_assert!(text.contains(&error.token));
                prop_assert!(!error.token.is_empty());
            }
        }
    }
}
