//! The account API's settings ([`Settings`]): the pass-through API's largest body and the sweep
//! keeping idle accounts alive ([`Refresh`]). A leaf module, so that the configuration can
//! compose it without importing the handlers.

use serde::Deserialize;
use std::time::Duration;

/// The default largest request body of the pass-through API: 100 MiB.
pub const DEFAULT_RAW_MAX_BODY: u64 = 100 * 1024 * 1024;

/// The account API's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// The largest request body the pass-through API passes on (`raw_max_body_bytes`, default
    /// [`DEFAULT_RAW_MAX_BODY`]); every other route takes at most 16 KiB. See
    /// [`crate::accounts::raw`].
    pub raw_max_body: u64,
    /// The sweep keeping idle accounts' upstream grants alive (`[refresh]`): see
    /// [`crate::accounts::keep_alive`].
    pub refresh: Refresh,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings { raw_max_body: DEFAULT_RAW_MAX_BODY, refresh: Refresh::default() }
    }
}

/// The `[refresh]` table of the config file.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Refresh {
    /// The average time between an instance's sweeps (default an hour, at most a day); 0 turns
    /// the sweep off.
    pub sweep_interval_secs: u64,
    /// An account whose upstream tokens were issued (connected or refreshed) longer ago than
    /// this is refreshed by the sweep (default a day, from 5 minutes to a year).
    pub idle_refresh_after_secs: u64,
}

impl Default for Refresh {
    fn default() -> Refresh {
        Refresh { sweep_interval_secs: 3600, idle_refresh_after_secs: 86_400 }
    }
}

/// The longest [`Refresh::sweep_interval_secs`].
pub const MAX_SWEEP_INTERVAL_SECS: u64 = 86_400;
/// The range of [`Refresh::idle_refresh_after_secs`].
pub const IDLE_REFRESH_AFTER_SECS: std::ops::RangeInclusive<u64> = 300..=31_536_000;

impl Refresh {
    /// Checks both settings' ranges; errors are messages for the user.
    pub fn check(&self) -> Result<(), String> {
        if self.sweep_interval_secs > MAX_SWEEP_INTERVAL_SECS {
            return Err(format!(
                "refresh: sweep_interval_secs {} is not from 0 (off) to {MAX_SWEEP_INTERVAL_SECS}",
                self.sweep_interval_secs
            ));
        }
        if !IDLE_REFRESH_AFTER_SECS.contains(&self.idle_refresh_after_secs) {
            return Err(format!(
                "refresh: idle_refresh_after_secs {} is not from {} to {}",
                self.idle_refresh_after_secs,
                IDLE_REFRESH_AFTER_SECS.start(),
                IDLE_REFRESH_AFTER_SECS.end()
            ));
        }
        Ok(())
    }

    /// The average time between sweeps; `None`: the sweep is off.
    pub fn interval(&self) -> Option<Duration> {
        Some(Duration::from_secs(self.sweep_interval_secs)).filter(|interval| !interval.is_zero())
    }

    /// [`Refresh::idle_refresh_after_secs`] as a duration.
    pub fn idle_after(&self) -> Duration {
        Duration::from_secs(self.idle_refresh_after_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked() {
        assert_eq!(Refresh::default().check(), Ok(()));
        assert_eq!(Refresh::default().interval(), Some(Duration::from_secs(3600)));
        assert_eq!(Refresh::default().idle_after(), Duration::from_secs(86_400));
        let off = Refresh { sweep_interval_secs: 0, ..Refresh::default() };
        assert_eq!((off.check(), off.interval()), (Ok(()), None));
        for bad in [
            Refresh { sweep_interval_secs: 86_401, ..Refresh::default() },
            Refresh { idle_refresh_after_secs: 299, ..Refresh::default() },
            Refresh { idle_refresh_after_secs: 31_536_001, ..Refresh::default() },
        ] {
            assert!(bad.check().unwrap_err().starts_with("refresh: "), "{bad:?}");
        }
    }
}
