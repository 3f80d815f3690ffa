use errand_core::Error;

/// The one translation from sqlx errors to errand errors for this backend.
pub(crate) fn db_error(e: sqlx::Error) -> Error {
    match &e {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => Error::Unavailable(e.to_string()),
        sqlx::Error::Database(db) => {
            // SQLITE_BUSY (5) and SQLITE_LOCKED (6), with their extended codes:
            // another writer held the lock for longer than the busy timeout.
            let busy = db
                .code()
                .and_then(|c| c.parse::<i32>().ok())
                .is_some_and(|c| matches!(c & 0xff, 5 | 6));
            if busy {
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
