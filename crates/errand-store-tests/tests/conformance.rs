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
        use errand::{EnqueueParams, NewJob, Store};
        let h = redis::harness().await;
        let enqueue = || {
            h.store.enqueue(EnqueueParams {
                jobs: vec![NewJob::new("k", serde_json::json!(1))],
                now: chrono::Utc::now(),
                max_input_bytes: 1 << 20,
            })
        };
        let first = enqueue().await.expect("enqueue before the flush");
        let client = ::redis::Client::open(h.url.as_str()).expect("redis URL");
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .expect("connect");
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

    /// A hash of few, short fields is a packed list in Redis, in which every
    /// field is found by walking the list: `<prefix>:claims` (a field per
    /// running job) must stay a hash table, with jobs running and without.
    #[tokio::test]
    async fn the_claims_hash_stays_a_hash_table() {
        use errand::{
            ClaimParams, EnqueueParams, FinalizeItem, FinalizeParams, KindClaim, NewJob, Outcome,
            QueueClaim, Store,
        };
        let h = redis::harness().await;
        let prefix = h.namespace.clone().expect("Redis harnesses have a prefix");
        let client = ::redis::Client::open(h.url.as_str()).expect("redis URL");
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .expect("connect");
        let now = chrono::Utc::now();
        h.store
            .enqueue(EnqueueParams {
                jobs: (0..3)
                    .map(|n| NewJob::new("k", serde_json::json!(n)))
                    .collect(),
                now,
                max_input_bytes: 1 << 20,
            })
            .await
            .expect("enqueue");
        let claimed = h
            .store
            .claim(ClaimParams {
                worker: "w".into(),
                queues: vec![QueueClaim {
                    name: "default".into(),
                    cap: None,
                }],
                kinds: vec![KindClaim {
                    kind: "k".into(),
                    cap: None,
                    global_limit: None,
                }],
                limit: 3,
                lease: std::time::Duration::from_secs(30),
                now,
            })
            .await
            .expect("claim");
        assert_eq!(claimed.len(), 3);
        let key = format!("{prefix}:claims");
        let encoding = ::redis::cmd("OBJECT").arg("ENCODING").arg(&key).clone();
        assert_eq!(
            encoding
                .query_async::<Option<String>>(&mut conn)
                .await
                .expect("OBJECT ENCODING")
                .as_deref(),
            Some("hashtable")
        );
        let items = claimed
            .iter()
            .map(|job| FinalizeItem {
                id: job.id,
                attempt: job.attempt,
                outcome: Outcome::Complete {
                    output: serde_json::Value::Null,
                },
            })
            .collect();
        let applied = h
            .store
            .finalize(FinalizeParams {
                worker: "w".into(),
                items,
                now,
            })
            .await
            .expect("finalize");
        assert_eq!(applied, vec![true; 3]);
        assert_eq!(
            encoding
                .query_async::<Option<String>>(&mut conn)
                .await
                .expect("OBJECT ENCODING")
                .as_deref(),
            Some("hashtable"),
            "with no job running"
        );
        h.finish().await;
    }

    #[tokio::test]
    async fn stores_in_another_key_layout_are_refused() {
        let h = redis::harness().await;
        let prefix = h.namespace.clone().expect("Redis harnesses have a prefix");
        let client = ::redis::Client::open(h.url.as_str()).expect("redis URL");
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .expect("connect");
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
    async fn vacuums_after_vacuum_every_jobs_end() {
        postgres::vacuums_after_vacuum_every_jobs_end().await;
    }
}
