//! The Kloudless v1 authenticator wire protocol, written once for the browser library and the
//! API server: the pop-up's URL and parameters, the messages it sends back, the API's replies
//! that the library reads, and the error codes that cross between them.
//!
//! `no_std` (with `alloc`), so that the library's browser build takes only what it uses.

#![no_std]
#![warn(missing_docs)]

extern crate alloc;

use alloc::string::String;
use core::ops::Deref;
use serde::{Deserialize, Serialize};

/// The API version, the first segment of every endpoint's path.
pub const API_VERSION: &str = "v1";

/// The pop-up's path on the API server (`GET` shows it, `POST` submits its forms).
pub const POPUP_PATH: &str = "/v1/oauth";

/// The relay page, loaded in a hidden iframe on the page.
pub const RELAY_PATH: &str = "/static/iexd.html";

/// The pop-up window's name, as the original used (the library's, and the relay page's).
pub const POPUP_WINDOW_NAME: &str = "kPOPUP";

/// The token endpoint: `GET` with `Authorization: Bearer …` answers a [`TokenInfo`].
pub const TOKEN_PATH: &str = "/v1/oauth/token/";

/// The account endpoint for a bearer token's own account (`me`), as the library asks for it.
pub const OWN_ACCOUNT_PATH: &str = "/v1/accounts/me/?retrieve_full=False";

/// The account API (an app's backend lists its accounts here; `{ACCOUNTS_PATH}/{id}` is one
/// account, and `me` a bearer token's own, as in [`OWN_ACCOUNT_PATH`]).
pub const ACCOUNTS_PATH: &str = "/v1/accounts";

/// Where an app's backend mints a sign-in token for one of its users (`POST`, see
/// [`SIGN_IN_TOKEN`]).
pub const SIGN_IN_TOKENS_PATH: &str = "/v1/sign_in_tokens";

/// Where the page asks how far a pop-up flow is (the second channel).
pub const PROGRESS_PATH: &str = "/v1/oauth/progress";

/// The progress check's answers, by HTTP status: none is an error status, as every pop-up the
/// user closes ends with such an answer, which must not show as a failed request in the page's
/// console. Older servers answered [`progress_status::NOTHING`] for a closed pop-up too, and
/// 404 for nothing; a library reads every other status as nothing.
pub mod progress_status {
    /// The user is in the pop-up, or its result is on its way back to the app's page.
    pub const UNDER_WAY: u16 = 202;
    /// Nothing is known of the flow: never opened (its first page has not reached the server
    /// yet), finished, expired, or another app's.
    pub const NOTHING: u16 = 204;
    /// The user closed the pop-up on one of the flow's pages (its beacon reached the server):
    /// no result will come.
    pub const CLOSED: u16 = 205;
    /// The result went back to the app's return page, which did not hand it over in time.
    pub const NOT_DELIVERED: u16 = 410;
}

/// Where the pop-up's beacon abandons a flow when the user closes it.
pub const ABANDON_PATH: &str = "/v1/oauth/progress/abandon";

/// Where the waiting page redeems the one-time code a pop-up brought back to the app's return
/// page (`POST`, form `code`, `client_id`, `request_id`): the result message, once.
pub const REDEEM_PATH: &str = "/v1/oauth/progress/redeem";

/// The `redirect_uri` of the out-of-band flow.
pub const OOB_REDIRECT_URI: &str = "urn:ietf:wg:oauth:2.0:oob";

/// The only `response_type`.
pub const RESPONSE_TYPE: &str = "token";

/// The header the library sends with its API requests, and its value.
pub const SOURCE_HEADER: (&str, &str) = ("X-Kloudless-Source", "authenticator");

/// Parameters of the pop-up URL that the library sets itself (a page's own values for them
/// are dropped): `redirect_uri`, `response_type`, `state`, `request_id`, `origin`, and
/// [`RETURN_TO`].
pub const RESERVED_PARAMS: [&str; 6] =
    ["redirect_uri", "response_type", "state", "request_id", "origin", RETURN_TO];

/// The pop-up parameter (and the library's option of the same name) naming the language of the
/// pop-up's pages: a BCP 47 tag (`de-DE`); the server takes it over the browser's
/// `Accept-Language` when it has that language, and ignores it otherwise.
pub const LOCALE: &str = "locale";

/// The pop-up parameter carrying a [`ReturnTo`].
pub const RETURN_TO: &str = "return_to";

/// The page a pop-up whose opener was cut comes back to, with [`RETURN_FRAGMENT`] and a one-time
/// code: the library sends it as [`RETURN_TO`] (its `return_url` option, or the launching page);
/// the server takes it only when it is one of the app's registered return pages, and its result
/// page goes there. One type from the library's pop-up URL to the server's result page (JSON: the
/// URL as a string).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReturnTo(String);

impl ReturnTo {
    /// The page at `url` (the server checks it; see above).
    pub fn new(url: impl Into<String>) -> ReturnTo {
        ReturnTo(url.into())
    }

    /// The page's URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for ReturnTo {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

/// The pop-up parameter (and the library's option of the same name) carrying a single-use
/// sign-in token that the app's backend minted for one end user (`POST /v1/sign_in_tokens`).
/// An option like `client_id`: the library checks it with [`is_sign_in_token`] and passes it on.
pub const SIGN_IN_TOKEN: &str = "sign_in_token";

/// The longest sign-in token a pop-up URL may carry.
pub const MAX_SIGN_IN_TOKEN_LEN: usize = 256;

/// Whether `text` can be a sign-in token: 1 to [`MAX_SIGN_IN_TOKEN_LEN`] characters, ASCII
/// letters, digits, `-`, `_`, `.` and `~` only (the server mints 64 hex digits).
pub fn is_sign_in_token(text: &str) -> bool {
    (1..=MAX_SIGN_IN_TOKEN_LEN).contains(&text.len())
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b))
}

/// Every message of the protocol is a string starting with this namespace, then JSON.
pub const MESSAGE_PREFIX: &str = "kloudless:";

/// The longest message the library reads; anything longer is dropped unread.
pub const MAX_MESSAGE_LEN: usize = 64 * 1024;

/// The `type` of the message that carries the pop-up's result.
pub const AUTHENTICATION: &str = "authentication";

/// When the pop-up has no opener, the server's result page takes it back to `return_to` (one of
/// the app's registered return URLs) with this fragment and a one-time code (never the result);
/// the library loaded there hands the code over on [`RETURN_CHANNEL`], and the waiting page
/// redeems it at [`REDEEM_PATH`].
pub const RETURN_FRAGMENT: &str = "#kloudless-result=";

/// The `BroadcastChannel` (and, where there is none, the `localStorage` key) on the app's
/// origin that a result brought back is handed over on.
pub const RETURN_CHANNEL: &str = "kloudless-authenticator";

/// A message: [`MESSAGE_PREFIX`] and this as JSON, whose members are named by [`fields`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Envelope<T> {
    /// [`AUTHENTICATION`] for a result.
    #[serde(rename = "type")]
    pub kind: String,
    /// The `request_id` of the pop-up URL.
    pub id: String,
    /// The result.
    pub data: T,
}

impl<T> Envelope<T> {
    /// The result message for `request_id`.
    pub fn authentication(request_id: &str, data: T) -> Envelope<T> {
        Envelope { kind: AUTHENTICATION.into(), id: request_id.into(), data }
    }
}

/// The pop-up's result (`data` of the message).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OAuthResult {
    /// An account was connected: a token for it.
    Success {
        /// The bearer token.
        access_token: String,
        /// Always `Bearer`.
        token_type: String,
        /// The scope granted, e.g. `box:normal.storage`.
        scope: String,
        /// The page's `state`, echoed.
        state: String,
    },
    /// The flow failed or was denied.
    Failure {
        /// An [`error code`](codes).
        error: String,
        /// A sentence for people.
        error_description: String,
        /// The page's `state`, echoed.
        state: String,
    },
}

/// The JSON member names of an [`Envelope`] and of its [`OAuthResult`], for a reader without
/// serde (the browser library reads `JSON.parse`'s value member by member, which keeps serde out
/// of its wasm). A test checks them against the serde names.
pub mod fields {
    /// [`Envelope::kind`](super::Envelope::kind).
    pub const TYPE: &str = "type";
    /// [`Envelope::id`](super::Envelope::id).
    pub const ID: &str = "id";
    /// [`Envelope::data`](super::Envelope::data).
    pub const DATA: &str = "data";
    /// The `state` of an [`OAuthResult`](super::OAuthResult).
    pub const STATE: &str = "state";
    /// The `access_token` of an [`OAuthResult::Success`](super::OAuthResult::Success).
    pub const ACCESS_TOKEN: &str = "access_token";
    /// The `error` of an [`OAuthResult::Failure`](super::OAuthResult::Failure) or an
    /// [`ApiError`](super::ApiError) (a setup error: see [`SETUP_ERRORS`](super::codes::SETUP_ERRORS)).
    pub const ERROR: &str = "error";
}

/// What the token endpoint says of a valid token.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenInfo {
    /// The account the token is bound to.
    pub account_id: i64,
    /// The app it was issued to: the library compares it with its own.
    pub client_id: String,
    /// Its scope.
    pub scope: String,
}

/// An error reply of the API: `{error, error_description}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiError {
    /// An [`error code`](codes).
    pub error: String,
    /// A sentence for people.
    pub error_description: String,
}

/// The server's error codes that reach the library (in a result, or an API reply).
pub mod codes {
    /// The user denied access in the pop-up.
    pub const ACCESS_DENIED: &str = "access_denied";
    /// A request the server cannot read.
    pub const INVALID_REQUEST: &str = "invalid_request";
    /// A missing, unknown or expired bearer token.
    pub const INVALID_TOKEN: &str = "invalid_token";
    /// Nothing there.
    pub const NOT_FOUND: &str = "not_found";
    /// The pop-up's `sign_in_token` is missing (for an app that requires one), unknown,
    /// expired, already used by another pop-up (or by another result of its own flow), or
    /// minted for another app.
    pub const INVALID_SIGN_IN_TOKEN: &str = "invalid_sign_in_token";
    /// The account the pop-up connected is recorded for another end user of the app (another
    /// sign-in token's `user_id`): it was not connected, and nothing changed.
    pub const ACCOUNT_OF_ANOTHER_USER: &str = "account_of_another_user";
    /// The result of a flow went back to the launching page, which did not hand it over.
    pub const NOT_DELIVERED: &str = "not_delivered";
    /// A return code that is unknown, already redeemed, expired, or not this flow's or origin's.
    pub const INVALID_CODE: &str = "invalid_code";
    /// A setup error: the pop-up's `client_id` is missing or names no app of the server.
    pub const INVALID_CLIENT: &str = "invalid_client";
    /// A setup error: the page's origin is not one of the app's Trusted Domains.
    pub const UNTRUSTED_ORIGIN: &str = "untrusted_origin";
    /// A setup error: the pop-up's `return_to` is not one of the app's registered return pages.
    pub const INVALID_RETURN_TO: &str = "invalid_return_to";
    /// A setup error: the app requires a sign-in token and the pop-up was given none.
    pub const SIGN_IN_TOKEN_REQUIRED: &str = "sign_in_token_required";
    /// A setup error: the `scope` allows no service of the server (RFC 6749 §4.1.2.1).
    pub const INVALID_SCOPE: &str = "invalid_scope";
    /// A setup error: a `response_type` the pop-up does not take (RFC 6749 §4.1.2.1).
    pub const UNSUPPORTED_RESPONSE_TYPE: &str = "unsupported_response_type";

    /// The errors of a pop-up request refused before any flow started. The pop-up's error page
    /// posts one to its opener with the target origin `'*'`, as a result message for the
    /// request's `id` whose data holds only `error` and `error_description` (no `state`, nothing
    /// secret); the library takes such a stateless result only with one of these codes, and
    /// only from its own pop-up or relay on the API's origin.
    pub const SETUP_ERRORS: [&str; 6] = [
        INVALID_CLIENT,
        UNTRUSTED_ORIGIN,
        INVALID_RETURN_TO,
        INVALID_REQUEST,
        INVALID_SCOPE,
        UNSUPPORTED_RESPONSE_TYPE,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_result_message_has_the_original_shape() {
        let data = OAuthResult::Success {
            access_token: "t".into(),
            token_type: "Bearer".into(),
            scope: "box".into(),
            state: "s".into(),
        };
        let text = serde_json::to_string(&Envelope::authentication("r", data.clone())).unwrap();
        assert_eq!(
            text,
            r#"{"type":"authentication","id":"r","data":{"access_token":"t","token_type":"Bearer","scope":"box","state":"s"}}"#
        );
        let back: Envelope<OAuthResult> = serde_json::from_str(&text).unwrap();
        assert_eq!(back.data, data);
        let denied: OAuthResult =
            serde_json::from_str(r#"{"error":"access_denied","error_description":"no","state":"s"}"#)
                .unwrap();
        assert!(matches!(denied, OAuthResult::Failure { error, .. } if error == codes::ACCESS_DENIED));
    }

    #[test]
    fn the_field_names_are_the_serde_names() {
        use serde_json::{Value, json};
        let connected = OAuthResult::Success {
            access_token: "t".into(),
            token_type: "Bearer".into(),
            scope: "box".into(),
            state: "s".into(),
        };
        let message = serde_json::to_value(Envelope::authentication("r", connected)).unwrap();
        assert_eq!(message[fields::TYPE], AUTHENTICATION);
        assert_eq!(message[fields::ID], "r");
        assert_eq!(message[fields::DATA][fields::STATE], "s");
        assert_eq!(message[fields::DATA][fields::ACCESS_TOKEN], "t");
        let keys = |value: &Value| value.as_object().unwrap().len();
        assert_eq!(keys(&message), 3, "type, id and data only");
        let failed = OAuthResult::Failure {
            error: codes::ACCESS_DENIED.into(),
            error_description: "no".into(),
            state: "s".into(),
        };
        assert_eq!(serde_json::to_value(failed).unwrap()[fields::STATE], "s");
        let back = ReturnTo::new("https://a.test/back?x=1");
        assert_eq!(serde_json::to_value(&back).unwrap(), json!("https://a.test/back?x=1"));
        assert_eq!(
            serde_json::from_value::<ReturnTo>(json!("https://a.test/")).unwrap().as_str(),
            "https://a.test/"
        );
    }

    #[test]
    fn the_paths_are_under_the_api_version() {
        for path in [POPUP_PATH, TOKEN_PATH, OWN_ACCOUNT_PATH, PROGRESS_PATH, ABANDON_PATH] {
            assert!(path.starts_with(&["/", API_VERSION, "/"].concat()), "{path}");
        }
        assert!(RESERVED_PARAMS.contains(&RETURN_TO));
        assert!(!RESERVED_PARAMS.contains(&SIGN_IN_TOKEN), "a page's own option, passed on");
    }

    #[test]
    fn a_sign_in_token_is_short_and_url_safe() {
        assert!(is_sign_in_token(&"0123456789abcdef".repeat(4)));
        assert!(is_sign_in_token("A-z_0.9~"));
        assert!(is_sign_in_token(&"a".repeat(MAX_SIGN_IN_TOKEN_LEN)));
        for bad in ["", "a b", "a/b", "a%20", "é", "a+b", "a=b"] {
            assert!(!is_sign_in_token(bad), "{bad:?}");
        }
        assert!(!is_sign_in_token(&"a".repeat(MAX_SIGN_IN_TOKEN_LEN + 1)));
    }
}
