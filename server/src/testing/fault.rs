//! An app's test fault as configured (`fault = { endpoint = "token", kind = "slow" }`) and its
//! checks: a leaf module, so that the configuration can hold a fault while the layer injecting
//! it ([`crate::testing::faults`]) reads the configuration.

use crate::token_api::endpoint::Endpoint;
use serde::Deserialize;
use std::time::Duration;

/// How the endpoint misbehaves.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
pub enum Kind {
    /// A 500 JSON error.
    #[serde(rename = "status_500")]
    Status500,
    /// A 401 JSON error.
    #[serde(rename = "status_401")]
    Status401,
    /// A 200 whose `application/json` body is cut short (not JSON).
    #[serde(rename = "malformed_json")]
    MalformedJson,
    /// The right reply, after [`Fault::slow_ms`] milliseconds.
    #[serde(rename = "slow")]
    Slow,
    /// No reply: the connection is closed without a byte of response.
    #[serde(rename = "drop")]
    Drop,
    /// (Token endpoint only.) A 200 token reply naming another app's `client_id`.
    #[serde(rename = "other_client_id")]
    OtherClientId,
}

/// An app's fault: `fault = { endpoint = "token", kind = "slow", slow_ms = 2000 }`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// The endpoint that misbehaves.
    pub endpoint: Endpoint,
    /// How.
    pub kind: Kind,
    /// For [`Kind::Slow`]: the delay in milliseconds (default [`DEFAULT_SLOW_MS`]).
    pub slow_ms: Option<u64>,
}

/// The delay of [`Kind::Slow`] without `slow_ms`.
pub const DEFAULT_SLOW_MS: u64 = 5000;

/// The longest `slow_ms` accepted (ten minutes).
pub const MAX_SLOW_MS: u64 = 600_000;

impl Fault {
    /// Checks the combination; the error is a message for the config's author.
    pub fn check(&self) -> Result<(), String> {
        match (self.kind, self.slow_ms) {
            (Kind::OtherClientId, _) if self.endpoint != Endpoint::Token => {
                Err("kind \"other_client_id\" is for endpoint \"token\" only".to_owned())
            }
            (Kind::Slow, Some(ms)) if ms > MAX_SLOW_MS => {
                Err(format!("slow_ms {ms} is more than {MAX_SLOW_MS}"))
            }
            (Kind::Slow, _) | (_, None) => Ok(()),
            (_, Some(_)) => Err("slow_ms is for kind \"slow\" only".to_owned()),
        }
    }

    /// How long [`Kind::Slow`] waits.
    pub fn delay(&self) -> Duration {
        Duration::from_millis(self.slow_ms.unwrap_or(DEFAULT_SLOW_MS))
    }
}
