//! A provider's behaviour as data: the [`Profile`] a catalogue entry carries (its
//! `[provider.profile]` table), taken from the provider's documentation.

use serde::Deserialize;
use serde_json::Value;

/// How the token endpoint (and the revocation and introspection endpoints) authenticate the
/// client.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// HTTP Basic only (RFC 6749 §2.3.1, id and secret form-encoded first): the method every
    /// server must support, so the default.
    #[default]
    Basic,
    /// `client_id` and `client_secret` in the form body only.
    Post,
    /// Either.
    Both,
    /// A public client: `client_id` in the body, no secret, PKCE required.
    None,
}

/// Whether the provider takes PKCE (RFC 7636).
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Pkce {
    /// A challenge sent is ignored (the provider does not implement PKCE).
    #[default]
    Ignored,
    /// A challenge sent is checked (S256) at the code exchange.
    Supported,
    /// An authorization request without an S256 challenge is refused.
    Required,
}

/// The token endpoint's reply format.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum TokenReply {
    /// `application/json` (RFC 6749 §5.1).
    #[default]
    Json,
    /// `application/x-www-form-urlencoded` unless the request says `Accept: application/json`
    /// (GitHub).
    FormUnlessJsonAccepted,
    /// The user's token nested under `authed_user`, the top level holding a bot token (Slack's
    /// `oauth.v2.access`).
    NestedAuthedUser,
}

/// How `expires_in` is sent.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum ExpiresIn {
    /// A JSON number (RFC 6749).
    #[default]
    Number,
    /// A string of digits.
    String,
    /// Not sent (Salesforce, GitHub OAuth apps): the token lasts until it is refused.
    Absent,
}

/// What the refresh grant does with refresh tokens.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Refresh {
    /// No refresh token is ever issued (the access token does not expire).
    None,
    /// The refresh reply repeats the same refresh token.
    #[default]
    Kept,
    /// The refresh reply holds no `refresh_token`: the old one stays valid.
    Omitted,
    /// Each refresh issues a new refresh token; the old one stays valid.
    Rotating,
    /// Each refresh issues a new refresh token; presenting a used one revokes the whole grant
    /// (reuse detection, as Okta, Auth0 and Box do).
    SingleUse,
}

/// How token requests must carry their parameters.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum TokenBody {
    /// `application/x-www-form-urlencoded` (RFC 6749).
    #[default]
    Form,
    /// A JSON object only (as Atlassian documents its token requests).
    Json,
}

/// How the account's identity is read.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Identity {
    /// OpenID Connect userinfo (GET with the bearer token).
    #[default]
    Userinfo,
    /// A JSON "who am I" endpoint, GET with the bearer token.
    MeGet,
    /// A JSON "who am I" endpoint, POST with the bearer token and no body.
    MePost,
    /// RFC 7662 token introspection: a form POST of `token`, the client authenticated.
    Introspect,
}

/// Whether the provider is an OpenID provider with a discovery document (OpenID Connect
/// Discovery 1.0) at `/.well-known/openid-configuration`, naming its base URL as the issuer and
/// advertising `authorization_response_iss_parameter_supported` (RFC 9207 §3).
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Discovery {
    /// Its authorization responses carry `iss` (its base URL), as advertised.
    Iss,
    /// It advertises `iss` but its authorization responses omit it (a broken or spoofed
    /// provider: the client must refuse them).
    IssOmitted,
}

/// The sites a token reaches, answered at an API path.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Sites {
    /// The API path (`/oauth/token/accessible-resources`).
    pub path: String,
    /// Its JSON reply.
    pub reply: Value,
    /// The path prefix the API answers under once a site is chosen (`/ex/jira/{id}`): other
    /// API paths are 404.
    pub api_prefix: String,
}

/// A provider's behaviour. Every field but `docs` has the default of a plain RFC 6749 provider.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The documentation these quirks were read from (one or more URLs).
    pub docs: Vec<String>,
    /// Client authentication at the token, introspection and revocation endpoints.
    #[serde(default)]
    pub client_auth: ClientAuth,
    /// An API-key or basic provider (no OAuth): where its identity endpoint takes the key —
    /// `bearer`, `basic` (the key as the user, or a user name and password), `header:<name>`,
    /// `query:<name>`, `aws_sigv4:<service>` or `azure_shared_key` (a signature). The key (or
    /// password; Azure's account key is its base64) it accepts is [`crate::CLIENT_SECRET`].
    #[serde(default)]
    pub credential: Option<String>,
    /// A WebDAV server (RFC 4918): its check is `PROPFIND` with `Depth: 0` under the
    /// credential, answered 207 Multi-Status in XML (any other method 405, another depth 400).
    #[serde(default)]
    pub webdav: bool,
    /// PKCE.
    #[serde(default)]
    pub pkce: Pkce,
    /// The token reply's format.
    #[serde(default)]
    pub token_reply: TokenReply,
    /// How `expires_in` is sent.
    #[serde(default)]
    pub expires_in: ExpiresIn,
    /// Refresh tokens.
    #[serde(default)]
    pub refresh: Refresh,
    /// What joins the scopes of the authorization request.
    #[serde(default = "space")]
    pub scope_separator: String,
    /// The authorization request's parameter that carries them (Slack's user token:
    /// `user_scope`).
    #[serde(default = "scope")]
    pub scope_param: String,
    /// Whether the token endpoint answers its errors with status 200 (GitHub; Slack with
    /// `"ok": false`) rather than RFC 6749's 400 or 401.
    #[serde(default)]
    pub token_errors_200: bool,
    /// Whether an error redirect (a denial) carries `state`.
    #[serde(default = "yes")]
    pub error_state: bool,
    /// The `iss` its authorization responses carry (RFC 9207), if any.
    #[serde(default)]
    pub issuer: Option<String>,
    /// Its discovery document, if it has one.
    #[serde(default)]
    pub discovery: Option<Discovery>,
    /// How the identity is read.
    #[serde(default)]
    pub identity: Identity,
    /// `me_post`: the JSON body its identity endpoint requires (a GraphQL query: Linear's
    /// `viewer`, monday.com's `me`), any other body refused with 400; none: any body.
    #[serde(default)]
    pub identity_body: Option<Value>,
    /// The identity reply (introspection adds `"active": true`); default: OpenID claims.
    #[serde(default = "openid_claims")]
    pub me: Value,
    /// Whether it has an RFC 7009 revocation endpoint.
    #[serde(default)]
    pub revocation: bool,
    /// Whether its token replies name the account's API server (`instance_url`, Salesforce).
    #[serde(default)]
    pub instance_url: bool,
    /// Whether its token replies name the account's API server as `api_domain` (Zoho).
    #[serde(default)]
    pub api_domain: bool,
    /// Parameters every token request must carry, with these values (else `invalid_request`).
    #[serde(default)]
    pub token_params: std::collections::BTreeMap<String, String>,
    /// How token requests must carry their parameters.
    #[serde(default)]
    pub token_body: TokenBody,
    /// Whether its token endpoint takes no client secret but `client_id` and `hash`, the hex
    /// SHA-256 of the secret, `|` and the grant (the code, or the refresh token): Smartsheet's.
    #[serde(default)]
    pub secret_hash: bool,
    /// Headers its API and identity endpoint require on every request, with these values (else
    /// 400, as Notion answers a request without `Notion-Version`).
    #[serde(default)]
    pub api_headers: std::collections::BTreeMap<String, String>,
    /// An API path that names the sites a token reaches (Atlassian's
    /// `/oauth/token/accessible-resources`), and its reply.
    #[serde(default)]
    pub sites: Option<Sites>,
    /// Whether refresh requests go to an endpoint of their own (`/refresh`), the token endpoint
    /// refusing them (`unsupported_grant_type`).
    #[serde(default)]
    pub separate_refresh: bool,
    /// Whether its token endpoint takes the password grant (RFC 6749 §4.3) of
    /// [`crate::USERNAME`] and [`crate::PASSWORD`].
    #[serde(default)]
    pub password_grant: bool,
    /// The header its API and identity endpoint take the access token in (SugarCRM's
    /// `OAuth-Token`), instead of `Authorization: Bearer`.
    #[serde(default)]
    pub token_header: Option<String>,
    /// Parameters its authorization responses add, naming the account's server (Zoho's
    /// `accounts-server`, ShareFile's `subdomain` and `apicp`): each a template over the
    /// simulator's own address — `{base}` (`http://127.0.0.1:PORT`), `{host}`
    /// (`127.0.0.1:PORT`), `{first_label}` (`127`) and `{rest}` (`0.0.1:PORT`), so that what
    /// the client builds from them leads back to the simulator.
    #[serde(default)]
    pub callback_params: std::collections::BTreeMap<String, String>,
    /// Whether its pages send `Cross-Origin-Opener-Policy: same-origin`.
    #[serde(default)]
    pub coop: bool,
    /// Access-token lifetime in seconds (when sent), until a test changes it.
    #[serde(default = "hour")]
    pub lifetime: u64,
}

fn space() -> String {
    " ".to_owned()
}

fn scope() -> String {
    "scope".to_owned()
}

fn yes() -> bool {
    true
}

fn hour() -> u64 {
    3600
}

fn openid_claims() -> Value {
    serde_json::json!({ "sub": "sim-user-1", "email": "ann@example.test", "name": "Ann Example" })
}

impl Profile {
    /// Reads a profile from TOML (a file, or a catalogue entry's `profile` table as text).
    pub fn from_toml(text: &str) -> Result<Profile, String> {
        toml::from_str(text).map_err(|e| format!("profile: {e}"))
    }

    /// The profile of the catalogue entry `id` (its `[provider.profile]`) in the catalogue's
    /// text (`server/providers.toml`).
    pub fn of_entry(catalogue: &str, id: &str) -> Result<Profile, String> {
        let file: toml::Table = toml::from_str(catalogue).map_err(|e| format!("catalogue: {e}"))?;
        let entries = file.get("provider").and_then(toml::Value::as_array).cloned().unwrap_or_default();
        let entry = entries
            .into_iter()
            .find(|entry| entry.get("id").and_then(toml::Value::as_str) == Some(id))
            .ok_or_else(|| format!("the catalogue has no entry {id}"))?;
        let profile = entry.get("profile").cloned().ok_or_else(|| format!("{id} has no profile"))?;
        profile.try_into().map_err(|e| format!("{id}'s profile: {e}"))
    }

    /// Checks what serde cannot: a public client must use PKCE, and docs are cited.
    pub fn check(&self) -> Result<(), String> {
        if self.client_auth == ClientAuth::None && self.pkce != Pkce::Required {
            return Err("client_auth = \"none\" needs pkce = \"required\"".to_owned());
        }
        if self.docs.is_empty() || !self.docs.iter().all(|d| d.starts_with("https://")) {
            return Err("docs: cite the provider's documentation (https:// URLs)".to_owned());
        }
        if !self.me.is_object() {
            return Err("me: the identity reply must be a JSON object".to_owned());
        }
        Ok(())
    }
}
