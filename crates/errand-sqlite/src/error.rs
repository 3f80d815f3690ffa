use errand_core::Error;

/// The one translation from sqlx errors to errand errors for this backend;
/// the sqlx error stays as the cause.
pub(crate) fn db_error(e: sqlx::Error) -> Error {
    let message = e.to_string();
    match &e {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => Error::unavailable(message, e),
        sqlx::Error::Database(db) => {
            // SQLITE_BUSY (5) and SQLITE_LOCKED (6), with their extended codes:
            // another writer held the lock for longer than the busy timeout.
            let busy = db
                .code()
                .and_then(|c| c.parse::<i32>().ok())
                .is_some_and(|c| matches!(c & 0xff, 5 | 6));
            if busy {
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

/// SQLITE_BUSY_SNAPSHOT: another process committed between this statement's
/// read and its write. The busy timeout does not wait for it; running the
/// statement again does.
pub(crate) fn is_busy_snapshot(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some("517"))
}

/// Runs a single-statement write (atomic on its own, no explicit transaction),
/// again while it meets a busy snapshot.
pub(crate) async fn write_once<T, F, Fut>(mut op: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, sqlx::Error>>,
{
    let mut tries = 0u32;
    loop {
        match op().await {
            Err(e) if is_busy_snapshot(&e) && tries < 50 => {
                tries += 1;
                tokio::task::yield_now().await;
            }
            other => return other.map_err(db_error),
        }
    }
}
