//! Which messages a flow takes, and what a result message says.
//!
//! The shell asks in this order, so that nothing of a message is read before it may be: who
//! sent it ([`check_sender`]), how long it is ([`check_length`]), whether it is the protocol's
//! ([`payload`]); then it parses the JSON with the browser's `JSON.parse` and hands the
//! [`Fields`] it read to the flow ([`result_for`]).

use kloudless_protocol::codes::SETUP_ERRORS;
use kloudless_protocol::{AUTHENTICATION, MAX_MESSAGE_LEN, MESSAGE_PREFIX};

/// Where a message came from, as the shell saw it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Sender<'a> {
    /// Posted to the window: `event.origin`, and whether `event.source` is the pop-up or the
    /// relay window of this very flow.
    Posted {
        /// `event.origin`.
        origin: &'a str,
        /// Whether `event.source` is this flow's pop-up or relay.
        from_flow_window: bool,
    },
    /// Handed over on this page's own origin by the return page a pop-up came back to (a
    /// `BroadcastChannel` or a `storage` event: nothing else can send on them): a code, which
    /// the flow redeems at the server (see [`crate::progress`]).
    HandedOver,
}

/// Why a message is not taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dropped {
    /// Posted from another origin than the API server's.
    Origin,
    /// Posted by another window than this flow's pop-up or relay.
    Source,
    /// Its data is not a string.
    NotText,
    /// Longer than [`MAX_MESSAGE_LEN`]: not read at all.
    TooLong,
    /// Without the protocol's prefix.
    NotProtocol,
    /// Not JSON.
    NotJson,
    /// Not a result message (`type`, `id` or `data` missing or of another kind).
    Shape,
    /// Another flow's result.
    OtherRequest,
}

impl Dropped {
    /// Why, for the debug log.
    pub fn reason(self) -> &'static str {
        match self {
            Dropped::Origin => "origin mismatch",
            Dropped::Source => "not from this flow's pop-up or relay",
            Dropped::NotText => "not a string",
            Dropped::TooLong => "too long",
            Dropped::NotProtocol => "no kloudless: prefix",
            Dropped::NotJson => "not JSON",
            Dropped::Shape => "not a result message",
            Dropped::OtherRequest => "another flow's result",
        }
    }
}

/// A posted message is taken only from `api_origin` and from the flow's own windows; one
/// handed over on the page's origin is.
pub fn check_sender(sender: Sender, api_origin: &str) -> Result<(), Dropped> {
    match sender {
        Sender::Posted { origin, .. } if origin != api_origin => Err(Dropped::Origin),
        Sender::Posted { from_flow_window: false, .. } => Err(Dropped::Source),
        _ => Ok(()),
    }
}

/// A message of `len` UTF-16 code units (a JS string's `length`) is read only if it can be at
/// most [`MAX_MESSAGE_LEN`] bytes long: a longer one is never copied into the module's memory,
/// which never shrinks.
pub fn check_length(len: usize) -> Result<(), Dropped> {
    if len <= MAX_MESSAGE_LEN { Ok(()) } else { Err(Dropped::TooLong) }
}

/// The JSON text of a protocol message: `text` without its `kloudless:` prefix.
pub fn payload(text: &str) -> Result<&str, Dropped> {
    if text.len() > MAX_MESSAGE_LEN {
        return Err(Dropped::TooLong);
    }
    text.strip_prefix(MESSAGE_PREFIX).ok_or(Dropped::NotProtocol)
}

/// What a parsed message says, as the shell reads it from the value `JSON.parse` gave: each
/// member a string (or a number, as its text: the original sent numeric ids), else `None`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Fields {
    /// `type`.
    pub kind: Option<String>,
    /// `id`.
    pub id: Option<String>,
    /// `data`, when it is an object.
    pub data: Option<Data>,
}

/// What a result's `data` object says.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Data {
    /// `state`.
    pub state: Option<String>,
    /// `access_token`, when a non-empty string.
    pub access_token: Option<String>,
    /// `error`.
    pub error: Option<String>,
}

/// Whether a result's `data` is a setup error: no `state`, no token, and an `error` among
/// [`SETUP_ERRORS`], which the pop-up's error page posts (to any origin: it carries nothing
/// secret) when it refused the request before a flow started.
pub fn is_setup_error(data: &Data) -> bool {
    data.state.is_none()
        && data.access_token.is_none()
        && data.error.as_deref().is_some_and(|error| SETUP_ERRORS.contains(&error))
}

/// The result's data, when the message is the result for `request_id`.
pub fn result_for<'f>(fields: &'f Fields, request_id: &str) -> Result<&'f Data, Dropped> {
    let (Some(AUTHENTICATION), Some(id), Some(data)) = (fields.kind.as_deref(), &fields.id, &fields.data)
    else {
        return Err(Dropped::Shape);
    };
    if id != request_id {
        return Err(Dropped::OtherRequest);
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(kind: &str, id: &str) -> Fields {
        Fields { kind: Some(kind.into()), id: Some(id.into()), data: Some(Data::default()) }
    }

    #[test]
    fn posted_messages_come_from_the_api_origin_and_the_flows_windows_only() {
        let api = "https://api.test";
        assert_eq!(check_sender(Sender::Posted { origin: api, from_flow_window: true }, api), Ok(()));
        let other = Sender::Posted { origin: "https://evil.test", from_flow_window: true };
        assert_eq!(check_sender(other, api), Err(Dropped::Origin));
        let stranger = Sender::Posted { origin: api, from_flow_window: false };
        assert_eq!(check_sender(stranger, api), Err(Dropped::Source));
        assert_eq!(check_sender(Sender::HandedOver, api), Ok(()));
    }

    #[test]
    fn long_or_foreign_messages_are_not_read() {
        assert_eq!(check_length(MAX_MESSAGE_LEN), Ok(()));
        assert_eq!(check_length(MAX_MESSAGE_LEN + 1), Err(Dropped::TooLong));
        assert_eq!(payload("kloudless:{}"), Ok("{}"));
        assert_eq!(payload("kloudless{}"), Err(Dropped::NotProtocol));
        assert_eq!(payload(&["kloudless:", &" ".repeat(MAX_MESSAGE_LEN)].concat()), Err(Dropped::TooLong));
    }

    #[test]
    fn a_setup_error_is_a_known_code_without_state_or_token() {
        let refused = |error: &str| Data { error: Some(error.into()), ..Data::default() };
        for code in SETUP_ERRORS {
            assert!(is_setup_error(&refused(code)), "{code}");
        }
        for code in ["access_denied", "server_error", "popup_closed", ""] {
            assert!(!is_setup_error(&refused(code)), "{code}");
        }
        assert!(!is_setup_error(&Data::default()), "no error");
        let with_state = Data { state: Some("s".into()), ..refused("untrusted_origin") };
        assert!(!is_setup_error(&with_state), "a result of a flow that started");
        let with_token = Data { access_token: Some("t".into()), ..refused("untrusted_origin") };
        assert!(!is_setup_error(&with_token));
    }

    #[test]
    fn takes_the_result_for_this_request_only() {
        assert!(result_for(&result("authentication", "r1"), "r1").is_ok());
        assert_eq!(result_for(&result("authentication", "r2"), "r1"), Err(Dropped::OtherRequest));
        assert_eq!(result_for(&result("close", "r1"), "r1"), Err(Dropped::Shape));
        let no_data = Fields { data: None, ..result("authentication", "r1") };
        assert_eq!(result_for(&no_data, "r1"), Err(Dropped::Shape));
        let no_id = Fields { id: None, ..result("authentication", "r1") };
        assert_eq!(result_for(&no_id, "r1"), Err(Dropped::Shape));
    }
}
