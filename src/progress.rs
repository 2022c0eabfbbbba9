//! The second delivery channel, for pop-ups whose `window.opener` was cut (an intermediate
//! page sent `Cross-Origin-Opener-Policy`), so that no `postMessage` can reach the page.
//!
//! The pop-up URL carries `return_to`, this page's URL. When the server's result page finds no
//! opener, it takes the pop-up back to that page with the result message in the URL fragment;
//! the library, loaded there, hands the message to this page over a same-origin channel (see
//! [`RETURN_CHANNEL`]), where it goes through every check a posted message does. The token so
//! only ever reaches a page on this page's origin, and no server keeps it.
//!
//! Such a pop-up reads as closed while the user is still signing in, so a closed-looking pop-up
//! is only a hint: the page then asks the server how far the flow is
//! (`POST {baseUrl}/v1/oauth/progress`), and keeps waiting while it is under way.

use crate::popup::{api_url, encode_component};
use kloudless_protocol::PROGRESS_PATH;
pub use kloudless_protocol::{RETURN_CHANNEL, RETURN_FRAGMENT};

/// Pause between two progress checks, in milliseconds.
pub const RETRY_MS: i32 = 500;

/// Checks in a row that find nothing under way before the pop-up counts as closed by the user:
/// the first when it reads as closed, then one every [`RETRY_MS`], so a late result has a grace
/// period of 1.5 s (plus the requests' own time).
pub const GRACE_ATTEMPTS: u8 = 4;

/// `{baseUrl}/v1/oauth/progress`, where the flow's progress is asked for.
pub fn url(base_url: &str) -> String {
    api_url(base_url, PROGRESS_PATH)
}

/// The progress request's form body: `client_id=…&request_id=…`.
pub fn body(client_id: &str, request_id: &str) -> String {
    format!("client_id={}&request_id={}", encode_component(client_id), encode_component(request_id))
}

/// What a progress check found.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Found {
    /// The user is in the pop-up, or its result is on its way back to this page: keep waiting.
    UnderWay,
    /// The result went back to this page's URL, and no page there handed it over in time.
    NotDelivered,
    /// Nothing (unknown, expired, abandoned, a server without the channel, or no reply).
    Nothing,
}

/// Reads a progress reply's status (`None`: no reply): 202 is a flow under way, 410 a result
/// not delivered, anything else nothing.
pub fn found(status: Option<u16>) -> Found {
    match status {
        Some(202) => Found::UnderWay,
        Some(410) => Found::NotDelivered,
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
    fn replies_are_read_by_status() {
        assert_eq!(found(Some(202)), Found::UnderWay);
        assert_eq!(found(Some(410)), Found::NotDelivered);
        for other in [Some(200), Some(404), Some(500), None] {
            assert_eq!(found(other), Found::Nothing);
        }
    }
}
