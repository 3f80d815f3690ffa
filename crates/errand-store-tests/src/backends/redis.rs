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
