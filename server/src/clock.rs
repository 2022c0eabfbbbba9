//! Time as the server writes it: milliseconds since the Unix epoch, the one form every time
//! takes in the database, and RFC 3339 (UTC, whole seconds) where the API shows one.

use std::time::{SystemTime, UNIX_EPOCH};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// `time` in ms since the epoch (0 before it, `i64::MAX` past the range).
pub fn millis(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Now, in ms since the epoch.
pub fn now_millis() -> i64 {
    millis(SystemTime::now())
}

/// `millis` (since the epoch) as the API writes timestamps: RFC 3339, UTC, whole seconds.
pub fn rfc3339(millis: i64) -> String {
    let seconds =
        OffsetDateTime::from_unix_timestamp(millis.div_euclid(1000)).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    seconds.format(&Rfc3339).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn times_are_written_as_the_api_shows_them() {
        let time = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(rfc3339(millis(time)), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(millis(time) + 999), "2023-11-14T22:13:20Z", "whole seconds");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert!(rfc3339(now_millis()).starts_with("20"));
    }
}
