//! The endpoints of the library's API, as a test fault names them: a leaf module, so that the
//! configuration can name a fault's endpoint without depending on the API's handlers.

/// An endpoint of the library's API (named so in a test fault: `endpoint = "token"`).
#[derive(Clone, Copy, Debug, serde::Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// `GET /v1/oauth/token/`.
    Token,
    /// `GET /v1/accounts/{id}/`.
    Account,
}
