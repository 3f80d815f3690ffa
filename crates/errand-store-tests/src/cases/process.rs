//! Real worker processes on one store: killed with SIGKILL, or sharing the work.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use errand::store::StatsParams;
use errand::{ErrorKind, JobState, ListParams, NewJob};
use tokio::process::{Child, Command};

use super::*;

fn spawn_worker(bin: &Path, h: &Harness, log: &Path, concurrency: usize, lease_ms: u64) -> Child {
    spawn_worker_with(bin, h, log, concurrency, lease_ms, &[])
}

fn spawn_worker_with(
    bin: &Path,
    h: &Harness,
    log: &Path,
    concurrency: usize,
    lease_ms: u64,
    env: &[(&str, &str)],
) -> Child {
    Command::new(bin)
        .envs(env.iter().copied())
        .arg(&h.url)
        .arg(log)
        .arg(concurrency.to_string())
        .arg(lease_ms.to_string())
        .args(h.namespace.iter())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start the probe worker")
}

async fn terminate(mut child: Child) {
    if let Some(pid) = child.id() {
        let _ = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status();
    }
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait()).await;
    assert!(
        matches!(status, Ok(Ok(s)) if s.success()),
        "a worker stops cleanly on SIGTERM: {status:?}"
    );
}

/// How many times each job id was run, from the probe logs ("id attempt"
/// lines, or "id attempt start end" for limited jobs).
fn runs(logs: &[PathBuf]) -> BTreeMap<i64, u32> {
    let mut runs = BTreeMap::new();
    for log in logs {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        for line in text.lines() {
            // A process killed mid-write may leave a partial last line.
            if let Some(id) = line.split(' ').next().and_then(|id| id.parse::<i64>().ok())
                && matches!(line.split(' ').count(), 2 | 4)
            {
                *runs.entry(id).or_default() += 1;
            }
        }
    }
    runs
}

async fn stats(h: &Harness) -> errand::Stats {
    h.store
        .stats(StatsParams {
            tenant: None,
            per_tenant: false,
            now: chrono::Utc::now(),
        })
        .await
        .unwrap()
}

async fn all_jobs(h: &Harness, limit: usize) -> Vec<errand::JobRow> {
    let limit = u32::try_from(limit).unwrap();
    h.store
        .list(ListParams {
            limit,
            now: chrono::Utc::now(),
            ..Default::default()
        })
        .await
        .unwrap()
}

fn probe_bin(h: &Harness) -> Option<&PathBuf> {
    let bin = h.probe_worker.as_ref();
    if bin.is_none() {
        h.skip("no probe worker binary in this test crate".to_owned());
    }
    bin
}

/// The most limited jobs that ran at one moment, from their logged
/// intervals ("id attempt start end"). Each interval lies inside the time the
/// job held its claim, so this never overstates the true figure.
fn peak_overlap(logs: &[PathBuf]) -> usize {
    let mut edges: Vec<(u128, i32)> = Vec::new();
    for log in logs {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        for line in text.lines() {
            let fields: Vec<&str> = line.split(' ').collect();
            if let [_, _, start, end] = fields[..]
                && let (Ok(start), Ok(end)) = (start.parse::<u128>(), end.parse::<u128>())
            {
                edges.push((start, 1));
                edges.push((end, -1));
            }
        }
    }
    // Ends sort before starts at the same instant.
    edges.sort();
    let (mut now, mut peak) = (0i32, 0i32);
    for (_, step) in edges {
        now += step;
        peak = peak.max(now);
    }
    usize::try_from(peak).unwrap_or(0)
}

/// Reads the "ready NAME" line a probe worker prints once it runs.
async fn worker_name(child: &mut Child) -> String {
    use tokio::io::AsyncBufReadExt;
    let stdout = child
        .stdout
        .take()
        .expect("the probe worker's stdout is piped");
    let mut line = String::new();
    tokio::time::timeout(
        Duration::from_secs(60),
        tokio::io::BufReader::new(stdout).read_line(&mut line),
    )
    .await
    .expect("the probe worker starts")
    .expect("read the probe worker's stdout");
    line.trim()
        .strip_prefix("ready ")
        .unwrap_or_else(|| panic!("unexpected first line from the probe worker: {line:?}"))
        .to_owned()
}

/// True when the worker called `name` holds a first attempt of a job of
/// queue `queue` in the store.
async fn holds_first_attempt(h: &Harness, name: &str, queue: &str) -> bool {
    h.store
        .list(ListParams {
            state: Some(JobState::Running),
            queue: Some(queue.to_owned()),
            limit: 1_000,
            now: chrono::Utc::now(),
            ..Default::default()
        })
        .await
        .is_ok_and(|jobs| {
            jobs.iter()
                .any(|j| j.worker.as_deref() == Some(name) && j.attempt == 1)
        })
}

/// Jobs of the process cases: `total` short `probe` jobs.
const PROCESS_JOBS: usize = 20_000;

/// The lease of the kill case's workers: long enough that a worker starved of
/// CPU by the rest of the suite keeps its jobs (a lost lease would make a job
/// run twice without a kill), short enough that killed workers' jobs come
/// back soon.
const KILL_CASE_LEASE_MS: u64 = 5_000;

pub async fn process_killed_with_sigkill_loses_no_job(h: &Harness) {
    let Some(bin) = probe_bin(h) else { return };
    let dir = tempfile::tempdir().unwrap();
    let total = PROCESS_JOBS;
    let jobs: Vec<NewJob> = (0..total)
        .map(|_| NewJob::new("probe", serde_json::json!(1)))
        .collect();
    enqueue(h, jobs, chrono::Utc::now()).await;
    let mut logs: Vec<PathBuf> = vec![
        dir.path().join("steady-0.log"),
        dir.path().join("steady-1.log"),
    ];
    let steady: Vec<Child> = logs
        .iter()
        .map(|log| spawn_worker(bin, h, log, 8, KILL_CASE_LEASE_MS))
        .collect();

    // One worker is killed five times while it runs jobs, and restarted. So
    // that each kill surely finds it holding a job, it alone also serves a
    // queue where each round puts a job that sleeps a minute on its first
    // attempt (later attempts are quick, so the rescued job finishes).
    let victim_queues = [("ERRAND_PROBE_QUEUES", "hold,default")];
    let mut killed = Vec::new();
    let mut held = Vec::new();
    for round in 1..=5 {
        let log = dir.path().join(format!("victim-{round}.log"));
        logs.push(log.clone());
        let mut victim = spawn_worker_with(bin, h, &log, 8, KILL_CASE_LEASE_MS, &victim_queues);
        let name = worker_name(&mut victim).await;
        killed.push(name.clone());
        let mut hold = NewJob::new("probe", serde_json::json!(60_000));
        hold.queue = "hold".to_owned();
        held.push(enqueue_one(h, hold, chrono::Utc::now()).await.0);
        let threshold = total * round / 7;
        eventually(
            Duration::from_secs(120),
            &format!("{threshold} jobs complete and the victim holds a job before kill {round}"),
            || async {
                stats(h).await.total(JobState::Completed) >= threshold as u64
                    && holds_first_attempt(h, &name, "hold").await
            },
        )
        .await;
        victim.start_kill().unwrap();
        victim.wait().await.unwrap();
    }
    let total = total + held.len();
    let last_log = dir.path().join("victim-last.log");
    logs.push(last_log.clone());
    let last = spawn_worker_with(bin, h, &last_log, 8, KILL_CASE_LEASE_MS, &victim_queues);

    eventually(
        Duration::from_secs(300),
        "every job completes despite five kills",
        || async { stats(h).await.total(JobState::Completed) == total as u64 },
    )
    .await;
    terminate(last).await;
    for worker in steady {
        terminate(worker).await;
    }

    let rows = all_jobs(h, total).await;
    assert_eq!(rows.len(), total);
    assert!(rows.iter().all(|j| j.state == JobState::Completed));
    let rescued: BTreeSet<i64> = rows
        .iter()
        .filter(|j| {
            j.errors.iter().any(|e| {
                e.kind == ErrorKind::LeaseExpired
                    && killed.iter().any(|name| e.message.contains(name.as_str()))
            })
        })
        .map(|j| j.id.0)
        .collect();
    for id in &held {
        assert!(
            rescued.contains(id),
            "job {id}, held by a killed worker, was rescued"
        );
    }
    let runs = runs(&logs);
    assert_eq!(runs.len(), total, "every job ran");
    let mut twice = 0;
    for (id, n) in runs {
        if n > 1 {
            twice += 1;
            assert!(
                rescued.contains(&id),
                "job {id} ran {n} times but no killed worker had claimed it"
            );
        }
    }
    println!(
        "{total} jobs, 5 kills: {} rescued from killed workers, {twice} ran twice",
        rescued.len()
    );
}
case!(process_killed_with_sigkill_loses_no_job);

pub async fn several_processes_share_one_store_without_double_runs(h: &Harness) {
    let Some(bin) = probe_bin(h) else { return };
    let dir = tempfile::tempdir().unwrap();
    let limited = 300;
    let total = PROCESS_JOBS + limited;
    let mut jobs: Vec<NewJob> = (0..PROCESS_JOBS)
        .map(|_| NewJob::new("probe", serde_json::json!(0)))
        .collect();
    jobs.extend((0..limited).map(|_| NewJob::new("probe_limited", serde_json::json!(3))));
    fastrand::shuffle(&mut jobs);
    enqueue(h, jobs, chrono::Utc::now()).await;
    let logs: Vec<PathBuf> = (0..3)
        .map(|i| dir.path().join(format!("{i}.log")))
        .collect();
    let workers: Vec<Child> = logs
        .iter()
        .map(|log| spawn_worker(bin, h, log, 8, 30_000))
        .collect();
    eventually(
        Duration::from_secs(300),
        "three processes complete every job",
        || async { stats(h).await.total(JobState::Completed) == total as u64 },
    )
    .await;
    for worker in workers {
        terminate(worker).await;
    }
    let runs = runs(&logs);
    assert_eq!(runs.len(), total, "no job lost");
    let twice: Vec<_> = runs.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "jobs ran more than once: {twice:?}");
    let busy = logs
        .iter()
        .filter(|l| std::fs::metadata(l).map(|m| m.len() > 0).unwrap_or(false))
        .count();
    assert!(
        busy >= 2,
        "the work was shared: {busy} of 3 processes ran jobs"
    );
    let peak = peak_overlap(&logs);
    assert!(
        peak <= 5,
        "the global limit of 5 was exceeded: {peak} ran at once"
    );
    assert!(
        peak >= 2,
        "limited jobs ran concurrently at all (peak {peak}), or the check proves nothing"
    );
    assert!(all_jobs(h, total).await.iter().all(|j| j.attempt == 1));
}
case!(several_processes_share_one_store_without_double_runs);

pub async fn transactional_completion_survives_a_kill_between_write_and_commit(h: &Harness) {
    let Some(bin) = probe_bin(h) else { return };
    let Some(probe) = h.tx.as_ref() else {
        h.skip_unless(false, "join a job's writes to its completion");
        return;
    };
    probe.effects_table().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("hang.log");
    let key = format!("killed-{:016x}", fastrand::u64(..));
    let id = enqueue_one(
        h,
        NewJob::new("tx_effect", serde_json::json!({ "key": key })),
        chrono::Utc::now(),
    )
    .await;

    let mut hanging = spawn_worker_with(bin, h, &log, 2, 1000, &[("ERRAND_PROBE_EFFECTS", "hang")]);
    let wrote = format!("{key} 1");
    eventually(
        Duration::from_secs(60),
        "the job writes its effect and hangs before its commit",
        || async {
            std::fs::read_to_string(&log)
                .unwrap_or_default()
                .lines()
                .any(|l| l == wrote)
        },
    )
    .await;
    hanging.start_kill().unwrap();
    hanging.wait().await.unwrap();
    assert_eq!(
        probe.effects(&key).await.unwrap(),
        0,
        "the killed attempt's write never committed"
    );

    let second = spawn_worker(bin, h, &dir.path().join("second.log"), 2, 1000);
    eventually(
        Duration::from_secs(60),
        "the job is rescued and completes",
        || async { get(h, id, chrono::Utc::now()).await.state == JobState::Completed },
    )
    .await;
    terminate(second).await;
    assert_eq!(
        probe.effects(&key).await.unwrap(),
        1,
        "after recovery the effect exists exactly once"
    );
    let job = get(h, id, chrono::Utc::now()).await;
    assert_eq!(job.attempt, 2, "the second attempt completed it");
    assert_eq!(
        job.errors.first().map(|e| e.kind),
        Some(ErrorKind::LeaseExpired)
    );
}
case!(transactional_completion_survives_a_kill_between_write_and_commit);

/// Completed jobs, or None while the store is unreachable.
async fn completed(h: &Harness) -> Option<u64> {
    h.store
        .stats(StatsParams {
            tenant: None,
            per_tenant: false,
            now: chrono::Utc::now(),
        })
        .await
        .ok()
        .map(|s| s.total(JobState::Completed))
}

/// Worker processes live through a crash and restart of the store's server
/// (`restart` does it): they reconnect by themselves and finish every job.
pub async fn workers_reconnect_after_the_server_restarts<F, Fut>(h: &Harness, restart: F)
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    restart_scenario(h, restart, &[], true).await;
}

/// The restart scenario with PostgreSQL workers whose job updates are
/// asynchronous commits: the crash forgets results they saw acknowledged;
/// each worker, having seen the store fail, tells it which jobs it holds and
/// the store rescues the forgotten ones at once, not after their lease. (In
/// this mode an attempt number may be handed out twice: not checked.)
pub async fn async_workers_recover_forgotten_results_after_a_restart<F, Fut>(
    h: &Harness,
    restart: F,
) where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    restart_scenario(h, restart, &[("ERRAND_PROBE_ASYNC_UPDATES", "1")], false).await;
}

async fn restart_scenario<F, Fut>(
    h: &Harness,
    restart: F,
    env: &[(&str, &str)],
    unique_attempts: bool,
) where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let Some(bin) = probe_bin(h) else { return };
    let dir = tempfile::tempdir().unwrap();
    let total: u64 = 3_000;
    let jobs: Vec<NewJob> = (0..total)
        .map(|_| NewJob::new("probe", serde_json::json!(2)))
        .collect();
    enqueue(h, jobs, chrono::Utc::now()).await;
    let logs: Vec<PathBuf> = (0..2)
        .map(|i| dir.path().join(format!("{i}.log")))
        .collect();
    // A lease far longer than the deadline below: a job that waited for its
    // lease to expire after the restart would miss the deadline.
    let lease_ms = 60_000;
    let workers: Vec<Child> = logs
        .iter()
        .map(|log| spawn_worker_with(bin, h, log, 8, lease_ms, env))
        .collect();
    eventually(
        Duration::from_secs(120),
        "a quarter of the jobs complete before the restart",
        || async { completed(h).await.is_some_and(|n| n >= total / 4) },
    )
    .await;
    let before_restart = completed(h).await;
    restart().await;
    let back = std::time::Instant::now();
    let after_restart = completed(h).await;
    // How long until the workers complete jobs again, from the moment the
    // server accepts connections (printed; the deadline below is what holds).
    let resumed = std::sync::Mutex::new(None);
    eventually(
        Duration::from_secs(20),
        "every job completes within 20 s of the restart (the lease is 60 s), with the same worker processes",
        || async {
            let done = completed(h).await;
            let mut resumed = resumed.lock().unwrap();
            if resumed.is_none() && done.is_some() && done != after_restart {
                *resumed = Some(back.elapsed());
            }
            done == Some(total)
        },
    )
    .await;
    println!(
        "completed before the restart: {before_restart:?}, right after: {after_restart:?}, of {total}; workers completed jobs again {:?} after the server was back, all within {:?}",
        resumed.lock().unwrap(),
        back.elapsed()
    );
    for worker in workers {
        terminate(worker).await;
    }
    assert!(
        after_restart.is_none_or(|n| n < total),
        "the restart happened while jobs were still waiting"
    );
    // The promise is a second (measured here: 0.02 - 0.12 s); three leave
    // room for a slow machine, and still fail the reconnect backoffs of
    // old, which resumed after 4.3 s.
    let resumed = *resumed.lock().unwrap();
    assert!(
        resumed.is_some_and(|r| r < Duration::from_secs(3)),
        "the workers resume within seconds of the server accepting connections: {resumed:?}"
    );
    assert_eq!(runs(&logs).len(), total as usize, "every job ran");
    let twice = attempts_run_twice(&logs);
    if unique_attempts {
        assert!(
            twice.is_empty(),
            "no attempt number is handed out twice (job, attempt): {twice:?}"
        );
    } else {
        println!("attempts run twice (allowed in this mode): {}", twice.len());
    }
}

/// The (job, attempt) pairs that the probe logs record more than once.
fn attempts_run_twice(logs: &[PathBuf]) -> Vec<(i64, u32)> {
    let mut seen: BTreeMap<(i64, u32), u32> = BTreeMap::new();
    for log in logs {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        for line in text.lines() {
            let fields: Vec<&str> = line.split(' ').collect();
            if let [id, attempt, ..] = fields[..]
                && let (Ok(id), Ok(attempt)) = (id.parse(), attempt.parse())
            {
                *seen.entry((id, attempt)).or_default() += 1;
            }
        }
    }
    seen.into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(pair, _)| pair)
        .collect()
}

/// Worker processes on a Redis Cluster lose no job when the master that
/// serves the store's slot dies and its replica takes over: jobs whose
/// claim or result the failover lost run again (at-least-once); every job
/// completes. `replicated` tells when the replica holds every enqueued job
/// (a cluster replicates asynchronously: what the master acknowledged in
/// its last moments may be lost, enqueues included); `fail_over` kills the
/// master and returns once the replica serves.
pub async fn jobs_survive_a_cluster_failover<R, F>(h: &Harness, replicated: R, fail_over: F)
where
    R: Fn() -> bool,
    F: FnOnce(),
{
    let Some(bin) = probe_bin(h) else { return };
    let dir = tempfile::tempdir().unwrap();
    let total: u64 = 3_000;
    let jobs: Vec<NewJob> = (0..total)
        .map(|_| NewJob::new("probe", serde_json::json!(2)))
        .collect();
    enqueue(h, jobs, chrono::Utc::now()).await;
    eventually(
        Duration::from_secs(30),
        "the replica holds every enqueued job",
        || async { replicated() },
    )
    .await;
    let logs: Vec<PathBuf> = (0..2)
        .map(|i| dir.path().join(format!("{i}.log")))
        .collect();
    let workers: Vec<Child> = logs
        .iter()
        .map(|log| spawn_worker(bin, h, log, 8, 10_000))
        .collect();
    eventually(
        Duration::from_secs(120),
        "a quarter of the jobs complete before the failover",
        || async { completed(h).await.is_some_and(|n| n >= total / 4) },
    )
    .await;
    let before = completed(h).await;
    tokio::task::block_in_place(fail_over);
    eventually(
        Duration::from_secs(120),
        "every job completes after the failover, with the same worker processes",
        || async { completed(h).await == Some(total) },
    )
    .await;
    println!("completed before the failover: {before:?} of {total}");
    for worker in workers {
        terminate(worker).await;
    }
    assert_eq!(runs(&logs).len(), total as usize, "every job ran");
}

/// Seconds the cron kill case keeps killing schedulers.
const CRON_KILL_SECS: u64 = 12;

pub async fn cron_schedulers_killed_mid_pass_leave_no_duplicate_and_no_gap(h: &Harness) {
    use errand::cron::Entry;
    use errand::store::{EntryKey, SaveMode, SaveParams};
    let Some(bin) = probe_bin(h) else { return };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("cron.log");
    // An entry of the probe kind firing every second, decided by whichever
    // probe worker's scheduler gets there.
    let entry = Entry::new("tick", "probe", serde_json::json!(0), "@every 1s").unwrap();
    let now = chrono::Utc::now();
    h.store
        .cron_save(SaveParams::new(entry, SaveMode::Create, now))
        .await
        .unwrap();
    let mut workers = vec![
        spawn_worker(bin, h, &log, 4, KILL_CASE_LEASE_MS),
        spawn_worker(bin, h, &log, 4, KILL_CASE_LEASE_MS),
    ];
    for worker in &mut workers {
        worker_name(worker).await;
    }
    // SIGKILL one of the two schedulers every 150 – 650 ms, at whatever step
    // of its pass it is, and start another.
    let until = tokio::time::Instant::now() + Duration::from_secs(CRON_KILL_SECS);
    let mut kills = 0;
    while tokio::time::Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(150 + fastrand::u64(..500))).await;
        let victim = fastrand::usize(..workers.len());
        let mut killed = std::mem::replace(
            &mut workers[victim],
            spawn_worker(bin, h, &log, 4, KILL_CASE_LEASE_MS),
        );
        killed.start_kill().unwrap();
        let _ = killed.wait().await;
        kills += 1;
        worker_name(&mut workers[victim]).await;
    }
    // One last scheduler decides what the killed ones left, up to a fire
    // time after the kills ended.
    let stopped = chrono::Utc::now();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let row = h
            .store
            .cron_get(EntryKey::new(None, "tick"))
            .await
            .unwrap()
            .unwrap();
        if row
            .last_fire_at
            .is_some_and(|at| at > stopped + chrono::TimeDelta::seconds(2))
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the entry kept firing after the kills"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for worker in workers {
        terminate(worker).await;
    }
    let jobs = h
        .store
        .list(ListParams {
            kind: Some("probe".into()),
            limit: 10_000,
            now: chrono::Utc::now(),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut fires: Vec<_> = jobs
        .iter()
        .map(|j| {
            j.cron
                .as_ref()
                .expect("every probe job here is the entry's")
                .fire_at
        })
        .collect();
    fires.sort();
    let distinct: BTreeSet<_> = fires.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        fires.len(),
        "no fire time has two jobs ({kills} kills)"
    );
    let gaps: Vec<_> = fires
        .windows(2)
        .filter(|w| w[1] - w[0] != chrono::TimeDelta::seconds(1))
        .collect();
    assert!(
        gaps.is_empty(),
        "no fire time was skipped ({kills} kills): {gaps:?}"
    );
    assert!(
        fires.len() as u64 >= CRON_KILL_SECS,
        "it fired through the kills: {} fires",
        fires.len()
    );
}
case!(cron_schedulers_killed_mid_pass_leave_no_duplicate_and_no_gap);

/// Wall-clock nanoseconds, as the probe worker logs them.
fn wall_ns() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// When the probe worker started job `id` (from its "id attempt start end"
/// lines, `ERRAND_PROBE_TIMES=1`).
fn started_ns(log: &Path, id: JobId) -> u128 {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            (fields.len() == 4 && fields[0] == id.0.to_string())
                .then(|| fields[2].parse().ok())
                .flatten()
        })
        .next()
        .unwrap_or_else(|| panic!("the probe log records no run of job {id}: {text:?}"))
}

async fn state_of(h: &Harness, id: JobId) -> JobState {
    get(h, id, chrono::Utc::now()).await.state
}

fn millis_between(from: u128, to: u128) -> f64 {
    to.saturating_sub(from) as f64 / 1e6
}

pub async fn pauses_reach_a_worker_of_another_process(h: &Harness) {
    use errand::store::{PauseParams, PauseScope, ResumeParams};
    let Some(bin) = probe_bin(h) else { return };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("pause.log");
    let pause = |scope| {
        h.store.pause(PauseParams {
            scope,
            by: "test".into(),
            note: None,
            now: chrono::Utc::now(),
        })
    };
    let resume = |scope| h.store.resume(ResumeParams { scope });
    let on = |queue: &str, tenant: Option<&str>| NewJob {
        queue: queue.into(),
        tenant: tenant.map(str::to_owned),
        ..NewJob::new("probe", serde_json::json!(0))
    };
    pause(PauseScope::All).await.unwrap();
    let x = enqueue_one(h, on("other", None), chrono::Utc::now()).await;
    let mut worker = spawn_worker_with(
        bin,
        h,
        &log,
        4,
        30_000,
        &[
            ("ERRAND_PROBE_QUEUES", "held,other"),
            ("ERRAND_PROBE_TIMES", "1"),
        ],
    );
    worker_name(&mut worker).await;
    assert_eq!(
        h.store.pauses().await.unwrap().len(),
        1,
        "a starting worker never clears a stored pause"
    );
    pause(PauseScope::queue("held")).await.unwrap();
    pause(PauseScope::tenant("acme")).await.unwrap();
    // Each of these would be claimed before `y` (its queue comes first, or
    // it was enqueued earlier) if its pause were not applied.
    let ids: Vec<JobId> = enqueue(
        h,
        vec![
            on("held", None),
            on("other", Some("acme")),
            on("other", None),
        ],
        chrono::Utc::now(),
    )
    .await
    .iter()
    .map(|e| e.id)
    .collect();
    let (held, tenant, y) = (ids[0], ids[1], ids[2]);
    let resumed_all = wall_ns();
    resume(PauseScope::All).await.unwrap().unwrap();
    eventually(
        Duration::from_secs(60),
        "the unpaused jobs complete after the global resume",
        || async {
            state_of(h, x).await == JobState::Completed
                && state_of(h, y).await == JobState::Completed
        },
    )
    .await;
    assert!(
        started_ns(&log, x) >= resumed_all,
        "no job started while everything was paused"
    );
    assert_eq!(
        state_of(h, held).await,
        JobState::Available,
        "its queue is paused"
    );
    assert_eq!(
        state_of(h, tenant).await,
        JobState::Available,
        "its tenant is paused"
    );
    let resumed_queue = wall_ns();
    resume(PauseScope::queue("held")).await.unwrap().unwrap();
    eventually(
        Duration::from_secs(60),
        "the queue's job runs once resumed",
        || async { state_of(h, held).await == JobState::Completed },
    )
    .await;
    assert!(started_ns(&log, held) >= resumed_queue);
    let resumed_tenant = wall_ns();
    resume(PauseScope::tenant("acme")).await.unwrap().unwrap();
    eventually(
        Duration::from_secs(60),
        "the tenant's job runs once resumed",
        || async { state_of(h, tenant).await == JobState::Completed },
    )
    .await;
    assert!(started_ns(&log, tenant) >= resumed_tenant);
    println!(
        "resumes reached a worker of another process after {:.0} ms (all), {:.0} ms (queue), {:.0} ms (tenant)",
        millis_between(resumed_all, started_ns(&log, x)),
        millis_between(resumed_queue, started_ns(&log, held)),
        millis_between(resumed_tenant, started_ns(&log, tenant)),
    );
    terminate(worker).await;
}
case!(pauses_reach_a_worker_of_another_process);

pub async fn a_running_job_is_cancelled_from_another_process(h: &Harness) {
    use errand::store::CancelParams;
    let Some(bin) = probe_bin(h) else { return };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("cancel.log");
    let id = enqueue_one(
        h,
        NewJob::new("probe_until_cancelled", serde_json::json!(600_000)),
        chrono::Utc::now(),
    )
    .await;
    let mut worker = spawn_worker(bin, h, &log, 2, 30_000);
    worker_name(&mut worker).await;
    eventually(Duration::from_secs(60), "the job runs", || async {
        state_of(h, id).await == JobState::Running
    })
    .await;
    let asked = wall_ns();
    let outcome = h
        .store
        .cancel(CancelParams {
            ids: vec![id],
            now: chrono::Utc::now(),
        })
        .await
        .unwrap();
    assert_eq!(outcome.requested, [id], "a running job is asked to stop");
    eventually(
        Duration::from_secs(60),
        "the job ends cancelled",
        || async { state_of(h, id).await == JobState::Cancelled },
    )
    .await;
    let text = std::fs::read_to_string(&log).unwrap();
    let signalled: u128 = text
        .lines()
        .find_map(|line| line.strip_prefix(&format!("cancelled {} ", id.0)))
        .and_then(|ns| ns.parse().ok())
        .unwrap_or_else(|| panic!("the job's token never fired: {text:?}"));
    println!(
        "a cancel reached the running job in another process after {:.0} ms",
        millis_between(asked, signalled)
    );
    terminate(worker).await;
}
case!(a_running_job_is_cancelled_from_another_process);

pub async fn a_batch_is_cancelled_from_another_process(h: &Harness) {
    use errand::store::{
        CONTINUES_META, CancelBatchParams, Continuation, ContinueOn, CreateBatchParams, NewBatch,
    };
    let Some(bin) = probe_bin(h) else { return };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("cancel_batch.log");
    let mut report = NewJob::new("report", serde_json::json!({}));
    report.queue = "after".into();
    let created = h
        .store
        .create_batch(CreateBatchParams {
            batch: NewBatch {
                tenant: None,
                continuations: vec![Continuation {
                    on: ContinueOn::Failure,
                    job: report,
                }],
                sealed: true,
            },
            jobs: vec![
                NewJob::new("probe_until_cancelled", serde_json::json!(600_000)),
                // A kind the probe does not run: it waits.
                NewJob::new("not_run_here", serde_json::json!({})),
            ],
            now: chrono::Utc::now(),
            max_input_bytes: 1 << 20,
        })
        .await
        .unwrap();
    let running = created.jobs[0].id;
    let mut worker = spawn_worker(bin, h, &log, 2, 30_000);
    worker_name(&mut worker).await;
    eventually(Duration::from_secs(60), "the job runs", || async {
        state_of(h, running).await == JobState::Running
    })
    .await;
    let asked = wall_ns();
    let outcome = h
        .store
        .cancel_batch(CancelBatchParams {
            id: created.id,
            now: chrono::Utc::now(),
        })
        .await
        .unwrap();
    assert_eq!(
        (outcome.cancelled, outcome.signalled, outcome.finished),
        (1, 1, 0)
    );
    eventually(
        Duration::from_secs(60),
        "the batch finishes once its running job ends",
        || async {
            let batch = h.store.batch(created.id).await.unwrap().unwrap();
            batch.finished_at.is_some()
        },
    )
    .await;
    let batch = h.store.batch(created.id).await.unwrap().unwrap();
    assert_eq!((batch.counts.total, batch.counts.cancelled), (2, 2));
    assert_eq!(state_of(h, running).await, JobState::Cancelled);
    let continuations = h
        .store
        .list(errand::ListParams {
            kind: Some("report".into()),
            limit: 10,
            now: chrono::Utc::now(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(continuations.len(), 1);
    assert_eq!(
        continuations[0].meta.get(CONTINUES_META),
        Some(&created.id.0.to_string())
    );
    let text = std::fs::read_to_string(&log).unwrap();
    let signalled: u128 = text
        .lines()
        .find_map(|line| line.strip_prefix(&format!("cancelled {} ", running.0)))
        .and_then(|ns| ns.parse().ok())
        .unwrap_or_else(|| panic!("the job's token never fired: {text:?}"));
    println!(
        "a batch cancel reached its running job in another process after {:.0} ms",
        millis_between(asked, signalled)
    );
    terminate(worker).await;
}
case!(a_batch_is_cancelled_from_another_process);
