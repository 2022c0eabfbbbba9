//! Property tests of the pure core: the message checks, one flow under any order of events,
//! and the pop-up URL.
//!
//! Case counts are bounded so the file runs in seconds; set `PROPTEST_CASES` for a deeper run
//! (it scales every block). Failures are not persisted to files: a failure found here becomes
//! a unit test beside the code it concerns.
#![cfg(not(target_arch = "wasm32"))] // proptest is a native dev-dependency: the core is tested natively

use kloudless_authenticator::error::Error;
use kloudless_authenticator::flow::{Flow, Millis, Outcome, RANDOM_BYTES, Step};
use kloudless_authenticator::message::{self, Data, Dropped, Fields, Sender};
use kloudless_authenticator::options::{OptionValue, Options};
use kloudless_authenticator::popup::{self, Launch};
use kloudless_authenticator::verify::{AccountReply, TokenReply};
use kloudless_protocol::{MAX_MESSAGE_LEN, MESSAGE_PREFIX, RESERVED_PARAMS as RESERVED, ReturnTo};
use proptest::prelude::*;
use proptest::test_runner::Config;

/// `cases` for this block, or `cases × PROPTEST_CASES / 256` when that variable is set.
fn config(cases: u32) -> Config {
    let scale = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse::<u32>().ok());
    Config {
        cases: scale.map_or(cases, |s| (cases * s / 256).max(1)),
        failure_persistence: None,
        ..Config::default()
    }
}

/// Text of any shape: ASCII, JSON's special characters, controls, and non-ASCII up to 4 bytes.
fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof!["[a-zA-Z0-9 ]", "[\"\\\\/\u{8}\u{c}\n\r\t]", "[\u{0}-\u{1f}]", "[\u{80}-\u{10ffff}]"],
        0..12,
    )
    .prop_map(|parts| parts.concat())
}

// ---------------------------------------------------------------------------------------------
// Messages: the sender, the length and prefix, the result's fields.

const API: &str = "https://api.test";
const STATE: &str = "000102030405060708090a0b0c0d0e0f";
const REQUEST: &str = "101112131415161718191a1b1c1d1e1f";

/// The time a test flow starts at.
const T0: Millis = 1_000;

fn flow() -> Flow {
    timed_flow(0)
}

/// A flow started at [`T0`] with this `flowTimeout` (0: none).
fn timed_flow(flow_timeout_ms: u32) -> Flow {
    let random: [u8; RANDOM_BYTES] = std::array::from_fn(|i| i as u8);
    let options = Options::new([("client_id".to_owned(), OptionValue::Text("app".into()))]).unwrap();
    Flow::new(API, API, &options, &random, T0, flow_timeout_ms)
}

/// A field: this flow's value, another text, or missing.
fn field(own: &'static str) -> impl Strategy<Value = Option<String>> {
    prop_oneof![2 => Just(Some(own.to_owned())), 1 => text().prop_map(Some), 1 => Just(None)]
}

/// An `error`: a setup error's code, another code, another text, or missing.
fn error() -> impl Strategy<Value = Option<String>> {
    let setup = prop::sample::select(kloudless_protocol::codes::SETUP_ERRORS.to_vec())
        .prop_map(|c| Some(c.to_owned()));
    prop_oneof![2 => setup, 1 => Just(Some("access_denied".to_owned())), 1 => text().prop_map(Some), 1 => Just(None)]
}

fn fields() -> impl Strategy<Value = Fields> {
    let data = (field(STATE), field("tok"), error()).prop_map(|(state, access_token, error)| Data {
        state,
        access_token,
        error,
    });
    (field("authentication"), field(REQUEST), prop::option::weighted(0.8, data))
        .prop_map(|(kind, id, data)| Fields { kind, id, data })
}

fn sender() -> impl Strategy<Value = (String, bool, bool)> {
    (
        prop_oneof![Just(API.to_owned()), text(), Just("https://api.test.evil".to_owned())],
        any::<bool>(),
        any::<bool>(),
    )
}

proptest! {
    #![proptest_config(config(1024))]

    /// A posted message is heard only from the API's origin and the flow's own windows; a
    /// handed-over one always is.
    #[test]
    fn the_sender_rule_is_exact((origin, from_flow_window, handed_over) in sender()) {
        let sender = if handed_over { Sender::HandedOver } else { Sender::Posted { origin: &origin, from_flow_window } };
        let heard = flow().accepts(sender).is_ok();
        prop_assert_eq!(heard, handed_over || (origin == API && from_flow_window));
    }

    /// Only the result for this request (its type, id and a data object) is taken: then a setup
    /// error (a known code, no state, no token) ends the flow as refused, a wrong or missing
    /// state fails it with invalid_state, a token starts the verification and no token passes
    /// the server's error through. Nothing else changes the flow.
    #[test]
    fn only_this_flows_result_is_taken(fields in fields()) {
        let mut f = flow();
        let step = f.on_message(&fields);
        let ours = fields.kind.as_deref() == Some("authentication") && fields.id.as_deref() == Some(REQUEST);
        match (&fields.data, ours) {
            (Some(data), true) => {
                let step = step.expect("taken");
                let setup = data.state.is_none() && data.access_token.is_none()
                    && data.error.as_deref().is_some_and(|e| kloudless_protocol::codes::SETUP_ERRORS.contains(&e));
                if setup {
                    prop_assert_eq!(step, Step::Finish(Outcome::Refused));
                } else if data.state.as_deref() != Some(STATE) {
                    prop_assert_eq!(step, Step::Finish(Outcome::Failed(Error::InvalidState)));
                } else if let Some(token) = &data.access_token {
                    let verifies = matches!(&step, Step::Verify { token: t, .. } if t == token);
                    prop_assert!(verifies, "{:?}", step);
                } else {
                    prop_assert_eq!(step, Step::Finish(Outcome::PassedThrough));
                }
            }
            (None, _) | (_, false) => {
                prop_assert!(step.is_err());
                prop_assert!(f.awaits_result(), "a dropped message leaves the flow waiting");
            }
        }
    }

    /// The length limit is exact, and only the prefix makes a message the protocol's.
    #[test]
    fn the_length_limit_and_prefix_are_exact(extra in 0usize..3, body in text()) {
        prop_assert_eq!(message::check_length(MAX_MESSAGE_LEN + extra).is_ok(), extra == 0);
        let padded = [MESSAGE_PREFIX, &" ".repeat(MAX_MESSAGE_LEN - MESSAGE_PREFIX.len() + extra)].concat();
        prop_assert_eq!(message::payload(&padded).is_ok(), extra == 0);
        let with_prefix = [MESSAGE_PREFIX, &body].concat();
        prop_assert_eq!(message::payload(&with_prefix), Ok(body.as_str()));
        prop_assert_eq!(message::payload(&body).err(), (!body.starts_with(MESSAGE_PREFIX)).then_some(Dropped::NotProtocol));
    }
}

// ---------------------------------------------------------------------------------------------
// One flow, under any order of events and of its deadlines (the pop-up polls, the progress
// checks and the flow timeout, its timer firing early, on time or late): it finishes exactly
// once, a failure never follows a success, and the flow timeout ends it at its deadline.

#[derive(Clone, Debug)]
enum Event {
    Message(Fields),
    Token(u16, Option<&'static str>),
    Account(u16, bool),
    Failed,
    Closed,
    Progress(Option<u16>),
    Code,
    Redeemed(Option<u16>),
    Abort,
    /// The clock moves on this many ms, and the shell's timer fires then (maybe early).
    Wait(Millis),
    /// The shell's timer fires when the flow asked, this many ms late.
    Wake(Millis),
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        3 => fields().prop_map(Event::Message),
        2 => (prop::sample::select(vec![200u16, 401, 500]), prop::sample::select(vec![Some("app"), Some("other"), None]))
            .prop_map(|(status, client_id)| Event::Token(status, client_id)),
        2 => (prop::sample::select(vec![200u16, 404]), any::<bool>()).prop_map(|(s, o)| Event::Account(s, o)),
        1 => Just(Event::Failed),
        1 => Just(Event::Closed),
        2 => prop::option::of(prop::sample::select(vec![202u16, 204, 404, 410, 500])).prop_map(Event::Progress),
        1 => Just(Event::Code),
        1 => prop::option::of(prop::sample::select(vec![200u16, 400])).prop_map(Event::Redeemed),
        1 => Just(Event::Abort),
        2 => (0..1_500u64).prop_map(Event::Wait),
        3 => prop::sample::select(vec![0u64, 0, 1, 40, 700]).prop_map(Event::Wake),
    ]
}

proptest! {
    #![proptest_config(config(1024))]

    #[test]
    fn a_flow_finishes_exactly_once(
        events in prop::collection::vec(event(), 0..24),
        flow_timeout in prop_oneof![Just(0u32), 1..4_000u32],
    ) {
        let mut f = timed_flow(flow_timeout);
        let deadline = (flow_timeout > 0).then(|| T0 + Millis::from(flow_timeout));
        let mut now = T0;
        let mut finishes = Vec::new();
        for event in events {
            let step = match event {
                Event::Message(fields) => f.on_message(&fields).unwrap_or(Step::Ignore),
                Event::Token(status, client_id) => f.on_token(Ok(TokenReply { status, client_id })),
                Event::Account(status, object) => f.on_account(Ok(AccountReply { status, object })),
                Event::Failed => f.on_token(Err(Error::NetworkError)),
                Event::Closed => f.on_popup_closed(),
                Event::Progress(status) => f.on_progress(status, now),
                Event::Code => {
                    // A handed-over code is redeemed while the result is awaited, and only then.
                    let step = f.on_handed_over(&"0f".repeat(32));
                    prop_assert_eq!(matches!(step, Step::Redeem(_)), f.awaits_result());
                    step
                }
                Event::Redeemed(status) => {
                    prop_assert_eq!(f.takes_redeemed(status), f.awaits_result() && status == Some(200));
                    Step::Ignore
                }
                Event::Abort => f.abort(Error::Cancelled),
                Event::Wait(ms) | Event::Wake(ms) => {
                    let due = f.poll_timeout();
                    now = match (event, due) {
                        (Event::Wake(_), Some(due)) => now.max(due) + ms,
                        _ => now + ms,
                    };
                    let awaiting = f.awaits_result();
                    let step = f.handle_timeout(now);
                    if due.is_none_or(|due| now < due) {
                        prop_assert_eq!(&step, &Step::Ignore, "nothing is due before the time the flow asked");
                    }
                    let timed_out = deadline.is_some_and(|d| d <= now) && finishes.is_empty();
                    prop_assert_eq!(step == Step::Finish(Outcome::Failed(Error::FlowTimeout)), timed_out);
                    match &step {
                        Step::CheckPopup | Step::CheckProgress { .. } => prop_assert!(awaiting),
                        Step::Ignore | Step::Finish(_) => {}
                        other => prop_assert!(false, "{:?} from a timeout", other),
                    }
                    step
                }
            };
            if let Step::Finish(outcome) = step {
                finishes.push(outcome);
            }
        }
        prop_assert!(finishes.len() <= 1, "{:?}", finishes);
        // Until it is done, a flow with a timeout is always woken by its deadline at the latest.
        if let (Some(deadline), true) = (deadline, finishes.is_empty()) {
            prop_assert!(f.poll_timeout().is_some_and(|at| at <= deadline));
        }
        if let [Outcome::Connected] = finishes.as_slice() {
            prop_assert!(!f.awaits_result());
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
            "state", "request_id", "origin", "return_to", "return_url", "raw[state]", "State", "",
        ])
        .prop_map(str::to_owned),
        2 => any_text(),
    ]
}

fn option_value() -> impl Strategy<Value = OptionValue> {
    prop_oneof![
        3 => any_text().prop_map(OptionValue::Text),
        1 => (prop::collection::vec(any_text(), 0..4), any_text())
            .prop_map(|(items, json)| OptionValue::List { items, json }),
        1 => (prop::collection::vec((option_key(), any_text()), 0..4), any_text())
            .prop_map(|(members, json)| OptionValue::Map { members, json }),
    ]
}

/// Whether `entries` hold a `return_url` that is not a non-empty text (which the options refuse).
fn bad_return_url(entries: &[(String, OptionValue)]) -> bool {
    entries.iter().any(|(k, v)| k == "return_url" && !matches!(v, OptionValue::Text(t) if !t.is_empty()))
}

fn launch_text() -> impl Strategy<Value = String> {
    prop_oneof!["[A-Za-z0-9]{1,32}", any_text()]
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn encoding_is_exactly_encode_uri_component(text in any_text()) {
        let encoded = &popup::encode_component(&text);
        prop_assert_eq!(encoded, &encode_reference(&text));
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
        let Ok(options) = Options::new(entries.clone()) else {
            // Only a missing client_id, or a return_url that is not a non-empty text, is refused.
            let has_id = entries.iter().any(|(k, v)| {
                (k == "client_id" || k == "app_id") && matches!(v, OptionValue::Text(t) if !t.is_empty())
            });
            prop_assert!(!has_id || bad_return_url(&entries));
            return Ok(());
        };
        prop_assert!(!options.client_id.is_empty());
        prop_assert!(options.params.iter().all(|(k, _)| !RESERVED.contains(&k.as_str())));

        let page = ReturnTo::new(return_to.clone());
        let launch = Launch { state: &state, request_id: &request_id, origin: &origin, return_to: &page };
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
        let Ok(options) = Options::new(all) else {
            prop_assert!(bad_return_url(&entries), "a client_id is given");
            return Ok(());
        };
        prop_assert!(options.params.iter().all(|(k, _)| k != "return_url"), "the library's own option");
        let has = |k: &str, v: &str| options.params.iter().any(|(pk, pv)| pk == k && pv == v);
        for (key, value) in &entries {
            if RESERVED.contains(&key.as_str()) || key == "client_id" || key == "app_id" || key == "return_url" {
                continue;
            }
            match value {
                OptionValue::Text(t) => prop_assert!(has(key, t)),
                OptionValue::List { items, .. } if key == "scope" => prop_assert!(has(key, &items.join(" "))),
                OptionValue::Map { members, .. } if key == "raw" => {
                    for (k, v) in members {
                        prop_assert!(has(&["raw[", k, "]"].concat(), v));
                    }
                }
                OptionValue::List { json, .. } | OptionValue::Map { json, .. } => prop_assert!(has(key, json)),
            }
        }
    }
}
