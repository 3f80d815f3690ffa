use std::time::Duration;

use errand::store::{
    CancelParams, DeleteParams, GetParams, Outcome, PruneParams, RescheduleParams, RetryParams,
};
use errand::{Error, JobState, ListParams, NewJob, Unique};

use super::*;

pub async fn cancel_waiting_and_running_jobs(h: &Harness) {
    let now = t0();
    let waiting = enqueue_one(
        h,
        NewJob {
            run_at: Some(now + secs(60)),
            ..job("k")
        },
        now,
    )
    .await;
    let running = enqueue_one(h, job("k"), now).await;
    let done = enqueue_one(h, job("done"), now).await;
    claim(h, "w", &["k"], 5, now).await;
    claim(h, "w", &["done"], 5, now).await;
    let complete = Outcome::Complete {
        output: serde_json::Value::Null,
    };
    assert!(finalize(h, "w", done, 1, complete, now).await);
    let out = h
        .store
        .cancel(CancelParams {
            ids: vec![waiting, running, JobId(999_999), done, waiting],
            now,
        })
        .await
        .unwrap();
    assert_eq!(out.cancelled, [waiting], "a waiting job is cancelled once");
    assert_eq!(out.requested, [running]);
    assert_eq!(
        out.finished,
        [(done, JobState::Completed)],
        "a finished job is reported with its state"
    );
    assert_eq!(out.missing, [JobId(999_999)], "a missing id is reported");
    let w = get(h, waiting, now).await;
    assert_eq!((w.state, w.finished_at), (JobState::Cancelled, Some(now)));
    let r = get(h, running, now).await;
    assert_eq!((r.state, r.cancel_requested), (JobState::Running, true));
    assert_eq!(get(h, done, now).await.state, JobState::Completed);
    assert!(
        claim(h, "w", &["k"], 5, now + secs(120)).await.is_empty(),
        "a cancelled job never runs"
    );
    // Cancelling the cancelled job again changes nothing and says why.
    let again = h
        .store
        .cancel(CancelParams {
            ids: vec![waiting],
            now: now + secs(1),
        })
        .await
        .unwrap();
    assert_eq!(again.finished, [(waiting, JobState::Cancelled)]);
    assert_eq!(get(h, waiting, now).await.finished_at, Some(now));
    let one = again.of(waiting);
    assert!(
        matches!(
            one,
            Err(Error::Conflict {
                state: Some(JobState::Cancelled),
                ..
            })
        ),
        "{one:?}"
    );
    assert!(matches!(
        out.of(JobId(999_999)),
        Err(Error::NotFound { .. })
    ));
}
case!(cancel_waiting_and_running_jobs);

/// Retry, delete and cancel of a job that does not exist, or whose state
/// does not allow it, are typed errors (`NotFound`, `Conflict` naming the
/// state) and change nothing.
pub async fn admin_calls_say_why_nothing_happened(h: &Harness) {
    let now = t0();
    let missing = JobId(987_654_321);
    let retry = h.store.retry(RetryParams { id: missing, now }).await;
    assert!(matches!(retry, Err(Error::NotFound { .. })), "{retry:?}");
    let delete = h.store.delete(DeleteParams { id: missing }).await;
    assert!(matches!(delete, Err(Error::NotFound { .. })), "{delete:?}");
    let e = delete.unwrap_err().to_string();
    assert!(e.contains("987654321"), "the error names the job: {e}");

    let scheduled = enqueue_one(
        h,
        NewJob {
            run_at: Some(now + secs(60)),
            ..job("k")
        },
        now,
    )
    .await;
    let available = enqueue_one(h, job("k"), now).await;
    let retry = h.store.retry(RetryParams { id: scheduled, now }).await;
    assert!(
        matches!(
            retry,
            Err(Error::Conflict {
                state: Some(JobState::Scheduled),
                ..
            })
        ),
        "{retry:?}"
    );
    let retry = h.store.retry(RetryParams { id: available, now }).await;
    assert!(
        matches!(
            retry,
            Err(Error::Conflict {
                state: Some(JobState::Available),
                ..
            })
        ),
        "{retry:?}"
    );
    let e = retry.unwrap_err().to_string();
    assert!(
        e.contains("available") && e.contains(&available.to_string()),
        "{e}"
    );
    claim(h, "w", &["k"], 1, now).await;
    let retry = h.store.retry(RetryParams { id: available, now }).await;
    assert!(
        matches!(
            retry,
            Err(Error::Conflict {
                state: Some(JobState::Running),
                ..
            })
        ),
        "{retry:?}"
    );
    let delete = h.store.delete(DeleteParams { id: available }).await;
    assert!(
        matches!(
            delete,
            Err(Error::Conflict {
                state: Some(JobState::Running),
                ..
            })
        ),
        "{delete:?}"
    );
    // A failed attempt waiting for the next one is retrying, not finished.
    let error = errand::AttemptError {
        attempt: 1,
        at: now,
        message: "x".into(),
        kind: errand::ErrorKind::Error,
    };
    let later = Outcome::Retry {
        run_at: now + secs(30),
        error,
    };
    assert!(finalize(h, "w", available, 1, later, now).await);
    let retry = h.store.retry(RetryParams { id: available, now }).await;
    assert!(
        matches!(
            retry,
            Err(Error::Conflict {
                state: Some(JobState::Retrying),
                ..
            })
        ),
        "{retry:?}"
    );
    let row = get(h, available, now).await;
    assert_eq!(
        (row.state, row.run_at, row.attempt),
        (JobState::Retrying, now + secs(30), 1),
        "a refused retry changes nothing"
    );
    assert_eq!(get(h, scheduled, now).await.state, JobState::Scheduled);
}
case!(admin_calls_say_why_nothing_happened);

/// A finished job whose `active` unique key another unfinished job took
/// since cannot be retried: that would make two unfinished jobs hold it.
pub async fn retry_refuses_a_unique_key_held_by_another_job(h: &Harness) {
    let now = t0();
    let keyed = || NewJob {
        unique: Some(Unique::active("nightly-report")),
        ..job("k")
    };
    let first = enqueue_one(h, keyed(), now).await;
    claim(h, "w", &["k"], 1, now).await;
    let complete = Outcome::Complete {
        output: serde_json::Value::Null,
    };
    assert!(finalize(h, "w", first, 1, complete, now).await);
    let second = enqueue(h, vec![keyed()], now).await[0];
    assert!(!second.duplicate, "the key is free once the first finished");
    let retry = h.store.retry(RetryParams { id: first, now }).await;
    assert!(matches!(retry, Err(Error::Conflict { .. })), "{retry:?}");
    assert_eq!(get(h, first, now).await.state, JobState::Completed);
    let third = enqueue(h, vec![keyed()], now).await[0];
    assert!(
        third.duplicate && third.id == second.id,
        "the second job still holds the key"
    );
}
case!(retry_refuses_a_unique_key_held_by_another_job);

pub async fn unique_key_active_scope(h: &Harness) {
    let now = t0();
    let first = enqueue(
        h,
        vec![NewJob {
            unique: Some(Unique::active("invoice-7")),
            ..job("k")
        }],
        now,
    )
    .await[0];
    assert!(!first.duplicate);
    let dup = enqueue(
        h,
        vec![NewJob {
            unique: Some(Unique::active("invoice-7")),
            ..job("other_kind")
        }],
        now,
    )
    .await[0];
    assert!(
        dup.duplicate,
        "a second unfinished job with the key is a duplicate"
    );
    assert_eq!(
        dup.id, first.id,
        "the duplicate enqueue returns the existing id"
    );
    // Inside one bulk too.
    let bulk = enqueue(
        h,
        vec![
            NewJob {
                unique: Some(Unique::active("bulk-key")),
                ..job("k")
            },
            job("k"),
            NewJob {
                unique: Some(Unique::active("bulk-key")),
                ..job("k")
            },
        ],
        now,
    )
    .await;
    assert!(!bulk[0].duplicate && !bulk[1].duplicate && bulk[2].duplicate);
    assert_eq!(bulk[2].id, bulk[0].id);
    assert_eq!(
        get(h, first.id, now).await.unique_key.as_deref(),
        Some("invoice-7")
    );
    // Once the job finishes, the key is free again.
    let claimed = claim(h, "w", &["k"], 1, now).await;
    assert_eq!(claimed[0].id, first.id);
    assert!(
        finalize(
            h,
            "w",
            first.id,
            1,
            Outcome::Complete {
                output: serde_json::Value::Null
            },
            now
        )
        .await
    );
    let next = enqueue(
        h,
        vec![NewJob {
            unique: Some(Unique::active("invoice-7")),
            ..job("k")
        }],
        now,
    )
    .await[0];
    assert!(!next.duplicate);
    assert_ne!(next.id, first.id);
}
case!(unique_key_active_scope);

pub async fn unique_key_forever_and_period_scopes(h: &Harness) {
    let now = t0();
    let forever = |k: &str| NewJob {
        unique: Some(Unique::forever(k)),
        ..job("k")
    };
    let first = enqueue(h, vec![forever("welcome-ada")], now).await[0];
    claim(h, "w", &["k"], 1, now).await;
    assert!(
        finalize(
            h,
            "w",
            first.id,
            1,
            Outcome::Complete {
                output: serde_json::Value::Null
            },
            now
        )
        .await
    );
    let again = enqueue(h, vec![forever("welcome-ada")], now + secs(3600)).await[0];
    assert!(
        again.duplicate && again.id == first.id,
        "forever holds after completion"
    );

    let period = |k: &str| NewJob {
        unique: Some(Unique::period(k, Duration::from_secs(60))),
        ..job("k")
    };
    let p1 = enqueue(h, vec![period("report")], now).await[0];
    let p2 = enqueue(h, vec![period("report")], now + secs(59)).await[0];
    assert!(p2.duplicate && p2.id == p1.id, "within the period");
    let p3 = enqueue(h, vec![period("report")], now + secs(60)).await[0];
    assert!(!p3.duplicate, "after the period a new job is allowed");
    let p4 = enqueue(h, vec![period("report")], now + secs(61)).await[0];
    assert!(p4.duplicate && p4.id == p3.id);
}
case!(unique_key_forever_and_period_scopes);

pub async fn manual_retry_and_delete(h: &Harness) {
    let now = t0();
    let id = enqueue_one(
        h,
        NewJob {
            max_attempts: 1,
            ..job("k")
        },
        now,
    )
    .await;
    claim(h, "w", &["k"], 1, now).await;
    assert!(
        matches!(
            h.store.delete(DeleteParams { id }).await,
            Err(Error::Conflict { .. })
        ),
        "a running job cannot be deleted"
    );
    assert!(
        h.store.retry(RetryParams { id, now }).await.is_err(),
        "a running job cannot be retried"
    );
    let e = errand::AttemptError {
        attempt: 1,
        at: now,
        message: "x".into(),
        kind: errand::ErrorKind::Error,
    };
    assert!(finalize(h, "w", id, 1, Outcome::Fail { error: e }, now).await);
    h.store
        .retry(RetryParams {
            id,
            now: now + secs(5),
        })
        .await
        .unwrap();
    let row = get(h, id, now + secs(5)).await;
    assert_eq!(
        (row.state, row.run_at, row.finished_at),
        (JobState::Available, now + secs(5), None)
    );
    assert!(
        row.max_attempts > row.attempt,
        "a retried job has attempts left"
    );
    assert_eq!(row.errors.len(), 1, "history is kept");
    let again = claim(h, "w", &["k"], 1, now + secs(5)).await;
    assert_eq!(again[0].attempt, 2);
    assert!(
        finalize(
            h,
            "w",
            id,
            2,
            Outcome::Complete {
                output: serde_json::Value::Null
            },
            now + secs(6)
        )
        .await
    );
    h.store.delete(DeleteParams { id }).await.unwrap();
    assert!(
        h.store
            .get(errand::store::GetParams { id, now })
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        matches!(
            h.store.delete(DeleteParams { id }).await,
            Err(Error::NotFound { .. })
        ),
        "deleting twice finds nothing"
    );
}
case!(manual_retry_and_delete);

pub async fn a_retried_job_gets_a_fresh_attempt_budget(h: &Harness) {
    let now = t0();
    let mut new = job("k");
    new.max_attempts = 2;
    let id = enqueue_one(h, new, now).await;
    let error = |attempt: u32| errand::AttemptError {
        attempt,
        at: now,
        message: format!("attempt {attempt} failed"),
        kind: errand::ErrorKind::Error,
    };
    // Both attempts used up.
    let first = claim(h, "w", &["k"], 1, now).await;
    let retry = Outcome::Retry {
        run_at: now,
        error: error(1),
    };
    assert!(finalize(h, "w", id, first[0].attempt, retry, now).await);
    let second = claim(h, "w", &["k"], 1, now).await;
    assert!(finalize(h, "w", id, 2, Outcome::Fail { error: error(2) }, now).await);
    let failed = get(h, id, now).await;
    assert_eq!((failed.attempt, failed.max_attempts), (2, 2));
    assert_eq!(second[0].max_attempts, 2);

    // Retried: two more attempts than it had, its errors kept.
    let retry = |at| RetryParams { id, now: at };
    h.store.retry(retry(now + secs(1))).await.unwrap();
    let row = get(h, id, now + secs(1)).await;
    assert_eq!(
        (row.state, row.attempt, row.max_attempts),
        (JobState::Available, 2, 4)
    );
    assert_eq!(row.errors.len(), 2, "history is kept");

    // Failed for good early (a fatal error) on its third attempt: the next
    // retry gives the budget it was enqueued with, not the retried one.
    let third = claim(h, "w", &["k"], 1, now + secs(1)).await;
    assert_eq!((third[0].attempt, third[0].max_attempts), (3, 4));
    assert!(
        finalize(
            h,
            "w",
            id,
            3,
            Outcome::Fail { error: error(3) },
            now + secs(1)
        )
        .await
    );
    h.store.retry(retry(now + secs(2))).await.unwrap();
    let row = get(h, id, now + secs(2)).await;
    assert_eq!((row.attempt, row.max_attempts), (3, 5));
    assert_eq!(row.errors.len(), 3);

    // A completed job retried gets the same fresh budget.
    let fourth = claim(h, "w", &["k"], 1, now + secs(2)).await;
    let done = Outcome::Complete {
        output: serde_json::json!(1),
    };
    assert!(finalize(h, "w", id, fourth[0].attempt, done, now + secs(2)).await);
    h.store.retry(retry(now + secs(3))).await.unwrap();
    let row = get(h, id, now + secs(3)).await;
    assert_eq!((row.attempt, row.max_attempts, row.output), (4, 6, None));
}
case!(a_retried_job_gets_a_fresh_attempt_budget);

pub async fn queue_depths_count_due_jobs_and_their_oldest(h: &Harness) {
    let now = t0();
    assert!(h.store.queue_depths(now).await.unwrap().is_empty());
    let at = |queue: &str, kind: &str, ago: i64, priority: i16| {
        let mut job = job(kind);
        job.queue = queue.into();
        job.priority = priority;
        job.run_at = Some(now - secs(ago));
        job
    };
    let mut later = job("k");
    later.queue = "a".into();
    later.run_at = Some(now + secs(3600));
    enqueue(
        h,
        vec![
            at("a", "k", 10, 0),
            at("a", "k", 5, 0),
            // Claimed after the priority-0 jobs, yet the oldest.
            at("a", "k", 20, 5),
            at("b", "k", 1, 0),
            at("default", "runs", 30, 0),
            at("default", "done", 40, 0),
            later,
        ],
        now - secs(60),
    )
    .await;
    // Running and finished jobs are not due.
    assert_eq!(claim(h, "w", &["runs"], 1, now).await.len(), 1);
    let done = claim(h, "w", &["done"], 1, now).await;
    assert!(
        finalize(
            h,
            "w",
            done[0].id,
            1,
            Outcome::Complete {
                output: serde_json::Value::Null
            },
            now
        )
        .await
    );
    let depths = h.store.queue_depths(now).await.unwrap();
    let seen: Vec<(&str, u64, Option<DateTime<Utc>>)> = depths
        .iter()
        .map(|d| (d.queue.as_str(), d.due, d.oldest_due_at))
        .collect();
    assert_eq!(
        seen,
        vec![
            ("a", 3, Some(now - secs(20))),
            ("b", 1, Some(now - secs(1))),
        ]
    );
}
case!(queue_depths_count_due_jobs_and_their_oldest);

pub async fn list_filters_by_state_kind_queue_tenant(h: &Harness) {
    let now = t0();
    let a = enqueue_one(
        h,
        NewJob {
            tenant: Some("acme".into()),
            ..job("mail")
        },
        now,
    )
    .await;
    let b = enqueue_one(
        h,
        NewJob {
            queue: "low".into(),
            run_at: Some(now + secs(60)),
            ..job("mail")
        },
        now,
    )
    .await;
    let c = enqueue_one(h, job("resize"), now).await;
    let list = |p: ListParams| async move {
        let limit = if p.limit == 0 { 100 } else { p.limit };
        let rows = h.store.list(ListParams { limit, now, ..p }).await.unwrap();
        rows.into_iter().map(|r| r.id).collect::<Vec<_>>()
    };
    assert_eq!(list(ListParams::default()).await, [c, b, a], "newest first");
    assert_eq!(
        list(ListParams {
            kind: Some("mail".into()),
            ..Default::default()
        })
        .await,
        [b, a]
    );
    assert_eq!(
        list(ListParams {
            queue: Some("low".into()),
            ..Default::default()
        })
        .await,
        [b]
    );
    assert_eq!(
        list(ListParams {
            tenant: Some("acme".into()),
            ..Default::default()
        })
        .await,
        [a]
    );
    assert_eq!(
        list(ListParams {
            state: Some(JobState::Scheduled),
            ..Default::default()
        })
        .await,
        [b]
    );
    assert_eq!(
        list(ListParams {
            state: Some(JobState::Available),
            ..Default::default()
        })
        .await,
        [c, a]
    );
    assert_eq!(
        list(ListParams {
            before_id: Some(c),
            limit: 1,
            ..Default::default()
        })
        .await,
        [b]
    );
    assert_eq!(
        list(ListParams {
            limit: 1,
            ..Default::default()
        })
        .await
        .len(),
        1
    );
}
case!(list_filters_by_state_kind_queue_tenant);

pub async fn stats_count_jobs_per_queue_and_state(h: &Harness) {
    let now = t0();
    enqueue(
        h,
        vec![
            job("k"),
            job("k"),
            NewJob {
                run_at: Some(now + secs(60)),
                ..job("k")
            },
            NewJob {
                queue: "mail".into(),
                tenant: Some("acme".into()),
                ..job("k")
            },
        ],
        now,
    )
    .await;
    let running = claim(h, "w", &["k"], 1, now).await;
    assert!(
        finalize(
            h,
            "w",
            running[0].id,
            1,
            Outcome::Complete {
                output: serde_json::Value::Null
            },
            now
        )
        .await
    );
    assert_eq!(claim(h, "w", &["k"], 1, now).await.len(), 1);
    let stats = h
        .store
        .stats(errand::store::StatsParams {
            tenant: None,
            per_tenant: false,
            now,
        })
        .await
        .unwrap();
    assert_eq!(stats.total(JobState::Available), 1);
    assert_eq!(stats.total(JobState::Running), 1);
    assert_eq!(stats.total(JobState::Scheduled), 1);
    assert_eq!(stats.total(JobState::Completed), 1);
    assert_eq!((stats.all(), stats.unfinished()), (4, 3));
    let mail: Vec<_> = stats.counts.iter().filter(|c| c.queue == "mail").collect();
    assert_eq!(
        (mail.len(), mail[0].state, mail[0].count),
        (1, JobState::Available, 1)
    );
    let acme = h
        .store
        .stats(errand::store::StatsParams {
            tenant: Some("acme".into()),
            per_tenant: false,
            now,
        })
        .await
        .unwrap();
    assert_eq!(acme.all(), 1);
}
case!(stats_count_jobs_per_queue_and_state);

/// A waiting job can get another due time, priority or queue; a running,
/// finished or missing one cannot, and says why.
pub async fn reschedule_moves_a_waiting_job(h: &Harness) {
    let now = t0();
    let id = enqueue_one(h, job("k"), now).await;
    let later = now + secs(600);
    let row = h
        .store
        .reschedule(RescheduleParams {
            id,
            run_at: Some(later),
            priority: None,
            queue: None,
            now,
        })
        .await
        .unwrap();
    assert_eq!((row.state, row.run_at), (JobState::Scheduled, later));
    assert!(
        claim(h, "w", &["k"], 5, now).await.is_empty(),
        "a job moved later is not due now"
    );
    // Back to now, into another queue, with another priority.
    let row = h
        .store
        .reschedule(RescheduleParams {
            id,
            run_at: Some(now),
            priority: Some(-3),
            queue: Some("urgent".into()),
            now,
        })
        .await
        .unwrap();
    assert_eq!(
        (row.state, row.queue.as_str(), row.priority),
        (JobState::Available, "urgent", -3)
    );
    assert!(
        claim(h, "w", &["k"], 5, now).await.is_empty(),
        "it left the default queue"
    );
    let claimed = h
        .store
        .claim(claim_params("w", &["urgent"], &["k"], 5, now))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(
        (
            claimed[0].id,
            claimed[0].queue.as_str(),
            claimed[0].priority
        ),
        (id, "urgent", -3),
        "a claim reads the new queue and priority"
    );
    let moved = |id| RescheduleParams {
        id,
        run_at: Some(later),
        priority: None,
        queue: None,
        now,
    };
    let e = h.store.reschedule(moved(id)).await;
    assert!(
        matches!(
            e,
            Err(Error::Conflict {
                state: Some(JobState::Running),
                ..
            })
        ),
        "{e:?}"
    );
    let complete = Outcome::Complete {
        output: serde_json::Value::Null,
    };
    assert!(finalize(h, "w", id, 1, complete, now).await);
    let e = h.store.reschedule(moved(id)).await;
    assert!(
        matches!(
            e,
            Err(Error::Conflict {
                state: Some(JobState::Completed),
                ..
            })
        ),
        "{e:?}"
    );
    let e = h.store.reschedule(moved(JobId(987_654_321))).await;
    assert!(matches!(e, Err(Error::NotFound { .. })), "{e:?}");
    let other = enqueue_one(h, job("k"), now).await;
    let e = h
        .store
        .reschedule(RescheduleParams {
            queue: Some("bad queue".into()),
            ..moved(other)
        })
        .await;
    assert!(matches!(e, Err(Error::Invalid { .. })), "{e:?}");
    assert_eq!(get(h, other, now).await.queue, "default", "nothing changed");
}
case!(reschedule_moves_a_waiting_job);

/// Finished jobs of one state that finished before a time are deleted in
/// chunks, in id order, and nothing else is.
pub async fn prune_deletes_old_finished_jobs_in_chunks(h: &Harness) {
    let now = t0();
    let keyed = |key: &str| NewJob {
        unique: Some(Unique::forever(key)),
        ..job("k")
    };
    let mut old_completed = Vec::new();
    for i in 0..5 {
        old_completed.push(enqueue_one(h, keyed(&format!("once-{i}")), now).await);
    }
    let recent = enqueue_one(h, job("k"), now).await;
    let failed = enqueue_one(
        h,
        NewJob {
            max_attempts: 1,
            ..job("k")
        },
        now,
    )
    .await;
    let claimed = claim(h, "w", &["k"], 10, now).await;
    assert_eq!(claimed.len(), 7);
    for id in &old_completed {
        let done = Outcome::Complete {
            output: serde_json::Value::Null,
        };
        assert!(finalize(h, "w", *id, 1, done, now).await);
    }
    let done = Outcome::Complete {
        output: serde_json::Value::Null,
    };
    assert!(finalize(h, "w", recent, 1, done, now + secs(100)).await);
    let error = errand::AttemptError {
        attempt: 1,
        at: now,
        message: "x".into(),
        kind: errand::ErrorKind::Fatal,
    };
    assert!(finalize(h, "w", failed, 1, Outcome::Fail { error }, now).await);
    let waiting = enqueue_one(h, job("k"), now).await;
    let running_job = enqueue_one(h, job("other"), now).await;
    claim(h, "w", &["other"], 1, now).await;

    let mut deleted = Vec::new();
    let mut after = None;
    let mut calls = 0;
    loop {
        let out = h
            .store
            .prune(PruneParams {
                state: JobState::Completed,
                finished_before: now + secs(50),
                after,
                limit: 2,
            })
            .await
            .unwrap();
        calls += 1;
        assert!(out.deleted.len() <= 2, "a call deletes at most its limit");
        deleted.extend(out.deleted);
        match out.next {
            Some(next) => after = Some(next),
            None => break,
        }
        assert!(calls < 100, "prune must come to an end");
    }
    deleted.sort();
    assert_eq!(deleted, old_completed, "only the old completed jobs went");
    for id in [recent, failed, waiting, running_job] {
        assert!(
            h.store.get(GetParams { id, now }).await.unwrap().is_some(),
            "job {id} stays"
        );
    }
    // A key held `forever` by a pruned job is free again.
    let again = enqueue(h, vec![keyed("once-0")], now).await[0];
    assert!(!again.duplicate, "the pruned job no longer holds its key");
    let e = h
        .store
        .prune(PruneParams {
            state: JobState::Running,
            finished_before: now,
            after: None,
            limit: 10,
        })
        .await;
    assert!(matches!(e, Err(Error::Invalid { .. })), "{e:?}");
}
case!(prune_deletes_old_finished_jobs_in_chunks);

pub async fn dead_letters_are_found_by_error_text_and_retried_in_bulk(h: &Harness) {
    let now = t0();
    let once = |kind: &str| NewJob {
        max_attempts: 1,
        ..job(kind)
    };
    let ids: Vec<JobId> = enqueue(
        h,
        vec![once("mail"), once("mail"), once("sms"), once("mail")],
        now,
    )
    .await
    .iter()
    .map(|e| e.id)
    .collect();
    assert_eq!(claim(h, "w", &["mail", "sms"], 10, now).await.len(), 4);
    let fail = |message: &str| Outcome::Fail {
        error: errand::AttemptError {
            attempt: 1,
            at: now,
            message: message.into(),
            kind: errand::ErrorKind::Error,
        },
    };
    assert!(finalize(h, "w", ids[0], 1, fail("SMTP Timeout after 30s"), now).await);
    assert!(finalize(h, "w", ids[1], 1, fail("mailbox full"), now).await);
    assert!(finalize(h, "w", ids[2], 1, fail("gateway timeout"), now).await);
    let complete = Outcome::Complete {
        output: serde_json::Value::Null,
    };
    assert!(finalize(h, "w", ids[3], 1, complete, now).await);

    let find = |kind: Option<&str>, text: &str| {
        h.store.list(ListParams {
            state: Some(JobState::Failed),
            kind: kind.map(Into::into),
            error_contains: Some(text.into()),
            limit: 100,
            now,
            ..ListParams::default()
        })
    };
    let found = |rows: Vec<errand::JobRow>| rows.iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(
        found(find(None, "timeout").await.unwrap()),
        vec![ids[2], ids[0]],
        "ASCII letters match in either case, newest first"
    );
    assert_eq!(
        found(find(Some("mail"), "TIMEOUT AFTER").await.unwrap()),
        vec![ids[0]]
    );
    assert!(find(None, "disk").await.unwrap().is_empty());
    assert!(find(None, "%").await.unwrap().is_empty(), "no wildcards");

    // A bulk retry needs a filter; bad filters name their field.
    let client = errand::Client::new(std::sync::Arc::clone(&h.store));
    // Retries run at the wall clock's now: read states from then.
    let state = |id| async move { get(h, id, Utc::now()).await.state };
    for (filter, field) in [
        (errand::RetryFilter::default(), "filter"),
        (
            errand::RetryFilter {
                error_contains: Some("a\nb".into()),
                ..errand::RetryFilter::default()
            },
            "error_contains",
        ),
        (
            errand::RetryFilter {
                state: Some(JobState::Running),
                all: true,
                ..errand::RetryFilter::default()
            },
            "state",
        ),
        (
            errand::RetryFilter {
                kind: Some("bad kind".into()),
                ..errand::RetryFilter::default()
            },
            "kind",
        ),
    ] {
        let error = client.retry_matching(&filter).await.unwrap_err();
        assert!(
            matches!(&error, Error::Invalid { field: f, .. } if f == field),
            "{field}: {error:?}"
        );
    }
    assert_eq!(state(ids[0]).await, JobState::Failed, "nothing retried");

    let timeouts = errand::RetryFilter {
        kind: Some("mail".into()),
        error_contains: Some("timeout".into()),
        ..errand::RetryFilter::default()
    };
    let mut told = Vec::new();
    let done = client
        .retry_matching_with(&timeouts, |so_far| told.push(so_far.clone()))
        .await
        .unwrap();
    assert_eq!((done.retried, done.skipped), (1, 0));
    assert_eq!(told.last(), Some(&done), "progress ends at the outcome");
    let retried = get(h, ids[0], Utc::now()).await;
    assert_eq!(retried.state, JobState::Available);
    assert_eq!(retried.errors.len(), 1, "the error history is kept");
    assert!(retried.max_attempts > retried.attempt, "an attempt is left");
    assert_eq!(state(ids[1]).await, JobState::Failed);

    let all = errand::RetryFilter {
        all: true,
        ..errand::RetryFilter::default()
    };
    let done = client.retry_matching(&all).await.unwrap();
    assert_eq!((done.retried, done.skipped), (2, 0));
    assert_eq!(state(ids[1]).await, JobState::Available);
    assert_eq!(state(ids[2]).await, JobState::Available);
    assert_eq!(state(ids[3]).await, JobState::Completed, "only failed jobs");
    assert_eq!(client.retry_matching(&all).await.unwrap().retried, 0);
}
case!(dead_letters_are_found_by_error_text_and_retried_in_bulk);

pub async fn list_running_jobs_pages_newest_first_with_other_filters(h: &Harness) {
    let now = t0();
    let ids: Vec<JobId> = enqueue(
        h,
        vec![
            job("mail"),
            job("resize"),
            job("mail"),
            job("mail"),
            job("resize"),
        ],
        now,
    )
    .await
    .iter()
    .map(|e| e.id)
    .collect();
    // The first four are claimed; one of them finishes: three run.
    assert_eq!(claim(h, "w", &["mail", "resize"], 4, now).await.len(), 4);
    let done = Outcome::Complete {
        output: serde_json::Value::Null,
    };
    assert!(finalize(h, "w", ids[1], 1, done, now).await);
    let list = |p: ListParams| async move {
        let rows = h
            .store
            .list(ListParams {
                state: Some(JobState::Running),
                now,
                ..p
            })
            .await
            .unwrap();
        assert!(
            rows.iter().all(|r| r.state == JobState::Running),
            "{rows:?}"
        );
        rows.into_iter().map(|r| r.id).collect::<Vec<_>>()
    };
    let all = ListParams {
        limit: 10,
        ..Default::default()
    };
    assert_eq!(
        list(all.clone()).await,
        [ids[3], ids[2], ids[0]],
        "newest first"
    );
    let first = list(ListParams {
        limit: 2,
        ..all.clone()
    })
    .await;
    assert_eq!(first, [ids[3], ids[2]]);
    let rest = list(ListParams {
        before_id: Some(ids[2]),
        limit: 2,
        ..all.clone()
    })
    .await;
    assert_eq!(rest, [ids[0]], "the next page starts below the last");
    let resize = list(ListParams {
        kind: Some("resize".into()),
        ..all
    })
    .await;
    assert!(
        resize.is_empty(),
        "the running jobs are mail; resize finished or waits"
    );
}
case!(list_running_jobs_pages_newest_first_with_other_filters);

/// Counts per (queue, state) from every job, read one by one: what `stats`
/// must say, whatever the store keeps to answer faster.
async fn counted(
    h: &Harness,
    tenant: Option<&str>,
    now: DateTime<Utc>,
) -> Vec<(String, JobState, u64)> {
    let rows = h
        .store
        .list(ListParams {
            tenant: tenant.map(str::to_owned),
            limit: errand::store::MAX_LIST_PAGE,
            now,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut counts = std::collections::BTreeMap::new();
    for row in rows {
        *counts.entry((row.queue, row.state)).or_insert(0u64) += 1;
    }
    counts.into_iter().map(|((q, s), n)| (q, s, n)).collect()
}

/// `stats` (of all jobs and of tenant `acme`) equals a count of every job.
pub(crate) async fn assert_counts_match(h: &Harness, now: DateTime<Utc>, step: &str) {
    for tenant in [None, Some("acme")] {
        let stats = h
            .store
            .stats(errand::store::StatsParams {
                tenant: tenant.map(str::to_owned),
                per_tenant: false,
                now,
            })
            .await
            .unwrap();
        let mut said: Vec<(String, JobState, u64)> = stats
            .counts
            .into_iter()
            .map(|c| (c.queue, c.state, c.count))
            .collect();
        said.sort();
        assert_eq!(
            said,
            counted(h, tenant, now).await,
            "{step}, tenant {tenant:?}"
        );
    }
    // Per tenant: every (queue, state, tenant), in the documented order.
    let stats = h
        .store
        .stats(errand::store::StatsParams {
            tenant: None,
            per_tenant: true,
            now,
        })
        .await
        .unwrap();
    let said: Vec<(String, JobState, Option<String>, u64)> = stats
        .counts
        .into_iter()
        .map(|c| (c.queue, c.state, c.tenant, c.count))
        .collect();
    let rows = h
        .store
        .list(ListParams {
            limit: errand::store::MAX_LIST_PAGE,
            now,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut counts = std::collections::BTreeMap::new();
    for row in rows {
        counts
            .entry((row.queue, row.state.as_str(), row.tenant))
            .or_insert((row.state, 0u64))
            .1 += 1;
    }
    let expected: Vec<(String, JobState, Option<String>, u64)> = counts
        .into_iter()
        .map(|((q, _, t), (s, n))| (q, s, t, n))
        .collect();
    assert_eq!(said, expected, "{step}, per tenant");
}

pub async fn stats_match_a_count_of_every_job_after_every_kind_of_change(h: &Harness) {
    let now = t0();
    let acme = |mut j: NewJob| {
        j.tenant = Some("acme".into());
        j
    };
    let mut jobs = Vec::new();
    for i in 0..12 {
        let mut j = if i % 2 == 0 { acme(job("k")) } else { job("k") };
        if i % 3 == 0 {
            j.queue = "mail".into();
        }
        j.max_attempts = 1;
        jobs.push(j);
    }
    jobs.push(NewJob {
        run_at: Some(now + secs(600)),
        ..acme(job("k"))
    });
    let ids: Vec<JobId> = enqueue(h, jobs, now).await.iter().map(|e| e.id).collect();
    assert_counts_match(h, now, "enqueued").await;

    let claimed = h
        .store
        .claim(claim_params("w", &["default", "mail"], &["k"], 9, now))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 9);
    assert_counts_match(h, now, "claimed").await;
    let error = || errand::AttemptError {
        attempt: 1,
        at: now,
        message: "no".into(),
        kind: errand::ErrorKind::Fatal,
    };
    let outcomes = [
        Outcome::Complete {
            output: serde_json::Value::Null,
        },
        Outcome::Fail { error: error() },
        Outcome::Cancel { error: error() },
    ];
    for (i, job) in claimed.iter().take(6).enumerate() {
        let outcome = outcomes[i % 3].clone();
        assert!(finalize(h, "w", job.id, 1, outcome, now).await);
    }
    assert_counts_match(h, now, "finalized").await;

    // Leases of the three still running end: with one attempt each, they fail.
    let later = now + secs(3600);
    assert_eq!(
        h.store
            .rescue(errand::store::RescueParams { now: later })
            .await
            .unwrap()
            .len(),
        3
    );
    assert_counts_match(h, later, "rescued").await;

    let waiting: Vec<JobId> = counted_ids(h, JobState::Available, later).await;
    h.store
        .cancel(CancelParams {
            ids: waiting[..1].to_vec(),
            now: later,
        })
        .await
        .unwrap();
    assert_counts_match(h, later, "cancelled while waiting").await;

    let failed = counted_ids(h, JobState::Failed, later).await;
    h.store
        .retry(RetryParams {
            id: failed[0],
            now: later,
        })
        .await
        .unwrap();
    assert_counts_match(h, later, "retried").await;
    h.store
        .delete(DeleteParams { id: failed[1] })
        .await
        .unwrap();
    assert_counts_match(h, later, "deleted").await;
    let pruned = h
        .store
        .prune(PruneParams {
            state: JobState::Completed,
            finished_before: later,
            after: None,
            limit: 100,
        })
        .await
        .unwrap();
    assert!(!pruned.deleted.is_empty());
    assert_counts_match(h, later, "pruned").await;

    // A worker no longer runs what it claimed: those fail (one attempt).
    let claimed = h
        .store
        .claim(claim_params("lost", &["default", "mail"], &["k"], 2, later))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    let rescued = h
        .store
        .rescue_unheld(errand::store::RescueUnheldParams {
            worker: "lost".into(),
            held: Vec::new(),
            claimed_before: later + secs(1),
            now: later + secs(1),
        })
        .await
        .unwrap();
    assert_eq!(rescued.len(), 2);
    let later = later + secs(1);
    assert_counts_match(h, later, "rescued as unheld").await;
    let cancelled = counted_ids(h, JobState::Cancelled, later).await;
    h.store
        .delete(DeleteParams { id: cancelled[0] })
        .await
        .unwrap();
    assert_counts_match(h, later, "deleted while cancelled").await;

    // A batch's waiting jobs cancelled with it.
    let batch = h
        .store
        .create_batch(errand::store::CreateBatchParams {
            batch: errand::store::NewBatch {
                tenant: Some("acme".into()),
                continuations: Vec::new(),
                sealed: true,
            },
            jobs: vec![acme(job("k")), acme(job("k"))],
            now: later,
            max_input_bytes: 1 << 20,
        })
        .await
        .unwrap();
    assert_counts_match(h, later, "batch created").await;
    let outcome = h
        .store
        .cancel_batch(errand::store::CancelBatchParams {
            id: batch.id,
            now: later,
        })
        .await
        .unwrap();
    assert_eq!(outcome.cancelled, 2);
    assert_counts_match(h, later, "batch cancelled").await;
    assert!(ids.len() > 10);
}
case!(stats_match_a_count_of_every_job_after_every_kind_of_change);

/// A listing by state, paged two at a time and with a queue filter too,
/// gives exactly the jobs in that state, newest first, for every state:
/// the stores read some states through their own indexes or keys.
pub async fn every_state_lists_its_jobs_page_by_page(h: &Harness) {
    let now = t0();
    finish_jobs_of_every_kind(h, now).await;
    // More of each waiting state: not yet due, due, and retrying.
    let later = vec![
        NewJob {
            run_at: Some(now + secs(600)),
            ..job("k")
        },
        NewJob {
            run_at: Some(now + secs(600)),
            queue: "mail".into(),
            ..job("k")
        },
    ];
    enqueue(h, later, now).await;
    let claimed = h
        .store
        .claim(claim_params("w", &["default", "mail"], &["k"], 2, now))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    let retry = Outcome::Retry {
        run_at: now + secs(60),
        error: errand::AttemptError {
            attempt: 1,
            at: now,
            message: "later".into(),
            kind: errand::ErrorKind::Error,
        },
    };
    assert!(finalize(h, "w", claimed[0].id, 1, retry, now).await);
    enqueue(h, vec![job("k")], now).await;
    let all = h
        .store
        .list(ListParams {
            limit: errand::store::MAX_LIST_PAGE,
            now,
            ..Default::default()
        })
        .await
        .unwrap();
    for state in [
        JobState::Scheduled,
        JobState::Available,
        JobState::Running,
        JobState::Retrying,
        JobState::Completed,
        JobState::Failed,
        JobState::Cancelled,
    ] {
        for queue in [None, Some("mail")] {
            let expected: Vec<JobId> = all
                .iter()
                .filter(|r| r.state == state && queue.is_none_or(|q| r.queue == q))
                .map(|r| r.id)
                .collect();
            let mut listed = Vec::new();
            let mut before_id = None;
            loop {
                let page = h
                    .store
                    .list(ListParams {
                        state: Some(state),
                        queue: queue.map(str::to_owned),
                        before_id,
                        limit: 2,
                        now,
                        ..Default::default()
                    })
                    .await
                    .unwrap();
                listed.extend(page.iter().map(|r| r.id));
                match page.last() {
                    Some(last) if page.len() == 2 => before_id = Some(last.id),
                    _ => break,
                }
            }
            assert_eq!(listed, expected, "{state:?} in {queue:?}");
            if queue.is_none() {
                assert!(!expected.is_empty(), "the case has {state:?} jobs");
            }
        }
    }
}
case!(every_state_lists_its_jobs_page_by_page);

/// Whether `row` passes the filters of `p` (a list with none of them gives
/// every job): what a listing must return, whichever index it walks.
fn passes(row: &JobRow, p: &ListParams) -> bool {
    p.kind.as_ref().is_none_or(|k| *k == row.kind)
        && p.queue.as_ref().is_none_or(|q| *q == row.queue)
        && p.tenant
            .as_ref()
            .is_none_or(|t| row.tenant.as_ref() == Some(t))
        && p.batch_id.is_none_or(|b| row.batch_id == Some(b))
        && p.unique_key
            .as_ref()
            .is_none_or(|u| row.unique_key.as_ref() == Some(u))
        && p.state.is_none_or(|s| s == row.state)
        && p.error_contains.as_ref().is_none_or(|text| {
            row.errors.iter().any(|e| {
                e.message
                    .to_ascii_lowercase()
                    .contains(&text.to_ascii_lowercase())
            })
        })
}

/// Every filter, alone and with others, and filters that match nothing,
/// paged two at a time, give exactly the jobs that pass them, newest
/// first: the stores walk a different index for each (unique key, batch,
/// state, error text, kind, tenant, queue), and must miss none of its
/// jobs (a batch's running jobs, say) nor return another's.
pub async fn every_filter_lists_its_jobs_page_by_page(h: &Harness) {
    let now = t0();
    finish_jobs_of_every_kind(h, now).await;
    let varied = (0..8)
        .map(|i| NewJob {
            queue: if i % 2 == 0 { "mail" } else { "default" }.into(),
            tenant: (i % 3 == 0).then(|| "globex".into()),
            unique: (i % 4 == 1).then(|| Unique::forever(format!("key-{i}"))),
            run_at: (i == 7).then(|| now + secs(600)),
            ..job(if i < 4 { "x" } else { "k" })
        })
        .collect();
    enqueue(h, varied, now).await;
    let batch_jobs = (0..4)
        .map(|i| NewJob {
            queue: "mail".into(),
            tenant: Some("acme".into()),
            ..job(if i == 0 { "b_first" } else { "b" })
        })
        .collect();
    let batch = h
        .store
        .create_batch(errand::store::CreateBatchParams {
            batch: errand::store::NewBatch {
                tenant: Some("acme".into()),
                continuations: Vec::new(),
                sealed: true,
            },
            jobs: batch_jobs,
            now,
            max_input_bytes: 1 << 20,
        })
        .await
        .unwrap();
    // One batch job running, one retrying with an error, one failed.
    let batch_claimed = h
        .store
        .claim(claim_params("w", &["mail"], &["b_first"], 1, now))
        .await
        .unwrap();
    assert_eq!(batch_claimed.len(), 1);
    let taken = h
        .store
        .claim(claim_params("w", &["mail"], &["b", "x"], 3, now))
        .await
        .unwrap();
    assert_eq!(taken.len(), 3);
    let error = |message: &str, kind| errand::AttemptError {
        attempt: 1,
        at: now,
        message: message.into(),
        kind,
    };
    let retry = Outcome::Retry {
        run_at: now + secs(60),
        error: error("SMTP Timeout at relay", errand::ErrorKind::Error),
    };
    assert!(finalize(h, "w", taken[0].id, 1, retry, now).await);
    let fail = Outcome::Fail {
        error: error("smtp timeout, gave up", errand::ErrorKind::Fatal),
    };
    assert!(finalize(h, "w", taken[1].id, 1, fail, now).await);
    let all = h
        .store
        .list(ListParams {
            limit: errand::store::MAX_LIST_PAGE,
            now,
            ..Default::default()
        })
        .await
        .unwrap();
    let base = || ListParams {
        limit: 2,
        now,
        ..Default::default()
    };
    let filters = [
        (
            "kind",
            ListParams {
                kind: Some("x".into()),
                ..base()
            },
        ),
        (
            "queue",
            ListParams {
                queue: Some("mail".into()),
                ..base()
            },
        ),
        (
            "tenant",
            ListParams {
                tenant: Some("globex".into()),
                ..base()
            },
        ),
        (
            "batch",
            ListParams {
                batch_id: Some(batch.id.0),
                ..base()
            },
        ),
        (
            "unique key",
            ListParams {
                unique_key: Some("key-1".into()),
                ..base()
            },
        ),
        (
            "error text",
            ListParams {
                error_contains: Some("TIMEOUT".into()),
                ..base()
            },
        ),
        (
            "batch, running",
            ListParams {
                batch_id: Some(batch.id.0),
                state: Some(JobState::Running),
                ..base()
            },
        ),
        (
            "batch, kind",
            ListParams {
                batch_id: Some(batch.id.0),
                kind: Some("b".into()),
                ..base()
            },
        ),
        (
            "unique key, state",
            ListParams {
                unique_key: Some("key-1".into()),
                state: Some(JobState::Available),
                ..base()
            },
        ),
        (
            "error text, state",
            ListParams {
                error_contains: Some("timeout".into()),
                state: Some(JobState::Retrying),
                ..base()
            },
        ),
        (
            "error text, queue",
            ListParams {
                error_contains: Some("Gave Up".into()),
                queue: Some("mail".into()),
                ..base()
            },
        ),
        (
            "kind, queue, tenant",
            ListParams {
                kind: Some("k".into()),
                queue: Some("mail".into()),
                tenant: Some("acme".into()),
                ..base()
            },
        ),
        (
            "queue, completed",
            ListParams {
                queue: Some("default".into()),
                state: Some(JobState::Completed),
                ..base()
            },
        ),
        (
            "tenant, failed",
            ListParams {
                tenant: Some("acme".into()),
                state: Some(JobState::Failed),
                ..base()
            },
        ),
        (
            "kind, scheduled",
            ListParams {
                kind: Some("k".into()),
                state: Some(JobState::Scheduled),
                ..base()
            },
        ),
        (
            "no such kind",
            ListParams {
                kind: Some("nope".into()),
                ..base()
            },
        ),
        (
            "no such queue",
            ListParams {
                queue: Some("nope".into()),
                ..base()
            },
        ),
        (
            "no such tenant",
            ListParams {
                tenant: Some("nope".into()),
                ..base()
            },
        ),
        (
            "no such batch",
            ListParams {
                batch_id: Some(i64::MAX),
                ..base()
            },
        ),
        (
            "no such unique key",
            ListParams {
                unique_key: Some("nope".into()),
                ..base()
            },
        ),
        (
            "no such error",
            ListParams {
                error_contains: Some("nope".into()),
                ..base()
            },
        ),
    ];
    for (name, params) in filters {
        let expected: Vec<JobId> = all
            .iter()
            .filter(|r| passes(r, &params))
            .map(|r| r.id)
            .collect();
        if !name.starts_with("no such") {
            assert!(!expected.is_empty(), "the case has jobs for {name}");
        }
        let mut listed = Vec::new();
        let mut before_id = None;
        loop {
            let page = h
                .store
                .list(ListParams {
                    before_id,
                    ..params.clone()
                })
                .await
                .unwrap();
            listed.extend(page.iter().map(|r| r.id));
            match page.last() {
                Some(last) if page.len() == 2 => before_id = Some(last.id),
                _ => break,
            }
        }
        assert_eq!(listed, expected, "{name}");
    }
}
case!(every_filter_lists_its_jobs_page_by_page);

/// Jobs of two queues, with and without a tenant, completed, failed and
/// cancelled, and some left waiting: what a store's counts must reflect.
pub(crate) async fn finish_jobs_of_every_kind(h: &Harness, now: DateTime<Utc>) {
    let jobs = (0..9)
        .map(|i| NewJob {
            queue: if i % 3 == 0 { "mail" } else { "default" }.into(),
            tenant: (i % 2 == 0).then(|| "acme".into()),
            ..job("k")
        })
        .collect();
    enqueue(h, jobs, now).await;
    let claimed = h
        .store
        .claim(claim_params("w", &["default", "mail"], &["k"], 6, now))
        .await
        .unwrap();
    let error = || errand::AttemptError {
        attempt: 1,
        at: now,
        message: "no".into(),
        kind: errand::ErrorKind::Fatal,
    };
    for (i, job) in claimed.iter().enumerate() {
        let outcome = match i % 3 {
            0 => Outcome::Complete {
                output: serde_json::Value::Null,
            },
            1 => Outcome::Fail { error: error() },
            _ => Outcome::Cancel { error: error() },
        };
        assert!(finalize(h, "w", job.id, 1, outcome, now).await);
    }
}

async fn counted_ids(h: &Harness, state: JobState, now: DateTime<Utc>) -> Vec<JobId> {
    h.store
        .list(ListParams {
            state: Some(state),
            limit: 100,
            now,
            ..Default::default()
        })
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect()
}
