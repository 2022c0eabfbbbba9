//! Revocation notices: the signed requests an upstream sends when one of its users revokes our
//! app's grant, as a catalogue entry's `revocation_notice` describes them — how they are
//! signed ([`NoticeSignature`]), which of the upstream's requests are revocations, where the
//! users and the notice's id are. Pure: [`verify`] checks a request's signature, [`read`] what
//! it says; [`crate::accounts::revocations`] acts on it.

use axum::http::HeaderMap;
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use serde_json::Value;
use sha2::Sha256;
use std::collections::BTreeMap;

/// How far a signed timestamp may be from now, in seconds, before the request is refused as
/// a replay: the 5 minutes Slack's documentation suggests.
pub const MAX_SKEW_SECS: i64 = 300;

/// How an upstream signs its notices.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum NoticeSignature {
    /// GitHub's webhooks: `X-Hub-Signature-256: sha256=` and the hex HMAC-SHA256 of the body
    /// under the webhook's secret
    /// (<https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries>). No
    /// timestamp is signed: replays are caught by the delivery id.
    GithubSha256,
    /// Slack's request signing: `X-Slack-Signature: v0=` and the hex HMAC-SHA256 of
    /// `v0:{X-Slack-Request-Timestamp}:{body}` under the app's signing secret, the timestamp
    /// within [`MAX_SKEW_SECS`] of now
    /// (<https://docs.slack.dev/authentication/verifying-requests-from-slack>). The Events API's
    /// `url_verification` request is answered with its challenge
    /// (<https://api.slack.com/events/url_verification>).
    SlackV0,
}

/// A catalogue entry's `revocation_notice`: what its upstream's revocation notices look like.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RevocationNotice {
    /// How they are signed.
    pub signature: NoticeSignature,
    /// Where a notice names the upstream users whose grant was revoked (the accounts'
    /// subjects): a JSON pointer to one id (a string or a number) or to a list of them.
    pub users: String,
    /// Where a notice's unique id is: a JSON pointer, or `header:<name>`. A notice whose id was
    /// seen before is not acted on again.
    pub id: String,
    /// What a request holds when it is a revocation notice (the upstream sends others to the
    /// same URL, answered 200 and left alone): for each `header:<name>` or JSON pointer, the
    /// text it must be.
    #[serde(default)]
    pub when: BTreeMap<String, String>,
}

/// Why a request's signature was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused(pub &'static str);

/// What a verified request says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// Slack's `url_verification`: answer with this challenge.
    Challenge(String),
    /// Not a revocation notice (another event, another action).
    Other,
    /// A revocation notice: its id and the users it names.
    Revoked {
        /// Its unique id.
        id: String,
        /// The upstream users whose grant was revoked.
        users: Vec<String>,
    },
}

/// Checks that `body`, sent with `headers` at `now` (seconds since the epoch), is signed under
/// `secret` as `scheme` says; the comparison is the `hmac` crate's, in constant time.
pub fn verify(
    scheme: NoticeSignature,
    secret: &[u8],
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<(), Refused> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| Refused("no key"))?;
    let given = match scheme {
        NoticeSignature::GithubSha256 => {
            let signature = header("x-hub-signature-256").ok_or(Refused("no X-Hub-Signature-256"))?;
            mac.update(body);
            signature.strip_prefix("sha256=")
        }
        NoticeSignature::SlackV0 => {
            let timestamp =
                header("x-slack-request-timestamp").ok_or(Refused("no X-Slack-Request-Timestamp"))?;
            let at: i64 = timestamp.parse().map_err(|_| Refused("the timestamp is not a number"))?;
            if now.abs_diff(at) > MAX_SKEW_SECS.unsigned_abs() {
                return Err(Refused("the timestamp is more than 5 minutes off"));
            }
            let signature = header("x-slack-signature").ok_or(Refused("no X-Slack-Signature"))?;
            mac.update(format!("v0:{timestamp}:").as_bytes());
            mac.update(body);
            signature.strip_prefix("v0=")
        }
    };
    let given =
        given.and_then(|hex_text| hex::decode(hex_text).ok()).ok_or(Refused("a malformed signature"))?;
    mac.verify_slice(&given).map_err(|_| Refused("the signature does not match"))
}

/// What the verified request (`headers`, its JSON `body`) says, as `notice` describes; `None`
/// when it is a revocation notice without an id, or whose users are not ids. A notice naming
/// no user where `notice` says (Slack's, of bot tokens only) names none of ours.
pub fn read(notice: &RevocationNotice, headers: &HeaderMap, body: &Value) -> Option<Notice> {
    if notice.signature == NoticeSignature::SlackV0
        && body.pointer("/type") == Some(&"url_verification".into())
    {
        let challenge = body.pointer("/challenge")?.as_str()?;
        return Some(Notice::Challenge(challenge.to_owned()));
    }
    let text = |place: &str| match place.strip_prefix("header:") {
        Some(name) => headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned),
        None => id_text(body.pointer(place)?),
    };
    if !notice.when.iter().all(|(place, wanted)| text(place).as_deref() == Some(wanted.as_str())) {
        return Some(Notice::Other);
    }
    let id = text(&notice.id).filter(|id| !id.is_empty())?;
    let users = match body.pointer(&notice.users) {
        // None of ours (Slack: only bot tokens revoked).
        None => Vec::new(),
        Some(Value::Array(items)) => items.iter().map(id_text).collect::<Option<Vec<_>>>()?,
        Some(one) => vec![id_text(one)?],
    };
    Some(Notice::Revoked { id, users })
}

/// A user id or a notice id as text: a non-empty string, or a number (GitHub's user ids).
fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| (axum::http::HeaderName::from_static(name), value.parse().unwrap()))
            .collect()
    }

    #[test]
    fn a_slack_signature_verifies_as_slacks_documented_example() {
        // Slack's documentation's worked example (verifying-requests-from-slack).
        let secret = b"8f742231b10e8888abcd99yyyzzz85a5";
        let body = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        let signed = headers(&[
            ("x-slack-request-timestamp", "1531420618"),
            ("x-slack-signature", "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"),
        ]);
        assert_eq!(verify(NoticeSignature::SlackV0, secret, &signed, body, 1531420618 + 60), Ok(()));
        let late = verify(NoticeSignature::SlackV0, secret, &signed, body, 1531420618 + 301);
        assert_eq!(late, Err(Refused("the timestamp is more than 5 minutes off")));
        let tampered = verify(NoticeSignature::SlackV0, secret, &signed, b"token=x", 1531420618);
        assert_eq!(tampered, Err(Refused("the signature does not match")));
    }

    #[test]
    fn a_github_signature_verifies_as_githubs_documented_example() {
        // GitHub's documentation's test values (validating-webhook-deliveries).
        let signed = headers(&[(
            "x-hub-signature-256",
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        )]);
        assert_eq!(
            verify(
                NoticeSignature::GithubSha256,
                b"It's a Secret to Everybody",
                &signed,
                b"Hello, World!",
                0
            ),
            Ok(())
        );
        let other = verify(NoticeSignature::GithubSha256, b"another secret", &signed, b"Hello, World!", 0);
        assert_eq!(other, Err(Refused("the signature does not match")));
        let bare = headers(&[("x-hub-signature-256", "757107ea")]);
        assert_eq!(
            verify(NoticeSignature::GithubSha256, b"k", &bare, b"", 0),
            Err(Refused("a malformed signature"))
        );
    }

    #[test]
    fn a_notice_names_its_users_only_when_it_is_a_revocation() {
        let github = RevocationNotice {
            signature: NoticeSignature::GithubSha256,
            users: "/sender/id".into(),
            id: "header:x-github-delivery".into(),
            when: [
                ("header:x-github-event".into(), "github_app_authorization".into()),
                ("/action".into(), "revoked".into()),
            ]
            .into(),
        };
        let sent = headers(&[("x-github-event", "github_app_authorization"), ("x-github-delivery", "d-1")]);
        let body = json!({ "action": "revoked", "sender": { "id": 583231, "login": "octocat" } });
        assert_eq!(
            read(&github, &sent, &body),
            Some(Notice::Revoked { id: "d-1".into(), users: vec!["583231".into()] })
        );
        let push = headers(&[("x-github-event", "push"), ("x-github-delivery", "d-2")]);
        assert_eq!(read(&github, &push, &body), Some(Notice::Other));
        let slack = RevocationNotice {
            signature: NoticeSignature::SlackV0,
            users: "/event/tokens/oauth".into(),
            id: "/event_id".into(),
            when: [("/event/type".into(), "tokens_revoked".into())].into(),
        };
        let revoked = json!({ "type": "event_callback", "event_id": "Ev1", "event": { "type": "tokens_revoked", "tokens": { "oauth": ["U1", "U2"], "bot": ["B1"] } } });
        let none = HeaderMap::new();
        assert_eq!(
            read(&slack, &none, &revoked),
            Some(Notice::Revoked { id: "Ev1".into(), users: vec!["U1".into(), "U2".into()] })
        );
        let challenge = json!({ "type": "url_verification", "challenge": "3eZbrw1aB" });
        assert_eq!(read(&slack, &none, &challenge), Some(Notice::Challenge("3eZbrw1aB".into())));
        let bot_only =
            json!({ "event_id": "Ev2", "event": { "type": "tokens_revoked", "tokens": { "bot": ["B1"] } } });
        assert_eq!(read(&slack, &none, &bot_only), Some(Notice::Revoked { id: "Ev2".into(), users: vec![] }));
        let no_id = json!({ "event": { "type": "tokens_revoked", "tokens": { "oauth": ["U1"] } } });
        assert_eq!(read(&slack, &none, &no_id), None);
    }
}
