//! The one error type of the library, with stable codes.

/// Everything that can go wrong, each with a stable [`code`](Error::code).
///
/// The first group reaches the callback as `{error, error_description, state}`; the second is
/// thrown at the call with bad arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// `window.open` was refused by a pop-up blocker.
    PopupBlocked,
    /// The user closed the pop-up and no result arrived within the grace period.
    PopupClosed,
    /// The pop-up's opener was cut, and the return page it brought the result's code back to
    /// did not hand it over (that page must load this library). Its code is `popup_closed`.
    ResultNotHandedOver,
    /// The result's `state` is not the one this flow sent.
    InvalidState,
    /// The token endpoint rejected the token or answered something unreadable.
    TokenVerificationFailed,
    /// The token belongs to another app than this authenticator's `client_id`.
    ClientIdMismatch,
    /// The account endpoint failed or answered something unreadable.
    AccountRetrievalFailed,
    /// A request to the API server did not complete (offline, CORS refused, connection lost).
    NetworkError,
    /// A request to the API server got no reply within `requestTimeout`.
    RequestTimeout,
    /// The flow did not finish within the `flowTimeout` global option.
    FlowTimeout,
    /// The page ended the flow: `cancel()`, or `stop()` on its element.
    Cancelled,
    /// Thrown: `element` is neither an `Element` nor a jQuery object.
    InvalidElement,
    /// Thrown: `options` has no `client_id` (nor legacy `app_id`).
    MissingClientId,
    /// Thrown: `callback` is missing or not a function.
    InvalidCallback,
    /// Thrown: an option value cannot be turned into a query parameter.
    InvalidOptions,
    /// Thrown: the `sign_in_token` option is not a string of 1 to 256 URL-safe characters.
    InvalidSignInToken,
    /// Thrown: `baseUrl` is not an absolute http(s) URL.
    InvalidBaseUrl,
    /// Thrown: `requestTimeout` or `flowTimeout` is not a whole number of milliseconds ≥ 0.
    InvalidTimeout,
    /// Thrown: no secure random source (`crypto.getRandomValues`) to make `state` from.
    NoRandomSource,
    /// Thrown: called outside a browser window.
    NoBrowser,
}

impl Error {
    /// The stable machine-readable code (`error` in a result).
    pub fn code(self) -> &'static str {
        match self {
            Error::PopupBlocked => "popup_blocked",
            Error::PopupClosed | Error::ResultNotHandedOver => "popup_closed",
            Error::InvalidState => "invalid_state",
            Error::TokenVerificationFailed => "token_verification_failed",
            Error::ClientIdMismatch => "client_id_mismatch",
            Error::AccountRetrievalFailed => "account_retrieval_failed",
            Error::NetworkError => "network_error",
            Error::RequestTimeout | Error::FlowTimeout => "timeout",
            Error::Cancelled => "cancelled",
            Error::InvalidElement => "invalid_element",
            Error::MissingClientId => "missing_client_id",
            Error::InvalidCallback => "invalid_callback",
            Error::InvalidOptions => "invalid_options",
            Error::InvalidSignInToken => kloudless_protocol::codes::INVALID_SIGN_IN_TOKEN,
            Error::InvalidBaseUrl => "invalid_base_url",
            Error::InvalidTimeout => "invalid_timeout",
            Error::NoRandomSource => "no_random_source",
            Error::NoBrowser => "no_browser",
        }
    }

    /// A human-readable sentence (`error_description` in a result, the message when thrown).
    pub fn description(self) -> &'static str {
        match self {
            Error::PopupBlocked => "The pop-up was blocked by the browser.",
            Error::PopupClosed => "The pop-up was closed before the account was connected.",
            Error::ResultNotHandedOver => {
                "The pop-up took the result back to the app's return page, but the page there did not hand it over: it must load the Kloudless authenticator."
            }
            Error::InvalidState => "The result's state does not match the request's.",
            Error::TokenVerificationFailed => "The access token could not be verified.",
            Error::ClientIdMismatch => "The access token was issued to another app.",
            Error::AccountRetrievalFailed => "The connected account could not be retrieved.",
            Error::NetworkError => "The API server could not be reached.",
            Error::RequestTimeout => "The API server did not answer in time.",
            Error::FlowTimeout => "The flow did not finish in the time allowed.",
            Error::Cancelled => "The flow was cancelled.",
            Error::InvalidElement => "'element' must be an Element or jQuery object.",
            Error::MissingClientId => "An App ID is required.",
            Error::InvalidCallback => "'callback' must be a function.",
            Error::InvalidOptions => {
                "Each option must be a string, number, boolean, array or JSON-serializable object."
            }
            Error::InvalidSignInToken => "'sign_in_token' must be a token from POST /v1/sign_in_tokens.",
            Error::InvalidBaseUrl => "'baseUrl' must be an absolute http(s) URL.",
            Error::InvalidTimeout => {
                "'requestTimeout' and 'flowTimeout' must be whole milliseconds, 0 or more."
            }
            Error::NoRandomSource => "A secure random source (crypto.getRandomValues) is required.",
            Error::NoBrowser => "The authenticator needs a browser window.",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Error;

    #[test]
    fn thrown_messages_match_the_original() {
        assert_eq!(Error::InvalidElement.description(), "'element' must be an Element or jQuery object.");
        assert_eq!(Error::MissingClientId.description(), "An App ID is required.");
    }

    #[test]
    fn codes_are_the_documented_ones() {
        let codes = [
            (Error::PopupBlocked, "popup_blocked"),
            (Error::PopupClosed, "popup_closed"),
            (Error::ResultNotHandedOver, "popup_closed"),
            (Error::InvalidState, "invalid_state"),
            (Error::TokenVerificationFailed, "token_verification_failed"),
            (Error::ClientIdMismatch, "client_id_mismatch"),
            (Error::AccountRetrievalFailed, "account_retrieval_failed"),
            (Error::NetworkError, "network_error"),
            (Error::RequestTimeout, "timeout"),
            (Error::FlowTimeout, "timeout"),
            (Error::Cancelled, "cancelled"),
        ];
        for (error, code) in codes {
            assert_eq!(error.code(), code);
        }
    }
}
