use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::validate;
use crate::{CronRef, Result};

/// How long a unique key keeps out duplicates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UniqueScope {
    /// While a job with the key has not finished (the default).
    Active,
    /// For this long after the job with the key was enqueued, whatever its state.
    Period(Duration),
    /// As long as the job with the key exists.
    Forever,
}

/// A unique key and how long it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unique {
    /// The key; jobs of any kind share one key space.
    pub key: String,
    /// How long the key keeps out duplicates.
    pub scope: UniqueScope,
}

impl Unique {
    /// At most one unfinished job with `key`.
    pub fn active(key: impl Into<String>) -> Self {
        Unique {
            key: key.into(),
            scope: UniqueScope::Active,
        }
    }

    /// At most one job with `key` enqueued within `period`.
    pub fn period(key: impl Into<String>, period: Duration) -> Self {
        Unique {
            key: key.into(),
            scope: UniqueScope::Period(period),
        }
    }

    /// At most one job with `key`, ever (until it is deleted or pruned).
    pub fn forever(key: impl Into<String>) -> Self {
        Unique {
            key: key.into(),
            scope: UniqueScope::Forever,
        }
    }
}

impl Unique {
    /// Until when the key holds for a job enqueued at `now`: the end of a
    /// `Period`, `None` for the other scopes.
    pub fn held_until(&self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
        let UniqueScope::Period(period) = self.scope else {
            return Ok(None);
        };
        validate::after("unique_period", now, period).map(Some)
    }

    /// The scope as stores record it: `active`, `period` or `forever`.
    pub fn scope_name(&self) -> &'static str {
        match self.scope {
            UniqueScope::Active => "active",
            UniqueScope::Period(_) => "period",
            UniqueScope::Forever => "forever",
        }
    }
}

/// A job to insert, as the store receives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewJob {
    /// The job kind.
    pub kind: String,
    /// The queue.
    pub queue: String,
    /// Smaller runs first.
    pub priority: i16,
    /// Tenant, if any.
    pub tenant: Option<String>,
    /// Serialized input.
    pub input: serde_json::Value,
    /// When it becomes due; `None` means at the enqueue's `now`.
    pub run_at: Option<DateTime<Utc>>,
    /// Attempts allowed.
    pub max_attempts: u32,
    /// Unique key, if any.
    pub unique: Option<Unique>,
    /// Batch, if any.
    pub batch_id: Option<i64>,
    /// Cron origin, if a cron entry made it.
    pub cron: Option<CronRef>,
    /// String metadata.
    pub meta: BTreeMap<String, String>,
}

impl NewJob {
    /// The default queue name.
    pub const DEFAULT_QUEUE: &'static str = "default";
    /// The default attempt limit.
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 20;

    /// A job of `kind` with `input` and every other field at its default.
    pub fn new(kind: impl Into<String>, input: serde_json::Value) -> Self {
        NewJob {
            kind: kind.into(),
            queue: Self::DEFAULT_QUEUE.to_owned(),
            priority: 0,
            tenant: None,
            input,
            run_at: None,
            max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
            unique: None,
            batch_id: None,
            cron: None,
            meta: BTreeMap::new(),
        }
    }

    /// Checks every field; the error names the first bad field and its value.
    pub fn validate(&self, max_input_bytes: usize) -> Result<()> {
        validate::kind(&self.kind)?;
        validate::queue(&self.queue)?;
        validate::max_attempts(self.max_attempts)?;
        if let Some(tenant) = &self.tenant {
            validate::tenant(tenant)?;
        }
        if let Some(unique) = &self.unique {
            validate::unique(unique)?;
        }
        for (key, value) in &self.meta {
            validate::meta_entry(key, value)?;
        }
        if let Some(at) = self.run_at {
            validate::time("run_at", at)?;
        }
        validate::input_size(&self.input, max_input_bytes)?;
        crate::json::check_stored("input", &self.input)?;
        Ok(())
    }
}

impl NewJob {
    /// True when the two jobs differ at most by their input (and unique key),
    /// so a store can insert them with one statement that binds the shared
    /// fields once.
    pub fn same_shape(&self, other: &NewJob) -> bool {
        self.kind == other.kind
            && self.queue == other.queue
            && self.priority == other.priority
            && self.tenant == other.tenant
            && self.run_at == other.run_at
            && self.max_attempts == other.max_attempts
            && self.batch_id == other.batch_id
            && self.cron == other.cron
            && self.meta == other.meta
    }
}
