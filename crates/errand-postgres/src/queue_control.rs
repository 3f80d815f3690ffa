//! [`QueueControl`] for [`PgStore`]: pauses in the `pauses` table.

use async_trait::async_trait;
use errand_core::Result;
use errand_core::store::{
    Pause, PauseOutcome, PauseParams, PauseScope, QueueControl, ResumeParams,
};
use errand_sql::PauseStatements;
use errand_sql::rows::pause_row;
use sqlx::postgres::PgRow;

use crate::PgStore;
use crate::error::db_error;
use crate::rows::PgColumns;

fn pause_of(row: Option<PgRow>) -> Result<Option<Pause>> {
    row.map(|row| pause_row(&PgColumns(&row))).transpose()
}

/// The statements of a pause on PostgreSQL.
struct PgPause<'a>(&'a PgStore);

impl PauseStatements for PgPause<'_> {
    async fn insert(&self, params: &PauseParams) -> Result<Option<Pause>> {
        let row = sqlx::query(self.0.inner.q.pause.clone())
            .bind(params.scope.kind())
            .bind(params.scope.name())
            .bind(&params.by)
            .bind(params.note.as_deref())
            .bind(params.now)
            .fetch_optional(&self.0.inner.pool)
            .await
            .map_err(db_error)?;
        pause_of(row)
    }

    async fn get(&self, scope: &PauseScope) -> Result<Option<Pause>> {
        let row = sqlx::query(self.0.inner.q.pause_get.clone())
            .bind(scope.kind())
            .bind(scope.name())
            .fetch_optional(&self.0.inner.pool)
            .await
            .map_err(db_error)?;
        pause_of(row)
    }
}

#[async_trait]
impl QueueControl for PgStore {
    async fn pause(&self, params: PauseParams) -> Result<PauseOutcome> {
        errand_sql::queue_control::pause(&params, &PgPause(self)).await
    }

    async fn resume(&self, params: ResumeParams) -> Result<Option<Pause>> {
        params.scope.validate()?;
        let row = sqlx::query(self.inner.q.resume.clone())
            .bind(params.scope.kind())
            .bind(params.scope.name())
            .fetch_optional(&self.inner.pool)
            .await
            .map_err(db_error)?;
        pause_of(row)
    }

    async fn pauses(&self) -> Result<Vec<Pause>> {
        let rows = sqlx::query(self.inner.q.pauses.clone())
            .fetch_all(&self.inner.pool)
            .await
            .map_err(db_error)?;
        rows.iter().map(|row| pause_row(&PgColumns(row))).collect()
    }
}
