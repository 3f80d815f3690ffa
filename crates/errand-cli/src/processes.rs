//! `errand bench --processes N`: worker processes sharing one store, as a
//! cluster runs. The bench enqueues the jobs, starts N processes of
//! `errand bench-worker` on the same store, and times them from the moment
//! all of them run until every job has ended. Scenarios compare a global
//! limit of K with an unlimited control of K slots spread over the same
//! processes (`--global-limit`): what the limit's coordination costs; and N
//! processes with one of the same total concurrency (`--compare-one`).

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use errand::{Client, JobError, State, Store, Worker};
use serde::Serialize;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::store::{self, Target};

/// Jobs ended in this worker process.
#[derive(Default)]
struct Ended(AtomicU64);

/// Sleeps its input's milliseconds, as a job that waits on another service.
#[errand::job]
async fn bench_sleep(input: u64, ended: State<Ended>) -> Result<(), JobError> {
    if input > 0 {
        tokio::time::sleep(Duration::from_millis(input)).await;
    }
    ended.0.0.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// Arguments of the hidden `errand bench-worker` (one process of
/// `errand bench --processes`).
#[derive(Args, Debug)]
pub(crate) struct WorkerArgs {
    /// Jobs at once in this process.
    #[arg(long)]
    concurrency: usize,
    /// Most `bench_sleep` jobs running at once across every process.
    #[arg(long)]
    global_limit: Option<u32>,
    /// PostgreSQL connections of the store's pool (see BENCHMARKS.md).
    #[arg(long, default_value_t = 4)]
    max_connections: u32,
    /// PostgreSQL: asynchronous job updates.
    #[arg(long)]
    async_job_updates: bool,
}

/// `errand bench-worker`: runs `bench_sleep` jobs, prints `ready` once it
/// runs and `ended N` every 50 ms, until it is killed.
pub(crate) async fn worker(target: Target<'_>, args: WorkerArgs) -> anyhow::Result<()> {
    let store = open(target, args.max_connections, args.async_job_updates).await?;
    let ended = Arc::new(Ended::default());
    let mut builder = Worker::builder(store)
        .register(bench_sleep::job())
        .concurrency(args.concurrency)
        .state_arc(Arc::clone(&ended));
    if let Some(limit) = args.global_limit {
        builder = builder.global_limit(bench_sleep::KIND, limit);
    }
    if let Some(ms) = std::env::var("ERRAND_BENCH_POLL_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        builder = builder.poll_interval(Duration::from_millis(ms));
    }
    let _running = builder.build()?.start();
    println!("ready");
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        println!("ended {}", ended.0.load(Ordering::Relaxed));
    }
}

/// Opens the target as a worker process of the bench does: PostgreSQL with
/// a small pool, so that many processes fit in the server's connections.
async fn open(
    target: Target<'_>,
    max_connections: u32,
    async_job_updates: bool,
) -> anyhow::Result<Arc<dyn Store>> {
    let url = target.url.unwrap_or(store::DEFAULT_URL);
    if store::backend_of(url)? == "postgres" {
        let settings = errand::postgres::PgOptions {
            schema: target
                .schema
                .unwrap_or(errand::postgres::DEFAULT_SCHEMA)
                .to_owned(),
            max_connections,
            synchronous_job_updates: !async_job_updates,
            ..Default::default()
        };
        let options = errand::postgres::connect_options(url)?;
        return Ok(Arc::new(
            errand::PgStore::connect_with(options, settings).await?,
        ));
    }
    store::open(target, store::DEFAULT_URL).await
}

/// What `--processes` measures.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// Worker processes.
    pub processes: usize,
    /// Jobs at once per process.
    pub concurrency: usize,
    /// Jobs per scenario.
    pub jobs: u64,
    /// Each job sleeps a whole number of milliseconds drawn from this range.
    pub job_ms: (u64, u64),
    /// Compare a global limit of this many with an unlimited control.
    pub global_limit: Option<u32>,
    /// Compare with one process of the same total concurrency.
    pub compare_one: bool,
    /// PostgreSQL: asynchronous job updates.
    pub async_job_updates: bool,
}

/// Parses `--job-ms`: `N` or `A..B` (inclusive), in milliseconds.
pub(crate) fn job_ms(text: &str) -> Result<(u64, u64), String> {
    let (low, high) = text.split_once("..").unwrap_or((text, text));
    let parse = |s: &str| {
        s.trim()
            .parse::<u64>()
            .map_err(|e| format!("{s:?} is not a number of milliseconds: {e}"))
    };
    let (low, high) = (parse(low)?, parse(high)?);
    if low > high || high > 60_000 {
        return Err(format!(
            "{text:?}: use N or A..B with A <= B <= 60000 (milliseconds)"
        ));
    }
    Ok((low, high))
}

/// One scenario's figures.
#[derive(Debug, Serialize)]
pub(crate) struct Scenario {
    /// What it is: `control`, `limited`, `one process`, `processes`.
    pub name: String,
    /// Worker processes.
    pub processes: usize,
    /// Jobs at once per process (the most, when they differ).
    pub concurrency: usize,
    /// Jobs at once in all processes together.
    pub total_concurrency: usize,
    /// The global limit, if any.
    pub global_limit: Option<u32>,
    /// Jobs ended per second.
    pub jobs_per_s: f64,
    /// Jobs running at once on average (job time / wall time).
    pub mean_running: f64,
    /// Most connections the store's server had from this run at once
    /// (PostgreSQL: sessions of the database; Redis: clients), sampled.
    pub peak_server_connections: Option<u64>,
}

/// Runs the plan's scenarios on `store` (which the parent opened at
/// `target`) and returns their figures.
pub(crate) async fn run(
    store: Arc<dyn Store>,
    target: Target<'_>,
    plan: &Plan,
    say: &dyn Fn(String),
) -> anyhow::Result<Vec<Scenario>> {
    let client = Client::new(Arc::clone(&store));
    let mut scenarios = Vec::new();
    let mut runs: Vec<(String, Vec<usize>, Option<u32>)> = Vec::new();
    let each = vec![plan.concurrency; plan.processes];
    if let Some(limit) = plan.global_limit {
        // The control: as many slots as the limit, without a limit, spread
        // over the same processes (5 over 3: 2, 2, 1).
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let spread = (0..plan.processes)
            .map(|i| limit / plan.processes + usize::from(i < limit % plan.processes))
            .filter(|n| *n > 0)
            .collect();
        runs.push(("control".into(), spread, None));
        runs.push(("limited".into(), each, plan.global_limit));
    } else {
        runs.push(("processes".into(), each, None));
    }
    if plan.compare_one {
        let total = plan.processes * plan.concurrency;
        runs.push(("one process".into(), vec![total], plan.global_limit));
    }
    for (name, concurrencies, limit) in runs {
        let job_ms = enqueue(&client, plan).await?;
        let scenario = measure(&name, target, &concurrencies, limit, plan, job_ms).await?;
        say(format!(
            "{name}: {} process(es), concurrency {concurrencies:?}{}: {:.0} jobs/s, {:.2} running on average, peak server connections {:?}",
            concurrencies.len(),
            limit
                .map(|l| format!(", global limit {l}"))
                .unwrap_or_default(),
            scenario.jobs_per_s,
            scenario.mean_running,
            scenario.peak_server_connections
        ));
        scenarios.push(scenario);
    }
    Ok(scenarios)
}

/// Enqueues one scenario's jobs; returns the total of their sleeps (ms).
async fn enqueue(client: &Client, plan: &Plan) -> anyhow::Result<u64> {
    let (low, high) = plan.job_ms;
    let mut left = plan.jobs;
    let mut total_ms = 0;
    while left > 0 {
        let n = left.min(5_000);
        let sleeps: Vec<u64> = (0..n).map(|_| fastrand::u64(low..=high)).collect();
        total_ms += sleeps.iter().sum::<u64>();
        client
            .enqueue_many(sleeps.into_iter().map(bench_sleep::enqueue))
            .await?;
        left -= n;
    }
    Ok(total_ms)
}

async fn measure(
    name: &str,
    target: Target<'_>,
    concurrencies: &[usize],
    limit: Option<u32>,
    plan: &Plan,
    job_ms: u64,
) -> anyhow::Result<Scenario> {
    let processes = concurrencies.len();
    let exe = std::env::current_exe().context("the errand binary's path")?;
    let mut children: Vec<Child> = Vec::new();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, u64)>();
    for (i, concurrency) in concurrencies.iter().enumerate() {
        let mut command = Command::new(&exe);
        if let Some(url) = target.url {
            command.arg("--database-url").arg(url);
        }
        if let Some(schema) = target.schema {
            command.arg("--schema").arg(schema);
        }
        command
            .arg("bench-worker")
            .arg("--concurrency")
            .arg(concurrency.to_string());
        if let Some(limit) = limit {
            command.arg("--global-limit").arg(limit.to_string());
        }
        if plan.async_job_updates {
            command.arg("--async-job-updates");
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("start a bench worker process")?;
        let stdout = child.stdout.take().context("the worker's output")?;
        let tx = tx.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let count = match line.as_str() {
                    "ready" => u64::MAX,
                    _ => match line.strip_prefix("ended ").map(str::parse::<u64>) {
                        Some(Ok(n)) => n,
                        _ => continue,
                    },
                };
                if tx.send((i, count)).is_err() {
                    break;
                }
            }
        });
        children.push(child);
    }
    drop(tx);
    let mut ended = vec![0u64; processes];
    let mut ready = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    while ready < processes {
        match tokio::time::timeout_at(deadline.into(), rx.recv()).await {
            Ok(Some((_, u64::MAX))) => ready += 1,
            Ok(Some((i, n))) => ended[i] = n,
            _ => anyhow::bail!("{name}: the worker processes did not all start within 120 s"),
        }
    }
    let started = Instant::now();
    let at_start: u64 = ended.iter().sum();
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = tokio::spawn(sample_connections(
        target.url.unwrap_or(store::DEFAULT_URL).to_owned(),
        Arc::clone(&peak),
    ));
    loop {
        if ended.iter().sum::<u64>() >= plan.jobs {
            break;
        }
        match rx.recv().await {
            Some((i, n)) if n != u64::MAX => ended[i] = n,
            Some(_) => {}
            None => anyhow::bail!("{name}: the worker processes stopped before every job ended"),
        }
    }
    let elapsed = started.elapsed().as_secs_f64().max(1e-9);
    sampler.abort();
    let peak = Some(peak.load(Ordering::Relaxed)).filter(|n| *n > 0);
    for child in &mut children {
        let _ = child.kill().await;
    }
    let measured = plan.jobs.saturating_sub(at_start);
    let share = measured as f64 / plan.jobs.max(1) as f64;
    Ok(Scenario {
        name: name.to_owned(),
        processes,
        concurrency: concurrencies.iter().copied().max().unwrap_or(0),
        total_concurrency: concurrencies.iter().sum(),
        global_limit: limit,
        jobs_per_s: measured as f64 / elapsed,
        mean_running: job_ms as f64 * share / 1000.0 / elapsed,
        peak_server_connections: peak,
    })
}

/// Samples the server's connections every 200 ms until aborted, keeping the
/// largest count in `peak` (nothing for SQLite).
async fn sample_connections(url: String, peak: Arc<AtomicU64>) {
    let counter = match store::backend_of(&url) {
        Ok("postgres") => match sqlx::PgPool::connect(&url).await {
            Ok(pool) => Counter::Postgres(pool),
            Err(_) => return,
        },
        Ok("redis") => match redis::Client::open(url.as_str()) {
            Ok(client) => match client.get_multiplexed_async_connection().await {
                Ok(conn) => Counter::Redis(conn),
                Err(_) => return,
            },
            Err(_) => return,
        },
        _ => return,
    };
    loop {
        if let Some(n) = counter.sample().await {
            peak.fetch_max(n, Ordering::Relaxed);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

enum Counter {
    Postgres(sqlx::PgPool),
    Redis(redis::aio::MultiplexedConnection),
}

impl Counter {
    async fn sample(&self) -> Option<u64> {
        match self {
            Counter::Postgres(pool) => sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
            )
            .fetch_one(pool)
            .await
            .ok()
            .and_then(|n| u64::try_from(n).ok()),
            Counter::Redis(conn) => {
                let mut conn = conn.clone();
                let list: String = redis::cmd("CLIENT")
                    .arg("LIST")
                    .query_async(&mut conn)
                    .await
                    .ok()?;
                // Less this sampler's own connection.
                Some((list.lines().count() as u64).saturating_sub(1))
            }
        }
    }
}
