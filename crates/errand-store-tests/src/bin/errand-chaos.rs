//! Long chaos, outside CI: many jobs run by worker processes of
//! `errand-probe-worker` while the run kills workers with SIGKILL (and
//! starts replacements), restarts the store's server and cuts the network
//! between the workers and the store (a TCP proxy that drops every
//! connection and refuses new ones for a while). At the end it prints how
//! many jobs were lost, how many ran more than once, and how many of those
//! the run explains (a run logged by a worker that was killed, or ended
//! near a restart or a cut).
//!
//! Usage: `errand-chaos sqlite|postgres|redis [JOBS] [KILLS]`
//! (default 100000 jobs, 50 kills). PostgreSQL and Redis run on throwaway
//! servers of their own (initdb/pg_ctl, redis-server); SQLite has no server
//! to restart or network to cut, so only workers are killed.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use errand::store::StatsParams;
use errand::{JobState, NewJob};
use errand_store_tests::Harness;
use errand_store_tests::backends::ThrowawayServer;
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::task::AbortHandle;

/// Workers at any time, each of this concurrency, with this lease.
const WORKERS: usize = 4;
const CONCURRENCY: usize = 8;
const LEASE_MS: u64 = 5_000;
/// How long the server stays down, and the network cut.
const OUTAGE: Duration = Duration::from_secs(3);

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// A TCP proxy between the workers and the store's server that can cut the
/// network: every connection dropped, new ones refused, for a while.
struct Proxy {
    port: u16,
    cut: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<AbortHandle>>>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let cut = Arc::new(AtomicBool::new(false));
        let links: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let (cut2, links2) = (Arc::clone(&cut), Arc::clone(&links));
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if cut2.load(Ordering::SeqCst) {
                    continue; // dropped: the client sees the connection close
                }
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                if let Ok(mut links) = links2.lock() {
                    links.retain(|l| !l.is_finished());
                    links.push(task.abort_handle());
                }
            }
        });
        Ok(Proxy { port, cut, links })
    }

    fn url(&self, scheme_and_user: &str, rest: &str) -> String {
        format!("{scheme_and_user}127.0.0.1:{}{rest}", self.port)
    }

    async fn cut_for(&self, outage: Duration) {
        self.cut.store(true, Ordering::SeqCst);
        if let Ok(mut links) = self.links.lock() {
            for link in links.drain(..) {
                link.abort();
            }
        }
        tokio::time::sleep(outage).await;
        self.cut.store(false, Ordering::SeqCst);
    }
}

struct Worker {
    child: Child,
    log: PathBuf,
}

fn spawn(bin: &Path, h: &Harness, dir: &Path, n: usize) -> Worker {
    let log = dir.join(format!("worker-{n}.log"));
    let child = Command::new(bin)
        .env("ERRAND_PROBE_TIMES", "1")
        .arg(&h.url)
        .arg(&log)
        .arg(CONCURRENCY.to_string())
        .arg(LEASE_MS.to_string())
        .args(h.namespace.iter())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()));
    Worker { child, log }
}

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

/// One run line of a probe log: job, attempt, start and end (ns), log index.
struct Run {
    start: u128,
    end: u128,
    log: usize,
}

fn read_runs(logs: &[PathBuf]) -> BTreeMap<i64, Vec<Run>> {
    let mut runs: BTreeMap<i64, Vec<Run>> = BTreeMap::new();
    for (i, log) in logs.iter().enumerate() {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        for line in text.lines() {
            let fields: Vec<&str> = line.split(' ').collect();
            if let [id, _, start, end] = fields[..]
                && let (Ok(id), Ok(start), Ok(end)) = (id.parse(), start.parse(), end.parse())
            {
                runs.entry(id).or_default().push(Run { start, end, log: i });
            }
        }
    }
    runs
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let store = args.get(1).map(String::as_str).unwrap_or("sqlite");
    let total: u64 = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let kills: u64 = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(50);
    let bin = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("errand-probe-worker")))
        .filter(|bin| bin.exists())
        .unwrap_or_else(|| panic!("errand-probe-worker next to this binary: cargo build -p errand-store-tests --release --bins"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temporary directory: {e}"));

    // The server (restartable) and the proxy in front of it.
    let pg;
    let redis;
    let (server, proxy): (Option<&dyn ThrowawayServer>, Option<Proxy>) = match store {
        "postgres" => {
            pg = errand_store_tests::backends::pg_server::PgServer::start()
                .unwrap_or_else(|e| panic!("{e}"));
            let upstream: SocketAddr = format!("127.0.0.1:{}", port_of(&pg.url()))
                .parse()
                .unwrap_or_else(|e| panic!("{e}"));
            (
                Some(&pg),
                Some(
                    Proxy::start(upstream)
                        .await
                        .unwrap_or_else(|e| panic!("proxy: {e}")),
                ),
            )
        }
        "redis" => {
            redis = errand_store_tests::backends::redis_server::RedisServer::start()
                .unwrap_or_else(|e| panic!("{e}"));
            let upstream: SocketAddr = format!("127.0.0.1:{}", port_of(&redis.url()))
                .parse()
                .unwrap_or_else(|e| panic!("{e}"));
            (
                Some(&redis),
                Some(
                    Proxy::start(upstream)
                        .await
                        .unwrap_or_else(|e| panic!("proxy: {e}")),
                ),
            )
        }
        _ => (None, None),
    };
    let h = match (store, &proxy, server) {
        ("postgres", Some(proxy), Some(server)) => {
            let url = server.url();
            let (head, tail) = split_host(&url);
            errand_store_tests::backends::postgres::harness_at(proxy.url(head, tail)).await
        }
        ("redis", Some(proxy), Some(_)) => {
            errand_store_tests::backends::redis::harness_at(proxy.url("redis://", "")).await
        }
        _ => errand_store_tests::backends::sqlite::harness().await,
    };

    let started = Instant::now();
    let mut left = total;
    while left > 0 {
        let n = left.min(5_000);
        let jobs: Vec<NewJob> = (0..n)
            .map(|_| NewJob::new("probe", serde_json::json!(fastrand::u64(1..=5))))
            .collect();
        h.store
            .enqueue(errand::store::EnqueueParams {
                jobs,
                now: chrono::Utc::now(),
                max_input_bytes: 1 << 20,
            })
            .await
            .unwrap_or_else(|e| panic!("enqueue: {e}"));
        left -= n;
    }
    println!(
        "{store}: {total} jobs enqueued in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let mut logs: Vec<PathBuf> = Vec::new();
    let mut killed_logs: Vec<usize> = Vec::new();
    let mut workers: Vec<(usize, Worker)> = Vec::new();
    for _ in 0..WORKERS {
        let n = logs.len();
        let worker = spawn(&bin, &h, dir.path(), n);
        logs.push(worker.log.clone());
        workers.push((n, worker));
    }
    // Outage windows (ns): a run that ended near one may have to run again.
    let mut outages: Vec<(u128, u128)> = Vec::new();
    let (mut kills_done, mut restarted, mut cut) = (0, false, false);
    let deadline = Instant::now() + Duration::from_secs(1800);
    loop {
        // Progress from the probe logs: the store's own count walks every
        // job (a Redis count pages through them all), too slow to follow a
        // fast run.
        let done = read_runs(&logs).len() as u64;
        if done >= total || Instant::now() > deadline {
            break;
        }
        if kills_done < kills && done >= (kills_done + 1) * total / (kills + 2) {
            let victim = fastrand::usize(..workers.len());
            let (n, mut worker) = workers.swap_remove(victim);
            let _ = worker.child.start_kill();
            let _ = worker.child.wait().await;
            killed_logs.push(n);
            kills_done += 1;
            let n = logs.len();
            let worker = spawn(&bin, &h, dir.path(), n);
            logs.push(worker.log.clone());
            workers.push((n, worker));
        }
        if let Some(server) = server {
            if !restarted && done >= total * 2 / 5 {
                restarted = true;
                let from = now_ns();
                tokio::task::block_in_place(|| server.crash_and_restart(OUTAGE))
                    .unwrap_or_else(|e| panic!("restart: {e}"));
                outages.push((from, now_ns()));
                println!("{store}: server restarted at {done} completed");
            }
            if !cut && done >= total * 7 / 10 {
                cut = true;
                let from = now_ns();
                if let Some(proxy) = &proxy {
                    proxy.cut_for(OUTAGE).await;
                }
                outages.push((from, now_ns()));
                println!("{store}: network cut for {OUTAGE:?} at {done} completed");
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Every job ran; wait for the last results to be written.
    while completed(&h).await.unwrap_or(0) < total && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let elapsed = started.elapsed();
    for (_, mut worker) in workers {
        let _ = worker.child.start_kill();
        let _ = worker.child.wait().await;
    }
    let done = completed(&h).await.unwrap_or(0);
    let runs = read_runs(&logs);
    let lease_ns = u128::from(LEASE_MS) * 1_000_000;
    let mut doubled = 0;
    let mut explained = 0;
    let mut unexplained: Vec<i64> = Vec::new();
    for (id, job_runs) in &runs {
        if job_runs.len() < 2 {
            continue;
        }
        doubled += 1;
        let by_killed = job_runs.iter().any(|r| killed_logs.contains(&r.log));
        let near_outage = job_runs.iter().any(|r| {
            outages
                .iter()
                .any(|(from, to)| r.end + lease_ns >= *from && r.start <= to + lease_ns)
        });
        if by_killed || near_outage {
            explained += 1;
        } else {
            unexplained.push(*id);
        }
    }
    let never_ran = total.saturating_sub(runs.len() as u64);
    println!(
        "{store}: {total} jobs, {kills_done} workers killed, server restarted: {restarted}, network cut: {cut}; {:.0} s",
        elapsed.as_secs_f64()
    );
    println!(
        "{store}: lost (not completed in the store) {}, never ran {never_ran}, ran more than once {doubled}, of those explained {explained}, unexplained {}",
        total.saturating_sub(done),
        unexplained.len()
    );
    if !unexplained.is_empty() {
        println!(
            "{store}: unexplained: {:?}",
            &unexplained[..unexplained.len().min(20)]
        );
    }
    h.finish().await;
}

/// The port of a `scheme://user@host:port/...` URL.
fn port_of(url: &str) -> u16 {
    let (_, tail) = split_host(url);
    let host_port = url.trim_end_matches(tail);
    host_port
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {url}"))
}

/// `scheme://user@` and `/path?query` of a URL, around its host and port.
fn split_host(url: &str) -> (&str, &str) {
    let start = url.find("://").map_or(0, |i| i + 3);
    let start = url[start..].find('@').map_or(start, |at| start + at + 1);
    let end = url[start..]
        .find(['/', '?'])
        .map_or(url.len(), |i| start + i);
    (&url[..start], &url[end..])
}
