//! The fetch lanes: claim due jobs while there is room and spawn them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::Utc;
use errand_core::store::{ClaimParams, FairTurn, FinalizeItem, KindClaim, PauseSet, QueueClaim};
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
    Hold {
        concurrency: shared.config.concurrency,
        claim_batch: shared.config.claim_batch,
        run_micros: shared.run_micros.load(Ordering::Relaxed),
        claim_micros,
    }
    .capacity(busy)
}

/// What decides how many jobs a worker holds: its settings and the moving
/// averages of a job's run and a claim's round trip.
#[derive(Debug, Clone, Copy)]
struct Hold {
    concurrency: usize,
    claim_batch: usize,
    run_micros: u64,
    claim_micros: u64,
}

impl Hold {
    /// See [`capacity`].
    fn capacity(self, busy: bool) -> usize {
        let short =
            self.run_micros > 0 && self.run_micros < self.claim_micros.min(AHEAD_MAX_RUN_MICROS);
        if busy && short {
            (LANES + 1) * self.concurrency.max(self.claim_batch)
        } else {
            self.concurrency
        }
    }
}

/// How many jobs one claim asks for at most: a batch, never more than the
/// worker may hold, and at least one.
fn wanted(claim_batch: usize, capacity: usize) -> usize {
    claim_batch.min(capacity).max(1)
}

/// Whether a lane with `room` free should wait a moment for more: only a
/// busy worker, and only while a claim of `room` would be smaller than the
/// batch it wants and than all it may hold (a worker of concurrency 1 never
/// waits).
fn should_gather(busy: bool, room: usize, wanted: usize, capacity: usize) -> bool {
    busy && room < wanted && room < capacity
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

/// Room left under a local limit (none without one) by `used` jobs.
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
    let pauses = shared.pauses.borrow();
    // Until the pauses are read, nothing is claimed: a starting worker must
    // not take a job of a paused queue.
    let held = |queue: &str| pauses.as_ref().is_none_or(|set| set.holds_queue(queue));
    // Every update is a single insert: a poisoned map is sound. Without
    // fair queues the claim needs no turn, and takes no lock.
    let fair_turns = (!config.fair_queues.is_empty()).then(|| {
        shared
            .fair_turns
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    });
    let queues = config
        .queues
        .iter()
        .filter(|q| !held(q))
        .map(|q| QueueClaim {
            name: q.clone(),
            cap: room(
                config.queue_limits.get(q),
                per_queue.get(q.as_str()).copied().unwrap_or(0),
            ),
            fair: config.fair_queues.contains(q).then(|| FairTurn {
                after: fair_turns
                    .as_ref()
                    .and_then(|turns| turns.get(q).cloned().flatten()),
            }),
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
        paused_tenants: pauses
            .as_ref()
            .map(|set| set.tenants.iter().cloned().collect())
            .unwrap_or_default(),
        tenant_limits: config.tenant_limits.clone(),
        lease: config.lease,
        now,
    }
}

/// Whether the pauses (or not having read them yet) hold back every queue
/// of the worker.
fn all_held(shared: &Shared, pauses: Option<&PauseSet>) -> bool {
    pauses.is_none_or(|set| shared.config.queues.iter().all(|q| set.holds_queue(q)))
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
    room_left(capacity, shared.running().len(), in_flight.jobs)
}

/// Room left under `capacity` by `held` jobs and `claiming` ones on the way.
fn room_left(capacity: usize, held: usize, claiming: usize) -> usize {
    capacity.saturating_sub(held.saturating_add(claiming))
}

/// What a lane does next after a step.
enum Next {
    /// Go on with the following step.
    Go(usize),
    /// Start the round again (something changed while waiting).
    Again,
    /// The worker stops.
    Stop,
}

/// How a claim ended.
enum Claimed {
    /// It brought all it asked for: there may be more.
    Full,
    /// It brought less: nothing more is due now.
    Short,
    /// The store failed; the lane has paused.
    Failed,
    /// The worker stops.
    Stop,
}

/// One fetch lane: each round waits for room, gathers freed slots, reserves
/// room, claims, and waits while nothing is due.
struct Lane<'a> {
    shared: &'a Arc<Shared>,
    finalize: &'a UnboundedSender<FinalizeItem>,
    stop: &'a CancellationToken,
    index: usize,
    /// Only the first lane waits for new jobs; the second follows it.
    wakeup: Option<errand_core::store::Wakeup>,
    error_pause: Duration,
    /// Whether a local or global limit may hold due jobs back.
    limited: bool,
    /// The pauses in force, as the pause watch last read them.
    pauses: tokio::sync::watch::Receiver<Option<PauseSet>>,
}

async fn lane(
    shared: &Arc<Shared>,
    finalize: &UnboundedSender<FinalizeItem>,
    stop: &CancellationToken,
    index: usize,
) {
    let config = &shared.config;
    let mut lane = Lane {
        shared,
        finalize,
        stop,
        index,
        wakeup: (index == 0).then(|| shared.store.subscribe()),
        error_pause: Duration::from_millis(100),
        limited: !config.queue_limits.is_empty()
            || !config.kind_limits.is_empty()
            || config.limits_cluster(),
        pauses: shared.pauses.subscribe(),
    };
    lane.run().await;
}

impl Lane<'_> {
    async fn run(&mut self) {
        while !self.stop.is_cancelled() {
            if all_held(self.shared, self.pauses.borrow_and_update().as_ref()) {
                // Running jobs go on; nothing new is claimed until a resume.
                tokio::select! {
                    _ = self.pauses.changed() => continue,
                    _ = self.stop.cancelled() => break,
                }
            }
            let lanes = &self.shared.lanes;
            let busy = lanes.busy.load(Ordering::Relaxed);
            let capacity = capacity(
                self.shared,
                busy,
                lanes.claim_micros.load(Ordering::Relaxed),
            );
            let room = match self.wait_for_room(busy, capacity).await {
                Next::Go(room) => room,
                Next::Again => continue,
                Next::Stop => break,
            };
            if let Next::Stop = self.gather(busy, room, capacity).await {
                break;
            }
            let Some((params, reservation)) = self.reserve(capacity) else {
                continue;
            };
            match self.claim(params, &reservation).await {
                Claimed::Full | Claimed::Failed => continue,
                Claimed::Short => {}
                Claimed::Stop => break,
            }
            if let Next::Stop = self.idle_wait().await {
                break;
            }
        }
    }

    /// Waits until the lane may claim: the second lane only while the
    /// queues are busy, and either only when the worker has room.
    async fn wait_for_room(&self, busy: bool, capacity: usize) -> Next {
        let lanes = &self.shared.lanes;
        if self.index > 0 && !busy {
            return tokio::select! {
                _ = lanes.busy_again.notified() => Next::Again,
                _ = self.stop.cancelled() => Next::Stop,
            };
        }
        let room = free(self.shared, capacity, &lanes.in_flight());
        if room > 0 {
            return Next::Go(room);
        }
        tokio::select! {
            _ = lanes.freed[self.index].notified() => Next::Again,
            _ = self.stop.cancelled() => Next::Stop,
        }
    }

    /// A busy worker gathers freed slots for a moment so that it claims in
    /// batches rather than one job per round trip; an idle one claims at once.
    async fn gather(&self, busy: bool, mut room: usize, capacity: usize) -> Next {
        let lanes = &self.shared.lanes;
        let wanted = wanted(self.shared.config.claim_batch, capacity);
        if !should_gather(busy, room, wanted, capacity) {
            return Next::Go(room);
        }
        let deadline = tokio::time::Instant::now() + GATHER;
        while room < wanted {
            tokio::select! {
                _ = lanes.freed[self.index].notified() => {}
                _ = tokio::time::sleep_until(deadline) => break,
                _ = self.stop.cancelled() => return Next::Stop,
            }
            room = free(self.shared, capacity, &lanes.in_flight());
        }
        Next::Go(room)
    }

    /// Reserves the room of one claim under the lock, so that two lanes
    /// never count the same room; `None` when the other lane took it.
    fn reserve(&self, capacity: usize) -> Option<(ClaimParams, Reservation)> {
        let mut in_flight = self.shared.lanes.in_flight();
        let room = free(self.shared, capacity, &in_flight);
        if room == 0 {
            return None;
        }
        let limit = room.min(self.shared.config.claim_batch);
        let params = claim_params(self.shared, limit, &in_flight, Utc::now());
        let reservation = Reservation::of(&params);
        in_flight.add(&reservation);
        Some((params, reservation))
    }

    /// Claims, spawns what came and gives the reservation back.
    async fn claim(&mut self, params: ClaimParams, reservation: &Reservation) -> Claimed {
        let shared = self.shared;
        let lanes = &shared.lanes;
        let requested = params.limit as usize;
        let started = std::time::Instant::now();
        match shared.store.claim(params).await {
            Ok(jobs) => {
                let took = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
                let _ =
                    lanes
                        .claim_micros
                        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
                            Some(super::moving_average(old, took))
                        });
                self.error_pause = Duration::from_millis(100);
                let claimed = jobs.len();
                shared.claimed(&jobs);
                // Spawned before the reservation goes, so their room is
                // counted all along.
                for job in jobs {
                    spawn_job(shared, job, self.finalize);
                }
                lanes.release(reservation, self.index);
                if claimed == requested {
                    if !lanes.busy.swap(true, Ordering::Relaxed) {
                        lanes.busy_again.notify_one();
                    }
                    Claimed::Full
                } else {
                    lanes.busy.store(false, Ordering::Relaxed);
                    Claimed::Short
                }
            }
            Err(e) => {
                // The claim may have reached the store and its answer been
                // lost: the store then holds jobs for this worker that it
                // does not know of (see Shared::store_trouble).
                shared.trouble();
                lanes.release(reservation, self.index);
                lanes.busy.store(false, Ordering::Relaxed);
                tracing::warn!(error = %e, retry_in = ?self.error_pause, "errand could not claim jobs");
                let pause = self.error_pause;
                self.error_pause = (self.error_pause * 2).min(super::MAX_ERROR_PAUSE);
                tokio::select! {
                    _ = tokio::time::sleep(pause) => Claimed::Failed,
                    _ = self.stop.cancelled() => Claimed::Stop,
                }
            }
        }
    }

    /// Nothing more is due now: wait for a wake-up signal, the poll interval
    /// or, when a limit may have held jobs back, a freed slot. Without limits
    /// a short claim means nothing else was due, and a job that ends frees
    /// nothing new: claiming again would only send an empty claim after every
    /// job, which the next job's claim then waits behind. The second lane
    /// goes straight back to waiting until the queues are busy again.
    async fn idle_wait(&mut self) -> Next {
        let Some(wakeup) = self.wakeup.as_mut() else {
            return Next::Again;
        };
        let freed = &self.shared.lanes.freed[self.index];
        tokio::select! {
            _ = wakeup.changed() => Next::Again,
            _ = self.shared.nudge.notified() => Next::Again,
            _ = freed.notified(), if self.limited => Next::Again,
            // A resume makes held jobs claimable.
            _ = self.pauses.changed() => Next::Again,
            _ = tokio::time::sleep(self.shared.config.poll_interval) => Next::Again,
            _ = self.stop.cancelled() => Next::Stop,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hold(run_micros: u64, claim_micros: u64) -> Hold {
        Hold {
            concurrency: 8,
            claim_batch: 32,
            run_micros,
            claim_micros,
        }
    }

    #[test]
    fn capacity_claims_ahead_only_for_a_busy_worker_of_short_jobs() {
        // Jobs shorter than a claim: a batch per lane on the way, plus one.
        assert_eq!(hold(200, 1_000).capacity(true), (LANES + 1) * 32);
        // Idle, or no run measured yet, or jobs as long as a claim: the concurrency.
        assert_eq!(hold(200, 1_000).capacity(false), 8);
        assert_eq!(hold(0, 1_000).capacity(true), 8);
        assert_eq!(hold(1_000, 1_000).capacity(true), 8);
        // However slow claims get, jobs of 10 ms or more are never claimed ahead.
        assert_eq!(hold(AHEAD_MAX_RUN_MICROS, u64::MAX).capacity(true), 8);
        assert_eq!(
            hold(AHEAD_MAX_RUN_MICROS - 1, u64::MAX).capacity(true),
            (LANES + 1) * 32
        );
        // The concurrency counts when it is the larger of the two.
        let wide = Hold {
            concurrency: 100,
            ..hold(200, 1_000)
        };
        assert_eq!(wide.capacity(true), (LANES + 1) * 100);
    }

    #[test]
    fn a_claim_asks_for_a_batch_within_capacity_and_at_least_one() {
        assert_eq!(wanted(32, 8), 8);
        assert_eq!(wanted(32, 96), 32);
        assert_eq!(wanted(0, 8), 1);
        assert_eq!(wanted(32, 0), 1);
    }

    #[test]
    fn only_a_busy_worker_with_less_room_than_a_batch_gathers() {
        assert!(should_gather(true, 3, 32, 96));
        assert!(!should_gather(false, 3, 32, 96));
        assert!(!should_gather(true, 32, 32, 96));
        // All the worker may hold is free: claiming now loses nothing.
        assert!(!should_gather(true, 1, 32, 1));
    }

    #[test]
    fn room_never_underflows() {
        assert_eq!(room_left(10, 3, 4), 3);
        assert_eq!(room_left(10, 8, 4), 0);
        assert_eq!(room_left(10, usize::MAX, 1), 0);
        assert_eq!(room(None, 5), None);
        assert_eq!(room(Some(&5), 2), Some(3));
        assert_eq!(room(Some(&5), 9), Some(0));
        assert_eq!(room(Some(&usize::MAX), 0), Some(u32::MAX));
    }

    fn params(limit: u32, now: chrono::DateTime<Utc>) -> ClaimParams {
        ClaimParams {
            worker: "w".into(),
            queues: vec![
                QueueClaim {
                    name: "mail".into(),
                    cap: Some(3),
                    fair: None,
                },
                QueueClaim {
                    name: "default".into(),
                    cap: None,
                    fair: None,
                },
            ],
            kinds: vec![KindClaim {
                kind: "resize".into(),
                cap: Some(100),
                global_limit: None,
            }],
            limit,
            paused_tenants: Vec::new(),
            tenant_limits: Default::default(),
            lease: Duration::from_secs(30),
            now,
        }
    }

    #[test]
    fn a_reservation_holds_what_its_claim_could_bring_and_is_given_back_whole() {
        let t0 = Utc::now();
        let t1 = t0 + chrono::TimeDelta::milliseconds(1);
        let first = Reservation::of(&params(10, t0));
        // A queue capped at 3 brings at most 3; a kind capped at 100 at most the limit.
        assert_eq!(first.jobs, 10);
        assert_eq!(first.queues, vec![("mail".to_owned(), 3)]);
        assert_eq!(first.kinds, vec![("resize".to_owned(), 10)]);
        let second = Reservation::of(&params(4, t1));
        let mut in_flight = InFlight::default();
        in_flight.add(&first);
        in_flight.add(&second);
        assert_eq!(in_flight.jobs, 14);
        assert_eq!(in_flight.per_queue["mail"], 6);
        assert_eq!(in_flight.per_kind["resize"], 14);
        assert_eq!(in_flight.claims.iter().min(), Some(&t0));
        in_flight.remove(&first);
        assert_eq!(in_flight.jobs, 4);
        assert_eq!(in_flight.per_queue["mail"], 3);
        assert_eq!(in_flight.per_kind["resize"], 4);
        assert_eq!(in_flight.claims, vec![t1]);
        in_flight.remove(&second);
        // Removing twice never underflows.
        in_flight.remove(&second);
        assert_eq!(in_flight.jobs, 0);
        assert_eq!(in_flight.per_queue["mail"], 0);
        assert!(in_flight.claims.is_empty());
    }
}
