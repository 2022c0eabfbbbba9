//! The pop-up: its URL, window name and window features.

use alloc::string::String;

use crate::API_VERSION;
use crate::options::Options;
use crate::text::{self, concat};

/// The pop-up window's name, as the original used.
pub const WINDOW_NAME: &str = "kPOPUP";

const WIDTH: i32 = 1000;
const HEIGHT: i32 = 600;

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
    pub return_to: &'a str,
}

/// `base_url` without its trailing slashes, so `https://api.test/` and `https://api.test` agree.
pub fn trim_base_url(base_url: &str) -> &str {
    let mut trimmed = base_url;
    while let Some(shorter) = trimmed.strip_suffix("/") {
        trimmed = shorter;
    }
    trimmed
}

/// `{baseUrl}/v1{path}`: an endpoint of the API server.
pub fn api_url(base_url: &str, path: &str) -> String {
    concat(&[trim_base_url(base_url), "/", API_VERSION, path])
}

/// `{baseUrl}/v1/oauth?…` with the original's parameter order: `redirect_uri`,
/// `response_type`, `state`, the user's parameters, `request_id`, `origin`; then `return_to`.
pub fn url(base_url: &str, options: &Options, launch: &Launch) -> String {
    // The two fixed parameters, already encoded.
    let mut out =
        api_url(base_url, "/oauth?redirect_uri=urn%3Aietf%3Awg%3Aoauth%3A2.0%3Aoob&response_type=token");
    let mut add = |key: &str, value: &str| {
        out.push('&');
        encode_component(key, &mut out);
        out.push('=');
        encode_component(value, &mut out);
    };
    add("state", launch.state);
    for (key, value) in &options.params {
        add(key, value);
    }
    add("request_id", launch.request_id);
    add("origin", launch.origin);
    add("return_to", launch.return_to);
    out
}

/// Appends `text` percent-encoded exactly as JS `encodeURIComponent` does.
pub fn encode_component(text: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &byte in text.as_bytes() {
        if byte.is_ascii_alphanumeric()
            || matches!(byte, b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')')
        {
            out.push(byte as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(byte >> 4)] as char);
            out.push(HEX[usize::from(byte & 15)] as char);
        }
    }
}

/// The window features: 1000×600, centred on a screen of the given size (as the original).
pub fn features(screen_width: i32, screen_height: i32) -> String {
    let top = screen_height.saturating_sub(HEIGHT) / 2 - 50;
    let left = screen_width.saturating_sub(WIDTH) / 2;
    let mut out = String::from("resizable,scrollbars,status,height=600,width=1000,top=");
    text::push_int(top, &mut out);
    out.push_str(",left=");
    text::push_int(left, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_original_url() {
        let options = Options::parse(r#"[["client_id",0,"app 1"],["scope",0,"box gdrive"]]"#).unwrap();
        let launch = Launch {
            state: "s1",
            request_id: "r1",
            origin: "http://localhost:8080",
            return_to: "http://localhost:8080/a?b#",
        };
        assert_eq!(
            url("https://api.test/", &options, &launch),
            "https://api.test/v1/oauth?redirect_uri=urn%3Aietf%3Awg%3Aoauth%3A2.0%3Aoob&response_type=token\
             &state=s1&client_id=app%201&scope=box%20gdrive&request_id=r1&origin=http%3A%2F%2Flocalhost%3A8080\
             &return_to=http%3A%2F%2Flocalhost%3A8080%2Fa%3Fb%23"
        );
    }

    #[test]
    fn encodes_like_encode_uri_component() {
        let mut out = String::new();
        encode_component("aZ09-_.!~*'() /?#&=+é[]", &mut out);
        assert_eq!(out, "aZ09-_.!~*'()%20%2F%3F%23%26%3D%2B%C3%A9%5B%5D");
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
