use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use errand_core::store::WakeupSender;
use errand_core::{Error, JobRow, Result};
use tokio::task::JoinHandle;

use crate::connection::{Connection, Target};
use crate::error::redis_error;
use crate::layout::check_layout;
use crate::listener::listen;
use crate::options::{RedisOptions, validate_prefix};
use crate::rows::{Claim, Fields, Running};
use crate::scripts::Scripts;

/// Jobs read per round trip when counting them for `stats`.
pub(crate) const STATS_PAGE: usize = 1000;

/// Longest wait for an answer before the connection counts as lost.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);

/// errand's store on Redis or Valkey: every state change is one atomic Lua
/// script, so many worker processes can share one server.
///
/// ```no_run
/// # async fn demo() -> errand_core::Result<()> {
/// use errand_redis::{RedisOptions, RedisStore};
/// let store = RedisStore::connect_with(
///     "redis://127.0.0.1:6379",
///     RedisOptions { prefix: "{billing}".into(), ..RedisOptions::default() },
/// )
/// .await?;
/// # let _ = store; Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) conn: Connection,
    pub(crate) prefix: String,
    pub(crate) scripts: Scripts,
    pub(crate) wakeup: Arc<WakeupSender>,
    pub(crate) listener: Option<JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(listener) = &self.listener {
            listener.abort();
        }
    }
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.inner.prefix)
            .finish_non_exhaustive()
    }
}

pub(crate) fn json<T: serde::Serialize>(value: &T) -> Result<String> {
    Ok(serde_json::to_string(value)?)
}

pub(crate) fn parse<T: redis::FromRedisValue>(value: redis::Value, what: &str) -> Result<T> {
    redis::from_redis_value(value)
        .map_err(|e| Error::backend_msg(format!("unexpected reply to {what}: {e}")))
}

impl RedisStore {
    /// The URL schemes this store takes.
    pub const SCHEMES: &'static [&'static str] = &[
        "redis",
        "rediss",
        "valkey",
        "valkeys",
        "redis+unix",
        "unix",
        "redis+cluster",
        "rediss+cluster",
    ];

    /// Connects to a `redis://` (or `rediss://`, `valkey://`) URL with the default prefix `{errand}`.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, RedisOptions::default()).await
    }

    /// Connects with explicit options. One connection is opened first, so
    /// that a refused or failed connection is reported at once, naming the
    /// server (the store's own connection would retry it).
    pub async fn connect_with(url: &str, options: RedisOptions) -> Result<Self> {
        validate_prefix(&options.prefix)?;
        errand_core::validate::duration(
            "connect_timeout",
            options.connect_timeout,
            Duration::from_millis(1),
            Duration::from_secs(3600),
        )?;
        errand_core::validate::url_scheme(url, Self::SCHEMES)?;
        let shown = errand_core::validate::redact_url(url);
        let target = Target::parse(url)?;
        let nodes = target
            .nodes()
            .iter()
            .map(|node| redis::Client::open(node.as_str()))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::invalid("database_url", &shown, e.to_string()))?;
        let cannot =
            |e: redis::RedisError| redis_error(e).context(format!("cannot connect to {shown}"));
        let first = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(options.connect_timeout))
            .set_response_timeout(Some(options.connect_timeout));
        match &target {
            Target::Single(_) => {
                let mut probe = nodes[0]
                    .get_multiplexed_async_connection_with_config(&first)
                    .await
                    .map_err(cannot)?;
                check_layout(&mut probe, &options.prefix)
                    .await
                    .map_err(|e| e.context(format!("at {shown}")))?;
            }
            Target::Cluster(_) => {
                // The cluster connection reaches the seeds once, at once.
                let mut probe = tokio::time::timeout(
                    options.connect_timeout,
                    Connection::open(&target, options.connect_timeout, options.connect_timeout),
                )
                .await
                .map_err(|_| Error::Unavailable {
                    message: format!(
                        "cannot connect to {shown}: no answer within {:?} (RedisOptions::connect_timeout)",
                        options.connect_timeout
                    ),
                    source: None,
                })?
                .map_err(cannot)?;
                check_layout(&mut probe, &options.prefix)
                    .await
                    .map_err(|e| e.context(format!("at {shown}")))?;
            }
        }
        // A bulk enqueue of many thousand jobs is one script that may run for
        // a second or more on a busy server: answers may take that long.
        let conn = Connection::open(&target, options.connect_timeout, RESPONSE_TIMEOUT)
            .await
            .map_err(cannot)?;
        let wakeup = Arc::new(WakeupSender::default());
        let listener = options.listen.then(|| {
            tokio::spawn(listen(
                nodes,
                format!("{}:wake", options.prefix),
                Arc::clone(&wakeup),
            ))
        });
        Ok(RedisStore {
            inner: Arc::new(Inner {
                conn,
                prefix: options.prefix,
                scripts: Scripts::new(),
                wakeup,
                listener,
            }),
        })
    }

    /// The key prefix of this store.
    pub fn prefix(&self) -> &str {
        &self.inner.prefix
    }

    /// Deletes every key under this store's prefix: for tests and benchmarks
    /// that made a store of their own. Returns how many keys went.
    pub async fn clear(&self) -> Result<u64> {
        let mut conn = self.inner.conn.clone();
        if conn.is_cluster() {
            return self.clear_slot(&mut conn).await;
        }
        let pattern = format!("{}:*", self.inner.prefix);
        let mut cursor: u64 = 0;
        let mut deleted = 0;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut conn)
                .await
                .map_err(redis_error)?;
            if !keys.is_empty() {
                let n: u64 = redis::cmd("UNLINK")
                    .arg(&keys)
                    .query_async(&mut conn)
                    .await
                    .map_err(redis_error)?;
                deleted += n;
            }
            if next == 0 {
                return Ok(deleted);
            }
            cursor = next;
        }
    }

    /// `clear` in a cluster: a SCAN would visit one random node, but every
    /// key of the store is in the slot of its hash tag, on one node.
    pub(crate) async fn clear_slot(&self, conn: &mut Connection) -> Result<u64> {
        let jobs = self.key("jobs");
        let slot: u16 = redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(&jobs)
            .query_async(conn)
            .await
            .map_err(redis_error)?;
        let prefix = format!("{}:", self.inner.prefix);
        let mut deleted = 0;
        loop {
            let mut list = redis::cmd("CLUSTER");
            list.arg("GETKEYSINSLOT").arg(slot).arg(1000);
            let keys: Vec<String> =
                redis::from_redis_value(conn.on_slot(slot, list).await.map_err(redis_error)?)
                    .map_err(|e| {
                        Error::backend_msg(format!(
                            "unexpected reply to CLUSTER GETKEYSINSLOT: {e}"
                        ))
                    })?;
            // Other stores may share the slot (same hash tag): only ours go.
            let ours: Vec<&String> = keys.iter().filter(|k| k.starts_with(&prefix)).collect();
            if ours.is_empty() {
                return Ok(deleted);
            }
            for key in ours {
                let n: u64 = redis::cmd("UNLINK")
                    .arg(key)
                    .query_async(conn)
                    .await
                    .map_err(redis_error)?;
                deleted += n;
            }
        }
    }

    pub(crate) fn key(&self, name: &str) -> String {
        format!("{}:{name}", self.inner.prefix)
    }

    /// Up to `count` members of the sorted set `key` scored below `max`
    /// (a `ZRANGE` bound: `+inf`, or `(id`), highest score first: a page
    /// of ids, newest first.
    pub(crate) async fn newest_ids(&self, key: &str, max: &str, count: usize) -> Result<Vec<i64>> {
        let mut conn = self.inner.conn.clone();
        redis::cmd("ZRANGE")
            .arg(key)
            .arg(max)
            .arg("-inf")
            .arg("BYSCORE")
            .arg("REV")
            .arg("LIMIT")
            .arg(0)
            .arg(count)
            .query_async(&mut conn)
            .await
            .map_err(redis_error)
    }

    pub(crate) fn invocation<'a>(
        &'a self,
        script: &'a redis::Script,
    ) -> redis::ScriptInvocation<'a> {
        let mut invocation = script.prepare_invoke();
        invocation
            .key(self.key("jobs"))
            .arg(&self.inner.prefix)
            .arg(self.inner.wakeup.origin());
        invocation
    }

    pub(crate) async fn run<T: redis::FromRedisValue>(
        &self,
        invocation: &redis::ScriptInvocation<'_>,
        what: &str,
    ) -> Result<T> {
        let mut conn = self.inner.conn.clone();
        let value: redis::Value = invocation
            .invoke_async(&mut conn)
            .await
            .map_err(redis_error)?;
        parse(value, what)
    }

    pub(crate) async fn rows(&self, ids: &[i64], now: DateTime<Utc>) -> Result<Vec<JobRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in ids {
            pipe.hgetall(self.key(&format!("job:{id}")))
                .hget(self.key("claims"), id)
                .zscore(self.key("running"), id)
                .sismember(self.key("cancel"), id);
        }
        let mut conn = self.inner.conn.clone();
        type Read = (HashMap<String, String>, Option<String>, Option<f64>, bool);
        let reads: Vec<Read> = pipe.query_async(&mut conn).await.map_err(redis_error)?;
        let mut rows = Vec::with_capacity(ids.len());
        for (id, (map, claim, lease, cancel)) in ids.iter().zip(reads) {
            // A job deleted since its id was read has an empty hash.
            if map.is_empty() {
                continue;
            }
            let running = claim
                .map(|record| -> Result<Running> {
                    Ok(Running {
                        claim: Claim::parse(*id, &record)?,
                        // Scores are whole microseconds, exact in an f64.
                        #[allow(clippy::cast_possible_truncation)]
                        lease_until: lease.map(|l| l as i64),
                        cancel_requested: cancel,
                    })
                })
                .transpose()?;
            rows.push(Fields::new(*id, map).into_row(now, running)?);
        }
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::validate_prefix;

    #[test]
    pub(crate) fn prefixes_need_a_hash_tag_and_no_glob_characters() {
        assert!(validate_prefix("{errand}").is_ok());
        assert!(validate_prefix("app:{jobs}:v1").is_ok());
        for bad in [
            "",
            "errand",
            "{}",
            "{errand",
            "{err and}",
            "{errand}*",
            "a\nb{x}",
        ] {
            match validate_prefix(bad) {
                Ok(()) => panic!("{bad:?} was accepted"),
                Err(e) => assert!(e.to_string().contains("prefix"), "{bad:?}: {e}"),
            }
        }
    }
}
