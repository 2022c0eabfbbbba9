//! The pop-up's settings ([`Settings`]): the limits on the flows tracked for the second
//! channel. A leaf module, so that the configuration can compose it without importing the
//! pop-up's handlers.

use serde::Deserialize;
use std::time::Duration;

/// The pop-up's settings.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Settings {
    /// The limits on the pop-up flows tracked for the second channel (`[popup_flows]`).
    pub flows: Quotas,
}

/// The limits on tracked flows (the `[popup_flows]` table of the config file).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Quotas {
    /// Flows tracked at once for one client address (an IPv6 /56 counts as one).
    pub max_per_client: usize,
    /// Flows tracked at once for one app.
    pub max_per_app: usize,
    /// Seconds a flow counts as under way after its result went back to the app's page: the
    /// time that page may take to load and hand the result over.
    pub return_window_secs: u64,
}

impl Default for Quotas {
    fn default() -> Quotas {
        Quotas { max_per_client: 100, max_per_app: 10_000, return_window_secs: 30 }
    }
}

impl Quotas {
    /// [`Quotas::return_window_secs`] as a duration.
    pub fn return_window(&self) -> Duration {
        Duration::from_secs(self.return_window_secs)
    }
}
