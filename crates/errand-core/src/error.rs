use std::fmt;

/// Result type of errand operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong when talking to errand or its store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bad input: names the field and the offending value. Nothing was changed.
    #[error("invalid {field} {value:?}: {reason}")]
    Invalid {
        /// The field or parameter that was rejected.
        field: String,
        /// The value as given (shortened when very long).
        value: String,
        /// Why it was rejected.
        reason: String,
    },
    /// The operation conflicts with the current state of the store.
    #[error("conflict: {0}")]
    Conflict(String),
    /// No job with this id exists.
    #[error("job {0} not found")]
    NotFound(i64),
    /// The store could not be reached; retrying later may succeed.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The store answered with an error that is not the caller's fault.
    #[error("store error: {0}")]
    Backend(String),
    /// A value could not be serialized or deserialized.
    #[error("serialization: {0}")]
    Serialization(String),
    /// The worker or client was configured in a way that cannot work.
    #[error("configuration: {0}")]
    Config(String),
    /// Waiting for something took longer than allowed.
    #[error("timed out: {0}")]
    Timeout(String),
}

impl Error {
    /// An [`Error::Invalid`] for `field` with `value`, saying why.
    pub fn invalid(
        field: impl Into<String>,
        value: impl fmt::Display,
        reason: impl Into<String>,
    ) -> Self {
        let mut value = value.to_string();
        if value.len() > 200 {
            let mut cut = 200;
            while !value.is_char_boundary(cut) {
                cut -= 1;
            }
            value.truncate(cut);
            value.push('…');
        }
        Error::Invalid {
            field: field.into(),
            value,
            reason: reason.into(),
        }
    }

    /// True when the failure is transient (the store is unreachable), so the
    /// caller may retry the same operation later.
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Unavailable(_))
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Serialization(e.to_string())
    }
}
