//! Pause and resume: stored with who, when and why; kept by a second pause;
//! honoured by claims (paused tenants) and by workers (queues, all).

use std::sync::Arc;

use errand::store::{PauseParams, PauseScope, ResumeParams};
use errand::{Error, JobState, Worker};

use super::*;

fn pause_params(
    scope: PauseScope,
    by: &str,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> PauseParams {
    PauseParams {
        scope,
        by: by.into(),
        note: note.map(str::to_owned),
        now,
    }
}

pub async fn pauses_are_stored_with_who_when_and_why(h: &Harness) {
    let now = t0();
    assert!(h.store.pauses().await.unwrap().is_empty());
    let first = h
        .store
        .pause(pause_params(
            PauseScope::queue("mail"),
            "alice",
            Some("provider down"),
            now,
        ))
        .await
        .unwrap();
    assert!(!first.already_paused);
    assert_eq!(first.pause.scope, PauseScope::queue("mail"));
    assert_eq!(first.pause.by, "alice");
    assert_eq!(first.pause.note.as_deref(), Some("provider down"));
    assert_eq!(first.pause.at, now);
    // A second pause of the same scope keeps the first: who paused it and why.
    let again = h
        .store
        .pause(pause_params(
            PauseScope::queue("mail"),
            "bob",
            None,
            now + secs(5),
        ))
        .await
        .unwrap();
    assert!(again.already_paused);
    assert_eq!(again.pause, first.pause);
    for scope in [
        PauseScope::tenant("acme"),
        PauseScope::All,
        PauseScope::queue("bulk"),
    ] {
        h.store
            .pause(pause_params(scope, "ops", None, now))
            .await
            .unwrap();
    }
    let scopes: Vec<PauseScope> = h
        .store
        .pauses()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.scope)
        .collect();
    assert_eq!(
        scopes,
        [
            PauseScope::All,
            PauseScope::queue("bulk"),
            PauseScope::queue("mail"),
            PauseScope::tenant("acme"),
        ],
        "global first, then queues, then tenants, by name"
    );
    // A queue and a tenant of the same name are different scopes.
    let removed = h
        .store
        .resume(ResumeParams {
            scope: PauseScope::queue("mail"),
        })
        .await
        .unwrap();
    assert_eq!(removed, Some(first.pause));
    assert_eq!(
        h.store
            .resume(ResumeParams {
                scope: PauseScope::queue("mail"),
            })
            .await
            .unwrap(),
        None,
        "resuming what is not paused says so"
    );
    assert_eq!(
        h.store
            .resume(ResumeParams {
                scope: PauseScope::tenant("bulk"),
            })
            .await
            .unwrap(),
        None
    );
    assert_eq!(h.store.pauses().await.unwrap().len(), 3);
}
case!(pauses_are_stored_with_who_when_and_why);

fn field<T: std::fmt::Debug>(result: errand::Result<T>) -> String {
    match result {
        Err(Error::Invalid { field, .. }) => field,
        other => panic!("expected an invalid input error, got {other:?}"),
    }
}

pub async fn bad_pauses_are_refused_and_change_nothing(h: &Harness) {
    let now = t0();
    let bad = [
        (
            pause_params(PauseScope::queue(""), "ops", None, now),
            "queue",
        ),
        (
            pause_params(PauseScope::queue("a b"), "ops", None, now),
            "queue",
        ),
        (
            pause_params(PauseScope::tenant(&*"t".repeat(129)), "ops", None, now),
            "tenant",
        ),
        (pause_params(PauseScope::All, "", None, now), "by"),
        (
            pause_params(PauseScope::All, "ops", Some("\u{1b}[31m"), now),
            "note",
        ),
    ];
    for (params, expected) in bad {
        assert_eq!(field(h.store.pause(params).await), expected);
    }
    assert_eq!(
        field(
            h.store
                .resume(ResumeParams {
                    scope: PauseScope::queue("")
                })
                .await
        ),
        "queue"
    );
    assert!(
        h.store.pauses().await.unwrap().is_empty(),
        "nothing was stored"
    );
}
case!(bad_pauses_are_refused_and_change_nothing);

pub async fn claims_pass_over_paused_tenants(h: &Harness) {
    let now = t0();
    let of = |tenant: Option<&str>| NewJob {
        tenant: tenant.map(str::to_owned),
        ..job("k")
    };
    // The paused tenant's jobs come first in claim order: the claim must
    // step over them, not stop at them.
    let ids: Vec<JobId> = enqueue(
        h,
        vec![
            of(Some("acme")),
            of(Some("acme")),
            of(None),
            of(Some("globex")),
        ],
        now,
    )
    .await
    .iter()
    .map(|e| e.id)
    .collect();
    let mut params = claim_params("w", &["default"], &["k"], 10, now);
    params.paused_tenants = vec!["acme".into(), "initech".into()];
    let claimed: Vec<JobId> = h
        .store
        .claim(params)
        .await
        .unwrap()
        .iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(
        claimed,
        [ids[2], ids[3]],
        "other tenants' and untenanted jobs, in order"
    );
    for id in &ids[..2] {
        assert_eq!(
            get(h, *id, now).await.state,
            JobState::Available,
            "left waiting"
        );
    }
    let rest: Vec<JobId> = claim(h, "w", &["k"], 10, now)
        .await
        .iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(
        rest,
        ids[..2],
        "claimable again once the tenant is not paused"
    );
}
case!(claims_pass_over_paused_tenants);

fn drain_worker(h: &Harness) -> Worker {
    Worker::builder(Arc::clone(&h.store))
        .register(crate::jobs::noop::job())
        .queues(["default", "mail"])
        .build()
        .unwrap()
}

pub async fn workers_claim_nothing_paused_and_never_clear_a_pause(h: &Harness) {
    let now = t0();
    let on = |queue: &str, tenant: Option<&str>| NewJob {
        queue: queue.into(),
        tenant: tenant.map(str::to_owned),
        ..NewJob::new(crate::jobs::noop::KIND, serde_json::Value::Null)
    };
    let pause = |scope| h.store.pause(pause_params(scope, "ops", None, now));
    pause(PauseScope::All).await.unwrap();
    pause(PauseScope::queue("mail")).await.unwrap();
    pause(PauseScope::tenant("acme")).await.unwrap();
    let ids: Vec<JobId> = enqueue(
        h,
        vec![
            on("default", None),
            on("mail", None),
            on("default", Some("acme")),
        ],
        now,
    )
    .await
    .iter()
    .map(|e| e.id)
    .collect();
    // A worker built and drained now reads the pauses first: everything is
    // held, and it leaves the pauses as they were.
    let worker = drain_worker(h);
    assert_eq!(
        worker.drain().await.unwrap().total(),
        0,
        "all paused: nothing runs"
    );
    assert_eq!(
        h.store.pauses().await.unwrap().len(),
        3,
        "a worker never clears a pause"
    );
    let resume = |scope| h.store.resume(ResumeParams { scope });
    resume(PauseScope::All).await.unwrap().unwrap();
    assert_eq!(
        worker.drain().await.unwrap().completed,
        1,
        "only the unpaused job runs"
    );
    assert_eq!(get(h, ids[0], now).await.state, JobState::Completed);
    assert_eq!(
        get(h, ids[1], now).await.state,
        JobState::Available,
        "its queue is paused"
    );
    assert_eq!(
        get(h, ids[2], now).await.state,
        JobState::Available,
        "its tenant is paused"
    );
    resume(PauseScope::queue("mail")).await.unwrap().unwrap();
    assert_eq!(worker.drain().await.unwrap().completed, 1);
    assert_eq!(get(h, ids[1], now).await.state, JobState::Completed);
    resume(PauseScope::tenant("acme")).await.unwrap().unwrap();
    assert_eq!(worker.drain().await.unwrap().completed, 1);
    assert_eq!(get(h, ids[2], now).await.state, JobState::Completed);
    // Enqueueing into a paused queue works; the job waits.
    pause(PauseScope::queue("mail")).await.unwrap();
    let later = enqueue_one(h, on("mail", None), now).await;
    assert_eq!(worker.drain().await.unwrap().total(), 0);
    assert_eq!(get(h, later, now).await.state, JobState::Available);
}
case!(workers_claim_nothing_paused_and_never_clear_a_pause);
