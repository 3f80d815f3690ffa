//! The dashboard in a real browser (Debian's chromium, driven by Playwright
//! from `tests/browser/dashboard.mjs`) against SQLite, PostgreSQL and
//! Redis: load the overview, filter jobs, open a failed job, retry it and
//! see it complete, pause a queue, disable a cron entry, cancel a batch.
//! Each step's screenshot is kept in `target/dashboard-screenshots/<store>/`;
//! the read-only walk behind a token (SQLite) in `.../read-only/`.
//!
//! Needs `node`, `chromium` and `npm ci` in `tests/browser`: the test script
//! installs them; a missing one fails the test, naming what to install.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use errand::{Client, JobError, State, Worker};
use errand_admin::{Access, Api};
use serde_json::json;

mod common;
use common::{Backend, store_on};

/// Whether the mail provider is down: the first attempt fails for good,
/// the retry after it is back completes.
#[derive(Default)]
struct Provider {
    down: AtomicBool,
}

#[errand::job(queue = "mail")]
async fn send_email(input: String, provider: State<Provider>) -> Result<(), JobError> {
    if provider.down.load(Ordering::SeqCst) {
        return Err(JobError::fatal(format!("mailbox full for {input}")));
    }
    Ok(())
}

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// Where the screenshots of one store's run go.
fn screenshots(backend: Backend) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("dashboard-screenshots").join(backend.name())
}

/// A running child process, killed when dropped: a failure must not leave
/// a browser behind.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const TOKEN: &str = "browser-test-token";

/// Runs a script of `tests/browser` with node, off the runtime (the server
/// and the worker run on it); panics with its output when it fails.
async fn node(script: &str, args: &[String]) -> String {
    let child = Command::new("node")
        .arg(browser_dir().join(script))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("node must be installed (apt-get install nodejs): {e}"));
    let mut child = Child(child);
    let deadline = Instant::now() + Duration::from_secs(240);
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "{script} took over 4 minutes");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut out = String::new();
    let mut err = String::new();
    use std::io::Read;
    child
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(
        status.success(),
        "{script} {args:?} failed ({status}):\n{out}\n{err}"
    );
    out
}

async fn walk_through(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let store = store_on(backend, dir.path()).await;
    let client = Client::new(store.clone());
    let provider = Arc::new(Provider::default());
    let worker = Worker::builder(store.clone())
        .register(send_email::job())
        .state_arc(provider.clone())
        .queues(["mail"])
        .build()
        .unwrap();

    // A job that failed for good while the provider was down, a batch still
    // waiting, a cron entry.
    provider.down.store(true, Ordering::SeqCst);
    let failed = client
        .enqueue(send_email::enqueue("ann@example.com".into()))
        .await
        .unwrap();
    client
        .enqueue(send_email::enqueue("bob@example.com".into()).queue("default"))
        .await
        .unwrap();
    worker.drain().await.unwrap();
    provider.down.store(false, Ordering::SeqCst);
    let batch = client
        .batch()
        .tenant("acme")
        .jobs((0..3).map(|i| {
            send_email::enqueue(format!("b{i}@example.com")).delay(Duration::from_secs(3600))
        }))
        .enqueue()
        .await
        .unwrap();
    let entry = errand::cron::Entry::new(
        "nightly",
        "send_email",
        json!("ops@example.com"),
        "0 3 * * *",
    )
    .unwrap();
    client.cron().create(entry).await.unwrap();
    client
        .cron()
        .trigger(&errand::cron::Key::new(None, "nightly"))
        .await
        .unwrap();

    let running = worker.start();
    let router = Api::new(client.clone())
        .worker(worker.clone())
        .router(Access::loopback());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, router).await });

    // Read-only behind a token first (on SQLite: the page does not depend
    // on the store), while the failed job is still failed.
    if matches!(backend, Backend::Sqlite) {
        let guarded = Api::new(client.clone()).router(Access::token(TOKEN).unwrap().read_only());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let guarded_addr = listener.local_addr().unwrap();
        let guarded_server = tokio::spawn(async move { axum::serve(listener, guarded).await });
        let shots = screenshots(backend).with_file_name("read-only");
        let _ = std::fs::remove_dir_all(&shots);
        let out = node(
            "readonly.mjs",
            &[
                format!("http://{guarded_addr}/"),
                shots.display().to_string(),
                TOKEN.to_owned(),
                failed.id().0.to_string(),
            ],
        )
        .await;
        println!("{}", out.trim());
        guarded_server.abort();
    }

    let shots = screenshots(backend);
    let _ = std::fs::remove_dir_all(&shots);
    let out = node(
        "dashboard.mjs",
        &[
            format!("http://{addr}/"),
            shots.display().to_string(),
            failed.id().0.to_string(),
            batch.id().0.to_string(),
        ],
    )
    .await;
    println!("{backend:?}: {}", out.trim());

    // What the clicks did, read from the store.
    let job = client.get(failed.id()).await.unwrap().unwrap();
    assert_eq!(job.state, errand::JobState::Completed, "{backend:?}");
    let pauses = client.pauses().await.unwrap();
    assert!(
        pauses
            .iter()
            .any(|p| p.scope == errand::PauseScope::queue("mail")
                && p.note.as_deref() == Some("provider down")),
        "{backend:?}: {pauses:?}"
    );
    let nightly = client
        .cron()
        .get(&errand::cron::Key::new(None, "nightly"))
        .await
        .unwrap()
        .unwrap();
    assert!(!nightly.enabled && nightly.note.as_deref() == Some("maintenance"));
    let status = client.batch_handle(batch.id()).status().await.unwrap();
    assert!(status.cancelled_at.is_some(), "{backend:?}: {status:?}");
    let shots_taken = std::fs::read_dir(&shots).unwrap().count();
    assert!(shots_taken >= 10, "{shots_taken} screenshots");

    server.abort();
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_works_in_a_real_browser_on_every_store() {
    assert!(
        browser_dir().join("node_modules/playwright-core").exists(),
        "run `npm ci` in {} (scripts/test.sh does)",
        browser_dir().display()
    );
    for backend in Backend::ALL {
        walk_through(backend).await;
    }
}
