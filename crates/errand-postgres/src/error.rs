use errand_core::Error;

/// The one translation from sqlx errors to errand errors for this backend.
pub(crate) fn db_error(e: sqlx::Error) -> Error {
    match &e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => Error::Unavailable(e.to_string()),
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            // Class 08: connection exceptions; 57P01..03: the server is shutting
            // down or restarting; 53300: too many connections.
            if code.starts_with("08") || code.starts_with("57P") || code == "53300" {
                Error::Unavailable(e.to_string())
            } else if db.is_unique_violation() {
                Error::Conflict(db.message().to_owned())
            } else {
                Error::Backend(e.to_string())
            }
        }
        _ => Error::Backend(e.to_string()),
    }
}
