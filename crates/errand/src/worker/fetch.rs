//! The fetch loop: claims due jobs while there are free slots and spawns them.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::Utc;
use errand_core::{CancellationToken, ClaimParams, FinalizeItem, JobRow, KindClaim, QueueClaim};
use tokio::sync::mpsc::UnboundedSender;

use super::executor::{Attempted, execute};
use super::{RunningJob, Shared};

/// Longest a busy worker waits for more free slots before it claims.
const GATHER: Duration = Duration::from_millis(2);

/// Jobs that run longer than this on average are never claimed ahead, however
/// slow claims get (a store under load must not make a worker hoard jobs).
const AHEAD_MAX_RUN_MICROS: u64 = 10_000;

/// How many jobs the worker may hold: its concurrency, and while its queues
/// are busy and its jobs end faster than a claim takes, two claims' worth
/// (at least twice its concurrency): one batch running or waiting for a
/// slot while the next travels. Claiming only the free slots would leave
/// them empty for most of each round trip; holding one batch only, the
/// slots would empty while the next claim travels. Jobs claimed ahead wait
/// in the process (their leases kept) for a slot, which short jobs free
/// within that round trip. Long jobs never get claimed ahead, so they stay
/// free for other workers to take.
pub(crate) fn capacity(shared: &Shared, busy: bool, claim_micros: u64) -> usize {
    let concurrency = shared.config.concurrency;
    let run_micros = shared.run_micros.load(Ordering::Relaxed);
    if busy && run_micros > 0 && run_micros < claim_micros.min(AHEAD_MAX_RUN_MICROS) {
        2 * concurrency.max(shared.config.claim_batch)
    } else {
        concurrency
    }
}

fn room(limit: Option<&usize>, used: usize) -> Option<u32> {
    limit.map(|l| u32::try_from(l.saturating_sub(used)).unwrap_or(u32::MAX))
}

/// The claim of up to `limit` jobs, with the room left under every local limit.
pub(crate) fn claim_params(shared: &Shared, limit: usize) -> ClaimParams {
    let config = &shared.config;
    let mut per_queue: HashMap<&str, usize> = HashMap::new();
    let mut per_kind: HashMap<&str, usize> = HashMap::new();
    let running = shared.running();
    for job in running.values() {
        *per_queue.entry(job.queue.as_str()).or_default() += 1;
        *per_kind.entry(job.kind.as_str()).or_default() += 1;
    }
    let queues = config
        .queues
        .iter()
        .map(|q| QueueClaim {
            name: q.clone(),
            cap: room(
                config.queue_limits.get(q),
                per_queue.get(q.as_str()).copied().unwrap_or(0),
            ),
        })
        .collect();
    let kinds = shared
        .registry
        .keys()
        .map(|k| KindClaim {
            kind: k.clone(),
            cap: room(
                config.kind_limits.get(k),
                per_kind.get(k.as_str()).copied().unwrap_or(0),
            ),
            global_limit: config.global_limits.get(k).copied(),
        })
        .collect();
    ClaimParams {
        worker: config.name.clone(),
        queues,
        kinds,
        limit: u32::try_from(limit).unwrap_or(u32::MAX),
        lease: config.lease,
        now: Utc::now(),
    }
}

fn spawn_job(shared: &Arc<Shared>, job: JobRow, finalize: &UnboundedSender<FinalizeItem>) {
    let id = job.id;
    let token = CancellationToken::new();
    shared.running().insert(
        id,
        RunningJob {
            attempt: job.attempt,
            kind: job.kind.clone(),
            queue: job.queue.clone(),
            token: token.clone(),
            cancel_requested: false,
            abort: None,
        },
    );
    let task_shared = Arc::clone(shared);
    let finalize = finalize.clone();
    let task = tokio::spawn(async move {
        // The semaphore is never closed, so this waits only for a free slot.
        let _slot = task_shared.slots.acquire().await;
        let started = std::time::Instant::now();
        let attempted = execute(&task_shared, job, token).await;
        task_shared.record_run(started.elapsed());
        // Whoever removes the entry owns the job's end: this task, or the
        // shutdown that released it first.
        if task_shared.running().remove(&id).is_some() {
            if let Attempted::Finalize(item) = attempted
                && finalize.send(item).is_err()
            {
                tracing::error!(job = %id, "errand completer is gone; the job returns when its lease expires");
            }
            task_shared.slot_freed.notify_one();
        }
    });
    if let Some(entry) = shared.running().get_mut(&id) {
        entry.abort = Some(task.abort_handle());
    }
}

/// Claims and spawns until `stop` fires.
pub(crate) async fn run(
    shared: Arc<Shared>,
    finalize: UnboundedSender<FinalizeItem>,
    stop: CancellationToken,
) {
    let mut wakeup = shared.store.subscribe();
    let mut error_pause = Duration::from_millis(100);
    let config = &shared.config;
    // Whether the last claim took all it asked for, and how long claims take.
    let mut busy = false;
    let mut claim_micros = 0u64;
    loop {
        if stop.is_cancelled() {
            break;
        }
        let capacity = capacity(&shared, busy, claim_micros);
        let mut free = capacity.saturating_sub(shared.running().len());
        if free == 0 {
            tokio::select! {
                _ = shared.slot_freed.notified() => continue,
                _ = stop.cancelled() => break,
            }
        }
        // A busy worker gathers freed slots for a moment so that it claims in
        // batches rather than one job per round trip; an idle one claims at once.
        let wanted = config.claim_batch.min(capacity).max(1);
        if free < wanted && free < capacity {
            let deadline = tokio::time::Instant::now() + GATHER;
            while free < wanted {
                tokio::select! {
                    _ = shared.slot_freed.notified() => {}
                    _ = tokio::time::sleep_until(deadline) => break,
                    _ = stop.cancelled() => return,
                }
                free = capacity.saturating_sub(shared.running().len());
            }
        }
        let params = claim_params(&shared, free.min(config.claim_batch));
        let requested = params.limit as usize;
        let started = std::time::Instant::now();
        match shared.store.claim(params).await {
            Ok(jobs) => {
                let took = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
                claim_micros = super::moving_average(claim_micros, took);
                error_pause = Duration::from_millis(100);
                let claimed = jobs.len();
                for job in jobs {
                    spawn_job(&shared, job, &finalize);
                }
                busy = claimed == requested;
                if busy {
                    // There may be more: claim again as soon as there is room.
                    continue;
                }
            }
            Err(e) => {
                busy = false;
                tracing::warn!(error = %e, retry_in = ?error_pause, "errand could not claim jobs");
                tokio::select! {
                    _ = tokio::time::sleep(error_pause) => {}
                    _ = stop.cancelled() => break,
                }
                error_pause = (error_pause * 2).min(Duration::from_secs(5));
                continue;
            }
        }
        // Nothing more is due now: wait for a wake-up signal, a freed slot
        // (a capped kind may have room again) or the poll interval.
        tokio::select! {
            _ = wakeup.changed() => {}
            _ = shared.slot_freed.notified() => {}
            _ = tokio::time::sleep(config.poll_interval) => {}
            _ = stop.cancelled() => break,
        }
    }
}
