use std::fmt;

use crate::{JobId, JobState};

/// Result type of errand operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The cause kept inside an [`Error`]: a driver's or the system's own error.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What can go wrong when talking to errand or its store.
///
/// Each variant is a kind callers match on; the CLI's exit codes and the
/// admin API's HTTP statuses follow from it ([`Error::kind`]). An error that
/// came from a driver keeps it as its [`source`](std::error::Error::source).
///
/// ```
/// # use errand_core::{Error, JobId, JobState};
/// fn explain(e: &Error) -> &'static str {
///     match e {
///         Error::NotFound { .. } => "no such job",
///         Error::Conflict { state: Some(JobState::Running), .. } => "it is running",
///         Error::Conflict { .. } => "not in a state that allows it",
///         Error::Invalid { .. } => "fix the input",
///         Error::Unavailable { .. } => "try again later",
///         _ => "the store failed",
///     }
/// }
/// assert_eq!(explain(&Error::job_not_found(JobId(7))), "no such job");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bad input or configuration: names the field and the offending value.
    /// Nothing was changed.
    #[error("invalid {field} {value:?}: {reason}")]
    Invalid {
        /// The field, parameter or setting that was rejected.
        field: String,
        /// The value as given (shortened when very long).
        value: String,
        /// Why it was rejected.
        reason: String,
    },
    /// The thing the operation names does not exist.
    #[error("{entity} {id} not found")]
    NotFound {
        /// What was looked for: `job`, `store`, ...
        entity: &'static str,
        /// Its id or name.
        id: String,
    },
    /// The operation conflicts with the current state of the store; nothing
    /// was changed.
    #[error("{message}")]
    Conflict {
        /// What conflicts, naming the job and its state where there is one.
        message: String,
        /// The job's public state when that is what prevented the operation.
        state: Option<JobState>,
    },
    /// The store could not be reached or is busy; retrying later may succeed.
    #[error("store unavailable: {message}")]
    Unavailable {
        /// What was attempted and what happened.
        message: String,
        /// The driver's own error.
        #[source]
        source: Option<BoxError>,
    },
    /// The store answered with an error that is not the caller's fault.
    #[error("store error: {message}")]
    Backend {
        /// What was attempted and what happened.
        message: String,
        /// The driver's own error.
        #[source]
        source: Option<BoxError>,
    },
    /// Waiting for something took longer than allowed.
    #[error("timed out: {0}")]
    Timeout(String),
}

/// The kind of an [`Error`], for code that only needs to tell them apart
/// (exit codes, HTTP statuses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorClass {
    /// [`Error::Invalid`]: the caller's input or configuration.
    Invalid,
    /// [`Error::NotFound`]: what the operation names does not exist.
    NotFound,
    /// [`Error::Conflict`]: not allowed in the current state.
    Conflict,
    /// [`Error::Unavailable`]: transient; retry later.
    Unavailable,
    /// [`Error::Backend`]: the store failed.
    Backend,
    /// [`Error::Timeout`]: waited too long.
    Timeout,
}

impl Error {
    /// An [`Error::Invalid`] for `field` with `value`, saying why.
    pub fn invalid(
        field: impl Into<String>,
        value: impl fmt::Display,
        reason: impl Into<String>,
    ) -> Self {
        Error::Invalid {
            field: field.into(),
            value: shorten(value.to_string()),
            reason: reason.into(),
        }
    }

    /// An [`Error::NotFound`] for the job `id`.
    pub fn job_not_found(id: JobId) -> Self {
        Error::NotFound {
            entity: "job",
            id: id.to_string(),
        }
    }

    /// An [`Error::Conflict`] without a job state.
    pub fn conflict(message: impl Into<String>) -> Self {
        Error::Conflict {
            message: message.into(),
            state: None,
        }
    }

    /// An [`Error::Conflict`]: job `id` is in `state`, which does not allow
    /// the operation; `allowed` says which states do.
    pub fn wrong_state(id: JobId, state: JobState, allowed: &str) -> Self {
        Error::Conflict {
            message: format!("job {id} is {state}: {allowed}"),
            state: Some(state),
        }
    }

    /// An [`Error::Unavailable`] saying what failed, keeping its cause.
    pub fn unavailable(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Error::Unavailable {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// An [`Error::Backend`] saying what failed, keeping its cause.
    pub fn backend(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Error::Backend {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// An [`Error::Backend`] with no underlying cause (an answer the store
    /// should never give).
    pub fn backend_msg(message: impl Into<String>) -> Self {
        Error::Backend {
            message: message.into(),
            source: None,
        }
    }

    /// The same error with `what` (what was being done, naming the target)
    /// in front of the message of a store error.
    pub fn context(self, what: impl fmt::Display) -> Self {
        match self {
            Error::Unavailable { message, source } => Error::Unavailable {
                message: format!("{what}: {message}"),
                source,
            },
            Error::Backend { message, source } => Error::Backend {
                message: format!("{what}: {message}"),
                source,
            },
            other => other,
        }
    }

    /// The kind of this error.
    pub fn kind(&self) -> ErrorClass {
        match self {
            Error::Invalid { .. } => ErrorClass::Invalid,
            Error::NotFound { .. } => ErrorClass::NotFound,
            Error::Conflict { .. } => ErrorClass::Conflict,
            Error::Unavailable { .. } => ErrorClass::Unavailable,
            Error::Backend { .. } => ErrorClass::Backend,
            Error::Timeout(_) => ErrorClass::Timeout,
        }
    }

    /// True when the failure is transient (the store is unreachable or busy),
    /// so the caller may retry the same operation later.
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Unavailable { .. })
    }

    /// The job state that caused a [`Error::Conflict`], if any.
    pub fn job_state(&self) -> Option<JobState> {
        match self {
            Error::Conflict { state, .. } => *state,
            _ => None,
        }
    }
}

/// A value errand itself serializes or reads back did not convert: a
/// store's answer that is not what errand wrote.
impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::backend(format!("a stored value does not convert: {e}"), e)
    }
}

/// A value cut to 200 bytes (on a character boundary) for an error message.
fn shorten(mut value: String) -> String {
    if value.len() > 200 {
        let mut cut = 200;
        while !value.is_char_boundary(cut) {
            cut -= 1;
        }
        value.truncate(cut);
        value.push('…');
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn every_variant_has_its_kind_and_keeps_its_cause() {
        let cause = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let e = Error::unavailable("cannot connect to redis://127.0.0.1:1", cause);
        assert_eq!(e.kind(), ErrorClass::Unavailable);
        assert!(e.is_transient());
        assert_eq!(
            e.source().map(|s| s.to_string()).as_deref(),
            Some("refused")
        );
        let e = Error::wrong_state(JobId(4), JobState::Running, "cancel it first");
        assert_eq!(e.kind(), ErrorClass::Conflict);
        assert_eq!(e.job_state(), Some(JobState::Running));
        assert_eq!(e.to_string(), "job 4 is running: cancel it first");
        assert_eq!(
            Error::job_not_found(JobId(9)).to_string(),
            "job 9 not found"
        );
        let long = Error::invalid("input", "x".repeat(500), "too long");
        assert!(matches!(long, Error::Invalid { ref value, .. } if value.len() < 210));
    }
}
