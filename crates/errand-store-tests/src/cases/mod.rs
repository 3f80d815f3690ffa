//! The cases. Each takes a fresh [`Harness`] and panics on a
//! broken rule, with a message saying which.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

/// Registers a conformance case, written once in its file: every backend
/// runs every registered case (see [`crate::trials`]).
macro_rules! case {
    ($name:ident) => {
        inventory::submit! {
            crate::Case {
                name: stringify!($name),
                run: |h| Box::pin($name(h)),
            }
        }
    };
}

pub(crate) mod admin;
mod audit;
mod batch;
mod claim;
mod cron;
mod enqueue;
mod finalize;
mod lease;
mod process;
mod queue_control;
mod retention;
mod runtime;
mod tenants;
mod tx;
mod workers;

pub use admin::*;
pub use audit::*;
pub use batch::*;
pub use claim::*;
pub use cron::*;
pub use enqueue::*;
pub use finalize::*;
pub use lease::*;
pub use process::*;
pub use queue_control::*;
pub use retention::*;
pub use runtime::*;
pub use tenants::*;
pub use tx::*;
pub use workers::*;

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use errand::store::{
    ClaimParams, EnqueueParams, FinalizeItem, FinalizeParams, GetParams, KindClaim, Outcome,
    QueueClaim,
};
use errand::{Enqueued, JobId, JobRow, NewJob};

use crate::Harness;

/// A start time with the microsecond precision every store keeps.
pub(crate) fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp_micros(Utc::now().timestamp_micros()).unwrap()
}

pub(crate) fn secs(n: i64) -> TimeDelta {
    TimeDelta::seconds(n)
}

pub(crate) fn job(kind: &str) -> NewJob {
    NewJob::new(kind, serde_json::json!({"n": 1}))
}

pub(crate) async fn enqueue(h: &Harness, jobs: Vec<NewJob>, now: DateTime<Utc>) -> Vec<Enqueued> {
    h.store
        .enqueue(EnqueueParams {
            jobs,
            now,
            max_input_bytes: 1 << 20,
        })
        .await
        .expect("enqueue")
}

pub(crate) async fn enqueue_one(h: &Harness, job: NewJob, now: DateTime<Utc>) -> JobId {
    enqueue(h, vec![job], now).await[0].id
}

pub(crate) fn claim_params(
    worker: &str,
    queues: &[&str],
    kinds: &[&str],
    limit: u32,
    now: DateTime<Utc>,
) -> ClaimParams {
    ClaimParams {
        worker: worker.into(),
        queues: queues
            .iter()
            .map(|q| QueueClaim {
                name: (*q).into(),
                cap: None,
                fair: None,
            })
            .collect(),
        kinds: kinds
            .iter()
            .map(|k| KindClaim {
                kind: (*k).into(),
                cap: None,
                global_limit: None,
            })
            .collect(),
        limit,
        paused_tenants: Vec::new(),
        tenant_limits: Default::default(),
        lease: Duration::from_secs(30),
        now,
    }
}

pub(crate) async fn claim(
    h: &Harness,
    worker: &str,
    kinds: &[&str],
    limit: u32,
    now: DateTime<Utc>,
) -> Vec<JobRow> {
    h.store
        .claim(claim_params(worker, &["default"], kinds, limit, now))
        .await
        .expect("claim")
}

pub(crate) async fn get(h: &Harness, id: JobId, now: DateTime<Utc>) -> JobRow {
    h.store
        .get(GetParams { id, now })
        .await
        .expect("get")
        .unwrap_or_else(|| panic!("job {id} should exist"))
}

pub(crate) async fn finalize(
    h: &Harness,
    worker: &str,
    id: JobId,
    attempt: u32,
    outcome: Outcome,
    now: DateTime<Utc>,
) -> bool {
    h.store
        .finalize(FinalizeParams {
            frees_global_slots: false,
            worker: worker.into(),
            items: vec![FinalizeItem {
                id,
                attempt,
                outcome,
            }],
            now,
        })
        .await
        .expect("finalize")[0]
}

/// Items that complete each of `jobs` (with a null output) in one finalize.
pub(crate) fn completions(jobs: &[JobRow]) -> Vec<FinalizeItem> {
    jobs.iter()
        .map(|job| FinalizeItem {
            id: job.id,
            attempt: job.attempt,
            outcome: Outcome::Complete {
                output: serde_json::Value::Null,
            },
        })
        .collect()
}

/// Polls `check` until it holds or `limit` passes.
pub(crate) async fn eventually<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if check().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
