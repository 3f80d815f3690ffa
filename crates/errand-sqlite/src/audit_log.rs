//! [`AuditLog`] for [`SqliteStore`]: operators' changes in the `errand_audit` table.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use errand_core::Result;
use errand_core::store::{AuditLog, AuditRecord, NewAuditRecord, check_audit_limit};

use crate::SqliteStore;
use crate::error::db_error;
use crate::queries;
use crate::rows::micros;

#[async_trait]
impl AuditLog for SqliteStore {
    async fn record_audit(&self, record: NewAuditRecord) -> Result<i64> {
        record.validate()?;
        let text = record.to_json()?;
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(queries::AUDIT_INSERT)
            .bind(micros(record.at))
            .bind(text)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(id)
    }

    async fn audit_records(&self, before: Option<i64>, limit: u32) -> Result<Vec<AuditRecord>> {
        check_audit_limit(limit)?;
        let rows: Vec<(i64, String)> = sqlx::query_as(queries::AUDIT_LIST)
            .bind(before.unwrap_or(i64::MAX))
            .bind(i64::from(limit))
            .fetch_all(&self.inner.reader)
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|(id, text)| AuditRecord::from_stored(*id, text))
            .collect()
    }

    async fn prune_audit(&self, at_before: DateTime<Utc>) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(queries::AUDIT_PRUNE)
            .bind(micros(at_before))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(done.rows_affected())
    }
}
