use std::sync::Arc;

use errand::store::{KindClaim, Outcome, QueueClaim};
use errand::{JobState, NewJob};

use super::*;

pub async fn claim_follows_queue_order_then_priority_then_time(h: &Harness) {
    let now = t0();
    let mk = |queue: &str, priority: i16, age: i64, tag: &str| NewJob {
        queue: queue.into(),
        priority,
        run_at: Some(now - secs(age)),
        input: serde_json::json!(tag),
        ..job("k")
    };
    enqueue(
        h,
        vec![
            mk("low", 0, 50, "low"),
            mk("default", 5, 40, "default-p5"),
            mk("default", 1, 10, "default-p1-new"),
            mk("default", 1, 30, "default-p1-old"),
            mk("high", 9, 1, "high-p9"),
            mk("other", 0, 99, "not-consumed"),
        ],
        now,
    )
    .await;
    let mut order = Vec::new();
    loop {
        let mut params = claim_params("w", &["high", "default", "low"], &["k"], 1, now);
        params.lease = Duration::from_secs(60);
        let got = h.store.claim(params).await.unwrap();
        if got.is_empty() {
            break;
        }
        order.push(got[0].input.as_str().unwrap().to_owned());
    }
    assert_eq!(
        order,
        [
            "high-p9",
            "default-p1-old",
            "default-p1-new",
            "default-p5",
            "low"
        ],
        "queues in the worker's order, then priority, then run_at"
    );

    // A batch claim fills from the first queue, then the next.
    let now2 = now + secs(1);
    enqueue(
        h,
        vec![
            mk("high", 0, 0, "h1"),
            mk("low", 0, 0, "l1"),
            mk("high", 0, 0, "h2"),
        ],
        now2,
    )
    .await;
    let got = h
        .store
        .claim(claim_params("w", &["high", "low"], &["k"], 3, now2))
        .await
        .unwrap();
    let tags: Vec<&str> = got.iter().map(|j| j.input.as_str().unwrap()).collect();
    assert_eq!(tags, ["h1", "h2", "l1"]);
}
case!(claim_follows_queue_order_then_priority_then_time);

pub async fn claim_marks_running_with_lease_attempt_and_worker(h: &Harness) {
    let now = t0();
    let id = enqueue_one(h, job("k"), now).await;
    let mut params = claim_params("worker-a", &["default"], &["k"], 5, now);
    params.lease = Duration::from_secs(45);
    let got = h.store.claim(params).await.unwrap();
    assert_eq!(got.len(), 1);
    let row = &got[0];
    assert_eq!(row.id, id);
    assert_eq!(row.state, JobState::Running);
    assert_eq!(row.attempt, 1);
    assert_eq!(row.worker.as_deref(), Some("worker-a"));
    assert_eq!(row.started_at, Some(now));
    assert_eq!(row.lease_until, Some(now + secs(45)));
    assert_eq!(
        get(h, id, now).await,
        *row,
        "the claimed row is what the store holds"
    );
    assert!(
        claim(h, "worker-b", &["k"], 5, now).await.is_empty(),
        "a running job is not claimed twice"
    );
}
case!(claim_marks_running_with_lease_attempt_and_worker);

pub async fn claim_skips_kinds_it_does_not_know(h: &Harness) {
    let now = t0();
    let foreign = enqueue_one(
        h,
        NewJob {
            priority: -5,
            ..job("foreign")
        },
        now,
    )
    .await;
    let mine = enqueue_one(h, job("mine"), now).await;
    let got = claim(h, "w", &["mine"], 10, now).await;
    assert_eq!(got.iter().map(|j| j.id).collect::<Vec<_>>(), [mine]);
    let row = get(h, foreign, now).await;
    assert_eq!(
        row.state,
        JobState::Available,
        "unknown kinds stay untouched"
    );
    assert_eq!(row.attempt, 0);
    assert_eq!(row.worker, None);
}
case!(claim_skips_kinds_it_does_not_know);

pub async fn claim_respects_local_caps(h: &Harness) {
    let now = t0();
    let mut jobs = Vec::new();
    for _ in 0..5 {
        jobs.push(job("capped"));
    }
    for _ in 0..5 {
        jobs.push(job("free"));
    }
    for _ in 0..5 {
        jobs.push(NewJob {
            queue: "q2".into(),
            ..job("free")
        });
    }
    enqueue(h, jobs, now).await;
    let mut params = claim_params("w", &["default", "q2"], &[], 100, now);
    params.kinds = vec![
        KindClaim {
            kind: "capped".into(),
            cap: Some(2),
            global_limit: None,
        },
        KindClaim {
            kind: "free".into(),
            cap: None,
            global_limit: None,
        },
    ];
    params.queues = vec![
        QueueClaim {
            name: "default".into(),
            cap: None,
            fair: None,
        },
        QueueClaim {
            name: "q2".into(),
            cap: Some(3),
            fair: None,
        },
    ];
    let got = h.store.claim(params).await.unwrap();
    let capped = got.iter().filter(|j| j.kind == "capped").count();
    let in_q2 = got.iter().filter(|j| j.queue == "q2").count();
    assert_eq!(capped, 2, "kind cap");
    assert_eq!(in_q2, 3, "queue cap");
    assert_eq!(
        got.len(),
        2 + 5 + 3,
        "jobs behind a capped kind are still claimed"
    );
}
case!(claim_respects_local_caps);

pub async fn global_limit_is_never_exceeded_by_concurrent_claimers(h: &Harness) {
    let now = t0();
    enqueue(h, (0..40).map(|_| job("limited")).collect(), now).await;
    let params = |worker: String| {
        let mut p = claim_params(&worker, &["default"], &[], 10, now);
        p.kinds = vec![KindClaim {
            kind: "limited".into(),
            cap: None,
            global_limit: Some(3),
        }];
        p
    };
    // Eight claimers race; together they may hold at most three.
    let store = Arc::clone(&h.store);
    let claims = futures::future::join_all((0..8).map(|i| {
        let store = Arc::clone(&store);
        let p = params(format!("w{i}"));
        tokio::spawn(async move { store.claim(p).await.unwrap() })
    }))
    .await;
    let held: Vec<_> = claims.into_iter().flat_map(|r| r.unwrap()).collect();
    assert_eq!(held.len(), 3, "global limit 3 across all claimers");

    // Finishing one frees exactly one place.
    let first = &held[0];
    let worker = first.worker.clone().unwrap();
    assert!(
        finalize(
            h,
            &worker,
            first.id,
            1,
            Outcome::Complete {
                output: serde_json::Value::Null
            },
            now
        )
        .await
    );
    assert_eq!(h.store.claim(params("late".into())).await.unwrap().len(), 1);
    assert!(
        h.store
            .claim(params("later".into()))
            .await
            .unwrap()
            .is_empty()
    );
}
case!(global_limit_is_never_exceeded_by_concurrent_claimers);
