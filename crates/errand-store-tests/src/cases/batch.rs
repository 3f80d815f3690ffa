//! Batches: counts that follow every change of a job's state, in the write
//! that makes it; continuations enqueued exactly once, in the write that
//! ends the last job of a sealed batch, whatever ends it.

use std::sync::Arc;

use errand::store::{
    AppendParams, Batch, BatchCounts, BatchId, CONTINUES_META, CancelParams, Continuation,
    ContinueOn, CreateBatchParams, DeleteParams, ListParams, NewBatch, PruneParams, RescueParams,
    RetryParams,
};
use errand::{Error, JobState, Store};

use super::*;

fn continuation(on: ContinueOn, kind: &str) -> Continuation {
    let mut job = job(kind);
    job.queue = "after".into();
    Continuation { on, job }
}

fn all_continuations() -> Vec<Continuation> {
    vec![
        continuation(ContinueOn::Success, "on_success"),
        continuation(ContinueOn::Complete, "on_complete"),
        continuation(ContinueOn::Failure, "on_failure"),
    ]
}

async fn create(
    store: &Arc<dyn Store>,
    batch: NewBatch,
    jobs: Vec<NewJob>,
    now: DateTime<Utc>,
) -> errand::Result<errand::store::BatchCreated> {
    store
        .create_batch(CreateBatchParams {
            batch,
            jobs,
            now,
            max_input_bytes: 1 << 20,
        })
        .await
}

async fn append(
    h: &Harness,
    id: BatchId,
    jobs: Vec<NewJob>,
    seal: bool,
    now: DateTime<Utc>,
) -> errand::Result<Vec<Enqueued>> {
    h.store
        .append_to_batch(AppendParams {
            id,
            jobs,
            seal,
            now,
            max_input_bytes: 1 << 20,
        })
        .await
}

async fn status(h: &Harness, id: BatchId) -> Batch {
    h.store
        .batch(id)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("batch {id} should exist"))
}

fn counts(total: u64, waiting: u64, running: u64, done: [u64; 3]) -> BatchCounts {
    BatchCounts {
        total,
        waiting,
        running,
        completed: done[0],
        failed: done[1],
        cancelled: done[2],
    }
}

/// The continuation jobs of batch `id`, oldest first.
async fn continuations_of(h: &Harness, id: BatchId, now: DateTime<Utc>) -> Vec<JobRow> {
    let mut rows = h
        .store
        .list(ListParams {
            queue: Some("after".into()),
            limit: 1000,
            now,
            ..ListParams::default()
        })
        .await
        .unwrap();
    rows.retain(|row| row.meta.get(CONTINUES_META) == Some(&id.0.to_string()));
    rows.reverse();
    rows
}

fn attempt_error(
    attempt: u32,
    at: DateTime<Utc>,
    message: &str,
    kind: errand::ErrorKind,
) -> errand::AttemptError {
    errand::AttemptError {
        attempt,
        at,
        message: message.into(),
        kind,
    }
}

fn kinds(rows: &[JobRow]) -> Vec<&str> {
    rows.iter().map(|row| row.kind.as_str()).collect()
}

pub async fn batch_counts_follow_every_state_change(h: &Harness) {
    let now = t0();
    let batch = NewBatch {
        tenant: Some("acme".into()),
        continuations: all_continuations(),
        sealed: true,
    };
    let created = create(
        &h.store,
        batch,
        (0..4).map(|_| job("resize")).collect(),
        now,
    )
    .await
    .unwrap();
    let id = created.id;
    assert_eq!(created.jobs.len(), 4);
    let first = status(h, id).await;
    assert_eq!(first.counts, counts(4, 4, 0, [0, 0, 0]));
    assert_eq!(first.tenant.as_deref(), Some("acme"));
    assert!(first.sealed);
    assert_eq!(first.created_at, now);
    assert_eq!(first.finished_at, None);
    assert!(first.continuations.iter().all(|c| !c.enqueued));
    for enqueued in &created.jobs {
        assert_eq!(get(h, enqueued.id, now).await.batch_id, Some(id.0));
    }

    let claimed = claim(h, "w1", &["resize"], 2, now).await;
    assert_eq!(claimed.len(), 2);
    assert_eq!(status(h, id).await.counts, counts(4, 2, 2, [0, 0, 0]));
    let t1 = now + secs(1);
    assert!(
        finalize(
            h,
            "w1",
            claimed[0].id,
            claimed[0].attempt,
            Outcome::Complete {
                output: serde_json::json!(1)
            },
            t1
        )
        .await
    );
    assert!(
        finalize(
            h,
            "w1",
            claimed[1].id,
            claimed[1].attempt,
            Outcome::Fail {
                error: attempt_error(claimed[1].attempt, t1, "broken", errand::ErrorKind::Fatal),
            },
            t1
        )
        .await
    );
    assert_eq!(status(h, id).await.counts, counts(4, 2, 0, [1, 1, 0]));

    // A retried attempt waits again; a stale finalize moves nothing.
    let next = claim(h, "w1", &["resize"], 1, t1).await;
    assert_eq!(status(h, id).await.counts, counts(4, 1, 1, [1, 1, 0]));
    let t2 = now + secs(2);
    assert!(
        finalize(
            h,
            "w1",
            next[0].id,
            next[0].attempt,
            Outcome::Retry {
                run_at: t2,
                error: attempt_error(next[0].attempt, t2, "again", errand::ErrorKind::Error),
            },
            t2
        )
        .await
    );
    assert!(
        !finalize(
            h,
            "w1",
            next[0].id,
            next[0].attempt,
            Outcome::Complete {
                output: serde_json::json!(null)
            },
            t2
        )
        .await
    );
    assert_eq!(status(h, id).await.counts, counts(4, 2, 0, [1, 1, 0]));
    assert!(continuations_of(h, id, t2).await.is_empty());

    // The last two end in one write: it finishes the batch and enqueues the
    // continuations its outcome calls for (one job failed: complete and
    // failure, not success).
    let last = claim(h, "w2", &["resize"], 10, t2).await;
    assert_eq!(last.len(), 2);
    assert_eq!(status(h, id).await.counts, counts(4, 0, 2, [1, 1, 0]));
    let t3 = now + secs(3);
    let applied = h
        .store
        .finalize(errand::store::FinalizeParams {
            worker: "w2".into(),
            items: completions(&last),
            now: t3,
            frees_global_slots: false,
        })
        .await
        .unwrap();
    assert_eq!(applied, vec![true, true]);
    let done = status(h, id).await;
    assert_eq!(done.counts, counts(4, 0, 0, [3, 1, 0]));
    assert_eq!(done.finished_at, Some(t3));
    let fired: Vec<(ContinueOn, bool)> = done
        .continuations
        .iter()
        .map(|c| (c.on, c.enqueued))
        .collect();
    assert_eq!(
        fired,
        vec![
            (ContinueOn::Success, false),
            (ContinueOn::Complete, true),
            (ContinueOn::Failure, true)
        ]
    );
    let after = continuations_of(h, id, t3).await;
    assert_eq!(kinds(&after), vec!["on_complete", "on_failure"]);
    for row in &after {
        assert_eq!(row.state, JobState::Available, "{row:?}");
        assert_eq!(row.run_at, t3);
        assert_eq!(row.created_at, t3);
        assert_eq!(row.batch_id, None, "a continuation belongs to no batch");
        assert_eq!(row.queue, "after");
        assert_eq!(row.input, serde_json::json!({"n": 1}));
    }
    // Continuations are jobs like others: claimable at once.
    let claimed = h
        .store
        .claim(claim_params(
            "w3",
            &["after"],
            &["on_complete", "on_failure"],
            10,
            t3,
        ))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
}

pub async fn a_batch_that_completes_enqueues_only_success_and_complete(h: &Harness) {
    let now = t0();
    let batch = NewBatch {
        tenant: None,
        continuations: all_continuations(),
        sealed: true,
    };
    let id = create(&h.store, batch, vec![job("resize"), job("resize")], now)
        .await
        .unwrap()
        .id;
    let claimed = claim(h, "w", &["resize"], 10, now).await;
    for job in &claimed {
        finalize(
            h,
            "w",
            job.id,
            job.attempt,
            Outcome::Complete {
                output: serde_json::json!(null),
            },
            now + secs(1),
        )
        .await;
    }
    let done = status(h, id).await;
    assert_eq!(done.counts, counts(2, 0, 0, [2, 0, 0]));
    assert_eq!(done.finished_at, Some(now + secs(1)));
    assert_eq!(
        kinds(&continuations_of(h, id, now).await),
        vec!["on_success", "on_complete"]
    );
}

pub async fn continuations_run_once_when_the_last_jobs_end_together(h: &Harness) {
    let other = h.another().await.unwrap();
    let now = t0();
    for round in 0..25 {
        let batch = NewBatch {
            tenant: None,
            continuations: vec![continuation(ContinueOn::Complete, "zip")],
            sealed: true,
        };
        let kind = format!("part_{round}");
        let id = create(&h.store, batch, vec![job(&kind), job(&kind)], now)
            .await
            .unwrap()
            .id;
        let a = claim(h, "wa", &[&kind], 1, now).await;
        let b = claim(h, "wb", &[&kind], 1, now).await;
        assert_eq!((a.len(), b.len()), (1, 1));
        let end = |store: Arc<dyn Store>, worker: &'static str, row: JobRow| async move {
            store
                .finalize(errand::store::FinalizeParams {
                    worker: worker.into(),
                    items: completions(&[row]),
                    now: now + secs(1),
                    frees_global_slots: false,
                })
                .await
                .unwrap()
        };
        let (x, y) = tokio::join!(
            end(h.store.clone(), "wa", a[0].clone()),
            end(other.clone(), "wb", b[0].clone())
        );
        assert_eq!((x, y), (vec![true], vec![true]));
        let after = continuations_of(h, id, now).await;
        assert_eq!(
            kinds(&after),
            vec!["zip"],
            "round {round}: the continuation must be enqueued exactly once"
        );
        assert_eq!(status(h, id).await.counts, counts(2, 0, 0, [2, 0, 0]));
    }
}

pub async fn an_open_batch_finishes_only_once_sealed(h: &Harness) {
    let now = t0();
    // An empty sealed batch finishes at once.
    let empty = NewBatch {
        tenant: None,
        continuations: vec![continuation(ContinueOn::Success, "report")],
        sealed: true,
    };
    let empty = create(&h.store, empty, Vec::new(), now).await.unwrap();
    assert!(empty.jobs.is_empty());
    let status_empty = status(h, empty.id).await;
    assert_eq!(status_empty.finished_at, Some(now));
    assert_eq!(
        kinds(&continuations_of(h, empty.id, now).await),
        vec!["report"]
    );

    let open = NewBatch {
        tenant: None,
        continuations: vec![continuation(ContinueOn::Complete, "report")],
        sealed: false,
    };
    let id = create(&h.store, open, vec![job("part")], now)
        .await
        .unwrap()
        .id;
    let claimed = claim(h, "w", &["part"], 1, now).await;
    finalize(
        h,
        "w",
        claimed[0].id,
        claimed[0].attempt,
        Outcome::Complete {
            output: serde_json::json!(null),
        },
        now,
    )
    .await;
    // Every job has finished, but more may come: no finish yet.
    let open_status = status(h, id).await;
    assert_eq!(open_status.counts, counts(1, 0, 0, [1, 0, 0]));
    assert!(!open_status.sealed && open_status.finished_at.is_none());
    assert!(continuations_of(h, id, now).await.is_empty());

    // Appending joins the jobs to the batch; a duplicate of a unique key
    // joins nothing.
    let mut keyed = job("part");
    keyed.unique = Some(errand::Unique::active("only-one"));
    let added = append(h, id, vec![job("part"), keyed.clone()], false, now)
        .await
        .unwrap();
    assert_eq!(added.len(), 2);
    let again = append(h, id, vec![keyed], false, now).await.unwrap();
    assert!(again[0].duplicate);
    assert_eq!(again[0].id, added[1].id);
    assert_eq!(status(h, id).await.counts, counts(3, 2, 0, [1, 0, 0]));
    let rest = claim(h, "w", &["part"], 10, now).await;
    let t1 = now + secs(1);
    h.store
        .finalize(errand::store::FinalizeParams {
            worker: "w".into(),
            items: completions(&rest),
            now: t1,
            frees_global_slots: false,
        })
        .await
        .unwrap();
    assert!(status(h, id).await.finished_at.is_none());

    // Sealing with nothing left to run finishes it in the same write.
    let t2 = now + secs(2);
    assert!(
        append(h, id, Vec::new(), true, t2)
            .await
            .unwrap()
            .is_empty()
    );
    let sealed = status(h, id).await;
    assert!(sealed.sealed);
    assert_eq!(sealed.finished_at, Some(t2));
    assert_eq!(sealed.counts, counts(3, 0, 0, [3, 0, 0]));
    assert_eq!(kinds(&continuations_of(h, id, t2).await), vec!["report"]);

    // A finished batch takes no job, by append or by a plain enqueue
    // naming it; nothing is written.
    let before = h
        .store
        .list(ListParams {
            limit: 1000,
            now,
            ..ListParams::default()
        })
        .await
        .unwrap()
        .len();
    let refused = append(h, id, vec![job("part")], false, t2)
        .await
        .unwrap_err();
    assert!(matches!(refused, Error::Conflict { .. }), "{refused:?}");
    assert!(
        refused.to_string().contains(&format!("batch {id}")),
        "{refused}"
    );
    let mut stray = job("part");
    stray.batch_id = Some(id.0);
    let refused = h
        .store
        .enqueue(errand::store::EnqueueParams {
            jobs: vec![job("part"), stray],
            now: t2,
            max_input_bytes: 1 << 20,
        })
        .await
        .unwrap_err();
    assert!(matches!(refused, Error::Conflict { .. }), "{refused:?}");
    let missing = append(h, BatchId(id.0 + 1_000_000), vec![job("part")], true, t2)
        .await
        .unwrap_err();
    assert!(matches!(missing, Error::NotFound { .. }), "{missing:?}");
    assert!(
        missing
            .to_string()
            .contains(&format!("batch {}", id.0 + 1_000_000)),
        "{missing}"
    );
    let after = h
        .store
        .list(ListParams {
            limit: 1000,
            now,
            ..ListParams::default()
        })
        .await
        .unwrap()
        .len();
    assert_eq!(before, after, "a refused write leaves no job behind");
    assert!(
        h.store
            .batch(BatchId(id.0 + 1_000_000))
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn cancels_rescues_retries_and_deletes_move_batch_counts(h: &Harness) {
    let now = t0();
    let batch = NewBatch {
        tenant: None,
        continuations: vec![continuation(ContinueOn::Failure, "alert")],
        sealed: true,
    };
    let mut once = job("part");
    once.max_attempts = 1;
    let created = create(
        &h.store,
        batch,
        vec![job("part"), job("part"), job("other"), once],
        now,
    )
    .await
    .unwrap();
    let id = created.id;
    let ids: Vec<JobId> = created.jobs.iter().map(|e| e.id).collect();

    // A waiting job cancelled, another deleted.
    let cancelled = h
        .store
        .cancel(CancelParams {
            ids: vec![ids[0]],
            now,
        })
        .await
        .unwrap();
    assert_eq!(cancelled.cancelled, vec![ids[0]]);
    assert_eq!(status(h, id).await.counts, counts(4, 3, 0, [0, 0, 1]));
    h.store.delete(DeleteParams { id: ids[2] }).await.unwrap();
    assert_eq!(status(h, id).await.counts, counts(3, 2, 0, [0, 0, 1]));

    // Two claimed, their worker dies: the rescue returns one to waiting and
    // fails the one without attempts left.
    let claimed = claim(h, "dead", &["part"], 10, now).await;
    assert_eq!(claimed.len(), 2);
    assert_eq!(status(h, id).await.counts, counts(3, 0, 2, [0, 0, 1]));
    let later = now + secs(60);
    let rescued = h.store.rescue(RescueParams { now: later }).await.unwrap();
    assert_eq!(rescued.len(), 2);
    assert_eq!(status(h, id).await.counts, counts(3, 1, 0, [0, 1, 1]));

    // A retried dead letter waits again.
    h.store
        .retry(RetryParams {
            id: ids[3],
            now: later,
        })
        .await
        .unwrap();
    assert_eq!(status(h, id).await.counts, counts(3, 2, 0, [0, 0, 1]));

    // The batch's last waiting jobs cancelled by an operator: that write
    // finishes it, and its failure continuation is enqueued.
    let t = later + secs(1);
    let outcome = h
        .store
        .cancel(CancelParams {
            ids: vec![ids[1], ids[3]],
            now: t,
        })
        .await
        .unwrap();
    assert_eq!(outcome.cancelled.len(), 2);
    let done = status(h, id).await;
    assert_eq!(done.counts, counts(3, 0, 0, [0, 0, 3]));
    assert_eq!(done.finished_at, Some(t));
    assert_eq!(kinds(&continuations_of(h, id, t).await), vec!["alert"]);
}

pub async fn jobs_of_unfinished_batches_are_never_pruned(h: &Harness) {
    let now = t0();
    let open = NewBatch {
        tenant: None,
        continuations: Vec::new(),
        sealed: false,
    };
    let id = create(&h.store, open, vec![job("part")], now)
        .await
        .unwrap()
        .id;
    let loose = enqueue_one(h, job("part"), now).await;
    let claimed = claim(h, "w", &["part"], 10, now).await;
    h.store
        .finalize(errand::store::FinalizeParams {
            worker: "w".into(),
            items: completions(&claimed),
            now,
            frees_global_slots: false,
        })
        .await
        .unwrap();
    let store = h.store.clone();
    let prune = |_: &Harness| {
        store.prune(PruneParams {
            state: JobState::Completed,
            finished_before: now + secs(3600),
            after: None,
            limit: 1000,
        })
    };
    let pruned = prune(h).await.unwrap();
    assert_eq!(
        pruned.deleted,
        vec![loose],
        "only the job outside the batch"
    );
    assert_eq!(status(h, id).await.counts, counts(1, 0, 0, [1, 0, 0]));

    // Once finished, its jobs may go; the batch keeps the counts it
    // finished with.
    append(h, id, Vec::new(), true, now).await.unwrap();
    assert!(status(h, id).await.finished_at.is_some());
    let pruned = prune(h).await.unwrap();
    assert_eq!(pruned.deleted.len(), 1);
    assert_eq!(status(h, id).await.counts, counts(1, 0, 0, [1, 0, 0]));
}

pub async fn bad_batches_are_refused_and_change_nothing(h: &Harness) {
    let now = t0();
    let mut keyed = continuation(ContinueOn::Success, "report");
    keyed.job.unique = Some(errand::Unique::active("k"));
    let mut bad_kind = job("part");
    bad_kind.kind = "bad kind!".into();
    let mut named = job("part");
    named.batch_id = Some(7);
    let cases: Vec<(NewBatch, Vec<NewJob>, &str)> = vec![
        (
            NewBatch {
                tenant: None,
                continuations: vec![keyed],
                sealed: true,
            },
            vec![job("part")],
            "continuations[0].unique",
        ),
        (
            NewBatch {
                tenant: Some("bad tenant".into()),
                continuations: Vec::new(),
                sealed: true,
            },
            vec![job("part")],
            "tenant",
        ),
        (NewBatch::default(), vec![job("part"), bad_kind], "kind"),
        (NewBatch::default(), vec![named], "jobs[0].batch_id"),
    ];
    for (batch, jobs, field) in cases {
        let error = create(&h.store, batch, jobs, now).await.unwrap_err();
        assert!(matches!(error, Error::Invalid { .. }), "{error:?}");
        assert!(error.to_string().contains(field), "{field}: {error}");
    }
    let rows = h
        .store
        .list(ListParams {
            limit: 100,
            now,
            ..ListParams::default()
        })
        .await
        .unwrap();
    assert!(rows.is_empty(), "nothing enqueued: {rows:?}");
}

case!(batch_counts_follow_every_state_change);
case!(a_batch_that_completes_enqueues_only_success_and_complete);
case!(continuations_run_once_when_the_last_jobs_end_together);
case!(an_open_batch_finishes_only_once_sealed);
case!(cancels_rescues_retries_and_deletes_move_batch_counts);
case!(jobs_of_unfinished_batches_are_never_pruned);
case!(bad_batches_are_refused_and_change_nothing);

pub async fn runtime_jobs_append_to_their_batch_and_continuations_read_it(h: &Harness) {
    use crate::jobs::{Reports, batch_part, batch_report};
    let client = errand::Client::new(Arc::clone(&h.store));
    let batch = client
        .batch()
        .tenant("acme")
        .job(batch_part::enqueue(0))
        .job(batch_part::enqueue(3))
        .on_failure(batch_report::enqueue())
        .on_success(batch_report::enqueue())
        .enqueue()
        .await
        .unwrap();
    assert_eq!(batch.jobs().len(), 2);
    let reports = Arc::new(Reports::default());
    let summary = errand::Worker::builder(Arc::clone(&h.store))
        .register(batch_part::job())
        .register(batch_report::job())
        .state_arc(Arc::clone(&reports))
        .build()
        .unwrap()
        .drain()
        .await
        .unwrap();
    // Two parts, the two appended by part 0, one continuation.
    assert_eq!(summary.total(), 5, "{summary:?}");
    let status = batch.status().await.unwrap();
    assert_eq!(status.counts, counts(4, 0, 0, [3, 1, 0]));
    assert_eq!(status.tenant.as_deref(), Some("acme"));
    assert!(status.finished_at.is_some());
    let failed = batch.failed_jobs(10).await.unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(get(h, failed[0], t0()).await.input, serde_json::json!(2));
    let reports = reports.0.lock().unwrap().clone();
    assert_eq!(
        reports,
        vec![(status.counts, failed.clone())],
        "only the failure continuation ran, once, and saw the final counts"
    );
    let after = continuations_of_kind(h, batch.id(), "batch_report").await;
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].tenant.as_deref(), Some("acme"));
}

async fn continuations_of_kind(h: &Harness, id: BatchId, kind: &str) -> Vec<JobRow> {
    let mut rows = h
        .store
        .list(ListParams {
            kind: Some(kind.into()),
            limit: 100,
            now: t0(),
            ..ListParams::default()
        })
        .await
        .unwrap();
    rows.retain(|row| row.meta.get(CONTINUES_META) == Some(&id.0.to_string()));
    rows
}
case!(runtime_jobs_append_to_their_batch_and_continuations_read_it);

pub async fn runtime_batch_hooks_run_once_on_one_worker(h: &Harness) {
    use crate::jobs::{fatal, noop, sleepy};
    let client = errand::Client::new(Arc::clone(&h.store));
    let other = h.another().await.unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(&'static str, Batch)>();
    // Two workers of two connections, each with the hook; the first also
    // with a failing and a panicking one, which are logged and change nothing.
    let hooked = |store: Arc<dyn Store>, name: &'static str| {
        let tx = tx.clone();
        errand::Worker::builder(store)
            .register(noop::job())
            .register(fatal::job())
            .poll_interval(std::time::Duration::from_millis(50))
            .on_batch_finished(move |batch: Batch| {
                let tx = tx.clone();
                async move {
                    let _ = tx.send((name, batch));
                }
            })
    };
    let first = hooked(Arc::clone(&h.store), "first")
        .on_batch_finished(|_| async { Err::<(), _>("the notifier is down") })
        .on_batch_finished(|batch: Batch| async move {
            assert!(batch.id.0 < 0, "a broken hook");
        })
        .build()
        .unwrap()
        .start();
    let second = hooked(other, "second").build().unwrap().start();

    let done = client
        .batch()
        .tenant("acme")
        .job(noop::enqueue())
        .job(noop::enqueue())
        .job(fatal::enqueue())
        .enqueue()
        .await
        .unwrap();
    // No worker runs `sleepy`: this batch ends by its cancellation.
    let cancelled = client
        .batch()
        .job(sleepy::enqueue(1))
        .enqueue()
        .await
        .unwrap();
    cancelled.cancel().await.unwrap();

    let mut heard = Vec::new();
    while heard.len() < 2 {
        let event = tokio::time::timeout(std::time::Duration::from_secs(30), rx.recv())
            .await
            .expect("each finished batch reaches a hook")
            .unwrap();
        heard.push(event);
    }
    // Stopped workers have run every hook of what they took: nothing more
    // may have come.
    first.shutdown().await;
    second.shutdown().await;
    drop(tx);
    while let Ok(extra) = rx.try_recv() {
        heard.push(extra);
    }
    heard.sort_by_key(|(_, batch)| batch.id);
    let ids: Vec<BatchId> = heard.iter().map(|(_, b)| b.id).collect();
    assert_eq!(
        ids,
        vec![done.id(), cancelled.id()],
        "each batch once: {heard:?}"
    );
    let (done_status, cancelled_status) = (&heard[0].1, &heard[1].1);
    assert_eq!(done_status.counts, counts(3, 0, 0, [2, 1, 0]));
    assert_eq!(done_status.tenant.as_deref(), Some("acme"));
    assert!(done_status.finished_at.is_some());
    assert_eq!(cancelled_status.counts, counts(1, 0, 0, [0, 0, 1]));

    // A drain returns once the hooks of the batches it finished have run.
    let drained = client.batch().job(noop::enqueue()).enqueue().await.unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(&'static str, Batch)>();
    let summary = errand::Worker::builder(Arc::clone(&h.store))
        .register(noop::job())
        .on_batch_finished(move |batch: Batch| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(("drain", batch));
            }
        })
        .build()
        .unwrap()
        .drain()
        .await
        .unwrap();
    assert_eq!(summary.completed, 1);
    let (_, batch) = rx.try_recv().expect("the hook ran before drain returned");
    assert_eq!(batch.id, drained.id());
    assert!(rx.try_recv().is_err(), "once");
}
case!(runtime_batch_hooks_run_once_on_one_worker);

pub async fn runtime_continuations_wake_the_worker_that_ended_the_batch(h: &Harness) {
    use crate::jobs::noop;
    let client = errand::Client::new(Arc::clone(&h.store));
    // A poll an hour apart: only a wake-up can bring the continuation in time.
    let handle = errand::Worker::builder(Arc::clone(&h.store))
        .register(noop::job())
        .poll_interval(std::time::Duration::from_secs(3600))
        .build()
        .unwrap()
        .start();
    let batch = client
        .batch()
        .job(noop::enqueue())
        .on_complete(noop::enqueue())
        .enqueue()
        .await
        .unwrap();
    continuation_completes(h, batch.id()).await;
    // A batch ended by its cancellation (its job is of a kind no worker
    // runs): the same.
    let cancelled = client
        .batch()
        .job(crate::jobs::sleepy::enqueue(1))
        .on_complete(noop::enqueue())
        .enqueue()
        .await
        .unwrap();
    cancelled.cancel().await.unwrap();
    continuation_completes(h, cancelled.id()).await;
    handle.shutdown().await;
}

/// Waits, 30 s at most, for the `noop` continuation of batch `id` to complete.
async fn continuation_completes(h: &Harness, id: BatchId) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let rows = continuations_of_kind(h, id, "noop").await;
        if rows
            .first()
            .is_some_and(|row| row.state == JobState::Completed)
        {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the continuation waited for the poll: {rows:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
case!(runtime_continuations_wake_the_worker_that_ended_the_batch);

pub async fn cancelling_a_batch_cancels_waiting_and_signals_running_jobs(h: &Harness) {
    let now = t0();
    let batch = NewBatch {
        tenant: None,
        continuations: vec![
            continuation(ContinueOn::Failure, "alert"),
            continuation(ContinueOn::Success, "report"),
        ],
        sealed: false,
    };
    let created = create(&h.store, batch, (0..5).map(|_| job("part")).collect(), now)
        .await
        .unwrap();
    let id = created.id;
    let running = claim(h, "w", &["part"], 2, now).await;
    finalize(
        h,
        "w",
        running[0].id,
        running[0].attempt,
        Outcome::Complete {
            output: serde_json::json!(null),
        },
        now,
    )
    .await;
    // One completed, one running, three waiting.
    let t1 = now + secs(1);
    let outcome = h
        .store
        .cancel_batch(errand::store::CancelBatchParams { id, now: t1 })
        .await
        .unwrap();
    assert_eq!(
        (outcome.cancelled, outcome.signalled, outcome.finished),
        (3, 1, 1)
    );
    let cancelled = status(h, id).await;
    assert_eq!(cancelled.counts, counts(5, 0, 1, [1, 0, 3]));
    assert_eq!(cancelled.cancelled_at, Some(t1));
    assert!(cancelled.sealed, "a cancelled batch is sealed");
    assert!(cancelled.finished_at.is_none(), "a job still runs");
    // The running job hears of it at its next lease renewal.
    let leases = h
        .store
        .renew_leases(errand::store::RenewParams {
            worker: "w".into(),
            jobs: vec![(running[1].id, running[1].attempt)],
            lease_until: t1 + secs(30),
        })
        .await
        .unwrap();
    assert!(leases[0].held && leases[0].cancel_requested, "{leases:?}");
    // A cancelled batch takes no job.
    let refused = append(h, id, vec![job("part")], false, t1)
        .await
        .unwrap_err();
    assert!(matches!(refused, Error::Conflict { .. }), "{refused:?}");
    assert!(refused.to_string().contains("cancelled"), "{refused}");
    assert!(claim(h, "w2", &["part"], 10, t1).await.is_empty());

    // The running job ends cancelled: the batch finishes in that write.
    let t2 = now + secs(2);
    finalize(
        h,
        "w",
        running[1].id,
        running[1].attempt,
        Outcome::Cancel {
            error: attempt_error(
                running[1].attempt,
                t2,
                "cancelled on request",
                errand::ErrorKind::Cancelled,
            ),
        },
        t2,
    )
    .await;
    let done = status(h, id).await;
    assert_eq!(done.counts, counts(5, 0, 0, [1, 0, 4]));
    assert_eq!(done.finished_at, Some(t2));
    assert_eq!(kinds(&continuations_of(h, id, t2).await), vec!["alert"]);

    // Cancelling again changes nothing; an unknown batch is not found.
    let again = h
        .store
        .cancel_batch(errand::store::CancelBatchParams { id, now: t2 })
        .await
        .unwrap();
    assert_eq!(
        (again.cancelled, again.signalled, again.finished),
        (0, 0, 5)
    );
    assert_eq!(status(h, id).await.cancelled_at, Some(t1));
    let missing = h
        .store
        .cancel_batch(errand::store::CancelBatchParams {
            id: BatchId(id.0 + 1_000_000),
            now: t2,
        })
        .await
        .unwrap_err();
    assert!(matches!(missing, Error::NotFound { .. }), "{missing:?}");

    // A batch with nothing waiting or running finishes when cancelled.
    let idle = NewBatch {
        tenant: None,
        continuations: vec![continuation(ContinueOn::Complete, "report")],
        sealed: false,
    };
    let idle = create(&h.store, idle, Vec::new(), now).await.unwrap().id;
    let outcome = h
        .store
        .cancel_batch(errand::store::CancelBatchParams { id: idle, now: t2 })
        .await
        .unwrap();
    assert_eq!(
        (outcome.cancelled, outcome.signalled, outcome.finished),
        (0, 0, 0)
    );
    assert_eq!(status(h, idle).await.finished_at, Some(t2));
    assert_eq!(kinds(&continuations_of(h, idle, t2).await), vec!["report"]);
}
case!(cancelling_a_batch_cancels_waiting_and_signals_running_jobs);

/// Claims every due job of `kind` and completes it at `now`.
async fn complete_all(h: &Harness, kind: &str, now: DateTime<Utc>) {
    let claimed = claim(h, "w", &[kind], 100, now).await;
    assert!(!claimed.is_empty(), "a {kind} job should be due");
    h.store
        .finalize(errand::store::FinalizeParams {
            worker: "w".into(),
            items: completions(&claimed),
            now,
            frees_global_slots: false,
        })
        .await
        .unwrap();
}

fn tenant_batch(tenant: Option<&str>, sealed: bool) -> NewBatch {
    NewBatch {
        tenant: tenant.map(Into::into),
        continuations: Vec::new(),
        sealed,
    }
}

async fn list_batches(
    h: &Harness,
    tenant: Option<&str>,
    before_id: Option<BatchId>,
    limit: u32,
) -> errand::Result<Vec<Batch>> {
    h.store
        .list_batches(errand::store::ListBatchesParams {
            tenant: tenant.map(Into::into),
            before_id,
            limit,
        })
        .await
}

fn batch_ids(batches: &[Batch]) -> Vec<BatchId> {
    batches.iter().map(|batch| batch.id).collect()
}

pub async fn batches_are_listed_newest_first_and_summed_per_tenant(h: &Harness) {
    let now = t0();
    let mut ids = Vec::new();
    // Tenant a: two batches of two jobs, one empty (finished at once);
    // tenant b: one of one job; and one without a tenant.
    for (tenant, jobs) in [
        (Some("a"), 2),
        (Some("b"), 1),
        (Some("a"), 0),
        (None, 1),
        (Some("a"), 2),
    ] {
        let jobs = (0..jobs).map(|_| job("part")).collect();
        let created = create(&h.store, tenant_batch(tenant, true), jobs, now)
            .await
            .unwrap();
        ids.push(created.id);
    }
    let newest_first: Vec<BatchId> = ids.iter().rev().copied().collect();

    // Pages of two, each starting below the last id of the one before.
    let mut walked = Vec::new();
    let mut before_id = None;
    loop {
        let page = list_batches(h, None, before_id, 2).await.unwrap();
        assert!(page.len() <= 2, "a page holds at most its limit");
        walked.extend(batch_ids(&page));
        match page.last() {
            Some(last) if page.len() == 2 => before_id = Some(last.id),
            _ => break,
        }
    }
    assert_eq!(walked, newest_first, "every batch once, newest first");

    let of_a = list_batches(h, Some("a"), None, 10).await.unwrap();
    assert_eq!(batch_ids(&of_a), vec![ids[4], ids[2], ids[0]]);
    assert!(of_a.iter().all(|b| b.tenant.as_deref() == Some("a")));
    let below = list_batches(h, Some("a"), Some(ids[4]), 1).await.unwrap();
    assert_eq!(batch_ids(&below), vec![ids[2]]);
    assert!(
        list_batches(h, Some("nobody"), None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // The listed batch is the batch read alone.
    assert_eq!(of_a[0], status(h, ids[4]).await);

    // One job of tenant a's first batch completes.
    let claimed = claim(h, "w", &["part"], 1, now).await;
    assert_eq!(claimed.len(), 1);
    h.store
        .finalize(errand::store::FinalizeParams {
            worker: "w".into(),
            items: completions(&claimed),
            now,
            frees_global_slots: false,
        })
        .await
        .unwrap();
    let a = h.store.batch_totals(Some("a".into())).await.unwrap();
    assert_eq!(a.tenant.as_deref(), Some("a"));
    assert_eq!((a.batches, a.unfinished), (3, 2), "{a:?}");
    assert_eq!(a.counts, counts(4, 3, 0, [1, 0, 0]));
    let all = h.store.batch_totals(None).await.unwrap();
    assert_eq!((all.batches, all.unfinished), (5, 4), "{all:?}");
    assert_eq!(all.counts, counts(6, 5, 0, [1, 0, 0]));
    let none = h.store.batch_totals(Some("nobody".into())).await.unwrap();
    assert_eq!((none.batches, none.counts), (0, BatchCounts::default()));
}

pub async fn bad_batch_lists_and_prunes_are_refused(h: &Harness) {
    let now = t0();
    let id = create(&h.store, tenant_batch(None, true), Vec::new(), now)
        .await
        .unwrap()
        .id;
    for (tenant, limit, field) in [
        (None, 0, "limit"),
        (None, 1001, "limit"),
        (Some("bad tenant"), 10, "tenant"),
    ] {
        let error = list_batches(h, tenant, None, limit).await.unwrap_err();
        assert!(matches!(error, Error::Invalid { .. }), "{error:?}");
        assert!(error.to_string().contains(field), "{field}: {error}");
    }
    let error = h.store.batch_totals(Some(String::new())).await.unwrap_err();
    assert!(error.to_string().contains("tenant"), "{error}");
    for limit in [0, 10_001] {
        let error = h
            .store
            .prune_batches(errand::store::PruneBatchesParams {
                finished_before: now + secs(3600),
                limit,
            })
            .await
            .unwrap_err();
        assert!(matches!(error, Error::Invalid { .. }), "{error:?}");
        assert!(error.to_string().contains("limit"), "{error}");
    }
    assert!(h.store.batch(id).await.unwrap().is_some(), "nothing pruned");
}

pub async fn only_batches_finished_before_the_cutoff_are_pruned(h: &Harness) {
    let now = t0();
    let prune = |before: DateTime<Utc>, limit: u32| {
        h.store.prune_batches(errand::store::PruneBatchesParams {
            finished_before: before,
            limit,
        })
    };
    // Finished at `now` (empty), at now+10s, at now+100s; one unfinished
    // and one open (unsealed) batch whose jobs are all done.
    let empty = create(&h.store, tenant_batch(Some("t"), true), Vec::new(), now)
        .await
        .unwrap()
        .id;
    let early = create(
        &h.store,
        tenant_batch(Some("t"), true),
        vec![job("early")],
        now,
    )
    .await
    .unwrap();
    let late = create(&h.store, tenant_batch(None, true), vec![job("late")], now)
        .await
        .unwrap()
        .id;
    let waiting = create(&h.store, tenant_batch(None, true), vec![job("waits")], now)
        .await
        .unwrap()
        .id;
    let open = create(&h.store, tenant_batch(None, false), vec![job("open")], now)
        .await
        .unwrap()
        .id;
    complete_all(h, "early", now + secs(10)).await;
    complete_all(h, "late", now + secs(100)).await;
    complete_all(h, "open", now + secs(10)).await;

    let cutoff = now + secs(50);
    assert_eq!(prune(cutoff, 1).await.unwrap(), vec![empty], "oldest first");
    assert_eq!(prune(cutoff, 10).await.unwrap(), vec![early.id]);
    assert!(prune(cutoff, 10).await.unwrap().is_empty());
    assert!(h.store.batch(empty).await.unwrap().is_none());
    assert!(h.store.batch(early.id).await.unwrap().is_none());
    for kept in [late, waiting, open] {
        assert!(h.store.batch(kept).await.unwrap().is_some(), "{kept} kept");
    }
    let listed = batch_ids(&list_batches(h, None, None, 10).await.unwrap());
    assert_eq!(listed, vec![open, waiting, late]);
    assert!(
        list_batches(h, Some("t"), None, 10)
            .await
            .unwrap()
            .is_empty(),
        "the tenant's index forgets pruned batches"
    );
    let totals = h.store.batch_totals(None).await.unwrap();
    assert_eq!((totals.batches, totals.unfinished), (3, 2));

    // The pruned batch's job stays, under its own retention, and can still
    // be retried and deleted without bringing the batch back.
    let job_id = early.jobs[0].id;
    let row = h
        .store
        .get(errand::store::GetParams {
            id: job_id,
            now: now + secs(200),
        })
        .await
        .unwrap()
        .expect("job kept");
    assert_eq!(row.state, JobState::Completed);
    h.store
        .retry(RetryParams {
            id: job_id,
            now: now + secs(200),
        })
        .await
        .unwrap();
    complete_all(h, "early", now + secs(200)).await;
    h.store.delete(DeleteParams { id: job_id }).await.unwrap();
    assert!(h.store.batch(early.id).await.unwrap().is_none());
    assert_eq!(
        batch_ids(&list_batches(h, None, None, 10).await.unwrap()),
        vec![open, waiting, late]
    );

    // Unfinished batches are never pruned, however old.
    assert_eq!(prune(now + secs(1_000_000), 10).await.unwrap(), vec![late]);
    for kept in [waiting, open] {
        assert!(h.store.batch(kept).await.unwrap().is_some(), "{kept} kept");
    }
}

case!(batches_are_listed_newest_first_and_summed_per_tenant);
case!(bad_batch_lists_and_prunes_are_refused);
case!(only_batches_finished_before_the_cutoff_are_pruned);

pub async fn extend_writes_large_batches_in_chunks_until_sealed(h: &Harness) {
    use crate::jobs::noop;
    let client = errand::Client::new(Arc::clone(&h.store));
    let batch = client
        .batch()
        .tenant("acme")
        .on_complete(noop::enqueue())
        .open()
        .enqueue()
        .await
        .unwrap();
    let extra = errand::EXTEND_CHUNK + 100;
    let added = batch
        .extend((0..extra).map(|_| noop::enqueue()))
        .await
        .unwrap();
    assert_eq!(added, extra as u64);
    // Jobs naming no tenant take the batch's, also through a handle made
    // from the id alone.
    let by_id = client.batch_handle(batch.id());
    let raw = NewJob::new("noop", serde_json::Value::Null);
    by_id.append_raw(vec![raw]).await.unwrap();
    let total = extra as u64 + 1;
    assert_eq!(batch.status().await.unwrap().counts.total, total);
    let of_acme = h
        .store
        .list(ListParams {
            batch_id: Some(batch.id().0),
            tenant: Some("acme".into()),
            limit: 10_000,
            now: t0(),
            ..ListParams::default()
        })
        .await
        .unwrap();
    assert_eq!(of_acme.len() as u64, total, "every job carries the tenant");

    // A bad job in the second chunk: the first chunk stays, nothing of the
    // second is written, and the error names the field.
    let bad_at = errand::EXTEND_CHUNK + 200;
    let jobs = (0..errand::EXTEND_CHUNK + 500).map(|i| {
        let job = noop::enqueue();
        if i == bad_at {
            job.queue("bad queue")
        } else {
            job
        }
    });
    let error = batch.extend(jobs).await.unwrap_err();
    assert!(
        matches!(&error, Error::Invalid { field, .. } if field == "queue"),
        "{error:?}"
    );
    let total = total + errand::EXTEND_CHUNK as u64;
    assert_eq!(batch.status().await.unwrap().counts.total, total);

    // Every job done, the batch still open: no continuation yet.
    let worker = errand::Worker::builder(Arc::clone(&h.store))
        .register(noop::job())
        .build()
        .unwrap();
    let ran = worker.drain().await.unwrap();
    assert_eq!(ran.total(), total, "{ran:?}");
    let open = batch.status().await.unwrap();
    assert_eq!(open.counts, counts(total, 0, 0, [total, 0, 0]));
    assert!(
        open.finished_at.is_none(),
        "an open batch waits for its seal"
    );
    assert!(!open.continuations[0].enqueued);

    batch.seal().await.unwrap();
    let done = batch.status().await.unwrap();
    assert!(done.finished_at.is_some());
    assert!(done.continuations[0].enqueued);
    assert_eq!(worker.drain().await.unwrap().total(), 1, "the continuation");
}
case!(extend_writes_large_batches_in_chunks_until_sealed);

async fn take(h: &Harness, limit: u32) -> Vec<BatchId> {
    let taken = h.store.take_finished_batches(limit).await.unwrap();
    batch_ids(&taken)
}

pub async fn finished_batches_are_taken_once_whatever_ends_them(h: &Harness) {
    let now = t0();
    assert!(take(h, 10).await.is_empty(), "nothing has finished yet");
    // One ends by its job's completion, one is empty and ends at once, one
    // ends by its cancellation, one stays open.
    let completed = create(
        &h.store,
        tenant_batch(Some("acme"), true),
        vec![job("a")],
        now,
    )
    .await
    .unwrap()
    .id;
    let empty = create(&h.store, tenant_batch(None, true), Vec::new(), now)
        .await
        .unwrap()
        .id;
    let cancelled = create(
        &h.store,
        tenant_batch(None, true),
        vec![job("c"), job("c")],
        now,
    )
    .await
    .unwrap()
    .id;
    let open = create(&h.store, tenant_batch(None, false), vec![job("o")], now)
        .await
        .unwrap()
        .id;
    let claimed = claim(h, "w", &["a"], 1, now).await;
    finalize(
        h,
        "w",
        claimed[0].id,
        claimed[0].attempt,
        Outcome::Complete {
            output: serde_json::json!(null),
        },
        now + secs(1),
    )
    .await;
    h.store
        .cancel_batch(errand::store::CancelBatchParams {
            id: cancelled,
            now: now + secs(2),
        })
        .await
        .unwrap();

    // A bad limit is refused naming it and takes nothing.
    for limit in [0, 1001] {
        let error = h.store.take_finished_batches(limit).await.unwrap_err();
        assert!(matches!(error, Error::Invalid { .. }), "{error:?}");
        assert!(error.to_string().contains("limit"), "{error}");
    }

    let first = h.store.take_finished_batches(2).await.unwrap();
    assert_eq!(
        batch_ids(&first),
        vec![empty, completed],
        "oldest end first"
    );
    assert_eq!(first[1].tenant.as_deref(), Some("acme"));
    assert_eq!(first[1].counts, counts(1, 0, 0, [1, 0, 0]));
    assert_eq!(first[1].finished_at, Some(now + secs(1)));
    let second = h.store.take_finished_batches(10).await.unwrap();
    assert_eq!(batch_ids(&second), vec![cancelled]);
    assert_eq!(second[0].counts, counts(2, 0, 0, [0, 0, 2]));
    assert!(take(h, 10).await.is_empty(), "each batch is taken once");

    // A finished batch's job retried and completed again does not finish
    // it again; the open batch, sealed and done, is taken then.
    h.store
        .retry(RetryParams {
            id: claimed[0].id,
            now: now + secs(3),
        })
        .await
        .unwrap();
    complete_all(h, "a", now + secs(4)).await;
    assert!(take(h, 10).await.is_empty(), "a batch finishes once");
    append(h, open, Vec::new(), true, now + secs(5))
        .await
        .unwrap();
    complete_all(h, "o", now + secs(6)).await;
    assert_eq!(take(h, 10).await, vec![open]);

    // A batch pruned before anyone took it is not taken afterwards.
    let pruned = create(
        &h.store,
        tenant_batch(None, true),
        Vec::new(),
        now + secs(7),
    )
    .await
    .unwrap()
    .id;
    let gone = h
        .store
        .prune_batches(errand::store::PruneBatchesParams {
            finished_before: now + secs(8),
            limit: 100,
        })
        .await
        .unwrap();
    assert!(gone.contains(&pruned), "{gone:?}");
    assert!(take(h, 10).await.is_empty(), "a pruned batch is not taken");
}

pub async fn two_takers_never_take_the_same_batch(h: &Harness) {
    let other = h.another().await.unwrap();
    let now = t0();
    let mut made = Vec::new();
    for i in 0..60 {
        let id = create(
            &h.store,
            tenant_batch(None, true),
            Vec::new(),
            now + secs(i),
        )
        .await
        .unwrap()
        .id;
        made.push(id);
    }
    let drain = |store: Arc<dyn Store>| async move {
        let mut got = Vec::new();
        loop {
            let taken = store.take_finished_batches(7).await.unwrap();
            if taken.is_empty() {
                return got;
            }
            got.extend(batch_ids(&taken));
        }
    };
    let (a, b) = tokio::join!(drain(h.store.clone()), drain(other));
    let mut all: Vec<BatchId> = a.iter().chain(&b).copied().collect();
    all.sort();
    let mut unique = all.clone();
    unique.dedup();
    assert_eq!(all, unique, "a batch was taken twice: {a:?} and {b:?}");
    assert_eq!(all, made, "every finished batch is taken");
}

case!(finished_batches_are_taken_once_whatever_ends_them);
case!(two_takers_never_take_the_same_batch);
