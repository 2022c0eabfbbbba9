//! One launch of the pop-up, as a sans-IO state machine: the browser shell feeds it events
//! (a message, a server reply, the pop-up closing) and carries out the [`Step`] it returns.
//!
//! A flow finishes exactly once: after [`Step::Finish`] every event is ignored.

use alloc::borrow::ToOwned;
use alloc::string::String;

use crate::error::Error;
use crate::json::{self, Json};
use crate::message;
use crate::options::Options;
use crate::popup::{self, Launch};
use crate::progress::{self, Found};
use crate::verify::{self, Reply};

/// How often the shell checks whether the user closed the pop-up, in milliseconds.
pub const POPUP_POLL_MS: i32 = 250;

/// About how long after the pop-up reads as closed a result may still arrive, in milliseconds
/// (longer while the server reports the pop-up's flow as under way: see [`progress`]).
pub const POPUP_CLOSED_GRACE_MS: i32 = progress::RETRY_MS * (progress::GRACE_ATTEMPTS as i32 - 1);

/// Random bytes a flow needs: 16 for `state`, 16 for `request_id`.
pub const RANDOM_BYTES: usize = 32;

/// What the shell must do next.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Nothing: the event was not for this flow, or the flow is already done.
    Ignore,
    /// The pop-up has delivered: close it, and at once GET both `token_url` (feed the reply to
    /// [`Flow::on_token`]) and `account_url` (to [`Flow::on_account`]) with
    /// `Authorization: Bearer {token}`: one round trip instead of two.
    Verify {
        /// The token endpoint.
        token_url: String,
        /// The account endpoint, for `me` (the token's own account).
        account_url: String,
        /// The bearer token.
        token: String,
    },
    /// After `after_ms` milliseconds, POST `body` (a form) to `url` and feed the reply to
    /// [`Flow::on_progress`]: the pop-up reads as closed, so ask the server whether its flow is
    /// still under way.
    CheckProgress {
        /// The progress endpoint.
        url: String,
        /// `client_id` and `request_id`, form-encoded.
        body: String,
        /// The delay before the request.
        after_ms: i32,
    },
    /// Release everything and call the callback with this result, as JSON text. Happens once
    /// per flow.
    Finish(String),
}

#[derive(Clone, Debug, PartialEq)]
enum Phase {
    /// `misses` counts progress checks in a row that found nothing under way, once the pop-up
    /// reads as closed (`None` until then).
    AwaitingResult {
        misses: Option<u8>,
    },
    /// Both replies are awaited; each is kept until the other is in.
    Verifying {
        data: Json,
        token: Option<Result<(), Error>>,
        account: Option<Result<Json, Error>>,
    },
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
        let (state, request_id) = random.split_at(16);
        Flow {
            base_url: popup::trim_base_url(base_url).to_owned(),
            client_id: options.client_id.clone(),
            state: hex(state),
            request_id: hex(request_id),
            phase: Phase::AwaitingResult { misses: None },
        }
    }

    /// The pop-up URL for this launch, the page being `page_url` (without its fragment) at
    /// `origin`.
    pub fn popup_url(&self, options: &Options, origin: &str, page_url: &str) -> String {
        let launch = Launch { state: &self.state, request_id: &self.request_id, origin, return_to: page_url };
        popup::url(&self.base_url, options, &launch)
    }

    /// This launch's `state`.
    pub fn state(&self) -> &str {
        &self.state
    }

    /// The token and account endpoints that [`Step::Verify`] will call. A shell can warm their
    /// CORS preflights while the user is in the pop-up, so that each costs one request, not two,
    /// once the result is in.
    pub fn verify_urls(&self) -> [String; 2] {
        [verify::token_url(&self.base_url), verify::account_url(&self.base_url)]
    }

    /// Whether the pop-up's result is still awaited (the pop-up matters only then).
    pub fn awaits_result(&self) -> bool {
        matches!(self.phase, Phase::AwaitingResult { .. })
    }

    /// A message's data: posted from the expected origin by this flow's pop-up or relay, or
    /// handed over on this page's origin by the page a pop-up came back to.
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
                self.phase = Phase::Verifying { data: result, token: None, account: None };
                let [token_url, account_url] = self.verify_urls();
                Step::Verify { token_url, account_url, token }
            }
            // An error from the server (e.g. access_denied) passes through unchanged.
            None => {
                self.phase = Phase::Done;
                Step::Finish(result.to_text())
            }
        }
    }

    /// The token endpoint's reply to [`Step::Verify`]; an error ([`Error::NetworkError`],
    /// [`Error::RequestTimeout`]) when the request itself failed.
    pub fn on_token(&mut self, reply: Result<Reply, Error>) -> Step {
        let client_id = &self.client_id;
        if let Phase::Verifying { token: slot @ None, .. } = &mut self.phase {
            *slot = Some(reply.and_then(|r| verify::token(r, client_id)));
        }
        self.decide()
    }

    /// The account endpoint's reply to [`Step::Verify`]; an error when the request failed.
    pub fn on_account(&mut self, reply: Result<Reply, Error>) -> Step {
        if let Phase::Verifying { account: slot @ None, .. } = &mut self.phase {
            *slot = Some(reply.and_then(verify::account));
        }
        self.decide()
    }

    /// Finishes once the token is known bad (the account, if any, is discarded: a token of
    /// another app always ends in `client_id_mismatch`), or once both replies are in.
    fn decide(&mut self) -> Step {
        let Phase::Verifying { token: Some(token), account, .. } = &self.phase else { return Step::Ignore };
        match (token, account) {
            (Err(error), _) | (Ok(()), Some(Err(error))) => {
                let error = *error;
                self.fail(error)
            }
            (Ok(()), None) => Step::Ignore,
            (Ok(()), Some(Ok(_))) => match core::mem::replace(&mut self.phase, Phase::Done) {
                Phase::Verifying { mut data, account: Some(Ok(account)), .. } => {
                    data.set("account", account);
                    Step::Finish(data.to_text())
                }
                _ => Step::Ignore,
            },
        }
    }

    /// The pop-up could not be opened.
    pub fn on_popup_blocked(&mut self) -> Step {
        self.abort(Error::PopupBlocked)
    }

    /// The pop-up reads as closed: only a hint, since a pop-up whose opener was cut by COOP
    /// reads so while still open. Start checking the flow's progress at the server (once).
    pub fn on_popup_closed(&mut self) -> Step {
        match self.phase {
            Phase::AwaitingResult { misses: None } => {
                self.phase = Phase::AwaitingResult { misses: Some(0) };
                self.check_progress(0)
            }
            _ => Step::Ignore,
        }
    }

    /// The reply to the last [`Step::CheckProgress`] (`None` when the request failed). A flow
    /// under way at the server (or whose result is on its way back to this page) keeps the
    /// checks going, until the server forgets it (10 minutes after its last page) or
    /// `flowTimeout`; [`progress::GRACE_ATTEMPTS`] misses in a row end the flow with
    /// `popup_closed`, and so, with its own description, does a result that went back to this
    /// page's URL and was not handed over.
    pub fn on_progress(&mut self, reply: Option<Reply>) -> Step {
        let Phase::AwaitingResult { misses: Some(misses) } = self.phase else { return Step::Ignore };
        let misses = match progress::found(reply) {
            Found::UnderWay => 0,
            Found::NotDelivered => return self.fail(Error::ResultNotHandedOver),
            Found::Nothing => misses + 1,
        };
        if misses >= progress::GRACE_ATTEMPTS {
            return self.fail(Error::PopupClosed);
        }
        self.phase = Phase::AwaitingResult { misses: Some(misses) };
        self.check_progress(progress::RETRY_MS)
    }

    /// Ends the flow with `error` (`cancelled`, a flow `timeout`, `popup_closed` when the page
    /// launches again after its pop-up was closed), unless it has already finished.
    pub fn abort(&mut self, error: Error) -> Step {
        if matches!(self.phase, Phase::Done) { Step::Ignore } else { self.fail(error) }
    }

    fn check_progress(&self, after_ms: i32) -> Step {
        Step::CheckProgress {
            url: progress::url(&self.base_url),
            body: progress::body(&self.client_id, &self.request_id),
            after_ms,
        }
    }

    fn fail(&mut self, error: Error) -> Step {
        self.phase = Phase::Done;
        Step::Finish(error_result(error, &self.state))
    }
}

/// The result the callback gets for a failure, as JSON text: `{error, error_description, state}`.
pub fn error_result(error: Error, state: &str) -> String {
    let mut out = String::from("{\"error\":");
    json::write_string(error.code(), &mut out);
    out.push_str(",\"error_description\":");
    json::write_string(error.description(), &mut out);
    out.push_str(",\"state\":");
    json::write_string(state, &mut out);
    out.push('}');
    out
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(2 * bytes.len());
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATE: &str = "000102030405060708090a0b0c0d0e0f";
    const REQUEST: &str = "101112131415161718191a1b1c1d1e1f";

    fn options() -> Options {
        Options::parse(r#"[["client_id",0,"app"]]"#).unwrap()
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

    fn ok(body: &str) -> Result<Reply<'_>, Error> {
        Ok(Reply { status: 200, body })
    }

    /// The result a step finishes with, parsed.
    fn finished(step: &Step) -> Json {
        let Step::Finish(result) = step else { panic!("must finish: {step:?}") };
        Json::parse(result).expect("the result is JSON")
    }

    fn error_code(step: &Step) -> Option<String> {
        match step {
            Step::Finish(_) => finished(step).get("error").and_then(Json::as_str).map(str::to_owned),
            _ => None,
        }
    }

    #[test]
    fn state_and_request_id_come_from_the_random_bytes() {
        let f = flow();
        assert_eq!(f.state(), STATE);
        let url = f.popup_url(&options(), "http://app.test", "http://app.test/route?q=1");
        assert!(url.starts_with("http://api.test/v1/oauth?"));
        assert!(url.contains(&["&state=", STATE, "&"].concat()));
        assert!(url.contains(&["&request_id=", REQUEST, "&origin=http%3A%2F%2Fapp.test&"].concat()));
        assert!(url.ends_with("&return_to=http%3A%2F%2Fapp.test%2Froute%3Fq%3D1"), "{url}");
    }

    fn verify() -> Step {
        Step::Verify {
            token_url: "http://api.test/v1/oauth/token/".into(),
            account_url: "http://api.test/v1/accounts/me/?retrieve_full=False".into(),
            token: "tok".into(),
        }
    }

    const TOKEN_INFO: &str = r#"{"account_id":7,"client_id":"app","scope":"box"}"#;
    const ACCOUNT: &str = r#"{"id":7,"service":"box"}"#;

    #[test]
    fn the_urls_to_warm_are_those_verified() {
        let Step::Verify { token_url, account_url, .. } = verify() else { unreachable!() };
        assert_eq!(flow().verify_urls(), [token_url, account_url]);
    }

    #[test]
    fn success_verifies_the_token_and_fetches_the_account_at_once() {
        for token_first in [true, false] {
            let mut f = flow();
            assert_eq!(f.on_message(&success_message()), verify());
            let finish = if token_first {
                assert_eq!(f.on_token(ok(TOKEN_INFO)), Step::Ignore, "waits for the account");
                f.on_account(ok(ACCOUNT))
            } else {
                assert_eq!(f.on_account(ok(ACCOUNT)), Step::Ignore, "waits for the token check");
                f.on_token(ok(TOKEN_INFO))
            };
            let result = finished(&finish);
            assert_eq!(result.get("access_token").and_then(Json::as_str), Some("tok"));
            assert_eq!(result.get("token_type").and_then(Json::as_str), Some("Bearer"));
            assert_eq!(result.get("state").and_then(Json::as_str), Some(STATE));
            assert_eq!(
                result.get("account").and_then(|a| a.get("service")).and_then(Json::as_str),
                Some("box")
            );
            // Exactly once: everything after the finish is ignored.
            assert_eq!(f.on_message(&success_message()), Step::Ignore);
            assert_eq!(f.on_token(ok(TOKEN_INFO)), Step::Ignore);
            assert_eq!(f.on_account(ok(ACCOUNT)), Step::Ignore);
            assert_eq!(f.on_popup_closed(), Step::Ignore);
        }
    }

    #[test]
    fn a_wrong_state_is_invalid_state() {
        let mut f = flow();
        let step = f.on_message(&result_message(r#"{"access_token":"tok","state":"guess"}"#));
        assert_eq!(error_code(&step).as_deref(), Some("invalid_state"));
        assert_eq!(f.on_message(&success_message()), Step::Ignore);
    }

    #[test]
    fn a_server_error_passes_through_unchanged() {
        let mut f = flow();
        let data = [r#"{"error":"access_denied","error_description":"no","state":""#, STATE, "\"}"].concat();
        assert_eq!(finished(&f.on_message(&result_message(&data))), Json::parse(&data).unwrap());
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
        let cases: [(Result<Reply, Error>, &str); 5] = [
            (ok(r#"{"account_id":7,"client_id":"other"}"#), "client_id_mismatch"),
            (Ok(Reply { status: 401, body: "{}" }), "token_verification_failed"),
            (ok("garbage"), "token_verification_failed"),
            (Err(Error::NetworkError), "network_error"),
            (Err(Error::RequestTimeout), "timeout"),
        ];
        for (reply, code) in cases {
            for account_first in [false, true] {
                let mut f = flow();
                f.on_message(&success_message());
                if account_first {
                    assert_eq!(f.on_account(ok(ACCOUNT)), Step::Ignore);
                }
                // A bad token wins whatever the account reply: the account is discarded.
                let step = f.on_token(reply);
                assert_eq!(error_code(&step).as_deref(), Some(code));
                let result = finished(&step);
                assert_eq!(result.get("access_token"), None);
                assert_eq!(result.get("account"), None);
                assert_eq!(result.get("state").and_then(Json::as_str), Some(STATE));
                assert_eq!(f.on_account(ok(ACCOUNT)), Step::Ignore);
            }
        }
    }

    #[test]
    fn account_failures_have_their_codes() {
        for (reply, code) in [
            (Ok(Reply { status: 500, body: "" }), "account_retrieval_failed"),
            (Err(Error::NetworkError), "network_error"),
            (Err(Error::RequestTimeout), "timeout"),
        ] {
            let mut f = flow();
            f.on_message(&success_message());
            assert_eq!(f.on_account(reply), Step::Ignore, "the token check decides first");
            assert_eq!(error_code(&f.on_token(ok(TOKEN_INFO))).as_deref(), Some(code));
            let mut g = flow();
            g.on_message(&success_message());
            g.on_token(ok(TOKEN_INFO));
            assert_eq!(
                error_code(&g.on_account(Ok(Reply { status: 500, body: "" }))).as_deref(),
                Some("account_retrieval_failed")
            );
        }
    }

    fn check(after_ms: i32) -> Step {
        Step::CheckProgress {
            url: "http://api.test/v1/oauth/progress".into(),
            body: ["client_id=app&request_id=", REQUEST].concat(),
            after_ms,
        }
    }

    fn reply(status: u16) -> Option<Reply<'static>> {
        Some(Reply { status, body: "" })
    }

    #[test]
    fn the_popup_matters_only_while_awaiting_the_result() {
        let mut blocked = flow();
        assert_eq!(error_code(&blocked.on_popup_blocked()).as_deref(), Some("popup_blocked"));
        let mut delivered = flow();
        delivered.on_message(&success_message());
        assert_eq!(delivered.on_popup_closed(), Step::Ignore);
        assert_eq!(delivered.on_progress(reply(202)), Step::Ignore);
    }

    #[test]
    fn a_closed_popup_is_a_hint_the_grace_period_is_four_checks_finding_nothing() {
        let mut f = flow();
        assert_eq!(f.on_popup_closed(), check(0));
        assert_eq!(f.on_popup_closed(), Step::Ignore, "the checks start once");
        assert_eq!(f.on_progress(reply(404)), check(progress::RETRY_MS));
        assert_eq!(f.on_progress(None), check(progress::RETRY_MS));
        assert_eq!(f.on_progress(reply(200)), check(progress::RETRY_MS));
        let step = f.on_progress(reply(404));
        assert_eq!(error_code(&step).as_deref(), Some("popup_closed"));
        assert_eq!(
            finished(&step).get("error_description").and_then(Json::as_str),
            Some(Error::PopupClosed.description())
        );
        assert_eq!(f.on_progress(reply(202)), Step::Ignore);
        assert_eq!(f.on_message(&success_message()), Step::Ignore);
    }

    #[test]
    fn a_flow_under_way_at_the_server_keeps_the_checks_going_and_a_handed_over_result_wins() {
        let mut f = flow();
        f.on_popup_closed();
        for _ in 0..10 {
            f.on_progress(reply(404));
            f.on_progress(reply(404));
            assert_eq!(f.on_progress(reply(202)), check(progress::RETRY_MS));
        }
        // The result, handed over by the page the pop-up came back to, goes through the checks...
        assert_eq!(f.on_message(&success_message().replace(REQUEST, "other")), Step::Ignore);
        assert_eq!(f.on_message(&success_message()), verify());
        // ...and then the checks stop.
        assert_eq!(f.on_progress(reply(202)), Step::Ignore);
    }

    #[test]
    fn a_result_not_handed_over_ends_the_flow_with_its_own_description() {
        let mut f = flow();
        f.on_popup_closed();
        assert_eq!(f.on_progress(reply(202)), check(progress::RETRY_MS));
        let step = f.on_progress(reply(410));
        assert_eq!(error_code(&step).as_deref(), Some("popup_closed"));
        let description = finished(&step).get("error_description").and_then(Json::as_str).map(str::to_owned);
        assert_eq!(description.as_deref(), Some(Error::ResultNotHandedOver.description()));
        assert!(description.unwrap().contains("must load the Kloudless authenticator"));
        assert_eq!(f.on_message(&success_message()), Step::Ignore);
    }

    #[test]
    fn abort_ends_a_flow_once_in_any_phase() {
        let mut waiting = flow();
        assert_eq!(error_code(&waiting.abort(Error::Cancelled)).as_deref(), Some("cancelled"));
        assert_eq!(waiting.abort(Error::Cancelled), Step::Ignore);
        assert_eq!(waiting.on_message(&success_message()), Step::Ignore);
        let mut verifying = flow();
        verifying.on_message(&success_message());
        let step = verifying.abort(Error::FlowTimeout);
        assert_eq!(error_code(&step).as_deref(), Some("timeout"));
        let result = finished(&step);
        assert_eq!(result.get("access_token"), None, "no token in an aborted result");
        assert_eq!(verifying.on_token(ok(TOKEN_INFO)), Step::Ignore);
    }
}
