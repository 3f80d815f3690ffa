//! Many customers share one queue: a tenant limit keeps any one of them from
//! holding more than two workers' slots across the cluster (a big customer
//! gets four), and fair claiming rotates among the customers that have
//! work, so a customer who enqueued 200 exports does not make the others
//! wait for all of them.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use errand::{Client, JobContext, JobError, State, Worker};

/// Which customers' exports ran, in order, and how many ran at once.
#[derive(Default)]
struct Seen {
    order: Mutex<Vec<String>>,
    running: Mutex<BTreeMap<String, (u32, u32)>>,
}

#[errand::job(queue = "exports")]
async fn export_report(input: u32, job: JobContext, seen: State<Seen>) -> Result<(), JobError> {
    let tenant = job.tenant().unwrap_or("-").to_owned();
    seen.order
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(tenant.clone());
    {
        let mut running = seen.running.lock().unwrap_or_else(|p| p.into_inner());
        let (now, peak) = running.entry(tenant.clone()).or_default();
        *now += 1;
        *peak = (*peak).max(*now);
    }
    tokio::time::sleep(Duration::from_millis(u64::from(input))).await;
    let mut running = seen.running.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((now, _)) = running.get_mut(&tenant) {
        *now -= 1;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    for file in [
        "tenants.db",
        "tenants.db-wal",
        "tenants.db-shm",
        "tenants.db-errand-wake",
    ] {
        let _ = std::fs::remove_file(file);
    }
    // The embedded SQLite file; any store through ERRAND_DATABASE_URL and ERRAND_SCHEMA.
    let store = errand::connect_from_env("sqlite://tenants.db").await?;
    let client = Client::new(store.clone());

    // acme enqueued a backlog first; globex and initech came a moment later.
    let mut jobs = Vec::new();
    for _ in 0..200 {
        jobs.push(export_report::enqueue(2).tenant("acme"));
    }
    for tenant in ["globex", "initech", "umbrella"] {
        for _ in 0..3 {
            jobs.push(export_report::enqueue(2).tenant(tenant));
        }
    }
    let handles = client.enqueue_many(jobs).await?;

    let seen = std::sync::Arc::new(Seen::default());
    let worker = Worker::builder(store.clone())
        .register(export_report::job())
        .state_arc(seen.clone())
        .concurrency(8)
        .tenant_limit(2) // per customer, across every worker of the store
        .tenant_limit_for("umbrella", 4) // a bigger plan
        .fair_queue("exports")
        .build()?;
    let running = worker.start();
    for handle in &handles {
        handle.wait_timeout(Duration::from_secs(60)).await?;
    }
    running.shutdown().await;

    let order = seen.order.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let peaks = seen
        .running
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    println!("first ten exports: {:?}", &order[..10]);
    for (tenant, (_, peak)) in &peaks {
        println!("{tenant}: at most {peak} at once");
    }
    // The other customers' first exports did not wait for acme's 200.
    for tenant in ["globex", "initech", "umbrella"] {
        let first = order.iter().position(|t| t == tenant).unwrap_or(usize::MAX);
        if first >= 10 {
            return Err(format!("{tenant}'s first export ran {first}th").into());
        }
    }
    for (tenant, (_, peak)) in &peaks {
        let limit = if tenant == "umbrella" { 4 } else { 2 };
        if *peak > limit {
            return Err(format!("{tenant} ran {peak} at once, over its limit {limit}").into());
        }
    }
    println!("{} exports done", order.len());
    Ok(())
}
