use errand_core::Error;

/// The one translation from sqlx errors to errand errors for this backend;
/// the sqlx error stays as the cause.
pub(crate) fn db_error(e: sqlx::Error) -> Error {
    let message = e.to_string();
    match &e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => Error::unavailable(message, e),
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            // Class 08: connection exceptions; 57P01..03: the server is shutting
            // down or restarting; 53300: too many connections.
            if code.starts_with("08") || code.starts_with("57P") || code == "53300" {
                Error::unavailable(message, e)
            } else if db.is_unique_violation() {
                Error::conflict(db.message().to_owned())
            } else {
                Error::backend(message, e)
            }
        }
        _ => Error::backend(message, e),
    }
}
