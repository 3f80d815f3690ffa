//! Writes the ends of attempts in batches: one store write for everything
//! that finished while the previous write ran (group commit).

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use errand_core::store::{FinalizeItem, FinalizeParams};
use tokio::sync::mpsc::UnboundedReceiver;

use super::Shared;

const MAX_BATCH: usize = 1000;

/// Longest a result waits for others to share its write.
const GROUP_WINDOW: Duration = Duration::from_millis(2);

pub(crate) async fn run(shared: Arc<Shared>, mut rx: UnboundedReceiver<FinalizeItem>) {
    let mut batch: Vec<FinalizeItem> = Vec::new();
    let mut error_pause = Duration::from_millis(50);
    loop {
        if batch.is_empty() {
            match rx.recv().await {
                Some(item) => batch.push(item),
                None => break,
            }
        }
        // Group commit: results that arrive within a short window share one
        // write, so a busy worker writes far fewer, larger statements; also
        // when no other job runs (docs/design.md, "results are written in
        // groups").
        // Under a global limit a job's slot frees only once its end is
        // written (the store counts it running until then), so ends are
        // written at once: only what has already arrived shares the write.
        let window = if !shared.config.limits_cluster() {
            GROUP_WINDOW
        } else {
            Duration::ZERO
        };
        let deadline = tokio::time::Instant::now() + window;
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Some(item)) => batch.push(item),
                    _ => break,
                },
            }
        }
        let params = FinalizeParams {
            frees_global_slots: shared.config.limits_cluster(),
            worker: shared.config.name.clone(),
            items: batch.clone(),
            now: Utc::now(),
        };
        match shared.store.finalize(params).await {
            Ok(applied) => {
                let mut finishing = shared.finishing();
                for (item, ok) in batch.iter().zip(applied) {
                    finishing.remove(&item.id);
                    // Hooks run once the end is recorded; their tasks log
                    // what fails.
                    let _ = shared.hooks.ended(item.id, item.attempt, ok);
                    if !ok {
                        // What the store said, no more: the attempt is not
                        // running under this worker there (rescued after its
                        // lease, cancelled, deleted, or this result was
                        // written already by a write whose answer was lost).
                        tracing::warn!(
                            job = %item.id,
                            attempt = item.attempt,
                            "result not recorded: the store no longer has this attempt of the job running under this worker"
                        );
                    }
                }
                drop(finishing);
                // A global limit counts the jobs the store has running: its
                // slots free when these ends are written, not when the jobs
                // returned (the lanes heard of that already, and may have
                // claimed too early to get anything).
                if shared.config.limits_cluster() {
                    shared.lanes.slot_freed();
                }
                batch.clear();
                error_pause = Duration::from_millis(50);
            }
            Err(e) => {
                // Keep the batch and try again. Should a lease run out first,
                // another attempt runs the job again and this result is dropped
                // by fencing: at-least-once, never lost.
                shared.trouble();
                tracing::warn!(error = %e, jobs = batch.len(), retry_in = ?error_pause, "errand could not record job results");
                tokio::time::sleep(error_pause).await;
                error_pause = (error_pause * 2).min(super::MAX_ERROR_PAUSE);
            }
        }
    }
}
