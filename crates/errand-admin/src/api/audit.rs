//! The audit: every change made through the admin operations (HTTP API and
//! CLI alike) is recorded with who made it, what, on which target or filter,
//! and how many things it changed.

use chrono::Utc;
use errand::store::{AuditLog, AuditRecord, NewAuditRecord, check_audit_limit};
use errand::{Error, Result};
use serde::{Deserialize, Serialize};

use super::Api;

/// Which audit records to list, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only records with an id below this one: the `next_before` of the page before.
    pub before: Option<i64>,
    /// Most records in the page: 1 to 1,000 (default 50).
    pub limit: Option<u32>,
}

/// One page of audit records, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    /// The records.
    pub records: Vec<AuditRecord>,
    /// Pass as `before` for the next page; `None` on the last page.
    pub next_before: Option<i64>,
}

impl Api {
    /// A page of audit records.
    pub async fn audit_records(&self, query: AuditQuery) -> Result<AuditPage> {
        let limit = query.limit.unwrap_or(50);
        check_audit_limit(limit)?;
        if let Some(before) = query.before.filter(|b| *b < 1) {
            return Err(Error::invalid("before", before, "must be 1 or more"));
        }
        let records = self
            .client
            .store()
            .audit_records(query.before, limit)
            .await?;
        let next_before = (records.len() == limit as usize)
            .then(|| records.last().map(|r| r.id))
            .flatten();
        Ok(AuditPage {
            records,
            next_before,
        })
    }

    /// Records a change made through this API. The change is made already:
    /// a failure to record it is returned, so the caller sees that the
    /// audit misses it.
    pub(crate) async fn audit(
        &self,
        action: &str,
        target: Option<String>,
        filter: Option<serde_json::Value>,
        count: u64,
    ) -> Result<()> {
        // Microseconds, as every store keeps its other times.
        let now = Utc::now();
        let at = chrono::DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now);
        self.client
            .store()
            .record_audit(NewAuditRecord {
                at,
                actor: self.actor.clone(),
                action: action.to_owned(),
                target,
                filter,
                count,
            })
            .await
            .map(drop)
    }
}

/// A request as the filter of an audit record (requests are plain data;
/// one that does not serialize is recorded without its filter).
pub(crate) fn filter_of(request: &impl Serialize) -> Option<serde_json::Value> {
    serde_json::to_value(request).ok()
}
