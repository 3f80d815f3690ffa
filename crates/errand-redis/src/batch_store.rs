//! [`BatchStore`] for [`RedisStore`]: one hash per batch (`<P>:batch:<id>`),
//! whose counts every script that changes a batch job's state moves, and
//! which the script ending its last job finishes (see `prelude.lua`).

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use errand_core::store::{
    AppendParams, Batch, BatchCancelOutcome, BatchCounts, BatchCreated, BatchId, BatchStore,
    CONTINUES_META, CancelBatchParams, Continuation, ContinueOn, CreateBatchParams,
    ListBatchesParams, MAX_BATCH_PAGE, PruneBatchesParams, batch_cancelled, batch_finished,
    batch_not_found, validate_batch_jobs,
};
use errand_core::{Enqueued, Error, JobId, NewJob, Result, validate};
use serde_json::json;

use crate::RedisStore;
use crate::error::redis_error;
use crate::job_store::push_job;
use crate::rows::{SpecRef, micros};
use crate::store::json;

/// The stored continuations: per continuation its `on`, then the fields of
/// `enqueue_jobs` in the order of `push_job`, as strings. run_at and the
/// spec's created_at are set when the batch finishes.
fn stored_continuations(
    id: BatchId,
    continuations: &[Continuation],
    now: DateTime<Utc>,
) -> Result<String> {
    let mut rows = Vec::with_capacity(continuations.len());
    for continuation in continuations {
        let mut job = continuation.job.clone();
        job.meta.insert(CONTINUES_META.to_owned(), id.0.to_string());
        rows.push(json!([
            continuation.on.as_str(),
            job.kind,
            job.queue,
            job.priority.to_string(),
            job.tenant.clone().unwrap_or_default(),
            job.max_attempts.to_string(),
            "",
            "",
            "",
            "",
            json(&SpecRef::of(&job, now))?,
            "",
        ]));
    }
    json(&rows)
}

fn enqueued(pairs: &[i64]) -> Vec<Enqueued> {
    pairs
        .chunks(2)
        .map(|pair| Enqueued {
            id: JobId(pair[0]),
            duplicate: pair.get(1) == Some(&1),
        })
        .collect()
}

fn with_batch(jobs: Vec<NewJob>, id: BatchId) -> Vec<NewJob> {
    jobs.into_iter()
        .map(|mut job| {
            job.batch_id = Some(id.0);
            job
        })
        .collect()
}

fn batch_of(id: BatchId, map: &HashMap<String, String>) -> Result<Batch> {
    let corrupt = |field: &str, why: String| {
        Error::backend_msg(format!("batch {id}: stored {field} is unreadable: {why}"))
    };
    let int = |field: &str| -> Result<Option<i64>> {
        map.get(field)
            .map(|v| v.parse::<i64>().map_err(|e| corrupt(field, e.to_string())))
            .transpose()
    };
    let count = |field: &str| -> Result<u64> {
        let value = int(field)?.unwrap_or(0);
        u64::try_from(value).map_err(|_| corrupt(field, format!("{value} is negative")))
    };
    let time = |field: &str| -> Result<Option<DateTime<Utc>>> {
        int(field)?
            .map(|us| {
                DateTime::from_timestamp_micros(us)
                    .ok_or_else(|| corrupt(field, format!("{us} is out of range")))
            })
            .transpose()
    };
    let counts = BatchCounts {
        total: count("total")?,
        waiting: count("waiting")?,
        running: count("running")?,
        completed: count("completed")?,
        failed: count("failed")?,
        cancelled: count("cancelled")?,
    };
    #[derive(serde::Deserialize)]
    struct Stored {
        on: ContinueOn,
        kind: String,
    }
    let stored: Vec<Stored> =
        serde_json::from_str(map.get("continuations").map_or("[]", String::as_str))
            .map_err(|e| corrupt("continuations", e.to_string()))?;
    let continuations: Vec<(ContinueOn, String)> =
        stored.into_iter().map(|s| (s.on, s.kind)).collect();
    let finished_at = time("finished_at")?;
    Ok(Batch {
        id,
        tenant: map.get("tenant").cloned(),
        counts,
        sealed: map.get("sealed").is_some_and(|v| v == "1"),
        created_at: time("created_at")?.ok_or_else(|| corrupt("created_at", "missing".into()))?,
        cancelled_at: time("cancelled_at")?,
        finished_at,
        continuations: Batch::continuation_statuses(&continuations, &counts, finished_at.is_some()),
    })
}

#[async_trait]
impl BatchStore for RedisStore {
    async fn create_batch(&self, params: CreateBatchParams) -> Result<BatchCreated> {
        params.batch.validate(params.max_input_bytes)?;
        validate_batch_jobs(&params.jobs, params.max_input_bytes)?;
        // The id comes first: continuations carry it in their meta.
        let mut conn = self.inner.conn.clone();
        let id: i64 = redis::cmd("INCR")
            .arg(self.key("batch_seq"))
            .query_async(&mut conn)
            .await
            .map_err(redis_error)?;
        let id = BatchId(id);
        let statuses: Vec<serde_json::Value> = params
            .batch
            .continuations
            .iter()
            .map(|c| json!({"on": c.on, "kind": c.job.kind}))
            .collect();
        let jobs = with_batch(params.jobs, id);
        let mut invocation = self.invocation(&self.inner.scripts.batch_create);
        invocation
            .arg(micros(params.now))
            .arg(id.0)
            .arg(params.batch.tenant.as_deref().unwrap_or(""))
            .arg(u8::from(params.batch.sealed))
            .arg(json(&statuses)?)
            .arg(stored_continuations(
                id,
                &params.batch.continuations,
                params.now,
            )?)
            .arg(jobs.len());
        for job in &jobs {
            push_job(&mut invocation, job, params.now)?;
        }
        let out: Vec<i64> = self.run(&invocation, "create batch").await?;
        self.inner.wakeup.notify();
        Ok(BatchCreated {
            id,
            jobs: enqueued(&out),
        })
    }

    async fn append_to_batch(&self, params: AppendParams) -> Result<Vec<Enqueued>> {
        validate_batch_jobs(&params.jobs, params.max_input_bytes)?;
        let jobs = with_batch(params.jobs, params.id);
        let mut invocation = self.invocation(&self.inner.scripts.batch_append);
        invocation
            .arg(micros(params.now))
            .arg(params.id.0)
            .arg(u8::from(params.seal))
            .arg(jobs.len());
        for job in &jobs {
            push_job(&mut invocation, job, params.now)?;
        }
        let out: Vec<i64> = self.run(&invocation, "append to batch").await?;
        match out.first() {
            Some(0) => {
                self.inner.wakeup.notify();
                Ok(enqueued(&out[1..]))
            }
            Some(2) => Err(batch_finished(params.id)),
            Some(3) => Err(batch_cancelled(params.id)),
            _ => Err(batch_not_found(params.id)),
        }
    }

    async fn batch(&self, id: BatchId) -> Result<Option<Batch>> {
        let mut conn = self.inner.conn.clone();
        let map: HashMap<String, String> = redis::cmd("HGETALL")
            .arg(self.key(&format!("batch:{id}")))
            .query_async(&mut conn)
            .await
            .map_err(redis_error)?;
        if map.is_empty() {
            return Ok(None);
        }
        batch_of(id, &map).map(Some)
    }

    async fn cancel_batch(&self, params: CancelBatchParams) -> Result<BatchCancelOutcome> {
        let mut invocation = self.invocation(&self.inner.scripts.batch_cancel);
        invocation.arg(micros(params.now)).arg(params.id.0);
        let out: (i64, u64, u64, u64) = self.run(&invocation, "cancel batch").await?;
        if out.0 == 0 {
            return Err(batch_not_found(params.id));
        }
        // The batch may have finished, its continuations enqueued.
        self.inner.wakeup.notify();
        Ok(BatchCancelOutcome {
            cancelled: out.1,
            signalled: out.2,
            finished: out.3,
        })
    }

    async fn list_batches(&self, params: ListBatchesParams) -> Result<Vec<Batch>> {
        params.validate()?;
        let index = match &params.tenant {
            Some(tenant) => self.key(&format!("tenant_batches:{tenant}")),
            None => self.key("batches"),
        };
        let limit = params.limit as usize;
        let mut max = params
            .before_id
            .map_or_else(|| "+inf".to_owned(), |id| format!("({id}"));
        let mut conn = self.inner.conn.clone();
        let mut found = Vec::with_capacity(limit.min(128));
        // A batch pruned between reading its id and its hash is skipped,
        // and the page filled from further down.
        while found.len() < limit {
            let ids = self.newest_ids(&index, &max, limit - found.len()).await?;
            let Some(last) = ids.last() else { break };
            max = format!("({last}");
            found.extend(self.read_batches(&mut conn, &ids).await?);
        }
        Ok(found)
    }

    async fn prune_batches(&self, params: PruneBatchesParams) -> Result<Vec<BatchId>> {
        params.validate()?;
        let mut invocation = self.invocation(&self.inner.scripts.batch_prune);
        invocation
            .arg(micros(params.finished_before))
            .arg(params.limit);
        let ids: Vec<i64> = self.run(&invocation, "prune batches").await?;
        Ok(ids.into_iter().map(BatchId).collect())
    }

    async fn take_finished_batches(&self, limit: u32) -> Result<Vec<Batch>> {
        validate::page_limit("limit", limit, MAX_BATCH_PAGE)?;
        let mut invocation = self.invocation(&self.inner.scripts.batch_take_finished);
        invocation.arg(limit);
        let ids: Vec<i64> = self.run(&invocation, "take finished batches").await?;
        let mut batches = self
            .read_batches(&mut self.inner.conn.clone(), &ids)
            .await?;
        Batch::sort_by_end(&mut batches);
        Ok(batches)
    }
}

impl RedisStore {
    /// The batches of `ids` in that order; one pruned meanwhile is left out.
    async fn read_batches(
        &self,
        conn: &mut crate::connection::Connection,
        ids: &[i64],
    ) -> Result<Vec<Batch>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in ids {
            pipe.hgetall(self.key(&format!("batch:{id}")));
        }
        let maps: Vec<HashMap<String, String>> =
            pipe.query_async(conn).await.map_err(redis_error)?;
        ids.iter()
            .zip(maps)
            .filter(|(_, map)| !map.is_empty())
            .map(|(id, map)| batch_of(BatchId(*id), &map))
            .collect()
    }
}
