//! sqlx errors as errand errors.

use errand_core::Error;
use sqlx::error::DatabaseError;

/// Translates a sqlx error into an errand error, keeping it as the cause.
/// Transport failures, and database errors that `unavailable` recognises
/// (a server restarting, a lock held too long), are `Unavailable`: the
/// operation may succeed later. A unique violation, and a refusal of the
/// stores' triggers (a message starting `errand: `), is a `Conflict`.
pub fn db_error(e: sqlx::Error, unavailable: fn(&dyn DatabaseError) -> bool) -> Error {
    let message = e.to_string();
    match &e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => Error::unavailable(message, e),
        sqlx::Error::Database(db) if unavailable(db.as_ref()) => Error::unavailable(message, e),
        // The stores' triggers refuse what no statement may do (a job
        // joining a finished batch) with a message of errand's own.
        sqlx::Error::Database(db) if db.message().starts_with("errand: ") => {
            Error::conflict(db.message().trim_start_matches("errand: ").to_owned())
        }
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            Error::conflict(db.message().to_owned())
        }
        _ => Error::backend(message, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_failures_are_unavailable_and_others_backend_errors() {
        let closed = db_error(sqlx::Error::PoolClosed, |_| false);
        assert!(matches!(closed, Error::Unavailable { .. }), "{closed:?}");
        let decode = db_error(sqlx::Error::RowNotFound, |_| true);
        assert!(matches!(decode, Error::Backend { .. }), "{decode:?}");
    }
}
