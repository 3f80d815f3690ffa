//! Background duties: renew the leases of running jobs (and notice cancel
//! requests), and return jobs whose worker died.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use errand_core::{CancellationToken, JobId, RenewParams, RescueParams};

use super::Shared;
use super::executor::later;

/// Renews leases every third of the lease (and at least every second, so a
/// cancel request reaches a running job within about a second).
pub(crate) async fn keep_leases(shared: Arc<Shared>, stop: CancellationToken) {
    let period = (shared.config.lease / 3).min(Duration::from_secs(1));
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.cancelled() => break,
        }
        let jobs: Vec<(JobId, u32)> = shared
            .running()
            .iter()
            .map(|(id, job)| (*id, job.attempt))
            .collect();
        if jobs.is_empty() {
            continue;
        }
        let params = RenewParams {
            worker: shared.config.name.clone(),
            jobs,
            lease_until: later(Utc::now(), shared.config.lease),
        };
        match shared.store.renew_leases(params).await {
            Ok(statuses) => {
                let mut running = shared.running();
                for status in statuses {
                    let Some(job) = running.get_mut(&status.id) else {
                        continue;
                    };
                    if !status.held {
                        tracing::warn!(job = %status.id, "lease lost: stopping the attempt, its result will be dropped");
                        job.token.cancel();
                    } else if status.cancel_requested && !job.cancel_requested {
                        tracing::info!(job = %status.id, "cancel requested: signalling the job");
                        job.cancel_requested = true;
                        job.token.cancel();
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "errand could not renew leases"),
        }
    }
}

/// Returns jobs with expired leases to their queues.
pub(crate) async fn rescue(shared: Arc<Shared>, stop: CancellationToken) {
    let mut ticker = tokio::time::interval(shared.config.rescue_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.cancelled() => break,
        }
        match shared.store.rescue(RescueParams { now: Utc::now() }).await {
            Ok(ids) if !ids.is_empty() => {
                tracing::warn!(jobs = ?ids, "rescued jobs whose worker stopped renewing their lease");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "errand could not rescue expired leases"),
        }
    }
}
