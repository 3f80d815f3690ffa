//! The home of maintenance: every [`Service`] of a worker (its own, such as
//! the lease rescuer, the pause watch, the cron scheduler and the pruner,
//! and its store's) runs on its interval from the worker's
//! start to its shutdown; [`Worker::maintain`](crate::Worker::maintain) runs
//! each once at a chosen time.

mod heartbeat;
mod pause_watch;
mod pruner;
mod rescuer;
mod scheduler;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use errand_core::CancellationToken;
pub use errand_core::maintenance::{Report, Service};
use tokio::task::JoinHandle;

pub(crate) use heartbeat::Heartbeat;
pub(crate) use pause_watch::PauseWatch;
pub use pruner::Retention;
pub(crate) use pruner::{Pruner, prune_batch_chunks, prune_chunks};
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
                if service.aligned() {
                    run_aligned(service.as_ref(), &stop).await;
                    return;
                }
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

/// Runs `service` at every whole multiple of its interval since the Unix
/// epoch (a run that overruns one skips to the next) until `stop` fires.
async fn run_aligned(service: &dyn Service, stop: &CancellationToken) {
    loop {
        let wait = until_next_multiple(Utc::now(), service.interval());
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.cancelled() => break,
        }
        run(service, Utc::now()).await;
    }
}

/// How long from `now` to the next whole multiple of `interval` (at least
/// a millisecond, so that a run at a boundary waits for the next one).
fn until_next_multiple(now: DateTime<Utc>, interval: std::time::Duration) -> std::time::Duration {
    let period = interval.as_micros().max(1);
    let now = u128::try_from(now.timestamp_micros()).unwrap_or(0);
    let wait = period - now % period;
    std::time::Duration::from_micros(u64::try_from(wait).unwrap_or(u64::MAX))
        .max(std::time::Duration::from_millis(1))
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use std::time::Duration;

    #[test]
    fn aligned_runs_wait_for_the_next_whole_interval() {
        let at = |micros: i64| DateTime::from_timestamp_micros(micros).unwrap();
        let second = Duration::from_secs(1);
        assert_eq!(
            until_next_multiple(at(10_250_000), second),
            Duration::from_millis(750)
        );
        assert_eq!(until_next_multiple(at(10_000_000), second), second);
        assert_eq!(
            until_next_multiple(at(10_999_999), second),
            Duration::from_millis(1),
            "at least a millisecond"
        );
        assert_eq!(
            until_next_multiple(at(59_000_000), Duration::from_secs(60)),
            second
        );
    }
}
