use std::sync::Arc;

use errand::store::{GetParams, RescueParams};
use errand::{JobState, Worker};

use crate::jobs::{Effect, EffectGates};

use super::*;

/// The backend's probe of the application's own transaction, or `None`
/// (the case recorded as skipped) for a store that has none.
fn app_transaction(h: &Harness) -> Option<&Arc<dyn crate::harness::TxProbe>> {
    if h.skip_unless(
        h.store.capabilities().transactional_enqueue,
        "join an application transaction",
    ) {
        return None;
    }
    Some(
        h.tx.as_ref()
            .expect("a backend with transactional enqueue provides a TxProbe"),
    )
}

pub async fn transactional_enqueue_visible_only_after_commit(h: &Harness) {
    let Some(probe) = app_transaction(h) else {
        return;
    };
    let now = t0();

    let open = probe.begin_and_enqueue(job("k"), now).await.unwrap();
    let id = open.id();
    assert!(
        h.store.get(GetParams { id, now }).await.unwrap().is_none(),
        "invisible before commit"
    );
    // (No claim here: on SQLite the open transaction holds the write lock, and
    // a claim would wait for it. Reads see the committed state only.)
    open.commit().await.unwrap();
    assert_eq!(get(h, id, now).await.state, JobState::Available);

    let open = probe.begin_and_enqueue(job("k"), now).await.unwrap();
    let rolled_back = open.id();
    open.rollback().await.unwrap();
    assert!(
        h.store
            .get(GetParams {
                id: rolled_back,
                now
            })
            .await
            .unwrap()
            .is_none(),
        "gone after rollback"
    );
    let claimed = claim(h, "w", &["k"], 10, now).await;
    assert_eq!(claimed.iter().map(|j| j.id).collect::<Vec<_>>(), [id]);
}
case!(transactional_enqueue_visible_only_after_commit);

fn effect_key() -> String {
    format!("effect-{:016x}", fastrand::u64(..))
}

/// A `tx_effect` job that writes `effect` through its own transaction.
pub(crate) fn effect_job(effect: &Effect) -> NewJob {
    NewJob::new("tx_effect", serde_json::to_value(effect).unwrap())
}

pub async fn transactional_completion_commits_effects_with_the_completion(h: &Harness) {
    let Some(probe) = h.tx.as_ref() else {
        h.skip_unless(false, "join a job's writes to its completion");
        return;
    };
    let table = probe.effects_table().await.unwrap();
    let worker = probe
        .with_effect_job(Worker::builder(h.store.clone()))
        .state(EffectGates::new(table))
        .build()
        .unwrap();
    let first = effect_key();
    let retried = effect_key();
    let now = chrono::Utc::now();
    let ok_id = enqueue_one(
        h,
        effect_job(&Effect {
            key: first.clone(),
            ..Effect::default()
        }),
        now,
    )
    .await;
    let retried_id = enqueue_one(
        h,
        effect_job(&Effect {
            key: retried.clone(),
            fail_through: 2,
            ..Effect::default()
        }),
        now,
    )
    .await;

    let summary = worker.drain().await.unwrap();
    assert_eq!(summary.completed, 2, "both jobs complete: {summary:?}");
    assert_eq!(
        summary.retried, 2,
        "the failing attempts are retried: {summary:?}"
    );

    let done = get(h, ok_id, chrono::Utc::now()).await;
    assert_eq!((done.state, done.attempt), (JobState::Completed, 1));
    assert_eq!(
        probe.effects(&first).await.unwrap(),
        1,
        "the effect committed with the completion"
    );

    let done = get(h, retried_id, chrono::Utc::now()).await;
    assert_eq!((done.state, done.attempt), (JobState::Completed, 3));
    assert_eq!(done.errors.len(), 2, "both failed attempts are recorded");
    assert_eq!(
        probe.effects(&retried).await.unwrap(),
        1,
        "the writes of failed attempts were rolled back; only the completing one stays"
    );
}
case!(transactional_completion_commits_effects_with_the_completion);

pub async fn transactional_completion_of_a_stale_attempt_rolls_back(h: &Harness) {
    let Some(probe) = h.tx.as_ref() else {
        h.skip_unless(false, "join a job's writes to its completion");
        return;
    };
    let table = probe.effects_table().await.unwrap();
    let gates = Arc::new(EffectGates::new(table));
    let worker = probe
        .with_effect_job(Worker::builder(h.store.clone()))
        .state_arc(Arc::clone(&gates))
        .lease(Duration::from_secs(60))
        .shutdown_timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let key = effect_key();
    let id = enqueue_one(
        h,
        effect_job(&Effect {
            key: key.clone(),
            gated: true,
            ..Effect::default()
        }),
        chrono::Utc::now(),
    )
    .await;
    let handle = worker.start();
    tokio::time::timeout(Duration::from_secs(30), gates.started.notified())
        .await
        .expect("the job starts");
    // The attempt loses the job while it runs: as if its lease had expired.
    let later = chrono::Utc::now() + secs(3600);
    let rescued = h.store.rescue(RescueParams { now: later }).await.unwrap();
    assert_eq!(rescued, [id]);
    gates.go.notify_one();
    // Shutdown waits for the running job to end.
    handle.shutdown().await;

    assert_eq!(
        probe.effects(&key).await.unwrap(),
        0,
        "the stale attempt's writes were rolled back with its completion"
    );
    let job = get(h, id, chrono::Utc::now()).await;
    assert_eq!(
        job.state,
        JobState::Retrying,
        "the job waits for its next attempt"
    );
    assert_eq!(job.attempt, 1);
}
case!(transactional_completion_of_a_stale_attempt_rolls_back);

pub async fn batches_are_created_inside_the_application_transaction(h: &Harness) {
    let Some(probe) = app_transaction(h) else {
        return;
    };
    let client = errand::Client::new(Arc::clone(&h.store));
    let album = || {
        client
            .batch()
            .tenant("acme")
            .job(crate::jobs::noop::enqueue())
            .job(crate::jobs::noop::enqueue())
            .on_complete(crate::jobs::noop::enqueue())
    };
    let now = t0();

    let (batch, open) = probe.begin_and_create_batch(album()).await.unwrap();
    assert_eq!(batch.jobs().len(), 2);
    assert!(
        h.store.batch(batch.id()).await.unwrap().is_none(),
        "invisible before commit"
    );
    open.commit().await.unwrap();
    let status = batch.status().await.unwrap();
    assert_eq!((status.counts.total, status.counts.waiting), (2, 2));
    assert_eq!(status.tenant.as_deref(), Some("acme"));

    let (gone, open) = probe.begin_and_create_batch(album()).await.unwrap();
    let gone_job = open.id();
    open.rollback().await.unwrap();
    assert!(
        h.store.batch(gone.id()).await.unwrap().is_none(),
        "rolled back"
    );
    assert!(
        h.store
            .get(GetParams { id: gone_job, now })
            .await
            .unwrap()
            .is_none(),
        "its jobs with it"
    );

    // A bad job refuses the whole batch, naming the field.
    let bad = client
        .batch()
        .job(crate::jobs::noop::enqueue().queue("bad queue"));
    let error = probe
        .begin_and_create_batch(bad)
        .await
        .map(drop)
        .unwrap_err();
    assert!(error.to_string().contains("queue"), "{error}");

    // The committed batch runs, then its continuation.
    let ran = Worker::builder(Arc::clone(&h.store))
        .register(crate::jobs::noop::job())
        .build()
        .unwrap()
        .drain()
        .await
        .unwrap();
    assert_eq!(ran.total(), 3, "two jobs and the continuation: {ran:?}");
    assert!(batch.status().await.unwrap().finished_at.is_some());
}
case!(batches_are_created_inside_the_application_transaction);
