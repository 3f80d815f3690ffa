//! Worker processes: their heartbeats, alive or dead.

use chrono::Utc;
use errand::Result;
use errand::store::WorkerBeat;
use serde::{Deserialize, Serialize};

use super::Api;

/// One worker process as its last heartbeat shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerRow {
    /// Its last heartbeat.
    #[serde(flatten)]
    pub beat: WorkerBeat,
    /// It beat within the last 30 seconds.
    pub alive: bool,
}

/// Every worker on record, by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkersBody {
    /// The workers.
    pub workers: Vec<WorkerRow>,
    /// How many are alive.
    pub alive: usize,
}

impl Api {
    /// Every worker on record: alive ones, and dead ones until forgotten
    /// an hour after their last heartbeat.
    pub async fn workers(&self) -> Result<WorkersBody> {
        let now = Utc::now();
        let workers: Vec<WorkerRow> = self
            .client
            .store()
            .workers()
            .await?
            .into_iter()
            .map(|beat| WorkerRow {
                alive: beat.is_alive(now),
                beat,
            })
            .collect();
        Ok(WorkersBody {
            alive: workers.iter().filter(|w| w.alive).count(),
            workers,
        })
    }
}

impl Api {
    /// The workers that beat recently enough at `now` to count as alive.
    pub(crate) async fn live_workers(&self, now: chrono::DateTime<Utc>) -> Result<Vec<WorkerBeat>> {
        let mut beats = self.client.store().workers().await?;
        beats.retain(|w| w.is_alive(now));
        Ok(beats)
    }
}
