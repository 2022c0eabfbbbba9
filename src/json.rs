//! A small JSON reader and writer: just what the protocol needs, without serde or float parsing.
//!
//! Numbers keep their source text (written back as read, for the page's `JSON.parse`), so the
//! browser build carries no float-parsing code.

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;

/// Deepest nesting accepted; deeper input is rejected rather than risking the stack.
const MAX_DEPTH: usize = 64;

/// The one object key refused anywhere in a document: results reach the page's callback as JS
/// objects, and an own `__proto__` member copied by assignment (`Object.assign`) would replace
/// the prototype of the object the page copies it into.
const FORBIDDEN_KEY: &str = "__proto__";

/// A parsed JSON value. Object members keep their order and any duplicates.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A number, as written in the source (already checked against the JSON grammar).
    Number(String),
    /// A string, unescaped.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object's members in source order.
    Object(Vec<(String, Json)>),
}

impl Json {
    /// Parses a complete JSON text; `None` if it is not valid JSON, nests too deeply, or has an
    /// object key that is exactly `__proto__` once unescaped, at any depth (prototype pollution).
    pub fn parse(text: &str) -> Option<Json> {
        let mut parser = Parser { text, bytes: text.as_bytes(), pos: 0 };
        let value = parser.value(0)?;
        parser.skip_ws();
        (parser.pos == parser.bytes.len()).then_some(value)
    }

    /// An object member by name; the last one wins, as with `JSON.parse`.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(members) => members.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Takes an object member out by name (the last one, as [`Json::get`] reads it). The
    /// last member moves into its place, so what remains is for dropping, not reading: a
    /// duplicate name may no longer read as its last value.
    pub fn take(&mut self, key: &str) -> Option<Json> {
        let Json::Object(members) = self else { return None };
        let at = members.iter().rposition(|(k, _)| k == key)?;
        Some(members.swap_remove(at).1)
    }

    /// The items of an array value.
    pub fn as_array(&self) -> Option<&[Json]> {
        match self {
            Json::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The text of a string value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    /// The text of a string or number, as JS `String(value)` gives it for the values servers send.
    pub fn scalar_text(&self) -> Option<&str> {
        match self {
            Json::String(s) | Json::Number(s) => Some(s),
            _ => None,
        }
    }

    /// This value as JSON text, for `JSON.parse` (numbers as written in their source).
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Number(n) => out.push_str(n),
            Json::String(s) => write_string(s, out),
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Json::Object(members) => {
                out.push('{');
                for (i, (key, member)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_string(key, out);
                    out.push(':');
                    member.write(out);
                }
                out.push('}');
            }
        }
    }

    /// Sets an object member, replacing every earlier member of that name; no-op on non-objects.
    pub fn set(&mut self, key: &str, value: Json) {
        if let Json::Object(members) = self {
            members.retain(|(k, _)| k != key);
            members.push((key.to_owned(), value));
        }
    }
}

/// Appends `text` as a JSON string: quotes, backslashes and control characters escaped.
pub fn write_string(text: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\0'..='\u{1f}' => {
                out.push_str("\\u00");
                out.push(HEX[c as usize >> 4] as char);
                out.push(HEX[c as usize & 15] as char);
            }
            _ => out.push(c),
        }
    }
    out.push('"');
}

struct Parser<'a> {
    text: &'a str,
    /// `text`'s bytes.
    bytes: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.pos += 1;
        }
        found
    }

    /// Whether `word` comes next (then skipped).
    fn literal(&mut self, word: &str) -> bool {
        let end = self.pos + word.len();
        let found = self.bytes.get(self.pos..end) == Some(word.as_bytes());
        if found {
            self.pos = end;
        }
        found
    }

    fn value(&mut self, depth: usize) -> Option<Json> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.skip_ws();
        match self.peek()? {
            b'n' => self.literal("null").then_some(Json::Null),
            b't' => self.literal("true").then_some(Json::Bool(true)),
            b'f' => self.literal("false").then_some(Json::Bool(false)),
            b'"' => self.string().map(Json::String),
            b'[' => self.array(depth),
            b'{' => self.object(depth),
            _ => self.number(),
        }
    }

    fn array(&mut self, depth: usize) -> Option<Json> {
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.eat(b']') {
            return Some(Json::Array(items));
        }
        loop {
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            if self.eat(b']') {
                return Some(Json::Array(items));
            }
            if !self.eat(b',') {
                return None;
            }
        }
    }

    fn object(&mut self, depth: usize) -> Option<Json> {
        self.pos += 1;
        let mut members = Vec::new();
        self.skip_ws();
        if self.eat(b'}') {
            return Some(Json::Object(members));
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return None;
            }
            let key = self.string()?;
            if key == FORBIDDEN_KEY {
                return None;
            }
            self.skip_ws();
            if !self.eat(b':') {
                return None;
            }
            members.push((key, self.value(depth + 1)?));
            self.skip_ws();
            if self.eat(b'}') {
                return Some(Json::Object(members));
            }
            if !self.eat(b',') {
                return None;
            }
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Option<Json> {
        let start = self.pos;
        self.eat(b'-');
        if !self.eat(b'0') && self.digits() == 0 {
            return None;
        }
        if self.eat(b'.') && self.digits() == 0 {
            return None;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if !self.eat(b'+') {
                self.eat(b'-');
            }
            if self.digits() == 0 {
                return None;
            }
        }
        let text = self.text.get(start..self.pos)?;
        Some(Json::Number(text.to_owned()))
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.bytes.get(self.pos..self.pos + 4)?;
        self.pos += 4;
        digits.iter().try_fold(0u32, |acc, &d| Some(acc * 16 + (d as char).to_digit(16)?))
    }

    fn string(&mut self) -> Option<String> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            let start = self.pos;
            while !matches!(self.peek()?, b'"' | b'\\' | 0..=0x1f) {
                self.pos += 1;
            }
            out.push_str(self.text.get(start..self.pos)?);
            match self.peek()? {
                b'"' => {
                    self.pos += 1;
                    return Some(out);
                }
                b'\\' => {
                    self.pos += 1;
                    let escaped = self.peek()?;
                    self.pos += 1;
                    out.push(match escaped {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => return None,
                    });
                }
                _ => return None, // a raw control character
            }
        }
    }

    /// The code point of a `\uXXXX` escape (the `\u` already read), pairing surrogates.
    /// A lone surrogate becomes U+FFFD, since Rust strings cannot hold one.
    fn unicode_escape(&mut self) -> Option<char> {
        let first = self.hex4()?;
        if (0xD800..0xDC00).contains(&first) && self.bytes.get(self.pos..self.pos + 2) == Some(b"\\u") {
            let save = self.pos;
            self.pos += 2;
            let second = self.hex4()?;
            if (0xDC00..0xE000).contains(&second) {
                return char::from_u32(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00));
            }
            self.pos = save;
        }
        Some(char::from_u32(first).unwrap_or('\u{FFFD}'))
    }
}

#[cfg(test)]
mod tests {
    use super::Json;

    fn s(text: &str) -> Json {
        Json::String(text.to_owned())
    }

    #[test]
    fn parses_the_protocol_shapes() {
        let v = Json::parse(
            r#" {"type":"authentication","id":"7","data":{"n":-1.5e3,"ok":true,"x":null,"l":[1,"a"]}} "#,
        )
        .unwrap();
        assert_eq!(v.get("type"), Some(&s("authentication")));
        let data = v.get("data").unwrap();
        assert_eq!(data.get("n"), Some(&Json::Number("-1.5e3".into())));
        assert_eq!(data.get("ok"), Some(&Json::Bool(true)));
        assert_eq!(data.get("x"), Some(&Json::Null));
        assert_eq!(data.get("l"), Some(&Json::Array(vec![Json::Number("1".into()), s("a")])));
    }

    #[test]
    fn takes_the_member_get_reads() {
        let mut v = Json::parse(r#"{"a":1,"a":2,"b":3}"#).unwrap();
        assert_eq!(v.take("a"), Some(Json::Number("2".into())));
        assert_eq!(v.take("c"), None);
        assert_eq!(Json::Null.take("a"), None);
    }

    #[test]
    fn writes_json_text() {
        let v = Json::parse(r#"{"a":[1.5e3,true,null],"b\"":"x\u0001\\\n"}"#).unwrap();
        assert_eq!(v.to_text(), r#"{"a":[1.5e3,true,null],"b\"":"x\u0001\\\u000a"}"#);
    }

    #[test]
    fn unescapes_strings() {
        assert_eq!(Json::parse(r#""a\"b\\c\/\n\u00e9\ud83d\ude00""#), Some(s("a\"b\\c/\né😀")));
        assert_eq!(Json::parse(r#""\ud800x""#), Some(s("\u{FFFD}x")));
        assert_eq!(Json::parse("\"héllo\""), Some(s("héllo")));
    }

    #[test]
    fn last_duplicate_key_wins_like_json_parse() {
        let v = Json::parse(r#"{"a":1,"a":2}"#).unwrap();
        assert_eq!(v.get("a"), Some(&Json::Number("2".into())));
    }

    #[test]
    fn rejects_invalid_json() {
        for bad in [
            "",
            "{",
            "}",
            "[1,]",
            "{\"a\":1,}",
            "01",
            "1.",
            ".5",
            "-",
            "1e",
            "+1",
            "nul",
            "tru",
            "\"abc",
            "\"\\x\"",
            "\"\\u12\"",
            "\"a\nb\"",
            "{a:1}",
            "[1 2]",
            "1 2",
            "NaN",
            "'a'",
        ] {
            assert_eq!(Json::parse(bad), None, "{bad:?} must be rejected");
        }
    }

    #[test]
    fn rejects_deep_nesting_without_overflow() {
        let deep = "[".repeat(100_000);
        assert_eq!(Json::parse(&deep), None);
        let ok = "[".repeat(60) + &"]".repeat(60);
        assert!(Json::parse(&ok).is_some());
    }

    #[test]
    fn refuses_proto_keys_at_any_depth() {
        for bad in [
            r#"{"__proto__":{"polluted":true}}"#,
            r#"{"a":1,"__proto__":null}"#,
            r#"{"\u005f_proto__":{}}"#,
            r#"{"\u005F\u005Fproto\u005f\u005f":1}"#,
            r#"{"__pr\u006fto__":1}"#,
            r#"{"a":{"b":{"__proto__":{}}}}"#,
            r#"[1,{"__proto__":{}}]"#,
            r#"[[[{"x":[{"__proto__":0}]}]]]"#,
            r#"{"data":[{"ok":1},{"__proto__":{"isAdmin":true}}]}"#,
        ] {
            assert_eq!(Json::parse(bad), None, "{bad:?} must be refused");
        }
        // Only the exact key is refused: as a value, or as a near miss, it is harmless.
        for good in [
            r#"{"a":"__proto__"}"#,
            r#"["__proto__"]"#,
            r#""__proto__""#,
            r#"{"__proto":1,"_proto__":2,"__PROTO__":3," __proto__":4,"__proto__ ":5}"#,
            r#"{"constructor":{"prototype":{}}}"#,
        ] {
            assert!(Json::parse(good).is_some(), "{good:?} must be accepted");
        }
    }

    #[test]
    fn set_replaces_members() {
        let mut v = Json::parse(r#"{"a":1,"b":2,"a":3}"#).unwrap();
        v.set("a", Json::Bool(false));
        assert_eq!(
            v,
            Json::Object(vec![("b".into(), Json::Number("2".into())), ("a".into(), Json::Bool(false))])
        );
    }
}
