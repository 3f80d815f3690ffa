//! Maintenance services run once at a chosen time (`Worker::maintain`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use errand::store::{ClaimParams, KindClaim, QueueClaim};
use errand::{Client, JobError, JobState, JobStore, SqliteStore, Worker};

#[errand::job]
async fn chore() -> Result<(), JobError> {
    Ok(())
}

#[tokio::test]
async fn the_rescuer_runs_once_at_the_time_a_test_chooses() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("jobs.db")).await.unwrap();
    let client = Client::new(store.clone());
    let job = client.enqueue(chore::enqueue()).await.unwrap();
    // A worker that died holding the job: claimed, never renewed.
    let now = Utc::now();
    let claimed = store
        .claim(ClaimParams {
            worker: "gone".into(),
            queues: vec![QueueClaim {
                name: "default".into(),
                cap: None,
                fair: None,
            }],
            kinds: vec![KindClaim {
                kind: "chore".into(),
                cap: None,
                global_limit: None,
            }],
            limit: 1,
            paused_tenants: Vec::new(),
            tenant_limits: Default::default(),
            lease: Duration::from_secs(30),
            now,
        })
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let worker = Worker::builder(store)
        .register(chore::job())
        .build()
        .unwrap();
    let early = worker.maintain(now + TimeDelta::seconds(10)).await;
    let idle = errand::maintenance::Report::idle();
    assert_eq!(
        early,
        [
            ("rescuer", idle.clone()),
            ("pause-watch", idle.clone()),
            ("heartbeat", idle.clone()),
            ("cron", idle.clone()),
            ("pruner", idle.clone())
        ],
        "every service of the worker runs once, in order"
    );
    let late = worker.maintain(now + TimeDelta::seconds(31)).await;
    assert_eq!(late.len(), 5);
    assert_eq!((late[0].0, late[0].1.count), ("rescuer", 1));
    assert_eq!(
        late[3],
        ("cron", idle),
        "no cron entry: the scheduler idles"
    );
    // Rescued at the chosen time, 31 s ahead of the clock: waiting for it,
    // with its lost attempt counted.
    assert_eq!(job.state().await.unwrap(), JobState::Retrying);
    assert_eq!(
        job.errors().await.unwrap().len(),
        1,
        "the lost attempt counts"
    );
}
