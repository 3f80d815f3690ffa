//! Writes the worker's heartbeat every few seconds (name, host, queues,
//! kinds, concurrency, running jobs, loop jobs), so that operators see it
//! alive, and forgets workers that stopped beating long ago.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use errand_core::Result;
use errand_core::maintenance::{Report, Service};
use errand_core::store::{BEAT_INTERVAL, FORGET_AFTER, WorkerBeat};

use crate::worker::Shared;

/// The heartbeat of a worker.
pub(crate) struct Heartbeat {
    pub shared: Arc<Shared>,
    pub loops: Vec<Arc<crate::loop_job::Loop>>,
}

impl Heartbeat {
    /// The heartbeat at `now`.
    pub(crate) fn beat(&self, now: DateTime<Utc>) -> WorkerBeat {
        let config = &self.shared.config;
        let mut kinds: Vec<String> = self.shared.registry.keys().cloned().collect();
        kinds.sort_unstable();
        WorkerBeat {
            name: config.name.clone(),
            host: crate::worker::host_name(),
            pid: std::process::id(),
            queues: config.queues.clone(),
            kinds,
            concurrency: u32::try_from(config.concurrency).unwrap_or(u32::MAX),
            running: u32::try_from(self.shared.running().len()).unwrap_or(u32::MAX),
            started_at: self.shared.started_at,
            beat_at: now,
            loops: self
                .loops
                .iter()
                .filter_map(|l| serde_json::to_value(l.status()).ok())
                .collect(),
            global_limits: config
                .global_limits
                .iter()
                .map(|(kind, n)| (kind.clone(), *n))
                .collect(),
            tenant_limit: config.tenant_limits.each,
            tenant_limits: config.tenant_limits.tenants.clone(),
        }
    }
}

#[async_trait]
impl Service for Heartbeat {
    fn name(&self) -> &'static str {
        "heartbeat"
    }

    fn interval(&self) -> Duration {
        BEAT_INTERVAL
    }

    async fn run_once(&self, now: DateTime<Utc>) -> Result<Report> {
        self.shared.store.beat(self.beat(now)).await?;
        let forgotten = match chrono::TimeDelta::from_std(FORGET_AFTER) {
            Ok(after) => self.shared.store.forget_workers(now - after).await?,
            Err(_) => 0,
        };
        Ok(if forgotten > 0 {
            Report::did(forgotten, format!("forgot {forgotten} dead workers"))
        } else {
            Report::idle()
        })
    }
}
