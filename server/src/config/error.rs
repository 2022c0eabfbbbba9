//! What is wrong with a configuration file: one error type, each variant naming the key at
//! fault, so that the operator knows which line to fix.

/// A configuration file refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Not TOML, an unknown key or a value of the wrong type: toml's message names the key and
    /// the line.
    #[error("{0}")]
    Syntax(#[from] toml::de::Error),
    /// A value refused: `key` is where it is (`apps[1]`, `public_url`, `upstream_timeout_secs`…).
    #[error("{key}: {message}")]
    Value {
        /// The key, with its table and index (`apps[1]`).
        key: String,
        /// What is wrong with it.
        message: String,
    },
    /// A table refused by its own check, whose message starts with the key
    /// (`refresh: sweep_interval_secs …`, `providers[0] (box): …`).
    #[error("{0}")]
    Table(String),
}

impl ConfigError {
    /// The value at `key` is refused for `message`.
    pub fn at(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError::Value { key: key.into(), message: message.into() }
    }
}
