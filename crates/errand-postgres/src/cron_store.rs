//! [`CronStore`] for [`PgStore`]: cron entries, their fires and ledgers.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use errand_core::cron::{EntryRow, FireState, LedgerRecord};
use errand_core::store::{
    CronListParams, CronStore, DueParams, EnableParams, EntryKey, FireOutcome, FireParams,
    LedgerParams, SaveParams,
};
use errand_core::{JobId, NewJob, Result};
use errand_sql::EnqueuePlan;
use errand_sql::cron::{self, CronTx, SaveTx};
use errand_sql::rows::{entry_row, fire_state, ledger_record};
use serde_json::{Value, json};
use sqlx::Row;
use sqlx::postgres::PgRow;

use crate::PgStore;
use crate::enqueue::insert_jobs;
use crate::error::db_error;
use crate::queries::Queries;
use crate::rows::PgColumns;

fn entries(rows: &[PgRow]) -> Result<Vec<EntryRow>> {
    rows.iter().map(|row| entry_row(&PgColumns(row))).collect()
}

#[async_trait]
impl CronStore for PgStore {
    async fn cron_save(&self, params: SaveParams) -> Result<EntryRow> {
        cron::save(self.cron_tx().await?, &params).await
    }

    async fn cron_get(&self, key: EntryKey) -> Result<Option<EntryRow>> {
        key.validate()?;
        let row = sqlx::query(self.inner.q.cron_get.clone())
            .bind(key.tenant_key())
            .bind(&key.name)
            .fetch_optional(&self.inner.pool)
            .await
            .map_err(db_error)?;
        row.map(|row| entry_row(&PgColumns(&row))).transpose()
    }

    async fn cron_list(&self, params: CronListParams) -> Result<Vec<EntryRow>> {
        let rows = sqlx::query(self.inner.q.cron_list.clone())
            .bind(params.tenant.as_ref().map(|t| t.as_deref().unwrap_or("")))
            .bind(params.kind.as_deref())
            .bind(params.enabled)
            .bind(params.after.as_ref().map(EntryKey::tenant_key))
            .bind(params.after.as_ref().map(|key| key.name.as_str()))
            .bind(i64::from(params.limit))
            .fetch_all(&self.inner.pool)
            .await
            .map_err(db_error)?;
        entries(&rows)
    }

    async fn cron_enable(&self, params: EnableParams) -> Result<EntryRow> {
        params.key.validate()?;
        let row = sqlx::query(self.inner.q.cron_enable.clone())
            .bind(params.key.tenant_key())
            .bind(&params.key.name)
            .bind(params.enabled)
            .bind(params.note.as_deref())
            .bind(params.now)
            .fetch_optional(&self.inner.pool)
            .await
            .map_err(db_error)?
            .ok_or_else(|| params.key.not_found())?;
        entry_row(&PgColumns(&row))
    }

    async fn cron_remove(&self, key: EntryKey) -> Result<()> {
        key.validate()?;
        let done = sqlx::query(self.inner.q.cron_remove.clone())
            .bind(key.tenant_key())
            .bind(&key.name)
            .execute(&self.inner.pool)
            .await
            .map_err(db_error)?;
        if done.rows_affected() == 0 {
            return Err(key.not_found());
        }
        Ok(())
    }

    async fn cron_due(&self, params: DueParams) -> Result<Vec<EntryRow>> {
        let rows = sqlx::query(self.inner.q.cron_due.clone())
            .bind(params.now)
            .bind(&params.kinds)
            .bind(i64::from(params.limit))
            .fetch_all(&self.inner.pool)
            .await
            .map_err(db_error)?;
        entries(&rows)
    }

    async fn cron_fire(&self, params: FireParams) -> Result<Vec<FireOutcome>> {
        if params.fires.is_empty() {
            return Ok(Vec::new());
        }
        let outcomes = cron::fire(self.cron_tx().await?, &params).await?;
        if outcomes.iter().any(|o| !o.jobs().is_empty()) {
            self.notify();
        }
        Ok(outcomes)
    }

    async fn cron_ledger(&self, params: LedgerParams) -> Result<Vec<LedgerRecord>> {
        params.key.validate()?;
        let rows = sqlx::query(self.inner.q.cron_ledger.clone())
            .bind(params.key.tenant_key())
            .bind(&params.key.name)
            .bind(i64::from(params.limit))
            .fetch_all(&self.inner.pool)
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|row| ledger_record(&PgColumns(row)))
            .collect()
    }
}

impl PgStore {
    /// A transaction on the enqueue connections, whose job inserts leave
    /// their notification to `notify`.
    async fn cron_tx(&self) -> Result<PgCronTx<'_>> {
        Ok(PgCronTx {
            tx: self.inner.enqueue.begin().await.map_err(db_error)?,
            q: &self.inner.q,
        })
    }
}

/// Cron writes on PostgreSQL: the entries read stay locked until commit.
struct PgCronTx<'a> {
    tx: sqlx::Transaction<'static, sqlx::Postgres>,
    q: &'a Queries,
}

impl PgCronTx<'_> {
    async fn run(&mut self, sql: &sqlx::SqlStr, payload: Value) -> Result<()> {
        sqlx::query(sql.clone())
            .bind(payload)
            .execute(&mut *self.tx)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn definition(
        &mut self,
        sql: &sqlx::SqlStr,
        params: &SaveParams,
    ) -> Result<Option<EntryRow>> {
        let entry = &params.entry;
        let row = sqlx::query(sql.clone())
            .bind(entry.tenant.as_deref().unwrap_or(""))
            .bind(&entry.name)
            .bind(&entry.kind)
            .bind(&entry.input)
            .bind(entry.schedule_text())
            .bind(entry.zone.name())
            .bind(entry.queue.as_deref())
            .bind(entry.priority)
            .bind(
                entry
                    .max_attempts
                    .map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
            )
            .bind(json!(entry.meta))
            .bind(entry.overlap.as_str())
            .bind(entry.missed.to_string())
            .bind(params.next_fire_at)
            .bind(params.now)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db_error)?;
        row.map(|row| entry_row(&PgColumns(&row))).transpose()
    }
}

impl SaveTx for PgCronTx<'_> {
    async fn insert(&mut self, params: &SaveParams) -> Result<Option<EntryRow>> {
        self.definition(&self.q.cron_insert.clone(), params).await
    }

    async fn update(&mut self, params: &SaveParams) -> Result<Option<EntryRow>> {
        self.definition(&self.q.cron_update.clone(), params).await
    }

    async fn commit(self) -> Result<()> {
        self.tx.commit().await.map_err(db_error)
    }
}

impl CronTx for PgCronTx<'_> {
    fn time(t: DateTime<Utc>) -> Value {
        json!(t)
    }

    async fn fire_states(&mut self, keys: Value) -> Result<Vec<(EntryKey, FireState)>> {
        let rows = sqlx::query(self.q.cron_fire_states.clone())
            .bind(keys)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db_error)?;
        rows.iter().map(|row| fire_state(&PgColumns(row))).collect()
    }

    async fn decided(&mut self, records: Value) -> Result<Vec<(EntryKey, DateTime<Utc>)>> {
        let rows = sqlx::query(self.q.cron_decided.clone())
            .bind(records)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|row| {
                let tenant: String = row.try_get("tenant").map_err(db_error)?;
                let name: String = row.try_get("name").map_err(db_error)?;
                let fire_at: DateTime<Utc> = row.try_get("fire_at").map_err(db_error)?;
                Ok((
                    EntryKey::new(Some(tenant.as_str()).filter(|t| !t.is_empty()), &name),
                    fire_at,
                ))
            })
            .collect()
    }

    async fn insert_jobs(&mut self, jobs: &[NewJob], now: DateTime<Utc>) -> Result<Vec<JobId>> {
        let enqueued = insert_jobs(&mut self.tx, self.q, jobs, EnqueuePlan::new(jobs), now).await?;
        Ok(enqueued.into_iter().map(|e| e.id).collect())
    }

    async fn drop_buffered(&mut self, records: Value) -> Result<()> {
        self.run(&self.q.cron_drop_buffered.clone(), records).await
    }

    async fn insert_ledger(&mut self, records: Value) -> Result<()> {
        self.run(&self.q.cron_insert_ledger.clone(), records).await
    }

    async fn update_entries(&mut self, updates: Value) -> Result<()> {
        self.run(&self.q.cron_update_entries.clone(), updates).await
    }

    async fn trim_ledgers(&mut self, keys: Value, keep: i64) -> Result<()> {
        sqlx::query(self.q.cron_trim_ledgers.clone())
            .bind(keys)
            .bind(keep)
            .execute(&mut *self.tx)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn commit(self) -> Result<()> {
        self.tx.commit().await.map_err(db_error)
    }
}
