//! Microsoft 365 app-only access: our multi-tenant Entra app, granted to a whole tenant by its
//! admin through the admin-consent endpoint
//! (<https://learn.microsoft.com/en-us/entra/identity-platform/v2-admin-consent>), then a token
//! per tenant by the client-credentials grant
//! (<https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow>):
//! `POST /{tenant}/oauth2/v2.0/token` with `grant_type=client_credentials`, our client id and
//! secret (`client_secret_post`) and the `/.default` scope. Graph app-only tokens are the
//! tenant's, not a user's: acting as a user is addressing that user's resources, a raw path
//! under `/{version}/me/…` being rewritten to `/{version}/users/{user}/…` ([`as_user_path`]).

use super::super::client::UpstreamError;
use super::super::upstream::Secret;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

/// The placeholder of the tenant in the catalogue's `authorization_url` (the admin-consent
/// endpoint) and `token_url`.
pub const TENANT: &str = "{tenant}";

/// Our Entra app: its client id and how it authenticates (never printed).
pub struct AppCredential {
    /// The application (client) id the tenant's admin consents to.
    pub client_id: String,
    /// A client secret, or a certificate.
    pub auth: ClientAuth,
}

/// How our app authenticates at the token endpoint.
pub enum ClientAuth {
    /// `client_secret_post`: the client secret in the form.
    Secret(Secret),
    /// `private_key_jwt`: an assertion signed with the certificate's key ([`Certificate`]).
    Certificate(Certificate),
}

/// How long a certificate assertion is good for: Microsoft asks for "5-10 minutes after nbf" at
/// most.
pub const ASSERTION_SECS: u64 = 600;
/// How far `nbf` / `iat` are set back against a server clock ahead of Microsoft's.
pub const SKEW_SECS: u64 = 30;

/// The certificate uploaded to the app registration and its private key: what signs our client
/// assertions (<https://learn.microsoft.com/en-us/entra/identity-platform/certificate-credentials>:
/// PS256, `typ` JWT, `x5t#S256` the base64url SHA-256 thumbprint of the certificate's DER;
/// `aud` the token endpoint, `iss` = `sub` = our client id, a unique `jti`, `nbf`, `iat`, `exp`).
pub struct Certificate {
    /// The private key.
    key: jsonwebtoken::EncodingKey,
    /// The certificate's SHA-256 thumbprint, base64url.
    pub thumbprint: String,
}

/// A client assertion's claims.
#[derive(serde::Serialize)]
struct AssertionClaims<'a> {
    aud: &'a str,
    iss: &'a str,
    sub: &'a str,
    jti: String,
    nbf: u64,
    iat: u64,
    exp: u64,
}

impl Certificate {
    /// Reads the private key (`key_pem`, RSA in PEM) and the certificate (`certificate_pem`, one
    /// `CERTIFICATE` block in PEM). Errors say which is wrong, never a value.
    pub fn parse(key_pem: &str, certificate_pem: &str) -> Result<Certificate, String> {
        use base64::Engine;
        use sha2::{Digest, Sha256};
        let not_a_key = || "the key is not an RSA private key in PEM".to_owned();
        // The PEM parser takes a certificate's block as a key too: a private key's label first.
        if !key_pem.contains("PRIVATE KEY-----") {
            return Err(not_a_key());
        }
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(key_pem.as_bytes()).map_err(|_| not_a_key())?;
        let not_one = || "the certificate is not one X.509 certificate in PEM".to_owned();
        let body = certificate_pem
            .trim()
            .strip_prefix("-----BEGIN CERTIFICATE-----")
            .and_then(|rest| rest.strip_suffix("-----END CERTIFICATE-----"))
            .ok_or_else(not_one)?;
        let base64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        let der = base64::engine::general_purpose::STANDARD.decode(base64).map_err(|_| not_one())?;
        // A DER SEQUENCE, at least.
        if der.first() != Some(&0x30) {
            return Err(not_one());
        }
        let thumbprint = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(&der));
        Ok(Certificate { key, thumbprint })
    }

    /// The signed client assertion of `client_id` for `token_url`, at `now` (seconds since the
    /// epoch).
    pub fn assertion(&self, client_id: &str, token_url: &str, now: u64) -> Result<String, String> {
        let mut jti = [0u8; 16];
        getrandom::fill(&mut jti).map_err(|e| format!("no randomness: {e}"))?;
        let nbf = now.saturating_sub(SKEW_SECS);
        let claims = AssertionClaims {
            aud: token_url,
            iss: client_id,
            sub: client_id,
            jti: hex::encode(jti),
            nbf,
            iat: nbf,
            exp: nbf + ASSERTION_SECS,
        };
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::PS256);
        header.typ = Some("JWT".to_owned());
        header.x5t_s256 = Some(self.thumbprint.clone());
        jsonwebtoken::encode(&header, &claims, &self.key).map_err(|e| format!("cannot sign: {e}"))
    }
}

impl std::fmt::Debug for AppCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppCredential").field("client_id", &self.client_id).finish_non_exhaustive()
    }
}

/// Two configurations compare apps by their client id (the configuration's tests).
impl PartialEq for AppCredential {
    fn eq(&self, other: &AppCredential) -> bool {
        self.client_id == other.client_id
    }
}

/// Whether `text` names a tenant as the admin-consent and token endpoints take it: a tenant id
/// (a GUID) or one of its domains (`contoso.onmicrosoft.com`, `contoso.com`). The generic
/// `common` / `organizations` are not: the account is one tenant's.
pub fn is_tenant(text: &str) -> bool {
    is_guid(text) || super::is_domain(text)
}

/// Whether `text` is a GUID in its 8-4-4-4-12 hexadecimal form.
pub fn is_guid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `template` (an endpoint of the catalogue entry) for `tenant` (checked by [`is_tenant`]).
pub fn for_tenant(template: &str, tenant: &str) -> String {
    template.replace(TENANT, tenant)
}

/// Whether the token endpoint's refusal `error` means the tenant took its consent back (the
/// account becomes inactive), rather than our own secret being wrong or expired (the operator's
/// to fix: `AADSTS7000215`, `AADSTS7000222`), per
/// <https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes>: the app
/// is no longer in the tenant (`AADSTS700016`, `unauthorized_client`) or its service principal
/// was deleted (`AADSTS7000229`, `invalid_client`).
pub fn consent_revoked(error: &UpstreamError) -> bool {
    let ours = ["AADSTS7000215", "AADSTS7000222"].iter().any(|code| error.description.starts_with(code));
    match error.code.as_str() {
        "unauthorized_client" => true,
        "invalid_client" => !ours,
        _ => false,
    }
}

/// The characters escaped in a user's address put in a path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'@').remove(b'.').remove(b'-').remove(b'_');

/// The raw `path` as `user`: `/{version}/me` and what follows it become
/// `/{version}/users/{user}…` (Graph's own alias: `/me` is the signed-in user, which an
/// app-only token has none of). `None` when the path is not under `/{version}/me`: acting as
/// a user means nothing there.
pub fn as_user_path(path: &str, user: &str) -> Option<String> {
    let rest = path.strip_prefix('/')?;
    let (version, rest) = rest.split_once('/')?;
    let tail = rest.strip_prefix("me")?;
    if !(tail.is_empty() || tail.starts_with(['/', '?'])) || version.is_empty() {
        return None;
    }
    Some(format!("/{version}/users/{}{tail}", utf8_percent_encode(user, SEGMENT)))
}

/// A tenant as Graph's `GET /v1.0/organization` describes it
/// (<https://learn.microsoft.com/en-us/graph/api/organization-get>, application permission
/// `Organization.Read.All`).
#[derive(Debug, PartialEq)]
pub struct Organization {
    /// The tenant id, lower case.
    pub id: String,
    /// Its display name.
    pub name: Option<String>,
    /// Its verified domains, lower case, the default one first.
    pub verified_domains: Vec<String>,
}

impl Organization {
    /// Reads the tenant from `GET /v1.0/organization`'s reply (its `value`'s one item).
    pub fn read(reply: &Value) -> Result<Organization, UpstreamError> {
        let unreadable =
            || UpstreamError::new("server_error", "The service did not describe the organisation.");
        let organization = reply.pointer("/value/0").ok_or_else(unreadable)?;
        let text = |value: &Value, name: &str| value.get(name).and_then(Value::as_str).map(str::to_owned);
        let id = text(organization, "id").filter(|id| is_guid(id)).ok_or_else(unreadable)?;
        let domains =
            organization.get("verifiedDomains").and_then(Value::as_array).cloned().unwrap_or_default();
        let mut verified: Vec<(bool, String)> = domains
            .iter()
            .filter_map(|domain| {
                let name = text(domain, "name")?.to_ascii_lowercase();
                let default = domain.get("isDefault").and_then(Value::as_bool).unwrap_or(false);
                super::is_domain(&name).then_some((!default, name))
            })
            .collect();
        verified.sort();
        Ok(Organization {
            id: id.to_ascii_lowercase(),
            name: text(organization, "displayName").map(|name| super::super::client::sanitize(&name, 200)),
            verified_domains: verified.into_iter().map(|(_, name)| name).collect(),
        })
    }

    /// Whether `typed` (a tenant as the admin typed it, lower case) names this tenant: its id
    /// or one of its verified domains.
    pub fn is(&self, typed: &str) -> bool {
        self.id == typed || self.verified_domains.iter().any(|domain| domain == typed)
    }
}

/// What Graph's list of users is asked for
/// (<https://learn.microsoft.com/en-us/graph/api/user-list>, application permission
/// `User.Read.All`).
const USER_FIELDS: &str = "id,displayName,mail,userPrincipalName,accountEnabled";

/// Graph's list of the tenant's users (`$top` at most 999), after the page token `after` (the
/// `$skiptoken` of the previous page's `@odata.nextLink`), under the API base `base`.
pub fn users_url(base: &str, size: u32, after: Option<&str>) -> Option<String> {
    let mut url = url::Url::parse(&format!("{base}/v1.0/users")).ok()?;
    url.query_pairs_mut().append_pair("$top", &size.min(999).to_string()).append_pair("$select", USER_FIELDS);
    if let Some(after) = after {
        url.query_pairs_mut().append_pair("$skiptoken", after);
    }
    Some(url.into())
}

/// A page of Graph's users: `value[]` (`id`, `mail` or else `userPrincipalName`,
/// `displayName`, `accountEnabled`) and the next page's `$skiptoken`, taken from
/// `@odata.nextLink` only when that link is on the API base `base` (Graph's paging:
/// <https://learn.microsoft.com/en-us/graph/paging>); `None` when it is not one.
pub fn users_page(reply: &Value, base: Option<&str>) -> Option<super::UsersPage> {
    let text = |value: &Value, name: &str| value.get(name).and_then(Value::as_str).map(str::to_owned);
    let users = reply
        .get("value")?
        .as_array()?
        .iter()
        .map(|user| {
            Some(super::OrgUser {
                id: text(user, "id")?,
                email: text(user, "mail").or_else(|| text(user, "userPrincipalName"))?.to_ascii_lowercase(),
                name: text(user, "displayName"),
                active: user.get("accountEnabled").and_then(Value::as_bool).unwrap_or(true),
            })
        })
        .collect::<Option<Vec<_>>>()?;
    let next = match text(reply, "@odata.nextLink") {
        None => None,
        Some(link) => {
            let link = url::Url::parse(&link).ok()?;
            let base = url::Url::parse(base?).ok()?;
            if link.origin() != base.origin() {
                return None;
            }
            let token = link.query_pairs().find(|(name, _)| name == "$skiptoken")?.1.into_owned();
            Some(token).filter(|token| !token.is_empty() && token.len() <= super::MAX_PAGE_TOKEN)
        }
    };
    Some(super::UsersPage { users, next })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenants_are_guids_or_domains() {
        assert!(is_tenant("aaaabbbb-0000-cccc-1111-dddd2222eeee") && is_tenant("contoso.onmicrosoft.com"));
        for not in ["common", "organizations", "aaaabbbb-0000-cccc-1111-dddd2222eee", "a/b.test", ""] {
            assert!(!is_tenant(not), "{not}");
        }
    }

    #[test]
    fn paths_under_me_become_the_users() {
        let as_ann = |path| as_user_path(path, "ann@contoso.test");
        assert_eq!(as_ann("/v1.0/me/drive/root").as_deref(), Some("/v1.0/users/ann@contoso.test/drive/root"));
        assert_eq!(as_ann("/beta/me").as_deref(), Some("/beta/users/ann@contoso.test"));
        assert_eq!(as_ann("/v1.0/me?$select=id").as_deref(), Some("/v1.0/users/ann@contoso.test?$select=id"));
        assert_eq!(
            as_user_path("/v1.0/me/drive", "a/b#c@contoso.test").as_deref(),
            Some("/v1.0/users/a%2Fb%23c@contoso.test/drive")
        );
        for elsewhere in ["/v1.0/users", "/v1.0/messages", "/me/drive", "/v1.0/meetings", "//me"] {
            assert_eq!(as_ann(elsewhere), None, "{elsewhere}");
        }
    }

    #[test]
    fn the_organisation_is_read_with_its_default_domain_first() {
        let reply = serde_json::json!({ "value": [{
            "id": "AAAABBBB-0000-cccc-1111-dddd2222eeee",
            "displayName": "Contoso",
            "verifiedDomains": [
                { "name": "contoso.onmicrosoft.test", "isDefault": false },
                { "name": "Contoso.test", "isDefault": true },
                { "name": "not a domain", "isDefault": false },
            ],
        }]});
        let organization = Organization::read(&reply).unwrap();
        assert_eq!(organization.id, "aaaabbbb-0000-cccc-1111-dddd2222eeee");
        assert_eq!(organization.verified_domains, ["contoso.test", "contoso.onmicrosoft.test"]);
        assert!(organization.is("contoso.test") && organization.is("aaaabbbb-0000-cccc-1111-dddd2222eeee"));
        assert!(!organization.is("evil.test"));
        assert!(Organization::read(&serde_json::json!({ "value": [] })).is_err());
        assert!(Organization::read(&serde_json::json!({ "value": [{ "id": "x" }] })).is_err());
    }

    #[test]
    fn graph_pages_give_their_skiptoken_only_from_the_api_base() {
        let base = Some("https://graph.microsoft.com");
        let reply = |link: &str| {
            serde_json::json!({ "value": [
                { "id": "1", "mail": "Ann@Contoso.test", "displayName": "Ann", "accountEnabled": true },
                { "id": "2", "mail": null, "userPrincipalName": "bob@contoso.test", "accountEnabled": false },
            ], "@odata.nextLink": link })
        };
        let page = users_page(&reply("https://graph.microsoft.com/v1.0/users?$top=2&$skiptoken=X%2BY"), base);
        let page = page.unwrap();
        assert_eq!(page.next.as_deref(), Some("X+Y"));
        assert_eq!(
            (page.users[0].email.as_str(), page.users[1].email.as_str()),
            ("ann@contoso.test", "bob@contoso.test")
        );
        assert!(page.users[0].active && !page.users[1].active);
        assert_eq!(users_page(&reply("https://evil.test/v1.0/users?$skiptoken=X"), base), None);
        assert_eq!(users_page(&reply("https://graph.microsoft.com/v1.0/users"), base), None);
        let url = users_url("https://graph.microsoft.com", 5000, Some("a&b=c")).unwrap();
        assert!(url.starts_with("https://graph.microsoft.com/v1.0/users?"), "{url}");
        assert!(
            url.contains("top=999&") && url.ends_with("skiptoken=a%26b%3Dc"),
            "the token a value only: {url}"
        );
    }

    #[test]
    fn only_the_tenants_refusals_mean_revoked_consent() {
        let refusal = |code: &str, description: &str| UpstreamError::new(code, description);
        assert!(consent_revoked(&refusal("invalid_client", "AADSTS7000229: missing service principal")));
        assert!(consent_revoked(&refusal("unauthorized_client", "AADSTS700016: not found in the directory")));
        assert!(!consent_revoked(&refusal("invalid_client", "AADSTS7000215: Invalid client secret")));
        assert!(!consent_revoked(&refusal("invalid_client", "AADSTS7000222: expired secret")));
        assert!(!consent_revoked(&refusal("temporarily_unavailable", "")));
    }
}
