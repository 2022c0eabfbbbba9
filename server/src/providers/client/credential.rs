//! Credentials typed in the pop-up (an API key, a user name and password) and their check
//! against a credential entry's `check_url`.

use super::aws::{self, AwsKey};
use super::azure;
use super::{Http, Identity, UpstreamError, read_identity};
use crate::providers::catalogue::{CheckRequest, Placement};
use serde::{Deserialize, Serialize};

/// A credential a user typed in the pop-up.
#[derive(Clone, Deserialize, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Credential {
    /// An API key.
    ApiKey(String),
    /// A user name and password.
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: String,
    },
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credential(***)")
    }
}

impl Credential {
    /// `request` with this credential sent as `placement` says: a bearer token, HTTP Basic, a
    /// header, a query parameter, or (a key's name and secret) an AWS Signature V4 for `region`
    /// or an Azure Storage Shared Key signature.
    pub fn authorize(
        &self,
        request: reqwest::RequestBuilder,
        placement: &Placement,
        region: Option<&str>,
    ) -> Result<reqwest::Request, UpstreamError> {
        let secret = match self {
            Credential::ApiKey(key) => key.as_str(),
            Credential::Basic { password, .. } => password.as_str(),
        };
        let request = match (placement, self) {
            (Placement::Bearer, _) => request.bearer_auth(secret),
            (Placement::Basic, Credential::ApiKey(key)) => request.basic_auth(key, Some("")),
            (Placement::Basic, Credential::Basic { username, password }) => {
                request.basic_auth(username, Some(password))
            }
            (Placement::Header(name), _) => request.header(name.as_str(), secret),
            (Placement::Query(_) | Placement::AwsSigV4(_) | Placement::AzureSharedKey, _) => request,
        };
        let unusable = || UpstreamError::new("server_error", "The request to the service could not be made.");
        let mut request = request.build().map_err(|_| unusable())?;
        match (placement, self) {
            (Placement::Query(name), _) => {
                request.url_mut().query_pairs_mut().append_pair(name, secret);
            }
            (Placement::AwsSigV4(service), Credential::Basic { username, password }) => {
                let region = region.ok_or_else(unusable)?;
                let key = AwsKey { access_key_id: username, secret: password, region, service };
                aws::sign_request(&mut request, &key)?;
            }
            (Placement::AzureSharedKey, Credential::Basic { username, password }) => {
                azure::sign_request(&mut request, username, password)?;
            }
            (Placement::AwsSigV4(_) | Placement::AzureSharedKey, Credential::ApiKey(_)) => {
                return Err(unusable());
            }
            _ => {}
        }
        Ok(request)
    }
}

impl Http {
    /// Checks `credential` against `check_url` (sent as the entry says, with the method,
    /// headers and expected status of its [`CheckRequest`]); on a good reply, reads the identity
    /// from its JSON, or for a basic entry without identity paths takes the user name typed (a
    /// WebDAV server's 207 is XML). A 401 or 403 is `access_denied` ("refused").
    pub async fn check_credential(
        &self,
        entry: &crate::providers::catalogue::Entry,
        check_url: &str,
        credential: &Credential,
        region: Option<&str>,
    ) -> Result<Identity, UpstreamError> {
        let what = "credential check";
        let url = self.check(check_url, what)?;
        let plain_get = CheckRequest { method: "GET".to_owned(), status: None, headers: Default::default() };
        let check = entry.check.as_ref().unwrap_or(&plain_get);
        let invalid = || UpstreamError::new("server_error", "The service's check method is not valid.");
        let method = reqwest::Method::from_bytes(check.method.as_bytes()).map_err(|_| invalid())?;
        let mut request =
            self.client.request(method, url).header(reqwest::header::ACCEPT, "application/json");
        for (name, value) in &check.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let request = credential.authorize(request, &entry.placement(), region)?;
        let response =
            self.client.execute(request).await.map_err(|e| UpstreamError::unreachable(what, &e))?;
        let status = response.status().as_u16();
        if matches!(status, 401 | 403) {
            return Err(UpstreamError::new(
                "access_denied",
                format!("{} refused these credentials.", entry.name),
            ));
        }
        if !check.accepts(status) {
            let message = format!("The service's {what} answered with status {status}.");
            return Err(UpstreamError::new("server_error", message));
        }
        match credential {
            Credential::Basic { username, .. } if entry.identity.id.is_empty() => {
                Ok(Identity { subject: username.clone(), login: username.clone(), name: None })
            }
            _ => read_identity(&self.json(response, what).await?, &entry.identity),
        }
    }
}
