//! `errand demo`: an embedded SQLite worker running sample jobs shaped like
//! the everyday use cases (emails with retries, image resizing under a
//! concurrency limit, invoices at a given time, failed-payment checks that
//! sometimes fail for good, a cleanup job), an album of photos resized in a
//! batch whose continuation zips it, and a cron entry beating every second;
//! the dashboard shows it at work on http://127.0.0.1:7700/.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use errand::{Attempt, Backoff, Client, JobError, JobState, NewJob, State, Stats, Worker};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::store;

/// Arguments of `errand demo`.
#[derive(Args, Debug)]
pub(crate) struct DemoArgs {
    /// Enqueue this many jobs up front (default: a steady stream until Ctrl-C).
    #[arg(long, allow_negative_numbers = true, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    jobs: Option<u64>,
    /// Exit once every job has finished, printing a summary (needs --jobs).
    #[arg(long, requires = "jobs")]
    exit_when_done: bool,
    /// Jobs enqueued per second in streaming mode.
    #[arg(long, default_value_t = 20, allow_negative_numbers = true, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    rate: u32,
    /// Jobs running at once.
    #[arg(long, default_value_t = 8, allow_negative_numbers = true, value_parser = crate::bench::positive_usize)]
    concurrency: usize,
    /// Serve the dashboard and the admin API here while the demo runs (a
    /// loopback address: no token is set).
    #[arg(long, default_value = "127.0.0.1:7700")]
    dashboard: String,
    /// Do not serve the dashboard.
    #[arg(long, conflicts_with = "dashboard")]
    no_dashboard: bool,
}

/// The dashboard's address, checked before anything starts: loopback only,
/// since the demo sets no token.
fn dashboard_addr(args: &DemoArgs) -> errand::Result<Option<std::net::SocketAddr>> {
    if args.no_dashboard {
        return Ok(None);
    }
    let addr: std::net::SocketAddr = args.dashboard.parse().map_err(|e| {
        errand::Error::invalid(
            "dashboard",
            &args.dashboard,
            format!("is not an address such as 127.0.0.1:7700: {e}"),
        )
    })?;
    if !addr.ip().is_loopback() {
        return Err(errand::Error::invalid(
            "dashboard",
            &args.dashboard,
            "must be a loopback address (the demo sets no token): use errand serve --token to serve others",
        ));
    }
    Ok(Some(addr))
}

/// Serves the dashboard over the demo's store and worker; a port already
/// taken is reported and the demo goes on without it.
async fn serve_dashboard(addr: std::net::SocketAddr, client: Client, worker: Worker) {
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("errand demo: no dashboard, cannot listen on {addr}: {e}");
            return;
        }
    };
    let local = listener.local_addr().unwrap_or(addr);
    eprintln!("errand demo: dashboard on http://{local}/ (Ctrl-C stops the demo)");
    let router = errand_admin::Api::new(client)
        .worker(worker)
        .acting_as("demo")
        .router(errand_admin::Access::loopback());
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            eprintln!("errand demo: the dashboard stopped: {e}");
        }
    });
}

#[derive(Default)]
struct Counters {
    retried: AtomicU64,
    /// Albums zipped by the batch's continuation.
    zipped: AtomicU64,
    /// Jobs of the cron entry run.
    beats: AtomicU64,
}

/// The cron entry of the demo.
const HEARTBEAT: &str = "demo-heartbeat";
/// Photos in the demo's album batch.
const ALBUM: u64 = 6;

#[derive(Serialize, Deserialize)]
struct Email {
    to: String,
}

#[derive(Serialize, Deserialize)]
struct Image {
    path: String,
    width: u32,
}

#[derive(Serialize, Deserialize)]
struct Invoice {
    customer: u64,
    cents: u64,
}

#[derive(Serialize, Deserialize)]
struct Payment {
    subscription: u64,
    card_expired: bool,
}

async fn work(min_ms: u64, max_ms: u64) {
    tokio::time::sleep(Duration::from_millis(fastrand::u64(min_ms..=max_ms))).await;
}

/// An email queue whose SMTP server is busy one time in five.
#[errand::job(queue = "mail", max_attempts = 4)]
async fn send_email(
    input: Email,
    attempt: Attempt,
    counters: State<Counters>,
) -> Result<String, JobError> {
    work(5, 25).await;
    if attempt.0 < 3 && fastrand::u8(..100) < 20 {
        counters.retried.fetch_add(1, Ordering::Relaxed);
        return Err(JobError::retry("SMTP server busy (421)"));
    }
    Ok(format!("sent to {}", input.to))
}

/// Image resizing, at most two at once in this process.
#[errand::job(concurrency = 2)]
async fn resize_image(input: Image) -> Result<String, JobError> {
    work(10, 40).await;
    Ok(format!("{} resized to {}px", input.path, input.width))
}

/// An invoice sent at a given time.
#[errand::job(queue = "billing")]
async fn send_invoice(input: Invoice) -> Result<u64, JobError> {
    work(5, 15).await;
    Ok(input.cents)
}

/// A failed-payment check; an expired card cannot be fixed by retrying.
#[errand::job(queue = "billing", max_attempts = 3)]
async fn check_failed_payment(input: Payment) -> Result<(), JobError> {
    work(5, 15).await;
    if input.card_expired {
        return Err(JobError::fatal(format!(
            "subscription {}: card expired, the customer must update it",
            input.subscription
        )));
    }
    Ok(())
}

/// The album batch's continuation: runs once, after every photo is done.
#[errand::job]
async fn zip_album(
    input: String,
    batch: errand::Continued,
    counters: State<Counters>,
) -> Result<String, JobError> {
    let status = batch.status().await?;
    counters.zipped.fetch_add(1, Ordering::Relaxed);
    Ok(format!(
        "{input}: zipped {} photos",
        status.counts.completed
    ))
}

/// Fired by the cron entry every second.
#[errand::job(queue = "low")]
async fn heartbeat(counters: State<Counters>) -> Result<(), JobError> {
    counters.beats.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// Housekeeping.
#[errand::job(queue = "low")]
async fn cleanup() -> Result<u32, JobError> {
    work(1, 5).await;
    Ok(fastrand::u32(0..100))
}

fn sample(n: u64) -> errand::Result<NewJob> {
    let now = chrono::Utc::now();
    match n % 5 {
        0 => send_email::enqueue(Email {
            to: format!("user{n}@example.com"),
        })
        .into_new_job(now),
        1 => resize_image::enqueue(Image {
            path: format!("photos/{n}.jpg"),
            width: 640,
        })
        .into_new_job(now),
        2 => send_invoice::enqueue(Invoice {
            customer: n,
            cents: 1999,
        })
        .delay(Duration::from_millis(fastrand::u64(500..3000)))
        .into_new_job(now),
        3 => check_failed_payment::enqueue(Payment {
            subscription: n,
            card_expired: fastrand::u8(..100) < 30,
        })
        .into_new_job(now),
        _ => cleanup::enqueue().into_new_job(now),
    }
}

fn describe(stats: &Stats) -> String {
    [
        JobState::Scheduled,
        JobState::Available,
        JobState::Running,
        JobState::Retrying,
        JobState::Completed,
        JobState::Failed,
    ]
    .iter()
    .map(|s| format!("{s} {}", stats.total(*s)))
    .collect::<Vec<_>>()
    .join(" · ")
}

/// `errand demo`.
pub(crate) async fn run(target: store::Target<'_>, args: DemoArgs) -> anyhow::Result<()> {
    errand::validate::limit(
        "concurrency",
        args.concurrency,
        errand::validate::MAX_CONCURRENCY,
    )?;
    errand::validate::limit("rate", args.rate as usize, 1_000_000)?;
    let dashboard = dashboard_addr(&args)?;
    let store = store::open(target, "sqlite://errand-demo.db").await?;
    let client = Client::new(Arc::clone(&store));
    let counters = Arc::new(Counters::default());
    let worker = Worker::builder(Arc::clone(&store))
        .register(send_email::job())
        .register(resize_image::job())
        .register(send_invoice::job())
        .register(check_failed_payment::job())
        .register(cleanup::job())
        .register(zip_album::job())
        .register(heartbeat::job())
        .cron(errand::cron::Entry::of::<heartbeat>(
            HEARTBEAT,
            "@every 1s",
            (),
        )?)
        .queues(["mail", "billing", "default", "low"])
        .concurrency(args.concurrency)
        .backoff(Backoff::Exponential {
            base: Duration::from_millis(200),
            max: Duration::from_secs(2),
            jitter: 0.2,
        })
        .state_arc(Arc::clone(&counters))
        .build()?;
    let before = client.stats(None).await?;
    let started = Instant::now();
    let handle = worker.start();
    eprintln!(
        "errand demo: worker {} on {}",
        worker.name(),
        target.url.unwrap_or("sqlite://errand-demo.db")
    );
    if let Some(addr) = dashboard {
        serve_dashboard(addr, client.clone(), worker.clone()).await;
    }

    let bar = ProgressBar::new(args.jobs.unwrap_or(0));
    let style = if args.jobs.is_some() {
        "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} finished  {msg}"
    } else {
        "{spinner} [{elapsed_precise}] {pos} finished  {msg}"
    };
    bar.set_style(
        ProgressStyle::with_template(style).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );

    // An album: its photos resized in a batch, zipped by its continuation
    // once every photo is done.
    let album = client
        .batch()
        .jobs((0..ALBUM).map(|n| {
            resize_image::enqueue(Image {
                path: format!("album/{n}.jpg"),
                width: 1280,
            })
        }))
        .on_complete(zip_album::enqueue("summer album".to_owned()))
        .enqueue()
        .await?;

    let mut enqueued: u64 = 0;
    if let Some(n) = args.jobs {
        let jobs = (0..n).map(sample).collect::<errand::Result<Vec<_>>>()?;
        for chunk in jobs.chunks(10_000) {
            client.enqueue_raw(chunk.to_vec()).await?;
        }
        enqueued = n;
    }
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut next_stream = Instant::now();
    loop {
        tokio::select! {
            _ = &mut ctrl_c => { bar.println("stopping: waiting for running jobs…"); break; }
            _ = tick.tick() => {}
        }
        if args.jobs.is_none() && Instant::now() >= next_stream {
            let batch = u64::from(args.rate.div_ceil(10));
            let jobs = (enqueued..enqueued + batch)
                .map(sample)
                .collect::<errand::Result<Vec<_>>>()?;
            client.enqueue_raw(jobs).await?;
            enqueued += batch;
            next_stream += Duration::from_millis(100);
        }
        let stats = client.stats(None).await?;
        let finished = (stats.total(JobState::Completed)
            + stats.total(JobState::Failed)
            + stats.total(JobState::Cancelled))
        .saturating_sub(
            before.total(JobState::Completed)
                + before.total(JobState::Failed)
                + before.total(JobState::Cancelled),
        );
        bar.set_position(finished);
        bar.set_message(describe(&stats));
        let album_zipped = counters.zipped.load(Ordering::Relaxed) > 0;
        let beaten = counters.beats.load(Ordering::Relaxed) > 0;
        if args.exit_when_done && stats.unfinished() == 0 && album_zipped && beaten {
            break;
        }
    }
    handle.shutdown().await;
    if args.exit_when_done {
        // A heartbeat may have fired between the last look and the
        // shutdown: run what is left (a drain fires at most one more).
        for _ in 0..10 {
            if client.stats(None).await?.unfinished() == 0 {
                break;
            }
            worker.drain().await?;
        }
    }
    bar.finish_and_clear();
    let album = album.status().await?;
    let after = client.stats(None).await?;
    let elapsed = started.elapsed().as_secs_f64();
    let completed = after.total(JobState::Completed) - before.total(JobState::Completed);
    let failed = after.total(JobState::Failed) - before.total(JobState::Failed);
    println!("errand demo summary");
    println!("  enqueued   {enqueued}");
    let zip = album.continuations.first();
    println!(
        "  batch      {} photos in batch {}: {} resized; on_complete {} {}",
        album.counts.total,
        album.id,
        album.counts.completed,
        zip.map_or("-", |c| c.kind.as_str()),
        match counters.zipped.load(Ordering::Relaxed) {
            0 if zip.is_some_and(|c| c.enqueued) => "enqueued",
            0 => "waiting for the batch",
            _ => "ran",
        }
    );
    println!(
        "  cron       {} jobs from {HEARTBEAT} (@every 1s)",
        counters.beats.load(Ordering::Relaxed)
    );
    println!("  completed  {completed}");
    println!("  failed     {failed} (for good: expired cards)");
    println!(
        "  retried    {} attempts",
        counters.retried.load(Ordering::Relaxed)
    );
    println!("  elapsed    {elapsed:.2} s");
    println!(
        "  rate       {:.0} jobs/s",
        (completed + failed) as f64 / elapsed.max(1e-9)
    );
    Ok(())
}
