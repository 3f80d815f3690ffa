use std::time::{Duration, Instant};

use errand_core::Error;
use sqlx::error::DatabaseError;

/// The one translation from sqlx errors to errand errors for this backend;
/// the sqlx error stays as the cause.
pub(crate) fn db_error(e: sqlx::Error) -> Error {
    errand_sql::db_error(e, busy)
}

/// SQLITE_BUSY (5) and SQLITE_LOCKED (6), with their extended codes: another
/// writer held the lock for longer than the busy timeout.
fn busy(db: &dyn DatabaseError) -> bool {
    db.code()
        .and_then(|c| c.parse::<i32>().ok())
        .is_some_and(|c| matches!(c & 0xff, 5 | 6))
}

/// SQLITE_BUSY or SQLITE_LOCKED (with their extended codes, BUSY_SNAPSHOT
/// among them) in an error of this backend.
pub(crate) fn is_busy(e: &Error) -> bool {
    let Error::Unavailable {
        source: Some(source),
        ..
    } = e
    else {
        return false;
    };
    source
        .downcast_ref::<sqlx::Error>()
        .and_then(|e| e.as_database_error())
        .is_some_and(busy)
}

/// Runs a write again while another process holds the database's write lock
/// (or committed between its read and its write), for up to `patience`.
///
/// The store's writer connection does not wait in SQLite's busy handler,
/// whose growing sleeps let other processes take the lock in turn: a write
/// tries again at once a few times, then every millisecond
/// (docs/design.md, "the writer retries a busy lock itself").
pub(crate) async fn retry_busy<T, F, Fut>(patience: Duration, mut op: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Error>>,
{
    let started = Instant::now();
    let mut tries = 0u32;
    loop {
        match op().await {
            Err(e) if is_busy(&e) && started.elapsed() < patience => {
                tries += 1;
                if tries <= 8 {
                    tokio::task::yield_now().await;
                } else {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
            other => return other,
        }
    }
}

/// [`retry_busy`] for one sqlx statement (atomic on its own, no explicit
/// transaction).
pub(crate) async fn write_once<T, F, Fut>(patience: Duration, mut op: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, sqlx::Error>>,
{
    retry_busy(patience, || {
        let run = op();
        async move { run.await.map_err(db_error) }
    })
    .await
}
