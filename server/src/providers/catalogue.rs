//! The provider catalogue, as data: `server/providers.toml`, built into the binary and read
//! into [`Entry`] values. Nothing here talks to the network.

use serde::Deserialize;
use std::collections::BTreeMap;

/// The catalogue's text (see the file's header for the format).
pub const CATALOGUE: &str = include_str!("../../providers.toml");

/// How an account of a provider is authorized.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// OAuth 2.0 authorization code (with PKCE where the provider takes it).
    Oauth2,
    /// An API key the user pastes into the pop-up.
    ApiKey,
    /// A user name and password the user types into the pop-up.
    Basic,
    /// A user name and password the user types into the pop-up, traded once at the token
    /// endpoint for tokens (RFC 6749 §4.3, the resource owner password credentials grant, our
    /// OAuth app authenticated as for a code): the password is never stored, and the account
    /// refreshes as an OAuth 2.0 one (SugarCRM).
    Password,
    /// An organisation-wide grant: the tenant's admin authorizes our service account once,
    /// and the server mints each user's token itself ([`crate::providers::org`]).
    ServiceAccount,
}

/// How the token endpoint authenticates our OAuth app. The default is HTTP Basic, which
/// every authorization server must support (RFC 6749 §2.3.1) and which OpenID Connect
/// Discovery assumes when a provider lists no `token_endpoint_auth_methods_supported`.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
    /// HTTP Basic authentication.
    #[default]
    ClientSecretBasic,
}

/// How a token request's parameters are sent.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum TokenBody {
    /// `application/x-www-form-urlencoded` (RFC 6749 §4.1.3).
    #[default]
    Form,
    /// A JSON object of the same parameters (Atlassian's token endpoint documents this).
    Json,
}

/// Where an account's site is looked up once it is connected (Atlassian's cloud id).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SiteLookup {
    /// The URL, called (GET) with the account's access token.
    pub url: String,
    /// A JSON pointer to the site in its reply (`/0/id`: the first site's id).
    pub id: String,
}

/// The method the identity endpoint is called with.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// `GET` (OpenID userinfo, most "who am I" endpoints).
    #[default]
    Get,
    /// `POST` with no body (e.g. Dropbox's `users/get_current_account`).
    Post,
    /// Token introspection (RFC 7662): `POST` of the form `token` and `token_type_hint`, our
    /// client authenticated as at the token endpoint; the reply must say `"active": true`
    /// (e.g. HubSpot's `oauth/v3/token/introspect`).
    Introspect,
}

/// Where the account's identity sits in the identity endpoint's JSON reply: JSON pointers
/// (RFC 6901), e.g. `/sub` or `/name/display_name`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IdentityPaths {
    /// The upstream's stable id of the user (a string or a number). Empty (a basic entry's
    /// default): the check's reply is not read, the account is the user name typed.
    #[serde(default)]
    pub id: String,
    /// The login to show, the first one present (else the id).
    #[serde(default)]
    pub login: Vec<String>,
    /// The display name.
    #[serde(default)]
    pub name: Option<String>,
}

impl IdentityPaths {
    /// The OpenID Connect claims: `sub`, then `email`, else `preferred_username`; `name`.
    pub fn openid() -> IdentityPaths {
        IdentityPaths {
            id: "/sub".to_owned(),
            login: vec!["/email".to_owned(), "/preferred_username".to_owned()],
            name: Some("/name".to_owned()),
        }
    }
}

/// One catalogue entry.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The service id (as in `scope` and the account's `service`).
    pub id: String,
    /// The display name.
    pub name: String,
    /// The Kloudless scope category (`storage`, `crm`, `calendar`, …).
    pub category: String,
    /// How an account is authorized.
    pub kind: Kind,
    /// The provider documentation the entry was checked against.
    #[serde(default)]
    pub docs: String,
    /// OAuth 2.0: the authorization endpoint.
    pub authorization_url: Option<String>,
    /// OAuth 2.0: the token endpoint.
    pub token_url: Option<String>,
    /// The scopes asked for at the normal level.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// The scopes asked for at the admin level.
    #[serde(default)]
    pub admin_scopes: Vec<String>,
    /// What joins the scopes in the `scope` parameter.
    #[serde(default = "space")]
    pub scope_separator: String,
    /// The authorization URL's parameter that carries the scopes: `scope`, or Slack's
    /// `user_scope` for a user token.
    #[serde(default = "scope")]
    pub scope_param: String,
    /// Extra parameters on the authorization URL (e.g. `access_type = "offline"`).
    #[serde(default)]
    pub authorization_params: BTreeMap<String, String>,
    /// Whether to send a PKCE S256 challenge.
    #[serde(default = "yes")]
    pub pkce: bool,
    /// How the token endpoint authenticates us.
    #[serde(default)]
    pub client_auth: ClientAuth,
    /// The identity endpoint (`{access_token}` in it is replaced by the token).
    pub identity_url: Option<String>,
    /// Its method.
    #[serde(default)]
    pub identity_method: Method,
    /// `identity_method = "POST"`: the JSON body sent, where the endpoint takes a query (a
    /// GraphQL API's `{ "query": "{ viewer { id } }" }`: Linear, monday.com); none: no body.
    #[serde(default)]
    pub identity_body: Option<serde_json::Value>,
    /// Where the identity sits in its reply (a basic entry without it: the user name typed; a
    /// service-account entry has none).
    #[serde(default)]
    pub identity: IdentityPaths,
    /// The API's base URL, for the calls made later with the account's tokens.
    pub api_base: Option<String>,
    /// When a URL holds `{hostname}`: the pattern the typed hostname must match (`*` is one
    /// DNS label).
    pub hostname_pattern: Option<String>,
    /// Per-server basic: the server may be typed with the path the service is under
    /// (`dav.example.org/remote.php/webdav`, or as an `https://` URL); the path is kept with the
    /// account and `{hostname}` is the server and that path, so the check and every
    /// pass-through call stay under it.
    #[serde(default)]
    pub server_path: bool,
    /// API key / basic: the endpoint that checks the credential (and whose JSON reply holds the
    /// identity).
    pub check_url: Option<String>,
    /// API key / basic: how the check is made, where it is not a `GET` answered 2xx with JSON
    /// (WebDAV's `PROPFIND` answered 207 Multi-Status).
    #[serde(default)]
    pub check: Option<CheckRequest>,
    /// API key / basic: how the credential is sent to `check_url`: `bearer`, `basic`,
    /// `header:<name>` or `query:<name>` (default: `bearer` for an API key, `basic` for basic).
    /// OAuth 2.0 / password: how the access token is sent to the identity endpoint and the API:
    /// `bearer` (default) or `header:<name>` (SugarCRM's `OAuth-Token`).
    pub credential: Option<String>,
    /// OAuth 2.0: the token revocation endpoint (RFC 7009), called when an account is
    /// disconnected; without one, disconnecting only forgets the tokens.
    pub revocation_url: Option<String>,
    /// OAuth 2.0: the issuer identifier its authorization responses carry as `iss` (RFC 9207),
    /// where the provider documents one (`{hostname}` in it is the account's server). An
    /// `iss` that differs is refused; without this field, `iss` is not checked.
    pub issuer: Option<String>,
    /// Other ids the service answers to, in `scope`, in `[[providers]] id` and in accounts
    /// stored under them (e.g. `onedrive`, this catalogue's id before it took Kloudless's
    /// `skydrive`).
    #[serde(default)]
    pub id_aliases: Vec<String>,
    /// OAuth 2.0: the parameters of the provider's authorization request a pop-up's
    /// `raw[name]=value` may set (from its documentation: `login_hint`, `prompt`, …); any other
    /// `raw[…]` is dropped.
    #[serde(default)]
    pub raw_params: Vec<String>,
    /// OAuth 2.0: the upstream scopes a `scope` may nest for this provider
    /// (`gdrive."…":raw`), besides the entry's own `scopes` and `admin_scopes`: each exact, or
    /// a prefix when it ends in `*`. Empty: only the entry's own.
    #[serde(default)]
    pub allowed_scopes: Vec<String>,
    /// The logo: the slug of a bundled simple-icons icon ([`crate::providers::icons`]); without
    /// one, the pop-up shows a monogram.
    #[serde(default)]
    pub icon: Option<String>,
    /// Basic: what the form calls the user name and the password (S3's access key id and
    /// secret access key); default "User name" and "Password".
    #[serde(default)]
    pub labels: Option<FormLabels>,
    /// API key / basic: a sentence telling the user where to find the credential, shown on the
    /// pop-up's form above the `docs` link.
    #[serde(default)]
    pub help: Option<String>,
    /// OAuth 2.0: where the code exchange's reply holds the user's token, when not at its top
    /// level: a JSON pointer (Slack's `oauth.v2.access`: `/authed_user`). Refresh replies are
    /// read at their top level.
    pub token_path: Option<String>,
    /// OAuth 2.0: the access tokens' lifetime in seconds that the provider documents, for token
    /// replies without `expires_in` (RFC 6749 §5.1: "If omitted, the authorization server
    /// SHOULD ... document the default value"): such a token is refreshed before it is that old,
    /// as well as on the API's 401.
    pub default_expires_in: Option<u64>,
    /// OAuth 2.0: where the account's site is looked up once it is connected, with its access
    /// token: `{site}` in `api_base` (Atlassian: `/oauth/token/accessible-resources`, `/0/id`,
    /// the cloud id of the first site the grant reaches).
    pub site_lookup: Option<SiteLookup>,
    /// OAuth 2.0: where refresh requests go, when the provider documents an endpoint of their own
    /// (default: `token_url`); `{hostname}` in it as in `token_url`.
    pub refresh_url: Option<String>,
    /// OAuth 2.0: extra parameters sent with every token request (the code exchange and each
    /// refresh), as the provider's documentation asks.
    #[serde(default)]
    pub token_params: BTreeMap<String, String>,
    /// OAuth 2.0: the client proves it holds its secret without sending it (Smartsheet's): each
    /// token request carries `client_id` and `hash`, the hex SHA-256 of the secret, `|` and the
    /// request's grant (the code, or the refresh token), never the secret itself.
    #[serde(default)]
    pub secret_hash: bool,
    /// Headers every call to the provider's API carries, as its documentation requires
    /// (Notion's `Notion-Version`): each raw call, and an OAuth 2.0 entry's identity request.
    /// A raw call's own `X-Kloudless-Raw-Headers` of the same name replace them (an app may pin
    /// another API version). Neither `Authorization` nor `Host`: the server sets those.
    #[serde(default)]
    pub api_headers: BTreeMap<String, String>,
    /// OAuth 2.0: how token requests carry their parameters (default: a form).
    #[serde(default)]
    pub token_body: TokenBody,
    /// OAuth 2.0: where the account's server (`{hostname}` in the URLs) comes from when the
    /// provider names it in its authorization response rather than the user typing it: a
    /// template over the callback's parameters, e.g. `{subdomain}.{apicp}` (ShareFile) or
    /// `{accounts-server}` (Zoho's data centre: an URL, of which the host is taken). The result
    /// must match `hostname_pattern`, else the answer is refused with nothing exchanged.
    pub callback_hostname: Option<String>,
    /// OAuth 2.0: the token reply's field naming the account's own API server, read as
    /// `{instance_url}` (default `instance_url`, Salesforce's; Zoho's is `api_domain`).
    #[serde(default = "instance_url")]
    pub instance_url_field: String,
    /// OAuth 2.0: the signed notices the provider sends when a user revokes our app's grant
    /// ([`crate::providers::notice`]), where it documents them: the accounts they name are
    /// deleted ([`crate::accounts::revocations`]) once the operator configures the provider's
    /// `revocation_secret`.
    pub revocation_notice: Option<super::notice::RevocationNotice>,
    /// API key / basic: the statuses of the API's replies that may mean the credential no longer
    /// works, after which the account's check is run again ([`crate::accounts::recheck`]);
    /// default 401 only. S3 answers a bad key or signature with 403 (`InvalidAccessKeyId`,
    /// `SignatureDoesNotMatch`), as it does a key without the permission.
    #[serde(default = "unauthorized")]
    pub bad_credential_statuses: Vec<u16>,
    /// How the provider behaves, as its documentation says (client authentication, token
    /// reply, rotation, expiry, …): the quirk simulator's profile that the conformance tests
    /// (`server/tests/conformance.rs`) run this entry against. Kept as TOML here: only the
    /// simulator reads it.
    #[serde(default)]
    pub profile: Option<toml::Table>,
}

/// The longest server address with a path taken ([`Entry::server_path`]), in bytes.
pub const MAX_SERVER_PATH: usize = 1024;

/// What a basic entry's form calls its two fields.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FormLabels {
    /// The user name's label.
    pub username: String,
    /// The password's label.
    pub password: String,
}

/// Whether `region` is a well-formed cloud region name: 2 to 32 of `a-z`, `0-9` and `-`, a
/// letter first and a `-` in it (`us-east-1`, `eu-central-2`, `us-gov-west-1`).
pub fn is_region(region: &str) -> bool {
    (2..=32).contains(&region.len())
        && region.starts_with(|c: char| c.is_ascii_lowercase())
        && region.contains('-')
        && region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A credential check other than a JSON `GET`: its method, headers and the status that
/// means the credential is good.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    /// The method (default `GET`), e.g. WebDAV's `PROPFIND`.
    #[serde(default = "get")]
    pub method: String,
    /// The status the check must answer (default: any 2xx), e.g. 207 Multi-Status.
    pub status: Option<u16>,
    /// Headers sent with it, e.g. `Depth = "0"`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

impl CheckRequest {
    /// Whether a reply of `status` says the credential is good.
    pub fn accepts(&self, status: u16) -> bool {
        match self.status {
            Some(expected) => status == expected,
            None => (200..300).contains(&status),
        }
    }
}

fn get() -> String {
    "GET".to_owned()
}

/// How an API key or a user name and password are sent.
#[derive(Clone, Debug, PartialEq)]
pub enum Placement {
    /// `Authorization: Bearer <key>`.
    Bearer,
    /// `Authorization: Basic` of `user:password` (an API key as the user, empty password).
    Basic,
    /// A request header of this name.
    Header(String),
    /// A query parameter of this name.
    Query(String),
    /// AWS Signature Version 4 for this service's signing name (`aws_sigv4:s3`): a basic
    /// entry's user name is the access key id, its password the secret access key, and the
    /// account's `{region}` the signing region.
    AwsSigV4(String),
    /// Azure Storage's Shared Key (`azure_shared_key`): a basic entry's user name is the
    /// storage account's name (`{account}` in its URLs), its password the account key.
    AzureSharedKey,
}

impl Placement {
    /// Reads `bearer`, `basic`, `header:<name>`, `query:<name>`, `aws_sigv4:<service>` or
    /// `azure_shared_key`.
    pub fn parse(text: &str) -> Result<Placement, String> {
        let named = |name: &str| {
            (!name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
                .then(|| name.to_owned())
        };
        match text.split_once(':') {
            None if text == "bearer" => Some(Placement::Bearer),
            None if text == "basic" => Some(Placement::Basic),
            None if text == "azure_shared_key" => Some(Placement::AzureSharedKey),
            Some(("header", name)) => named(name).map(Placement::Header),
            Some(("query", name)) => named(name).map(Placement::Query),
            Some(("aws_sigv4", service)) => named(service).map(Placement::AwsSigV4),
            _ => None,
        }
        .ok_or_else(|| {
            format!(
                "credential {text:?} is not bearer, basic, header:<name>, query:<name>, aws_sigv4:<service> or azure_shared_key"
            )
        })
    }
}

impl Entry {
    /// Whether `id` is its id or one of its [`Entry::id_aliases`].
    pub fn answers_to(&self, id: &str) -> bool {
        self.id == id || self.id_aliases.iter().any(|alias| alias == id)
    }

    /// Whether a `scope` may nest the upstream scope `scope` for it: one of its own, or one
    /// [`Entry::allowed_scopes`] names (exactly, or by the prefix before a final `*`).
    pub fn allows_scope(&self, scope: &str) -> bool {
        let allowed = |pattern: &String| match pattern.strip_suffix('*') {
            Some(prefix) => scope.starts_with(prefix),
            None => pattern == scope,
        };
        self.scopes.iter().chain(&self.admin_scopes).any(|own| own == scope)
            || self.allowed_scopes.iter().any(allowed)
    }

    /// Whether the account names a region, asked for on the form: its requests are signed for
    /// one (AWS), or its check URL holds `{region}`.
    pub fn needs_region(&self) -> bool {
        matches!(self.placement(), Placement::AwsSigV4(_))
            || self.check_url.as_deref().is_some_and(|url| url.contains("{region}"))
    }

    /// The account's server its provider names in an authorization response
    /// ([`Entry::callback_hostname`] filled with the callback's parameters, `param`; of an URL,
    /// its host and port), which must match the entry's pattern; `None` for an entry whose
    /// server is typed or fixed. The error says why the answer is not to be used.
    pub fn host_named_by<'p>(
        &self,
        param: impl Fn(&str) -> Option<&'p str>,
    ) -> Option<Result<String, String>> {
        let template = self.callback_hostname.as_ref()?;
        let mut filled = String::new();
        let mut rest = template.as_str();
        while let Some((before, after)) = rest.split_once('{') {
            let Some((name, tail)) = after.split_once('}') else { break };
            let Some(value) = param(name).filter(|v| !v.is_empty() && v.len() <= 253) else {
                return Some(Err(format!("The service's answer does not name its server ({name}).")));
            };
            filled.push_str(before);
            filled.push_str(value);
            rest = tail;
        }
        filled.push_str(rest);
        let host = match url::Url::parse(&filled) {
            Ok(url)
                if matches!(url.scheme(), "https" | "http") && url.path() == "/" && url.query().is_none() =>
            {
                let host = url.host_str().unwrap_or_default();
                url.port().map_or_else(|| host.to_owned(), |port| format!("{host}:{port}"))
            }
            _ => filled,
        }
        .to_ascii_lowercase();
        let pattern = self.hostname_pattern.as_deref().unwrap_or_default();
        Some(match crate::providers::guard::matches_pattern(&host, pattern) {
            true => Ok(host),
            false => Err(format!(
                "The service's answer names {host:?} as its server, which is not one of {pattern}, so it was not used."
            )),
        })
    }

    /// Whether accounts hold OAuth 2.0 tokens of our OAuth app (a code or a password traded for
    /// them), rather than a credential the user typed.
    pub fn has_tokens(&self) -> bool {
        matches!(self.kind, Kind::Oauth2 | Kind::Password)
    }

    /// How the credential is sent (checked by [`check`]).
    pub fn placement(&self) -> Placement {
        match (&self.credential, self.kind) {
            (Some(text), _) => Placement::parse(text).unwrap_or(Placement::Bearer),
            (None, Kind::Basic) => Placement::Basic,
            (None, _) => Placement::Bearer,
        }
    }
}

fn space() -> String {
    " ".to_owned()
}

fn scope() -> String {
    "scope".to_owned()
}

fn unauthorized() -> Vec<u16> {
    vec![401]
}

/// Whether every name and value in `headers` parses as an HTTP header's.
fn valid_headers(headers: &BTreeMap<String, String>) -> bool {
    headers.iter().all(|(name, value)| {
        reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_ok()
            && reqwest::header::HeaderValue::from_str(value).is_ok()
    })
}

fn instance_url() -> String {
    "instance_url".to_owned()
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    provider: Vec<Entry>,
}

/// The built-in catalogue, checked ([`check`]).
pub fn catalogue() -> Result<Vec<Entry>, String> {
    parse(CATALOGUE)
}

/// Reads and checks a catalogue.
pub fn parse(text: &str) -> Result<Vec<Entry>, String> {
    let file: File = toml::from_str(text).map_err(|e| format!("provider catalogue: {e}"))?;
    for (i, entry) in file.provider.iter().enumerate() {
        check(entry).map_err(|e| format!("provider catalogue: provider[{i}] ({}): {e}", entry.id))?;
        let ids = std::iter::once(&entry.id).chain(&entry.id_aliases);
        if let Some(id) =
            ids.into_iter().find(|id| file.provider[..i].iter().any(|other| other.answers_to(id)))
        {
            return Err(format!("provider catalogue: the id {id:?} appears twice"));
        }
    }
    Ok(file.provider)
}

/// The icon the built-in catalogue names for the service `id`, if any.
pub fn icon_of(id: &str) -> Option<String> {
    catalogue().ok()?.into_iter().find(|entry| entry.id == id)?.icon
}

/// Whether `id` is a well-formed service id: 1 to 64 of `a-z`, `0-9`, `_` and `-`.
pub fn is_service_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// An entry's own consistency: the URLs its kind needs, each http(s), and `{hostname}` only
/// with a pattern.
pub fn check(entry: &Entry) -> Result<(), String> {
    if !std::iter::once(&entry.id).chain(&entry.id_aliases).all(|id| is_service_id(id)) {
        return Err("the id and id_aliases must be 1 to 64 of a-z, 0-9, _ and -".to_owned());
    }
    if let Some(name) = entry.raw_params.iter().find(|name| crate::providers::raw_params::is_protocol(name)) {
        return Err(format!("raw_params: {name} is the protocol's own parameter"));
    }
    if entry.name.trim().is_empty() || entry.category.trim().is_empty() {
        return Err("name and category are needed".to_owned());
    }
    let needed: &[(&str, &Option<String>)] = match entry.kind {
        Kind::Oauth2 => &[
            ("authorization_url", &entry.authorization_url),
            ("token_url", &entry.token_url),
            ("identity_url", &entry.identity_url),
        ],
        Kind::Password => &[("token_url", &entry.token_url), ("identity_url", &entry.identity_url)],
        Kind::ApiKey | Kind::Basic => &[("check_url", &entry.check_url)],
        Kind::ServiceAccount => &[("token_url", &entry.token_url), ("api_base", &entry.api_base)],
    };
    for (field, value) in needed {
        if value.is_none() {
            return Err(format!("{field} is needed for this kind"));
        }
    }
    let urls = [
        &entry.authorization_url,
        &entry.token_url,
        &entry.refresh_url,
        &entry.identity_url,
        &entry.api_base,
        &entry.check_url,
        &entry.revocation_url,
        &entry.issuer,
        &entry.site_lookup.as_ref().map(|lookup| lookup.url.clone()),
    ];
    for url in urls.into_iter().flatten() {
        let probe = url
            .replace("{hostname}", "host.example")
            .replace("{region}", "us-east-1")
            .replace("{account}", "account")
            .replace("{instance_url}", "https://instance.example")
            .replace("{site}", "site")
            .replace("{access_token}", "t");
        match url::Url::parse(&probe) {
            Ok(parsed) if matches!(parsed.scheme(), "https" | "http") => {}
            _ => return Err(format!("{url:?} is not an http(s) URL")),
        }
        if url.contains("{hostname}") && entry.hostname_pattern.is_none() {
            return Err(format!("{url:?} holds {{hostname}} but the entry has no hostname_pattern"));
        }
    }
    let scopes = entry.scopes.iter().chain(&entry.admin_scopes);
    if scopes.into_iter().any(|scope| scope.contains("{hostname}"))
        && (entry.hostname_pattern.is_none() || entry.callback_hostname.is_some())
    {
        return Err("a scope may hold {hostname} only where the user types the server".to_owned());
    }
    if entry.server_path && (entry.hostname_pattern.is_none() || entry.kind != Kind::Basic) {
        return Err("server_path is for a basic entry whose server is typed (hostname_pattern)".to_owned());
    }
    if let Some(template) = &entry.callback_hostname {
        if entry.hostname_pattern.is_none() {
            return Err("callback_hostname needs a hostname_pattern its result must match".to_owned());
        }
        if !template.contains('{') {
            return Err("callback_hostname must name a callback parameter, as {name}".to_owned());
        }
    }
    if entry.api_base.as_deref().is_some_and(|api| api.contains("{site}")) != entry.site_lookup.is_some() {
        return Err("{site} in api_base and site_lookup go together".to_owned());
    }
    if entry.site_lookup.as_ref().is_some_and(|lookup| !lookup.id.starts_with('/')) {
        return Err("site_lookup.id must be a JSON pointer (starting with /)".to_owned());
    }
    if entry.token_path.as_deref().is_some_and(|path| !path.starts_with('/')) {
        return Err("token_path must be a JSON pointer (starting with /)".to_owned());
    }
    if let Some(notice) = &entry.revocation_notice {
        if entry.kind != Kind::Oauth2 {
            return Err("revocation_notice is for oauth2 entries".to_owned());
        }
        let place = |text: &str| text.starts_with('/') || text.starts_with("header:");
        if !notice.users.starts_with('/') || !place(&notice.id) || !notice.when.keys().all(|key| place(key)) {
            return Err("revocation_notice: users is a JSON pointer; id and when's keys JSON pointers or header:<name>"
                .to_owned());
        }
    }
    if entry.bad_credential_statuses.iter().any(|status| !(400..500).contains(status)) {
        return Err("bad_credential_statuses must be 4xx statuses".to_owned());
    }
    if entry.identity.id.is_empty() && !matches!(entry.kind, Kind::Basic | Kind::ServiceAccount) {
        return Err("identity.id is needed".to_owned());
    }
    if let Some(check) = &entry.check {
        if reqwest::Method::from_bytes(check.method.as_bytes()).is_err() {
            return Err(format!("check.method {:?} is not an HTTP method", check.method));
        }
        if !valid_headers(&check.headers) {
            return Err("check.headers must be valid header names and values".to_owned());
        }
    }
    if entry.secret_hash && (entry.revocation_url.is_some() || entry.identity_method == Method::Introspect) {
        return Err(
            "secret_hash: the secret goes nowhere, so neither revocation nor introspection".to_owned()
        );
    }
    if entry.identity_body.is_some() && entry.identity_method != Method::Post {
        return Err("identity_body is sent with identity_method = \"POST\" only".to_owned());
    }
    let server_set = |name: &String| matches!(name.to_ascii_lowercase().as_str(), "authorization" | "host");
    if !valid_headers(&entry.api_headers) || entry.api_headers.keys().any(server_set) {
        return Err(
            "api_headers must be valid header names and values, neither Authorization nor Host".to_owned()
        );
    }
    if let Some(credential) = &entry.credential
        && let Placement::AwsSigV4(_) | Placement::AzureSharedKey = Placement::parse(credential)?
        && entry.kind != Kind::Basic
    {
        return Err(format!("{credential} needs kind = \"basic\" (the key's name and secret)"));
    }
    let urls = [&entry.check_url, &entry.api_base];
    if urls.iter().any(|url| url.as_deref().is_some_and(|url| url.contains("{account}")))
        && entry.placement() != Placement::AzureSharedKey
    {
        return Err("{account} is the storage account of azure_shared_key only".to_owned());
    }
    if let Some(credential) = &entry.credential {
        let placement = Placement::parse(credential)?;
        if entry.has_tokens() && !matches!(placement, Placement::Bearer | Placement::Header(_)) {
            return Err("an access token is sent as bearer or header:<name>".to_owned());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_catalogue_reads_and_holds_the_services_the_issue_names() {
        let entries = catalogue().unwrap();
        for id in [
            "gdrive",
            "google_calendar",
            "dropbox",
            "box",
            "skydrive",
            "outlook_calendar",
            "salesforce",
            "hubspot",
            "github",
            "slack",
            "servicenow",
            "salesforce_sandbox",
            "salesforce_mydomain",
            "zoho",
            "sharefile",
            "jira",
            "confluence",
            "dynamics",
        ] {
            let entry = entries.iter().find(|e| e.id == id).unwrap_or_else(|| panic!("{id}"));
            assert_eq!(entry.kind, Kind::Oauth2, "{id}");
            assert!(entry.docs.starts_with("https://"), "{id}: checked against the docs");
        }
        let sugar = entries.iter().find(|e| e.id == "sugarcrm").unwrap();
        assert_eq!(
            (sugar.kind, sugar.token_body),
            (Kind::Password, TokenBody::Json),
            "the password grant, JSON"
        );
        assert_eq!(sugar.placement(), Placement::Header("OAuth-Token".into()));
        let zoho = entries.iter().find(|e| e.id == "zoho").unwrap();
        assert_eq!(zoho.instance_url_field, "api_domain");
        assert!(crate::providers::guard::matches_pattern(
            "accounts.zoho.com.au",
            zoho.hostname_pattern.as_deref().unwrap()
        ));
        let pipedrive = entries.iter().find(|e| e.kind == Kind::ApiKey).unwrap();
        assert_eq!(pipedrive.placement(), Placement::Query("api_token".into()));
        assert_eq!(Placement::parse("header:X-Api-Key"), Ok(Placement::Header("X-Api-Key".into())));
        for bad in ["", "cookie", "header:", "query:a b", "header:x\r\ny"] {
            assert!(Placement::parse(bad).is_err(), "{bad}");
        }
        let servicenow = entries.iter().find(|e| e.id == "servicenow").unwrap();
        assert_eq!(servicenow.hostname_pattern.as_deref(), Some("*.service-now.com"));
        let dropbox = entries.iter().find(|e| e.id == "dropbox").unwrap();
        assert_eq!(dropbox.identity_method, Method::Post);
        assert_eq!(dropbox.authorization_params["token_access_type"], "offline");
        let hubspot = entries.iter().find(|e| e.id == "hubspot").unwrap();
        assert_eq!(hubspot.identity_method, Method::Introspect, "v3: the v1 metadata endpoint ends in 2027");
    }

    #[test]
    fn kloudless_ids_aliases_raw_params_and_allowed_scopes() {
        let entries = catalogue().unwrap();
        let onedrive = entries.iter().find(|e| e.answers_to("onedrive")).unwrap();
        assert_eq!(onedrive.id, "skydrive", "Kloudless's id, the old one an alias");
        let gdrive = entries.iter().find(|e| e.id == "gdrive").unwrap();
        assert!(gdrive.allows_scope("https://www.googleapis.com/auth/drive.readonly"));
        assert!(gdrive.allows_scope("openid"));
        assert!(!gdrive.allows_scope("https://mail.google.com/"));
        assert!(gdrive.raw_params.iter().any(|p| p == "login_hint"));
        let dropbox = entries.iter().find(|e| e.id == "dropbox").unwrap();
        assert!(dropbox.allows_scope("sharing.write"), "one of its own admin scopes");
        let base = "[[provider]]\nid = \"x\"\nname = \"X\"\ncategory = \"storage\"\nkind = \"oauth2\"\n\
                    identity = { id = \"/sub\" }\nauthorization_url = \"https://a.test/a\"\n\
                    token_url = \"https://a.test/t\"\nidentity_url = \"https://a.test/me\"\n";
        let refused = parse(&format!("{base}raw_params = [\"login_hint\", \"redirect_uri\"]\n")).unwrap_err();
        assert!(refused.contains("redirect_uri is the protocol's own"), "{refused}");
        let clash = format!("{base}{}", base.replace("id = \"x\"", "id = \"y\"\nid_aliases = [\"x\"]"));
        assert!(parse(&clash).unwrap_err().contains("\"x\" appears twice"));
        assert!(parse(&format!("{base}id_aliases = [\"Not An Id\"]\n")).unwrap_err().contains("id_aliases"));
    }

    #[test]
    fn signed_credentials_an_account_host_and_a_server_path_are_for_basic_entries_only() {
        let base = "[[provider]]\nid = \"x\"\nname = \"X\"\ncategory = \"storage\"\n";
        let basic = format!("{base}kind = \"basic\"\n");
        let azure =
            "credential = \"azure_shared_key\"\ncheck_url = \"https://{account}.blob.test/?comp=list\"\n";
        assert!(parse(&format!("{basic}{azure}")).is_ok());
        let keyed = format!("{base}kind = \"api_key\"\nidentity = {{ id = \"/id\" }}\n{azure}");
        assert!(parse(&keyed).unwrap_err().contains("azure_shared_key needs kind = \"basic\""));
        let unsigned = format!("{basic}check_url = \"https://{{account}}.blob.test/\"\n");
        assert!(
            parse(&unsigned)
                .unwrap_err()
                .contains("{account} is the storage account of azure_shared_key only")
        );
        let dav = "check_url = \"https://{hostname}/\"\nserver_path = true\n";
        assert!(parse(&format!("{basic}hostname_pattern = \"*.*.*\"\n{dav}")).is_ok());
        assert!(parse(&format!("{basic}{dav}")).unwrap_err().contains("no hostname_pattern"));
        let fixed = format!("{basic}check_url = \"https://dav.test/\"\nserver_path = true\n");
        assert!(parse(&fixed).unwrap_err().contains("server_path is for a basic entry"));
    }

    #[test]
    fn the_issuer_is_stated_where_the_provider_documents_rfc_9207() {
        let entries = catalogue().unwrap();
        let issuer = |id: &str| entries.iter().find(|e| e.id == id).and_then(|e| e.issuer.clone());
        for google in ["gdrive", "google_calendar"] {
            assert_eq!(issuer(google).as_deref(), Some("https://accounts.google.com"), "{google}");
        }
        assert_eq!(issuer("dropbox"), None, "no iss documented: none checked");
        let base = "[[provider]]\nid = \"x\"\nname = \"X\"\ncategory = \"storage\"\nkind = \"oauth2\"\n\
                    identity = { id = \"/sub\" }\nauthorization_url = \"https://a.test/a\"\n\
                    token_url = \"https://a.test/t\"\nidentity_url = \"https://a.test/me\"\n";
        assert!(parse(&format!("{base}issuer = \"https://a.test\"\n")).is_ok());
        assert!(parse(&format!("{base}issuer = \"a.test\"\n")).unwrap_err().contains("not an http(s) URL"));
        let per_server = format!("{base}issuer = \"https://{{hostname}}\"\n");
        assert!(parse(&per_server).unwrap_err().contains("no hostname_pattern"));
    }

    #[test]
    fn a_server_named_in_the_callback_must_match_the_entrys_pattern() {
        let base = "[[provider]]\nid = \"x\"\nname = \"X\"\ncategory = \"storage\"\nkind = \"oauth2\"\n\
                    identity = { id = \"/sub\" }\nauthorization_url = \"https://a.test/a\"\n\
                    token_url = \"https://{hostname}/t\"\nidentity_url = \"https://{hostname}/me\"\n";
        let entry = |extra: &str| parse(&format!("{base}{extra}")).map(|mut entries| entries.remove(0));
        let zoho = entry("hostname_pattern = \"accounts.zoho.* accounts.zoho.com.*\"\ncallback_hostname = \"{accounts-server}\"\n")
            .unwrap();
        let named = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| *v)
        };
        let eu = zoho.host_named_by(named(&[("accounts-server", "https://accounts.zoho.eu")]));
        assert_eq!(eu, Some(Ok("accounts.zoho.eu".to_owned())));
        let au = zoho.host_named_by(named(&[("accounts-server", "https://accounts.zoho.com.au")]));
        assert_eq!(au, Some(Ok("accounts.zoho.com.au".to_owned())));
        for evil in ["https://evil.test", "https://accounts.zoho.eu.evil.test", "https://accounts.zoho.eu/x"]
        {
            let refused = zoho.host_named_by(move |_: &str| Some(evil)).unwrap().unwrap_err();
            assert!(refused.contains("not one of"), "{evil}: {refused}");
        }
        assert!(zoho.host_named_by(|_: &str| None).unwrap().unwrap_err().contains("(accounts-server)"));
        let sharefile =
            entry("hostname_pattern = \"*.sharefile.com\"\ncallback_hostname = \"{subdomain}.{apicp}\"\n")
                .unwrap();
        let acme = sharefile.host_named_by(named(&[("subdomain", "acme"), ("apicp", "sharefile.com")]));
        assert_eq!(acme, Some(Ok("acme.sharefile.com".to_owned())));
        let evil = sharefile.host_named_by(named(&[("subdomain", "acme"), ("apicp", "evil.test")]));
        assert!(evil.unwrap().is_err());
        assert_eq!(entry("hostname_pattern = \"*.a.test\"\n").unwrap().host_named_by(|_: &str| None), None);
        let fixed_urls =
            format!("{}callback_hostname = \"{{subdomain}}\"\n", base.replace("{hostname}", "a.test"));
        assert!(parse(&fixed_urls).unwrap_err().contains("needs a hostname_pattern"));
    }

    #[test]
    fn a_broken_entry_is_refused_with_its_reason() {
        let base = "[[provider]]\nid = \"x\"\nname = \"X\"\ncategory = \"storage\"\nkind = \"oauth2\"\n\
                    identity = { id = \"/sub\" }\n";
        let urls = "authorization_url = \"https://a.test/a\"\ntoken_url = \"https://a.test/t\"\n\
                    identity_url = \"https://a.test/me\"\n";
        assert!(parse(&format!("{base}{urls}")).is_ok());
        assert!(parse(base).unwrap_err().contains("authorization_url is needed"));
        let host = urls.replace("a.test", "{hostname}");
        assert!(parse(&format!("{base}{host}")).unwrap_err().contains("no hostname_pattern"));
        let ftp = urls.replace("https", "ftp");
        assert!(parse(&format!("{base}{ftp}")).unwrap_err().contains("not an http(s) URL"));
        assert!(parse(&format!("{base}{urls}colour = 1\n")).is_err());
        let site = "site_lookup = { url = \"https://a.test/sites\", id = \"/0/id\" }\n";
        let api = "api_base = \"https://a.test/ex/{site}\"\n";
        assert!(parse(&format!("{base}{urls}{site}{api}")).is_ok());
        assert!(parse(&format!("{base}{urls}{api}")).unwrap_err().contains("go together"));
        assert!(parse(&format!("{base}{urls}{site}")).unwrap_err().contains("go together"));
        let twice = format!("{base}{urls}{base}{urls}");
        assert!(parse(&twice).unwrap_err().contains("appears twice"));
        assert!(parse(&format!("{}{urls}", base.replace("\"x\"", "\"X Y\""))).is_err());
        let basic = "[[provider]]\nid = \"d\"\nname = \"D\"\ncategory = \"storage\"\nkind = \"basic\"\n\
                     check_url = \"https://d.test/\"\n";
        assert!(parse(basic).is_ok(), "no identity: the user name typed");
        assert!(parse(&basic.replace("basic", "api_key")).unwrap_err().contains("identity.id is needed"));
        let bad_method = format!("{basic}check = {{ method = \"PROP FIND\" }}\n");
        assert!(parse(&bad_method).unwrap_err().contains("not an HTTP method"));
        let notice = "revocation_notice = { signature = \"slack_v0\", users = \"/u\", id = \"/id\" }\n";
        assert!(parse(&format!("{base}{urls}{notice}")).is_ok());
        assert!(parse(&format!("{basic}{notice}")).unwrap_err().contains("for oauth2 entries"));
        let loose = notice.replace("\"/id\"", "\"id\"");
        assert!(parse(&format!("{base}{urls}{loose}")).unwrap_err().contains("revocation_notice:"));
        let unknown = notice.replace("slack_v0", "md5");
        assert!(parse(&format!("{base}{urls}{unknown}")).is_err());
        assert!(parse(&format!("{basic}bad_credential_statuses = [200]\n")).unwrap_err().contains("4xx"));
        let query = "identity_body = { query = \"{ viewer { id } }\" }\n";
        assert!(parse(&format!("{base}{urls}identity_method = \"POST\"\n{query}")).is_ok());
        assert!(parse(&format!("{base}{urls}{query}")).unwrap_err().contains("identity_body"));
        assert!(parse(&format!("{base}{urls}secret_hash = true\n")).is_ok());
        let revoked = "secret_hash = true\nrevocation_url = \"https://a.test/r\"\n";
        assert!(parse(&format!("{base}{urls}{revoked}")).unwrap_err().contains("secret_hash"));
        let version = "api_headers = { \"Notion-Version\" = \"2025-09-03\" }\n";
        assert!(parse(&format!("{base}{urls}{version}")).is_ok());
        for bad in [
            "{ Authorization = \"Bearer x\" }",
            "{ HOST = \"a.test\" }",
            "{ \"a b\" = \"1\" }",
            "{ A = \"\\n\" }",
        ] {
            let headers = format!("api_headers = {bad}\n");
            assert!(parse(&format!("{base}{urls}{headers}")).unwrap_err().contains("api_headers"), "{bad}");
        }
    }

    #[test]
    fn the_catalogue_holds_the_storage_mail_and_work_services_issue_23_names() {
        let entries = catalogue().unwrap();
        let entry = |id: &str| entries.iter().find(|e| e.id == id).unwrap_or_else(|| panic!("{id}"));
        for id in ["sharepoint", "onedrivebiz", "teams"] {
            let url = entry(id).authorization_url.clone().unwrap();
            assert!(url.contains("/organizations/"), "{id}: work and school accounts only");
        }
        for (id, pattern) in [
            ("egnyte", "*.egnyte.com"),
            ("zendesk", "*.zendesk.com"),
            ("gitlab_self_managed", "gitlab.*.*"),
            ("freshdesk", "*.freshdesk.com"),
        ] {
            assert_eq!(entry(id).hostname_pattern.as_deref(), Some(pattern), "{id}: per-server");
        }
        assert_eq!(entry("gitlab").hostname_pattern, None, "gitlab.com");
        assert_eq!(entry("gmail").issuer.as_deref(), Some("https://accounts.google.com"));
        assert_eq!(entry("outlook_mail").kind, Kind::Oauth2);
        for id in ["bitbucket", "xero", "quickbooks", "zoom", "airtable"] {
            assert_eq!(entry(id).client_auth, ClientAuth::ClientSecretBasic, "{id}: Basic, as its docs show");
        }
        assert_eq!(entry("freshdesk").placement(), Placement::Basic, "the API key as the Basic user");
        assert_eq!(entry("alfresco").kind, Kind::Basic);
        let webdav = entry("webdav");
        let check = webdav.check.clone().unwrap();
        assert_eq!((check.method.as_str(), check.headers["Depth"].as_str()), ("PROPFIND", "0"));
        assert!(check.accepts(207) && !check.accepts(200), "207 Multi-Status only");
        assert!(webdav.identity.id.is_empty(), "the account is the user name typed");
        let s3 = entry("s3");
        assert_eq!(s3.placement(), Placement::AwsSigV4("s3".into()));
        assert!(s3.needs_region() && s3.labels.is_some());
        assert!(["us-east-1", "eu-central-2", "us-gov-west-1"].into_iter().all(is_region));
        assert!(!["", "useast1", "US-EAST-1", "us-east-1.evil.test", "-us-1"].into_iter().any(is_region));
        let azure = entry("azure_blob");
        assert_eq!((azure.kind, azure.placement()), (Kind::Basic, Placement::AzureSharedKey));
        assert!(
            azure
                .check_url
                .as_deref()
                .unwrap()
                .starts_with("https://{account}.blob.core.windows.net/?comp=list")
        );
        assert!(!azure.needs_region() && azure.identity.id.is_empty(), "the account is the storage account");
        assert!(webdav.server_path && !azure.server_path);
        assert!(entries.iter().all(|e| e.docs.starts_with("https://")));
    }
}
