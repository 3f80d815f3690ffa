//! Fresh, isolated stores of each backend for the suite and the crash tests.

use std::sync::Arc;

use errand::{Result, Store};

#[cfg(feature = "postgres")]
pub mod pg_server;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "redis")]
pub mod redis;
#[cfg(feature = "redis")]
pub mod redis_cluster;
#[cfg(feature = "redis")]
pub mod redis_server;
#[cfg(feature = "sqlite")]
pub mod sqlite;

/// A server a test starts for itself and can crash and restart.
pub trait ThrowawayServer: Sync {
    /// The URL of the server.
    fn url(&self) -> String;
    /// Kills the server, leaves it down for `down`, and starts it again on
    /// the same data; returns once it accepts connections.
    fn crash_and_restart(&self, down: std::time::Duration) -> Result<()>;
}

/// The restart case on a throwaway server: `harness` opens a fresh store at
/// the server's URL; `probe_worker` is the worker binary to run.
pub async fn restart_case<S, F, Fut>(
    server: &S,
    harness: F,
    probe_worker: Option<std::path::PathBuf>,
) where
    S: ThrowawayServer,
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = crate::Harness>,
{
    let mut h = harness(server.url()).await;
    h.probe_worker = probe_worker;
    crate::cases::workers_reconnect_after_the_server_restarts(&h, || async {
        // Down for 5 s, as a real crash and restart would be: long enough
        // for every worker's backoff to grow.
        tokio::task::block_in_place(|| server.crash_and_restart(std::time::Duration::from_secs(5)))
            .unwrap_or_else(|e| panic!("restart the throwaway server: {e}"));
    })
    .await;
    h.finish().await;
}

/// The restart scenario with asynchronous PostgreSQL job updates (see
/// [`crate::cases::async_workers_recover_forgotten_results_after_a_restart`]).
pub async fn async_restart_case<S, F, Fut>(
    server: &S,
    harness: F,
    probe_worker: Option<std::path::PathBuf>,
) where
    S: ThrowawayServer,
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = crate::Harness>,
{
    let mut h = harness(server.url()).await;
    h.probe_worker = probe_worker;
    crate::cases::async_workers_recover_forgotten_results_after_a_restart(&h, || async {
        tokio::task::block_in_place(|| server.crash_and_restart(std::time::Duration::from_secs(5)))
            .unwrap_or_else(|e| panic!("restart the throwaway server: {e}"));
    })
    .await;
    h.finish().await;
}

/// Opens the store at `url` (in `namespace`) again, for
/// [`Harness::another`](crate::Harness::another).
pub fn reopen(url: String, namespace: Option<String>) -> crate::harness::Reopen {
    Arc::new(move || {
        let (url, namespace) = (url.clone(), namespace.clone());
        Box::pin(async move { open(&url, namespace.as_deref()).await })
    })
}

/// Opens the store a database URL names, in `namespace` (a schema or key
/// prefix) when given: for worker processes started by tests. PostgreSQL
/// workers use asynchronous job updates under `ERRAND_PROBE_ASYNC_UPDATES=1`.
pub async fn open(url: &str, namespace: Option<&str>) -> Result<Arc<dyn Store>> {
    #[cfg(feature = "postgres")]
    if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        return postgres::open(url, namespace).await;
    }
    let options = errand::ConnectOptions {
        namespace: namespace.map(str::to_owned),
        ..Default::default()
    };
    errand::connect_with(url, options).await
}

/// Registers the `tx_effect` job of the backend a URL names and the gates it
/// needs (for worker processes started by tests).
pub fn with_effect_job(
    url: &str,
    namespace: Option<&str>,
    gates: impl FnOnce(String) -> crate::jobs::EffectGates,
    builder: errand::WorkerBuilder,
) -> errand::WorkerBuilder {
    #[cfg(feature = "sqlite")]
    if url.starts_with("sqlite:") {
        return builder
            .register(sqlite::tx_effect::job())
            .state(gates(sqlite::EFFECTS_TABLE.to_owned()));
    }
    #[cfg(feature = "postgres")]
    if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        return builder
            .register(postgres::tx_effect::job())
            .state(gates(postgres::effects_table(
                namespace.unwrap_or("errand"),
            )));
    }
    let _ = (namespace, gates);
    builder
}
