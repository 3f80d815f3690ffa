//! Redis: every harness gets its own key prefix on the test server, whose keys
//! are deleted when its case passes.

use std::sync::Arc;

use errand::{Result, Store};
use errand_redis::{RedisOptions, RedisStore};

use crate::Harness;

/// The test server: `ERRAND_TEST_REDIS_URL`, else the local default.
pub fn url() -> String {
    std::env::var("ERRAND_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// The test cluster: `ERRAND_TEST_REDIS_CLUSTER_URL`, else the local default
/// that the test script starts (127.0.0.1:7000-7005).
pub fn cluster_url() -> String {
    std::env::var("ERRAND_TEST_REDIS_CLUSTER_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002".to_owned())
}

/// A new store under a new key prefix of the test cluster; the prefixes of
/// the cases hash to slots of every master.
pub async fn cluster_harness() -> Harness {
    harness_at(cluster_url()).await
}

/// Opens a store on `url` under `prefix` (default `{errand}`).
pub async fn open(url: &str, prefix: Option<&str>) -> Result<Arc<dyn Store>> {
    let options = RedisOptions {
        prefix: prefix.unwrap_or(errand_redis::DEFAULT_PREFIX).to_owned(),
        ..RedisOptions::default()
    };
    Ok(Arc::new(RedisStore::connect_with(url, options).await?))
}

/// A new store under a new, non-default key prefix of the test server.
pub async fn harness() -> Harness {
    harness_at(url()).await
}

/// A new store under a new key prefix of the server at `url`.
pub async fn harness_at(url: String) -> Harness {
    let prefix = format!("errand-test:{{{:016x}}}", fastrand::u64(..));
    let options = RedisOptions {
        prefix: prefix.clone(),
        ..RedisOptions::default()
    };
    let store = RedisStore::connect_with(&url, options)
        .await
        .unwrap_or_else(|e| panic!("Redis at {url} is required for these tests: {e}"));
    let cleanup_store = store.clone();
    let reopen = super::reopen(url.clone(), Some(prefix.clone()));
    Harness {
        store: Arc::new(store),
        url,
        namespace: Some(prefix),
        tx: None,
        probe_worker: None,
        guard: Box::new(()),
        reopen: Some(reopen),
        skipped: Default::default(),
        cleanup: Some(Box::new(move || {
            Box::pin(async move {
                if let Err(e) = cleanup_store.clear().await {
                    println!(
                        "could not delete the keys of {}: {e}",
                        cleanup_store.prefix()
                    );
                }
            })
        })),
    }
}

/// A connection of its own to the server at `url`, for a case that reads
/// keys behind the store's back.
pub async fn connection(url: &str) -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(url).unwrap_or_else(|e| panic!("Redis URL {url}: {e}"));
    client
        .get_multiplexed_async_connection()
        .await
        .unwrap_or_else(|e| panic!("connect to Redis at {url}: {e}"))
}

/// A hash of few, short fields is a packed list in Redis, in which every
/// field is found by walking the list: `<prefix>:claims` (a field per
/// running job) must stay a hash table, with jobs running and without.
pub async fn the_claims_hash_stays_a_hash_table(_: Option<std::path::PathBuf>) {
    use crate::cases::{claim, completions, enqueue, job, t0};
    use errand::store::FinalizeParams;

    let h = harness().await;
    let prefix = h.namespace.clone().unwrap_or_default();
    let mut conn = connection(&h.url).await;
    let mut encoding = redis::cmd("OBJECT");
    encoding.arg("ENCODING").arg(format!("{prefix}:claims"));
    let now = t0();
    enqueue(&h, vec![job("k"), job("k"), job("k")], now).await;
    let claimed = claim(&h, "w", &["k"], 3, now).await;
    assert_eq!(claimed.len(), 3);
    let running: Option<String> = encoding
        .query_async(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("OBJECT ENCODING: {e}"));
    assert_eq!(running.as_deref(), Some("hashtable"));
    let Ok(applied) = h
        .store
        .finalize(FinalizeParams {
            frees_global_slots: false,
            worker: "w".into(),
            items: completions(&claimed),
            now,
        })
        .await
    else {
        panic!("finalize");
    };
    assert_eq!(applied, vec![true; 3]);
    let idle: Option<String> = encoding
        .query_async(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("OBJECT ENCODING: {e}"));
    assert_eq!(idle.as_deref(), Some("hashtable"), "with no job running");
    h.finish().await;
}

crate::special!("redis", the_claims_hash_stays_a_hash_table);

/// Workers live through a crash and restart of a throwaway Redis server.
pub async fn workers_reconnect_after_the_server_restarts(probe_worker: Option<std::path::PathBuf>) {
    let server = super::redis_server::RedisServer::start()
        .unwrap_or_else(|e| panic!("a throwaway Redis server (redis-server): {e}"));
    super::restart_case(&server, harness_at, probe_worker).await;
}

crate::special!("redis", workers_reconnect_after_the_server_restarts);

/// A server that forgot the scripts (SCRIPT FLUSH, a restart) gets them again.
pub async fn scripts_are_loaded_again_after_the_server_forgets_them(_: Option<std::path::PathBuf>) {
    use errand::NewJob;
    use errand::store::EnqueueParams;
    let h = harness().await;
    let enqueue = || {
        h.store.enqueue(EnqueueParams {
            jobs: vec![NewJob::new("k", serde_json::json!(1))],
            now: chrono::Utc::now(),
            max_input_bytes: 1 << 20,
        })
    };
    let first = enqueue()
        .await
        .unwrap_or_else(|e| panic!("enqueue before the flush: {e}"));
    let mut conn = connection(&h.url).await;
    let () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query_async(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("SCRIPT FLUSH: {e}"));
    let second = enqueue()
        .await
        .unwrap_or_else(|e| panic!("enqueue after the flush (NOSCRIPT, then load): {e}"));
    assert_eq!(second[0].id.0, first[0].id.0 + 1);
    h.finish().await;
}

crate::special!(
    "redis",
    scripts_are_loaded_again_after_the_server_forgets_them
);

/// A store written in another key layout is refused, naming the prefix.
pub async fn stores_in_another_key_layout_are_refused(_: Option<std::path::PathBuf>) {
    let h = harness().await;
    let prefix = h
        .namespace
        .clone()
        .unwrap_or_else(|| panic!("Redis harnesses have a prefix"));
    let mut conn = connection(&h.url).await;
    let layout: Option<String> = redis::cmd("GET")
        .arg(format!("{prefix}:layout"))
        .query_async(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("GET layout: {e}"));
    let current = layout.unwrap_or_else(|| panic!("a new store records its layout"));
    assert!(open(&h.url, Some(&prefix)).await.is_ok(), "same layout");
    // The layout before per-tenant keys, a layout of another version, and
    // one written before the layout key existed (ids but no layout): all
    // refused, naming the prefix.
    for (key, value) in [("layout", "2"), ("layout", "999"), ("seq", "5")] {
        if key == "seq" {
            let () = redis::cmd("DEL")
                .arg(format!("{prefix}:layout"))
                .query_async(&mut conn)
                .await
                .unwrap_or_else(|e| panic!("DEL layout: {e}"));
        }
        let () = redis::cmd("SET")
            .arg(format!("{prefix}:{key}"))
            .arg(value)
            .query_async(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("SET: {e}"));
        let Err(e) = open(&h.url, Some(&prefix)).await else {
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

crate::special!("redis", stores_in_another_key_layout_are_refused);

/// A store of layout 4, whose jobs are in none of the sets that listings
/// by kind, queue, tenant, unique key and error text walk, is brought to
/// the current layout when opened: every job is put into those sets, and
/// each listing gives what it gave before.
pub async fn a_layout_4_store_is_brought_to_the_current_layout(_: Option<std::path::PathBuf>) {
    use errand::{JobId, ListParams, NewJob, Unique};

    let h = harness().await;
    let prefix = h
        .namespace
        .clone()
        .unwrap_or_else(|| panic!("Redis harnesses have a prefix"));
    let now = crate::cases::t0();
    crate::cases::admin::finish_jobs_of_every_kind(&h, now).await;
    let keyed = NewJob {
        unique: Some(Unique::forever("invoice-9")),
        ..crate::cases::job("other")
    };
    crate::cases::enqueue(&h, vec![keyed], now).await;
    let filters = [
        ListParams {
            kind: Some("k".into()),
            ..Default::default()
        },
        ListParams {
            queue: Some("mail".into()),
            ..Default::default()
        },
        ListParams {
            tenant: Some("acme".into()),
            ..Default::default()
        },
        ListParams {
            unique_key: Some("invoice-9".into()),
            ..Default::default()
        },
        ListParams {
            error_contains: Some("no".into()),
            ..Default::default()
        },
    ];
    let listings = |store: Arc<dyn Store>| {
        let filters = filters.clone();
        async move {
            let mut all = Vec::new();
            for params in filters {
                let rows = store
                    .list(ListParams {
                        limit: 100,
                        now,
                        ..params
                    })
                    .await
                    .unwrap_or_else(|e| panic!("list: {e}"));
                all.push(rows.iter().map(|r| r.id).collect::<Vec<JobId>>());
            }
            all
        }
    };
    let before = listings(Arc::clone(&h.store)).await;
    assert!(before.iter().all(|ids| !ids.is_empty()), "{before:?}");
    // Back to layout 4: the listing sets gone.
    let mut conn = connection(&h.url).await;
    let mut gone: Vec<String> = Vec::new();
    for pattern in [
        "kind_jobs:*",
        "queue_jobs:*",
        "tenant_jobs:*",
        "key_jobs:*",
        "erred",
    ] {
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}:{pattern}"))
            .query_async(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("KEYS: {e}"));
        gone.extend(keys);
    }
    assert!(gone.len() >= 5, "the store keeps listing sets: {gone:?}");
    let () = redis::cmd("DEL")
        .arg(&gone)
        .query_async(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("DEL: {e}"));
    let () = redis::cmd("SET")
        .arg(format!("{prefix}:layout"))
        .arg(4)
        .query_async(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("SET layout: {e}"));
    assert!(
        listings(Arc::clone(&h.store))
            .await
            .iter()
            .all(Vec::is_empty),
        "without its sets a listing finds nothing"
    );
    let reopened = open(&h.url, Some(&prefix))
        .await
        .unwrap_or_else(|e| panic!("a layout-4 store opens: {e}"));
    let layout: String = redis::cmd("GET")
        .arg(format!("{prefix}:layout"))
        .query_async(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("GET layout: {e}"));
    assert_ne!(layout, "4", "the store is marked with the current layout");
    assert_eq!(listings(reopened).await, before);
    h.finish().await;
}

crate::special!("redis", a_layout_4_store_is_brought_to_the_current_layout);

/// The master serving the store's slot dies under running workers; its
/// replica takes over; no job is lost (a throwaway cluster of its own).
pub async fn jobs_survive_a_failover(probe_worker: Option<std::path::PathBuf>) {
    let cluster = super::redis_cluster::RedisCluster::start()
        .unwrap_or_else(|e| panic!("a throwaway Redis Cluster (redis-server, redis-cli): {e}"));
    let mut h = harness_at(cluster.url()).await;
    h.probe_worker = probe_worker;
    let jobs_key = format!(
        "{}:jobs",
        h.namespace.clone().unwrap_or_else(|| panic!("a prefix"))
    );
    crate::cases::jobs_survive_a_cluster_failover(
        &h,
        || cluster.replicated(&jobs_key).unwrap_or(false),
        || {
            let (old, new) = cluster
                .fail_over(&jobs_key)
                .unwrap_or_else(|e| panic!("fail over: {e}"));
            println!("master {old} killed; {new} serves the store's slot");
        },
    )
    .await;
    h.finish().await;
}

crate::special!("redis_cluster", jobs_survive_a_failover);
