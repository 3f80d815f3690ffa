//! The conformance suite against every backend of this workspace.

#[cfg(feature = "sqlite")]
mod sqlite {
    errand_store_tests::conformance_suite!(errand_store_tests::backends::sqlite::harness);
}

#[cfg(feature = "redis")]
mod redis {
    errand_store_tests::conformance_suite!(errand_store_tests::backends::redis::harness);
}

#[cfg(feature = "postgres")]
#[allow(clippy::expect_used)]
mod postgres {
    use errand_store_tests::backends::{pg_server::PgServer, postgres};

    errand_store_tests::conformance_suite!(errand_store_tests::backends::postgres::harness);

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn workers_reconnect_after_the_server_restarts() {
        let server = PgServer::start().expect("a throwaway PostgreSQL server (initdb, pg_ctl)");
        let mut h = postgres::harness_at(server.url()).await;
        h.probe_worker = option_env!("CARGO_BIN_EXE_errand-probe-worker").map(Into::into);
        errand_store_tests::cases::workers_reconnect_after_the_server_restarts(&h, || async {
            tokio::task::block_in_place(|| server.crash_and_restart())
                .expect("restart the throwaway server");
        })
        .await;
        h.finish().await;
    }
}
