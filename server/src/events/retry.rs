//! The retry policy, a pure function ([`decide`]) of an attempt's outcome and how many attempts
//! were made: a 2xx delivers; a 5xx, 408, 409, 425, 429, time-out or connection error is tried
//! again after an exponential backoff with jitter (or the receiver's `Retry-After`), for at least
//! a day ([`MAX_ATTEMPTS`]); any other status stops the event, the reason recorded.

use std::time::Duration;

/// The first retry's delay, doubled at each attempt up to [`MAX_DELAY`].
pub const BASE_DELAY: Duration = Duration::from_secs(1);

/// The longest wait between two attempts (and the most of a `Retry-After` honoured).
pub const MAX_DELAY: Duration = Duration::from_secs(3600);

/// How many attempts an event gets: with the backoff's shortest delays, they span more than 24
/// hours (1 s, 2 s, … 2048 s, then hourly).
pub const MAX_ATTEMPTS: u32 = 36;

/// What an attempt to post an event came to.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The receiver answered with this status and, maybe, a `Retry-After`.
    Status(u16, Option<Duration>),
    /// The receiver did not answer in time.
    TimedOut,
    /// The receiver could not be reached (refused, reset, a name that does not resolve or that
    /// the SSRF guard refuses).
    Unreachable,
}

/// What to do after an attempt.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    /// Delivered: done.
    Delivered,
    /// Try again after this long.
    Retry(Duration),
    /// Stop trying; the reason.
    GiveUp(String),
}

/// What follows the `attempts`-th attempt (from 1) that came to `outcome`; `jitter` (from 0 to
/// 1, random) lengthens the backoff by up to a quarter, so that receivers coming back are not
/// hit by every sender at once.
pub fn decide(outcome: &Outcome, attempts: u32, jitter: f64) -> Decision {
    let retry_after = match outcome {
        Outcome::Status(200..=299, _) => return Decision::Delivered,
        Outcome::Status(status @ (408 | 409 | 425 | 429 | 500..=599), retry_after) => {
            if attempts >= MAX_ATTEMPTS {
                return Decision::GiveUp(format!(
                    "the receiver still answered {status} after {attempts} attempts"
                ));
            }
            *retry_after
        }
        Outcome::Status(status, _) => return Decision::GiveUp(format!("the receiver answered {status}")),
        Outcome::TimedOut | Outcome::Unreachable if attempts >= MAX_ATTEMPTS => {
            return Decision::GiveUp(format!("the receiver was still unreachable after {attempts} attempts"));
        }
        Outcome::TimedOut | Outcome::Unreachable => None,
    };
    Decision::Retry(retry_after.map_or_else(|| backoff(attempts, jitter), |wait| wait.min(MAX_DELAY)))
}

/// The wait after the `attempts`-th attempt: [`BASE_DELAY`] doubled each time up to
/// [`MAX_DELAY`], lengthened by up to a quarter by `jitter`.
fn backoff(attempts: u32, jitter: f64) -> Duration {
    let doubled = BASE_DELAY.saturating_mul(2u32.saturating_pow(attempts.saturating_sub(1)));
    doubled.min(MAX_DELAY).mul_f64(1.0 + jitter.clamp(0.0, 1.0) / 4.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(24 * 3600);

    #[test]
    fn successes_deliver_and_refusals_stop_with_their_reason() {
        assert_eq!(decide(&Outcome::Status(200, None), 1, 0.5), Decision::Delivered);
        assert_eq!(decide(&Outcome::Status(204, None), 9, 0.5), Decision::Delivered);
        for status in [301, 400, 401, 403, 404, 410, 422] {
            assert_eq!(
                decide(&Outcome::Status(status, None), 1, 0.5),
                Decision::GiveUp(format!("the receiver answered {status}"))
            );
        }
    }

    #[test]
    fn outages_and_rate_limits_are_retried_with_backoff_and_retry_after() {
        for outcome in [408, 409, 425, 429, 500, 502, 503, 504]
            .map(|status| Outcome::Status(status, None))
            .into_iter()
            .chain([Outcome::TimedOut, Outcome::Unreachable])
        {
            assert_eq!(decide(&outcome, 1, 0.0), Decision::Retry(BASE_DELAY), "{outcome:?}");
            assert_eq!(decide(&outcome, 3, 0.0), Decision::Retry(BASE_DELAY * 4), "{outcome:?}");
        }
        assert_eq!(decide(&Outcome::TimedOut, 3, 1.0), Decision::Retry(Duration::from_secs(5)), "jitter");
        assert_eq!(decide(&Outcome::TimedOut, 30, 0.0), Decision::Retry(MAX_DELAY), "capped");
        let limited = Outcome::Status(429, Some(Duration::from_secs(2)));
        assert_eq!(decide(&limited, 7, 0.9), Decision::Retry(Duration::from_secs(2)), "Retry-After wins");
        let far = Outcome::Status(503, Some(Duration::from_secs(86_400)));
        assert_eq!(decide(&far, 1, 0.0), Decision::Retry(MAX_DELAY));
    }

    #[test]
    fn retries_last_more_than_a_day_then_stop() {
        let waited: Duration = (1..MAX_ATTEMPTS).map(|n| backoff(n, 0.0)).sum();
        assert!(waited >= DAY, "{waited:?}");
        assert!(matches!(decide(&Outcome::Status(503, None), MAX_ATTEMPTS, 0.0), Decision::GiveUp(_)));
        assert!(matches!(decide(&Outcome::Unreachable, MAX_ATTEMPTS, 0.0), Decision::GiveUp(_)));
    }
}
