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

impl Api {
    fn no_worker(&self) -> Error {
        Error::conflict("no worker runs in this process: give the admin API one with Api::worker")
    }

    /// Wakes this process's workers: they claim what is due now instead of
    /// at their next poll.
    pub async fn process_now(&self) -> Result<ProcessNow> {
        if self.workers.is_empty() {
            return Err(self.no_worker());
        }
        for worker in &self.workers {
            worker.wake();
        }
        self.audit("process_now", None, None, self.workers.len() as u64)
            .await?;
        Ok(ProcessNow {
            woken: self.workers.len(),
        })
    }

    /// Processes every job that is due, in this call, through this
    /// process's first worker, and says how the attempts ended.
    pub async fn drain(&self) -> Result<DrainSummary> {
        let worker = self.workers.first().ok_or_else(|| self.no_worker())?;
        let summary = worker.drain().await?;
        let attempts = summary.completed
            + summary.retried
            + summary.failed
            + summary.cancelled
            + summary.snoozed;
        self.audit("drain", None, None, attempts).await?;
        Ok(summary)
    }
}
