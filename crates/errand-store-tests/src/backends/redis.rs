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
    Harness {
        store: Arc::new(store),
        url,
        namespace: Some(prefix),
        tx: None,
        probe_worker: None,
        guard: Box::new(()),
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
pub async fn the_claims_hash_stays_a_hash_table() {
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
