//! Box enterprise access: our Platform app using Server Authentication with the Client
//! Credentials Grant, authorized for a whole enterprise by its admin in the Admin Console
//! (<https://developer.box.com/guides/authentication/client-credentials/>): `POST
//! /oauth2/token` with `grant_type=client_credentials`, our client id and secret, and
//! `box_subject_type=enterprise` with the enterprise id (the app's Service Account) or
//! `box_subject_type=user` with a user id (that managed user; the app needs "App + Enterprise
//! Access" and "Generate User Access Tokens"). Acting as a user is that user's own token, not
//! the `As-User` header on the enterprise token: the header needs a further app setting ("Make
//! API calls using the as-user header"), and a user's token cannot reach beyond the user.

use super::super::client::UpstreamError;
use serde_json::Value;

/// Whom a token is minted for: the enterprise (its Service Account) or one of its users.
#[derive(Debug, PartialEq)]
pub enum Subject<'a> {
    /// `box_subject_type=enterprise`, the enterprise id.
    Enterprise(&'a str),
    /// `box_subject_type=user`, the user id.
    User(&'a str),
}

const ENTERPRISE: &str = "enterprise:";
const USER: &str = "user:";

impl Subject<'_> {
    /// The key a token of this subject is cached under (`enterprise:{id}` or `user:{id}`:
    /// enterprise and user ids are both numbers).
    pub fn key(&self) -> String {
        match self {
            Subject::Enterprise(id) => format!("{ENTERPRISE}{id}"),
            Subject::User(id) => format!("{USER}{id}"),
        }
    }

    /// The subject of a cache key [`Subject::key`] gave; `None` for anything else.
    pub fn of_key(key: &str) -> Option<Subject<'_>> {
        let subject = match key.strip_prefix(ENTERPRISE) {
            Some(id) => Subject::Enterprise(id),
            None => Subject::User(key.strip_prefix(USER)?),
        };
        is_id(subject.id()).then_some(subject)
    }

    /// The token request's `box_subject_type` and `box_subject_id`.
    pub fn params(&self) -> [(&'static str, &str); 2] {
        match self {
            Subject::Enterprise(id) => [("box_subject_type", "enterprise"), ("box_subject_id", id)],
            Subject::User(id) => [("box_subject_type", "user"), ("box_subject_id", id)],
        }
    }

    fn id(&self) -> &str {
        match self {
            Subject::Enterprise(id) | Subject::User(id) => id,
        }
    }
}

/// Whether `text` is a Box id as enterprises and users have (digits, at most 20).
pub fn is_id(text: &str) -> bool {
    (1..=20).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit())
}

/// Whether the token endpoint's refusal `error` of a mint for `subject` means the enterprise
/// took its authorization back (the account becomes inactive): `unauthorized_client` (the
/// subject type is no longer authorized for our client id), or `invalid_grant` ("Grant
/// credentials are invalid") for the enterprise itself. For a user, `invalid_grant` means that
/// user cannot be acted as (not a managed user of the enterprise): that call only is refused.
pub fn revoked(error: &UpstreamError, subject: Option<Subject<'_>>) -> bool {
    match error.code.as_str() {
        "unauthorized_client" => true,
        "invalid_grant" => matches!(subject, Some(Subject::Enterprise(_))),
        _ => false,
    }
}

/// The largest `limit` of Box's list of users.
const MAX_LIMIT: u32 = 1000;

/// Box's list of the enterprise's users (<https://developer.box.com/reference/get-users/>),
/// marker-paged (`usemarker=true`, `marker` the previous page's `next_marker`), under the API
/// base `base`.
pub fn users_url(base: &str, size: u32, after: Option<&str>) -> Option<String> {
    let mut url = url::Url::parse(&format!("{base}/2.0/users")).ok()?;
    url.query_pairs_mut()
        .append_pair("usemarker", "true")
        .append_pair("limit", &size.min(MAX_LIMIT).to_string())
        .append_pair("fields", "id,name,login,status");
    if let Some(after) = after {
        url.query_pairs_mut().append_pair("marker", after);
    }
    Some(url.into())
}

/// A page of Box's users: `entries[]` (`id`, `login`, `name`, `status`) and `next_marker`;
/// `None` when it is not one.
pub fn users_page(reply: &Value) -> Option<super::UsersPage> {
    let text = |value: &Value, name: &str| value.get(name).and_then(Value::as_str).map(str::to_owned);
    let users = reply
        .get("entries")?
        .as_array()?
        .iter()
        .map(|user| {
            Some(super::OrgUser {
                id: text(user, "id").filter(|id| is_id(id))?,
                email: text(user, "login")?.to_ascii_lowercase(),
                name: text(user, "name"),
                active: text(user, "status").is_none_or(|status| status == "active"),
            })
        })
        .collect::<Option<Vec<_>>>()?;
    let next = text(reply, "next_marker")
        .filter(|marker| !marker.is_empty() && marker.len() <= super::MAX_PAGE_TOKEN);
    Some(super::UsersPage { users, next })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_round_trip_through_their_cache_keys() {
        for subject in [Subject::Enterprise("575619"), Subject::User("2635723082")] {
            assert_eq!(Subject::of_key(&subject.key()), Some(subject));
        }
        for bad in ["575619", "user:", "user:12a", "enterprise:-1", "group:5"] {
            assert_eq!(Subject::of_key(bad), None, "{bad}");
        }
        assert_eq!(Subject::User("7").params(), [("box_subject_type", "user"), ("box_subject_id", "7")]);
    }

    #[test]
    fn only_the_enterprises_refusals_mean_revoked() {
        let refusal = |code: &str| UpstreamError::new(code, "Grant credentials are invalid");
        assert!(revoked(&refusal("unauthorized_client"), Some(Subject::User("1"))));
        assert!(revoked(&refusal("invalid_grant"), Some(Subject::Enterprise("5"))));
        assert!(!revoked(&refusal("invalid_grant"), Some(Subject::User("1"))));
        assert!(!revoked(&refusal("invalid_client"), Some(Subject::Enterprise("5"))));
    }

    #[test]
    fn pages_give_their_marker() {
        let reply = serde_json::json!({ "entries": [
            { "type": "user", "id": "11", "name": "Ann", "login": "Ann@Acme.test", "status": "active" },
            { "type": "user", "id": "12", "name": "Bob", "login": "bob@acme.test", "status": "inactive" },
        ], "limit": 2, "next_marker": "JV9IRGZm" });
        let page = users_page(&reply).unwrap();
        assert_eq!(page.next.as_deref(), Some("JV9IRGZm"));
        assert_eq!(page.users[0].email, "ann@acme.test");
        assert!(page.users[0].active && !page.users[1].active);
        assert_eq!(users_page(&serde_json::json!({ "entries": [{ "id": "x", "login": "a" }] })), None);
        let url = users_url("https://api.box.com", 5000, Some("a&b")).unwrap();
        assert!(url.starts_with("https://api.box.com/2.0/users?usemarker=true&limit=1000&"), "{url}");
        assert!(url.ends_with("&marker=a%26b"), "{url}");
    }
}
