//! One launch of the pop-up, as a sans-IO state machine: the browser shell feeds it events
//! (a message, a server reply, the pop-up closing) and carries out the [`Step`] it returns.
//!
//! A flow finishes exactly once: after [`Step::Finish`] every event is ignored.

use crate::error::Error;
use crate::json::Json;
use crate::message;
use crate::options::Options;
use crate::popup::{self, Launch};
use crate::verify::{self, Reply};

/// How often the shell checks whether the user closed the pop-up, in milliseconds.
pub const POPUP_POLL_MS: i32 = 250;

/// How long after the pop-up reads as closed a result may still arrive, in milliseconds.
pub const POPUP_CLOSED_GRACE_MS: i32 = 1500;

/// Random bytes a flow needs: 16 for `state`, 16 for `request_id`.
pub const RANDOM_BYTES: usize = 32;

/// What the shell must do next.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Nothing: the event was not for this flow, or the flow is already done.
    Ignore,
    /// GET `url` with `Authorization: Bearer {token}` and feed the reply to [`Flow::on_reply`].
    /// The pop-up has delivered: close it.
    Fetch {
        /// The endpoint.
        url: String,
        /// The bearer token.
        token: String,
    },
    /// Release everything and call the callback with this result. Happens once per flow.
    Finish(Json),
}

#[derive(Clone, Debug, PartialEq)]
enum Phase {
    AwaitingResult,
    VerifyingToken { data: Json, token: String },
    FetchingAccount { data: Json },
    Done,
}

/// One launch: its `state`, `request_id`, and how far it has got.
#[derive(Clone, Debug, PartialEq)]
pub struct Flow {
    base_url: String,
    client_id: String,
    state: String,
    request_id: String,
    phase: Phase,
}

impl Flow {
    /// Starts a flow for `options` against `base_url`, its `state` and `request_id` made from
    /// `random` (which must come from a CSPRNG: 128 bits each).
    pub fn new(base_url: &str, options: &Options, random: &[u8; RANDOM_BYTES]) -> Flow {
        let (state, request_id) = random.split_at(RANDOM_BYTES / 2);
        Flow {
            base_url: popup::trim_base_url(base_url).to_owned(),
            client_id: options.client_id.clone(),
            state: hex(state),
            request_id: hex(request_id),
            phase: Phase::AwaitingResult,
        }
    }

    /// The pop-up URL for this launch, the page being at `origin`.
    pub fn popup_url(&self, options: &Options, origin: &str) -> String {
        let launch = Launch { state: &self.state, request_id: &self.request_id, origin };
        popup::url(&self.base_url, options, &launch)
    }

    /// This launch's `state`.
    pub fn state(&self) -> &str {
        &self.state
    }

    /// Whether the pop-up's result is still awaited (the pop-up matters only then).
    pub fn awaits_result(&self) -> bool {
        self.phase == Phase::AwaitingResult
    }

    /// A message's data, from the expected origin and from this flow's pop-up or relay.
    pub fn on_message(&mut self, data: &str) -> Step {
        if !self.awaits_result() {
            return Step::Ignore;
        }
        let Some(result) = message::authentication_result(data, &self.request_id) else {
            return Step::Ignore;
        };
        if result.get("state").and_then(Json::scalar_text) != Some(self.state.as_str()) {
            return self.fail(Error::InvalidState);
        }
        match result.get("access_token").and_then(Json::as_str).filter(|t| !t.is_empty()) {
            Some(token) => {
                let token = token.to_owned();
                let url = verify::token_url(&self.base_url);
                self.phase = Phase::VerifyingToken { data: result, token: token.clone() };
                Step::Fetch { url, token }
            }
            // An error from the server (e.g. access_denied) passes through unchanged.
            None => {
                self.phase = Phase::Done;
                Step::Finish(result)
            }
        }
    }

    /// The reply to the last [`Step::Fetch`]; `None` when the request itself failed.
    pub fn on_reply(&mut self, reply: Option<Reply>) -> Step {
        match core::mem::replace(&mut self.phase, Phase::Done) {
            Phase::VerifyingToken { data, token } => {
                match reply.ok_or(Error::NetworkError).and_then(|r| verify::token_account(r, &self.client_id))
                {
                    Ok(account) => {
                        self.phase = Phase::FetchingAccount { data };
                        Step::Fetch { url: verify::account_url(&self.base_url, &account), token }
                    }
                    Err(error) => self.fail(error),
                }
            }
            Phase::FetchingAccount { mut data } => {
                match reply.ok_or(Error::NetworkError).and_then(verify::account) {
                    Ok(account) => {
                        data.set("account", account);
                        Step::Finish(data)
                    }
                    Err(error) => self.fail(error),
                }
            }
            other => {
                self.phase = other;
                Step::Ignore
            }
        }
    }

    /// The pop-up could not be opened.
    pub fn on_popup_blocked(&mut self) -> Step {
        self.fail_while_awaiting(Error::PopupBlocked)
    }

    /// The pop-up read as closed and the grace period passed with no result.
    pub fn on_popup_closed(&mut self) -> Step {
        self.fail_while_awaiting(Error::PopupClosed)
    }

    fn fail_while_awaiting(&mut self, error: Error) -> Step {
        if self.awaits_result() { self.fail(error) } else { Step::Ignore }
    }

    fn fail(&mut self, error: Error) -> Step {
        self.phase = Phase::Done;
        Step::Finish(error_result(error, &self.state))
    }
}

/// The result the callback gets for a failure: `{error, error_description, state}`.
pub fn error_result(error: Error, state: &str) -> Json {
    let text = |s: &str| Json::String(s.to_owned());
    Json::Object(vec![
        ("error".to_owned(), text(error.code())),
        ("error_description".to_owned(), text(error.description())),
        ("state".to_owned(), text(state)),
    ])
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|b| [DIGITS[usize::from(b >> 4)] as char, DIGITS[usize::from(b & 15)] as char])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::OptionValue;

    const STATE: &str = "000102030405060708090a0b0c0d0e0f";
    const REQUEST: &str = "101112131415161718191a1b1c1d1e1f";

    fn options() -> Options {
        Options::new(vec![("client_id".into(), OptionValue::Text("app".into()))]).unwrap()
    }

    fn flow() -> Flow {
        let random: [u8; RANDOM_BYTES] = core::array::from_fn(|i| i as u8);
        Flow::new("http://api.test/", &options(), &random)
    }

    fn result_message(data: &str) -> String {
        ["kloudless:{\"type\":\"authentication\",\"id\":\"", REQUEST, "\",\"data\":", data, "}"].concat()
    }

    fn success_message() -> String {
        result_message(
            &[r#"{"access_token":"tok","token_type":"Bearer","scope":"box","state":""#, STATE, "\"}"]
                .concat(),
        )
    }

    fn ok(body: &str) -> Option<Reply<'_>> {
        Some(Reply { status: 200, body })
    }

    fn error_code(step: &Step) -> Option<&str> {
        match step {
            Step::Finish(result) => result.get("error").and_then(Json::as_str),
            _ => None,
        }
    }

    #[test]
    fn state_and_request_id_come_from_the_random_bytes() {
        let f = flow();
        assert_eq!(f.state(), STATE);
        let url = f.popup_url(&options(), "http://app.test");
        assert!(url.starts_with("http://api.test/v1/oauth?"));
        assert!(url.contains(&["&state=", STATE, "&"].concat()));
        assert!(url.ends_with(&["&request_id=", REQUEST, "&origin=http%3A%2F%2Fapp.test"].concat()));
    }

    #[test]
    fn success_verifies_the_token_then_fetches_the_account() {
        let mut f = flow();
        assert_eq!(
            f.on_message(&success_message()),
            Step::Fetch { url: "http://api.test/v1/oauth/token/".into(), token: "tok".into() }
        );
        assert_eq!(
            f.on_reply(ok(r#"{"account_id":7,"client_id":"app","scope":"box"}"#)),
            Step::Fetch {
                url: "http://api.test/v1/accounts/7/?retrieve_full=False".into(),
                token: "tok".into()
            }
        );
        let Step::Finish(result) = f.on_reply(ok(r#"{"id":7,"service":"box"}"#)) else {
            panic!("must finish")
        };
        assert_eq!(result.get("access_token").and_then(Json::as_str), Some("tok"));
        assert_eq!(result.get("token_type").and_then(Json::as_str), Some("Bearer"));
        assert_eq!(result.get("state").and_then(Json::as_str), Some(STATE));
        assert_eq!(result.get("account").and_then(|a| a.get("service")).and_then(Json::as_str), Some("box"));
        // Exactly once: everything after the finish is ignored.
        assert_eq!(f.on_message(&success_message()), Step::Ignore);
        assert_eq!(f.on_reply(ok("{}")), Step::Ignore);
        assert_eq!(f.on_popup_closed(), Step::Ignore);
    }

    #[test]
    fn a_wrong_state_is_invalid_state() {
        let mut f = flow();
        let step = f.on_message(&result_message(r#"{"access_token":"tok","state":"guess"}"#));
        assert_eq!(error_code(&step), Some("invalid_state"));
        assert_eq!(f.on_message(&success_message()), Step::Ignore);
    }

    #[test]
    fn a_server_error_passes_through_unchanged() {
        let mut f = flow();
        let data = [r#"{"error":"access_denied","error_description":"no","state":""#, STATE, "\"}"].concat();
        assert_eq!(f.on_message(&result_message(&data)), Step::Finish(Json::parse(&data).unwrap()));
    }

    #[test]
    fn messages_for_other_requests_are_ignored() {
        let mut f = flow();
        let other = success_message().replace(REQUEST, "other");
        assert_eq!(f.on_message(&other), Step::Ignore);
        assert!(f.awaits_result());
    }

    #[test]
    fn verification_failures_have_their_codes_and_no_token() {
        let cases: [(Option<Reply>, &str); 4] = [
            (ok(r#"{"account_id":7,"client_id":"other"}"#), "client_id_mismatch"),
            (Some(Reply { status: 401, body: "{}" }), "token_verification_failed"),
            (ok("garbage"), "token_verification_failed"),
            (None, "network_error"),
        ];
        for (reply, code) in cases {
            let mut f = flow();
            f.on_message(&success_message());
            let step = f.on_reply(reply);
            assert_eq!(error_code(&step), Some(code));
            let Step::Finish(result) = step else { unreachable!() };
            assert_eq!(result.get("access_token"), None);
            assert_eq!(result.get("state").and_then(Json::as_str), Some(STATE));
            assert_eq!(f.on_reply(ok("{}")), Step::Ignore);
        }
    }

    #[test]
    fn account_failures_have_their_codes() {
        for (reply, code) in
            [(Some(Reply { status: 500, body: "" }), "account_retrieval_failed"), (None, "network_error")]
        {
            let mut f = flow();
            f.on_message(&success_message());
            f.on_reply(ok(r#"{"account_id":7,"client_id":"app"}"#));
            assert_eq!(error_code(&f.on_reply(reply)), Some(code));
        }
    }

    #[test]
    fn the_popup_matters_only_while_awaiting_the_result() {
        let mut blocked = flow();
        assert_eq!(error_code(&blocked.on_popup_blocked()), Some("popup_blocked"));
        let mut closed = flow();
        assert_eq!(error_code(&closed.on_popup_closed()), Some("popup_closed"));
        assert_eq!(closed.on_message(&success_message()), Step::Ignore);
        let mut delivered = flow();
        delivered.on_message(&success_message());
        assert_eq!(delivered.on_popup_closed(), Step::Ignore);
    }
}
