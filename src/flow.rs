//! One launch of the pop-up, as a sans-IO state machine: the browser shell feeds it events
//! (a message, a server reply, the pop-up closing) and carries out the [`Step`] it returns.
//!
//! A flow finishes exactly once: after [`Step::Finish`] every event is ignored.

use crate::error::Error;
use crate::message::{self, Dropped, Fields, Sender};
use crate::options::Options;
use crate::popup::{self, Launch};
use crate::progress::{self, Found};
use crate::verify::{self, AccountReply, TokenReply};

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
    /// After `after_ms` milliseconds, POST `body` (a form) to `url` and feed the reply's status
    /// to [`Flow::on_progress`]: the pop-up reads as closed, so ask the server whether its flow
    /// is still under way.
    CheckProgress {
        /// The progress endpoint.
        url: String,
        /// `client_id` and `request_id`, form-encoded.
        body: String,
        /// The delay before the request.
        after_ms: i32,
    },
    /// POST the redemption's form to its URL, and, when [`Flow::takes_redeemed`] says so, feed
    /// the reply's body as a message (checked like a posted one): a code was handed over.
    Redeem(progress::Redeem),
    /// Release everything and call the callback with this outcome. Happens once per flow.
    Finish(Outcome),
}

/// What the callback gets.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Outcome {
    /// The result message's `data`, with the account's metadata added as `account`.
    Connected,
    /// The result message's `data` unchanged: an error from the server's pop-up (e.g.
    /// `access_denied`).
    PassedThrough,
    /// `{error, error_description, state}` for this error (see [`Flow::state`]); never a token.
    Failed(Error),
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
        token: Option<Result<(), Error>>,
        account: Option<Result<(), Error>>,
    },
    Done,
}

/// One launch: its `state`, `request_id`, and how far it has got.
#[derive(Clone, Debug, PartialEq)]
pub struct Flow {
    base_url: String,
    api_origin: String,
    client_id: String,
    state: String,
    request_id: String,
    phase: Phase,
}

impl Flow {
    /// Starts a flow for `options` against `base_url` (whose origin is `api_origin`), its `state`
    /// and `request_id` made from `random` (which must come from a CSPRNG: 128 bits each).
    pub fn new(base_url: &str, api_origin: &str, options: &Options, random: &[u8; RANDOM_BYTES]) -> Flow {
        let (state, request_id) = random.split_at(16);
        Flow {
            base_url: popup::trim_base_url(base_url).to_owned(),
            api_origin: api_origin.to_owned(),
            client_id: options.client_id.clone(),
            state: hex(state),
            request_id: hex(request_id),
            phase: Phase::AwaitingResult { misses: None },
        }
    }

    /// The pop-up URL for this launch, the page being `page_url` (without its fragment) at
    /// `origin`; the result comes back to the `return_url` option, or else to that page.
    pub fn popup_url(&self, options: &Options, origin: &str, page_url: &str) -> String {
        let return_to = options.return_url.as_deref().unwrap_or(page_url);
        let launch = Launch { state: &self.state, request_id: &self.request_id, origin, return_to };
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

    /// Whether a message from `sender` may be read at all (before anything of it is).
    pub fn accepts(&self, sender: Sender) -> Result<(), Dropped> {
        message::check_sender(sender, &self.api_origin)
    }

    /// A message that [`Flow::accepts`] and the shell parsed: this flow's result starts the
    /// verification (or, an error from the server, finishes the flow unchanged); any other
    /// message is dropped, and says why.
    pub fn on_message(&mut self, fields: &Fields) -> Result<Step, Dropped> {
        if !self.awaits_result() {
            return Ok(Step::Ignore);
        }
        let data = message::result_for(fields, &self.request_id)?;
        if data.state.as_deref() != Some(self.state.as_str()) {
            return Ok(self.fail(Error::InvalidState));
        }
        Ok(match &data.access_token {
            Some(token) => {
                let token = token.clone();
                self.phase = Phase::Verifying { token: None, account: None };
                let [token_url, account_url] = self.verify_urls();
                Step::Verify { token_url, account_url, token }
            }
            // An error from the server (e.g. access_denied) passes through unchanged.
            None => {
                self.phase = Phase::Done;
                Step::Finish(Outcome::PassedThrough)
            }
        })
    }

    /// A code handed over on this page's origin by the return page a pop-up came back to (see
    /// [`progress`]): redeem it for this flow, while the result is awaited. Anything that is not
    /// a code is ignored.
    pub fn on_handed_over(&self, code: &str) -> Step {
        if !self.awaits_result() || !progress::is_code(code) {
            return Step::Ignore;
        }
        Step::Redeem(progress::Redeem::new(&self.base_url, code, &self.client_id, &self.request_id))
    }

    /// Whether the reply (its status; `None` when the request failed) to [`Step::Redeem`]
    /// carries a message to read: a 200 while the result is still awaited.
    pub fn takes_redeemed(&self, status: Option<u16>) -> bool {
        self.awaits_result() && progress::redeemed(status)
    }

    /// The token endpoint's reply to [`Step::Verify`]; an error ([`Error::NetworkError`],
    /// [`Error::RequestTimeout`]) when the request itself failed.
    pub fn on_token(&mut self, reply: Result<TokenReply, Error>) -> Step {
        let client_id = &self.client_id;
        if let Phase::Verifying { token: slot @ None, .. } = &mut self.phase {
            *slot = Some(reply.and_then(|r| verify::token(r, client_id)));
        }
        self.decide()
    }

    /// The account endpoint's reply to [`Step::Verify`]; an error when the request failed.
    pub fn on_account(&mut self, reply: Result<AccountReply, Error>) -> Step {
        if let Phase::Verifying { account: slot @ None, .. } = &mut self.phase {
            *slot = Some(reply.and_then(verify::account));
        }
        self.decide()
    }

    /// Finishes once the token is known bad (the account, if any, is discarded: a token of
    /// another app always ends in `client_id_mismatch`), or once both replies are in.
    fn decide(&mut self) -> Step {
        let Phase::Verifying { token: Some(token), account } = &self.phase else { return Step::Ignore };
        match (*token, *account) {
            (Err(error), _) | (Ok(()), Some(Err(error))) => self.fail(error),
            (Ok(()), None) => Step::Ignore,
            (Ok(()), Some(Ok(()))) => {
                self.phase = Phase::Done;
                Step::Finish(Outcome::Connected)
            }
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

    /// The status of the reply to the last [`Step::CheckProgress`] (`None` when the request
    /// failed). A flow under way at the server (or whose result is on its way back to this
    /// page) keeps the checks going, until the server forgets it (10 minutes after its last
    /// page) or `flowTimeout`; [`progress::GRACE_ATTEMPTS`] misses in a row end the flow with
    /// `popup_closed`, and so, with its own description, does a result that went back to this
    /// page's URL and was not handed over.
    pub fn on_progress(&mut self, status: Option<u16>) -> Step {
        let Phase::AwaitingResult { misses: Some(misses) } = self.phase else { return Step::Ignore };
        let misses = match progress::found(status) {
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
        Step::Finish(Outcome::Failed(error))
    }
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Data;
    use crate::options::OptionValue;

    const STATE: &str = "000102030405060708090a0b0c0d0e0f";
    const REQUEST: &str = "101112131415161718191a1b1c1d1e1f";
    const API: &str = "http://api.test";

    fn options() -> Options {
        Options::new([("client_id".to_owned(), OptionValue::Text("app".into()))]).unwrap()
    }

    fn flow() -> Flow {
        let random: [u8; RANDOM_BYTES] = std::array::from_fn(|i| i as u8);
        Flow::new("http://api.test/", API, &options(), &random)
    }

    /// A result message's fields: for `id`, with `state` and maybe a token.
    fn result(id: &str, state: &str, token: Option<&str>) -> Fields {
        Fields {
            kind: Some("authentication".into()),
            id: Some(id.into()),
            data: Some(Data { state: Some(state.into()), access_token: token.map(Into::into) }),
        }
    }

    fn success() -> Fields {
        result(REQUEST, STATE, Some("tok"))
    }

    fn token_ok() -> Result<TokenReply<'static>, Error> {
        Ok(TokenReply { status: 200, client_id: Some("app") })
    }

    fn account_ok() -> Result<AccountReply, Error> {
        Ok(AccountReply { status: 200, object: true })
    }

    fn verify() -> Step {
        Step::Verify {
            token_url: "http://api.test/v1/oauth/token/".into(),
            account_url: "http://api.test/v1/accounts/me/?retrieve_full=False".into(),
            token: "tok".into(),
        }
    }

    fn failed(error: Error) -> Step {
        Step::Finish(Outcome::Failed(error))
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

    #[test]
    fn the_return_url_option_is_where_the_result_comes_back() {
        let options = Options::new([
            ("client_id".to_owned(), OptionValue::Text("app".into())),
            ("return_url".to_owned(), OptionValue::Text("http://app.test/back".into())),
        ])
        .unwrap();
        let url = flow().popup_url(&options, "http://app.test", "http://app.test/route?q=1");
        assert!(url.ends_with("&return_to=http%3A%2F%2Fapp.test%2Fback"), "{url}");
        assert!(!url.contains("return_url"), "the option is the library's own: {url}");
    }

    fn redeem(code: &str) -> Step {
        Step::Redeem(progress::Redeem {
            url: "http://api.test/v1/oauth/progress/redeem".into(),
            body: ["code=", code, "&client_id=app&request_id=", REQUEST].concat(),
        })
    }

    #[test]
    fn a_handed_over_code_is_redeemed_for_this_flow_while_its_result_is_awaited() {
        let mut f = flow();
        let code = "ab".repeat(32);
        assert_eq!(f.on_handed_over(&code), redeem(&code));
        assert_eq!(
            f.on_handed_over("kloudless:{\"type\":\"authentication\"}"),
            Step::Ignore,
            "never a message"
        );
        assert_eq!(f.on_handed_over(""), Step::Ignore);
        assert!(f.takes_redeemed(Some(200)));
        for other in [Some(400), Some(500), None] {
            assert!(!f.takes_redeemed(other), "{other:?}");
        }
        // The redeemed message goes through the checks of a posted one.
        assert_eq!(f.on_message(&result(REQUEST, "guess", Some("tok"))), Ok(failed(Error::InvalidState)));
        assert_eq!(f.on_handed_over(&code), Step::Ignore, "the flow is over");
        assert!(!f.takes_redeemed(Some(200)));
    }

    #[test]
    fn the_urls_to_warm_are_those_verified() {
        let Step::Verify { token_url, account_url, .. } = verify() else { unreachable!() };
        assert_eq!(flow().verify_urls(), [token_url, account_url]);
    }

    #[test]
    fn only_the_api_origin_and_the_flows_windows_are_heard() {
        let f = flow();
        assert_eq!(f.accepts(Sender::Posted { origin: API, from_flow_window: true }), Ok(()));
        assert_eq!(
            f.accepts(Sender::Posted { origin: "http://evil.test", from_flow_window: true }),
            Err(Dropped::Origin)
        );
        assert_eq!(f.accepts(Sender::Posted { origin: API, from_flow_window: false }), Err(Dropped::Source));
        assert_eq!(f.accepts(Sender::HandedOver), Ok(()));
    }

    #[test]
    fn success_verifies_the_token_and_fetches_the_account_at_once() {
        for token_first in [true, false] {
            let mut f = flow();
            assert_eq!(f.on_message(&success()), Ok(verify()));
            let finish = if token_first {
                assert_eq!(f.on_token(token_ok()), Step::Ignore, "waits for the account");
                f.on_account(account_ok())
            } else {
                assert_eq!(f.on_account(account_ok()), Step::Ignore, "waits for the token check");
                f.on_token(token_ok())
            };
            assert_eq!(finish, Step::Finish(Outcome::Connected));
            // Exactly once: everything after the finish is ignored.
            assert_eq!(f.on_message(&success()), Ok(Step::Ignore));
            assert_eq!(f.on_token(token_ok()), Step::Ignore);
            assert_eq!(f.on_account(account_ok()), Step::Ignore);
            assert_eq!(f.on_popup_closed(), Step::Ignore);
        }
    }

    #[test]
    fn a_wrong_state_is_invalid_state() {
        let mut f = flow();
        assert_eq!(f.on_message(&result(REQUEST, "guess", Some("tok"))), Ok(failed(Error::InvalidState)));
        assert_eq!(f.on_message(&success()), Ok(Step::Ignore));
        let mut missing = flow();
        let no_state =
            Fields { data: Some(Data { state: None, access_token: Some("tok".into()) }), ..success() };
        assert_eq!(missing.on_message(&no_state), Ok(failed(Error::InvalidState)));
    }

    #[test]
    fn a_server_error_passes_through_unchanged() {
        let mut f = flow();
        assert_eq!(f.on_message(&result(REQUEST, STATE, None)), Ok(Step::Finish(Outcome::PassedThrough)));
    }

    #[test]
    fn messages_for_other_requests_are_dropped() {
        let mut f = flow();
        assert_eq!(f.on_message(&result("other", STATE, Some("tok"))), Err(Dropped::OtherRequest));
        assert_eq!(f.on_message(&Fields::default()), Err(Dropped::Shape));
        assert!(f.awaits_result());
    }

    #[test]
    fn verification_failures_have_their_codes_and_discard_the_account() {
        let cases = [
            (Ok(TokenReply { status: 200, client_id: Some("other") }), Error::ClientIdMismatch),
            (Ok(TokenReply { status: 401, client_id: Some("app") }), Error::TokenVerificationFailed),
            (Ok(TokenReply { status: 200, client_id: None }), Error::TokenVerificationFailed),
            (Err(Error::NetworkError), Error::NetworkError),
            (Err(Error::RequestTimeout), Error::RequestTimeout),
        ];
        for (reply, error) in cases {
            for account_first in [false, true] {
                let mut f = flow();
                f.on_message(&success()).unwrap();
                if account_first {
                    assert_eq!(f.on_account(account_ok()), Step::Ignore);
                }
                // A bad token wins whatever the account reply.
                assert_eq!(f.on_token(reply), failed(error));
                assert_eq!(f.on_account(account_ok()), Step::Ignore);
            }
        }
    }

    #[test]
    fn account_failures_have_their_codes() {
        for (reply, error) in [
            (Ok(AccountReply { status: 500, object: true }), Error::AccountRetrievalFailed),
            (Ok(AccountReply { status: 200, object: false }), Error::AccountRetrievalFailed),
            (Err(Error::NetworkError), Error::NetworkError),
            (Err(Error::RequestTimeout), Error::RequestTimeout),
        ] {
            let mut f = flow();
            f.on_message(&success()).unwrap();
            assert_eq!(f.on_account(reply), Step::Ignore, "the token check decides first");
            assert_eq!(f.on_token(token_ok()), failed(error));
        }
    }

    fn check(after_ms: i32) -> Step {
        Step::CheckProgress {
            url: "http://api.test/v1/oauth/progress".into(),
            body: ["client_id=app&request_id=", REQUEST].concat(),
            after_ms,
        }
    }

    #[test]
    fn the_popup_matters_only_while_awaiting_the_result() {
        let mut blocked = flow();
        assert_eq!(blocked.on_popup_blocked(), failed(Error::PopupBlocked));
        let mut delivered = flow();
        delivered.on_message(&success()).unwrap();
        assert_eq!(delivered.on_popup_closed(), Step::Ignore);
        assert_eq!(delivered.on_progress(Some(202)), Step::Ignore);
    }

    #[test]
    fn a_closed_popup_is_a_hint_the_grace_period_is_four_checks_finding_nothing() {
        let mut f = flow();
        assert_eq!(f.on_popup_closed(), check(0));
        assert_eq!(f.on_popup_closed(), Step::Ignore, "the checks start once");
        assert_eq!(f.on_progress(Some(404)), check(progress::RETRY_MS));
        assert_eq!(f.on_progress(None), check(progress::RETRY_MS));
        assert_eq!(f.on_progress(Some(200)), check(progress::RETRY_MS));
        assert_eq!(f.on_progress(Some(404)), failed(Error::PopupClosed));
        assert_eq!(f.on_progress(Some(202)), Step::Ignore);
        assert_eq!(f.on_message(&success()), Ok(Step::Ignore));
    }

    #[test]
    fn a_flow_under_way_at_the_server_keeps_the_checks_going_and_a_handed_over_result_wins() {
        let mut f = flow();
        f.on_popup_closed();
        for _ in 0..10 {
            f.on_progress(Some(404));
            f.on_progress(Some(404));
            assert_eq!(f.on_progress(Some(202)), check(progress::RETRY_MS));
        }
        assert_eq!(f.on_message(&result("other", STATE, Some("tok"))), Err(Dropped::OtherRequest));
        assert_eq!(f.on_message(&success()), Ok(verify()));
        assert_eq!(f.on_progress(Some(202)), Step::Ignore, "the checks stop");
    }

    #[test]
    fn a_result_not_handed_over_ends_the_flow_with_its_own_description() {
        let mut f = flow();
        f.on_popup_closed();
        assert_eq!(f.on_progress(Some(202)), check(progress::RETRY_MS));
        assert_eq!(f.on_progress(Some(410)), failed(Error::ResultNotHandedOver));
        assert_eq!(Error::ResultNotHandedOver.code(), "popup_closed");
        assert!(Error::ResultNotHandedOver.description().contains("must load the Kloudless authenticator"));
        assert_eq!(f.on_message(&success()), Ok(Step::Ignore));
    }

    #[test]
    fn abort_ends_a_flow_once_in_any_phase() {
        let mut waiting = flow();
        assert_eq!(waiting.abort(Error::Cancelled), failed(Error::Cancelled));
        assert_eq!(waiting.abort(Error::Cancelled), Step::Ignore);
        assert_eq!(waiting.on_message(&success()), Ok(Step::Ignore));
        let mut verifying = flow();
        verifying.on_message(&success()).unwrap();
        assert_eq!(verifying.abort(Error::FlowTimeout), failed(Error::FlowTimeout));
        assert_eq!(verifying.on_token(token_ok()), Step::Ignore);
    }

    #[test]
    fn hex_is_lowercase() {
        assert_eq!(hex(&[0, 15, 16, 255]), "000f10ff");
    }
}
