//! `errand bench --cron-entries N`: the fire lag of many cron entries that
//! all fire every minute, with one or more schedulers racing on the store.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Timelike, Utc};
use errand::cron::Entry;
use errand::{Client, JobId, ListParams, Store, Worker};
use serde::Serialize;

use crate::bench::percentile;

/// A job of a cron entry that does nothing.
#[errand::job(kind = "bench_cron")]
async fn bench_cron() {}

/// What the cron mode measured.
#[derive(Serialize, Debug)]
pub(crate) struct CronReport {
    backend: String,
    entries: u64,
    minutes: u64,
    schedulers: usize,
    /// Jobs the entries made (entries × minutes when none is missing).
    jobs: u64,
    /// (entry, fire time) pairs with more than one job: must be 0.
    duplicates: u64,
    /// Fire time to the scheduler pass that decided it (the job's creation).
    decided_lag_p50_ms: f64,
    decided_lag_p99_ms: f64,
    /// Fire time to the moment half, 99 % and all of its jobs were in the
    /// store, the worst fire time of the run (sampled every 20 ms).
    insert_lag_p50_ms: f64,
    insert_lag_p99_ms: f64,
    insert_lag_max_ms: f64,
    /// Fire time to the job's start: an upper bound of the lag to its insert.
    start_lag_p50_ms: f64,
    start_lag_p99_ms: f64,
    start_lag_max_ms: f64,
    setup_s: f64,
}

/// Creates `entries` entries firing every minute, runs `schedulers` workers
/// (the first on `store`, the others on stores from `reopen`) through
/// `minutes` fire times, and reads the lag of every job.
pub(crate) async fn run<F, Fut>(
    store: Arc<dyn Store>,
    reopen: F,
    entries: u64,
    minutes: u64,
    schedulers: usize,
    say: &dyn Fn(String),
) -> anyhow::Result<CronReport>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Arc<dyn Store>>>,
{
    let client = Client::new(Arc::clone(&store));
    let started = Instant::now();
    let names: Vec<String> = (0..entries).map(|i| format!("bench-{i:06}")).collect();
    for chunk in names.chunks(200) {
        let mut writes = tokio::task::JoinSet::new();
        for name in chunk {
            let entry = Entry::of::<bench_cron>(name.as_str(), "* * * * *", ())?;
            let cron = client.cron();
            writes.spawn(async move { cron.upsert(entry).await });
        }
        while let Some(written) = writes.join_next().await {
            written??;
        }
    }
    let setup_s = started.elapsed().as_secs_f64();
    say(format!("{entries} entries written in {setup_s:.1} s"));

    let mut workers = Vec::new();
    for i in 0..schedulers {
        let store = if i == 0 {
            Arc::clone(&store)
        } else {
            reopen().await?
        };
        let worker = Worker::builder(store)
            .register(bench_cron::job())
            .concurrency(64)
            .build()?;
        workers.push(worker.start());
    }
    // The first fire time at least 5 s away, so that every scheduler runs.
    let now = Utc::now();
    let mut first = now
        .with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(now)
        + chrono::TimeDelta::minutes(1);
    if first - now < chrono::TimeDelta::seconds(5) {
        first += chrono::TimeDelta::minutes(1);
    }
    let last = first + chrono::TimeDelta::minutes(minutes as i64 - 1);
    say(format!(
        "{schedulers} scheduler(s); measuring the fires from {first} to {last}"
    ));
    // Reads the newest job id every 20 ms, to see when each fire time's jobs
    // were inserted: the store is the bench's own, so ids count the jobs.
    let sampler = {
        let client = client.clone();
        let stop = last + chrono::TimeDelta::seconds(60);
        tokio::spawn(async move {
            let mut samples: Vec<(DateTime<Utc>, u64)> = Vec::new();
            while Utc::now() < stop {
                let newest = client
                    .list(ListParams {
                        limit: 1,
                        ..Default::default()
                    })
                    .await;
                if let Ok(newest) = newest {
                    let count = newest.first().map_or(0, |job| job.id.0.max(0) as u64);
                    samples.push((Utc::now(), count));
                    if samples.last().is_some_and(|(_, n)| *n >= entries * minutes) {
                        break;
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            samples
        })
    };
    // Wait for the last fire time and then for every job of it to end.
    let expected = entries * minutes;
    let deadline = Instant::now()
        + (last - Utc::now()).to_std().unwrap_or_default()
        + Duration::from_secs(120);
    let jobs = loop {
        let jobs = read_jobs(&client, first, last).await?;
        let done = jobs.iter().filter(|j| j.started_at.is_some()).count() as u64;
        if done >= expected || Instant::now() > deadline {
            break jobs;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    for worker in workers {
        worker.shutdown().await;
    }
    let samples = sampler.await?;
    // For each fire time, when the store first held half, 99 % and all of
    // its jobs (the jobs of earlier fire times counted in).
    let mut insert = [0.0f64; 3];
    for m in 0..minutes {
        let fire = first + chrono::TimeDelta::minutes(m as i64);
        for (slot, share) in [0.5, 0.99, 1.0].into_iter().enumerate() {
            let needed = m * entries + (entries as f64 * share).ceil() as u64;
            let lag = samples
                .iter()
                .find(|(_, n)| *n >= needed)
                .map_or(f64::INFINITY, |(at, _)| {
                    (*at - fire).num_microseconds().unwrap_or(0) as f64 / 1000.0
                });
            insert[slot] = insert[slot].max(lag);
        }
    }
    let mut fires = HashSet::new();
    let mut duplicates = 0;
    let mut decided = Vec::new();
    let mut start = Vec::new();
    for job in &jobs {
        let Some(cron) = &job.cron else { continue };
        if !fires.insert((cron.name.clone(), cron.fire_at)) {
            duplicates += 1;
        }
        // Nanoseconds after the fire time, as `bench::percentile` reads them.
        let ns = |at: DateTime<Utc>| {
            u64::try_from((at - cron.fire_at).num_nanoseconds().unwrap_or(0)).unwrap_or(0)
        };
        decided.push(ns(job.created_at));
        if let Some(at) = job.started_at {
            start.push(ns(at));
        }
    }
    decided.sort_unstable();
    start.sort_unstable();
    Ok(CronReport {
        backend: store.backend().to_string(),
        entries,
        minutes,
        schedulers,
        jobs: jobs.len() as u64,
        duplicates,
        decided_lag_p50_ms: percentile(&decided, 50.0),
        decided_lag_p99_ms: percentile(&decided, 99.0),
        insert_lag_p50_ms: insert[0],
        insert_lag_p99_ms: insert[1],
        insert_lag_max_ms: insert[2],
        start_lag_p50_ms: percentile(&start, 50.0),
        start_lag_p99_ms: percentile(&start, 99.0),
        start_lag_max_ms: percentile(&start, 100.0),
        setup_s,
    })
}

/// The bench's jobs for fire times from `first` to `last`, every page.
async fn read_jobs(
    client: &Client,
    first: DateTime<Utc>,
    last: DateTime<Utc>,
) -> anyhow::Result<Vec<errand::JobRow>> {
    let mut out = Vec::new();
    let mut before: Option<JobId> = None;
    loop {
        let page = client
            .list(ListParams {
                kind: Some("bench_cron".into()),
                before_id: before,
                limit: 10_000,
                ..Default::default()
            })
            .await?;
        let Some(oldest) = page.last() else { break };
        before = Some(oldest.id);
        let full = page.len() == 10_000;
        out.extend(page.into_iter().filter(|j| {
            j.cron
                .as_ref()
                .is_some_and(|c| c.fire_at >= first && c.fire_at <= last)
        }));
        if !full {
            break;
        }
    }
    Ok(out)
}
