//! Counts of finished jobs per queue, tenant and state (migration 11). The
//! statements that move jobs into or out of a finished state add what they
//! moved in their own transaction, once per statement: a row trigger would
//! keep the counts too, at a third of the job throughput.

use std::collections::BTreeMap;

use errand_core::Result;
use sqlx::SqliteConnection;

use crate::error::db_error;
use crate::queries;

/// Finished jobs a statement counted in (+1) or out (-1), per queue, tenant
/// (`""` for none) and state.
#[derive(Debug, Default)]
pub(crate) struct FinishedMoves(BTreeMap<(String, String, String), i64>);

impl FinishedMoves {
    /// One job of `queue` and `tenant` into (`change` 1) or out of (-1)
    /// the finished `state`.
    pub(crate) fn add(&mut self, queue: &str, tenant: Option<&str>, state: &str, change: i64) {
        let key = (
            queue.to_owned(),
            tenant.unwrap_or_default().to_owned(),
            state.to_owned(),
        );
        *self.0.entry(key).or_default() += change;
    }

    /// Adds the moves to the counts on `conn`, in the transaction of the
    /// statement that made them.
    pub(crate) async fn write(&self, conn: &mut SqliteConnection) -> Result<()> {
        let rows: Vec<serde_json::Value> = self
            .0
            .iter()
            .filter(|(_, change)| **change != 0)
            .map(|((queue, tenant, state), change)| {
                serde_json::json!([queue, tenant, state, change])
            })
            .collect();
        if rows.is_empty() {
            return Ok(());
        }
        sqlx::query(queries::COUNTS_ADD)
            .bind(serde_json::Value::from(rows).to_string())
            .execute(conn)
            .await
            .map_err(db_error)?;
        Ok(())
    }
}

/// Counts job `id` out of its finished state, if it has one: run before a
/// statement that retries or deletes it, in that statement's transaction.
pub(crate) async fn leaving(conn: &mut SqliteConnection, id: i64) -> Result<()> {
    sqlx::query(queries::COUNTS_LEAVING)
        .bind(id)
        .execute(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}
