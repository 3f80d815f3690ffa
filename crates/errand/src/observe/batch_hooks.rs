//! Delivers the batch-finished hooks: a service that takes the batches the
//! store marked finished (whatever ended them: a worker, a rescue, a cancel
//! from anywhere) and runs this worker's hooks on each. The store hands each
//! finished batch to one taker, so among all workers with such a hook, one
//! runs it, once. A batch taken by a process that dies before its hooks ran
//! is not delivered again (at most once).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use errand_core::Result;
use errand_core::maintenance::{Report, Service};
use errand_core::store::MAX_BATCH_PAGE;
use futures::future::join_all;

use crate::worker::Shared;

/// How often finished batches are taken.
pub(crate) const BATCH_HOOKS_INTERVAL: Duration = Duration::from_millis(500);

/// Most batches taken per store call.
const TAKE: u32 = 100;
const _: () = assert!(TAKE <= MAX_BATCH_PAGE, "a take asks for at most a page");

/// The batch-finished hooks of a worker, as a service (only a worker with
/// such a hook runs it: one without takes nothing).
pub(crate) struct BatchHooks {
    pub shared: Arc<Shared>,
}

#[async_trait]
impl Service for BatchHooks {
    fn name(&self) -> &'static str {
        "batch-hooks"
    }

    fn interval(&self) -> Duration {
        BATCH_HOOKS_INTERVAL
    }

    /// Takes finished batches until none is left and runs the hooks on each,
    /// returning once they have: a worker takes no more batch ends than its
    /// hooks get through.
    async fn run_once(&self, _now: DateTime<Utc>) -> Result<Report> {
        let hooks = &self.shared.hooks.batch_finished;
        let mut delivered = 0u64;
        loop {
            let taken = self.shared.store.take_finished_batches(TAKE).await?;
            let runs = taken.iter().flat_map(|batch| {
                let subject = format!("batch {}", batch.id);
                hooks.iter().map(move |hook| {
                    crate::observe::spawn_hook(
                        "batch_finished",
                        hook,
                        batch.clone(),
                        subject.clone(),
                    )
                })
            });
            join_all(runs.collect::<Vec<_>>()).await;
            delivered += taken.len() as u64;
            if taken.len() < TAKE as usize {
                break;
            }
        }
        Ok(if delivered > 0 {
            Report::did(delivered, "batch-finished hooks ran".to_owned())
        } else {
            Report::idle()
        })
    }
}
