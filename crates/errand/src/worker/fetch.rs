//! The fetch lanes: claim due jobs while there is room and spawn them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::Utc;
use errand_core::store::{ClaimParams, FinalizeItem, KindClaim, QueueClaim};
use errand_core::{CancellationToken, JobRow};
use tokio::sync::Notify;
use tokio::sync::mpsc::UnboundedSender;

use super::executor::execute;
use super::{RunningJob, Shared};

/// Longest a busy worker waits for more free slots before it claims.
const GATHER: Duration = Duration::from_millis(2);

/// Jobs that run longer than this on average are never claimed ahead, however
/// slow claims get (a store under load must not make a worker hoard jobs).
const AHEAD_MAX_RUN_MICROS: u64 = 10_000;

/// Claims that may travel at once. The first lane claims whenever there is
/// room; the second only while the queues are busy, so that a claim is on
/// its way while the other's answer is read and its jobs start: one claim in
/// flight leaves the store idle for that time, and the worker's slots too.
pub(crate) const LANES: usize = 2;

/// How many jobs the worker may hold, counting those of claims in flight:
/// its concurrency, and while its queues are busy and its jobs end faster
/// than a claim takes, one claim's worth (at least its concurrency) per lane
/// on the way and one running or waiting for a slot. Claiming only the free
/// slots would leave them empty for most of each round trip. Jobs claimed
/// ahead wait in the process (their leases kept) for a slot, which short
/// jobs free within that round trip. Long jobs never get claimed ahead, so
/// they stay free for other workers to take.
pub(crate) fn capacity(shared: &Shared, busy: bool, claim_micros: u64) -> usize {
    let concurrency = shared.config.concurrency;
    let run_micros = shared.run_micros.load(Ordering::Relaxed);
    if busy && run_micros > 0 && run_micros < claim_micros.min(AHEAD_MAX_RUN_MICROS) {
        (LANES + 1) * concurrency.max(shared.config.claim_batch)
    } else {
        concurrency
    }
}

/// What the lanes share.
#[derive(Default)]
pub(crate) struct Lanes {
    in_flight: Mutex<InFlight>,
    /// Whether the last claim took all it asked for.
    busy: AtomicBool,
    /// Moving average of a claim's round trip, in microseconds.
    claim_micros: AtomicU64,
    /// Wakes the second lane when the queues become busy.
    busy_again: Notify,
    /// One per lane: a job ended (a permit is kept when the lane is not
    /// waiting, so no end goes unnoticed).
    freed: [Notify; LANES],
}

impl Lanes {
    fn in_flight(&self) -> MutexGuard<'_, InFlight> {
        // Every update is a whole add or remove: a poisoned lock's data is sound.
        self.in_flight
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Gives back the reserved room of lane `lane`'s claim. The other lane
    /// may be waiting for room that this claim held (and that no job end
    /// would announce when the claim brought nothing), so it hears of it;
    /// the claiming lane does not: it would take its own release for a
    /// freed slot and claim again at once, forever, while a limit holds
    /// every due job back.
    fn release(&self, reservation: &Reservation, lane: usize) {
        self.in_flight().remove(reservation);
        for (i, freed) in self.freed.iter().enumerate() {
            if i != lane {
                freed.notify_one();
            }
        }
    }

    /// A job ended: every lane may have room again.
    pub(crate) fn slot_freed(&self) {
        for freed in &self.freed {
            freed.notify_one();
        }
    }

    /// When the oldest claim now in flight was sent (its `now`), if any:
    /// jobs claimed since then may be held by the store for this worker
    /// before the worker knows of them.
    pub(crate) fn oldest_claim(&self) -> Option<chrono::DateTime<Utc>> {
        self.in_flight().claims.iter().min().copied()
    }

    /// Waits for a job to end (for the shutdown, once no lane runs).
    pub(crate) async fn job_ended(&self) {
        self.freed[0].notified().await;
    }
}

/// Room reserved by claims in flight: as many jobs as each asked for, and
/// per locally limited queue and kind as many as it could bring.
#[derive(Default)]
pub(crate) struct InFlight {
    jobs: usize,
    /// The `now` of each claim in flight.
    claims: Vec<chrono::DateTime<Utc>>,
    per_queue: HashMap<String, usize>,
    per_kind: HashMap<String, usize>,
}

/// The room one claim reserves.
struct Reservation {
    jobs: usize,
    claimed_at: chrono::DateTime<Utc>,
    queues: Vec<(String, usize)>,
    kinds: Vec<(String, usize)>,
}

impl Reservation {
    fn of(params: &ClaimParams) -> Self {
        let most = |cap: Option<u32>| cap.map(|c| c.min(params.limit) as usize);
        Reservation {
            jobs: params.limit as usize,
            claimed_at: params.now,
            queues: params
                .queues
                .iter()
                .filter_map(|q| most(q.cap).map(|n| (q.name.clone(), n)))
                .collect(),
            kinds: params
                .kinds
                .iter()
                .filter_map(|k| most(k.cap).map(|n| (k.kind.clone(), n)))
                .collect(),
        }
    }
}

impl InFlight {
    fn add(&mut self, r: &Reservation) {
        self.jobs += r.jobs;
        self.claims.push(r.claimed_at);
        for (queue, n) in &r.queues {
            *self.per_queue.entry(queue.clone()).or_default() += n;
        }
        for (kind, n) in &r.kinds {
            *self.per_kind.entry(kind.clone()).or_default() += n;
        }
    }

    fn remove(&mut self, r: &Reservation) {
        self.jobs = self.jobs.saturating_sub(r.jobs);
        if let Some(i) = self.claims.iter().position(|at| *at == r.claimed_at) {
            self.claims.swap_remove(i);
        }
        for (queue, n) in &r.queues {
            if let Some(held) = self.per_queue.get_mut(queue) {
                *held = held.saturating_sub(*n);
            }
        }
        for (kind, n) in &r.kinds {
            if let Some(held) = self.per_kind.get_mut(kind) {
                *held = held.saturating_sub(*n);
            }
        }
    }
}

fn room(limit: Option<&usize>, used: usize) -> Option<u32> {
    limit.map(|l| u32::try_from(l.saturating_sub(used)).unwrap_or(u32::MAX))
}

/// The claim of up to `limit` jobs, with the room left under every local
/// limit by the jobs held and the claims in flight.
pub(crate) fn claim_params(
    shared: &Shared,
    limit: usize,
    in_flight: &InFlight,
    now: chrono::DateTime<Utc>,
) -> ClaimParams {
    let config = &shared.config;
    let mut per_queue: HashMap<&str, usize> = in_flight
        .per_queue
        .iter()
        .map(|(q, n)| (q.as_str(), *n))
        .collect();
    let mut per_kind: HashMap<&str, usize> = in_flight
        .per_kind
        .iter()
        .map(|(k, n)| (k.as_str(), *n))
        .collect();
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
        now,
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
        let attempted = execute(&task_shared, job, token, None).await;
        task_shared.record_run(started.elapsed());
        // Whoever removes the entry owns the job's end: this task, or the
        // shutdown that released it first.
        if task_shared.finish(id, attempted, &finalize) {
            task_shared.lanes.slot_freed();
        }
    });
    if let Some(entry) = shared.running().get_mut(&id) {
        entry.abort = Some(task.abort_handle());
    }
}

/// Claims and spawns until `stop` fires, in [`LANES`] lanes.
pub(crate) async fn run(
    shared: Arc<Shared>,
    finalize: UnboundedSender<FinalizeItem>,
    stop: CancellationToken,
) {
    // A (re)started worker begins idle: one claim in flight until a claim
    // comes back full.
    shared.lanes.busy.store(false, Ordering::Relaxed);
    tokio::join!(
        lane(&shared, &finalize, &stop, 0),
        lane(&shared, &finalize, &stop, 1)
    );
}

/// Room left under `capacity` by the jobs held and the claims in flight.
fn free(shared: &Shared, capacity: usize, in_flight: &InFlight) -> usize {
    capacity.saturating_sub(shared.running().len() + in_flight.jobs)
}

async fn lane(
    shared: &Arc<Shared>,
    finalize: &UnboundedSender<FinalizeItem>,
    stop: &CancellationToken,
    index: usize,
) {
    let lanes = &shared.lanes;
    let freed = &lanes.freed[index];
    // Only the first lane waits for new jobs; the second follows it.
    let mut wakeup = (index == 0).then(|| shared.store.subscribe());
    let mut error_pause = Duration::from_millis(100);
    let config = &shared.config;
    let limited = !config.queue_limits.is_empty()
        || !config.kind_limits.is_empty()
        || !config.global_limits.is_empty();
    loop {
        if stop.is_cancelled() {
            break;
        }
        let busy = lanes.busy.load(Ordering::Relaxed);
        if index > 0 && !busy {
            tokio::select! {
                _ = lanes.busy_again.notified() => continue,
                _ = stop.cancelled() => break,
            }
        }
        let capacity = capacity(shared, busy, lanes.claim_micros.load(Ordering::Relaxed));
        let mut room = free(shared, capacity, &lanes.in_flight());
        if room == 0 {
            tokio::select! {
                _ = freed.notified() => continue,
                _ = stop.cancelled() => break,
            }
        }
        // A busy worker gathers freed slots for a moment so that it claims in
        // batches rather than one job per round trip; an idle one claims at once.
        let wanted = config.claim_batch.min(capacity).max(1);
        if busy && room < wanted && room < capacity {
            let deadline = tokio::time::Instant::now() + GATHER;
            while room < wanted {
                tokio::select! {
                    _ = freed.notified() => {}
                    _ = tokio::time::sleep_until(deadline) => break,
                    _ = stop.cancelled() => return,
                }
                room = free(shared, capacity, &lanes.in_flight());
            }
        }
        // The room is reserved under the lock, so that two lanes never
        // count the same room.
        let (params, reservation) = {
            let mut in_flight = lanes.in_flight();
            let room = free(shared, capacity, &in_flight);
            if room == 0 {
                continue;
            }
            let params = claim_params(shared, room.min(config.claim_batch), &in_flight, Utc::now());
            let reservation = Reservation::of(&params);
            in_flight.add(&reservation);
            (params, reservation)
        };
        let requested = params.limit as usize;
        let started = std::time::Instant::now();
        let claimed = shared.store.claim(params).await;
        match claimed {
            Ok(jobs) => {
                let took = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
                let _ =
                    lanes
                        .claim_micros
                        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
                            Some(super::moving_average(old, took))
                        });
                error_pause = Duration::from_millis(100);
                let claimed = jobs.len();
                // Spawned before the reservation goes, so their room is
                // counted all along.
                for job in jobs {
                    spawn_job(shared, job, finalize);
                }
                lanes.release(&reservation, index);
                let full = claimed == requested;
                if full && !lanes.busy.swap(true, Ordering::Relaxed) {
                    lanes.busy_again.notify_one();
                }
                if full {
                    // There may be more: claim again as soon as there is room.
                    continue;
                }
                lanes.busy.store(false, Ordering::Relaxed);
            }
            Err(e) => {
                // The claim may have reached the store and its answer been
                // lost: the store then holds jobs for this worker that it
                // does not know of (see Shared::store_trouble).
                shared.trouble();
                lanes.release(&reservation, index);
                lanes.busy.store(false, Ordering::Relaxed);
                tracing::warn!(error = %e, retry_in = ?error_pause, "errand could not claim jobs");
                tokio::select! {
                    _ = tokio::time::sleep(error_pause) => {}
                    _ = stop.cancelled() => break,
                }
                error_pause = (error_pause * 2).min(super::MAX_ERROR_PAUSE);
                continue;
            }
        }
        let Some(wakeup) = wakeup.as_mut() else {
            // The second lane waits until the queues are busy again.
            continue;
        };
        // Nothing more is due now: wait for a wake-up signal, the poll
        // interval or, when a limit may have held jobs back, a freed slot.
        // Without limits a short claim means nothing else was due, and a job
        // that ends frees nothing new: claiming again would only send an
        // empty claim after every job, which the next job's claim then waits
        // behind.
        tokio::select! {
            _ = wakeup.changed() => {}
            _ = freed.notified(), if limited => {}
            _ = tokio::time::sleep(config.poll_interval) => {}
            _ = stop.cancelled() => break,
        }
    }
}
