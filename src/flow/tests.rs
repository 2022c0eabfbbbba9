//! The flow's unit tests: each event in each phase, and the deadlines.

use super::*;
use crate::message::Data;
use crate::options::OptionValue;

const STATE: &str = "000102030405060708090a0b0c0d0e0f";
const REQUEST: &str = "101112131415161718191a1b1c1d1e1f";
const API: &str = "http://api.test";

fn options() -> Options {
    Options::new([("client_id".to_owned(), OptionValue::Text("app".into()))]).unwrap()
}

/// The time a test flow starts at.
const T0: Millis = 1_000;

fn flow() -> Flow {
    timed_flow(0)
}

/// A flow started at [`T0`] with this `flowTimeout`.
fn timed_flow(flow_timeout_ms: u32) -> Flow {
    let random: [u8; RANDOM_BYTES] = std::array::from_fn(|i| i as u8);
    Flow::new("http://api.test/", API, &options(), &random, T0, flow_timeout_ms)
}

/// A result message's fields: for `id`, with `state` and maybe a token.
fn result(id: &str, state: &str, token: Option<&str>) -> Fields {
    Fields {
        kind: Some("authentication".into()),
        id: Some(id.into()),
        data: Some(Data { state: Some(state.into()), access_token: token.map(Into::into), error: None }),
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
    assert_eq!(f.on_handed_over("kloudless:{\"type\":\"authentication\"}"), Step::Ignore, "never a message");
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
    let no_state = Fields {
        data: Some(Data { state: None, access_token: Some("tok".into()), error: None }),
        ..success()
    };
    assert_eq!(missing.on_message(&no_state), Ok(failed(Error::InvalidState)));
}

#[test]
fn a_server_error_passes_through_unchanged() {
    let mut f = flow();
    assert_eq!(f.on_message(&result(REQUEST, STATE, None)), Ok(Step::Finish(Outcome::PassedThrough)));
}

/// A result message for this request whose data has only `error` (and no `state`).
fn stateless_error(error: &str) -> Fields {
    Fields { data: Some(Data { error: Some(error.into()), ..Data::default() }), ..success() }
}

#[test]
fn a_setup_error_without_state_ends_the_flow_at_once_as_refused() {
    let mut f = flow();
    assert_eq!(f.on_message(&stateless_error("untrusted_origin")), Ok(Step::Finish(Outcome::Refused)));
    assert!(!f.awaits_result());
    assert_eq!(f.on_message(&success()), Ok(Step::Ignore), "once");
    assert_eq!(f.on_popup_closed(), Step::Ignore);
    // Any other stateless error is a result without this flow's state.
    let mut other = flow();
    assert_eq!(other.on_message(&stateless_error("access_denied")), Ok(failed(Error::InvalidState)));
    // A setup error's code from a flow that started (with its state) passes through.
    let mut started = flow();
    let with_state = Fields {
        data: Some(Data {
            state: Some(STATE.into()),
            error: Some("invalid_scope".into()),
            access_token: None,
        }),
        ..success()
    };
    assert_eq!(started.on_message(&with_state), Ok(Step::Finish(Outcome::PassedThrough)));
    // And another request's setup error is not this flow's.
    let mut mine = flow();
    let theirs = Fields { id: Some("other".into()), ..stateless_error("invalid_client") };
    assert_eq!(mine.on_message(&theirs), Err(Dropped::OtherRequest));
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

fn check() -> Step {
    Step::CheckProgress {
        url: "http://api.test/v1/oauth/progress".into(),
        body: ["client_id=app&request_id=", REQUEST].concat(),
    }
}

/// When the progress replies of most tests come: once a pop-up's first page can have reached the
/// server ([`progress::FIRST_PAGE_MS`] after the launch at [`T0`]).
const LATER: Millis = T0 + progress::FIRST_PAGE_MS;

/// The flow's step on a progress reply (at [`LATER`]); when the reply only set the next check,
/// the step when that check is due, which is exactly [`progress::RETRY_MS`] later after a flow
/// under way (202), [`progress::GRACE_RETRY_MS`] after a miss.
fn reply(f: &mut Flow, status: Option<u16>) -> Step {
    let pause = if status == Some(202) { progress::RETRY_MS } else { progress::GRACE_RETRY_MS };
    match f.on_progress(status, LATER) {
        Step::Ignore if f.poll_timeout() == Some(LATER + pause) => {
            assert_eq!(f.handle_timeout(LATER + pause - 1), Step::Ignore, "not before");
            f.handle_timeout(LATER + pause)
        }
        step => step,
    }
}

/// A pop-up cut by COOP on a page before the server's reads as closed while the server knows
/// nothing of its flow yet: a check finding nothing within [`progress::FIRST_PAGE_MS`] of the
/// launch is no miss, the checks go on, and the flow delivers once its first page arrives.
#[test]
fn finding_nothing_before_the_first_page_can_have_arrived_is_no_miss() {
    let mut f = flow();
    assert_eq!(f.on_popup_closed(), check());
    for at in [T0 + 100, T0 + 1_000, LATER - 1] {
        assert_eq!(f.on_progress(Some(204), at), Step::Ignore, "at {at}");
        assert_eq!(f.poll_timeout(), Some(at + progress::RETRY_MS));
        assert_eq!(f.handle_timeout(at + progress::RETRY_MS), check());
    }
    assert_eq!(reply(&mut f, Some(202)), check(), "its first page arrived");
    assert_eq!(f.on_message(&success()), Ok(verify()));
    // Found nothing early, then nothing twice after: closed.
    let mut closed = flow();
    closed.on_popup_closed();
    assert_eq!(closed.on_progress(Some(204), T0 + 100), Step::Ignore);
    assert_eq!(reply(&mut closed, Some(204)), check());
    assert_eq!(reply(&mut closed, Some(204)), failed(Error::PopupClosed));
}

/// A pop-up the user closed on one of the flow's pages (its beacon reached the server) is
/// closed however early: two checks [`progress::GRACE_RETRY_MS`] apart end the flow.
#[test]
fn a_popup_closed_on_a_page_of_the_flow_ends_it_however_early() {
    let mut f = flow();
    assert_eq!(f.on_popup_closed(), check());
    let at = T0 + 100;
    assert_eq!(f.on_progress(Some(205), at), Step::Ignore);
    assert_eq!(f.poll_timeout(), Some(at + progress::GRACE_RETRY_MS));
    assert_eq!(f.handle_timeout(at + progress::GRACE_RETRY_MS), check());
    assert_eq!(f.on_progress(Some(205), at + 150), failed(Error::PopupClosed));
}

#[test]
fn the_popup_matters_only_while_awaiting_the_result() {
    let mut blocked = flow();
    assert_eq!(blocked.on_popup_blocked(), failed(Error::PopupBlocked));
    let mut delivered = flow();
    delivered.on_message(&success()).unwrap();
    assert_eq!(delivered.on_popup_closed(), Step::Ignore);
    assert_eq!(reply(&mut delivered, Some(202)), Step::Ignore);
}

#[test]
fn a_closed_popup_is_a_hint_the_grace_period_is_two_checks_finding_nothing() {
    for (first, second) in [(Some(204), Some(204)), (Some(404), None), (None, Some(200))] {
        let mut f = flow();
        assert_eq!(f.on_popup_closed(), check());
        assert_eq!(f.on_popup_closed(), Step::Ignore, "the checks start once");
        assert_eq!(reply(&mut f, first), check());
        assert_eq!(reply(&mut f, second), failed(Error::PopupClosed));
        assert_eq!(reply(&mut f, Some(202)), Step::Ignore);
        assert_eq!(f.on_message(&success()), Ok(Step::Ignore));
    }
    // From the pop-up reading as closed to the callback: the grace period, plus the requests.
    assert_eq!(POPUP_CLOSED_GRACE_MS, 100);
    const { assert!(POPUP_POLL_MS + POPUP_CLOSED_GRACE_MS <= 200, "a closed pop-up is reported within 300 ms") };
}

#[test]
fn a_result_posted_before_the_close_still_wins() {
    let mut f = flow();
    f.on_popup_closed();
    assert_eq!(reply(&mut f, Some(204)), check());
    assert_eq!(f.on_message(&success()), Ok(verify()), "within the grace period");
    assert_eq!(reply(&mut f, Some(204)), Step::Ignore);
}

#[test]
fn a_flow_under_way_at_the_server_keeps_the_checks_going_and_a_handed_over_result_wins() {
    let mut f = flow();
    f.on_popup_closed();
    for _ in 0..10 {
        reply(&mut f, Some(204));
        assert_eq!(reply(&mut f, Some(202)), check());
    }
    assert_eq!(f.on_message(&result("other", STATE, Some("tok"))), Err(Dropped::OtherRequest));
    assert_eq!(f.on_message(&success()), Ok(verify()));
    assert_eq!(reply(&mut f, Some(202)), Step::Ignore, "the checks stop");
}

#[test]
fn a_result_not_handed_over_ends_the_flow_with_its_own_description() {
    let mut f = flow();
    f.on_popup_closed();
    assert_eq!(reply(&mut f, Some(202)), check());
    assert_eq!(reply(&mut f, Some(410)), failed(Error::ResultNotHandedOver));
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
    assert_eq!(verifying.abort(Error::Cancelled), failed(Error::Cancelled));
    assert_eq!(verifying.on_token(token_ok()), Step::Ignore);
}

#[test]
fn the_popup_is_polled_every_interval_until_it_reads_as_closed() {
    let mut f = flow();
    let mut at = T0;
    for _ in 0..3 {
        at += POPUP_POLL_MS;
        assert_eq!(f.poll_timeout(), Some(at));
        assert_eq!(f.handle_timeout(at - 1), Step::Ignore, "not before its time");
        assert_eq!(f.handle_timeout(at), Step::CheckPopup);
    }
    // A late wake-up polls once, and the next poll is an interval after it.
    assert_eq!(f.handle_timeout(at + 1_000), Step::CheckPopup);
    assert_eq!(f.poll_timeout(), Some(at + 1_000 + POPUP_POLL_MS));
    assert_eq!(f.on_popup_closed(), check());
    assert_eq!(f.poll_timeout(), None, "no more polls, and the check's reply is awaited");
    assert_eq!(f.handle_timeout(at + 10_000), Step::Ignore);
}

#[test]
fn the_flow_timeout_fires_exactly_once_at_its_deadline_in_any_phase() {
    let deadline = T0 + 1_000;
    // Awaiting the result: the polls come first, then the deadline.
    let mut waiting = timed_flow(1_000);
    let mut polls = 0;
    while let Some(at) = waiting.poll_timeout() {
        match waiting.handle_timeout(at) {
            Step::CheckPopup => polls += 1,
            step => {
                assert_eq!((at, step), (deadline, failed(Error::FlowTimeout)));
                break;
            }
        }
    }
    assert_eq!(polls, 9, "every 100 ms up to 900 ms");
    assert_eq!(waiting.poll_timeout(), None);
    assert_eq!(waiting.handle_timeout(deadline + 1), Step::Ignore, "once");
    assert_eq!(waiting.on_message(&success()), Ok(Step::Ignore));
    // Verifying: only the deadline is left.
    let mut verifying = timed_flow(1_000);
    verifying.on_message(&success()).unwrap();
    assert_eq!(verifying.poll_timeout(), Some(deadline));
    assert_eq!(verifying.handle_timeout(deadline - 1), Step::Ignore);
    assert_eq!(verifying.handle_timeout(deadline), failed(Error::FlowTimeout));
    assert_eq!(verifying.on_token(token_ok()), Step::Ignore);
    // Checking the progress: the deadline wins over a check due at the same time.
    let mut checking = timed_flow(1_000);
    checking.on_popup_closed();
    assert_eq!(checking.poll_timeout(), Some(deadline), "the check's reply is awaited");
    checking.on_progress(Some(202), deadline - progress::RETRY_MS);
    assert_eq!(checking.poll_timeout(), Some(deadline));
    assert_eq!(checking.handle_timeout(deadline), failed(Error::FlowTimeout));
    assert_eq!(checking.handle_timeout(deadline), Step::Ignore);
}

#[test]
fn a_finished_flow_wants_no_wake_up() {
    let mut f = timed_flow(1_000);
    f.on_message(&success()).unwrap();
    f.on_token(token_ok());
    assert_eq!(f.on_account(account_ok()), Step::Finish(Outcome::Connected));
    assert_eq!(f.poll_timeout(), None);
    assert_eq!(f.handle_timeout(T0 + 1_000), Step::Ignore, "a finished flow never times out");
}

#[test]
fn hex_is_lowercase() {
    assert_eq!(hex(&[0, 15, 16, 255]), "000f10ff");
}
