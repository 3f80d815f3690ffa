//! [`QueueControl`] for [`SqliteStore`]: pauses in the `errand_pauses` table.

use async_trait::async_trait;
use errand_core::Result;
use errand_core::store::{
    Pause, PauseOutcome, PauseParams, PauseScope, QueueControl, ResumeParams,
};
use errand_sql::PauseStatements;
use errand_sql::rows::pause_row;

use crate::SqliteStore;
use crate::error::db_error;
use crate::queries;
use crate::rows::{SqliteColumns, micros};

fn pause_of(row: Option<sqlx::sqlite::SqliteRow>) -> Result<Option<Pause>> {
    row.map(|row| pause_row(&SqliteColumns(&row))).transpose()
}

/// The statements of a pause on SQLite.
struct SqlitePause<'a>(&'a SqliteStore);

impl PauseStatements for SqlitePause<'_> {
    async fn insert(&self, params: &PauseParams) -> Result<Option<Pause>> {
        let mut tx = self.0.begin_write().await?;
        let row = sqlx::query(queries::PAUSE)
            .bind(params.scope.kind())
            .bind(params.scope.name())
            .bind(&params.by)
            .bind(params.note.as_deref())
            .bind(micros(params.now))
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        pause_of(row)
    }

    async fn get(&self, scope: &PauseScope) -> Result<Option<Pause>> {
        let row = sqlx::query(queries::PAUSE_GET)
            .bind(scope.kind())
            .bind(scope.name())
            .fetch_optional(&self.0.inner.reader)
            .await
            .map_err(db_error)?;
        pause_of(row)
    }
}

#[async_trait]
impl QueueControl for SqliteStore {
    async fn pause(&self, params: PauseParams) -> Result<PauseOutcome> {
        errand_sql::queue_control::pause(&params, &SqlitePause(self)).await
    }

    async fn resume(&self, params: ResumeParams) -> Result<Option<Pause>> {
        params.scope.validate()?;
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(queries::RESUME)
            .bind(params.scope.kind())
            .bind(params.scope.name())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        pause_of(row)
    }

    async fn pauses(&self) -> Result<Vec<Pause>> {
        let rows = sqlx::query(queries::PAUSES)
            .fetch_all(&self.inner.reader)
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|row| pause_row(&SqliteColumns(row)))
            .collect()
    }
}
