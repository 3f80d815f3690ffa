//! The errand store conformance suite: every case of `cases/` (each
//! registered once, where it is written, with `case!`) runs on every
//! backend; tests that only one backend can run are registered beside it
//! (`backends/`, with `special!`). `tests/conformance.rs` turns them into
//! trials of a libtest-compatible harness:
//!
//! ```no_run
//! let args = libtest_mimic::Arguments::from_args();
//! let trials = errand_store_tests::trials(
//!     "sqlite",
//!     || Box::pin(errand_store_tests::backends::sqlite::harness()),
//!     None,
//! );
//! libtest_mimic::run(&args, trials).exit();
//! ```

pub mod backends;
pub mod cases;
pub mod harness;
pub mod jobs;

pub use harness::{Harness, OpenTx, TxProbe};

use futures::future::BoxFuture;

/// One conformance case: a rule of the store contract, run on a fresh store.
#[derive(Debug)]
pub struct Case {
    /// The case's name (its function's).
    pub name: &'static str,
    /// Runs it on a harness; panics on a broken rule.
    pub run: for<'a> fn(&'a Harness) -> BoxFuture<'a, ()>,
}

inventory::collect!(Case);

/// A test that only one backend runs (a server of its own to restart, a
/// layout check), registered with that backend's name.
#[derive(Debug)]
pub struct Special {
    /// The backend (`sqlite`, `postgres`, `redis`, `redis_cluster`).
    pub backend: &'static str,
    /// The test's name.
    pub name: &'static str,
    /// Runs it with the probe worker binary, if any; panics on failure.
    pub run: fn(Option<std::path::PathBuf>) -> BoxFuture<'static, ()>,
}

inventory::collect!(Special);

/// Every registered case, by name.
pub fn cases() -> Vec<&'static Case> {
    let mut cases: Vec<&'static Case> = inventory::iter::<Case>.into_iter().collect();
    cases.sort_by_key(|case| case.name);
    cases
}

/// Makes a fresh harness for one case of a backend.
pub type Factory = fn() -> BoxFuture<'static, Harness>;

/// One trial per registered case on `backend` (each on a fresh store from
/// `factory`, in a runtime of its own with two worker threads, as
/// `#[tokio::test(flavor = "multi_thread", worker_threads = 2)]` gives),
/// and one per special test of that backend.
/// `probe_worker` is the `errand-probe-worker` binary that process cases run
/// (`env!("CARGO_BIN_EXE_errand-probe-worker")` in the test target).
pub fn trials(
    backend: &'static str,
    factory: Factory,
    probe_worker: Option<std::path::PathBuf>,
) -> Vec<libtest_mimic::Trial> {
    let mut trials: Vec<libtest_mimic::Trial> = cases()
        .into_iter()
        .map(|case| {
            let probe_worker = probe_worker.clone();
            let name = format!("{backend}::{}", case.name);
            libtest_mimic::Trial::ignorable_test(name, move || {
                let skipped = runtime()?.block_on(async {
                    let mut harness = factory().await;
                    harness.probe_worker = probe_worker;
                    (case.run)(&harness).await;
                    let skipped = harness.skip_reason();
                    harness.finish().await;
                    skipped
                });
                Ok(match skipped {
                    Some(reason) => libtest_mimic::Completion::ignored_with(reason),
                    None => libtest_mimic::Completion::Completed,
                })
            })
        })
        .collect();
    let mut specials: Vec<&'static Special> = inventory::iter::<Special>
        .into_iter()
        .filter(|s| s.backend == backend)
        .collect();
    specials.sort_by_key(|s| s.name);
    trials.extend(specials.into_iter().map(|special| {
        let probe_worker = probe_worker.clone();
        libtest_mimic::Trial::test(format!("{backend}::{}", special.name), move || {
            runtime()?.block_on((special.run)(probe_worker));
            Ok(())
        })
    }));
    trials
}

fn runtime() -> Result<tokio::runtime::Runtime, libtest_mimic::Failed> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("a tokio runtime: {e}").into())
}

/// Registers a test that only `backend` runs.
#[macro_export]
macro_rules! special {
    ($backend:literal, $name:ident) => {
        inventory::submit! {
            $crate::Special {
                backend: $backend,
                name: stringify!($name),
                run: |probe_worker| Box::pin($name(probe_worker)),
            }
        }
    };
}
