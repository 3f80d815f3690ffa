//! The conformance suite against every backend of this workspace.

#[cfg(feature = "sqlite")]
mod sqlite {
    errand_store_tests::conformance_suite!(errand_store_tests::backends::sqlite::harness);
}

#[cfg(feature = "redis")]
#[allow(clippy::expect_used)]
mod redis {
    use errand_store_tests::backends::{self, redis, redis_server::RedisServer};

    errand_store_tests::conformance_suite!(errand_store_tests::backends::redis::harness);

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn workers_reconnect_after_the_server_restarts() {
        let server = RedisServer::start().expect("a throwaway Redis server (redis-server)");
        let probe_worker = option_env!("CARGO_BIN_EXE_errand-probe-worker").map(Into::into);
        backends::restart_case(&server, redis::harness_at, probe_worker).await;
    }

    #[tokio::test]
    async fn scripts_are_loaded_again_after_the_server_forgets_them() {
        use errand::NewJob;
        use errand::store::EnqueueParams;
        let h = redis::harness().await;
        let enqueue = || {
            h.store.enqueue(EnqueueParams {
                jobs: vec![NewJob::new("k", serde_json::json!(1))],
                now: chrono::Utc::now(),
                max_input_bytes: 1 << 20,
            })
        };
        let first = enqueue().await.expect("enqueue before the flush");
        let mut conn = redis::connection(&h.url).await;
        let () = ::redis::cmd("SCRIPT")
            .arg("FLUSH")
            .query_async(&mut conn)
            .await
            .expect("SCRIPT FLUSH");
        let second = enqueue()
            .await
            .expect("enqueue after the flush (NOSCRIPT, then load)");
        assert_eq!(second[0].id.0, first[0].id.0 + 1);
        h.finish().await;
    }

    #[tokio::test]
    async fn the_claims_hash_stays_a_hash_table() {
        redis::the_claims_hash_stays_a_hash_table().await;
    }

    #[tokio::test]
    async fn stores_in_another_key_layout_are_refused() {
        let h = redis::harness().await;
        let prefix = h.namespace.clone().expect("Redis harnesses have a prefix");
        let mut conn = redis::connection(&h.url).await;
        let layout: Option<String> = ::redis::cmd("GET")
            .arg(format!("{prefix}:layout"))
            .query_async(&mut conn)
            .await
            .expect("GET layout");
        let current = layout.expect("a new store records its layout");
        assert!(
            redis::open(&h.url, Some(&prefix)).await.is_ok(),
            "same layout"
        );
        // A layout of another version, and one written before the layout key
        // existed (ids but no layout): both refused, naming the prefix.
        for (key, value) in [("layout", "999"), ("seq", "5")] {
            if key == "seq" {
                let () = ::redis::cmd("DEL")
                    .arg(format!("{prefix}:layout"))
                    .query_async(&mut conn)
                    .await
                    .expect("DEL layout");
            }
            let () = ::redis::cmd("SET")
                .arg(format!("{prefix}:{key}"))
                .arg(value)
                .query_async(&mut conn)
                .await
                .expect("SET");
            let Err(e) = redis::open(&h.url, Some(&prefix)).await else {
                panic!("a store with {key} = {value} and no layout {current} was accepted");
            };
            let message = e.to_string();
            assert!(
                message.contains("prefix") && message.contains("layout"),
                "{message}"
            );
        }
        h.finish().await;
    }
}

#[cfg(feature = "redis")]
#[allow(clippy::expect_used)]
mod redis_cluster {
    use errand_store_tests::backends::redis::harness_at;
    use errand_store_tests::backends::redis_cluster::RedisCluster;

    errand_store_tests::conformance_suite!(errand_store_tests::backends::redis::cluster_harness);

    /// The master serving the store's slot dies under running workers; its
    /// replica takes over; no job is lost.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn jobs_survive_a_failover() {
        let cluster =
            RedisCluster::start().expect("a throwaway Redis Cluster (redis-server, redis-cli)");
        let mut h = harness_at(cluster.url()).await;
        h.probe_worker = option_env!("CARGO_BIN_EXE_errand-probe-worker").map(Into::into);
        let jobs_key = format!("{}:jobs", h.namespace.clone().expect("a prefix"));
        errand_store_tests::cases::jobs_survive_a_cluster_failover(
            &h,
            || cluster.replicated(&jobs_key).unwrap_or(false),
            || {
                let (old, new) = cluster.fail_over(&jobs_key).expect("fail over");
                println!("master {old} killed; {new} serves the store's slot");
            },
        )
        .await;
        h.finish().await;
    }
}

#[cfg(feature = "postgres")]
#[allow(clippy::expect_used)]
mod postgres {
    use errand_store_tests::backends::{self, pg_server::PgServer, postgres};

    errand_store_tests::conformance_suite!(errand_store_tests::backends::postgres::harness);

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn workers_reconnect_after_the_server_restarts() {
        let server = PgServer::start().expect("a throwaway PostgreSQL server (initdb, pg_ctl)");
        let probe_worker = option_env!("CARGO_BIN_EXE_errand-probe-worker").map(Into::into);
        backends::restart_case(&server, postgres::harness_at, probe_worker).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn async_workers_recover_forgotten_results_after_a_restart() {
        let server = PgServer::start().expect("a throwaway PostgreSQL server (initdb, pg_ctl)");
        let probe_worker = option_env!("CARGO_BIN_EXE_errand-probe-worker").map(Into::into);
        backends::async_restart_case(&server, postgres::harness_at, probe_worker).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn vacuums_after_vacuum_every_jobs_end() {
        postgres::vacuums_after_vacuum_every_jobs_end().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn transactional_enqueue_reaches_the_stores_schema() {
        postgres::transactional_enqueue_reaches_the_stores_schema().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn queues_sharing_a_hash_are_claimed_apart() {
        postgres::queues_sharing_a_hash_are_claimed_apart().await;
    }
}
