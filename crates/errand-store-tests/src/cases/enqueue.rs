use std::time::Duration;

use errand::store::EnqueueParams;
use errand::{Error, JobState, ListParams, NewJob};

use super::*;

async fn count(h: &Harness) -> usize {
    h.store
        .list(ListParams {
            limit: 10_000,
            now: t0(),
            ..Default::default()
        })
        .await
        .unwrap()
        .len()
}

pub async fn enqueue_returns_ids_in_order(h: &Harness) {
    let now = t0();
    let jobs: Vec<NewJob> = (0..50)
        .map(|i| NewJob::new("k", serde_json::json!({ "i": i })))
        .collect();
    let ids = enqueue(h, jobs, now).await;
    assert_eq!(ids.len(), 50);
    for (i, e) in ids.iter().enumerate() {
        assert!(!e.duplicate);
        let row = get(h, e.id, now).await;
        assert_eq!(
            row.input,
            serde_json::json!({ "i": i }),
            "result {i} must be the id of input {i}"
        );
        assert_eq!(row.state, JobState::Available);
        assert_eq!(row.attempt, 0);
        assert_eq!(row.created_at, now);
        assert_eq!(row.run_at, now);
    }
    let mut sorted: Vec<i64> = ids.iter().map(|e| e.id.0).collect();
    sorted.dedup();
    assert_eq!(sorted.len(), 50, "ids are distinct");
}
case!(enqueue_returns_ids_in_order);

pub async fn bulk_enqueue_of_mixed_jobs_keeps_every_field(h: &Harness) {
    let now = t0();
    let later = now + secs(3600);
    // Jobs of different shapes, among them jobs without input (JSON null),
    // as a list mixing queues and run times sends them.
    let jobs: Vec<NewJob> = (0..40)
        .map(|i| {
            let mut job = NewJob::new(
                "k",
                if i % 4 == 0 {
                    serde_json::Value::Null
                } else {
                    serde_json::json!({ "i": i })
                },
            );
            if i % 2 == 1 {
                job.queue = "other".into();
                job.priority = 3;
                job.tenant = Some("acme".into());
            }
            if i % 3 == 0 {
                job.run_at = Some(later);
            }
            job.meta.insert("i".into(), i.to_string());
            job
        })
        .collect();
    let ids = enqueue(h, jobs.clone(), now).await;
    assert_eq!(ids.len(), jobs.len());
    for (job, e) in jobs.iter().zip(&ids) {
        let row = get(h, e.id, now).await;
        assert_eq!(row.input, job.input, "input of {:?}", job.meta);
        assert_eq!(row.queue, job.queue);
        assert_eq!(row.priority, job.priority);
        assert_eq!(row.tenant, job.tenant);
        assert_eq!(row.run_at, job.run_at.unwrap_or(now));
        assert_eq!(row.meta, job.meta);
    }
}
case!(bulk_enqueue_of_mixed_jobs_keeps_every_field);

pub async fn enqueue_rejects_bad_input_and_stores_nothing(h: &Harness) {
    let now = t0();
    let cases: Vec<(NewJob, &str)> = vec![
        (NewJob::new("", serde_json::json!(1)), "kind"),
        (NewJob::new("bad kind", serde_json::json!(1)), "kind"),
        (
            NewJob {
                queue: String::new(),
                ..job("k")
            },
            "queue",
        ),
        (
            NewJob {
                queue: "q".repeat(65),
                ..job("k")
            },
            "queue",
        ),
        (
            NewJob {
                max_attempts: 0,
                ..job("k")
            },
            "max_attempts",
        ),
        (
            NewJob {
                tenant: Some(String::new()),
                ..job("k")
            },
            "tenant",
        ),
        (
            NewJob::new("k", serde_json::json!("x".repeat(2000))),
            "input",
        ),
    ];
    for (bad, field) in cases {
        let err = h
            .store
            .enqueue(EnqueueParams {
                jobs: vec![bad],
                now,
                max_input_bytes: 1000,
            })
            .await
            .expect_err("bad input must be rejected");
        match &err {
            Error::Invalid { field: f, .. } => assert_eq!(f, field, "{err}"),
            other => panic!("expected Invalid for {field}, got {other}"),
        }
    }
    assert_eq!(count(h).await, 0, "a rejected enqueue stores nothing");
}
case!(enqueue_rejects_bad_input_and_stores_nothing);

/// What one store can hold and another cannot is refused on every store
/// before anything is written (a NUL character: PostgreSQL's text and jsonb
/// cannot hold it; times outside 1970..=2199: Redis scores and PostgreSQL's
/// range), and everything within those bounds reads back exactly as written.
pub async fn enqueue_refuses_values_a_store_cannot_hold(h: &Harness) {
    let now = t0();
    let mut meta_nul = std::collections::BTreeMap::new();
    meta_nul.insert("request".to_owned(), "a\0b".to_owned());
    let mut meta_key_nul = std::collections::BTreeMap::new();
    meta_key_nul.insert("re\0quest".to_owned(), "x".to_owned());
    let nested = |levels: usize| {
        (0..levels).fold(serde_json::json!("core"), |inner, _| {
            serde_json::json!([inner])
        })
    };
    let too_deep = NewJob::new(
        "k",
        serde_json::json!({ "tree": nested(errand::json::MAX_DEPTH) }),
    );
    let too_deep_field = format!("input.tree{}", "[0]".repeat(errand::json::MAX_DEPTH - 1));
    let cases: Vec<(NewJob, &str)> = vec![
        (too_deep, too_deep_field.as_str()),
        (
            NewJob::new("k", serde_json::json!({"to": "ada\u{0}@example.com"})),
            "input.to",
        ),
        (
            NewJob::new("k", serde_json::json!([1, {"a\u{0}": 1}])),
            "input[1].a\\0",
        ),
        (
            NewJob {
                meta: meta_nul,
                ..job("k")
            },
            "meta[request]",
        ),
        (
            NewJob {
                meta: meta_key_nul,
                ..job("k")
            },
            "meta key",
        ),
        (
            NewJob {
                unique: Some(errand::Unique::active("key\0")),
                ..job("k")
            },
            "unique_key",
        ),
        (
            NewJob {
                run_at: Some(DateTime::<Utc>::MAX_UTC),
                ..job("k")
            },
            "run_at",
        ),
        (
            NewJob {
                run_at: errand::validate::latest_time()
                    .checked_add_signed(TimeDelta::microseconds(1)),
                ..job("k")
            },
            "run_at",
        ),
        (
            NewJob {
                run_at: DateTime::from_timestamp(-1, 0),
                ..job("k")
            },
            "run_at",
        ),
        (
            NewJob {
                max_attempts: u32::MAX,
                ..job("k")
            },
            "max_attempts",
        ),
        (
            NewJob {
                unique: Some(errand::Unique::period(
                    "report",
                    Duration::from_secs(300 * 366 * 24 * 3600),
                )),
                ..job("k")
            },
            "unique_period",
        ),
    ];
    for (bad, field) in cases {
        // Alone and as the last job of a bulk: neither stores anything.
        for jobs in [vec![bad.clone()], vec![job("k"), bad]] {
            let err = h
                .store
                .enqueue(EnqueueParams {
                    jobs,
                    now,
                    max_input_bytes: 1 << 20,
                })
                .await
                .expect_err("a value a store cannot hold must be refused");
            match &err {
                Error::Invalid { field: f, .. } => assert_eq!(f, field, "{err}"),
                other => panic!("expected Invalid for {field}, got {other}"),
            }
        }
    }
    assert_eq!(count(h).await, 0, "a refused enqueue stores nothing");

    // At the bounds, and values that stores are known to normalize, read
    // back exactly.
    let input = serde_json::json!({
        "big": u64::MAX, "small": i64::MIN, "float": 1e300, "tenth": 0.1,
        "text": "naïve 😀 \u{1}\u{7f}", "": [[], {}], "nested": {"a": [null, true, false]}
    });
    let latest = errand::validate::latest_time();
    let earliest = errand::validate::earliest_time();
    let ids = enqueue(
        h,
        vec![
            NewJob {
                run_at: Some(latest),
                max_attempts: errand::validate::MAX_ATTEMPTS,
                ..NewJob::new("k", input.clone())
            },
            NewJob {
                run_at: Some(earliest),
                ..NewJob::new("k", serde_json::json!("\u{1}"))
            },
            NewJob {
                run_at: Some(latest),
                ..NewJob::new("k", nested(errand::json::MAX_DEPTH))
            },
        ],
        now,
    )
    .await;
    assert_eq!(
        get(h, ids[2].id, now).await.input,
        nested(errand::json::MAX_DEPTH),
        "the deepest input allowed reads back"
    );
    let far = get(h, ids[0].id, now).await;
    assert_eq!(far.input, input, "the input reads back as written");
    assert_eq!(far.run_at, latest);
    assert_eq!(far.max_attempts, errand::validate::MAX_ATTEMPTS);
    assert_eq!(far.state, JobState::Scheduled);
    let early = get(h, ids[1].id, now).await;
    assert_eq!((early.run_at, early.state), (earliest, JobState::Available));
    let claimed = claim(h, "w", &["k"], 5, now).await;
    assert_eq!(
        claimed.iter().map(|j| j.id).collect::<Vec<_>>(),
        [ids[1].id],
        "the earliest job is due, the latest is not"
    );
}
case!(enqueue_refuses_values_a_store_cannot_hold);

pub async fn bulk_enqueue_is_all_or_nothing(h: &Harness) {
    let now = t0();
    let mut jobs: Vec<NewJob> = (0..1000).map(|_| job("k")).collect();
    jobs[700].queue = String::new();
    let err = h
        .store
        .enqueue(EnqueueParams {
            jobs,
            now,
            max_input_bytes: 1 << 20,
        })
        .await
        .expect_err("one bad job rejects the batch");
    assert!(err.to_string().contains("queue"), "{err}");
    assert_eq!(count(h).await, 0);

    let jobs: Vec<NewJob> = (0..1000).map(|_| job("k")).collect();
    let ids = enqueue(h, jobs, now).await;
    assert_eq!(ids.len(), 1000);
    let claimed = claim(h, "w", &["k"], 2000, now).await;
    assert_eq!(claimed.len(), 1000, "every bulk job is claimable");
}
case!(bulk_enqueue_is_all_or_nothing);

pub async fn delayed_job_is_scheduled_until_due(h: &Harness) {
    let now = t0();
    let id = enqueue_one(
        h,
        NewJob {
            run_at: Some(now + secs(10)),
            ..job("k")
        },
        now,
    )
    .await;
    assert_eq!(get(h, id, now).await.state, JobState::Scheduled);
    assert!(
        claim(h, "w", &["k"], 10, now + secs(9)).await.is_empty(),
        "not due yet"
    );
    assert_eq!(get(h, id, now + secs(10)).await.state, JobState::Available);
    let claimed = claim(h, "w", &["k"], 10, now + secs(10)).await;
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].id, id);
}
case!(delayed_job_is_scheduled_until_due);

/// Workers of one process hear of jobs enqueued by another (a second store
/// on the same backend stands for it) without waiting for their poll.
pub async fn enqueue_in_another_process_wakes_this_ones_workers(h: &Harness) {
    if h.skip_unless(
        h.store.capabilities().cross_process_wakeup,
        "wake workers of another process",
    ) {
        return;
    }
    let other = h.another().await.unwrap();
    let mut wakeup = h.store.subscribe();
    // The listener signals once when it (re)connects; two signals, each
    // awaited after an enqueue of the other store, need at least one
    // notification from it.
    for round in 0..2 {
        let params = EnqueueParams {
            jobs: vec![job("k")],
            now: t0(),
            max_input_bytes: 1 << 20,
        };
        other.enqueue(params).await.unwrap();
        let heard = tokio::time::timeout(Duration::from_secs(10), wakeup.changed()).await;
        assert!(
            heard.is_ok(),
            "round {round}: no wake-up within 10 s of another store's enqueue"
        );
    }
}
case!(enqueue_in_another_process_wakes_this_ones_workers);

/// An enqueue with a unique key always ends in a new job or in the id of the
/// job that holds the key at that moment, also while the holder finishes:
/// single, bulk and transactional enqueues race the holder's completion.
pub async fn unique_enqueue_races_the_holders_completion(h: &Harness) {
    use std::sync::Arc;

    let rounds = 120;
    let mut settled_by_completion = 0;
    for round in 0..rounds {
        let kind = format!("race{round}");
        let key = format!("race-key-{round}");
        let keyed = {
            let (kind, key) = (kind.clone(), key.clone());
            move || NewJob {
                unique: Some(errand::Unique::active(key.clone())),
                ..job(&kind)
            }
        };
        let now = t0();
        let holder = enqueue_one(h, keyed(), now).await;
        let claimed = claim(h, "w", &[kind.as_str()], 1, now).await;
        assert_eq!(claimed[0].id, holder);

        let mut racers = Vec::new();
        let store = Arc::clone(&h.store);
        racers.push(tokio::spawn(async move {
            let done = store
                .finalize(errand::store::FinalizeParams {
                    frees_global_slots: false,
                    worker: "w".into(),
                    items: vec![errand::store::FinalizeItem {
                        id: holder,
                        attempt: 1,
                        outcome: Outcome::Complete {
                            output: serde_json::Value::Null,
                        },
                    }],
                    now,
                })
                .await
                .expect("complete the holder");
            assert_eq!(done, [true]);
            Vec::new()
        }));
        for racer in 0..4 {
            let store = Arc::clone(&h.store);
            let jobs = if racer == 3 {
                vec![job(&kind), keyed(), job(&kind)] // a bulk with one keyed job
            } else {
                vec![keyed()]
            };
            racers.push(tokio::spawn(async move {
                let keyed_at = usize::from(jobs.len() == 3);
                let done = store
                    .enqueue(EnqueueParams {
                        jobs,
                        now,
                        max_input_bytes: 1 << 20,
                    })
                    .await
                    .unwrap_or_else(|e| panic!("a keyed enqueue must not fail: {e}"));
                vec![done[keyed_at]]
            }));
        }
        if let Some(tx) = h.tx.clone() {
            let job = keyed();
            racers.push(tokio::spawn(async move {
                let open = tx.begin_and_enqueue(job, now).await.unwrap_or_else(|e| {
                    panic!("a keyed enqueue in a transaction must not fail: {e}")
                });
                let id = open.id();
                open.commit().await.expect("commit");
                vec![errand::Enqueued {
                    id,
                    duplicate: id == holder,
                }]
            }));
        }
        let mut results = Vec::new();
        for racer in racers {
            results.extend(racer.await.expect("racer"));
        }
        let new: Vec<JobId> = results
            .iter()
            .filter(|e| !e.duplicate)
            .map(|e| e.id)
            .collect();
        let new_ids: std::collections::BTreeSet<JobId> = new.iter().copied().collect();
        assert!(
            new_ids.len() <= 1,
            "round {round}: at most one new job may take the key: {results:?}"
        );
        for e in results.iter().filter(|e| e.duplicate) {
            assert!(
                e.id == holder || new_ids.contains(&e.id),
                "round {round}: a duplicate names the holder at that moment: {results:?}"
            );
        }
        if !new_ids.is_empty() {
            settled_by_completion += 1;
        }
        let unfinished = h
            .store
            .list(ListParams {
                kind: Some(kind.clone()),
                limit: 100,
                now,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_iter()
            .filter(|j| j.unique_key.as_deref() == Some(key.as_str()) && !j.state.is_finished())
            .count();
        assert!(
            unfinished <= 1,
            "round {round}: {unfinished} unfinished jobs hold {key}"
        );
    }
    println!("{settled_by_completion} of {rounds} rounds made a new job after the holder finished");
}
case!(unique_enqueue_races_the_holders_completion);
