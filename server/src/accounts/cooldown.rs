//! The numbers of the refresh cooldown ([`crate::accounts::refresh`]): after a refresh the
//! provider refused (other than `invalid_grant`), how long every instance waits before asking it
//! again, and after how long of failing the account is given up (made inactive).
//!
//! The wait doubles with each failure in a row — 1 s, 2 s, 4 s … up to 5 minutes — plus up to
//! half of it again at random, so that the accounts of one provider failing together (an outage,
//! a rotated client secret) do not all come back in the same second. An account failing
//! without a single success for 7 days is made inactive with its last error: long enough to ride
//! out a provider's outage or a weekend before an operator fixes our app's credentials, short
//! enough that an app learns of an account that will not come back (Nango counted one
//! connection making ~60,000 failed refreshes a day without such a bound).

use std::time::Duration;

/// The wait after the first failure.
pub const FIRST: Duration = Duration::from_secs(1);
/// The longest wait (before jitter).
pub const LONGEST: Duration = Duration::from_secs(300);
/// Up to this share of the wait is added at random.
pub const JITTER: f64 = 0.5;
/// How long an account may fail without a success before it is made inactive.
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(7 * 24 * 3600);

/// The wait after the `failures`-th failure in a row (1 for the first): [`FIRST`] doubled
/// `failures - 1` times, at most [`LONGEST`], plus up to [`JITTER`] of it at random.
pub fn after(failures: i64) -> Duration {
    // 2^9 s already passes the longest wait: more doublings change nothing.
    let doublings = u32::try_from(failures.clamp(1, 10) - 1).unwrap_or(9);
    let wait = FIRST.saturating_mul(1 << doublings).min(LONGEST);
    let unit = getrandom::u64().map_or(0.5, |n| n as f64 / u64::MAX as f64);
    wait.mul_f64(1.0 + JITTER * unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_up_to_five_minutes_with_up_to_half_more_at_random() {
        let within = |failures: i64, secs: u64| {
            let wait = after(failures);
            let least = Duration::from_secs(secs);
            assert!((least..=least.mul_f64(1.5)).contains(&wait), "{failures}: {wait:?}");
            wait
        };
        for (failures, secs) in [(0, 1), (1, 1), (2, 2), (3, 4), (9, 256), (10, 300), (i64::MAX, 300)] {
            within(failures, secs);
        }
        let waits: Vec<_> = (0..20).map(|_| within(5, 16)).collect();
        assert!(waits.iter().any(|w| *w != waits[0]), "accounts failing together drift apart");
    }
}
