//! [`WorkerRegistry`] for [`RedisStore`]: heartbeats in the hash
//! `<P>:workers`, one field per worker name holding its heartbeat as JSON.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use errand_core::Result;
use errand_core::store::{WorkerBeat, WorkerRegistry};

use crate::RedisStore;
use crate::error::redis_error;

#[async_trait]
impl WorkerRegistry for RedisStore {
    async fn beat(&self, beat: WorkerBeat) -> Result<()> {
        beat.validate()?;
        let text = beat.to_json()?;
        let mut conn = self.inner.conn.clone();
        redis::cmd("HSET")
            .arg(self.key("workers"))
            .arg(&beat.name)
            .arg(text)
            .query_async::<()>(&mut conn)
            .await
            .map_err(redis_error)
    }

    async fn workers(&self) -> Result<Vec<WorkerBeat>> {
        let mut conn = self.inner.conn.clone();
        let fields: Vec<(String, String)> = redis::cmd("HGETALL")
            .arg(self.key("workers"))
            .query_async(&mut conn)
            .await
            .map_err(redis_error)?;
        let mut beats = fields
            .iter()
            .map(|(_, text)| WorkerBeat::from_json(text))
            .collect::<Result<Vec<_>>>()?;
        beats.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(beats)
    }

    async fn leave(&self, name: &str) -> Result<bool> {
        let mut conn = self.inner.conn.clone();
        let removed: i64 = redis::cmd("HDEL")
            .arg(self.key("workers"))
            .arg(name)
            .query_async(&mut conn)
            .await
            .map_err(redis_error)?;
        Ok(removed > 0)
    }

    async fn forget_workers(&self, beat_before: DateTime<Utc>) -> Result<u64> {
        // Read, then delete the stale ones: a worker that beats again in
        // between loses one heartbeat, which its next beat writes back.
        let stale: Vec<String> = self
            .workers()
            .await?
            .into_iter()
            .filter(|beat| beat.beat_at < beat_before)
            .map(|beat| beat.name)
            .collect();
        if stale.is_empty() {
            return Ok(0);
        }
        let mut conn = self.inner.conn.clone();
        let removed: u64 = redis::cmd("HDEL")
            .arg(self.key("workers"))
            .arg(&stale)
            .query_async(&mut conn)
            .await
            .map_err(redis_error)?;
        Ok(removed)
    }
}
