use std::collections::BTreeSet;

use errand::store::{RenewParams, RescueParams};
use errand::{ErrorKind, JobState, NewJob};

use super::*;

pub async fn renew_extends_lease_and_reports_lost_and_cancelled(h: &Harness) {
    let now = t0();
    let a = enqueue_one(h, job("k"), now).await;
    let b = enqueue_one(h, job("k"), now).await;
    claim(h, "w", &["k"], 2, now).await;
    h.store
        .cancel(errand::store::CancelParams { ids: vec![b], now })
        .await
        .unwrap();
    let statuses = h
        .store
        .renew_leases(RenewParams {
            worker: "w".into(),
            jobs: vec![(a, 1), (b, 1), (a, 7)],
            lease_until: now + secs(100),
        })
        .await
        .unwrap();
    assert_eq!(statuses.len(), 3);
    assert!(statuses[0].held && !statuses[0].cancel_requested);
    assert!(
        statuses[1].held && statuses[1].cancel_requested,
        "cancel request is reported"
    );
    assert!(!statuses[2].held, "a wrong attempt does not hold the lease");
    assert_eq!(get(h, a, now).await.lease_until, Some(now + secs(100)));
    // Renewed leases are not rescued at the old expiry.
    assert!(
        h.store
            .rescue(RescueParams {
                now: now + secs(60)
            })
            .await
            .unwrap()
            .is_empty()
    );
    let other = h
        .store
        .renew_leases(RenewParams {
            worker: "intruder".into(),
            jobs: vec![(a, 1)],
            lease_until: now + secs(999),
        })
        .await
        .unwrap();
    assert!(!other[0].held, "another worker cannot renew");
}
case!(renew_extends_lease_and_reports_lost_and_cancelled);

pub async fn expired_lease_is_rescued_as_a_used_attempt(h: &Harness) {
    let now = t0();
    let id = enqueue_one(h, job("k"), now).await;
    claim(h, "dead-worker", &["k"], 1, now).await;
    assert!(
        h.store
            .rescue(RescueParams {
                now: now + secs(30)
            })
            .await
            .unwrap()
            .is_empty(),
        "lease still valid at its end"
    );
    let rescued = h
        .store
        .rescue(RescueParams {
            now: now + secs(31),
        })
        .await
        .unwrap();
    assert_eq!(rescued, [id]);
    let row = get(h, id, now + secs(31)).await;
    assert_eq!(row.state, JobState::Available);
    assert_eq!(row.attempt, 1, "the lost attempt counts");
    assert_eq!(row.errors.len(), 1);
    assert_eq!(row.errors[0].kind, ErrorKind::LeaseExpired);
    assert_eq!(row.errors[0].attempt, 1);
    assert!(
        row.errors[0].message.contains("lease expired"),
        "{}",
        row.errors[0].message
    );
    let again = claim(h, "live-worker", &["k"], 1, now + secs(31)).await;
    assert_eq!((again[0].id, again[0].attempt), (id, 2));
}
case!(expired_lease_is_rescued_as_a_used_attempt);

pub async fn rescue_fails_job_without_attempts_left(h: &Harness) {
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
    claim(h, "dead-worker", &["k"], 1, now).await;
    h.store
        .rescue(RescueParams {
            now: now + secs(31),
        })
        .await
        .unwrap();
    let row = get(h, id, now + secs(31)).await;
    assert_eq!(row.state, JobState::Failed);
    assert_eq!(row.finished_at, Some(now + secs(31)));
    assert_eq!(row.errors[0].kind, ErrorKind::LeaseExpired);
}
case!(rescue_fails_job_without_attempts_left);

/// A worker that saw the store fail tells it which jobs it holds; the store
/// rescues that worker's other running jobs claimed before the given time
/// (claims whose answer was lost, results the store lost) at once, as used
/// attempts, and leaves alone held jobs, later claims and other workers.
pub async fn rescue_unheld_gives_back_what_a_worker_no_longer_runs(h: &Harness) {
    let now = t0();
    let held = enqueue_one(h, job("k"), now).await;
    let lost = enqueue_one(h, job("k"), now).await;
    let last_attempt = enqueue_one(
        h,
        NewJob {
            max_attempts: 1,
            ..job("k")
        },
        now,
    )
    .await;
    let others = enqueue_one(h, job("k"), now).await;
    assert_eq!(claim(h, "w", &["k"], 3, now).await.len(), 3);
    assert_eq!(claim(h, "other", &["k"], 1, now).await[0].id, others);
    let later = enqueue_one(h, job("k"), now).await;
    assert_eq!(claim(h, "w", &["k"], 1, now + secs(10)).await[0].id, later);

    let rescued = h
        .store
        .rescue_unheld(errand::store::RescueUnheldParams {
            worker: "w".into(),
            held: vec![held],
            claimed_before: now + secs(5),
            now: now + secs(6),
        })
        .await
        .unwrap();
    let rescued: BTreeSet<JobId> = rescued.into_iter().collect();
    assert_eq!(rescued, BTreeSet::from([lost, last_attempt]));

    let row = get(h, lost, now + secs(6)).await;
    assert_eq!(
        (row.state, row.attempt, row.run_at),
        (JobState::Available, 1, now + secs(6)),
        "a rescued job waits again at once, its attempt used"
    );
    assert_eq!(row.errors.len(), 1);
    assert_eq!(row.errors[0].kind, ErrorKind::LeaseExpired);
    assert!(
        row.errors[0].message.contains("no longer runs"),
        "{}",
        row.errors[0].message
    );
    assert_eq!(
        get(h, last_attempt, now + secs(6)).await.state,
        JobState::Failed,
        "without attempts left it fails for good"
    );
    for (id, what) in [
        (held, "a held job"),
        (later, "a job claimed after the given time"),
        (others, "another worker's job"),
    ] {
        assert_eq!(
            get(h, id, now + secs(6)).await.state,
            JobState::Running,
            "{what} keeps running"
        );
    }
    // A late result of the rescued attempt is fenced off; the next claim
    // hands out a new attempt number.
    let late = Outcome::Complete {
        output: serde_json::Value::Null,
    };
    assert!(!finalize(h, "w", lost, 1, late, now + secs(7)).await);
    let again = claim(h, "w2", &["k"], 5, now + secs(7)).await;
    assert_eq!(
        again.iter().map(|j| (j.id, j.attempt)).collect::<Vec<_>>(),
        [(lost, 2)]
    );
    // Nothing to give back: an empty answer.
    let none = h
        .store
        .rescue_unheld(errand::store::RescueUnheldParams {
            worker: "nobody".into(),
            held: Vec::new(),
            claimed_before: now + secs(60),
            now: now + secs(60),
        })
        .await
        .unwrap();
    assert!(none.is_empty());
}
case!(rescue_unheld_gives_back_what_a_worker_no_longer_runs);
