//! [`WorkerRegistry`] for [`PgStore`]: heartbeats in the `workers` table.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use errand_core::Result;
use errand_core::store::{WorkerBeat, WorkerRegistry};

use crate::PgStore;
use crate::error::db_error;

#[async_trait]
impl WorkerRegistry for PgStore {
    async fn beat(&self, beat: WorkerBeat) -> Result<()> {
        beat.validate()?;
        let text = beat.to_json()?;
        sqlx::query(self.inner.q.worker_beat.clone())
            .bind(&beat.name)
            .bind(beat.beat_at)
            .bind(text)
            .execute(&self.inner.pool)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn workers(&self) -> Result<Vec<WorkerBeat>> {
        let texts: Vec<String> = sqlx::query_scalar(self.inner.q.workers.clone())
            .fetch_all(&self.inner.pool)
            .await
            .map_err(db_error)?;
        texts.iter().map(|t| WorkerBeat::from_json(t)).collect()
    }

    async fn leave(&self, name: &str) -> Result<bool> {
        let done = sqlx::query(self.inner.q.worker_leave.clone())
            .bind(name)
            .execute(&self.inner.pool)
            .await
            .map_err(db_error)?;
        Ok(done.rows_affected() > 0)
    }

    async fn forget_workers(&self, beat_before: DateTime<Utc>) -> Result<u64> {
        let done = sqlx::query(self.inner.q.workers_forget.clone())
            .bind(beat_before)
            .execute(&self.inner.pool)
            .await
            .map_err(db_error)?;
        Ok(done.rows_affected())
    }
}
