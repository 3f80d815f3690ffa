//! [`CronStore`] for [`SqliteStore`]: cron entries, their fires and ledgers.

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

use crate::SqliteStore;
use crate::enqueue::insert_jobs;
use crate::error::db_error;
use crate::queries;
use crate::rows::{SqliteColumns, from_micros, micros};

fn entries(rows: &[sqlx::sqlite::SqliteRow]) -> Result<Vec<EntryRow>> {
    rows.iter()
        .map(|row| entry_row(&SqliteColumns(row)))
        .collect()
}

#[async_trait]
impl CronStore for SqliteStore {
    async fn cron_save(&self, params: SaveParams) -> Result<EntryRow> {
        cron::save(self.cron_tx().await?, &params).await
    }

    async fn cron_get(&self, key: EntryKey) -> Result<Option<EntryRow>> {
        key.validate()?;
        let row = sqlx::query(queries::CRON_GET)
            .bind(key.tenant_key())
            .bind(&key.name)
            .fetch_optional(&self.inner.reader)
            .await
            .map_err(db_error)?;
        row.map(|row| entry_row(&SqliteColumns(&row))).transpose()
    }

    async fn cron_list(&self, params: CronListParams) -> Result<Vec<EntryRow>> {
        let rows = sqlx::query(queries::CRON_LIST)
            .bind(params.tenant.as_ref().map(|t| t.as_deref().unwrap_or("")))
            .bind(params.kind.as_deref())
            .bind(params.enabled)
            .bind(params.after.as_ref().map(EntryKey::tenant_key))
            .bind(params.after.as_ref().map(|key| key.name.as_str()))
            .bind(i64::from(params.limit))
            .fetch_all(&self.inner.reader)
            .await
            .map_err(db_error)?;
        entries(&rows)
    }

    async fn cron_enable(&self, params: EnableParams) -> Result<EntryRow> {
        params.key.validate()?;
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(queries::CRON_ENABLE)
            .bind(params.key.tenant_key())
            .bind(&params.key.name)
            .bind(params.enabled)
            .bind(params.note.as_deref())
            .bind(micros(params.now))
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_error)?
            .ok_or_else(|| params.key.not_found())?;
        tx.commit().await.map_err(db_error)?;
        entry_row(&SqliteColumns(&row))
    }

    async fn cron_remove(&self, key: EntryKey) -> Result<()> {
        key.validate()?;
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(queries::CRON_REMOVE)
            .bind(key.tenant_key())
            .bind(&key.name)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        if done.rows_affected() == 0 {
            return Err(key.not_found());
        }
        tx.commit().await.map_err(db_error)
    }

    async fn cron_due(&self, params: DueParams) -> Result<Vec<EntryRow>> {
        let rows = sqlx::query(queries::CRON_DUE)
            .bind(micros(params.now))
            .bind(json!(params.kinds).to_string())
            .bind(i64::from(params.limit))
            .fetch_all(&self.inner.reader)
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
            self.woke(true);
        }
        Ok(outcomes)
    }

    async fn cron_ledger(&self, params: LedgerParams) -> Result<Vec<LedgerRecord>> {
        params.key.validate()?;
        let rows = sqlx::query(queries::CRON_LEDGER)
            .bind(params.key.tenant_key())
            .bind(&params.key.name)
            .bind(i64::from(params.limit))
            .fetch_all(&self.inner.reader)
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|row| ledger_record(&SqliteColumns(row)))
            .collect()
    }
}

impl SqliteStore {
    async fn cron_tx(&self) -> Result<SqliteCronTx> {
        Ok(SqliteCronTx {
            tx: self.begin_write().await?,
        })
    }
}

/// Cron writes on SQLite: the write transaction holds every entry it reads.
struct SqliteCronTx {
    tx: sqlx::Transaction<'static, sqlx::Sqlite>,
}

impl SqliteCronTx {
    async fn run(&mut self, sql: &'static str, payload: Value) -> Result<()> {
        sqlx::query(sql)
            .bind(payload.to_string())
            .execute(&mut *self.tx)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn definition(
        &mut self,
        sql: &'static str,
        params: &SaveParams,
    ) -> Result<Option<EntryRow>> {
        let entry = &params.entry;
        let row = sqlx::query(sql)
            .bind(entry.tenant.as_deref().unwrap_or(""))
            .bind(&entry.name)
            .bind(&entry.kind)
            .bind(entry.input.to_string())
            .bind(entry.schedule_text())
            .bind(entry.zone.name())
            .bind(entry.queue.as_deref())
            .bind(entry.priority)
            .bind(entry.max_attempts)
            .bind(json!(entry.meta).to_string())
            .bind(entry.overlap.as_str())
            .bind(entry.missed.to_string())
            .bind(params.next_fire_at.map(micros))
            .bind(micros(params.now))
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(db_error)?;
        row.map(|row| entry_row(&SqliteColumns(&row))).transpose()
    }
}

impl SaveTx for SqliteCronTx {
    async fn insert(&mut self, params: &SaveParams) -> Result<Option<EntryRow>> {
        self.definition(queries::CRON_INSERT, params).await
    }

    async fn update(&mut self, params: &SaveParams) -> Result<Option<EntryRow>> {
        self.definition(queries::CRON_UPDATE, params).await
    }

    async fn commit(self) -> Result<()> {
        self.tx.commit().await.map_err(db_error)
    }
}

impl CronTx for SqliteCronTx {
    fn time(t: DateTime<Utc>) -> Value {
        json!(micros(t))
    }

    async fn fire_states(&mut self, keys: Value) -> Result<Vec<(EntryKey, FireState)>> {
        let rows = sqlx::query(queries::CRON_FIRE_STATES)
            .bind(keys.to_string())
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|row| fire_state(&SqliteColumns(row)))
            .collect()
    }

    async fn decided(&mut self, records: Value) -> Result<Vec<(EntryKey, DateTime<Utc>)>> {
        let rows = sqlx::query(queries::CRON_DECIDED)
            .bind(records.to_string())
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|row| {
                let tenant: String = row.try_get("tenant").map_err(db_error)?;
                let name: String = row.try_get("name").map_err(db_error)?;
                let fire_at: i64 = row.try_get("fire_at").map_err(db_error)?;
                Ok((
                    EntryKey::new(Some(tenant.as_str()).filter(|t| !t.is_empty()), &name),
                    from_micros(fire_at)?,
                ))
            })
            .collect()
    }

    async fn insert_jobs(&mut self, jobs: &[NewJob], now: DateTime<Utc>) -> Result<Vec<JobId>> {
        let enqueued = insert_jobs(&mut self.tx, jobs, EnqueuePlan::new(jobs), now).await?;
        Ok(enqueued.into_iter().map(|e| e.id).collect())
    }

    async fn drop_buffered(&mut self, records: Value) -> Result<()> {
        self.run(queries::CRON_DROP_BUFFERED, records).await
    }

    async fn insert_ledger(&mut self, records: Value) -> Result<()> {
        self.run(queries::CRON_INSERT_LEDGER, records).await
    }

    async fn update_entries(&mut self, updates: Value) -> Result<()> {
        self.run(queries::CRON_UPDATE_ENTRIES, updates).await
    }

    async fn trim_ledgers(&mut self, keys: Value, keep: i64) -> Result<()> {
        sqlx::query(queries::CRON_TRIM_LEDGERS)
            .bind(keys.to_string())
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
