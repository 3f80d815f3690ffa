//! Renews the leases of running jobs (and notices cancel requests); after a
//! store failure, tells the store which jobs this worker holds. (Returning
//! the jobs of dead workers is a maintenance service: `maintenance::Rescuer`.)

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use std::sync::atomic::Ordering;

use errand_core::store::{RenewParams, RescueUnheldParams};
use errand_core::{CancellationToken, JobId};

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
        if shared.store_trouble.load(Ordering::Relaxed) {
            rescue_unheld(&shared).await;
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
            Err(e) => {
                shared.trouble();
                tracing::warn!(error = %e, "errand could not renew leases");
            }
        }
    }
}

/// After a failed store call: tells the store which jobs this worker holds
/// (running, or with an end still to write) among those it claimed before
/// its oldest claim in flight, so that the store rescues the others at once
/// instead of after their lease. Read in this order: claims in flight, then
/// `running`, then `finishing` (a claim's jobs enter `running` before the
/// claim leaves the flight; an end enters `finishing` before it leaves
/// `running`), so no job held is missed.
async fn rescue_unheld(shared: &Shared) {
    shared.store_trouble.store(false, Ordering::Relaxed);
    let now = Utc::now();
    let claimed_before = shared.lanes.oldest_claim().unwrap_or(now).min(now);
    let mut held: Vec<JobId> = shared.running().keys().copied().collect();
    held.extend(shared.finishing().keys().copied());
    let params = RescueUnheldParams {
        worker: shared.config.name.clone(),
        held,
        claimed_before,
        now,
    };
    match shared.store.rescue_unheld(params).await {
        Ok(ids) if !ids.is_empty() => tracing::warn!(
            jobs = ?ids,
            "the store held these jobs as running under this worker, which does not run them (a claim's answer or a result was lost): rescued them, each counting its attempt"
        ),
        Ok(_) => {}
        Err(e) => {
            shared.trouble();
            tracing::warn!(error = %e, "errand could not tell the store which jobs it holds");
        }
    }
}
