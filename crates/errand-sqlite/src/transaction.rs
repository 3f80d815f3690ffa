//! `SqliteTx`: a job's own transaction, committed together with its completion.

use async_trait::async_trait;
use errand_core::store::Completion;
use errand_core::{Error, FromContext, JobContext, JobError, Result, StateMap};
use errand_sql::{JobTx, TxSource};
use serde_json::json;
use sqlx::{Sqlite, SqliteConnection, SqlitePool, Transaction};

use crate::error::db_error;
use crate::job_counts::FinishedMoves;
use crate::queries;
use crate::rows::micros;

/// What a worker on a `SqliteStore` offers to `SqliteTx` (see
/// `JobStore::provide`).
pub(crate) struct SqliteTxSource {
    pub(crate) pool: SqlitePool,
}

#[async_trait]
impl TxSource for SqliteTxSource {
    type Db = Sqlite;
    const MISSING: &'static str = "SqliteTx needs a worker whose store is a SqliteStore";

    async fn begin(&self) -> Result<Transaction<'static, Sqlite>> {
        // IMMEDIATE: the write lock is taken (or waited for) now, so a later
        // write cannot fail on a snapshot another process outdated.
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_error)
    }

    async fn complete_in(
        &self,
        conn: &mut SqliteConnection,
        completion: &Completion,
    ) -> Result<bool> {
        let item = json!([{
            "id": completion.id.0,
            "attempt": completion.attempt,
            "output": completion.output,
        }]);
        let applied: Option<(i64, Option<i64>, String, Option<String>)> =
            sqlx::query_as(queries::FINALIZE_COMPLETE)
                .bind(item.to_string())
                .bind(&completion.worker)
                .bind(micros(completion.now))
                .fetch_optional(&mut *conn)
                .await
                .map_err(db_error)?;
        let Some((_, _, queue, tenant)) = applied else {
            return Ok(false);
        };
        let mut moves = FinishedMoves::default();
        moves.add(&queue, tenant.as_deref(), "completed", 1);
        moves.write(conn).await?;
        Ok(true)
    }

    fn error(e: sqlx::Error) -> Error {
        db_error(e)
    }
}

/// A job's own transaction on the store's database file: what the job writes
/// through it and the job's completion commit together, or not at all.
///
/// The transaction begins (`BEGIN IMMEDIATE`) at the first
/// [`SqliteTx::conn`] and holds SQLite's write lock until the job ends, so
/// other writers of the file wait meanwhile: keep such jobs short. When the
/// job returns `Ok`, the worker writes the completion inside it (fenced on the
/// attempt: if the job's lease was lost meanwhile, everything rolls back) and
/// commits; when it returns an error, panics or times out, everything rolls
/// back and the job is retried as usual. The job must not commit it itself.
///
/// ```no_run
/// use errand_sqlite::SqliteTx;
///
/// // Declared with `#[errand::job]` in an application.
/// async fn record_payment(input: i64, tx: SqliteTx) -> Result<(), errand_core::JobError> {
///     let mut conn = tx.conn().await?;
///     sqlx::query("INSERT INTO payments (amount) VALUES (?1)")
///         .bind(input)
///         .execute(&mut *conn)
///         .await?;
///     Ok(())
/// }
/// ```
#[derive(Debug)]
pub struct SqliteTx(JobTx<SqliteTxSource>);

/// The connection of a job's transaction, locked while it is held.
pub type SqliteTxConn = errand_sql::TxConn<Sqlite>;

impl SqliteTx {
    /// The transaction's connection, beginning the transaction on first use.
    /// Use it as `&mut *conn` with sqlx; drop it before the job returns.
    pub async fn conn(&self) -> Result<SqliteTxConn> {
        self.0.conn().await
    }
}

impl FromContext for SqliteTx {
    fn from_context(ctx: &JobContext) -> std::result::Result<Self, JobError> {
        JobTx::from_context(ctx).map(SqliteTx)
    }

    fn check(states: &StateMap) -> std::result::Result<(), String> {
        JobTx::<SqliteTxSource>::check(states)
    }
}
