//! Property tests of the pure core: the JSON reader, the postMessage filter and the pop-up URL.
//!
//! Case counts are bounded so the file runs in seconds; set `PROPTEST_CASES` for a deeper run
//! (it scales every block). Failures are not persisted to files: a failure found here becomes
//! a unit test beside the code it concerns.
#![cfg(not(target_arch = "wasm32"))]

use kloudless_authenticator::json::Json;
use kloudless_authenticator::message::{self, MAX_LEN, PREFIX};
use kloudless_authenticator::options::Options;
use kloudless_authenticator::popup::{self, Launch};
use proptest::prelude::*;
use proptest::test_runner::Config;
use std::time::{Duration, Instant};

const RESERVED: [&str; 6] = ["redirect_uri", "response_type", "state", "request_id", "origin", "return_to"];

/// `cases` for this block, or `cases × PROPTEST_CASES / 256` when that variable is set.
fn config(cases: u32) -> Config {
    let scaled = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(cases, |n| (u64::from(cases) * n / 256).clamp(1, u64::from(u32::MAX)) as u32);
    Config { cases: scaled, failure_persistence: None, ..Config::default() }
}

// ---------------------------------------------------------------------------------------------
// A tiny JSON writer and generators.

/// How a value is written: whitespace between tokens, and which characters get `\u` escapes.
#[derive(Clone, Copy, Debug)]
struct Style {
    /// Pseudo-random state deciding, character by character, whether to escape it.
    seed: u64,
    /// Whitespace put around tokens (may be empty).
    ws: &'static str,
}

impl Style {
    /// The next pseudo-random bit (an LCG: deterministic, so failures shrink and replay).
    fn coin(&mut self) -> bool {
        if self.seed == 0 {
            return false;
        }
        self.seed = self.seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.seed >> 63 == 1
    }
}

fn write_string(text: &str, style: &mut Style, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str(if style.coin() { "\\u005C" } else { "\\\\" }),
            '\n' if style.coin() => out.push_str("\\n"),
            '\t' if style.coin() => out.push_str("\\t"),
            '/' if style.coin() => out.push_str("\\/"),
            c if (c as u32) < 0x20 || style.coin() => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str("\\u");
                    let hex = if style.coin() { "0123456789abcdef" } else { "0123456789ABCDEF" };
                    for shift in [12, 8, 4, 0] {
                        out.push(hex.as_bytes()[usize::from(*unit >> shift & 15)] as char);
                    }
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write(value: &Json, style: &mut Style, out: &mut String) {
    let ws = style.ws;
    match value {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) => out.push_str(n),
        Json::String(s) => write_string(s, style, out),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                out.push_str(if i > 0 { "," } else { "" });
                out.push_str(ws);
                write(item, style, out);
                out.push_str(ws);
            }
            out.push_str(if items.is_empty() { ws } else { "" });
            out.push(']');
        }
        Json::Object(members) => {
            out.push('{');
            for (i, (key, item)) in members.iter().enumerate() {
                out.push_str(if i > 0 { "," } else { "" });
                out.push_str(ws);
                write_string(key, style, out);
                out.push_str(ws);
                out.push(':');
                out.push_str(ws);
                write(item, style, out);
                out.push_str(ws);
            }
            out.push_str(if members.is_empty() { ws } else { "" });
            out.push('}');
        }
    }
}

fn serialize(value: &Json, mut style: Style) -> String {
    let mut out = String::new();
    out.push_str(style.ws);
    write(value, &mut style, &mut out);
    out.push_str(style.ws);
    out
}

fn style() -> impl Strategy<Value = Style> {
    (any::<u64>(), prop::sample::select(vec!["", " ", "\n", " \t\r\n "]))
        .prop_map(|(seed, ws)| Style { seed, ws })
}

/// Text of any shape: ASCII, JSON's special characters, controls, and non-ASCII up to 4 bytes.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => "[a-z0-9_]{0,8}",
        2 => ".{0,12}",
        // JSON's specials, controls, and the edges of UTF-8 and of the UTF-16 surrogate ranges.
        1 => "[\"\\\\/\u{0}-\u{1f}\u{7f}\u{80}é\u{7ff}\u{800}€\u{d7ff}\u{e000}\u{FEFF}\u{FFFD}\u{FFFF}\u{10000}😀\u{103ff}\u{10fc00}\u{10FFFF}]{0,6}",
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![4 => text(), 1 => Just("_proto_".to_owned()), 1 => Just("__proto__x".to_owned())]
        .prop_filter("__proto__ is refused by design", |k| k != "__proto__")
}

fn number() -> impl Strategy<Value = Json> {
    "-?(0|[1-9][0-9]{0,20})(\\.[0-9]{1,8})?([eE][+-]?[0-9]{1,4})?".prop_map(Json::Number)
}

fn json() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        number(),
        text().prop_map(Json::String),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Json::Array),
            prop::collection::vec((key(), inner), 0..6).prop_map(Json::Object),
        ]
    })
}

/// Pseudo-random pick among `n` (for choosing a place in a generated tree).
fn pick(seed: &mut u64, n: usize) -> usize {
    *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (*seed >> 33) as usize % n.max(1)
}

/// Adds a `__proto__` member to one object of `value` (or wraps it in one), chosen by `seed`.
fn poison(value: &mut Json, seed: &mut u64) {
    let objects = count_objects(value);
    let target = pick(seed, objects + 1);
    if target == objects {
        let inner = std::mem::replace(value, Json::Null);
        *value = Json::Array(vec![inner, Json::Object(vec![("__proto__".into(), Json::Null)])]);
    } else {
        poison_nth(value, &mut { target }, seed);
    }
}

fn count_objects(value: &Json) -> usize {
    match value {
        Json::Array(items) => items.iter().map(count_objects).sum(),
        Json::Object(members) => 1 + members.iter().map(|(_, v)| count_objects(v)).sum::<usize>(),
        _ => 0,
    }
}

fn poison_nth(value: &mut Json, n: &mut usize, seed: &mut u64) -> bool {
    match value {
        Json::Array(items) => items.iter_mut().any(|item| poison_nth(item, n, seed)),
        Json::Object(members) => {
            if *n == 0 {
                let at = pick(seed, members.len() + 1);
                members.insert(at, ("__proto__".into(), Json::Object(vec![])));
                return true;
            }
            *n -= 1;
            members.iter_mut().any(|(_, v)| poison_nth(v, n, seed))
        }
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------
// Json::parse

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn parse_never_panics_on_arbitrary_text(text in any::<String>()) {
        let _ = Json::parse(&text);
    }

    #[test]
    fn parse_never_panics_on_lossy_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = Json::parse(&String::from_utf8_lossy(&bytes));
    }

    /// Text made of JSON's own tokens reaches far deeper into the parser than random text.
    #[test]
    fn parse_never_panics_on_json_like_text(
        text in "([\\[\\]{}:, \t\n\r\"\\\\/0-9eE.+\\-]|null|true|false|\\\\u[0-9a-fA-FdD]{0,4}|é|😀){0,80}"
    ) {
        let _ = Json::parse(&text);
    }

    #[test]
    fn written_values_parse_back(value in json(), style in style()) {
        let text = serialize(&value, style);
        prop_assert_eq!(Json::parse(&text), Some(value), "{}", text);
    }

    /// What the browser shell hands to `JSON.parse` reads back as the same value.
    #[test]
    fn to_text_parses_back(value in json()) {
        let text = value.to_text();
        prop_assert_eq!(Json::parse(&text), Some(value), "{}", text);
    }

    /// One edit of a valid document (a character removed or inserted): whatever the verdict,
    /// no panic.
    #[test]
    fn edited_documents_never_panic(
        value in json(),
        style in style(),
        at in any::<prop::sample::Index>(),
        edit in prop_oneof![
            Just(None),
            prop::sample::select(vec!['"', '\\', '[', ']', '{', '}', ',', ':', '0', '-', 'e', 'u', ' ', 'é'])
                .prop_map(Some),
        ],
    ) {
        let text = serialize(&value, style);
        let mut chars: Vec<char> = text.chars().collect();
        if !chars.is_empty() {
            let i = at.index(chars.len());
            match edit {
                None => { chars.remove(i); }
                Some(c) => chars.insert(i, c),
            }
        }
        let edited: String = chars.into_iter().collect();
        let _ = Json::parse(&edited);
    }

    #[test]
    fn any_proto_key_is_refused(value in json(), style in style(), mut seed in any::<u64>()) {
        let mut poisoned = value;
        poison(&mut poisoned, &mut seed);
        let text = serialize(&poisoned, style);
        prop_assert_eq!(Json::parse(&text), None, "{}", text);
    }

    /// Nesting of any depth up to 100,000, closed or not, in arrays or objects.
    #[test]
    fn deep_nesting_is_rejected_or_accepted_without_overflow(
        depth in prop_oneof![0usize..80, 60usize..70, 0usize..100_000],
        open in prop::sample::select(vec!["[", "{\"a\":", "[{\"k\":[", " [ "]),
        closed in any::<bool>(),
    ) {
        let mut text = open.repeat(depth);
        text.push('0');
        if closed {
            let close: String = open.chars().rev().filter_map(|c| match c {
                '[' => Some(']'),
                '{' => Some('}'),
                _ => None,
            }).collect();
            text.push_str(&close.repeat(depth));
        }
        let levels = depth * open.matches(['[', '{']).count();
        let parsed = Json::parse(&text);
        prop_assert_eq!(parsed.is_some(), (closed || depth == 0) && levels <= 64, "depth {}", levels);
    }
}

/// Large inputs of every shape the parser loops over finish in linear time: 1 MiB each, with a
/// bound (10 s per input, unoptimised, other tests running alongside) far above the linear cost
/// (well under 1 s) and far below any quadratic one (hours at this size).
#[test]
fn long_inputs_parse_in_linear_time() {
    const N: usize = 1 << 20;
    let inputs: Vec<(&str, String, bool)> = vec![
        ("open brackets", "[".repeat(N), false),
        ("open braces", "{\"a\":".repeat(N / 5), false),
        ("long array", ["[", &"0,".repeat(N / 2), "0]"].concat(), true),
        ("long object", ["{", &"\"a\":1,".repeat(N / 6), "\"b\":2}"].concat(), true),
        ("long string", ["\"", &"x".repeat(N), "\""].concat(), true),
        ("escapes", ["\"", &"\\u0041\\n".repeat(N / 8), "\""].concat(), true),
        ("lone surrogates", ["\"", &"\\ud800".repeat(N / 6), "\""].concat(), true),
        ("surrogate pairs", ["\"", &"\\ud83d\\ude00".repeat(N / 12), "\""].concat(), true),
        ("unterminated string", ["\"", &"\\\\".repeat(N / 2)].concat(), false),
        ("long number", ["-1.", &"0".repeat(N), "e+", &"9".repeat(N)].concat(), true),
        ("whitespace", [&" \n".repeat(N / 2), "null"].concat(), true),
        ("duplicate keys", ["{", &"\"k\":{},".repeat(N / 7), "\"k\":0}"].concat(), true),
    ];
    for (name, text, valid) in inputs {
        let start = Instant::now();
        let parsed = Json::parse(&text);
        let took = start.elapsed();
        assert_eq!(parsed.is_some(), valid, "{name}");
        assert!(took < Duration::from_secs(10), "{name}: {took:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// message::authentication_result

/// What the spec says `authentication_result` returns, judged on the parsed envelope.
fn expected_result(message: &str, request_id: &str) -> Option<Json> {
    if message.len() > MAX_LEN || !message.starts_with(PREFIX) {
        return None;
    }
    let Json::Object(members) = Json::parse(&message[PREFIX.len()..])? else { return None };
    let last = |name: &str| members.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v);
    let id_matches = match last("id")? {
        Json::String(id) | Json::Number(id) => id == request_id,
        _ => false,
    };
    match (last("type")?, last("data")?) {
        (Json::String(t), data @ Json::Object(_)) if t == "authentication" && id_matches => {
            Some(data.clone())
        }
        _ => None,
    }
}

/// One member of a generated envelope.
#[derive(Clone, Debug)]
enum Member {
    Type(Json),
    Id(Json),
    Data(Json),
    Extra(String, Json),
}

fn type_value() -> impl Strategy<Value = Json> {
    prop_oneof![
        4 => Just(Json::String("authentication".into())),
        1 => prop::sample::select(vec!["Authentication", "authentication ", "close", "", "authenticatio"])
            .prop_map(|t| Json::String(t.into())),
        1 => json(),
    ]
}

fn id_value(request_id: String) -> impl Strategy<Value = Json> {
    // An id the page could have sent as a JSON number (no leading zero).
    let numeric = !request_id.is_empty()
        && request_id.bytes().all(|b| b.is_ascii_digit())
        && (request_id == "0" || !request_id.starts_with('0'));
    prop_oneof![
        4 => Just(Json::String(request_id.clone())),
        (if numeric { 2 } else { 0 }) => Just(Json::Number(request_id.clone())),
        1 => Just(Json::String([&request_id, " "].concat())),
        1 => Just(Json::String(request_id.to_uppercase())),
        1 => Just(Json::Array(vec![Json::String(request_id)])),
        1 => json(),
    ]
}

fn data_value() -> impl Strategy<Value = Json> {
    prop_oneof![
        4 => prop::collection::vec((key(), json()), 0..5).prop_map(Json::Object),
        1 => json(),
    ]
}

fn request_id() -> impl Strategy<Value = String> {
    prop_oneof!["[0-9]{1,6}", "[a-z0-9]{1,12}", text()]
}

/// A `kloudless:`-style message around the valid shape, with the expected verdict left to
/// [`expected_result`] and cross-checked against what the generator built.
fn envelope() -> impl Strategy<Value = (String, String, Option<Json>)> {
    request_id().prop_flat_map(|request_id| {
        let members = prop::collection::vec(
            prop_oneof![
                3 => type_value().prop_map(Member::Type),
                3 => id_value(request_id.clone()).prop_map(Member::Id),
                3 => data_value().prop_map(Member::Data),
                1 => (key(), json()).prop_map(|(k, v)| Member::Extra(k, v)),
            ],
            0..7,
        );
        let prefix = prop_oneof![
            6 => Just(PREFIX),
            // The last two are still valid: JSON may start with whitespace.
            1 => prop::sample::select(vec![
                "", "kloudless", "Kloudless:", " kloudless:", "xkloudless:", "kloudless:\u{a0}", "kloudless;",
                "kloudless: ", "kloudless:\r\n\t",
            ]),
        ];
        // Padding after the prefix (valid JSON whitespace), or a length pushed to MAX_LEN ± 3.
        let padding = prop_oneof![4 => Just(None), 1 => (-3i64..=3).prop_map(Some)];
        let trailer = prop_oneof![6 => Just(""), 1 => prop::sample::select(vec![" x", ",", "}", "\u{0}", "é"])];
        (Just(request_id), members, prefix, style(), padding, trailer)
    })
    .prop_map(|(request_id, members, prefix, style, padding, trailer)| {
        let mut object = Vec::new();
        for member in &members {
            object.push(match member {
                Member::Type(v) => ("type".to_owned(), v.clone()),
                Member::Id(v) => ("id".to_owned(), v.clone()),
                Member::Data(v) => ("data".to_owned(), v.clone()),
                Member::Extra(k, v) => (k.clone(), v.clone()),
            });
        }
        let body = serialize(&Json::Object(object), style);
        let mut message = [prefix, &body, trailer].concat();
        if let Some(offset) = padding {
            let target = (MAX_LEN as i64 + offset) as usize;
            let pad = target.saturating_sub(message.len());
            message.insert_str(prefix.len(), &" ".repeat(pad));
        }
        // The generator's own verdict: the last of each member decides, as in JSON.parse.
        let last_type = members.iter().rev().find_map(|m| match m {
            Member::Type(v) => Some(v),
            Member::Extra(k, v) if k == "type" => Some(v),
            _ => None,
        });
        let last_id = members.iter().rev().find_map(|m| match m {
            Member::Id(v) => Some(v),
            Member::Extra(k, v) if k == "id" => Some(v),
            _ => None,
        });
        let last_data = members.iter().rev().find_map(|m| match m {
            Member::Data(v) => Some(v),
            Member::Extra(k, v) if k == "data" => Some(v),
            _ => None,
        });
        let ok = prefix.strip_prefix(PREFIX).is_some_and(|ws| ws.trim_matches([' ', '\t', '\n', '\r']).is_empty())
            && trailer.is_empty()
            && message.len() <= MAX_LEN
            && last_type == Some(&Json::String("authentication".into()))
            && matches!(last_id, Some(Json::String(id) | Json::Number(id)) if *id == request_id)
            && matches!(last_data, Some(Json::Object(_)));
        let verdict = if ok { last_data.cloned() } else { None };
        (message, request_id, verdict)
    })
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn result_never_panics_on_arbitrary_input(message in any::<String>(), id in any::<String>()) {
        prop_assert_eq!(message::authentication_result(&message, &id), expected_result(&message, &id));
        let prefixed = [PREFIX, &message].concat();
        prop_assert_eq!(message::authentication_result(&prefixed, &id), expected_result(&prefixed, &id));
    }

    #[test]
    fn messages_around_the_valid_shape_are_judged_right((message, id, verdict) in envelope()) {
        let got = message::authentication_result(&message, &id);
        prop_assert_eq!(&got, &verdict, "{:?}", message);
        prop_assert_eq!(&got, &expected_result(&message, &id));
        // Another request's id never gets this result.
        let other = [id.as_str(), "0"].concat();
        prop_assert_eq!(message::authentication_result(&message, &other), None);
    }

    /// A valid message padded (with JSON whitespace) to within a few bytes of `MAX_LEN`: accepted
    /// exactly when it fits.
    #[test]
    fn the_length_limit_is_exact(
        id in request_id(),
        data in prop::collection::vec((key(), json()), 0..4).prop_map(Json::Object),
        offset in -3i64..=3,
        style in style(),
    ) {
        let body = Json::Object(vec![
            ("type".into(), Json::String("authentication".into())),
            ("id".into(), Json::String(id.clone())),
            ("data".into(), data.clone()),
        ]);
        let mut message = [PREFIX, &serialize(&body, style)].concat();
        let target = (MAX_LEN as i64 + offset) as usize;
        message.push_str(&"\n".repeat(target.saturating_sub(message.len())));
        let expected = (message.len() <= MAX_LEN).then_some(data);
        prop_assert_eq!(message::authentication_result(&message, &id), expected);
    }

    /// One edited character anywhere in a message: the verdict still follows the spec.
    #[test]
    fn edited_messages_are_judged_right(
        (message, id, _) in envelope(),
        at in any::<prop::sample::Index>(),
        c in prop::sample::select(vec!['"', '\\', '{', '}', ':', ',', ' ', 'a', '1', 'é', '\u{0}']),
        insert in any::<bool>(),
    ) {
        let mut chars: Vec<char> = message.chars().collect();
        if !chars.is_empty() {
            let i = at.index(chars.len());
            if insert { chars.insert(i, c) } else { chars[i] = c }
        }
        let edited: String = chars.into_iter().collect();
        prop_assert_eq!(message::authentication_result(&edited, &id), expected_result(&edited, &id));
    }

    #[test]
    fn results_with_a_proto_key_are_dropped(
        (message, id, verdict) in envelope(), mut seed in any::<u64>(), style in style(),
    ) {
        if let Some(mut data) = verdict {
            poison(&mut data, &mut seed);
            let body = Json::Object(vec![
                ("type".into(), Json::String("authentication".into())),
                ("id".into(), Json::String(id.clone())),
                ("data".into(), data),
            ]);
            let poisoned = [PREFIX, &serialize(&body, style)].concat();
            prop_assert_eq!(message::authentication_result(&poisoned, &id), None);
        } else {
            prop_assert_eq!(message::authentication_result(&message, &id), None);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Options → pop-up URL

fn unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&byte)
}

/// Undoes percent-encoding; `None` on a malformed escape, a raw byte that should have been
/// escaped, or bytes that are not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = |b: u8| match b {
                b'0'..=b'9' => Some(b - b'0'),
                b'A'..=b'F' => Some(b - b'A' + 10),
                _ => None, // encodeURIComponent writes uppercase only
            };
            out.push(hex(*bytes.get(i + 1)?)? << 4 | hex(*bytes.get(i + 2)?)?);
            i += 3;
        } else if unreserved(bytes[i]) {
            out.push(bytes[i]);
            i += 1;
        } else {
            return None;
        }
    }
    String::from_utf8(out).ok()
}

/// encodeURIComponent by its definition, one UTF-8 byte at a time.
fn encode_reference(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        let mut buf = [0u8; 4];
        for &byte in c.encode_utf8(&mut buf).as_bytes() {
            if unreserved(byte) {
                out.push(byte as char);
            } else {
                out.push('%');
                out.push_str(&format!("{byte:02X}"));
            }
        }
    }
    out
}

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![text(), any::<String>(), "[\u{0}-\u{7f}]{0,20}"]
}

fn option_key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "client_id", "app_id", "scope", "raw", "extra_data", "redirect_uri", "response_type",
            "state", "request_id", "origin", "return_to", "raw[state]", "State", "",
        ])
        .prop_map(str::to_owned),
        2 => any_text(),
    ]
}

/// One option value, as the browser shell reads it off the JS object (`null` and `undefined`
/// are left out there).
#[derive(Clone, Debug)]
enum OptionValue {
    /// A primitive, as `String(value)`.
    Text(String),
    /// An array: each item as `String(item)`, and the whole as JSON.
    Array { items: Vec<String>, json: String },
    /// A plain object: its own enumerable properties as text, and the whole as JSON.
    Object { entries: Vec<(String, String)>, json: String },
}

/// The entries as the shell hands them to `Options::parse`.
fn entries_json(entries: &[(String, OptionValue)]) -> String {
    let text = |t: &str| Json::String(t.to_owned());
    let kind = |k: &str| Json::Number(k.to_owned());
    let texts = |items: &[String]| Json::Array(items.iter().map(|t| text(t)).collect());
    let entry = |(key, value): &(String, OptionValue)| {
        Json::Array(match value {
            OptionValue::Text(t) => vec![text(key), kind("0"), text(t)],
            OptionValue::Array { items, json } => vec![text(key), kind("1"), texts(items), text(json)],
            OptionValue::Object { entries, json } => {
                let pairs = entries.iter().map(|(k, v)| Json::Array(vec![text(k), text(v)])).collect();
                vec![text(key), kind("2"), Json::Array(pairs), text(json)]
            }
        })
    };
    Json::Array(entries.iter().map(entry).collect()).to_text()
}

fn option_value() -> impl Strategy<Value = OptionValue> {
    prop_oneof![
        3 => any_text().prop_map(OptionValue::Text),
        1 => (prop::collection::vec(any_text(), 0..4), any_text())
            .prop_map(|(items, json)| OptionValue::Array { items, json }),
        1 => (prop::collection::vec((option_key(), any_text()), 0..4), any_text())
            .prop_map(|(entries, json)| OptionValue::Object { entries, json }),
    ]
}

fn launch_text() -> impl Strategy<Value = String> {
    prop_oneof!["[A-Za-z0-9]{1,32}", any_text()]
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn encoding_is_exactly_encode_uri_component(text in any_text()) {
        let mut encoded = String::from("prefix:");
        popup::encode_component(&text, &mut encoded);
        let encoded = &encoded["prefix:".len()..];
        prop_assert_eq!(encoded, encode_reference(&text));
        prop_assert_eq!(percent_decode(encoded), Some(text.clone()));
        // Unreserved bytes stay as they are; every other byte becomes exactly three characters.
        let expected_len: usize = text.bytes().map(|b| if unreserved(b) { 1 } else { 3 }).sum();
        prop_assert_eq!(encoded.len(), expected_len);
    }

    #[test]
    fn url_carries_every_parameter_exactly_once_with_the_librarys_reserved_values(
        entries in prop::collection::vec((option_key(), option_value()), 0..8),
        base in prop_oneof![Just("https://api.test".to_owned()), Just("https://api.test///".to_owned()), any_text()],
        state in launch_text(),
        request_id in launch_text(),
        origin in launch_text(),
        return_to in launch_text(),
    ) {
        let Ok(options) = Options::parse(&entries_json(&entries)) else {
            // Only a missing client_id is refused.
            let has_id = entries.iter().any(|(k, v)| {
                (k == "client_id" || k == "app_id") && matches!(v, OptionValue::Text(t) if !t.is_empty())
            });
            prop_assert!(!has_id);
            return Ok(());
        };
        prop_assert!(!options.client_id.is_empty());
        prop_assert!(options.params.iter().all(|(k, _)| !RESERVED.contains(&k.as_str())));

        let launch = Launch { state: &state, request_id: &request_id, origin: &origin, return_to: &return_to };
        let url = popup::url(&base, &options, &launch);
        let head = [popup::trim_base_url(&base), "/v1/oauth?"].concat();
        prop_assert!(url.starts_with(&head));
        let query = &url[head.len()..];

        let mut decoded = Vec::new();
        for pair in query.split('&') {
            let (key, value) = pair.split_once('=').expect("key=value");
            prop_assert!(!value.contains('='));
            decoded.push((percent_decode(key).expect("encoded key"), percent_decode(value).expect("encoded value")));
        }
        let mut expected = vec![
            ("redirect_uri".to_owned(), "urn:ietf:wg:oauth:2.0:oob".to_owned()),
            ("response_type".to_owned(), "token".to_owned()),
            ("state".to_owned(), state.clone()),
        ];
        expected.extend(options.params.iter().cloned());
        expected.push(("request_id".to_owned(), request_id.clone()));
        expected.push(("origin".to_owned(), origin.clone()));
        expected.push(("return_to".to_owned(), return_to.clone()));
        prop_assert_eq!(&decoded, &expected);
        for name in RESERVED {
            prop_assert_eq!(decoded.iter().filter(|(k, _)| k == name).count(), 1, "{}", name);
        }
        // The client_id chosen is among those sent.
        let ids: Vec<_> = decoded.iter().filter(|(k, _)| k == "client_id").map(|(_, v)| v).collect();
        prop_assert!(ids.contains(&&options.client_id));
    }

    /// Every text option that is not reserved (nor app_id / client_id, which have their own
    /// rules) reaches the query with its value; `raw` members become `raw[k]`, scope arrays
    /// are joined with spaces.
    #[test]
    fn user_options_reach_the_query(
        entries in prop::collection::vec((option_key(), option_value()), 0..8),
        client_id in "[a-z0-9]{1,8}",
    ) {
        let mut all = vec![("client_id".to_owned(), OptionValue::Text(client_id))];
        all.extend(entries.iter().cloned());
        let options = Options::parse(&entries_json(&all)).expect("a client_id is given");
        let has = |k: &str, v: &str| options.params.iter().any(|(pk, pv)| pk == k && pv == v);
        for (key, value) in &entries {
            if RESERVED.contains(&key.as_str()) || key == "client_id" || key == "app_id" {
                continue;
            }
            match value {
                OptionValue::Text(t) => prop_assert!(has(key, t)),
                OptionValue::Array { items, .. } if key == "scope" => prop_assert!(has(key, &items.join(" "))),
                OptionValue::Object { entries, .. } if key == "raw" => {
                    for (k, v) in entries {
                        prop_assert!(has(&["raw[", k, "]"].concat(), v));
                    }
                }
                OptionValue::Array { json, .. } | OptionValue::Object { json, .. } => prop_assert!(has(key, json)),
            }
        }
    }
}
