//! Credentials typed in the pop-up (an API key, a user name and password) and their check
//! against a credential entry's `check_url`.

use super::{Http, Identity, UpstreamError, read_identity};
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

impl Http {
    /// Checks `credential` against `check_url` (sent as the entry says); on a 2xx reply, reads the
    /// identity from it. A 401 or 403 is `access_denied` ("refused").
    pub async fn check_credential(
        &self,
        entry: &crate::providers::catalogue::Entry,
        check_url: &str,
        credential: &Credential,
    ) -> Result<Identity, UpstreamError> {
        use crate::providers::catalogue::Placement;
        let what = "credential check";
        let mut url = self.check(check_url, what)?;
        let placement = entry.placement();
        let secret = match credential {
            Credential::ApiKey(key) => key.as_str(),
            Credential::Basic { password, .. } => password.as_str(),
        };
        if let Placement::Query(name) = &placement {
            url.query_pairs_mut().append_pair(name, secret);
        }
        let mut request = self.client.get(url).header(reqwest::header::ACCEPT, "application/json");
        request = match (&placement, credential) {
            (Placement::Bearer, _) => request.bearer_auth(secret),
            (Placement::Basic, Credential::ApiKey(key)) => request.basic_auth(key, Some("")),
            (Placement::Basic, Credential::Basic { username, password }) => {
                request.basic_auth(username, Some(password))
            }
            (Placement::Header(name), _) => request.header(name.as_str(), secret),
            (Placement::Query(_), _) => request,
        };
        let response = request.send().await.map_err(|e| UpstreamError::unreachable(what, &e))?;
        if matches!(response.status().as_u16(), 401 | 403) {
            return Err(UpstreamError::new(
                "access_denied",
                format!("{} refused these credentials.", entry.name),
            ));
        }
        let reply = self.json(response, what).await?;
        read_identity(&reply, &entry.identity)
    }
}
