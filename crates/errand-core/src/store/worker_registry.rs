//! [`WorkerRegistry`]: every worker process's heartbeat, so that operators
//! (the admin API, `errand workers`) see who is alive, what each serves and
//! runs, and what no live worker serves.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// How often a worker writes its heartbeat.
pub const BEAT_INTERVAL: Duration = Duration::from_secs(5);

/// A worker whose last heartbeat is older than this is shown as dead: six
/// beats missed, so a busy store or a long pause of the process is not
/// mistaken for a death.
pub const DEAD_AFTER: Duration = Duration::from_secs(30);

/// A dead worker's record is forgotten this long after its last heartbeat.
pub const FORGET_AFTER: Duration = Duration::from_secs(3600);

/// The largest heartbeat a store keeps, serialized.
pub const MAX_BEAT_BYTES: usize = 64 * 1024;

/// One worker process's heartbeat: who it is and what it does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerBeat {
    /// The name it claims jobs under (unique: host, process id, a random suffix).
    pub name: String,
    /// The host it runs on.
    pub host: String,
    /// Its process id.
    pub pid: u32,
    /// The queues it claims from.
    pub queues: Vec<String>,
    /// The job kinds it registers.
    pub kinds: Vec<String>,
    /// Jobs it runs at once at most.
    pub concurrency: u32,
    /// Jobs it runs now.
    pub running: u32,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it wrote this heartbeat.
    pub beat_at: DateTime<Utc>,
    /// Its loop jobs and what each did last (free-form, as the runtime reports them).
    #[serde(default)]
    pub loops: Vec<serde_json::Value>,
    /// Its per-kind limits across the cluster (global limits), by kind.
    #[serde(default)]
    pub global_limits: BTreeMap<String, u32>,
    /// Its limit of running jobs per tenant across the cluster, for every
    /// tenant not named in `tenant_limits`.
    #[serde(default)]
    pub tenant_limit: Option<u32>,
    /// Its limits of named tenants.
    #[serde(default)]
    pub tenant_limits: BTreeMap<String, u32>,
}

impl WorkerBeat {
    /// Checks the name and the size; the error names the field.
    pub fn validate(&self) -> Result<()> {
        if self.name.is_empty() || self.name.len() > 255 || self.name.contains('\0') {
            return Err(Error::invalid(
                "name",
                &self.name,
                "must be 1 to 255 bytes without NUL",
            ));
        }
        crate::validate::time("beat_at", self.beat_at)?;
        crate::validate::time("started_at", self.started_at)?;
        let size = self.to_json()?.len();
        if size > MAX_BEAT_BYTES {
            return Err(Error::invalid(
                "beat",
                &self.name,
                format!("is {size} bytes, more than {MAX_BEAT_BYTES}"),
            ));
        }
        Ok(())
    }

    /// The text a store keeps.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string(self)
            .map_err(|e| Error::invalid("beat", &self.name, format!("cannot be serialized: {e}")))
    }

    /// A heartbeat a store kept.
    pub fn from_json(text: &str) -> Result<Self> {
        serde_json::from_str(text).map_err(|e| {
            Error::backend_msg(format!("a stored worker heartbeat is unreadable: {e}"))
        })
    }

    /// Whether it beat recently enough at `now` to count as alive.
    pub fn is_alive(&self, now: DateTime<Utc>) -> bool {
        self.beat_at + DEAD_AFTER >= now
    }
}

/// Every worker process's heartbeat.
#[async_trait]
pub trait WorkerRegistry: Send + Sync + 'static {
    /// Records a heartbeat, replacing the worker's previous one.
    async fn beat(&self, beat: WorkerBeat) -> Result<()>;
    /// Every worker on record, by name, alive or not.
    async fn workers(&self) -> Result<Vec<WorkerBeat>>;
    /// Removes one worker's record (it stopped); `false` when there was none.
    async fn leave(&self, name: &str) -> Result<bool>;
    /// Forgets the workers whose last heartbeat is older than `beat_before`;
    /// returns how many.
    async fn forget_workers(&self, beat_before: DateTime<Utc>) -> Result<u64>;
}

/// A shared store keeps heartbeats as the store does.
#[async_trait]
impl<S: WorkerRegistry + ?Sized> WorkerRegistry for std::sync::Arc<S> {
    async fn beat(&self, beat: WorkerBeat) -> Result<()> {
        (**self).beat(beat).await
    }
    async fn workers(&self) -> Result<Vec<WorkerBeat>> {
        (**self).workers().await
    }
    async fn leave(&self, name: &str) -> Result<bool> {
        (**self).leave(name).await
    }
    async fn forget_workers(&self, beat_before: DateTime<Utc>) -> Result<u64> {
        (**self).forget_workers(beat_before).await
    }
}
