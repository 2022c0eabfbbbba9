//! One launch of the pop-up, as a sans-IO state machine: the browser shell feeds it events
//! (a message, a server reply, the pop-up closing) and carries out the [`Step`] it returns.
//!
//! A flow finishes exactly once: after [`Step::Finish`] every event is ignored.
//!
//! The flow also owns every deadline (as quinn-proto's connections do): [`Flow::poll_timeout`]
//! says when it next wants to be woken (the next pop-up poll, progress check, or the flow
//! timeout), and [`Flow::handle_timeout`] decides what that time means. The shell keeps a single
//! timer and no notion of what it is for.

use crate::error::Error;
use crate::message::{self, Dropped, Fields, Sender};
use crate::options::Options;
use crate::popup::{self, Launch};
use crate::progress::{self, Found};
use crate::verify::{self, AccountReply, TokenReply};
use kloudless_protocol::ReturnTo;

/// A time in milliseconds on the shell's monotonic clock (`performance.now()`): the core's only
/// notion of time, always handed to it.
pub type Millis = u64;

/// How often the shell checks whether the user closed the pop-up, in milliseconds (reading
/// `window.closed` costs next to nothing).
pub const POPUP_POLL_MS: Millis = 100;

/// About how long after the pop-up reads as closed a result may still arrive, in milliseconds
/// (longer while the server reports the pop-up's flow as under way: see [`progress`]).
pub const POPUP_CLOSED_GRACE_MS: Millis = progress::GRACE_RETRY_MS * (progress::GRACE_ATTEMPTS as Millis - 1);

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
    /// See whether the pop-up reads as closed, and if it does, tell [`Flow::on_popup_closed`].
    CheckPopup,
    /// POST `body` (a form) to `url` and feed the reply's status to [`Flow::on_progress`]: the
    /// pop-up reads as closed, so ask the server whether its flow is still under way.
    CheckProgress {
        /// The progress endpoint.
        url: String,
        /// `client_id` and `request_id`, form-encoded.
        body: String,
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
    /// The result message's `data` (`{error, error_description}`: a setup error, see
    /// [`message::is_setup_error`]) with this flow's `state` added: the pop-up's error page
    /// refused the request before any flow started.
    Refused,
}

#[derive(Clone, Debug, PartialEq)]
enum Phase {
    AwaitingResult(Watch),
    /// Both replies are awaited; each is kept until the other is in.
    Verifying {
        token: Option<Result<(), Error>>,
        account: Option<Result<(), Error>>,
    },
    Done,
}

/// How the pop-up is watched while the result is awaited.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Watch {
    /// Polled, at `next`, for whether it reads as closed.
    Polling { next: Millis },
    /// It read as closed: the server is asked how far its flow is. `misses` counts checks in a
    /// row that found nothing under way; `next` is when the next check is due (`None` while one
    /// is awaited).
    Checking { misses: u8, next: Option<Millis> },
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
    /// When the flow times out, if it does.
    deadline: Option<Millis>,
    /// When it was launched.
    launched: Millis,
}

impl Flow {
    /// Starts a flow at `now` for `options` against `base_url` (whose origin is `api_origin`),
    /// its `state` and `request_id` made from `random` (which must come from a CSPRNG: 128 bits
    /// each). It times out `flow_timeout_ms` later (the `flowTimeout` global option; 0 for never).
    pub fn new(
        base_url: &str,
        api_origin: &str,
        options: &Options,
        random: &[u8; RANDOM_BYTES],
        now: Millis,
        flow_timeout_ms: u32,
    ) -> Flow {
        let (state, request_id) = random.split_at(16);
        Flow {
            base_url: popup::trim_base_url(base_url).to_owned(),
            api_origin: api_origin.to_owned(),
            client_id: options.client_id.clone(),
            state: hex(state),
            request_id: hex(request_id),
            phase: Phase::AwaitingResult(Watch::Polling { next: now + POPUP_POLL_MS }),
            deadline: (flow_timeout_ms > 0).then(|| now + Millis::from(flow_timeout_ms)),
            launched: now,
        }
    }

    /// The next time the flow wants [`Flow::handle_timeout`] called: the flow timeout, the next
    /// pop-up poll or progress check, whichever comes first; `None` once the flow is done.
    pub fn poll_timeout(&self) -> Option<Millis> {
        let watch = match self.phase {
            Phase::AwaitingResult(Watch::Polling { next }) => Some(next),
            Phase::AwaitingResult(Watch::Checking { next, .. }) => next,
            Phase::Verifying { .. } => None,
            Phase::Done => return None,
        };
        match (self.deadline, watch) {
            (Some(deadline), Some(watch)) => Some(deadline.min(watch)),
            (deadline, watch) => deadline.or(watch),
        }
    }

    /// The time is `now` (at or after [`Flow::poll_timeout`], or earlier: then nothing is due).
    /// The flow timeout ends the flow with `timeout`; else a due poll asks for
    /// [`Step::CheckPopup`], a due progress check for [`Step::CheckProgress`].
    pub fn handle_timeout(&mut self, now: Millis) -> Step {
        if matches!(self.phase, Phase::Done) {
            return Step::Ignore;
        }
        if self.deadline.is_some_and(|deadline| deadline <= now) {
            return self.fail(Error::FlowTimeout);
        }
        let Phase::AwaitingResult(watch) = &mut self.phase else { return Step::Ignore };
        match watch {
            Watch::Polling { next } if *next <= now => {
                *next = now + POPUP_POLL_MS;
                Step::CheckPopup
            }
            Watch::Checking { next: next @ Some(_), .. } if next.is_some_and(|at| at <= now) => {
                *next = None;
                self.check_progress()
            }
            _ => Step::Ignore,
        }
    }

    /// The pop-up URL for this launch, the page being `page_url` (without its fragment) at
    /// `origin`; the result comes back to the `return_url` option, or else to that page.
    pub fn popup_url(&self, options: &Options, origin: &str, page_url: &str) -> String {
        let page;
        let return_to = match &options.return_url {
            Some(return_url) => return_url,
            None => {
                page = ReturnTo::new(page_url);
                &page
            }
        };
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
        matches!(self.phase, Phase::AwaitingResult(_))
    }

    /// Whether a message from `sender` may be read at all (before anything of it is).
    pub fn accepts(&self, sender: Sender) -> Result<(), Dropped> {
        message::check_sender(sender, &self.api_origin)
    }

    /// A message that [`Flow::accepts`] and the shell parsed: this flow's result starts the
    /// verification (or, an error from the server, finishes the flow unchanged; a setup error,
    /// which has no `state`, with [`Outcome::Refused`]); any other message is dropped, and
    /// says why.
    pub fn on_message(&mut self, fields: &Fields) -> Result<Step, Dropped> {
        if !self.awaits_result() {
            return Ok(Step::Ignore);
        }
        let data = message::result_for(fields, &self.request_id)?;
        if message::is_setup_error(data) {
            self.phase = Phase::Done;
            return Ok(Step::Finish(Outcome::Refused));
        }
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
    /// reads so while still open. Start checking the flow's progress at the server (once): the
    /// polls stop, and the first check is sent at once.
    pub fn on_popup_closed(&mut self) -> Step {
        match self.phase {
            Phase::AwaitingResult(Watch::Polling { .. }) => {
                self.phase = Phase::AwaitingResult(Watch::Checking { misses: 0, next: None });
                self.check_progress()
            }
            _ => Step::Ignore,
        }
    }

    /// The status of the reply, at `now`, to the last [`Step::CheckProgress`] (`None` when the
    /// request failed). A flow under way at the server (or whose result is on its way back to
    /// this page) keeps the checks going, one [`progress::RETRY_MS`] after each reply, until
    /// the server forgets it (10 minutes after its last page) or `flowTimeout`; a miss is
    /// checked again [`progress::GRACE_RETRY_MS`] after its reply, and
    /// [`progress::GRACE_ATTEMPTS`] misses in a row end the flow with `popup_closed` (a check
    /// within [`progress::FIRST_PAGE_MS`] of the launch that finds nothing at all, not even a
    /// closed pop-up, is no miss), and so,
    /// with its own description, does a result that went back to this page's URL and was not
    /// handed over.
    pub fn on_progress(&mut self, status: Option<u16>, now: Millis) -> Step {
        let Phase::AwaitingResult(Watch::Checking { misses, .. }) = self.phase else { return Step::Ignore };
        let early = now < self.launched + progress::FIRST_PAGE_MS;
        let misses = match progress::found(status) {
            Found::UnderWay => 0,
            Found::NotDelivered => return self.fail(Error::ResultNotHandedOver),
            // Its first page may not have reached the server yet.
            Found::Nothing if early => misses,
            Found::Nothing | Found::Closed => misses + 1,
        };
        if misses >= progress::GRACE_ATTEMPTS {
            return self.fail(Error::PopupClosed);
        }
        let pause = if misses == 0 { progress::RETRY_MS } else { progress::GRACE_RETRY_MS };
        let next = Some(now + pause);
        self.phase = Phase::AwaitingResult(Watch::Checking { misses, next });
        Step::Ignore
    }

    /// Ends the flow with `error` (`cancelled`, `popup_closed` when the page launches again
    /// after its pop-up was closed), unless it has already finished.
    pub fn abort(&mut self, error: Error) -> Step {
        if matches!(self.phase, Phase::Done) { Step::Ignore } else { self.fail(error) }
    }

    fn check_progress(&self) -> Step {
        Step::CheckProgress {
            url: progress::url(&self.base_url),
            body: progress::body(&self.client_id, &self.request_id),
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
mod tests;
