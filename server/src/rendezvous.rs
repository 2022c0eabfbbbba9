//! The rendezvous: a second channel for the pop-up's result, for when `postMessage` cannot
//! reach the page (an intermediate page sent `Cross-Origin-Opener-Policy`, cutting
//! `window.opener`).
//!
//! The library puts a `rendezvous` challenge (the SHA-256 of a secret verifier it keeps) in the
//! pop-up URL. The pop-up registers it, bound to the app and the page's origin; completing the
//! flow stores the result message under it. The page collects it with the verifier
//! (`POST /v1/oauth/rendezvous`, CORS, from that origin): once, within [`TTL`]. Closing the
//! pop-up on one of this server's pages abandons it (a beacon), so the page learns quickly
//! that no result will come.
//!
//! Entries live in memory only: a result carries an access token, which is never written to disk.

use crate::AppState;
use crate::cors;
use crate::origin::Origin;
use crate::params;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a registration (and its result) is kept.
pub const TTL: Duration = Duration::from_secs(300);

/// The most registrations kept at once; more are refused until some expire.
pub const MAX_ENTRIES: usize = 10_000;

/// One registration.
struct Entry {
    client_id: String,
    origin: String,
    message: Option<String>,
    abandoned: bool,
    expires: Instant,
}

/// What a collection finds.
#[derive(Clone, Debug, PartialEq)]
pub enum Collected {
    /// The result message (now removed: it is handed out once).
    Result(String),
    /// The pop-up registered and has not finished.
    Pending,
    /// Nothing: unknown, expired, abandoned, or bound to another app or origin.
    Nothing,
}

/// The registrations, by challenge.
#[derive(Default)]
pub struct Rendezvous {
    entries: Mutex<HashMap<String, Entry>>,
}

impl Rendezvous {
    fn entries(&self, now: Instant) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        let mut entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        entries.retain(|_, entry| entry.expires > now);
        entries
    }

    /// Registers `challenge` for the app and origin (a pop-up page loaded). The first
    /// registration binds it; a later one with another app or origin changes nothing, and one
    /// with the same takes back an abandonment (the pop-up was reloaded, not closed).
    pub fn open(&self, challenge: &str, client_id: &str, origin: &str, now: Instant) {
        let mut entries = self.entries(now);
        if let Some(entry) = entries.get_mut(challenge) {
            if entry.client_id == client_id && entry.origin == origin {
                entry.abandoned = false;
            }
        } else if entries.len() < MAX_ENTRIES {
            let entry = Entry {
                client_id: client_id.to_owned(),
                origin: origin.to_owned(),
                message: None,
                abandoned: false,
                expires: now + TTL,
            };
            entries.insert(challenge.to_owned(), entry);
        }
    }

    /// Stores the pop-up's result `message` under `challenge`, if registered for this app and
    /// origin and no result is stored yet (the first one wins).
    pub fn complete(&self, challenge: &str, client_id: &str, origin: &str, message: String, now: Instant) {
        let mut entries = self.entries(now);
        let registered = entries
            .get_mut(challenge)
            .filter(|e| e.client_id == client_id && e.origin == origin && e.message.is_none());
        if let Some(entry) = registered {
            entry.message = Some(message);
            entry.abandoned = false;
        }
    }

    /// The user closed the pop-up before it finished: nothing will come.
    pub fn abandon(&self, challenge: &str, now: Instant) {
        if let Some(entry) = self.entries(now).get_mut(challenge).filter(|e| e.message.is_none()) {
            entry.abandoned = true;
        }
    }

    /// What the page at `origin` finds with `verifier` for the app `client_id`.
    pub fn collect(&self, verifier: &str, client_id: &str, origin: &str, now: Instant) -> Collected {
        let challenge = challenge_of(verifier);
        let mut entries = self.entries(now);
        let Some(entry) = entries.get(&challenge).filter(|e| e.client_id == client_id && e.origin == origin)
        else {
            return Collected::Nothing;
        };
        match (&entry.message, entry.abandoned) {
            (Some(_), _) => match entries.remove(&challenge).and_then(|entry| entry.message) {
                Some(message) => Collected::Result(message),
                None => Collected::Nothing,
            },
            (None, true) => Collected::Nothing,
            (None, false) => Collected::Pending,
        }
    }
}

/// Whether `text` has the form of a challenge or verifier: 64 lowercase hex digits.
pub fn is_hex256(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The challenge of `verifier`: lowercase hex of its SHA-256.
pub fn challenge_of(verifier: &str) -> String {
    Sha256::digest(verifier.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// The result message, exactly as the pop-up posts it.
pub fn message(request_id: &str, data: &Value) -> String {
    ["kloudless:", &json!({ "type": "authentication", "id": request_id, "data": data }).to_string()].concat()
}

fn json_error(status: StatusCode, code: &str, description: &str) -> Response {
    (status, axum::Json(json!({ "error": code, "error_description": description }))).into_response()
}

/// `POST /v1/oauth/rendezvous` (form `client_id`, `verifier`): 200 with the result message as
/// text, 202 while the pop-up's flow is under way, 404 for nothing. Only a page on an origin
/// the app trusts may ask (and read the answer), and only the origin that registered gets it.
pub async fn collect(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if body.as_ref().is_err_and(|rejection| rejection.status() == StatusCode::PAYLOAD_TOO_LARGE) {
        return json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            "The request body is too large.",
        );
    }
    let form = body.ok().and_then(|body| params::parse(&body).ok()).filter(|p| params::repeated(p).is_none());
    let field = |name: &str| form.iter().flatten().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let (Some(client_id), Some(verifier)) = (field("client_id"), field("verifier").filter(|v| is_hex256(v)))
    else {
        let response = json_error(StatusCode::BAD_REQUEST, "invalid_request", "Give client_id and verifier.");
        return cors::with_cors(
            response,
            cors::allowed_origin(&app.config, &headers, cors::Audience::AnyApp),
        );
    };
    let Some(allowed) = cors::allowed_origin(&app.config, &headers, cors::Audience::App(client_id)) else {
        let response =
            json_error(StatusCode::FORBIDDEN, "forbidden", "This origin is not trusted by the app.");
        return cors::with_cors(response, None);
    };
    let origin = allowed.to_str().ok().and_then(Origin::parse).map(|o| o.to_string()).unwrap_or_default();
    let response = match app.rendezvous.collect(verifier, client_id, &origin, Instant::now()) {
        Collected::Result(message) => {
            (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], message).into_response()
        }
        Collected::Pending => StatusCode::ACCEPTED.into_response(),
        Collected::Nothing => json_error(StatusCode::NOT_FOUND, "not_found", "Nothing to collect."),
    };
    let mut response = cors::with_cors(response, Some(allowed));
    response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    response
}

/// `POST /v1/oauth/rendezvous/abandon` (body: the challenge), the pop-up's beacon when the user
/// closes it: 204, whatever the challenge.
pub async fn abandon(State(app): State<Arc<AppState>>, body: Result<Bytes, BytesRejection>) -> Response {
    match body.ok().as_deref().and_then(|b| std::str::from_utf8(b).ok()).filter(|c| is_hex256(c)) {
        Some(challenge) => {
            app.rendezvous.abandon(challenge, Instant::now());
            StatusCode::NO_CONTENT.into_response()
        }
        None => json_error(StatusCode::BAD_REQUEST, "invalid_request", "The body must be a challenge."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VERIFIER: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    const ORIGIN: &str = "http://localhost:3000";

    fn opened(now: Instant) -> (Rendezvous, String) {
        let rendezvous = Rendezvous::default();
        let challenge = challenge_of(VERIFIER);
        rendezvous.open(&challenge, "app", ORIGIN, now);
        (rendezvous, challenge)
    }

    #[test]
    fn the_challenge_is_the_hex_sha256_of_the_verifier() {
        assert_eq!(challenge_of("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert!(is_hex256(&challenge_of(VERIFIER)));
        assert!(!is_hex256(&VERIFIER.to_uppercase()));
        assert!(!is_hex256(&VERIFIER[1..]));
    }

    #[test]
    fn a_result_is_handed_out_once_to_its_app_and_origin() {
        let now = Instant::now();
        let (rendezvous, challenge) = opened(now);
        assert_eq!(rendezvous.collect(VERIFIER, "app", ORIGIN, now), Collected::Pending);
        rendezvous.complete(&challenge, "app", ORIGIN, "kloudless:{}".into(), now);
        assert_eq!(rendezvous.collect(VERIFIER, "other", ORIGIN, now), Collected::Nothing, "another app");
        assert_eq!(
            rendezvous.collect(VERIFIER, "app", "http://evil.test", now),
            Collected::Nothing,
            "another origin"
        );
        assert_eq!(
            rendezvous.collect(&challenge, "app", ORIGIN, now),
            Collected::Nothing,
            "the challenge is no verifier"
        );
        assert_eq!(
            rendezvous.collect(VERIFIER, "app", ORIGIN, now),
            Collected::Result("kloudless:{}".into())
        );
        assert_eq!(rendezvous.collect(VERIFIER, "app", ORIGIN, now), Collected::Nothing, "single use");
    }

    #[test]
    fn registrations_bind_once_and_expire() {
        let now = Instant::now();
        let (rendezvous, challenge) = opened(now);
        rendezvous.open(&challenge, "other", "http://evil.test", now);
        rendezvous.complete(&challenge, "other", "http://evil.test", "forged".into(), now);
        assert_eq!(
            rendezvous.collect(VERIFIER, "app", ORIGIN, now),
            Collected::Pending,
            "the first binding holds"
        );
        rendezvous.complete(&challenge, "app", ORIGIN, "kloudless:{}".into(), now);
        let later = now + TTL;
        assert_eq!(rendezvous.collect(VERIFIER, "app", ORIGIN, later), Collected::Nothing, "expired");
    }

    #[test]
    fn reloading_takes_back_an_abandonment_and_the_first_result_wins() {
        let now = Instant::now();
        let (rendezvous, challenge) = opened(now);
        rendezvous.abandon(&challenge, now);
        rendezvous.open(&challenge, "other", "http://evil.test", now);
        assert_eq!(
            rendezvous.collect(VERIFIER, "app", ORIGIN, now),
            Collected::Nothing,
            "not by another app"
        );
        rendezvous.open(&challenge, "app", ORIGIN, now);
        assert_eq!(rendezvous.collect(VERIFIER, "app", ORIGIN, now), Collected::Pending);
        rendezvous.complete(&challenge, "app", ORIGIN, "first".into(), now);
        rendezvous.complete(&challenge, "app", ORIGIN, "second".into(), now);
        assert_eq!(rendezvous.collect(VERIFIER, "app", ORIGIN, now), Collected::Result("first".into()));
    }

    #[test]
    fn an_abandoned_popup_has_nothing_unless_it_finished() {
        let now = Instant::now();
        let (rendezvous, challenge) = opened(now);
        rendezvous.abandon(&challenge, now);
        assert_eq!(rendezvous.collect(VERIFIER, "app", ORIGIN, now), Collected::Nothing);
        rendezvous.complete(&challenge, "app", ORIGIN, "kloudless:{}".into(), now);
        rendezvous.abandon(&challenge, now);
        assert_eq!(
            rendezvous.collect(VERIFIER, "app", ORIGIN, now),
            Collected::Result("kloudless:{}".into())
        );
    }

    #[test]
    fn registrations_are_bounded() {
        let now = Instant::now();
        let rendezvous = Rendezvous::default();
        for i in 0..MAX_ENTRIES + 5 {
            rendezvous.open(&format!("{i:064x}"), "app", ORIGIN, now);
        }
        assert_eq!(rendezvous.entries(now).len(), MAX_ENTRIES);
        assert_eq!(rendezvous.entries(now + TTL).len(), 0, "expired entries are dropped");
    }
}
