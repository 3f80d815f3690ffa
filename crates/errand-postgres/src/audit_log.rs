//! [`AuditLog`] for [`PgStore`]: operators' changes in the `audit` table.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use errand_core::Result;
use errand_core::store::{AuditLog, AuditRecord, NewAuditRecord, check_audit_limit};

use crate::PgStore;
use crate::error::db_error;

#[async_trait]
impl AuditLog for PgStore {
    async fn record_audit(&self, record: NewAuditRecord) -> Result<i64> {
        record.validate()?;
        let text = record.to_json()?;
        sqlx::query_scalar(self.inner.q.audit_insert.clone())
            .bind(record.at)
            .bind(text)
            .fetch_one(&self.inner.pool)
            .await
            .map_err(db_error)
    }

    async fn audit_records(&self, before: Option<i64>, limit: u32) -> Result<Vec<AuditRecord>> {
        check_audit_limit(limit)?;
        let rows: Vec<(i64, String)> = sqlx::query_as(self.inner.q.audit_list.clone())
            .bind(before.unwrap_or(i64::MAX))
            .bind(i64::from(limit))
            .fetch_all(&self.inner.pool)
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|(id, text)| AuditRecord::from_stored(*id, text))
            .collect()
    }

    async fn prune_audit(&self, at_before: DateTime<Utc>) -> Result<u64> {
        let done = sqlx::query(self.inner.q.audit_prune.clone())
            .bind(at_before)
            .execute(&self.inner.pool)
            .await
            .map_err(db_error)?;
        Ok(done.rows_affected())
    }
}
