//! The conformance suite against every backend of this workspace: every
//! registered case on every backend, and each backend's own tests.

use errand_store_tests::{Factory, backends, trials};

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let probe_worker = option_env!("CARGO_BIN_EXE_errand-probe-worker").map(Into::into);
    let mut all = Vec::new();
    let mut add = |backend: &'static str, factory: Factory| {
        all.extend(trials(backend, factory, Option::clone(&probe_worker)));
    };
    #[cfg(feature = "sqlite")]
    add("sqlite", || Box::pin(backends::sqlite::harness()));
    #[cfg(feature = "postgres")]
    add("postgres", || Box::pin(backends::postgres::harness()));
    #[cfg(feature = "redis")]
    {
        add("redis", || Box::pin(backends::redis::harness()));
        add("redis_cluster", || {
            Box::pin(backends::redis::cluster_harness())
        });
    }
    let _ = &mut add;
    libtest_mimic::run(&args, all).exit();
}
