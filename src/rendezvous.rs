//! The second delivery channel, for pop-ups whose `window.opener` was cut (an intermediate
//! page sent `Cross-Origin-Opener-Policy`), so that no `postMessage` can reach the page.
//!
//! As PKCE does, a launch keeps a secret `verifier` and sends only its SHA-256 `challenge` in
//! the pop-up URL. The API server keeps the pop-up's result under that challenge, bound to the
//! app and the page's origin, for a few minutes. When the pop-up reads as closed, the page
//! collects the result with the verifier (`POST {baseUrl}/v1/oauth/rendezvous`, CORS): the server
//! hands it out once. The result is the same `kloudless:` message the pop-up would have posted.

use alloc::string::String;

use crate::popup::{api_url, encode_component};
use crate::verify::Reply;

/// Pause between two collection attempts, in milliseconds.
pub const RETRY_MS: i32 = 500;

/// Attempts in a row that find nothing before the pop-up counts as closed by the user: the
/// first when it reads as closed, then one every [`RETRY_MS`], so a late result has a grace
/// period of 1.5 s (plus the requests' own time).
pub const GRACE_ATTEMPTS: u8 = 4;

/// The challenge for `verifier`: lowercase hex of its SHA-256.
pub fn challenge(verifier: &str) -> String {
    crate::flow::hex(&crate::sha256::digest(verifier.as_bytes()))
}

/// `{baseUrl}/v1/oauth/rendezvous`, where the result is collected.
pub fn url(base_url: &str) -> String {
    api_url(base_url, "/oauth/rendezvous")
}

/// The collection request's form body: `client_id=…&verifier=…`.
pub fn body(client_id: &str, verifier: &str) -> String {
    let mut body = String::from("client_id=");
    encode_component(client_id, &mut body);
    body.push_str("&verifier=");
    body.push_str(verifier);
    body
}

/// What a collection attempt found.
#[derive(Clone, Debug, PartialEq)]
pub enum Found<'a> {
    /// The pop-up's result message, handed out once.
    Result(&'a str),
    /// The pop-up reached the server and its flow is still under way: keep waiting.
    Pending,
    /// Nothing (unknown, expired, abandoned, a server without the channel, or no reply).
    Nothing,
}

/// Reads a collection reply: 200 is the result, 202 a flow under way, anything else nothing.
pub fn found(reply: Option<Reply<'_>>) -> Found<'_> {
    match reply {
        Some(Reply { status: 200, body }) => Found::Result(body),
        Some(Reply { status: 202, .. }) => Found::Pending,
        _ => Found::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_the_hex_sha256_of_the_verifier() {
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        assert_eq!(challenge("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(challenge("abc").len(), 64);
    }

    #[test]
    fn the_request_names_the_app_and_the_verifier() {
        assert_eq!(url("http://api.test/"), "http://api.test/v1/oauth/rendezvous");
        assert_eq!(body("my app", "00ff"), "client_id=my%20app&verifier=00ff");
    }

    #[test]
    fn replies_are_read_by_status() {
        let reply = |status, body| Some(Reply { status, body });
        assert_eq!(found(reply(200, "kloudless:{}")), Found::Result("kloudless:{}"));
        assert_eq!(found(reply(202, "")), Found::Pending);
        for other in [reply(404, ""), reply(410, ""), reply(500, "kloudless:{}"), None] {
            assert_eq!(found(other), Found::Nothing);
        }
    }
}
