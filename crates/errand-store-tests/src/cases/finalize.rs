use errand::store::Outcome;
use errand::{AttemptError, ErrorKind, JobState};

use super::*;

fn error(attempt: u32, at: chrono::DateTime<chrono::Utc>, message: &str) -> AttemptError {
    AttemptError {
        attempt,
        at,
        message: message.into(),
        kind: ErrorKind::Error,
    }
}

pub async fn complete_stores_output(h: &Harness) {
    let now = t0();
    let id = enqueue_one(h, job("k"), now).await;
    claim(h, "w", &["k"], 1, now).await;
    let output = serde_json::json!({"sent": true, "n": [1, 2]});
    assert!(
        finalize(
            h,
            "w",
            id,
            1,
            Outcome::Complete {
                output: output.clone()
            },
            now + secs(1)
        )
        .await
    );
    let row = get(h, id, now + secs(1)).await;
    assert_eq!(row.state, JobState::Completed);
    assert_eq!(row.output, Some(output));
    assert_eq!(row.finished_at, Some(now + secs(1)));
    assert_eq!(row.lease_until, None);
    assert!(claim(h, "w", &["k"], 1, now + secs(2)).await.is_empty());
}
case!(complete_stores_output);

pub async fn retry_persists_run_at_and_error(h: &Harness) {
    let now = t0();
    let id = enqueue_one(h, job("k"), now).await;
    claim(h, "w", &["k"], 1, now).await;
    let e = error(1, now, "smtp timeout");
    assert!(
        finalize(
            h,
            "w",
            id,
            1,
            Outcome::Retry {
                run_at: now + secs(30),
                error: e.clone()
            },
            now
        )
        .await
    );
    let row = get(h, id, now).await;
    assert_eq!(row.state, JobState::Retrying);
    assert_eq!(row.run_at, now + secs(30));
    assert_eq!(row.errors, vec![e]);
    assert_eq!(row.attempt, 1);
    assert!(
        claim(h, "w", &["k"], 1, now + secs(29)).await.is_empty(),
        "backoff holds"
    );
    let again = claim(h, "w", &["k"], 1, now + secs(30)).await;
    assert_eq!(again[0].attempt, 2);
    assert_eq!(get(h, id, now + secs(30)).await.errors.len(), 1);
}
case!(retry_persists_run_at_and_error);

pub async fn fail_and_cancel_outcomes_finish_the_job(h: &Harness) {
    let now = t0();
    let a = enqueue_one(h, job("k"), now).await;
    let b = enqueue_one(h, job("k"), now).await;
    claim(h, "w", &["k"], 2, now).await;
    let ea = AttemptError {
        kind: ErrorKind::Fatal,
        ..error(1, now, "card declined")
    };
    let eb = AttemptError {
        kind: ErrorKind::Cancelled,
        ..error(1, now, "order withdrawn")
    };
    assert!(finalize(h, "w", a, 1, Outcome::Fail { error: ea.clone() }, now).await);
    assert!(finalize(h, "w", b, 1, Outcome::Cancel { error: eb.clone() }, now).await);
    let ra = get(h, a, now).await;
    let rb = get(h, b, now).await;
    assert_eq!((ra.state, ra.errors), (JobState::Failed, vec![ea]));
    assert_eq!((rb.state, rb.errors), (JobState::Cancelled, vec![eb]));
    assert_eq!(ra.finished_at, Some(now));
    assert!(claim(h, "w", &["k"], 2, now + secs(100)).await.is_empty());
}
case!(fail_and_cancel_outcomes_finish_the_job);

pub async fn snooze_and_release_do_not_use_an_attempt(h: &Harness) {
    let now = t0();
    let a = enqueue_one(h, job("k"), now).await;
    let b = enqueue_one(h, job("k"), now).await;
    claim(h, "w", &["k"], 2, now).await;
    assert!(
        finalize(
            h,
            "w",
            a,
            1,
            Outcome::Snooze {
                run_at: now + secs(60)
            },
            now
        )
        .await
    );
    assert!(finalize(h, "w", b, 1, Outcome::Release, now).await);
    let ra = get(h, a, now).await;
    assert_eq!(
        (ra.state, ra.attempt, ra.run_at),
        (JobState::Scheduled, 0, now + secs(60))
    );
    assert!(ra.errors.is_empty());
    let rb = get(h, b, now).await;
    assert_eq!((rb.state, rb.attempt), (JobState::Available, 0));
    let again = claim(h, "w", &["k"], 5, now).await;
    assert_eq!(
        again.iter().map(|j| (j.id, j.attempt)).collect::<Vec<_>>(),
        [(b, 1)]
    );
}
case!(snooze_and_release_do_not_use_an_attempt);

pub async fn stale_finalize_is_rejected(h: &Harness) {
    let now = t0();
    let id = enqueue_one(h, job("k"), now).await;
    claim(h, "old", &["k"], 1, now).await;
    // The old worker goes silent; its lease expires and another worker takes over.
    h.store
        .rescue(errand::store::RescueParams {
            now: now + secs(31),
        })
        .await
        .unwrap();
    let second = claim(h, "new", &["k"], 1, now + secs(31)).await;
    assert_eq!(second[0].attempt, 2);
    let late = Outcome::Complete {
        output: serde_json::json!("late"),
    };
    assert!(
        !finalize(h, "old", id, 1, late.clone(), now + secs(32)).await,
        "stale worker and attempt"
    );
    assert!(
        !finalize(h, "old", id, 2, late.clone(), now + secs(32)).await,
        "right attempt, wrong worker"
    );
    assert!(
        !finalize(h, "new", id, 1, late, now + secs(32)).await,
        "right worker, old attempt"
    );
    let row = get(h, id, now + secs(32)).await;
    assert_eq!(
        (row.state, row.worker.as_deref()),
        (JobState::Running, Some("new"))
    );
    assert!(
        finalize(
            h,
            "new",
            id,
            2,
            Outcome::Complete {
                output: serde_json::json!("fresh")
            },
            now + secs(33)
        )
        .await
    );
    assert_eq!(
        get(h, id, now + secs(33)).await.output,
        Some(serde_json::json!("fresh"))
    );
    // A finished job ignores any further result.
    assert!(!finalize(h, "new", id, 2, Outcome::Release, now + secs(34)).await);
}
case!(stale_finalize_is_rejected);
