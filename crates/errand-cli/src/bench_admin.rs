//! `errand bench --admin-reads`: how long the admin API's list and count
//! operations take on a big store (fill it first with `--backlog N
//! --backlog-state finished`). Each operation runs `--admin-samples` times
//! one after the other, through the same `Api` the HTTP routes call.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use errand::store::NewAuditRecord;
use errand::{Client, JobError, Store, Worker};
use errand_admin::{Api, AuditQuery, BatchQuery, CronQuery, JobQuery};
use serde::Serialize;

use crate::bench::percentile;

/// Failed jobs among the finished ones: the dead letters an operator looks for.
const FAILED: u64 = 1_000;
/// Audit records, batches and cron entries on record.
const AUDIT: u64 = 1_000;
const BATCHES: u64 = 100;
const ENTRIES: u64 = 100;

/// A job that fails for good, as a dead letter does.
#[errand::job(kind = "bench_fail", queue = "bench_fail", max_attempts = 1)]
async fn bench_fail(input: u64) -> Result<(), JobError> {
    Err(JobError::fatal(format!(
        "smtp timeout after 30 s (#{input})"
    )))
}

/// One operation's times.
#[derive(Serialize, Debug)]
pub(crate) struct Timed {
    operation: String,
    /// Rows or items it returned (the last run).
    items: usize,
    p50_ms: f64,
    p95_ms: f64,
    max_ms: f64,
}

/// What the admin mode measured.
#[derive(Serialize, Debug)]
pub(crate) struct AdminReport {
    backend: String,
    /// Jobs in the store when measured.
    jobs: u64,
    samples: u32,
    setup_s: f64,
    operations: Vec<Timed>,
}

/// Adds what an operator's store also holds (dead letters, some with a
/// tenant; audit records; batches; cron entries), then times every list and
/// count operation of the admin API.
pub(crate) async fn run(
    store: Arc<dyn Store>,
    samples: u32,
    say: &dyn Fn(String),
) -> anyhow::Result<AdminReport> {
    let started = Instant::now();
    let client = Client::new(Arc::clone(&store));
    let jobs = (0..FAILED).map(|i| {
        let job = bench_fail::enqueue(i);
        if i % 2 == 0 { job.tenant("acme") } else { job }
    });
    client.enqueue_many(jobs).await?;
    let worker = Worker::builder(Arc::clone(&store))
        .register(bench_fail::job())
        .queues(["bench_fail"])
        .build()?;
    while worker.drain().await?.failed > 0 {}
    let now = Utc::now();
    for i in 0..AUDIT {
        store
            .record_audit(NewAuditRecord {
                at: now,
                actor: "bench".into(),
                action: "jobs.retry".into(),
                target: Some(i.to_string()),
                filter: None,
                count: 1,
            })
            .await?;
    }
    for i in 0..BATCHES {
        client
            .batch()
            .tenant(if i % 2 == 0 { "acme" } else { "globex" })
            .jobs([bench_fail::enqueue(i).delay(Duration::from_secs(86_400))])
            .enqueue()
            .await?;
    }
    for i in 0..ENTRIES {
        let entry = errand::cron::Entry::new(
            format!("entry-{i}"),
            "bench_fail",
            serde_json::json!(i),
            "0 3 * * *",
        )?;
        // Upsert: a store filled by an earlier run keeps its entries.
        client.cron().upsert(entry).await?;
    }
    let setup_s = started.elapsed().as_secs_f64();
    let api = Api::new(client.clone());
    let total = client.stats(None).await?.all();
    let middle = client
        .list(errand::ListParams {
            limit: 1,
            ..Default::default()
        })
        .await?
        .first()
        .map_or(1, |j| j.id.0 / 2);
    say(format!(
        "admin reads: {total} jobs in the store, {samples} runs of each operation"
    ));

    let jobs = |q: JobQuery| {
        let api = api.clone();
        async move { Ok::<usize, errand::Error>(api.jobs(q).await?.jobs.len()) }
    };
    let page = |f: fn(&mut JobQuery)| {
        let mut q = JobQuery {
            limit: Some(50),
            ..Default::default()
        };
        f(&mut q);
        q
    };
    let mut operations = Vec::new();
    macro_rules! time {
        ($name:expr, $op:expr) => {{
            let mut times = Vec::with_capacity(samples as usize);
            let mut items = 0;
            for _ in 0..samples {
                let t = Instant::now();
                items = $op.await?;
                times.push(t.elapsed().as_nanos() as u64);
            }
            times.sort_unstable();
            let timed = Timed {
                operation: $name.to_owned(),
                items,
                p50_ms: percentile(&times, 50.0),
                p95_ms: percentile(&times, 95.0),
                max_ms: percentile(&times, 100.0),
            };
            operations.push(timed);
        }};
    }
    time!("jobs: newest 50", jobs(page(|_| {})));
    time!(
        "jobs: 50 from the middle",
        jobs(JobQuery {
            before: Some(middle),
            limit: Some(50),
            ..Default::default()
        })
    );
    time!(
        "jobs: by id",
        jobs(JobQuery {
            id: Some(middle),
            ..Default::default()
        })
    );
    time!(
        "jobs: state=failed",
        jobs(page(|q| q.state = Some(errand::JobState::Failed)))
    );
    time!(
        "jobs: state=completed",
        jobs(page(|q| q.state = Some(errand::JobState::Completed)))
    );
    time!(
        "jobs: state=running (none)",
        jobs(page(|q| q.state = Some(errand::JobState::Running)))
    );
    time!(
        "jobs: state=cancelled (none)",
        jobs(page(|q| q.state = Some(errand::JobState::Cancelled)))
    );
    time!(
        "jobs: state=scheduled",
        jobs(page(|q| q.state = Some(errand::JobState::Scheduled)))
    );
    time!(
        "jobs: kind=bench_fail",
        jobs(page(|q| q.kind = Some("bench_fail".into())))
    );
    time!(
        "jobs: queue=bench_fail",
        jobs(page(|q| q.queue = Some("bench_fail".into())))
    );
    time!(
        "jobs: tenant=acme",
        jobs(page(|q| q.tenant = Some("acme".into())))
    );
    time!(
        "jobs: error text",
        jobs(page(|q| q.error = Some("timeout".into())))
    );
    // Filters that match most of the store (the backlog's kind and queue).
    time!(
        "jobs: kind=bench_noop (most jobs)",
        jobs(page(|q| q.kind = Some("bench_noop".into())))
    );
    time!(
        "jobs: queue=bench_backlog (most jobs)",
        jobs(page(|q| q.queue = Some("bench_backlog".into())))
    );
    // Filters that match nothing: the worst case, where a walk in id
    // order would look at every job before it could answer.
    time!(
        "jobs: kind (none)",
        jobs(page(|q| q.kind = Some("no_such_kind".into())))
    );
    time!(
        "jobs: queue (none)",
        jobs(page(|q| q.queue = Some("no_such_queue".into())))
    );
    time!(
        "jobs: tenant (none)",
        jobs(page(|q| q.tenant = Some("no_such_tenant".into())))
    );
    time!(
        "jobs: batch (none)",
        jobs(page(|q| q.batch = Some(i64::MAX)))
    );
    time!(
        "jobs: unique key (none)",
        jobs(page(|q| q.unique_key = Some("no_such_key".into())))
    );
    time!(
        "jobs: error text (none)",
        jobs(page(|q| q.error = Some("no such error".into())))
    );
    time!("stats (counts per queue and state)", async {
        Ok::<usize, errand::Error>(api.stats(None).await?.counts.len())
    });
    time!("stats tenant=acme", async {
        Ok::<usize, errand::Error>(api.stats(Some("acme")).await?.counts.len())
    });
    time!("queues (counts, depth, lag, pauses)", async {
        Ok::<usize, errand::Error>(api.queues().await?.queues.len())
    });
    time!("tenants (counts per tenant and state)", async {
        Ok::<usize, errand::Error>(
            api.tenants(errand_admin::TenantQuery::default())
                .await?
                .tenants
                .len(),
        )
    });
    time!("workers", async {
        Ok::<usize, errand::Error>(api.workers().await?.workers.len())
    });
    time!("batches: newest 50", async {
        Ok::<usize, errand::Error>(
            api.batches(BatchQuery {
                limit: Some(50),
                ..Default::default()
            })
            .await?
            .batches
            .len(),
        )
    });
    time!("batches: tenant=acme", async {
        Ok::<usize, errand::Error>(
            api.batches(BatchQuery {
                tenant: Some("acme".into()),
                limit: Some(50),
                ..Default::default()
            })
            .await?
            .batches
            .len(),
        )
    });
    time!("cron entries", async {
        Ok::<usize, errand::Error>(api.cron_entries(CronQuery::default()).await?.len())
    });
    time!("audit: newest 50", async {
        Ok::<usize, errand::Error>(
            api.audit_records(AuditQuery::default())
                .await?
                .records
                .len(),
        )
    });
    Ok(AdminReport {
        backend: store.backend().to_owned(),
        jobs: total,
        samples,
        setup_s,
        operations,
    })
}

impl AdminReport {
    /// The report as a table, one operation per line.
    pub(crate) fn print(&self) {
        println!(
            "admin reads on {}: {} jobs, {} runs each (setup {:.1} s)",
            self.backend, self.jobs, self.samples, self.setup_s
        );
        for t in &self.operations {
            println!(
                "  {:<40} p50 {:>9.1} ms  p95 {:>9.1} ms  max {:>9.1} ms  ({} items)",
                t.operation, t.p50_ms, t.p95_ms, t.max_ms, t.items
            );
        }
    }
}
