//! Samples the queue gauges: how many jobs are due in each queue and how
//! long the oldest has waited, read from the store's claim index every
//! [`QUEUE_SAMPLE_INTERVAL`]. A queue that has emptied is set to zero.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use errand_core::Result;
use errand_core::maintenance::{Report, Service};

use super::metrics::{QUEUE_SAMPLE_INTERVAL, queue_sampled};
use crate::worker::Shared;

/// The queue gauges of a worker, as a service.
pub(crate) struct QueueGauges {
    pub shared: Arc<Shared>,
    /// The queues given a value at the last sample.
    pub seen: Mutex<BTreeSet<String>>,
}

#[async_trait]
impl Service for QueueGauges {
    fn name(&self) -> &'static str {
        "queue-gauges"
    }

    fn interval(&self) -> Duration {
        QUEUE_SAMPLE_INTERVAL
    }

    async fn run_once(&self, now: DateTime<Utc>) -> Result<Report> {
        let depths = self.shared.store.queue_depths(now).await?;
        let now_seen: BTreeSet<String> = depths.iter().map(|d| d.queue.clone()).collect();
        for depth in &depths {
            queue_sampled(&depth.queue, depth.due, depth.oldest_due_at, now);
        }
        // Each update replaces the whole set: a poisoned one is sound.
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        for emptied in seen.difference(&now_seen) {
            queue_sampled(emptied, 0, None, now);
        }
        *seen = now_seen;
        Ok(Report::idle())
    }
}
