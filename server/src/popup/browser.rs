//! Each pop-up flow is bound to the browser that started it.
//!
//! The pop-up's first page (`GET /v1/oauth`) gives a browser that has none a random cookie,
//! [`cookie_name`] (`__Host-kloudless-browser` on an https public URL, `Secure` then;
//! `kloudless-browser` on plain http, which cannot set a `__Host-` cookie), `HttpOnly`,
//! `SameSite=Lax`, `Path=/`. Only its SHA-256 is kept: with the sign-in token the flow binds
//! ([`crate::sign_in`]), with the upstream's pending state ([`crate::broker`]) and with the
//! tracked flow ([`crate::popup::progress`]). Every later step — the pop-up's forms and the upstream's
//! return — must come with the same cookie ([`check`]): a link to a flow's page or to the
//! upstream's authorization URL, sent to someone else, ends on a refusal in their browser,
//! before anything is exchanged with the upstream or stored.

use crate::error::AppError;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use cookie::{Cookie, SameSite};
use sha2::{Digest, Sha256};

/// The random bytes of a cookie's value.
const VALUE_BYTES: usize = 32;

/// A browser, known by its binding cookie.
#[derive(Clone, Debug, PartialEq)]
pub struct Browser {
    /// The cookie's value, when this response has to set it (a browser seen for the first time).
    new_value: Option<String>,
    /// The SHA-256 of the cookie's value, in hex: what is kept.
    hash: String,
}

/// The binding cookie's name for a server at `public_url`.
pub fn cookie_name(public_url: &str) -> &'static str {
    if is_https(public_url) { "__Host-kloudless-browser" } else { "kloudless-browser" }
}

fn is_https(public_url: &str) -> bool {
    public_url.get(..8).is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"))
}

fn hash_of(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

impl Browser {
    /// The browser whose request carries a well-formed binding cookie, if it does.
    pub fn from_headers(headers: &HeaderMap, public_url: &str) -> Option<Browser> {
        let name = cookie_name(public_url);
        let value = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|line| line.to_str().ok())
            .flat_map(Cookie::split_parse)
            .filter_map(Result::ok)
            .find(|cookie| cookie.name() == name)?
            .value()
            .to_owned();
        let well_formed = value.len() == 2 * VALUE_BYTES && value.bytes().all(|b| b.is_ascii_hexdigit());
        well_formed.then(|| Browser { hash: hash_of(&value), new_value: None })
    }

    /// The browser of a pop-up's first page: the one its cookie names, or a new one (the
    /// response then sets the cookie: [`Browser::set_cookie`]). `None` if the random source
    /// failed.
    pub fn first_page(headers: &HeaderMap, public_url: &str) -> Option<Browser> {
        if let Some(known) = Browser::from_headers(headers, public_url) {
            return Some(known);
        }
        let mut bytes = [0u8; VALUE_BYTES];
        getrandom::fill(&mut bytes).ok()?;
        let value = hex::encode(bytes);
        Some(Browser { hash: hash_of(&value), new_value: Some(value) })
    }

    /// The SHA-256 of the cookie's value (hex): what the flow keeps.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// `response` with the cookie set, when this browser had none.
    pub fn set_cookie(&self, public_url: &str, mut response: Response) -> Response {
        let Some(value) = &self.new_value else { return response };
        let cookie = Cookie::build((cookie_name(public_url), value.as_str()))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(is_https(public_url))
            .build();
        if let Ok(line) = HeaderValue::from_str(&cookie.to_string()) {
            response.headers_mut().append(header::SET_COOKIE, line);
        }
        response
    }
}

/// Why a flow's step is refused in this browser.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Refused {
    /// The request carries no binding cookie.
    NoCookie,
    /// The flow was started in another browser.
    OtherBrowser,
}

/// The refusal (403) saying so; nothing was exchanged with an upstream or stored.
impl From<Refused> for AppError {
    fn from(refused: Refused) -> AppError {
        let message = match refused {
            Refused::NoCookie => {
                "This sign-in window needs cookies, which your browser did not send: allow cookies for this site, then start again from the app."
            }
            Refused::OtherBrowser => {
                "This sign-in was started in another browser. Nothing was connected: start again from the app."
            }
        };
        AppError::fixed(StatusCode::FORBIDDEN, "forbidden", message)
    }
}

/// The one check of a flow's later step: the request's `browser` must be there and, when the
/// flow keeps a browser's hash (`stored`), be that browser.
pub fn check(browser: Option<&Browser>, stored: Option<&str>) -> Result<(), Refused> {
    let browser = browser.ok_or(Refused::NoCookie)?;
    match stored {
        Some(stored) if stored != browser.hash => Err(Refused::OtherBrowser),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pages;

    fn headers(cookie: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(cookie).unwrap());
        headers
    }

    #[test]
    fn a_new_browser_gets_a_cookie_and_comes_back_with_it() {
        let url = "http://127.0.0.1:8080";
        let new = Browser::first_page(&HeaderMap::new(), url).unwrap();
        let response =
            new.set_cookie(url, pages::error_page(StatusCode::BAD_REQUEST, "invalid_request", "x"));
        let line = response.headers()[header::SET_COOKIE].to_str().unwrap().to_owned();
        assert!(line.starts_with("kloudless-browser="), "{line}");
        for part in ["HttpOnly", "SameSite=Lax", "Path=/"] {
            assert!(line.contains(part), "{line}");
        }
        assert!(!line.contains("Secure"), "plain http cannot keep a Secure cookie");
        let value = line.split(';').next().unwrap();
        let back = Browser::from_headers(&headers(&format!("a=b; {value}")), url).unwrap();
        assert_eq!(back.hash(), new.hash());
        assert_eq!(Browser::first_page(&headers(value), url).unwrap(), back, "kept, not set again");
        let again = back.set_cookie(url, pages::error_page(StatusCode::BAD_REQUEST, "invalid_request", "x"));
        assert!(!again.headers().contains_key(header::SET_COOKIE));
        assert_ne!(Browser::first_page(&HeaderMap::new(), url).unwrap().hash(), new.hash());
    }

    #[test]
    fn on_https_the_cookie_is_a_secure_host_cookie() {
        let url = "https://auth.example.com";
        let new = Browser::first_page(&HeaderMap::new(), url).unwrap();
        let line = new
            .set_cookie(url, pages::error_page(StatusCode::BAD_REQUEST, "invalid_request", "x"))
            .headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(line.starts_with("__Host-kloudless-browser="), "{line}");
        assert!(line.contains("Secure"), "{line}");
        let plain_name = format!("kloudless-browser={}", "a".repeat(64));
        assert_eq!(Browser::from_headers(&headers(&plain_name), url), None, "not the https name");
    }

    #[test]
    fn the_check_wants_the_cookie_and_the_same_browser() {
        let url = "http://x";
        let value = "ab".repeat(32);
        let browser = Browser::from_headers(&headers(&format!("kloudless-browser={value}")), url).unwrap();
        assert_eq!(check(Some(&browser), None), Ok(()));
        assert_eq!(check(Some(&browser), Some(browser.hash())), Ok(()));
        assert_eq!(check(Some(&browser), Some("other")), Err(Refused::OtherBrowser));
        assert_eq!(check(None, None), Err(Refused::NoCookie));
        assert_eq!(AppError::from(Refused::NoCookie).status(), StatusCode::FORBIDDEN);
        for bad in ["kloudless-browser=short", "kloudless-browser=", "other=1"] {
            assert_eq!(Browser::from_headers(&headers(bad), url), None, "{bad}");
        }
    }
}
