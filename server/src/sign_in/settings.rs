//! The sign-in tokens' settings ([`Settings`]). A leaf module, so that the configuration can
//! compose it without importing the handlers.

use std::time::Duration;

/// The default time a sign-in token may wait for its pop-up: 5 minutes.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(300);

/// The sign-in tokens' settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// How long a minted sign-in token may wait for its pop-up (`sign_in_token_ttl_secs`, 1 to
    /// 3600, default [`DEFAULT_TOKEN_TTL`]).
    pub token_ttl: Duration,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings { token_ttl: DEFAULT_TOKEN_TTL }
    }
}
