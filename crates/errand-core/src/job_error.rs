use std::fmt;
use std::time::Duration;

use crate::ErrorKind;

/// What the runtime does after a job returned an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobErrorAction {
    /// Try again: after the given delay, or after the job's backoff.
    Retry {
        /// Overrides the backoff when set.
        after: Option<Duration>,
    },
    /// Fail for good, whatever attempts are left.
    Fail,
    /// Stop: the job ends cancelled, not failed.
    Cancel,
    /// Run again after the delay without using an attempt.
    Snooze(Duration),
}

/// The error a job returns. Any `std::error::Error` converts into a retryable
/// one with `?`; the constructors ask for something else.
///
/// ```
/// use std::time::Duration;
/// use errand_core::JobError;
///
/// fn check(balance: i64) -> Result<(), JobError> {
///     if balance < 0 {
///         return Err(JobError::fatal("account closed"));
///     }
///     if balance == 0 {
///         return Err(JobError::snooze(Duration::from_secs(60)));
///     }
///     Ok(())
/// }
/// assert!(check(-1).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobError {
    action: JobErrorAction,
    kind: ErrorKind,
    message: String,
}

impl JobError {
    /// A retryable error with this message; the job's backoff picks the delay.
    pub fn retry(message: impl fmt::Display) -> Self {
        JobError {
            action: JobErrorAction::Retry { after: None },
            kind: ErrorKind::Error,
            message: message.to_string(),
        }
    }

    /// A retryable error whose next attempt comes after `delay`.
    pub fn retry_after(delay: Duration, message: impl fmt::Display) -> Self {
        JobError {
            action: JobErrorAction::Retry { after: Some(delay) },
            kind: ErrorKind::Error,
            message: message.to_string(),
        }
    }

    /// An error that retrying cannot fix: the job fails for good.
    pub fn fatal(message: impl fmt::Display) -> Self {
        JobError {
            action: JobErrorAction::Fail,
            kind: ErrorKind::Fatal,
            message: message.to_string(),
        }
    }

    /// The job asks to be cancelled: it ends `cancelled` and is not retried.
    pub fn cancel(reason: impl fmt::Display) -> Self {
        JobError {
            action: JobErrorAction::Cancel,
            kind: ErrorKind::Cancelled,
            message: reason.to_string(),
        }
    }

    /// Run again after `delay` without using an attempt.
    pub fn snooze(delay: Duration) -> Self {
        JobError {
            action: JobErrorAction::Snooze(delay),
            kind: ErrorKind::Error,
            message: format!("snoozed for {delay:?}"),
        }
    }

    /// An error of a given kind and action; the runtime uses it for panics,
    /// timeouts and inputs that do not deserialize.
    pub fn with_kind(kind: ErrorKind, action: JobErrorAction, message: impl fmt::Display) -> Self {
        JobError {
            action,
            kind,
            message: message.to_string(),
        }
    }

    /// What the runtime does next.
    pub fn action(&self) -> JobErrorAction {
        self.action
    }

    /// The category recorded with the attempt.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message recorded with the attempt.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl<E> From<E> for JobError
where
    E: std::error::Error + Send + Sync + 'static,
{
    fn from(error: E) -> Self {
        let mut message = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        JobError::retry(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn std_errors_become_retryable_with_their_chain() {
        let io = std::io::Error::other("disk full");
        let e: JobError = io.into();
        assert_eq!(e.action(), JobErrorAction::Retry { after: None });
        assert_eq!(e.message(), "disk full");
    }

    #[test]
    fn constructors_pick_actions() {
        assert_eq!(JobError::fatal("x").action(), JobErrorAction::Fail);
        assert_eq!(JobError::cancel("x").kind(), ErrorKind::Cancelled);
        let d = Duration::from_secs(3);
        assert_eq!(JobError::snooze(d).action(), JobErrorAction::Snooze(d));
        assert_eq!(
            JobError::retry_after(d, "later").action(),
            JobErrorAction::Retry { after: Some(d) }
        );
    }
}
