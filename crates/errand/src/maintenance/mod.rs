//! The home of maintenance: every [`Service`] of a worker (its own, such as
//! the lease rescuer and the cron scheduler, and its store's) runs on its interval from the worker's
//! start to its shutdown; [`Worker::maintain`](crate::Worker::maintain) runs
//! each once at a chosen time.

mod rescuer;
mod scheduler;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use errand_core::CancellationToken;
pub use errand_core::maintenance::{Report, Service};
use tokio::task::JoinHandle;

pub(crate) use rescuer::Rescuer;
pub(crate) use scheduler::Scheduler;

/// Runs each service on its interval until `stop` fires; a failed run is
/// logged and the service goes on.
pub(crate) fn start(
    services: Vec<Arc<dyn Service>>,
    stop: &CancellationToken,
) -> Vec<JoinHandle<()>> {
    services
        .into_iter()
        .map(|service| {
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut ticker = tokio::time::interval(service.interval());
                ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        _ = ticker.tick() => {}
                        _ = stop.cancelled() => break,
                    }
                    run(service.as_ref(), Utc::now()).await;
                }
            })
        })
        .collect()
}

/// Runs `service` once at `now`, logging what it did or why it failed.
pub(crate) async fn run(service: &dyn Service, now: DateTime<Utc>) -> Option<Report> {
    match service.run_once(now).await {
        Ok(report) => {
            if let Some(detail) = &report.detail {
                tracing::info!(service = service.name(), count = report.count, "{detail}");
            }
            Some(report)
        }
        Err(e) => {
            tracing::warn!(service = service.name(), error = %e, "errand maintenance service failed; it runs again at its next interval");
            None
        }
    }
}
