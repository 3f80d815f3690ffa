//! What a new user meets in the first hour: workers that serve their kinds'
//! queues, settings and inputs that are refused with the field and the value
//! instead of a panic or a job that never runs, admin calls that say why
//! nothing happened. Every case runs on a real SQLite file.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use errand::{
    Cancellation, Client, EnqueueBuilder, Error, Finished, JobError, JobId, JobState, SqliteStore,
    Worker,
};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Email {
    to: String,
}

#[errand::job(queue = "mail")]
async fn send_email(input: Email) -> Result<String, JobError> {
    Ok(input.to)
}

#[errand::job(queue = "media")]
async fn resize(input: u32) -> Result<u32, JobError> {
    Ok(input * 2)
}

#[errand::job]
async fn cleanup() -> Result<(), JobError> {
    Ok(())
}

#[derive(Serialize, Deserialize)]
struct Reading {
    celsius: f64,
}

#[errand::job]
async fn record(input: Reading) -> Result<f64, JobError> {
    Ok(input.celsius)
}

#[errand::job]
async fn not_a_number() -> Result<f64, JobError> {
    Ok(f64::NAN)
}

async fn store() -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("jobs.db")).await.unwrap();
    (store, dir)
}

fn invalid_field(result: Result<impl std::fmt::Debug, Error>) -> String {
    match result {
        Err(Error::Invalid { field, .. }) => field,
        other => panic!("expected an Invalid error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_worker_without_queues_serves_the_queues_of_its_kinds() {
    let (store, _dir) = store().await;
    let client = Client::new(store.clone());
    let mail = client
        .enqueue(send_email::enqueue(Email {
            to: "ada@example.com".into(),
        }))
        .await
        .unwrap();
    let media = client.enqueue(resize::enqueue(21)).await.unwrap();
    let plain = client.enqueue(cleanup::enqueue()).await.unwrap();
    let worker = Worker::builder(store)
        .register(send_email::job())
        .register(resize::job())
        .register(cleanup::job())
        .build()
        .unwrap();
    let summary = worker.drain().await.unwrap();
    assert_eq!(summary.completed, 3, "{summary:?}");
    assert_eq!(
        mail.wait_timeout(Duration::from_secs(5)).await.unwrap(),
        Finished::Completed("ada@example.com".to_owned())
    );
    assert_eq!(
        media.wait_timeout(Duration::from_secs(5)).await.unwrap(),
        Finished::Completed(42)
    );
    assert_eq!(plain.state().await.unwrap(), JobState::Completed);
}

#[tokio::test]
async fn a_worker_whose_queues_leave_a_kind_unserved_is_refused() {
    let (store, _dir) = store().await;
    let built = Worker::builder(store.clone())
        .register(send_email::job())
        .register(resize::job())
        .queues(["high", "default", "low"])
        .build();
    let Err(Error::Invalid { field, reason, .. }) = built else {
        panic!("expected an error naming the unserved queue");
    };
    assert_eq!(field, "queues");
    assert!(
        reason.contains("\"mail\"") && reason.contains("send_email"),
        "{reason}"
    );
    // A deployment that serves some queues per process says so.
    let worker = Worker::builder(store)
        .register(send_email::job())
        .register(resize::job())
        .queues(["media"])
        .allow_unserved_kinds()
        .build()
        .unwrap();
    assert!(format!("{worker:?}").contains("media"));
}

#[tokio::test]
async fn limits_on_unknown_kinds_or_unserved_queues_are_refused() {
    let (store, _dir) = store().await;
    let builder = || Worker::builder(store.clone()).register(send_email::job());
    let e = builder().kind_limit("send_emial", 2).build();
    assert_eq!(invalid_field(e), "kind_limit");
    let e = builder().global_limit("resize", 2).build();
    assert_eq!(invalid_field(e), "global_limit");
    let e = builder().queue_limit("mial", 2).build();
    assert_eq!(invalid_field(e), "queue_limit");
    let e = builder().fair_queue("mial").build();
    assert_eq!(invalid_field(e), "fair_queue");
    let e = builder().tenant_limit(0).build();
    assert_eq!(invalid_field(e), "tenant_limit");
    let e = builder().tenant_limit_for("acme", 0).build();
    assert_eq!(invalid_field(e), "tenant_limit_for[acme]");
    let e = builder().tenant_limit_for("bad tenant", 2).build();
    assert_eq!(invalid_field(e), "tenant");
    let ok = builder()
        .kind_limit("send_email", 2)
        .global_limit("send_email", 4)
        .queue_limit("mail", 3)
        .tenant_limit(2)
        .tenant_limit_for("acme", 5)
        .fair_queue("mail")
        .build();
    assert!(ok.is_ok(), "{ok:?}");
}

#[tokio::test]
async fn settings_beyond_their_maximum_are_errors_not_panics() {
    let (store, _dir) = store().await;
    let builder = || Worker::builder(store.clone()).register(cleanup::job());
    type Setting = fn(errand::WorkerBuilder) -> errand::WorkerBuilder;
    let settings: [(Setting, &str); 10] = [
        (|b| b.concurrency(usize::MAX), "concurrency"),
        (|b| b.claim_batch(usize::MAX), "claim_batch"),
        (|b| b.lease(Duration::MAX), "lease"),
        (|b| b.shutdown_timeout(Duration::MAX), "shutdown_timeout"),
        (|b| b.poll_interval(Duration::MAX), "poll_interval"),
        (|b| b.rescue_interval(Duration::MAX), "rescue_interval"),
        (
            |b| b.global_limit("cleanup", u32::MAX),
            "global_limit[cleanup]",
        ),
        (|b| b.name("a\nb"), "name"),
        (|b| b.tenant_limit(u32::MAX), "tenant_limit"),
        (
            |b| b.tenant_limit_for("acme", u32::MAX),
            "tenant_limit_for[acme]",
        ),
    ];
    for (setting, field) in settings {
        assert_eq!(invalid_field(setting(builder()).build()), field);
    }
    // The documented maxima themselves are accepted, and such a worker starts
    // and shuts down.
    let worker = builder()
        .concurrency(errand::validate::MAX_CONCURRENCY)
        .lease(errand::validate::MAX_LEASE)
        .shutdown_timeout(errand::validate::MAX_WORKER_INTERVAL)
        .build()
        .unwrap();
    worker.start().shutdown().await;
    let client = Client::new(store.clone());
    assert_eq!(
        invalid_field(client.clone().max_input_bytes(usize::MAX)),
        "max_input_bytes"
    );
}

#[tokio::test]
async fn times_that_overflow_are_errors_naming_the_field() {
    let (store, _dir) = store().await;
    let client = Client::new(store);
    let years = Duration::from_secs(300_000 * 366 * 24 * 3600);
    let e = client.enqueue(cleanup::enqueue().delay(years)).await;
    assert_eq!(invalid_field(e), "delay");
    let e = client
        .enqueue(cleanup::enqueue().delay(Duration::MAX))
        .await;
    assert_eq!(invalid_field(e), "delay");
    let e = client
        .enqueue(cleanup::enqueue().run_at(chrono::DateTime::<chrono::Utc>::MAX_UTC))
        .await;
    assert_eq!(invalid_field(e), "run_at");
    let e = client
        .enqueue(cleanup::enqueue().unique(errand::Unique::period("k", Duration::MAX)))
        .await;
    assert_eq!(invalid_field(e), "unique_period");
    assert!(client.list(Default::default()).await.is_err(), "limit 0");
    let listed = client
        .list(errand::ListParams {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(listed.is_empty(), "nothing was enqueued: {listed:?}");
}

#[tokio::test]
async fn a_nan_input_is_refused_and_a_nan_output_fails_the_job_saying_where() {
    let (store, _dir) = store().await;
    let client = Client::new(store.clone());
    let e = client
        .enqueue(EnqueueBuilder::<record>::new(Reading { celsius: f64::NAN }))
        .await;
    let Err(Error::Invalid { field, reason, .. }) = e else {
        panic!("expected Invalid, got {e:?}");
    };
    assert_eq!(field, "input.celsius");
    assert!(reason.contains("finite"), "{reason}");
    let e = client
        .enqueue_many([
            record::enqueue(Reading { celsius: 20.5 }),
            record::enqueue(Reading {
                celsius: f64::INFINITY,
            }),
        ])
        .await;
    assert_eq!(invalid_field(e), "input.celsius");
    let fine = client
        .enqueue(record::enqueue(Reading { celsius: 20.5 }))
        .await
        .unwrap();
    let nan = client.enqueue(not_a_number::enqueue()).await.unwrap();
    let worker = Worker::builder(store)
        .register(record::job())
        .register(not_a_number::job())
        .build()
        .unwrap();
    worker.drain().await.unwrap();
    assert_eq!(fine.output().await.unwrap(), Some(20.5));
    let Finished::Failed(errors) = nan.wait_timeout(Duration::from_secs(5)).await.unwrap() else {
        panic!("a NaN output fails the job");
    };
    assert!(
        errors[0].message.contains("output") && errors[0].message.contains("finite"),
        "{}",
        errors[0].message
    );
}

#[tokio::test]
async fn admin_calls_on_missing_or_wrong_state_jobs_are_typed_errors() {
    let (store, _dir) = store().await;
    let client = Client::new(store.clone());
    let missing = JobId(4242);
    for result in [
        client.cancel(missing).await.map(|_| ()),
        client.retry(missing).await,
        client.delete(missing).await,
    ] {
        match result {
            Err(e @ Error::NotFound { .. }) => {
                assert_eq!(e.kind(), errand::ErrorClass::NotFound);
                assert!(e.to_string().contains("4242"), "{e}");
            }
            other => panic!("expected NotFound, got {other:?}"),
        }
    }
    let job = client.enqueue(cleanup::enqueue()).await.unwrap();
    match client.retry(job.id()).await {
        Err(e @ Error::Conflict { .. }) => {
            assert_eq!(e.job_state(), Some(JobState::Available));
            assert!(e.to_string().contains("available"), "{e}");
        }
        other => panic!("expected a conflict naming the state, got {other:?}"),
    }
    let worker = Worker::builder(store)
        .register(cleanup::job())
        .build()
        .unwrap();
    worker.drain().await.unwrap();
    match job.cancel().await {
        Err(e) => assert_eq!(e.job_state(), Some(JobState::Completed), "{e}"),
        other => panic!("a completed job cannot be cancelled: {other:?}"),
    }
    client.retry(job.id()).await.unwrap();
    assert_eq!(job.cancel().await.unwrap(), Cancellation::Cancelled);
    client.delete(job.id()).await.unwrap();
    assert!(client.get(job.id()).await.unwrap().is_none());
}

#[tokio::test]
async fn connecting_names_the_file_or_server_and_refuses_foreign_urls() {
    let e = SqliteStore::connect("postgres://app@db/app").await;
    assert_eq!(invalid_field(e), "database_url");
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"this is text, not a database file at all").unwrap();
    let e = SqliteStore::open(&junk).await.unwrap_err().to_string();
    assert!(
        e.contains("junk.db") && e.contains("not a SQLite database"),
        "{e}"
    );
    let missing = dir.path().join("no").join("such").join("jobs.db");
    let e = SqliteStore::open(&missing).await.unwrap_err().to_string();
    assert!(e.contains("no/such/jobs.db"), "{e}");
    let options = errand::sqlite::connect_options("sqlite://never.db").unwrap();
    let tuning = errand::sqlite::SqliteOptions {
        create_if_missing: false,
        ..Default::default()
    };
    let e = SqliteStore::connect_with(options, tuning)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e}");
    assert!(!std::path::Path::new("never.db").exists());
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_refuses_other_schemes_and_reports_a_refused_connection_naming_it() {
    let e = errand::PgStore::connect("mysql://app:secret@db/app").await;
    let Err(Error::Invalid { field, value, .. }) = e else {
        panic!("a mysql:// URL must be refused: {e:?}");
    };
    assert_eq!(field, "database_url");
    assert!(!value.contains("secret"), "{value}");
    let e = errand::PgStore::connect("postgres://postgres:secret@127.0.0.1:1/test")
        .await
        .unwrap_err();
    assert!(e.is_transient(), "{e}");
    let text = e.to_string();
    assert!(
        text.contains("127.0.0.1:1") && text.contains("refused") && !text.contains("secret"),
        "{text}"
    );
    assert!(
        std::error::Error::source(&e).is_some(),
        "the driver's error is kept"
    );
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn redis_refuses_other_schemes_and_reports_a_refused_connection_naming_it() {
    let e = errand::RedisStore::connect("http://127.0.0.1:6379").await;
    assert_eq!(invalid_field(e), "database_url");
    let e = errand::RedisStore::connect("redis://:secret@127.0.0.1:1")
        .await
        .unwrap_err();
    assert!(e.is_transient(), "{e}");
    let text = e.to_string();
    assert!(
        text.contains("127.0.0.1:1") && text.contains("refused") && !text.contains("secret"),
        "{text}"
    );
}

/// A server that accepts the connection and never answers: the connect
/// timeout bounds the wait, and the error says so, naming the server.
#[cfg(all(feature = "postgres", feature = "redis"))]
#[tokio::test]
async fn a_silent_server_is_given_up_after_the_connect_timeout() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let timeout = Duration::from_millis(300);
    let pg = errand::PgStore::connect_with(
        errand::postgres::connect_options(&format!("postgres://postgres@127.0.0.1:{port}/test"))
            .unwrap(),
        errand::postgres::PgOptions {
            connect_timeout: timeout,
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert!(pg.is_transient(), "{pg}");
    let text = pg.to_string();
    assert!(
        text.contains(&format!("127.0.0.1:{port}")) && text.contains("300ms"),
        "{text}"
    );
    let redis = errand::RedisStore::connect_with(
        &format!("redis://127.0.0.1:{port}"),
        errand::redis::RedisOptions {
            connect_timeout: timeout,
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert!(redis.is_transient(), "{redis}");
    assert!(
        redis.to_string().contains(&format!("127.0.0.1:{port}")),
        "{redis}"
    );
    drop(silent);
}

/// An application with both SQL stores imports both extension traits; each
/// enqueues into the store it is given (on PostgreSQL, that store's schema).
#[cfg(feature = "postgres")]
#[tokio::test]
async fn both_transactional_enqueue_traits_work_side_by_side() {
    use errand::{PgEnqueueExt, SqliteEnqueueExt};

    let (sqlite, dir) = store().await;
    let app = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.path().join("jobs.db").display()
    ))
    .await
    .unwrap();
    let mut tx = app.begin().await.unwrap();
    let job = cleanup::enqueue()
        .enqueue_in_sqlite(&sqlite, &mut tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(Client::new(sqlite).get(job.id).await.unwrap().is_some());

    let url = std::env::var("ERRAND_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let schema = format!("errand_first_contact_{}", std::process::id());
    let pg = errand::PgStore::connect_with(
        errand::postgres::connect_options(&url).unwrap(),
        errand::postgres::PgOptions {
            schema: schema.clone(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let mut tx = pg.pool().begin().await.unwrap();
    let job = cleanup::enqueue()
        .enqueue_in_pg(&pg, &mut tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let found = Client::new(pg.clone()).get(job.id).await.unwrap();
    pg.drop_schema().await.unwrap();
    assert_eq!(
        found.map(|j| j.kind),
        Some("cleanup".to_owned()),
        "in schema {schema}"
    );
}

/// A kind written by hand with the longest timeout and backoff there are,
/// a snooze of `Duration::MAX`, a wait of `Duration::MAX`: none panics.
struct Patient;

impl errand::Job for Patient {
    const KIND: &'static str = "patient";
    type Input = u32;
    type Output = u32;

    fn options() -> errand::JobOptions {
        errand::JobOptions {
            timeout: Some(Duration::MAX),
            backoff: Some(errand::Backoff::Exponential {
                base: Duration::MAX,
                max: Duration::MAX,
                jitter: f64::NAN,
            }),
            ..Default::default()
        }
    }

    async fn run(&self, input: u32, ctx: errand::JobContext) -> Result<u32, JobError> {
        match (input, ctx.attempt()) {
            (0, _) => Err(JobError::snooze(Duration::MAX)),
            (1, 1) => Err(JobError::retry("again, some day")),
            (n, _) => Ok(n),
        }
    }
}

#[tokio::test]
async fn the_longest_durations_never_panic() {
    let (store, _dir) = store().await;
    let client = Client::new(store.clone());
    let snoozed = client
        .enqueue(EnqueueBuilder::<Patient>::new(0))
        .await
        .unwrap();
    let retried = client
        .enqueue(EnqueueBuilder::<Patient>::new(1))
        .await
        .unwrap();
    let done = client
        .enqueue(EnqueueBuilder::<Patient>::new(7))
        .await
        .unwrap();
    let worker = Worker::builder(store).register(Patient).build().unwrap();
    let summary = worker.drain().await.unwrap();
    assert_eq!(
        (summary.completed, summary.snoozed, summary.retried),
        (1, 1, 1)
    );
    let latest = errand::validate::latest_time();
    for job in [&snoozed, &retried] {
        let row = job.job().await.unwrap();
        assert_eq!(row.run_at, latest, "a delay past 2199 runs at its end");
    }
    assert_eq!(
        done.wait_timeout(Duration::MAX).await.unwrap(),
        Finished::Completed(7)
    );
}
