//! An album upload: one resize job per photo in a batch for the tenant,
//! and a continuation that zips the album and notifies its owner once every
//! photo is done. A photo that cannot be read fails for good; the batch
//! still finishes, and its failure continuation reports which ones.
//! A second tenant uploads too; statistics and batch totals per tenant
//! come from the store's counts, not from counting rows.

use std::time::Duration;

use errand::{Client, Continued, JobError, JobState, Worker};

#[errand::job(queue = "media", max_attempts = 3)]
async fn resize(input: String) -> Result<String, JobError> {
    if input.ends_with(".corrupt") {
        return Err(JobError::fatal(format!("{input} is not an image")));
    }
    Ok(format!("{input} resized"))
}

#[errand::job]
async fn zip_and_notify(input: String, batch: Continued) -> Result<(), JobError> {
    let status = batch.status().await?;
    println!(
        "album {input}: zipped {} photos, notified its owner",
        status.counts.completed
    );
    Ok(())
}

#[errand::job]
async fn report_failures(input: String, batch: Continued) -> Result<(), JobError> {
    let failed = batch.failed_jobs(100).await?;
    println!(
        "album {input}: {} photo(s) failed: {failed:?}",
        failed.len()
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    for file in [
        "batch.db",
        "batch.db-wal",
        "batch.db-shm",
        "batch.db-errand-wake",
    ] {
        let _ = std::fs::remove_file(file);
    }
    // The embedded SQLite file; any store through ERRAND_DATABASE_URL and ERRAND_SCHEMA.
    let store = errand::connect_from_env("sqlite://batch.db").await?;
    let client = Client::new(store.clone());
    // A batch-finished hook: called once per batch, after its end is
    // recorded, on one worker of the cluster (say, to update a progress page).
    let (ended_tx, mut ended) = tokio::sync::mpsc::unbounded_channel();
    let handle = Worker::builder(store.clone())
        .register(resize::job())
        .register(zip_and_notify::job())
        .register(report_failures::job())
        .queues(["media", "default"])
        .on_batch_finished(move |batch: errand::Batch| {
            let ended_tx = ended_tx.clone();
            async move {
                let _ = ended_tx.send(batch);
            }
        })
        .build()?
        .start();

    let photos = ["beach.jpg", "dunes.jpg", "sunset.jpg", "scan.corrupt"];
    let batch = client
        .batch()
        .tenant("acme")
        .jobs(photos.iter().map(|p| resize::enqueue((*p).to_owned())))
        .on_complete(zip_and_notify::enqueue("summer".to_owned()))
        .on_failure(report_failures::enqueue("summer".to_owned()))
        .enqueue()
        .await?;
    println!(
        "batch {} enqueued with {} photos",
        batch.id(),
        batch.jobs().len()
    );

    // Another tenant's album, with no continuation, written as a large
    // one would be: open, extended in chunks of 1,000 (memory stays flat),
    // then sealed.
    let other = client.batch().tenant("globex").open().enqueue().await?;
    let photos = ["logo.png", "team.jpg"].map(|p| resize::enqueue(p.to_owned()));
    other.extend(photos).await?;
    other.seal().await?;

    let status = finished(&batch).await?;
    let c = status.counts;
    println!(
        "batch {} finished: {} total, {} completed, {} failed, {} cancelled",
        status.id, c.total, c.completed, c.failed, c.cancelled
    );
    for continuation in &status.continuations {
        println!(
            "  on_{}: {} {}",
            continuation.on.as_str(),
            continuation.kind,
            if continuation.enqueued {
                "enqueued"
            } else {
                "not enqueued"
            }
        );
    }

    // Both batches reach the hook, once each.
    for _ in 0..2 {
        let ended = tokio::time::timeout(Duration::from_secs(30), ended.recv())
            .await?
            .ok_or("the worker stopped")?;
        println!(
            "hook: batch {} of {} finished, {} of {} jobs completed",
            ended.id,
            ended.tenant.as_deref().unwrap_or("no tenant"),
            ended.counts.completed,
            ended.counts.total
        );
    }

    // Wait for the continuations, then print the tenant's statistics.
    let mut continuations = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            continuations = client
                .list(errand::ListParams {
                    tenant: Some("acme".into()),
                    queue: Some("default".into()),
                    limit: 10,
                    ..Default::default()
                })
                .await?;
            if continuations.len() == 2
                && continuations.iter().all(|j| j.state == JobState::Completed)
            {
                return Ok::<_, errand::Error>(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await??;
    let stats = client.stats(Some("acme")).await?;
    println!("tenant acme:");
    for row in &stats.counts {
        println!("  {:<8} {:<10} {}", row.queue, row.state, row.count);
    }

    // Batch totals per tenant, summed from the counts each batch keeps.
    finished(&other).await?;
    println!("batches newest first:");
    for b in client.batches(None, None, 10).await? {
        let tenant = b.tenant.as_deref().unwrap_or("-");
        println!(
            "  {} {tenant:<7} {}/{} completed",
            b.id, b.counts.completed, b.counts.total
        );
    }
    let mut sums = Vec::new();
    for tenant in ["acme", "globex"] {
        let t = client.batch_totals(Some(tenant)).await?;
        println!(
            "tenant {tenant}: {} batch(es), {} unfinished, {} jobs: {} completed, {} failed",
            t.batches, t.unfinished, t.counts.total, t.counts.completed, t.counts.failed
        );
        sums.push((t.batches, t.counts.total, t.counts.completed));
    }
    handle.shutdown().await;

    if (c.total, c.completed, c.failed) != (4, 3, 1) || continuations.len() != 2 {
        return Err("the batch did not finish with its continuations".into());
    }
    if sums != [(1, 4, 3), (1, 2, 2)] {
        return Err(format!("unexpected tenant totals {sums:?}").into());
    }
    Ok(())
}

/// Follows a batch through its counts, kept by the store as jobs change
/// state, until it finishes.
async fn finished(batch: &errand::BatchHandle) -> Result<errand::Batch, errand::Error> {
    let wait = async {
        loop {
            let status = batch.status().await?;
            if status.finished_at.is_some() {
                return Ok(status);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .map_err(|_| errand::Error::invalid("batch", batch.id(), "did not finish in 30 s"))?
}
