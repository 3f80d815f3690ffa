//! The spans errand opens, as a tracing subscriber sees them: one per
//! attempt, one per store call, whatever the backend (they come from the
//! runtime and its one store wrapper, not from the backends).
#![cfg(feature = "sqlite")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::{Arc, Mutex};

use errand::{Client, JobError, SqliteStore, Worker};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

#[errand::job]
async fn ping() -> Result<(), JobError> {
    Ok(())
}

/// A span's fields as text, by name.
type FieldList = Vec<(String, String)>;

/// Every span opened: its name and its fields.
#[derive(Clone, Default)]
struct Spans(Arc<Mutex<Vec<(String, FieldList)>>>);

struct Fields(FieldList);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name().to_owned(), value.to_owned()));
    }
}

impl<S: tracing::Subscriber> Layer<S> for Spans {
    fn on_new_span(&self, attrs: &Attributes<'_>, _id: &Id, _ctx: Context<'_, S>) {
        let mut fields = Fields(Vec::new());
        attrs.record(&mut fields);
        self.0
            .lock()
            .unwrap()
            .push((attrs.metadata().name().to_owned(), fields.0));
    }
}

impl Spans {
    fn named(&self, name: &str) -> Vec<FieldList> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, fields)| fields.clone())
            .collect()
    }
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn attempts_and_store_calls_have_spans() {
    let spans = Spans::default();
    let subscriber = tracing_subscriber::registry()
        .with(spans.clone())
        .with(tracing_subscriber::filter::LevelFilter::DEBUG);
    let _guard = tracing::subscriber::set_default(subscriber);

    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("jobs.db")).await.unwrap();
    let job = Client::new(store.clone())
        .enqueue(ping::enqueue().tenant("acme"))
        .await
        .unwrap();
    let summary = Worker::builder(store)
        .register(ping::job())
        .build()
        .unwrap()
        .drain()
        .await
        .unwrap();
    assert_eq!(summary.completed, 1);

    let attempts = spans.named("errand.job");
    assert_eq!(attempts.len(), 1, "one span per attempt");
    let attempt = &attempts[0];
    assert_eq!(field(attempt, "kind"), Some("ping"));
    assert_eq!(field(attempt, "id"), Some(job.id().0.to_string().as_str()));
    assert_eq!(field(attempt, "attempt"), Some("1"));
    assert_eq!(field(attempt, "queue"), Some("default"));
    assert_eq!(field(attempt, "tenant"), Some("acme"));

    let calls = spans.named("errand.store");
    let ops: Vec<&str> = calls.iter().filter_map(|c| field(c, "op")).collect();
    for op in ["enqueue", "claim", "finalize"] {
        assert!(ops.contains(&op), "a span for {op}: {ops:?}");
    }
    assert!(
        calls.iter().all(|c| field(c, "backend") == Some("sqlite")),
        "each names its backend: {calls:?}"
    );
}
