//! errand::testing as an application's test suite uses it.
#![cfg(feature = "testing")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use errand::testing::{self, Ran};
use errand::{Backoff, Client, JobError, JobState, State, Worker};

struct Prices {
    euro_cents: u64,
}

#[errand::job(max_attempts = 3)]
async fn quote(input: u64, prices: State<Prices>) -> Result<u64, JobError> {
    match input {
        0 => Err(JobError::retry("no items")),
        n => Ok(n * prices.euro_cents),
    }
}

#[errand::job]
async fn reminder(input: String) -> Result<(), JobError> {
    let _ = input;
    Ok(())
}

#[tokio::test]
async fn run_inline_uses_the_workers_state_backoff_and_handler() {
    let store = testing::sqlite_store().await.unwrap();
    let worker = Worker::builder(store.store())
        .register(quote::job())
        .backoff(Backoff::Fixed(Duration::from_secs(7)))
        .state(Prices { euro_cents: 250 })
        .build()
        .unwrap();
    assert_eq!(
        testing::run_inline(&worker, quote::enqueue(4))
            .await
            .unwrap(),
        Ran::Completed(1000)
    );
    let before = Utc::now();
    match testing::run_inline(&worker, quote::enqueue(0))
        .await
        .unwrap()
    {
        Ran::Retry { error, at } => {
            assert_eq!(error.message, "no items");
            assert!(at >= before + TimeDelta::seconds(7), "{at}");
        }
        other => panic!("expected a retry, got {other:?}"),
    }
    let unregistered = testing::run_inline(&worker, reminder::enqueue("x".into())).await;
    assert!(matches!(unregistered, Err(errand::Error::Invalid { .. })));
    assert!(
        testing::enqueued::<quote>(&store.store())
            .await
            .unwrap()
            .is_empty(),
        "inline runs leave the store alone"
    );
}

#[tokio::test]
async fn drain_at_moves_the_clock_instead_of_waiting() {
    let store = testing::sqlite_store().await.unwrap();
    let client = Client::new(store.store());
    let tomorrow = Utc::now() + TimeDelta::days(1);
    let job = client
        .enqueue(reminder::enqueue("renew your plan".into()).run_at(tomorrow))
        .await
        .unwrap();
    let found =
        testing::assert_enqueued::<reminder>(&store.store(), |text| text.contains("renew")).await;
    assert_eq!((found.id, found.state), (job.id(), JobState::Scheduled));
    let worker = Worker::builder(store.store())
        .register(reminder::job())
        .build()
        .unwrap();
    assert_eq!(worker.drain().await.unwrap().total(), 0, "not due yet");
    let summary = worker
        .drain_at(tomorrow + TimeDelta::seconds(1))
        .await
        .unwrap();
    assert_eq!(summary.completed, 1);
    assert_eq!(job.state().await.unwrap(), JobState::Completed);
}

#[tokio::test]
#[should_panic(expected = "no waiting job of kind reminder matches")]
async fn assert_enqueued_says_what_is_waiting_when_nothing_matches() {
    let store = testing::sqlite_store().await.unwrap();
    Client::new(store.store())
        .enqueue(reminder::enqueue("something else".into()))
        .await
        .unwrap();
    testing::assert_enqueued::<reminder>(&store.store(), |text| text == "renew").await;
}
