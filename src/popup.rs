//! The pop-up: its URL, window name and window features.

use crate::options::Options;
use kloudless_protocol::{OOB_REDIRECT_URI, POPUP_PATH, RESPONSE_TYPE, RETURN_TO, ReturnTo};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// The pop-up window's name, as the original used.
pub const WINDOW_NAME: &str = kloudless_protocol::POPUP_WINDOW_NAME;

const WIDTH: i32 = 1000;
const HEIGHT: i32 = 600;

/// What JS `encodeURIComponent` escapes: everything but ASCII letters, digits and `-_.!~*'()`.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// The per-launch values the library adds to the user's parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct Launch<'a> {
    /// The unguessable `state` of this launch.
    pub state: &'a str,
    /// The id the result message must carry.
    pub request_id: &'a str,
    /// The page's origin (`location.protocol + '//' + location.host`).
    pub origin: &'a str,
    /// This page's URL without its fragment, where a pop-up whose opener was cut brings the
    /// result back (see [`crate::progress`]).
    pub return_to: &'a ReturnTo,
}

/// `base_url` without its trailing slashes, so `https://api.test/` and `https://api.test` agree.
pub fn trim_base_url(base_url: &str) -> &str {
    base_url.trim_end_matches('/')
}

/// `{baseUrl}{path}`: an endpoint of the API server.
pub fn api_url(base_url: &str, path: &str) -> String {
    [trim_base_url(base_url), path].concat()
}

/// `text` percent-encoded exactly as JS `encodeURIComponent` does.
pub fn encode_component(text: &str) -> String {
    utf8_percent_encode(text, COMPONENT).to_string()
}

/// `{baseUrl}/v1/oauth?…` with the original's parameter order: `redirect_uri`,
/// `response_type`, `state`, the user's parameters, `request_id`, `origin`; then `return_to`.
pub fn url(base_url: &str, options: &Options, launch: &Launch) -> String {
    let fixed =
        [("redirect_uri", OOB_REDIRECT_URI), ("response_type", RESPONSE_TYPE), ("state", launch.state)];
    let user = options.params.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    let own = [
        ("request_id", launch.request_id),
        ("origin", launch.origin),
        (RETURN_TO, launch.return_to.as_str()),
    ];
    let query: Vec<String> = fixed
        .into_iter()
        .chain(user)
        .chain(own)
        .map(|(key, value)| format!("{}={}", encode_component(key), encode_component(value)))
        .collect();
    format!("{}?{}", api_url(base_url, POPUP_PATH), query.join("&"))
}

/// The window features: 1000×600, centred on a screen of the given size (as the original).
pub fn features(screen_width: i32, screen_height: i32) -> String {
    let top = screen_height.saturating_sub(HEIGHT) / 2 - 50;
    let left = screen_width.saturating_sub(WIDTH) / 2;
    format!("resizable,scrollbars,status,height={HEIGHT},width={WIDTH},top={top},left={left}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::OptionValue;

    #[test]
    fn builds_the_original_url() {
        let options = Options::new([
            ("client_id".into(), OptionValue::Text("app 1".into())),
            ("scope".into(), OptionValue::Text("box gdrive".into())),
        ])
        .unwrap();
        let launch = Launch {
            state: "s1",
            request_id: "r1",
            origin: "http://localhost:8080",
            return_to: &ReturnTo::new("http://localhost:8080/a?b#"),
        };
        assert_eq!(
            url("https://api.test/", &options, &launch),
            "https://api.test/v1/oauth?redirect_uri=urn%3Aietf%3Awg%3Aoauth%3A2.0%3Aoob&response_type=token\
             &state=s1&client_id=app%201&scope=box%20gdrive&request_id=r1&origin=http%3A%2F%2Flocalhost%3A8080\
             &return_to=http%3A%2F%2Flocalhost%3A8080%2Fa%3Fb%23"
        );
    }

    #[test]
    fn the_sign_in_token_option_lands_on_the_popup_url() {
        let options = Options::new([
            ("client_id".into(), OptionValue::Text("app".into())),
            ("sign_in_token".into(), OptionValue::Text("tok_1-2.3~".into())),
        ])
        .unwrap();
        let launch = Launch {
            state: "s",
            request_id: "r",
            origin: "http://a.test",
            return_to: &ReturnTo::new("http://a.test/"),
        };
        let url = url("https://api.test", &options, &launch);
        assert!(url.contains("&client_id=app&sign_in_token=tok_1-2.3~&request_id=r"), "{url}");
    }

    #[test]
    fn encodes_like_encode_uri_component() {
        assert_eq!(
            encode_component("aZ09-_.!~*'() /?#&=+é[]"),
            "aZ09-_.!~*'()%20%2F%3F%23%26%3D%2B%C3%A9%5B%5D"
        );
    }

    #[test]
    fn centres_the_window() {
        assert_eq!(
            features(1920, 1080),
            "resizable,scrollbars,status,height=600,width=1000,top=190,left=460"
        );
        assert_eq!(
            features(800, 500),
            "resizable,scrollbars,status,height=600,width=1000,top=-100,left=-100"
        );
        assert!(features(i32::MIN, i32::MIN).ends_with("top=-1073741874,left=-1073741824"));
    }
}
