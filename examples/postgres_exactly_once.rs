//! Exactly-once effects on PostgreSQL: a job that takes `PgTx` writes to the
//! application's tables in the transaction that also marks it completed, so
//! a credit is applied once even if a worker dies mid-way. And an enqueue in
//! the application's own transaction exists only if that transaction
//! commits. Set DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test).

use errand::postgres::{PgOptions, connect_options};
use errand::{Client, Finished, JobError, PgEnqueueExt, PgStore, PgTx, Worker};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Credit {
    account: i64,
    cents: i64,
}

#[errand::job(queue = "ledger")]
async fn credit_account(input: Credit, tx: PgTx) -> Result<(), JobError> {
    let mut conn = tx.conn().await?; // BEGIN on first use
    sqlx::query("UPDATE example_accounts SET balance = balance + $1 WHERE id = $2")
        .bind(input.cents)
        .bind(input.account)
        .execute(&mut *conn)
        .await?;
    Ok(()) // the worker completes the job in this transaction and commits
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let settings = PgOptions {
        schema: "errand_example".into(),
        ..PgOptions::default()
    };
    let store = PgStore::connect_with(connect_options(&url)?, settings).await?;
    let app = store.pool().clone();
    sqlx::query("CREATE TABLE IF NOT EXISTS example_accounts (id bigint PRIMARY KEY, balance bigint NOT NULL)")
        .execute(&app)
        .await?;
    sqlx::query(
        "INSERT INTO example_accounts VALUES (1, 0) ON CONFLICT (id) DO UPDATE SET balance = 0",
    )
    .execute(&app)
    .await?;

    let client = Client::new(store.clone());
    let credits = (0..10).map(|_| {
        credit_account::enqueue(Credit {
            account: 1,
            cents: 5,
        })
    });
    let jobs = client.enqueue_many(credits).await?;

    // Enqueued in a transaction that rolls back: the job never existed.
    let mut tx = app.begin().await?;
    let ghost = credit_account::enqueue(Credit {
        account: 1,
        cents: 1_000_000,
    })
    .enqueue_in_pg(&store, &mut tx)
    .await?;
    tx.rollback().await?;

    let worker = Worker::builder(store.clone())
        .register(credit_account::job())
        .build()?;
    let running = worker.start();
    for job in &jobs {
        if job.wait().await? != Finished::Completed(()) {
            return Err(format!("credit {} did not complete", job.id()).into());
        }
    }
    running.shutdown().await;
    let balance: i64 = sqlx::query_scalar("SELECT balance FROM example_accounts WHERE id = 1")
        .fetch_one(&app)
        .await?;
    let ghost_exists = client.get(ghost.id).await?.is_some();
    println!(
        "balance {balance} cents after 10 credits of 5; rolled-back job exists: {ghost_exists}"
    );
    sqlx::query("DROP TABLE example_accounts")
        .execute(&app)
        .await?;
    store.drop_schema().await?;
    if balance != 50 || ghost_exists {
        return Err("the credits were not applied exactly once".into());
    }
    Ok(())
}
