//! An app's webhook ([`Webhook`]): where its events are sent, the key signing them and the types
//! it wants. A leaf module, so that the configuration can compose it without the sender.

use crate::providers::guard;
use crate::providers::upstream::Secret;
use crate::store::EventKind;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The prefix of a Standard Webhooks signing secret: `whsec_` and the key in base64.
pub const SECRET_PREFIX: &str = "whsec_";

/// The shortest signing key accepted, in bytes (Standard Webhooks: 24 to 64).
pub const MIN_KEY_BYTES: usize = 24;

/// An app's webhook subscription.
#[derive(Clone, Debug, PartialEq)]
pub struct Webhook {
    /// Where the events are posted (`webhook_url`): https, or http to a loopback host; never a
    /// private address unless `allow_private_upstreams`.
    pub url: url::Url,
    /// The signing secret (`webhook_secret`, `webhook_secret_env` or `webhook_secret_file`):
    /// `whsec_` and the key in base64.
    pub secret: Secret,
    /// The event types sent (`webhook_events`); all of them without the key.
    pub events: Option<Vec<EventKind>>,
}

impl Webhook {
    /// Checks a webhook's keys: `url` through the SSRF guard (`allow_private`: the
    /// configuration's `allow_private_upstreams`), `secret` a Standard Webhooks secret, `events`
    /// known types.
    pub fn check(
        url: &str,
        secret: Option<String>,
        events: Option<Vec<String>>,
        allow_private: bool,
    ) -> Result<Webhook, String> {
        let refuse = |why: &str| Err(format!("webhook_url: {url:?} {why}"));
        let Ok(parsed) = url::Url::parse(url) else { return refuse("is not an absolute URL") };
        let loopback = matches!(parsed.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
        if parsed.scheme() != "https" && !(parsed.scheme() == "http" && loopback) {
            return refuse("is not an https URL (http is for localhost, 127.0.0.1 and [::1] only)");
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return refuse("has credentials");
        }
        if loopback && !allow_private {
            return refuse("is a local address, which needs allow_private_upstreams = true");
        }
        guard::check_url(&parsed, allow_private).map_err(|why| format!("webhook_url: {url:?}: {why}"))?;
        let secret =
            secret.ok_or("webhook_url needs webhook_secret, webhook_secret_env or webhook_secret_file")?;
        key(&secret)?;
        let events = events
            .map(|names| names.iter().map(|name| kind(name)).collect::<Result<Vec<_>, _>>())
            .transpose()?;
        Ok(Webhook { url: parsed, secret: Secret::new(secret), events })
    }

    /// Whether the webhook wants events of type `kind` (as [`EventKind::as_str`] gives it).
    pub fn wants(&self, kind: &str) -> bool {
        self.events.as_ref().is_none_or(|events| events.iter().any(|wanted| wanted.as_str() == kind))
    }
}

/// The signing key of a Standard Webhooks secret (`whsec_` and at least [`MIN_KEY_BYTES`] in
/// base64).
pub fn key(secret: &str) -> Result<Vec<u8>, String> {
    let encoded = secret.strip_prefix(SECRET_PREFIX).ok_or("webhook_secret must start with whsec_")?;
    let key = STANDARD.decode(encoded).map_err(|_| "webhook_secret: the part after whsec_ is not base64")?;
    if key.len() < MIN_KEY_BYTES {
        return Err(format!("webhook_secret: the key must be at least {MIN_KEY_BYTES} bytes"));
    }
    Ok(key)
}

/// The event type named `name`.
fn kind(name: &str) -> Result<EventKind, String> {
    EventKind::ALL
        .into_iter()
        .find(|kind| kind.as_str() == name)
        .ok_or_else(|| format!("webhook_events: {name:?} is not an event type"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    #[test]
    fn a_webhook_must_be_https_public_and_signed() {
        let check = |url: &str, private| Webhook::check(url, Some(SECRET.to_owned()), None, private);
        assert!(check("https://hooks.example.com/in", false).is_ok());
        for (url, why) in [
            ("http://hooks.example.com/in", "not an https URL"),
            ("https://10.0.0.5/in", "private or local"),
            ("https://169.254.169.254/latest", "private or local"),
            ("http://127.0.0.1:9/in", "allow_private_upstreams"),
            ("https://u:p@hooks.example.com/", "credentials"),
            ("hooks", "not an absolute URL"),
        ] {
            let error = check(url, false).unwrap_err();
            assert!(error.contains(why), "{url}: {error}");
        }
        assert!(check("http://127.0.0.1:9/in", true).is_ok(), "allowed for development");
        assert!(check("https://10.0.0.5/in", true).is_ok());
        let unsigned = Webhook::check("https://hooks.example.com/", None, None, false).unwrap_err();
        assert!(unsigned.contains("webhook_secret"), "{unsigned}");
    }

    #[test]
    fn secrets_and_event_types_are_checked() {
        assert_eq!(key(SECRET).unwrap().len(), 24);
        assert!(key("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap_err().contains("whsec_"));
        assert!(key("whsec_!!").unwrap_err().contains("base64"));
        assert!(key("whsec_c2hvcnQ=").unwrap_err().contains("at least"));
        let only = Some(vec!["account.deleted".to_owned()]);
        let hook = Webhook::check("https://h.example/", Some(SECRET.to_owned()), only, false).unwrap();
        assert!(hook.wants("account.deleted") && !hook.wants("account.connected"));
        let wrong = Some(vec!["account.exploded".to_owned()]);
        assert!(Webhook::check("https://h.example/", Some(SECRET.to_owned()), wrong, false).is_err());
    }
}
