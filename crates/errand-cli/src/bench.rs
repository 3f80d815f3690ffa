//! `errand bench`: enqueue rate (single and bulk), processing rate of no-op
//! jobs, and enqueue-to-start latency with an idle worker in the same process.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use clap::Args;
use errand::{Client, JobError, State, Store, Worker};
use serde::Serialize;
use tokio::sync::{Notify, mpsc};

use crate::store::{self, Target, UsageError};

/// A count of at least 1 and at most errand's largest concurrency.
pub(crate) fn positive_usize(text: &str) -> Result<usize, String> {
    let n: i64 = text
        .parse()
        .map_err(|e| format!("{text} is not a whole number: {e}"))?;
    let max = errand::validate::MAX_CONCURRENCY;
    usize::try_from(n)
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| format!("{n} is not in 1..={max}"))
}

/// Arguments of `errand bench`.
#[derive(Args, Debug)]
pub(crate) struct BenchArgs {
    /// The backend to measure: sqlite, postgres or redis.
    #[arg(long, default_value = "sqlite")]
    backend: String,
    /// Jobs to enqueue in bulk and process.
    #[arg(long, default_value_t = 10_000, allow_negative_numbers = true, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    jobs: u64,
    /// Jobs running at once in the worker.
    #[arg(long, default_value_t = 32, allow_negative_numbers = true, value_parser = positive_usize)]
    concurrency: usize,
    /// Jobs the worker asks for in one claim (default: the worker's own,
    /// four times the concurrency, at most 200).
    #[arg(long, allow_negative_numbers = true, value_parser = positive_usize)]
    claim_batch: Option<usize>,
    /// Single enqueues to time (at most --jobs).
    #[arg(long, default_value_t = 5_000, allow_negative_numbers = true, value_parser = clap::value_parser!(u64).range(0..=100_000_000))]
    single: u64,
    /// Concurrent tasks making the single enqueues, as request handlers would
    /// (1: one after the other).
    #[arg(long, default_value_t = 8, allow_negative_numbers = true, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    producers: u64,
    /// Enqueue-to-start samples.
    #[arg(long, default_value_t = 1_000, allow_negative_numbers = true, value_parser = clap::value_parser!(u64).range(0..=1_000_000))]
    latency_samples: u64,
    /// Jobs to put in the table before measuring, to show that the figures
    /// do not depend on the table's size (see --backlog-state).
    #[arg(long, default_value_t = 0, allow_negative_numbers = true, value_parser = clap::value_parser!(u64).range(0..=100_000_000))]
    backlog: u64,
    /// What the backlog is: `pending` (half due in a queue the measured
    /// worker does not serve, half scheduled a day ahead in its own queue)
    /// or `finished` (completed jobs kept in the table).
    #[arg(long, default_value = "pending")]
    backlog_state: BacklogState,
    /// PostgreSQL: write claims, renewals and results with
    /// `synchronous_commit = off` (`PgOptions::synchronous_job_updates =
    /// false`), to measure what the durable default costs.
    #[arg(long)]
    async_job_updates: bool,
    /// Run the jobs in this many worker processes (`errand bench-worker`)
    /// sharing the store, instead of the single-process figures.
    #[arg(long, allow_negative_numbers = true, value_parser = clap::value_parser!(u64).range(1..=64))]
    processes: Option<u64>,
    /// With --processes: each job sleeps this many milliseconds (N, or A..B
    /// drawn uniformly).
    #[arg(long, default_value = "0", value_parser = crate::processes::job_ms)]
    job_ms: (u64, u64),
    /// With --processes: also run with this global limit on the jobs, and
    /// compare with the unlimited control.
    #[arg(long, allow_negative_numbers = true, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    global_limit: Option<u32>,
    /// With --processes: also run one process of the same total concurrency.
    #[arg(long)]
    compare_one: bool,
    /// Prune every completed job (the finished backlog included) in chunks
    /// of 1,000 while the pickup latency is measured, to show what pruning
    /// costs claims.
    #[arg(long)]
    prune_while_measuring: bool,
    /// Enqueue the bulk jobs in batches of this many (each created open,
    /// extended by `BatchHandle::extend`, sealed, with one no-op continuation),
    /// to compare with the same jobs without batches.
    #[arg(long, allow_negative_numbers = true, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    batch_size: Option<u64>,
    /// Give the bulk jobs tenants, this many, in turn (t0, t1, ...), to
    /// measure what tenant limits and fair claiming cost.
    #[arg(long, allow_negative_numbers = true, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    tenants: Option<u64>,
    /// Claims of the measured queue rotate among its tenants (fair claiming).
    #[arg(long)]
    fair: bool,
    /// The worker runs at most this many jobs of one tenant at once.
    #[arg(long, allow_negative_numbers = true, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    tenant_limit: Option<u32>,
    /// Measure cron instead: this many entries, each firing every minute;
    /// the fire lag of every job is read back.
    #[arg(long, allow_negative_numbers = true, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    cron_entries: Option<u64>,
    /// With --cron-entries: the fire times (minutes) to measure.
    #[arg(long, default_value_t = 2, allow_negative_numbers = true, value_parser = clap::value_parser!(u64).range(1..=60))]
    cron_minutes: u64,
    /// With --cron-entries: schedulers racing on the store, each a worker
    /// with its own connections.
    #[arg(long, default_value_t = 1, allow_negative_numbers = true, value_parser = clap::value_parser!(u64).range(1..=16))]
    schedulers: u64,
    /// Measure the admin API's list and count operations instead, on the
    /// store filled by --backlog (use --backlog-state finished).
    #[arg(long)]
    admin_reads: bool,
    /// With --admin-reads: runs of each operation.
    #[arg(long, default_value_t = 20, allow_negative_numbers = true, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    admin_samples: u32,
}

/// What `--backlog` puts in the table.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum BacklogState {
    Pending,
    Finished,
}

/// The queue backlog jobs wait in; the measured worker never serves it.
const BACKLOG_QUEUE: &str = "bench_backlog";

/// The figures `errand bench` prints.
#[derive(Serialize, Debug)]
struct Report {
    backend: String,
    jobs: u64,
    concurrency: usize,
    /// `None`: the worker's default.
    claim_batch: Option<usize>,
    producers: u64,
    /// Jobs per batch of the bulk enqueue (`None`: no batches).
    batch_size: Option<u64>,
    /// Tenants the bulk jobs were spread over (`None`: none).
    tenants: Option<u64>,
    /// Whether the worker claimed fairly among tenants.
    fair: bool,
    /// The worker's tenant limit.
    tenant_limit: Option<u32>,
    /// Batches the bulk jobs were enqueued in, each adding a continuation.
    batches: u64,
    /// Reading the last batch's status (its kept counts), 100 times after
    /// the enqueue: median and slowest, in ms.
    batch_status_p50_ms: f64,
    batch_status_max_ms: f64,
    backlog: u64,
    backlog_state: BacklogState,
    /// PostgreSQL: claims, renewals and results committed without waiting
    /// for the WAL flush (`--async-job-updates`).
    async_job_updates: bool,
    enqueue_single_per_s: f64,
    enqueue_bulk_per_s: f64,
    process_per_s: f64,
    latency_p50_ms: f64,
    latency_p95_ms: f64,
    latency_p99_ms: f64,
    latency_samples: u64,
    /// Completed jobs pruned while the latency was measured
    /// (`--prune-while-measuring`), and at what rate.
    pruned_while_measuring: u64,
    prune_per_s: f64,
    peak_rss_mb: f64,
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn since_epoch_ns() -> u64 {
    u64::try_from(epoch().elapsed().as_nanos()).unwrap_or(u64::MAX)
}

struct Done {
    count: AtomicU64,
    target: AtomicU64,
    reached: Notify,
}

/// The no-op job whose processing rate is measured.
#[errand::job]
async fn bench_noop(done: State<Done>) -> Result<(), JobError> {
    let n = done.count.fetch_add(1, Ordering::Relaxed) + 1;
    if n == done.target.load(Ordering::Relaxed) {
        done.reached.notify_one();
    }
    Ok(())
}

/// The probe whose input is its enqueue time, for pickup latency.
#[errand::job]
async fn bench_probe(
    input: u64,
    probes: State<mpsc::UnboundedSender<u64>>,
) -> Result<(), JobError> {
    let _ = probes.send(since_epoch_ns().saturating_sub(input));
    Ok(())
}

/// Puts `n` jobs in the table before the measurement starts.
async fn seed_backlog(
    client: &Client,
    store: &Arc<dyn Store>,
    n: u64,
    state: BacklogState,
) -> anyhow::Result<()> {
    let day_ahead = chrono::Utc::now() + chrono::TimeDelta::days(1);
    let mut left = n;
    while left > 0 {
        let chunk = left.min(5_000);
        let offset = n - left;
        client
            .enqueue_many((0..chunk).map(|i| {
                let job = bench_noop::enqueue();
                if state == BacklogState::Pending && (offset + i) % 2 == 1 {
                    job.run_at(day_ahead)
                } else {
                    job.queue(BACKLOG_QUEUE)
                }
            }))
            .await?;
        left -= chunk;
    }
    if state == BacklogState::Finished {
        // Run them to completion with a worker of their own.
        let done = Arc::new(Done {
            count: AtomicU64::new(0),
            target: AtomicU64::new(n),
            reached: Notify::new(),
        });
        let worker = Worker::builder(Arc::clone(store))
            .register(bench_noop::job())
            .queues([BACKLOG_QUEUE])
            // Its kind's own queue is the measured worker's.
            .allow_unserved_kinds()
            .concurrency(200)
            .state_arc(Arc::clone(&done))
            .build()?;
        let handle = worker.start();
        done.reached.notified().await;
        handle.shutdown().await;
    }
    Ok(())
}

/// Brings a PostgreSQL backlog to the state of a table that has been there
/// a while, so that the measured run does not pay for setting it up: a
/// vacuum (the million rows just written are not yet marked visible, and the
/// first vacuum would read them all) and a checkpoint (setting up writes
/// gigabytes of WAL, whose checkpoints would otherwise run during the
/// measurement). Either may be refused to a role without the rights; the
/// run then goes on and says so.
async fn settle(pg: &errand::postgres::PgStore) {
    if let Err(e) = pg.vacuum().await {
        eprintln!("backlog: could not vacuum before measuring: {e}");
    }
    if let Err(e) = sqlx::raw_sql("CHECKPOINT").execute(pg.pool()).await {
        eprintln!("backlog: could not checkpoint before measuring: {e}");
    }
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

pub(crate) fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)] as f64 / 1e6
}

/// Removes what the bench created.
async fn clean(scratch: Scratch) -> anyhow::Result<()> {
    match scratch {
        Scratch::Schema(pg) => pg.drop_schema().await?,
        Scratch::Prefix(redis) => {
            redis.clear().await?;
        }
        Scratch::None | Scratch::Dir(..) => {}
    }
    Ok(())
}

/// What the bench created and removes at the end.
enum Scratch {
    None,
    /// A database file in a temporary folder (deleted with it), and its URL.
    Dir(#[allow(dead_code)] tempfile::TempDir, String),
    Schema(errand::postgres::PgStore),
    Prefix(errand::RedisStore),
}

impl Scratch {
    /// The URL and namespace (schema, key prefix) another process opens the
    /// bench's store with.
    fn target<'a>(&'a self, given: Target<'a>) -> Target<'a> {
        match self {
            Scratch::None => given,
            Scratch::Dir(_, url) => Target {
                url: Some(url),
                schema: None,
            },
            Scratch::Schema(pg) => Target {
                url: given.url,
                schema: Some(pg.schema()),
            },
            Scratch::Prefix(redis) => Target {
                url: given.url,
                schema: Some(redis.prefix()),
            },
        }
    }
}

async fn open(args: &BenchArgs, target: Target<'_>) -> anyhow::Result<(Arc<dyn Store>, Scratch)> {
    match args.backend.as_str() {
        "sqlite" => {
            if let Some(url) = target.url {
                if store::backend_of(url)? != "sqlite" {
                    return Err(UsageError(format!(
                        "invalid database_url {url:?}: --backend sqlite needs a sqlite:// URL"
                    ))
                    .into());
                }
                return Ok((store::open(target, url).await?, Scratch::None));
            }
            let dir = tempfile::tempdir()?;
            let url = format!("sqlite://{}", dir.path().join("bench.db").display());
            let store = store::open(
                Target {
                    url: Some(&url),
                    schema: None,
                },
                &url,
            )
            .await?;
            Ok((store, Scratch::Dir(dir, url)))
        }
        "postgres" => {
            let url = target
                .url
                .filter(|u| store::backend_of(u).ok() == Some("postgres"))
                .ok_or_else(|| {
                    UsageError(
                        "--backend postgres needs --database-url postgres://user@host/db".into(),
                    )
                })?;
            let secs = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            let options = errand::postgres::connect_options(url)?;
            let settings = errand::postgres::PgOptions {
                schema: target
                    .schema
                    .map_or_else(|| format!("errand_bench_{secs}"), str::to_owned),
                max_connections: 20,
                listen: true,
                synchronous_job_updates: !args.async_job_updates,
                ..errand::postgres::PgOptions::default()
            };
            let store = errand::postgres::PgStore::connect_with(options, settings).await?;
            let scratch = if target.schema.is_some() {
                Scratch::None
            } else {
                Scratch::Schema(store.clone())
            };
            Ok((Arc::new(store), scratch))
        }
        "redis" => {
            let url = target
                .url
                .filter(|u| store::backend_of(u).ok() == Some("redis"))
                .ok_or_else(|| {
                    UsageError("--backend redis needs --database-url redis://host:6379".into())
                })?;
            let secs = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            let options = errand::redis::RedisOptions {
                prefix: target
                    .schema
                    .map_or_else(|| format!("errand_bench:{{{secs}}}"), str::to_owned),
                ..errand::redis::RedisOptions::default()
            };
            let store = errand::RedisStore::connect_with(url, options).await?;
            let scratch = if target.schema.is_some() {
                Scratch::None
            } else {
                Scratch::Prefix(store.clone())
            };
            Ok((Arc::new(store), scratch))
        }
        other => Err(UsageError(format!(
            "invalid backend {other:?}: expected sqlite, postgres or redis"
        ))
        .into()),
    }
}

/// `errand bench`.
pub(crate) async fn run(target: Target<'_>, args: BenchArgs, json: bool) -> anyhow::Result<()> {
    errand::validate::limit(
        "jobs",
        usize::try_from(args.jobs).unwrap_or(usize::MAX),
        100_000_000,
    )?;
    errand::validate::limit(
        "concurrency",
        args.concurrency,
        errand::validate::MAX_CONCURRENCY,
    )?;
    let (store, scratch) = open(&args, target).await?;
    // The scratch store goes whatever happened: a failed run must not leave
    // a schema or a million keys behind for the next.
    let measured = measure(target, &args, json, store, &scratch).await;
    let cleaned = clean(scratch).await;
    measured.and(cleaned)
}

/// Every measure of `errand bench` on `store`, its figures printed.
async fn measure(
    target: Target<'_>,
    args: &BenchArgs,
    json: bool,
    store: Arc<dyn Store>,
    scratch: &Scratch,
) -> anyhow::Result<()> {
    let client = Client::new(Arc::clone(&store));
    let say = |line: String| {
        if !json {
            eprintln!("{line}");
        }
    };

    if args.backlog > 0 {
        let started = Instant::now();
        seed_backlog(&client, &store, args.backlog, args.backlog_state).await?;
        if let Scratch::Schema(pg) = scratch {
            settle(pg).await;
        }
        say(format!(
            "backlog: {} {:?} jobs in the table ({:.1} s to set up)",
            args.backlog,
            args.backlog_state,
            started.elapsed().as_secs_f64()
        ));
    }

    if args.admin_reads {
        let report = crate::bench_admin::run(Arc::clone(&store), args.admin_samples, &say).await?;
        if json {
            println!("{}", serde_json::to_string(&report)?);
        } else {
            report.print();
        }
        return Ok(());
    }

    if let Some(entries) = args.cron_entries {
        let again = scratch.target(target);
        let reopen = || async move {
            let url = again.url.unwrap_or(store::DEFAULT_URL);
            store::open(again, url).await
        };
        let report = crate::bench_cron::run(
            Arc::clone(&store),
            reopen,
            entries,
            args.cron_minutes,
            usize::try_from(args.schedulers).unwrap_or(1),
            &say,
        )
        .await?;
        if json {
            println!("{}", serde_json::to_string(&report)?);
        } else {
            println!("{report:#?}");
        }
        return Ok(());
    }

    if let Some(processes) = args.processes {
        let plan = crate::processes::Plan {
            processes: usize::try_from(processes).unwrap_or(1),
            concurrency: args.concurrency,
            jobs: args.jobs,
            job_ms: args.job_ms,
            global_limit: args.global_limit,
            compare_one: args.compare_one,
            async_job_updates: args.async_job_updates,
        };
        let scenarios =
            crate::processes::run(Arc::clone(&store), scratch.target(target), &plan, &say).await?;
        let ratio = match (scenarios.first(), scenarios.get(1)) {
            (Some(a), Some(b)) if a.jobs_per_s > 0.0 => Some(b.jobs_per_s / a.jobs_per_s),
            _ => None,
        };
        if json {
            println!(
                "{}",
                serde_json::json!({
                    "backend": store.backend(),
                    "jobs": args.jobs,
                    "job_ms": [args.job_ms.0, args.job_ms.1],
                    "backlog": args.backlog,
                    "async_job_updates": args.async_job_updates,
                    "scenarios": scenarios,
                    "second_over_first": ratio,
                })
            );
        } else {
            for s in &scenarios {
                println!(
                    "{:<12} {:>2} processes, {:>4} slots {:>10.0} jobs/s  {:>6.2} running  peak connections {}",
                    s.name,
                    s.processes,
                    s.total_concurrency,
                    s.jobs_per_s,
                    s.mean_running,
                    s.peak_server_connections
                        .map_or_else(|| "-".to_owned(), |n| n.to_string())
                );
            }
            if let Some(ratio) = ratio {
                println!("second / first: {:.0} %", ratio * 100.0);
            }
        }
        return Ok(());
    }

    // Single enqueues, one round trip each, from several producers.
    let single = args.single.min(args.jobs);
    let producers = args.producers.clamp(1, single.max(1));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for p in 0..producers {
        let client = client.clone();
        let share = single / producers + u64::from(p < single % producers);
        tasks.push(tokio::spawn(async move {
            for _ in 0..share {
                client.enqueue(bench_noop::enqueue()).await?;
            }
            Ok::<(), errand::Error>(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let enqueue_single_per_s = single as f64 / started.elapsed().as_secs_f64().max(1e-9);
    say(format!(
        "enqueue single: {single} jobs from {producers} producers, {enqueue_single_per_s:.0}/s"
    ));

    // Bulk enqueues of 5,000 jobs per round trip, or batches; with tenants
    // in turn.
    let mut made = 0u64;
    let tenants = args.tenants;
    let mut bulk_job = move || {
        let job = bench_noop::enqueue();
        made += 1;
        match tenants {
            Some(n) => job.tenant(format!("t{}", made % n)),
            None => job,
        }
    };
    let started = Instant::now();
    let mut left = args.jobs;
    let mut batches = 0u64;
    let mut last_batch = None;
    while left > 0 {
        match args.batch_size {
            Some(size) => {
                let n = left.min(size);
                let batch = client
                    .batch()
                    .on_complete(bench_noop::enqueue())
                    .open()
                    .enqueue()
                    .await?;
                batch.extend((0..n).map(|_| bulk_job())).await?;
                batch.seal().await?;
                batches += 1;
                left -= n;
                last_batch = Some(batch);
            }
            None => {
                let n = left.min(5_000);
                client.enqueue_many((0..n).map(|_| bulk_job())).await?;
                left -= n;
            }
        }
    }
    let enqueue_bulk_per_s = args.jobs as f64 / started.elapsed().as_secs_f64().max(1e-9);
    say(format!(
        "enqueue bulk: {} jobs{}, {enqueue_bulk_per_s:.0}/s",
        args.jobs,
        args.batch_size.map_or_else(String::new, |size| format!(
            " in {batches} batches of {size}"
        ))
    ));

    // A batch's status is its kept counts: reading it does not grow with
    // the batch.
    let mut status_reads = Vec::new();
    if let Some(batch) = &last_batch {
        for _ in 0..100 {
            let started = Instant::now();
            batch.status().await?;
            status_reads.push(u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX));
        }
        status_reads.sort_unstable();
        say(format!(
            "batch status: p50 {:.3} ms, max {:.3} ms (100 reads)",
            percentile(&status_reads, 50.0),
            percentile(&status_reads, 100.0)
        ));
    }

    // Processing: every job enqueued above (and each batch's continuation),
    // by one worker.
    let total = single + args.jobs + batches;
    let done = Arc::new(Done {
        count: AtomicU64::new(0),
        target: AtomicU64::new(total),
        reached: Notify::new(),
    });
    let (probe_tx, mut probe_rx) = mpsc::unbounded_channel::<u64>();
    let mut builder = Worker::builder(Arc::clone(&store))
        .register(bench_noop::job())
        .register(bench_probe::job())
        .concurrency(args.concurrency)
        .state_arc(Arc::clone(&done))
        .state(probe_tx);
    if let Some(batch) = args.claim_batch {
        builder = builder.claim_batch(batch);
    }
    if args.fair {
        builder = builder.fair_queue(errand::NewJob::DEFAULT_QUEUE);
    }
    if let Some(limit) = args.tenant_limit {
        builder = builder.tenant_limit(limit);
    }
    let worker = builder.build()?;
    let started = Instant::now();
    let handle = worker.start();
    done.reached.notified().await;
    // Count the processing as done once every result is stored: shutdown
    // returns once the worker has written all of them. (Polling statistics
    // instead would time a count over the whole table, backlog included.)
    handle.shutdown().await;
    let process_per_s = total as f64 / started.elapsed().as_secs_f64().max(1e-9);
    say(format!(
        "process: {total} no-op jobs at concurrency {}, {process_per_s:.0}/s",
        args.concurrency
    ));

    // Pickup latency: one job at a time into an idle worker (while a task
    // prunes, with --prune-while-measuring).
    let pruning = args
        .prune_while_measuring
        .then(|| tokio::spawn(prune_completed(Arc::clone(&store))));
    let handle = worker.start();
    let _ = epoch();
    let mut latencies = Vec::with_capacity(usize::try_from(args.latency_samples).unwrap_or(0));
    for _ in 0..args.latency_samples {
        client
            .enqueue(bench_probe::enqueue(since_epoch_ns()))
            .await?;
        match tokio::time::timeout(Duration::from_secs(10), probe_rx.recv()).await {
            Ok(Some(ns)) => latencies.push(ns),
            _ => anyhow::bail!("a latency probe did not start within 10 s"),
        }
    }
    let (pruned_while_measuring, prune_per_s) = match pruning {
        Some(task) => {
            task.abort();
            let (rows, seconds) = *PRUNED
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            (rows, rows as f64 / seconds.max(1e-9))
        }
        None => (0, 0.0),
    };
    handle.shutdown().await;
    latencies.sort_unstable();
    let report = Report {
        backend: store.backend().to_owned(),
        jobs: args.jobs,
        concurrency: args.concurrency,
        claim_batch: args.claim_batch,
        producers,
        batch_size: args.batch_size,
        tenants: args.tenants,
        fair: args.fair,
        tenant_limit: args.tenant_limit,
        batches,
        batch_status_p50_ms: percentile(&status_reads, 50.0),
        batch_status_max_ms: percentile(&status_reads, 100.0),
        backlog: args.backlog,
        backlog_state: args.backlog_state,
        async_job_updates: args.async_job_updates,
        enqueue_single_per_s,
        enqueue_bulk_per_s,
        process_per_s,
        latency_p50_ms: percentile(&latencies, 50.0),
        latency_p95_ms: percentile(&latencies, 95.0),
        latency_p99_ms: percentile(&latencies, 99.0),
        latency_samples: args.latency_samples,
        pruned_while_measuring,
        prune_per_s,
        peak_rss_mb: peak_rss_mb(),
    };
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("backend              {}", report.backend);
        println!("jobs                 {}", report.jobs);
        println!("concurrency          {}", report.concurrency);
        if let Some(batch) = report.claim_batch {
            println!("claim batch          {batch}");
        }
        if let Some(n) = report.tenants {
            println!(
                "tenants              {n}{}{}",
                if report.fair { ", fair claiming" } else { "" },
                report
                    .tenant_limit
                    .map_or_else(String::new, |l| format!(", limit {l} each"))
            );
        }
        if let Some(size) = report.batch_size {
            println!(
                "batches              {} of {size} jobs, one continuation each",
                report.batches
            );
            println!(
                "batch status read    p50 {:.3} ms  max {:.3} ms",
                report.batch_status_p50_ms, report.batch_status_max_ms
            );
        }
        if report.backlog > 0 {
            println!(
                "backlog              {} {:?}",
                report.backlog, report.backlog_state
            );
        }
        println!(
            "enqueue single       {:>10.0} jobs/s",
            report.enqueue_single_per_s
        );
        println!(
            "enqueue bulk         {:>10.0} jobs/s",
            report.enqueue_bulk_per_s
        );
        println!("process (no-op)      {:>10.0} jobs/s", report.process_per_s);
        println!(
            "pickup latency       p50 {:.3} ms  p95 {:.3} ms  p99 {:.3} ms  ({} samples)",
            report.latency_p50_ms,
            report.latency_p95_ms,
            report.latency_p99_ms,
            report.latency_samples
        );
        if args.prune_while_measuring {
            println!(
                "pruned meanwhile     {:>10} jobs ({:.0}/s)",
                report.pruned_while_measuring, report.prune_per_s
            );
        }
        println!("peak RSS             {:>10.1} MB", report.peak_rss_mb);
    }
    Ok(())
}

/// Rows the pruning task deleted so far and the seconds it took.
static PRUNED: std::sync::Mutex<(u64, f64)> = std::sync::Mutex::new((0, 0.0));

/// Deletes every completed job in chunks of 1,000, as the pruner does, until
/// none is left or the task is stopped.
async fn prune_completed(store: Arc<dyn Store>) -> errand::Result<()> {
    let started = Instant::now();
    let before = chrono::Utc::now() + chrono::TimeDelta::seconds(1);
    let mut after = None;
    loop {
        let out = store
            .prune(errand::store::PruneParams {
                state: errand::JobState::Completed,
                finished_before: before,
                after,
                limit: 1_000,
            })
            .await?;
        {
            let mut pruned = PRUNED
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            pruned.0 += out.deleted.len() as u64;
            pruned.1 = started.elapsed().as_secs_f64();
        }
        after = out.next;
        if after.is_none() {
            return Ok(());
        }
    }
}
