//! [`AuditLog`] for [`RedisStore`]: operators' changes in the sorted set
//! `<P>:audit` (member `"<id> <record>"`, scored by id) with their times in
//! `<P>:audit_at` for pruning.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use errand_core::store::{AuditLog, AuditRecord, NewAuditRecord, check_audit_limit};
use errand_core::{Error, Result};

use crate::RedisStore;
use crate::error::redis_error;
use crate::rows::micros;

/// Records one prune call removes at most, so no call holds Redis for long.
const PRUNE_STEP: u64 = 1000;

fn record_of(member: &str) -> Result<AuditRecord> {
    let (id, text) = member
        .split_once(' ')
        .ok_or_else(|| Error::backend_msg("a stored audit record has no id"))?;
    let id = id.parse().map_err(|_| {
        Error::backend_msg(format!("a stored audit record's id {id:?} is no number"))
    })?;
    AuditRecord::from_stored(id, text)
}

#[async_trait]
impl AuditLog for RedisStore {
    async fn record_audit(&self, record: NewAuditRecord) -> Result<i64> {
        record.validate()?;
        let text = record.to_json()?;
        let mut invocation = self.invocation(&self.inner.scripts.audit_record);
        invocation.arg(micros(record.at)).arg(text);
        self.run(&invocation, "audit record").await
    }

    async fn audit_records(&self, before: Option<i64>, limit: u32) -> Result<Vec<AuditRecord>> {
        check_audit_limit(limit)?;
        let max = before.map_or_else(|| "+inf".to_owned(), |id| format!("({id}"));
        let mut conn = self.inner.conn.clone();
        let members: Vec<String> = redis::cmd("ZREVRANGEBYSCORE")
            .arg(self.key("audit"))
            .arg(max)
            .arg("-inf")
            .arg("LIMIT")
            .arg(0)
            .arg(limit)
            .query_async(&mut conn)
            .await
            .map_err(redis_error)?;
        members.iter().map(|m| record_of(m)).collect()
    }

    async fn prune_audit(&self, at_before: DateTime<Utc>) -> Result<u64> {
        let mut removed = 0;
        loop {
            let mut invocation = self.invocation(&self.inner.scripts.audit_prune);
            invocation.arg(micros(at_before)).arg(PRUNE_STEP);
            let step: u64 = self.run(&invocation, "audit prune").await?;
            removed += step;
            if step < PRUNE_STEP {
                return Ok(removed);
            }
        }
    }
}
