//! Worker heartbeats: kept, replaced, listed by name, seen from another
//! connection, removed when a worker stops, forgotten when long dead.

use std::sync::Arc;

use errand::store::{DEAD_AFTER, WorkerBeat};
use errand::{Error, Worker};

use super::*;

fn beat(name: &str, at: DateTime<Utc>) -> WorkerBeat {
    WorkerBeat {
        name: name.into(),
        host: "web-1".into(),
        pid: 4242,
        queues: vec!["default".into(), "mail".into()],
        kinds: vec!["send_email".into()],
        concurrency: 8,
        running: 0,
        started_at: at,
        beat_at: at,
        loops: vec![serde_json::json!({"name": "refresh", "runs": 3})],
        global_limits: [("send_email".to_owned(), 5)].into(),
        tenant_limit: Some(2),
        tenant_limits: [("acme".to_owned(), 10)].into(),
    }
}

pub async fn heartbeats_are_kept_replaced_listed_and_forgotten(h: &Harness) {
    let now = t0();
    assert!(h.store.workers().await.unwrap().is_empty());
    let old = beat("b-old", now - TimeDelta::hours(2));
    let mut live = beat("a-live", now);
    h.store.beat(old.clone()).await.unwrap();
    h.store.beat(live.clone()).await.unwrap();
    assert_eq!(
        h.store.workers().await.unwrap(),
        vec![live.clone(), old.clone()],
        "by name, whole"
    );
    // A later beat replaces the worker's record.
    live.running = 5;
    live.beat_at = now + secs(5);
    h.store.beat(live.clone()).await.unwrap();
    let other = h.another().await.unwrap();
    assert_eq!(
        other.workers().await.unwrap(),
        vec![live.clone(), old.clone()],
        "seen from another connection"
    );
    assert!(live.is_alive(now + secs(5)) && !old.is_alive(now));
    assert!(!live.is_alive(live.beat_at + TimeDelta::from_std(DEAD_AFTER).unwrap() + secs(1)));
    // Forgetting takes only those that beat before the cutoff.
    assert_eq!(
        h.store
            .forget_workers(now - TimeDelta::hours(1))
            .await
            .unwrap(),
        1
    );
    assert_eq!(h.store.workers().await.unwrap(), vec![live.clone()]);
    assert_eq!(
        h.store
            .forget_workers(now - TimeDelta::hours(1))
            .await
            .unwrap(),
        0
    );
    // Leaving removes the record; a second leave finds none.
    assert!(h.store.leave("a-live").await.unwrap());
    assert!(!h.store.leave("a-live").await.unwrap());
    assert!(h.store.workers().await.unwrap().is_empty());
}
case!(heartbeats_are_kept_replaced_listed_and_forgotten);

pub async fn bad_heartbeats_are_refused_and_change_nothing(h: &Harness) {
    let now = t0();
    let mut huge = beat("big", now);
    huge.loops = vec![serde_json::json!("x".repeat(70_000))];
    let mut nul = beat("a\0b", now);
    nul.kinds.clear();
    let mut late = beat("late", now);
    late.beat_at = DateTime::from_timestamp(7_300_000_000, 0).unwrap();
    for (bad, field) in [
        (beat("", now), "name"),
        (nul, "name"),
        (huge, "beat"),
        (late, "beat_at"),
    ] {
        match h.store.beat(bad.clone()).await {
            Err(Error::Invalid { field: f, .. }) => assert_eq!(f, field, "{:?}", bad.name),
            other => panic!(
                "{:?}: expected an invalid input error, got {other:?}",
                bad.name
            ),
        }
    }
    assert!(
        h.store.workers().await.unwrap().is_empty(),
        "nothing was stored"
    );
}
case!(bad_heartbeats_are_refused_and_change_nothing);

pub async fn runtime_a_running_worker_beats_and_leaves_when_it_stops(h: &Harness) {
    let worker = Worker::builder(Arc::clone(&h.store))
        .register(crate::jobs::noop::job())
        .register(crate::jobs::fatal::job())
        .concurrency(3)
        .build()
        .unwrap();
    let handle = worker.start();
    // Its first beat is written when it starts; poll for it with a deadline.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let seen = loop {
        let workers = h.store.workers().await.unwrap();
        if let Some(found) = workers.into_iter().find(|w| w.name == worker.name()) {
            break found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no heartbeat within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(seen.kinds, vec!["fatal".to_owned(), "noop".to_owned()]);
    assert_eq!(seen.queues, vec!["default".to_owned()]);
    assert_eq!((seen.concurrency, seen.pid), (3, std::process::id()));
    assert!(seen.is_alive(Utc::now()));
    handle.shutdown().await;
    assert!(
        h.store
            .workers()
            .await
            .unwrap()
            .iter()
            .all(|w| w.name != worker.name()),
        "a stopped worker is gone from the list"
    );
}
case!(runtime_a_running_worker_beats_and_leaves_when_it_stops);
