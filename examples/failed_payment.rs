//! Payments that fail: a declined card fails for good at once (no retry) and
//! lands in the dead-letter set (state `failed`); a rate limit is retried
//! after the delay the gateway asks for. One unique key per subscription
//! and month keeps a charge from being enqueued twice. Once the customer
//! fixes the card, the jobs that failed on it are retried by a filter on
//! their errors; admin calls that cannot apply say why.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use errand::{Client, Error, Finished, JobError, JobState, ListParams, RetryFilter, State, Worker};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Charge {
    customer: String,
    cents: u64,
}

/// Stands in for a payment gateway.
#[derive(Default)]
struct Gateway {
    expired_cards: Mutex<HashSet<String>>,
    rate_limited_once: Mutex<HashSet<String>>,
}

enum Declined {
    CardExpired,
    RateLimited(Duration),
}

impl Gateway {
    fn charge(&self, charge: &Charge) -> Result<String, Declined> {
        let expired = self
            .expired_cards
            .lock()
            .is_ok_and(|cards| cards.contains(&charge.customer));
        if expired {
            return Err(Declined::CardExpired);
        }
        if let Ok(mut limited) = self.rate_limited_once.lock()
            && limited.remove(&charge.customer)
        {
            return Err(Declined::RateLimited(Duration::from_millis(200)));
        }
        Ok(format!("receipt for {} cents", charge.cents))
    }
}

#[errand::job(queue = "payments", max_attempts = 5)]
async fn charge_card(input: Charge, gateway: State<Gateway>) -> Result<String, JobError> {
    match gateway.charge(&input) {
        Ok(receipt) => Ok(receipt),
        // Retrying cannot help: fail now, keep the job for a human.
        Err(Declined::CardExpired) => Err(JobError::fatal("card expired")),
        Err(Declined::RateLimited(after)) => Err(JobError::retry_after(after, "rate limited")),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The embedded SQLite file; any store through ERRAND_DATABASE_URL and ERRAND_SCHEMA.
    let store = errand::connect_from_env("sqlite://failed_payment.db").await?;
    let client = Client::new(store.clone());
    let gateway = std::sync::Arc::new(Gateway::default());
    gateway
        .expired_cards
        .lock()
        .map_err(|_| "poisoned")?
        .insert("bob".into());
    gateway
        .rate_limited_once
        .lock()
        .map_err(|_| "poisoned")?
        .insert("carol".into());

    // One charge per subscription and month: the unique key keeps a second
    // enqueue (a retried webhook, a double click) from charging twice.
    let charge = |customer: &str| {
        charge_card::enqueue(Charge {
            customer: customer.into(),
            cents: 4200,
        })
        .unique_key(format!("charge:{customer}:2026-12"))
    };
    let ada = client.enqueue(charge("ada")).await?;
    let bob = client.enqueue(charge("bob")).await?;
    let carol = client.enqueue(charge("carol")).await?;
    let bob_twice = client.enqueue(charge("bob")).await?;
    println!(
        "second charge of bob: job {} (duplicate: {})",
        bob_twice.id(),
        bob_twice.is_duplicate()
    );

    let worker = Worker::builder(store)
        .register(charge_card::job())
        .state_arc(gateway.clone())
        .build()?;
    let running = worker.start();
    let timeout = Duration::from_secs(30);
    let ada_end = ada.wait_timeout(timeout).await?;
    let bob_end = bob.wait_timeout(timeout).await?;
    let carol_end = carol.wait_timeout(timeout).await?;
    println!("ada: {ada_end:?}\nbob: {bob_end:?}\ncarol: {carol_end:?}");

    // The dead-letter set: every failed job, with the error of each attempt.
    let failed = client
        .list(ListParams {
            state: Some(JobState::Failed),
            limit: 100,
            ..Default::default()
        })
        .await?;
    for job in &failed {
        println!(
            "dead letter: job {} ({}) {:?}",
            job.id,
            job.kind,
            job.errors.last().map(|e| &e.message)
        );
    }

    // Cancelling a completed job changes nothing, and says why.
    match client.cancel(ada.id()).await {
        Err(e @ Error::Conflict { .. }) => println!("cancel refused: {e}"),
        other => return Err(format!("expected a conflict, got {other:?}").into()),
    }

    // The card is updated: run again every charge that failed on an
    // expired card (one job here; a bulk retry needs a filter or `all`).
    gateway
        .expired_cards
        .lock()
        .map_err(|_| "poisoned")?
        .clear();
    let retried = client
        .retry_matching(&RetryFilter {
            kind: Some("charge_card".into()),
            error_contains: Some("card expired".into()),
            ..RetryFilter::default()
        })
        .await?;
    println!(
        "retried {} charge(s) declined for an expired card",
        retried.retried
    );
    let bob_again = bob.wait_timeout(timeout).await?;
    println!("bob after retry: {bob_again:?}");
    running.shutdown().await;

    let carol_attempts = carol.attempts().await?;
    let ok = bob_twice.is_duplicate()
        && bob_twice.id() == bob.id()
        && matches!(ada_end, Finished::Completed(_))
        && matches!(&bob_end, Finished::Failed(errors) if errors.len() == 1)
        && matches!(carol_end, Finished::Completed(_))
        && carol_attempts == 2
        && failed.iter().map(|j| j.id).collect::<Vec<_>>() == [bob.id()]
        && retried.retried == 1
        && matches!(bob_again, Finished::Completed(_));
    if !ok {
        return Err("the payments did not end as expected".into());
    }
    Ok(())
}
