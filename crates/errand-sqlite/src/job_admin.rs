//! [`JobAdmin`] for [`SqliteStore`]: reading and managing jobs.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use errand_core::store::{
    CancelParams, DeleteParams, GetParams, PruneOutcome, PruneParams, RescheduleParams,
    RetryParams, StatsParams,
};
use errand_core::{
    CancelOutcome, Error, JobAdmin, JobId, JobRow, JobState, ListParams, Result, Stats,
};
use errand_sql::rows::{id_and_state, state_count};
use sqlx::SqliteConnection;

use crate::SqliteStore;
use crate::error::{db_error, write_once};
use crate::queries;
use crate::rows::{SqliteColumns, job_row, micros};
use crate::store::ids_json;

#[async_trait]
impl JobAdmin for SqliteStore {
    async fn get(&self, params: GetParams) -> Result<Option<JobRow>> {
        let row = sqlx::query(queries::GET)
            .bind(params.id.0)
            .fetch_optional(&self.inner.reader)
            .await
            .map_err(db_error)?;
        row.map(|row| job_row(&row, params.now)).transpose()
    }

    async fn list(&self, params: ListParams) -> Result<Vec<JobRow>> {
        let rows = sqlx::query(queries::LIST)
            .bind(params.kind.as_deref())
            .bind(params.queue.as_deref())
            .bind(params.tenant.as_deref())
            .bind(params.batch_id)
            .bind(params.state.map(|s| s.as_str()))
            .bind(params.unique_key.as_deref())
            .bind(params.before_id.map(|id| id.0))
            .bind(i64::from(params.limit))
            .bind(micros(params.now))
            .fetch_all(&self.inner.reader)
            .await
            .map_err(db_error)?;
        rows.iter().map(|row| job_row(row, params.now)).collect()
    }

    async fn cancel(&self, params: CancelParams) -> Result<CancelOutcome> {
        if params.ids.is_empty() {
            return Ok(CancelOutcome::default());
        }
        let ids: Vec<i64> = params.ids.iter().map(|id| id.0).collect();
        let mut tx = self.begin_write().await?;
        let found = job_states(&mut tx, &ids, params.now).await?;
        let outcome = CancelOutcome::plan(&params.ids, &found);
        if !outcome.cancelled.is_empty() {
            sqlx::query(queries::CANCEL_WAITING)
                .bind(ids_json(
                    &outcome.cancelled.iter().map(|id| id.0).collect::<Vec<_>>(),
                ))
                .bind(micros(params.now))
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
        if !outcome.requested.is_empty() {
            sqlx::query(queries::CANCEL_RUNNING)
                .bind(ids_json(
                    &outcome.requested.iter().map(|id| id.0).collect::<Vec<_>>(),
                ))
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)?;
        Ok(outcome)
    }

    async fn retry(&self, params: RetryParams) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let found = job_states(&mut tx, &[params.id.0], params.now).await?;
        params.check(found.first().map(|(_, state)| *state))?;
        sqlx::query(queries::RETRY)
            .bind(params.id.0)
            .bind(micros(params.now))
            .execute(&mut *tx)
            .await
            .map_err(|e| match db_error(e) {
                Error::Conflict { .. } => params.key_taken(),
                other => other,
            })?;
        tx.commit().await.map_err(db_error)?;
        self.woke(true);
        Ok(())
    }

    async fn stats(&self, params: StatsParams) -> Result<Stats> {
        let rows = sqlx::query(queries::STATS)
            .bind(micros(params.now))
            .bind(params.tenant.as_deref())
            .fetch_all(&self.inner.reader)
            .await
            .map_err(db_error)?;
        let counts = rows
            .iter()
            .map(|row| state_count(&SqliteColumns(row)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Stats { counts })
    }

    async fn delete(&self, params: DeleteParams) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let found = job_states(&mut tx, &[params.id.0], Utc::now()).await?;
        params.check(found.first().map(|(_, state)| *state))?;
        sqlx::query(queries::DELETE)
            .bind(params.id.0)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(())
    }

    async fn reschedule(&self, params: RescheduleParams) -> Result<JobRow> {
        params.validate()?;
        let mut tx = self.begin_write().await?;
        let found = job_states(&mut tx, &[params.id.0], params.now).await?;
        params.check(found.first().map(|(_, state)| *state))?;
        sqlx::query(queries::RESCHEDULE)
            .bind(params.id.0)
            .bind(params.run_at.map(micros))
            .bind(params.priority)
            .bind(params.queue.as_deref())
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        let row = sqlx::query(queries::GET)
            .bind(params.id.0)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_error)?;
        let job = job_row(&row, params.now)?;
        tx.commit().await.map_err(db_error)?;
        if job.run_at <= params.now {
            self.woke(true);
        }
        Ok(job)
    }

    async fn prune(&self, params: PruneParams) -> Result<PruneOutcome> {
        params.validate()?;
        let ids: Vec<i64> = write_once(self.inner.busy_timeout, || {
            sqlx::query_scalar(queries::PRUNE)
                .bind(params.state.as_str())
                .bind(micros(params.finished_before))
                .bind(params.after.map_or(0, |id| id.0))
                .bind(i64::from(params.limit))
                .fetch_all(&self.inner.writer)
        })
        .await?;
        Ok(PruneOutcome::of(ids, params.limit))
    }
}

/// The public states of the jobs of `ids` that exist, read in the admin
/// operation's write transaction so that they hold until it commits.
async fn job_states(
    conn: &mut SqliteConnection,
    ids: &[i64],
    now: DateTime<Utc>,
) -> Result<Vec<(JobId, JobState)>> {
    let rows = sqlx::query(queries::JOB_STATES)
        .bind(ids_json(ids))
        .fetch_all(conn)
        .await
        .map_err(db_error)?;
    rows.iter()
        .map(|row| id_and_state(&SqliteColumns(row), now))
        .collect()
}
