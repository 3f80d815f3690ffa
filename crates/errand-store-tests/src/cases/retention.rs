use std::sync::Arc;
use std::time::Duration;

use errand::maintenance::Retention;
use errand::store::{GetParams, Outcome};
use errand::{AttemptError, Error, ErrorKind, JobState, Worker};

use super::*;

fn worker(h: &Harness, retention: Retention) -> errand::Result<Worker> {
    Worker::builder(Arc::clone(&h.store))
        .register(crate::jobs::noop::job())
        .retention(retention)
        .build()
}

async fn exists(h: &Harness, id: JobId, now: DateTime<Utc>) -> bool {
    h.store.get(GetParams { id, now }).await.unwrap().is_some()
}

fn report(done: &[(&'static str, errand::maintenance::Report)]) -> u64 {
    done.iter()
        .find(|(name, _)| *name == "pruner")
        .map(|(_, report)| report.count)
        .expect("the worker runs a pruner")
}

pub async fn pruner_deletes_finished_jobs_past_their_retention(h: &Harness) {
    let now = t0();
    let ids: Vec<JobId> = enqueue(h, vec![job("k"), job("k"), job("k")], now)
        .await
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(claim(h, "w", &["k"], 10, now).await.len(), 3);
    let error = || AttemptError {
        attempt: 1,
        at: now,
        message: "gone".into(),
        kind: ErrorKind::Fatal,
    };
    let complete = Outcome::Complete {
        output: serde_json::Value::Null,
    };
    assert!(finalize(h, "w", ids[0], 1, complete, now).await);
    assert!(finalize(h, "w", ids[1], 1, Outcome::Fail { error: error() }, now).await);
    assert!(finalize(h, "w", ids[2], 1, Outcome::Cancel { error: error() }, now).await);
    let (completed, failed, cancelled) = (ids[0], ids[1], ids[2]);
    let waiting = enqueue_one(
        h,
        NewJob {
            run_at: Some(now + secs(30 * 86_400)),
            ..job("k")
        },
        now,
    )
    .await;
    let running = enqueue_one(h, job("long"), now).await;
    assert_eq!(claim(h, "w", &["long"], 1, now).await.len(), 1);

    let w = worker(h, Retention::default()).unwrap();
    let day = 86_400;
    assert_eq!(
        report(&w.maintain(now + secs(day - 60)).await),
        0,
        "a completed job is kept a day"
    );
    assert!(exists(h, completed, now).await);
    assert_eq!(report(&w.maintain(now + secs(day + 60)).await), 1);
    assert!(!exists(h, completed, now).await, "then it goes");
    assert!(
        exists(h, failed, now).await && exists(h, cancelled, now).await,
        "failed and cancelled stay 7 days"
    );
    assert_eq!(report(&w.maintain(now + secs(7 * day + 60)).await), 2);
    assert!(!exists(h, failed, now).await && !exists(h, cancelled, now).await);
    assert!(
        exists(h, waiting, now).await && exists(h, running, now).await,
        "unfinished jobs are never pruned"
    );

    // Kept forever, or for an hour, as configured.
    let kept = enqueue_one(h, job("k"), now).await;
    claim(h, "w", &["k"], 1, now).await;
    let complete = Outcome::Complete {
        output: serde_json::Value::Null,
    };
    assert!(finalize(h, "w", kept, 1, complete, now).await);
    let forever = worker(h, Retention::forever()).unwrap();
    assert_eq!(report(&forever.maintain(now + secs(3650 * day)).await), 0);
    assert!(exists(h, kept, now).await);
    let hour = worker(
        h,
        Retention::default().completed(Some(Duration::from_secs(3600))),
    )
    .unwrap();
    hour.maintain(now + secs(3601)).await;
    assert!(!exists(h, kept, now).await);

    let bad = worker(h, Retention::default().failed(Some(Duration::ZERO)));
    assert!(
        matches!(&bad, Err(Error::Invalid { field, .. }) if field == "retention.failed"),
        "{bad:?}"
    );
}
case!(pruner_deletes_finished_jobs_past_their_retention);

pub async fn client_prune_deletes_every_old_finished_job_of_a_state(h: &Harness) {
    let now = t0();
    let ids: Vec<JobId> = enqueue(h, vec![job("k"), job("k"), job("k")], now)
        .await
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(claim(h, "w", &["k"], 10, now).await.len(), 3);
    let complete = || Outcome::Complete {
        output: serde_json::Value::Null,
    };
    assert!(finalize(h, "w", ids[0], 1, complete(), now).await);
    assert!(finalize(h, "w", ids[1], 1, complete(), now).await);
    let error = AttemptError {
        attempt: 1,
        at: now,
        message: "gone".into(),
        kind: ErrorKind::Fatal,
    };
    assert!(finalize(h, "w", ids[2], 1, Outcome::Fail { error }, now).await);
    let client = errand::Client::new(Arc::clone(&h.store));
    let mut told = Vec::new();
    let deleted = client
        .prune_with(JobState::Completed, now + secs(1), |n| told.push(n))
        .await
        .unwrap();
    assert_eq!(deleted, 2, "both completed jobs went");
    assert_eq!(
        told.last(),
        Some(&2),
        "progress ends at the count: {told:?}"
    );
    assert!(!exists(h, ids[0], now).await && !exists(h, ids[1], now).await);
    assert!(
        exists(h, ids[2], now).await,
        "a failed job is another state"
    );
    assert!(matches!(
        client.prune(JobState::Running, now).await,
        Err(Error::Invalid { .. })
    ));
}
case!(client_prune_deletes_every_old_finished_job_of_a_state);

pub async fn pruner_deletes_batch_records_a_week_after_they_finish(h: &Harness) {
    let now = t0();
    let day = 86_400;
    let create = |jobs: Vec<NewJob>| {
        h.store.create_batch(errand::store::CreateBatchParams {
            batch: errand::store::NewBatch {
                sealed: true,
                ..errand::store::NewBatch::default()
            },
            jobs,
            now,
            max_input_bytes: 1 << 20,
        })
    };
    let finished = create(vec![job("k")]).await.unwrap();
    let unfinished = create(vec![job("later")]).await.unwrap().id;
    let claimed = claim(h, "w", &["k"], 1, now).await;
    let complete = Outcome::Complete {
        output: serde_json::Value::Null,
    };
    assert!(finalize(h, "w", claimed[0].id, 1, complete, now).await);
    let batch = |id| h.store.batch(id);
    assert!(
        batch(finished.id)
            .await
            .unwrap()
            .unwrap()
            .finished_at
            .is_some()
    );

    // Its completed job goes after a day; the record stays a week.
    let w = worker(h, Retention::default()).unwrap();
    assert_eq!(report(&w.maintain(now + secs(day + 60)).await), 1);
    assert!(!exists(h, finished.jobs[0].id, now).await);
    assert!(batch(finished.id).await.unwrap().is_some(), "record kept");
    assert_eq!(report(&w.maintain(now + secs(7 * day + 60)).await), 1);
    assert!(batch(finished.id).await.unwrap().is_none(), "then it goes");
    assert_eq!(report(&w.maintain(now + secs(3650 * day)).await), 0);
    assert!(
        batch(unfinished).await.unwrap().is_some(),
        "an unfinished batch is never pruned"
    );

    // Kept forever, or an hour, as configured; the client prunes on demand.
    let kept = create(Vec::new()).await.unwrap().id;
    let forever = worker(h, Retention::forever()).unwrap();
    assert_eq!(report(&forever.maintain(now + secs(3650 * day)).await), 0);
    assert!(batch(kept).await.unwrap().is_some());
    let client = errand::Client::new(Arc::clone(&h.store));
    assert_eq!(client.prune_batches(now).await.unwrap(), 0, "not before");
    let hour = worker(
        h,
        Retention::forever().batches(Some(Duration::from_secs(3600))),
    )
    .unwrap();
    assert_eq!(report(&hour.maintain(now + secs(3601)).await), 1);
    assert!(batch(kept).await.unwrap().is_none());
    let other = create(Vec::new()).await.unwrap().id;
    assert_eq!(client.prune_batches(now + secs(1)).await.unwrap(), 1);
    assert!(batch(other).await.unwrap().is_none());

    let bad = worker(h, Retention::default().batches(Some(Duration::ZERO)));
    assert!(
        matches!(&bad, Err(Error::Invalid { field, .. }) if field == "retention.batches"),
        "{bad:?}"
    );
}
case!(pruner_deletes_batch_records_a_week_after_they_finish);
