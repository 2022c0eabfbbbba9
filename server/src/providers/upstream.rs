//! The data of an enabled upstream ([`Upstream`]: its entry, our OAuth app's credentials, its
//! discovered [`Endpoints`]) and the [`Secret`] wrapper: a leaf module, which the resolution of
//! `[[providers]]` ([`crate::providers`]), the services and the calls ([`crate::providers::client`])
//! all read, so that none of them imports another's.

use super::catalogue::{ClientAuth, Entry};
use secrecy::{ExposeSecret, SecretString};

/// A secret from the configuration (an OAuth app's client secret, an app's API key): never
/// printed, zeroed in memory when dropped ([`secrecy`]).
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    /// Wraps a secret.
    pub fn new(text: String) -> Secret {
        Secret(SecretString::from(text))
    }

    /// The secret itself, for the one request that sends it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

/// Two configurations compare their secrets too (the configuration's tests).
impl PartialEq for Secret {
    fn eq(&self, other: &Secret) -> bool {
        self.expose() == other.expose()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// An enabled upstream: its catalogue entry (or the one a custom provider describes), our OAuth
/// app's credentials there and, for a provider configured by issuer, where to discover its
/// endpoints.
#[derive(Debug)]
pub struct Upstream {
    /// The provider's description: endpoints, scopes, identity paths. For an OpenID Connect
    /// provider configured by issuer, its endpoints are discovered ([`Upstream::issuer`]).
    pub entry: Entry,
    /// Our OAuth app's client id there.
    pub client_id: String,
    /// Our OAuth app's client secret there.
    pub client_secret: Secret,
    /// The secret its revocation notices are signed with, where the operator configured one
    /// (its entry describes the notices: [`Entry::revocation_notice`]).
    pub revocation_secret: Option<Secret>,
    /// An OpenID Connect issuer whose `/.well-known/openid-configuration` gives the endpoints.
    pub issuer: Option<String>,
    /// Whether the discovery document chooses the token endpoint's client authentication (an
    /// `oidc` provider configured without `client_auth`); else the entry's `client_auth` holds.
    pub discover_client_auth: bool,
    /// The discovered endpoints, once fetched.
    pub discovered: tokio::sync::OnceCell<Endpoints>,
}

impl PartialEq for Upstream {
    fn eq(&self, other: &Upstream) -> bool {
        self.entry == other.entry
            && self.client_id == other.client_id
            && self.client_secret == other.client_secret
            && self.revocation_secret == other.revocation_secret
            && self.issuer == other.issuer
    }
}

/// An upstream's endpoints, with `{hostname}` filled in.
#[derive(Clone, Debug, PartialEq)]
pub struct Endpoints {
    /// The authorization endpoint (empty for a password entry, which has none).
    pub authorization: String,
    /// The token endpoint.
    pub token: String,
    /// Where refresh requests go: the token endpoint, or the entry's `refresh_url`.
    pub refresh: String,
    /// The identity endpoint.
    pub identity: String,
    /// The token revocation endpoint (RFC 7009), if the provider has one.
    pub revocation: Option<String>,
    /// The issuer identifier its authorization responses carry as `iss` (RFC 9207), when
    /// known: a discovered issuer, or the entry's (`{hostname}` filled in).
    pub issuer: Option<String>,
    /// Whether every authorization response must carry `iss`: its discovery document
    /// advertises `authorization_response_iss_parameter_supported`.
    pub iss_required: bool,
    /// How the token endpoint (and revocation, introspection) authenticates our OAuth app: the
    /// entry's, or chosen from the discovery document ([`Upstream::discover_client_auth`]).
    pub client_auth: ClientAuth,
}
