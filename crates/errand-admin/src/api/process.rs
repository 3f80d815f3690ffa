//! "Process now" and "drain": for deployments that run jobs from an HTTP
//! call (a serverless function, a cron hitting a URL).

use errand::{DrainSummary, Error, Result};
use serde::{Deserialize, Serialize};

use super::Api;

/// What "process now" did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessNow {
    /// Workers of this process woken to claim at once.
    pub woken: usize,
}

/// What a drain did: attempts by how they ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drained {
    /// Attempts that completed.
    pub completed: u64,
    /// Attempts that failed and will be retried.
    pub retried: u64,
    /// Attempts that failed for good.
    pub failed: u64,
    /// Attempts that ended cancelled.
    pub cancelled: u64,
    /// Attempts that snoozed.
    pub snoozed: u64,
    /// Results dropped because the job had been handed to another attempt.
    pub stale: u64,
}

impl From<DrainSummary> for Drained {
    fn from(s: DrainSummary) -> Self {
        Drained {
            completed: s.completed,
            retried: s.retried,
            failed: s.failed,
            cancelled: s.cancelled,
            snoozed: s.snoozed,
            stale: s.stale,
        }
    }
}

impl Api {
    fn no_worker(&self) -> Error {
        Error::conflict("no worker runs in this process: give the admin API one with Api::worker")
    }

    /// Wakes this process's workers: they claim what is due now instead of
    /// at their next poll.
    pub fn process_now(&self) -> Result<ProcessNow> {
        if self.workers.is_empty() {
            return Err(self.no_worker());
        }
        for worker in &self.workers {
            worker.wake();
        }
        Ok(ProcessNow {
            woken: self.workers.len(),
        })
    }

    /// Processes every job that is due, in this call, through this
    /// process's first worker, and says how the attempts ended.
    pub async fn drain(&self) -> Result<Drained> {
        let worker = self.workers.first().ok_or_else(|| self.no_worker())?;
        Ok(worker.drain().await?.into())
    }
}
