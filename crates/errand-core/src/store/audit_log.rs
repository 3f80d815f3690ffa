//! [`AuditLog`]: a record of every change an operator made (through the
//! admin API or the CLI): who, what, on which target or filter, how many.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The most records one page of [`AuditLog::audit_records`] returns.
pub const MAX_AUDIT_PAGE: u32 = 1000;

/// The largest record a store keeps, serialized.
pub const MAX_AUDIT_BYTES: usize = 16 * 1024;

/// One change, as the operator's tool reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAuditRecord {
    /// When it was made.
    pub at: DateTime<Utc>,
    /// Who made it: the name the caller gave and how it was let in
    /// (`"ann (token)"`, `"loopback"`, `"cli alice"`).
    pub actor: String,
    /// What was done: `"jobs.retry"`, `"queues.pause"`, `"cron.remove"`...
    pub action: String,
    /// The one thing acted on (a job id, a queue, a cron entry), if one.
    #[serde(default)]
    pub target: Option<String>,
    /// The filter or request it was made with, if any.
    #[serde(default)]
    pub filter: Option<serde_json::Value>,
    /// How many things it changed.
    pub count: u64,
}

impl NewAuditRecord {
    /// Checks the fields and the size; the error names the field.
    pub fn validate(&self) -> Result<()> {
        crate::validate::time("at", self.at)?;
        for (field, value) in [("actor", &self.actor), ("action", &self.action)] {
            if value.is_empty() || value.len() > 255 || value.contains('\0') {
                return Err(Error::invalid(
                    field,
                    value,
                    "must be 1 to 255 bytes without NUL",
                ));
            }
        }
        let size = self.to_json()?.len();
        if size > MAX_AUDIT_BYTES {
            return Err(Error::invalid(
                "audit record",
                &self.action,
                format!("is {size} bytes, more than {MAX_AUDIT_BYTES}"),
            ));
        }
        Ok(())
    }

    /// The text a store keeps.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string(self).map_err(|e| {
            Error::invalid(
                "audit record",
                &self.action,
                format!("cannot be serialized: {e}"),
            )
        })
    }

    /// A record a store kept.
    pub fn from_json(text: &str) -> Result<Self> {
        serde_json::from_str(text)
            .map_err(|e| Error::backend_msg(format!("a stored audit record is unreadable: {e}")))
    }
}

/// A kept record with the id the store gave it (ids grow with every record).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Its id: later records have larger ids.
    pub id: i64,
    /// What was recorded.
    #[serde(flatten)]
    pub record: NewAuditRecord,
}

impl AuditRecord {
    /// A kept record from its id and the text a store kept.
    pub fn from_stored(id: i64, text: &str) -> Result<Self> {
        Ok(AuditRecord {
            id,
            record: NewAuditRecord::from_json(text)?,
        })
    }
}

/// The record of operators' changes.
#[async_trait]
pub trait AuditLog: Send + Sync + 'static {
    /// Keeps a record; returns its id.
    async fn record_audit(&self, record: NewAuditRecord) -> Result<i64>;
    /// The records with an id below `before` (all when `None`), newest
    /// first, at most `limit` (1 to [`MAX_AUDIT_PAGE`]).
    async fn audit_records(&self, before: Option<i64>, limit: u32) -> Result<Vec<AuditRecord>>;
    /// Removes the records made before `at_before`; returns how many.
    async fn prune_audit(&self, at_before: DateTime<Utc>) -> Result<u64>;
}

/// Checks a page size of [`AuditLog::audit_records`].
pub fn check_audit_limit(limit: u32) -> Result<()> {
    if limit == 0 || limit > MAX_AUDIT_PAGE {
        return Err(Error::invalid(
            "limit",
            limit,
            format!("must be 1 to {MAX_AUDIT_PAGE}"),
        ));
    }
    Ok(())
}

/// A shared store keeps the audit as the store does.
#[async_trait]
impl<S: AuditLog + ?Sized> AuditLog for std::sync::Arc<S> {
    async fn record_audit(&self, record: NewAuditRecord) -> Result<i64> {
        (**self).record_audit(record).await
    }
    async fn audit_records(&self, before: Option<i64>, limit: u32) -> Result<Vec<AuditRecord>> {
        (**self).audit_records(before, limit).await
    }
    async fn prune_audit(&self, at_before: DateTime<Utc>) -> Result<u64> {
        (**self).prune_audit(at_before).await
    }
}
