//! Google Workspace domain-wide delegation: the service account's JSON key, and the RFC 7523
//! assertion it signs for one user
//! (<https://developers.google.com/identity/protocols/oauth2/service-account#authorizingrequests>):
//! RS256 with the key's `private_key_id` as `kid`; `iss` the service account's address, `sub`
//! the user acted as, `scope` the delegated scopes, `aud` the token endpoint, `iat` and `exp`
//! at most one hour apart.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};

/// How far `iat` is set back, so that a server clock slightly ahead of Google's does not
/// make the assertion "issued in the future".
pub const SKEW_SECS: u64 = 30;
/// How long an assertion is good for: Google's maximum, one hour.
pub const LIFETIME_SECS: u64 = 3600;

/// A service account's key, as read from its JSON key file.
pub struct ServiceAccountKey {
    /// The service account's address: the assertion's `iss`.
    pub client_email: String,
    /// Its numeric client id: what the tenant's admin authorizes.
    pub client_id: String,
    /// The key's id: the assertion's `kid`.
    pub private_key_id: String,
    /// The private key.
    key: EncodingKey,
}

impl std::fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("client_email", &self.client_email)
            .field("client_id", &self.client_id)
            .field("private_key_id", &self.private_key_id)
            .finish_non_exhaustive()
    }
}

/// Two configurations compare keys by their identity (the configuration's tests).
impl PartialEq for ServiceAccountKey {
    fn eq(&self, other: &ServiceAccountKey) -> bool {
        (&self.client_email, &self.client_id, &self.private_key_id)
            == (&other.client_email, &other.client_id, &other.private_key_id)
    }
}

/// The fields of a key file read here (others, `token_uri` included, are ignored: the
/// catalogue's token endpoint is the one called).
#[derive(Deserialize)]
struct KeyFile {
    #[serde(rename = "type")]
    kind: Option<String>,
    client_email: Option<String>,
    client_id: Option<String>,
    private_key_id: Option<String>,
    private_key: Option<String>,
}

/// The assertion's claims.
#[derive(Debug, Deserialize, PartialEq, Serialize)]
pub struct Claims {
    /// The service account.
    pub iss: String,
    /// The user acted as.
    pub sub: String,
    /// The scopes, space-separated.
    pub scope: String,
    /// The token endpoint.
    pub aud: String,
    /// Issued at (seconds since the epoch).
    pub iat: u64,
    /// Expires at (seconds since the epoch).
    pub exp: u64,
}

impl ServiceAccountKey {
    /// Reads a JSON key file. Errors say which field is missing or wrong (a JSON error by line
    /// and column only), never a value.
    pub fn parse(text: &str) -> Result<ServiceAccountKey, String> {
        let file: KeyFile = serde_json::from_str(text).map_err(|e| {
            format!("not a service account JSON key (line {}, column {})", e.line(), e.column())
        })?;
        if file.kind.as_deref() != Some("service_account") {
            return Err("not a service account JSON key (its type is not service_account)".to_owned());
        }
        let field = |value: Option<String>, name: &str| {
            value.filter(|v| !v.trim().is_empty()).ok_or_else(|| format!("the key has no {name}"))
        };
        let client_email = field(file.client_email, "client_email")?;
        let client_id = field(file.client_id, "client_id")?;
        let private_key_id = field(file.private_key_id, "private_key_id")?;
        let pem = field(file.private_key, "private_key")?;
        let key = EncodingKey::from_rsa_pem(pem.as_bytes())
            .map_err(|_| "the key's private_key is not an RSA private key in PEM".to_owned())?;
        Ok(ServiceAccountKey { client_email, client_id, private_key_id, key })
    }

    /// The signed assertion for acting as `user` with `scopes` at `token_url`, at `now`
    /// (seconds since the epoch).
    pub fn assertion(
        &self,
        user: &str,
        scopes: &[String],
        token_url: &str,
        now: u64,
    ) -> Result<String, String> {
        let iat = now.saturating_sub(SKEW_SECS);
        let claims = Claims {
            iss: self.client_email.clone(),
            sub: user.to_owned(),
            scope: scopes.join(" "),
            aud: token_url.to_owned(),
            iat,
            exp: iat + LIFETIME_SECS,
        };
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.private_key_id.clone());
        jsonwebtoken::encode(&header, &claims, &self.key).map_err(|e| format!("cannot sign: {e}"))
    }
}

/// The Directory API's list of `domain`'s users
/// (<https://developers.google.com/workspace/admin/directory/reference/rest/v1/users/list>:
/// `domain`, `maxResults` at most 500, `pageToken`), under the API base `base`.
pub fn users_url(base: &str, domain: &str, size: u32, after: Option<&str>) -> Option<String> {
    let mut url = url::Url::parse(&format!("{base}/admin/directory/v1/users")).ok()?;
    url.query_pairs_mut()
        .append_pair("domain", domain)
        .append_pair("maxResults", &size.min(500).to_string())
        .append_pair("orderBy", "email");
    if let Some(after) = after {
        url.query_pairs_mut().append_pair("pageToken", after);
    }
    Some(url.into())
}

/// A page of the Directory API's users: `users[]` (`id`, `primaryEmail`, `name.fullName`,
/// `suspended`) and `nextPageToken`; `None` when it is not one.
pub fn users_page(reply: &serde_json::Value) -> Option<super::UsersPage> {
    let text = |value: &serde_json::Value, pointer: &str| {
        value.pointer(pointer).and_then(serde_json::Value::as_str).map(str::to_owned)
    };
    let listed = match reply.get("users") {
        None => Vec::new(),
        Some(users) => users.as_array()?.clone(),
    };
    let users = listed
        .iter()
        .map(|user| {
            Some(super::OrgUser {
                id: text(user, "/id")?,
                email: text(user, "/primaryEmail")?.to_ascii_lowercase(),
                name: text(user, "/name/fullName"),
                active: !user.get("suspended").and_then(serde_json::Value::as_bool).unwrap_or(false),
            })
        })
        .collect::<Option<Vec<_>>>()?;
    let next = text(reply, "/nextPageToken")
        .filter(|token| !token.is_empty() && token.len() <= super::MAX_PAGE_TOKEN);
    Some(super::UsersPage { users, next })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_keys_are_refused_naming_the_fault_and_no_secret() {
        let cases = [
            ("{\"private_key\": \"s3cr3t\"", "line 1"),
            ("{\"type\": \"authorized_user\", \"private_key\": \"s3cr3t\"}", "type is not service_account"),
            ("{\"type\": \"service_account\", \"private_key\": \"s3cr3t\"}", "no client_email"),
            (
                "{\"type\": \"service_account\", \"client_email\": \"a@p.test\", \"client_id\": \"1\", \
                 \"private_key_id\": \"k\", \"private_key\": \"s3cr3t\"}",
                "not an RSA private key",
            ),
            ("{\"type\": \"service_account\", \"private_key\": 5}", "line 1"),
        ];
        for (text, expected) in cases {
            let error = ServiceAccountKey::parse(text).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
            assert!(!error.contains("s3cr3t"), "{error}");
        }
    }
}
