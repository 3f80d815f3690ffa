//! [`WorkerRegistry`] for [`SqliteStore`]: heartbeats in the `errand_workers` table.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use errand_core::Result;
use errand_core::store::{WorkerBeat, WorkerRegistry};

use crate::SqliteStore;
use crate::error::db_error;
use crate::queries;
use crate::rows::micros;

#[async_trait]
impl WorkerRegistry for SqliteStore {
    async fn beat(&self, beat: WorkerBeat) -> Result<()> {
        beat.validate()?;
        let text = beat.to_json()?;
        let mut tx = self.begin_write().await?;
        sqlx::query(queries::WORKER_BEAT)
            .bind(&beat.name)
            .bind(micros(beat.beat_at))
            .bind(text)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)
    }

    async fn workers(&self) -> Result<Vec<WorkerBeat>> {
        let texts: Vec<String> = sqlx::query_scalar(queries::WORKERS)
            .fetch_all(&self.inner.reader)
            .await
            .map_err(db_error)?;
        texts.iter().map(|t| WorkerBeat::from_json(t)).collect()
    }

    async fn leave(&self, name: &str) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(queries::WORKER_LEAVE)
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(done.rows_affected() > 0)
    }

    async fn forget_workers(&self, beat_before: DateTime<Utc>) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(queries::WORKERS_FORGET)
            .bind(micros(beat_before))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(done.rows_affected())
    }
}
