//! The runtime (Client, Worker, Deferred) on top of the store: retries,
//! errors, outputs, cancellation and shutdown as users see them.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use errand::{Backoff, Client, ErrorKind, Finished, JobState, NewJob, Worker, WorkerBuilder};

use super::*;
use crate::jobs::{self, Calls, Gauge};

fn client(h: &Harness) -> Client {
    Client::new(Arc::clone(&h.store))
}

fn worker(h: &Harness) -> WorkerBuilder {
    Worker::builder(Arc::clone(&h.store))
        .backoff(Backoff::Fixed(Duration::ZERO))
        .poll_interval(Duration::from_millis(50))
}

/// A worker running `sleepy` jobs, each of which records in `gauge` how
/// many run at once.
fn gauged_worker(h: &Harness, gauge: &Arc<Gauge>) -> WorkerBuilder {
    worker(h)
        .register(jobs::sleepy::job())
        .state_arc(Arc::clone(gauge))
}

pub async fn runtime_retries_until_attempts_exhausted_with_every_error(h: &Harness) {
    let job = client(h)
        .enqueue(jobs::always_fails::enqueue("report".into()))
        .await
        .unwrap();
    let summary = worker(h)
        .register(jobs::always_fails::job())
        .build()
        .unwrap()
        .drain()
        .await
        .unwrap();
    assert_eq!((summary.retried, summary.failed), (2, 1), "{summary:?}");
    let errors = match job.wait().await.unwrap() {
        Finished::Failed(errors) => errors,
        other => panic!("expected failed, got {other:?}"),
    };
    let seen: Vec<(u32, String)> = errors
        .iter()
        .map(|e| (e.attempt, e.message.clone()))
        .collect();
    assert_eq!(
        seen,
        (1..=3)
            .map(|a| (a, format!("report failed on attempt {a}")))
            .collect::<Vec<_>>(),
        "one error per attempt"
    );
    assert_eq!(job.state().await.unwrap(), JobState::Failed);
    assert_eq!(job.attempts().await.unwrap(), 3);
}
case!(runtime_retries_until_attempts_exhausted_with_every_error);

pub async fn runtime_fatal_error_fails_at_once(h: &Harness) {
    let job = client(h)
        .enqueue(jobs::fatal::enqueue().max_attempts(10))
        .await
        .unwrap();
    let summary = worker(h)
        .register(jobs::fatal::job())
        .build()
        .unwrap()
        .drain()
        .await
        .unwrap();
    assert_eq!(summary.failed, 1);
    let row = job.job().await.unwrap();
    assert_eq!((row.state, row.attempt), (JobState::Failed, 1));
    assert_eq!(row.errors[0].kind, ErrorKind::Fatal);
    assert_eq!(row.errors[0].message, "account closed");
}
case!(runtime_fatal_error_fails_at_once);

pub async fn runtime_snooze_keeps_attempts(h: &Harness) {
    let job = client(h)
        .enqueue(jobs::snooze_once::enqueue())
        .await
        .unwrap();
    let summary = worker(h)
        .register(jobs::snooze_once::job())
        .state(Calls::default())
        .build()
        .unwrap()
        .drain()
        .await
        .unwrap();
    assert_eq!((summary.snoozed, summary.completed), (1, 1), "{summary:?}");
    assert_eq!(job.wait().await.unwrap(), Finished::Completed(2));
    let row = job.job().await.unwrap();
    assert_eq!(row.attempt, 1, "the snoozed run used no attempt");
    assert!(row.errors.is_empty());
}
case!(runtime_snooze_keeps_attempts);

pub async fn runtime_undeserializable_input_fails_with_message(h: &Harness) {
    let c = client(h);
    let bad = NewJob::new(
        "typed_input",
        serde_json::json!({"recipient": "ada@example.com"}),
    );
    let id = c.enqueue_raw(vec![bad]).await.unwrap()[0].id;
    let good = c
        .enqueue(jobs::typed_input::enqueue(jobs::Email {
            to: "bob@example.com".into(),
        }))
        .await
        .unwrap();
    let summary = worker(h)
        .register(jobs::typed_input::job())
        .build()
        .unwrap()
        .drain()
        .await
        .unwrap();
    assert_eq!((summary.failed, summary.completed), (1, 1), "{summary:?}");
    let row = c.get(id).await.unwrap().unwrap();
    assert_eq!(
        (row.state, row.attempt),
        (JobState::Failed, 1),
        "no retry for an input that cannot match"
    );
    let message = &row.errors[0].message;
    assert!(
        message.starts_with(&format!("input of job {id} (typed_input) does not match:"))
            && message.contains("missing field `to`"),
        "{message}"
    );
    assert_eq!(row.errors[0].kind, ErrorKind::Deserialize);
    assert_eq!(
        good.wait().await.unwrap(),
        Finished::Completed("bob@example.com".to_owned())
    );
}
case!(runtime_undeserializable_input_fails_with_message);

pub async fn runtime_unknown_kinds_are_left_untouched(h: &Harness) {
    let c = client(h);
    let foreign = c
        .enqueue_raw(vec![NewJob::new(
            "deployed_elsewhere",
            serde_json::json!({}),
        )])
        .await
        .unwrap()[0]
        .id;
    c.enqueue(jobs::noop::enqueue()).await.unwrap();
    let summary = worker(h)
        .register(jobs::noop::job())
        .build()
        .unwrap()
        .drain()
        .await
        .unwrap();
    assert_eq!(summary.total(), 1);
    let row = c
        .get(foreign)
        .await
        .unwrap()
        .expect("a worker never deletes unknown kinds");
    assert_eq!(
        (row.state, row.attempt, row.worker),
        (JobState::Available, 0, None)
    );
}
case!(runtime_unknown_kinds_are_left_untouched);

pub async fn runtime_output_and_errors_through_deferred(h: &Harness) {
    let job = client(h).enqueue(jobs::flaky::enqueue(21)).await.unwrap();
    assert_eq!(job.output().await.unwrap(), None, "no output before it ran");
    worker(h)
        .register(jobs::flaky::job())
        .build()
        .unwrap()
        .drain()
        .await
        .unwrap();
    assert_eq!(job.wait().await.unwrap(), Finished::Completed(42));
    assert_eq!(job.output().await.unwrap(), Some(42));
    assert_eq!(job.attempts().await.unwrap(), 2);
    let errors = job.errors().await.unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(
        (errors[0].attempt, errors[0].message.as_str()),
        (1, "first attempt always fails")
    );
}
case!(runtime_output_and_errors_through_deferred);

pub async fn runtime_panic_and_timeout_are_attempt_failures(h: &Harness) {
    let c = client(h);
    let panicking = c.enqueue(jobs::panics::enqueue()).await.unwrap();
    let slow = c.enqueue(jobs::too_slow::enqueue()).await.unwrap();
    let summary = worker(h)
        .register(jobs::panics::job())
        .register(jobs::too_slow::job())
        .build()
        .unwrap()
        .drain()
        .await
        .unwrap();
    assert_eq!((summary.retried, summary.failed), (2, 2), "{summary:?}");
    let p = panicking.errors().await.unwrap();
    assert_eq!(p.len(), 2);
    assert!(
        p.iter()
            .all(|e| e.kind == ErrorKind::Panic && e.message == "panicked: the job broke"),
        "{p:?}"
    );
    let s = slow.errors().await.unwrap();
    assert!(
        s.iter()
            .all(|e| e.kind == ErrorKind::Timeout && e.message.contains("timed out after")),
        "{s:?}"
    );
    assert_eq!(slow.state().await.unwrap(), JobState::Failed);
}
case!(runtime_panic_and_timeout_are_attempt_failures);

pub async fn runtime_cancel_running_job_through_token(h: &Harness) {
    let gauge = Arc::new(Gauge::default());
    let running = worker(h)
        .register(jobs::until_cancelled::job())
        .state_arc(Arc::clone(&gauge))
        .build()
        .unwrap()
        .start();
    let job = client(h)
        .enqueue(jobs::until_cancelled::enqueue())
        .await
        .unwrap();
    eventually(Duration::from_secs(10), "the job starts", || async {
        gauge.peak.load(Ordering::SeqCst) == 1
    })
    .await;
    let out = job.cancel().await.unwrap();
    assert_eq!(out, errand::Cancellation::Requested);
    let end = job.wait_timeout(Duration::from_secs(10)).await.unwrap();
    match end {
        Finished::Cancelled(errors) => assert_eq!(errors[0].kind, ErrorKind::Cancelled),
        other => panic!("expected cancelled, got {other:?}"),
    }
    running.shutdown().await;
}
case!(runtime_cancel_running_job_through_token);

pub async fn runtime_worker_processes_and_shuts_down_gracefully(h: &Harness) {
    let gauge = Arc::new(Gauge::default());
    let running = gauged_worker(h, &gauge)
        .concurrency(8)
        .kind_limit("sleepy", 3)
        .build()
        .unwrap()
        .start();
    let c = client(h);
    let handles = c
        .enqueue_many((0..40).map(|_| jobs::sleepy::enqueue(5)))
        .await
        .unwrap();
    for handle in &handles {
        assert_eq!(
            handle.wait_timeout(Duration::from_secs(30)).await.unwrap(),
            Finished::Completed(5)
        );
    }
    let peak = gauge.peak.load(Ordering::SeqCst);
    assert!(
        (1..=3).contains(&peak),
        "the local kind limit holds: peak {peak}"
    );
    running.shutdown().await;
    let done = c
        .list(errand::ListParams {
            state: Some(JobState::Completed),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(done.len(), 40);
}
case!(runtime_worker_processes_and_shuts_down_gracefully);

pub async fn runtime_concurrency_holds_when_claiming_ahead(h: &Harness) {
    // Short jobs with more due than a claim takes: the worker claims ahead,
    // yet never runs more than its concurrency at once.
    let gauge = Arc::new(Gauge::default());
    let running = gauged_worker(h, &gauge)
        .concurrency(4)
        .build()
        .unwrap()
        .start();
    let c = client(h);
    let handles = c
        .enqueue_many((0..400).map(|_| jobs::sleepy::enqueue(0)))
        .await
        .unwrap();
    for handle in &handles {
        assert_eq!(
            handle.wait_timeout(Duration::from_secs(30)).await.unwrap(),
            Finished::Completed(0)
        );
    }
    let peak = gauge.peak.load(Ordering::SeqCst);
    assert!((1..=4).contains(&peak), "concurrency 4 holds: peak {peak}");
    running.shutdown().await;

    // A local kind limit holds as well while two claims travel at once
    // (plenty of unlimited jobs keep the claims full, so both lanes claim):
    // each lane counts the room the other's claim may fill.
    let gauge = Arc::new(Gauge::default());
    let running = worker(h)
        .register(jobs::sleepy::job())
        .register(jobs::noop::job())
        .state_arc(Arc::clone(&gauge))
        .concurrency(8)
        .kind_limit("sleepy", 3)
        .build()
        .unwrap()
        .start();
    let mut limited = Vec::new();
    let mut others = Vec::new();
    for _ in 0..60 {
        others.extend(
            c.enqueue_many((0..6).map(|_| jobs::noop::enqueue()))
                .await
                .unwrap(),
        );
        limited.extend(
            c.enqueue_many((0..3).map(|_| jobs::sleepy::enqueue(2)))
                .await
                .unwrap(),
        );
    }
    for handle in &limited {
        assert_eq!(
            handle.wait_timeout(Duration::from_secs(30)).await.unwrap(),
            Finished::Completed(2)
        );
    }
    for handle in &others {
        assert_eq!(
            handle.wait_timeout(Duration::from_secs(30)).await.unwrap(),
            Finished::Completed(())
        );
    }
    let peak = gauge.peak.load(Ordering::SeqCst);
    assert!(
        (1..=3).contains(&peak),
        "the kind limit of 3 holds: peak {peak}"
    );
    running.shutdown().await;

    // Long jobs are never claimed ahead: the worker holds no more than its
    // concurrency, and the rest stay available to other workers.
    let running = worker(h)
        .register(jobs::sleepy::job())
        .state_arc(Arc::new(Gauge::default()))
        .concurrency(2)
        .build()
        .unwrap()
        .start();
    let handles = c
        .enqueue_many((0..6).map(|_| jobs::sleepy::enqueue(150)))
        .await
        .unwrap();
    let most_held = std::sync::atomic::AtomicUsize::new(0);
    eventually(
        Duration::from_secs(30),
        "the long jobs complete",
        || async {
            let held = running.running();
            most_held.fetch_max(held, Ordering::SeqCst);
            assert!(
                held <= 2,
                "a worker of concurrency 2 holds {held} long jobs"
            );
            let mut done = 0;
            for handle in &handles {
                if handle.state().await.unwrap() == JobState::Completed {
                    done += 1;
                }
            }
            done == handles.len()
        },
    )
    .await;
    assert_eq!(
        most_held.load(Ordering::SeqCst),
        2,
        "the worker ran two long jobs at once"
    );
    running.shutdown().await;
}
case!(runtime_concurrency_holds_when_claiming_ahead);

pub async fn runtime_shutdown_releases_unfinished_jobs_without_attempt(h: &Harness) {
    let gauge = Arc::new(Gauge::default());
    let running = gauged_worker(h, &gauge)
        .shutdown_timeout(Duration::from_millis(200))
        .build()
        .unwrap()
        .start();
    let c = client(h);
    let handles = c
        .enqueue_many((0..2).map(|_| jobs::sleepy::enqueue(600_000)))
        .await
        .unwrap();
    eventually(Duration::from_secs(10), "both jobs run", || async {
        gauge.peak.load(Ordering::SeqCst) == 2
    })
    .await;
    running.shutdown().await;
    for handle in handles {
        let row = handle.job().await.unwrap();
        assert_eq!(row.state, JobState::Available, "given back at shutdown");
        assert_eq!(row.attempt, 0, "the interrupted attempt is not counted");
        assert!(row.errors.is_empty());
    }
}
case!(runtime_shutdown_releases_unfinished_jobs_without_attempt);

/// A job end that frees a slot of a global limit reaches an idle worker of
/// another store instance (another process) at once: both workers poll
/// only hourly, so nothing but the end's wake-up can start the next job.
pub async fn a_freed_global_slot_wakes_a_worker_of_another_store(h: &Harness) {
    if h.skip_unless(
        h.store.capabilities().cross_process_wakeup,
        "wake workers of another process",
    ) {
        return;
    }
    let other = h.another().await.unwrap();
    let gate = Arc::new(jobs::Gate::default());
    let gauge = Arc::new(Gauge::default());
    let worker = |store: Arc<dyn errand::Store>, queues: &[&str]| {
        Worker::builder(store)
            .register(jobs::gated::job())
            .queues(queues.iter().copied())
            .allow_unserved_kinds()
            .global_limit(jobs::gated::KIND, 1)
            .concurrency(1)
            .poll_interval(Duration::from_secs(3600))
            .state_arc(Arc::clone(&gate))
            .state_arc(Arc::clone(&gauge))
            .build()
            .unwrap()
    };
    // The other store's worker serves only `shared`, and starts first: its
    // first claim finds nothing, then it waits for a wake-up (or an hour).
    let there = worker(other, &["shared"]).start();
    let here = worker(Arc::clone(&h.store), &["mine", "shared"]).start();
    let client = client(h);
    let first = client
        .enqueue(jobs::gated::enqueue().queue("mine"))
        .await
        .unwrap();
    eventually(
        Duration::from_secs(10),
        "the first job runs here",
        || async { gauge.peak.load(Ordering::SeqCst) == 1 },
    )
    .await;
    let second = client
        .enqueue(jobs::gated::enqueue().queue("shared"))
        .await
        .unwrap();
    // This worker stops claiming now and ends once its job has ended; the
    // other must hear of the freed slot from this store.
    let stopping = tokio::spawn(here.shutdown());
    gate.open();
    assert_eq!(
        first.wait_timeout(Duration::from_secs(10)).await.unwrap(),
        Finished::Completed(())
    );
    stopping.await.unwrap();
    assert_eq!(
        second.wait_timeout(Duration::from_secs(10)).await.unwrap(),
        Finished::Completed(()),
        "the other store's worker ran the second job without waiting for its poll"
    );
    there.shutdown().await;
}
case!(a_freed_global_slot_wakes_a_worker_of_another_store);

pub async fn runtime_hooks_hear_of_failures_after_they_are_recorded(h: &Harness) {
    use errand::observe::JobEvent;
    use std::sync::Mutex;
    /// Which hook heard of what, and the job's state then.
    type Heard = Vec<(&'static str, JobEvent, JobState)>;
    let heard: Arc<Mutex<Heard>> = Arc::default();
    // Each hook reads the job's state from the store: what it hears of is
    // already recorded when it runs.
    let listen = |name: &'static str| {
        let heard = Arc::clone(&heard);
        let store = Arc::clone(&h.store);
        move |event: JobEvent| {
            let heard = Arc::clone(&heard);
            let store = Arc::clone(&store);
            async move {
                let state = store
                    .get(errand::store::GetParams {
                        id: event.id,
                        now: chrono::Utc::now(),
                    })
                    .await
                    .unwrap()
                    .unwrap()
                    .state;
                heard.lock().unwrap().push((name, event, state));
            }
        }
    };
    let client = client(h);
    let flaky = client
        .enqueue(jobs::always_fails::enqueue("report".into()).tenant("acme"))
        .await
        .unwrap();
    let fine = client.enqueue(jobs::noop::enqueue()).await.unwrap();
    let summary = worker(h)
        .register(jobs::always_fails::job())
        .register(jobs::noop::job())
        .on_attempt_failed(listen("attempt_failed"))
        .on_job_failed(listen("job_failed"))
        // A failing and a panicking hook are logged and change no job.
        .on_job_failed(|_| async { Err::<(), _>("the pager is down") })
        .on_attempt_failed(|event: JobEvent| async move {
            assert!(event.attempt == 0, "a broken hook");
        })
        .build()
        .unwrap()
        .drain()
        .await
        .unwrap();
    assert_eq!(
        (summary.retried, summary.failed, summary.completed),
        (2, 1, 1)
    );
    let mut heard = heard.lock().unwrap().clone();
    heard.sort_by_key(|(name, event, _)| (event.attempt, *name));
    let seen: Vec<(&str, u32, bool, JobState)> = heard
        .iter()
        .map(|(name, e, state)| (*name, e.attempt, e.failed_for_good(), *state))
        .collect();
    assert_eq!(
        seen,
        [
            // Retried at once (no backoff): waiting again, no longer running.
            ("attempt_failed", 1, false, JobState::Available),
            ("attempt_failed", 2, false, JobState::Available),
            ("attempt_failed", 3, true, JobState::Failed),
            ("job_failed", 3, true, JobState::Failed),
        ],
        "every failed attempt, then the failure for good, each after it was recorded"
    );
    let last = &heard[3].1;
    assert_eq!(last.id, flaky.id());
    assert_eq!(last.kind, jobs::always_fails::KIND);
    assert_eq!(last.tenant.as_deref(), Some("acme"));
    assert_eq!(last.max_attempts, 3);
    assert_eq!(last.error.message, "report failed on attempt 3");
    assert!(
        heard.iter().all(|(_, e, _)| e.id != fine.id()),
        "successes are not failures"
    );
    assert_eq!(flaky.state().await.unwrap(), JobState::Failed);
    assert_eq!(fine.state().await.unwrap(), JobState::Completed);

    // A started worker calls them too, once its completer wrote the end.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let handle = worker(h)
        .register(jobs::fatal::job())
        .on_job_failed(move |event: JobEvent| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(event);
            }
        })
        .build()
        .unwrap()
        .start();
    let fatal = client.enqueue(jobs::fatal::enqueue()).await.unwrap();
    let event = tokio::time::timeout(Duration::from_secs(30), rx.recv())
        .await
        .expect("the hook is called")
        .unwrap();
    assert_eq!((event.id, event.attempt), (fatal.id(), 1));
    assert_eq!(event.error.message, "account closed");
    assert_eq!(fatal.state().await.unwrap(), JobState::Failed);
    handle.shutdown().await;
}
case!(runtime_hooks_hear_of_failures_after_they_are_recorded);
