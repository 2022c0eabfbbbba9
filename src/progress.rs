//! The second delivery channel, for pop-ups whose `window.opener` was cut (an intermediate
//! page sent `Cross-Origin-Opener-Policy`), so that no `postMessage` can reach the page.
//!
//! The pop-up URL carries `return_to`: the `return_url` option, or this page's URL. When the
//! app registered it as a return URL, and the server's result page finds no opener, the result
//! page takes the pop-up there with a one-time code in the URL fragment — never the result. The
//! library, loaded there, hands the code to this page over a same-origin channel (see
//! [`RETURN_CHANNEL`]); this page redeems it at the server (`POST {baseUrl}/v1/oauth/progress/redeem`,
//! [`Redeem`]) and the message it gets back goes through every check a posted message does.
//! No token so sits in a URL, history, session restore or a later redirect.
//!
//! Such a pop-up reads as closed while the user is still signing in, so a closed-looking pop-up
//! is only a hint: the page then asks the server how far the flow is
//! (`POST {baseUrl}/v1/oauth/progress`), and keeps waiting while it is under way.

use crate::popup::{api_url, encode_component};
use kloudless_protocol::{PROGRESS_PATH, REDEEM_PATH, progress_status};
pub use kloudless_protocol::{RETURN_CHANNEL, RETURN_FRAGMENT};

/// Pause between a reply that finds the flow under way and the next check, in milliseconds.
pub const RETRY_MS: u64 = 500;

/// Pause between a reply that finds nothing under way and the next check, in milliseconds.
pub const GRACE_RETRY_MS: u64 = 100;

/// Checks in a row that find nothing under way before the pop-up counts as closed by the user:
/// the first when it reads as closed, the second [`GRACE_RETRY_MS`] after its reply. A result
/// the pop-up posted before it closed is queued on this page before the first check is even
/// sent, and one on its way back to the app's return page reads as under way; so the grace
/// period only covers a message still crossing between processes, and a closed pop-up reaches
/// the callback about 100 ms (plus two requests' own time) after it reads as closed — unless
/// the server has not heard of it within [`FIRST_PAGE_MS`] of the launch (a pop-up closed on
/// one of the flow's pages reads as [`Found::Closed`] at once).
pub const GRACE_ATTEMPTS: u8 = 2;

/// How long after the launch a check that finds nothing does not count, in milliseconds: a
/// pop-up cut by COOP on a page before the server's (an SSO gateway, a redirecting proxy) reads
/// as closed before its first request may have reached the server, which then knows nothing of
/// the flow yet. Meanwhile the checks go on every [`RETRY_MS`]. An ordinary close, on a page
/// of the flow, is not slowed: its beacon makes the server answer [`Found::Closed`].
pub const FIRST_PAGE_MS: u64 = 3_000;

/// `{baseUrl}/v1/oauth/progress`, where the flow's progress is asked for.
pub fn url(base_url: &str) -> String {
    api_url(base_url, PROGRESS_PATH)
}

/// The progress request's form body: `client_id=…&request_id=…`.
pub fn body(client_id: &str, request_id: &str) -> String {
    format!("client_id={}&request_id={}", encode_component(client_id), encode_component(request_id))
}

/// Whether `text` can be a return code: 1 to 128 lowercase hex digits (the server mints 64).
pub fn is_code(text: &str) -> bool {
    (1..=128).contains(&text.len()) && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The redemption of a code handed over: where to POST which form.
#[derive(Clone, Debug, PartialEq)]
pub struct Redeem {
    /// `{baseUrl}/v1/oauth/progress/redeem`.
    pub url: String,
    /// `code=…&client_id=…&request_id=…`.
    pub body: String,
}

impl Redeem {
    /// The redemption of `code` for the flow `request_id` of app `client_id` at `base_url`.
    pub fn new(base_url: &str, code: &str, client_id: &str, request_id: &str) -> Redeem {
        Redeem {
            url: api_url(base_url, REDEEM_PATH),
            body: format!("code={}&{}", encode_component(code), body(client_id, request_id)),
        }
    }
}

/// Whether a redemption's reply status (`None`: no reply) carries the result message: 200
/// only (another flow's code, a used or expired one gets 400 and is ignored).
pub fn redeemed(status: Option<u16>) -> bool {
    status == Some(200)
}

/// What a progress check found.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Found {
    /// The user is in the pop-up, or its result is on its way back to this page: keep waiting.
    UnderWay,
    /// The result went back to this page's URL, and no page there handed it over in time.
    NotDelivered,
    /// The user closed the pop-up on one of the flow's pages.
    Closed,
    /// Nothing (unknown, not yet opened, expired, a server without the channel, or no reply).
    Nothing,
}

/// Reads a progress reply's status (`None`: no reply) per [`progress_status`]: anything but a
/// flow under way, a closed pop-up or a result not delivered is nothing (older servers answer
/// 404 for nothing, and nothing for a closed pop-up too).
pub fn found(status: Option<u16>) -> Found {
    match status {
        Some(progress_status::UNDER_WAY) => Found::UnderWay,
        Some(progress_status::CLOSED) => Found::Closed,
        Some(progress_status::NOT_DELIVERED) => Found::NotDelivered,
        _ => Found::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_names_the_app_and_the_flow() {
        assert_eq!(url("http://api.test/"), "http://api.test/v1/oauth/progress");
        assert_eq!(body("my app", "00ff"), "client_id=my%20app&request_id=00ff");
    }

    #[test]
    fn a_code_is_redeemed_for_its_flow_and_only_a_200_carries_the_message() {
        let redeem = Redeem::new("http://api.test/", "00ff", "my app", "r1");
        assert_eq!(redeem.url, "http://api.test/v1/oauth/progress/redeem");
        assert_eq!(redeem.body, "code=00ff&client_id=my%20app&request_id=r1");
        assert!(redeemed(Some(200)));
        for other in [Some(400), Some(404), Some(500), None] {
            assert!(!redeemed(other));
        }
    }

    #[test]
    fn codes_are_lowercase_hex() {
        assert!(is_code(&"0a".repeat(32)));
        for bad in ["", "0A", "kloudless:{}", "00 ff", &"0".repeat(129)] {
            assert!(!is_code(bad), "{bad}");
        }
    }

    #[test]
    fn replies_are_read_by_status() {
        assert_eq!(found(Some(202)), Found::UnderWay);
        assert_eq!(found(Some(410)), Found::NotDelivered);
        assert_eq!(found(Some(205)), Found::Closed);
        for other in [Some(200), Some(204), Some(404), Some(500), None] {
            assert_eq!(found(other), Found::Nothing);
        }
    }
}
