use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::JobError;

type BackoffFn = dyn Fn(u32, &JobError) -> Duration + Send + Sync;

/// How long to wait before the next attempt after a failed one.
#[derive(Clone)]
pub enum Backoff {
    /// `base * 2^(attempt-1)`, capped at `max`, each delay moved randomly by up
    /// to ±`jitter` (a fraction) so that failing jobs do not retry in lockstep.
    Exponential {
        /// Delay after the first failed attempt.
        base: Duration,
        /// Longest delay.
        max: Duration,
        /// Fraction of the delay to move randomly, 0.0 to 1.0.
        jitter: f64,
    },
    /// The same delay after every failed attempt.
    Fixed(Duration),
    /// A function of the failed attempt (1-based) and its error.
    Custom(Arc<BackoffFn>),
}

impl Default for Backoff {
    /// Exponential from 2 s up to 1 h with ±20 % jitter: 2 s, 4 s, 8 s, … .
    fn default() -> Self {
        Backoff::Exponential {
            base: Duration::from_secs(2),
            max: Duration::from_secs(3600),
            jitter: 0.2,
        }
    }
}

impl fmt::Debug for Backoff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Backoff::Exponential { base, max, jitter } => f
                .debug_struct("Exponential")
                .field("base", base)
                .field("max", max)
                .field("jitter", jitter)
                .finish(),
            Backoff::Fixed(d) => f.debug_tuple("Fixed").field(d).finish(),
            Backoff::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

impl Backoff {
    /// A backoff computed by `f(attempt, error)`.
    pub fn custom(f: impl Fn(u32, &JobError) -> Duration + Send + Sync + 'static) -> Self {
        Backoff::Custom(Arc::new(f))
    }

    /// The delay after failed attempt `attempt` (1-based).
    pub fn delay(&self, attempt: u32, error: &JobError) -> Duration {
        match self {
            Backoff::Fixed(d) => *d,
            Backoff::Custom(f) => f(attempt, error),
            Backoff::Exponential { base, max, jitter } => {
                let exp = attempt.saturating_sub(1).min(32);
                let raw = base.saturating_mul(1u32 << exp.min(31)).min(*max);
                // Whatever the settings (a NaN jitter, a base near
                // Duration::MAX), a delay is computed, never a panic.
                let jitter = if jitter.is_nan() {
                    0.0
                } else {
                    jitter.clamp(0.0, 1.0)
                };
                let factor = 1.0 + jitter * (fastrand::f64() * 2.0 - 1.0);
                Duration::try_from_secs_f64(raw.as_secs_f64() * factor)
                    .unwrap_or(*max)
                    .min(*max)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponential_grows_within_jitter_and_caps() {
        let b = Backoff::default();
        let e = JobError::retry("x");
        for attempt in 1..=5u32 {
            let expected = 2.0 * f64::from(1u32 << (attempt - 1));
            let got = b.delay(attempt, &e).as_secs_f64();
            assert!(
                got >= expected * 0.8 - 1e-9 && got <= expected * 1.2 + 1e-9,
                "{attempt}: {got}"
            );
        }
        assert!(b.delay(40, &e) <= Duration::from_secs(3600));
    }

    #[test]
    fn extreme_settings_give_a_delay_and_never_panic() {
        let e = JobError::retry("x");
        for (base, max, jitter) in [
            (Duration::MAX, Duration::MAX, 0.2),
            (Duration::MAX, Duration::MAX, f64::NAN),
            (Duration::from_secs(1), Duration::MAX, f64::INFINITY),
            (Duration::ZERO, Duration::ZERO, -3.0),
        ] {
            let b = Backoff::Exponential { base, max, jitter };
            for attempt in [0, 1, 2, 31, 32, 33, u32::MAX] {
                assert!(b.delay(attempt, &e) <= max);
            }
        }
    }

    #[test]
    fn fixed_and_custom() {
        let e = JobError::retry("x");
        assert_eq!(
            Backoff::Fixed(Duration::from_secs(7)).delay(3, &e),
            Duration::from_secs(7)
        );
        let c = Backoff::custom(|attempt, _| Duration::from_secs(u64::from(attempt) * 10));
        assert_eq!(c.delay(4, &e), Duration::from_secs(40));
    }
}
