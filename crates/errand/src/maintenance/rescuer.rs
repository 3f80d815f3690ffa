//! Returns jobs whose lease expired (their worker died or hung) to their
//! queues, each having used its attempt.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use errand_core::Result;
use errand_core::maintenance::{Report, Service};
use errand_core::store::RescueParams;

use crate::worker::Shared;

/// The lease rescuer of a worker (every worker runs one: any live worker
/// brings a dead one's jobs back).
pub(crate) struct Rescuer {
    pub shared: Arc<Shared>,
}

#[async_trait]
impl Service for Rescuer {
    fn name(&self) -> &'static str {
        "rescuer"
    }

    fn interval(&self) -> Duration {
        self.shared.config.rescue_interval
    }

    async fn run_once(&self, now: DateTime<Utc>) -> Result<Report> {
        let rescued = self
            .shared
            .store
            .rescue(RescueParams { now })
            .await
            .inspect_err(|_| self.shared.trouble())?;
        Ok(if rescued.is_empty() {
            Report::idle()
        } else {
            Report::did(
                rescued.len() as u64,
                format!("rescued jobs whose worker stopped renewing their lease: {rescued:?}"),
            )
        })
    }
}
