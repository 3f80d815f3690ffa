//! [`JobAdmin`] for [`RedisStore`]: reading and managing jobs.

use crate::error::redis_error;
use crate::rows::micros;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use errand_core::store::{CancelParams, DeleteParams, GetParams, RetryParams, StatsParams};
use errand_core::{
    CancelOutcome, Error, JobId, JobRow, JobState, ListParams, Result, StateCount, Stats,
};
use std::collections::BTreeMap;

use crate::RedisStore;
use crate::store::*;
use errand_core::JobAdmin;
use errand_core::store::*;

#[async_trait]
impl JobAdmin for RedisStore {
    async fn get(&self, params: GetParams) -> Result<Option<JobRow>> {
        Ok(self.rows(&[params.id.0], params.now).await?.pop())
    }

    async fn list(&self, params: ListParams) -> Result<Vec<JobRow>> {
        let limit = usize::try_from(params.limit).unwrap_or(usize::MAX);
        let mut found = Vec::new();
        // Newest first, a page of ids at a time, until enough rows match.
        let mut max = params
            .before_id
            .map_or_else(|| "+inf".to_owned(), |id| format!("({}", id.0));
        let mut conn = self.inner.conn.clone();
        // ASCII letters in either case, as the SQL stores compare.
        let needle = params
            .error_contains
            .as_deref()
            .map(str::to_ascii_lowercase);
        // Each filter's jobs are in keys of their own (see `index_job` in
        // prelude.lua): walk the one `walk` picks instead of every job.
        // Running and waiting jobs, and a batch's, are read whole, then
        // sorted; the others are sorted sets walked a step at a time.
        let walk = params.walk();
        let mut few = match walk {
            ListWalk::Running => {
                let ids: Vec<String> = redis::cmd("HKEYS")
                    .arg(self.key("claims"))
                    .query_async(&mut conn)
                    .await
                    .map_err(redis_error)?;
                Some(newest_below(
                    ids.iter().filter_map(|id| id.parse().ok()),
                    &params,
                ))
            }
            ListWalk::Waiting => Some(newest_below(self.waiting_ids().await?.into_iter(), &params)),
            ListWalk::Batch(batch) => {
                let ids: Vec<i64> = redis::cmd("SMEMBERS")
                    .arg(self.key(&format!("batch_jobs:{batch}")))
                    .query_async(&mut conn)
                    .await
                    .map_err(redis_error)?;
                Some(newest_below(ids.into_iter(), &params))
            }
            _ => None,
        };
        let walked = match walk {
            ListWalk::Ended(state) => self.key(&format!("ended:{}", state.as_str())),
            ListWalk::UniqueKey(key) => self.key(&format!("key_jobs:{key}")),
            ListWalk::Errors => self.key("erred"),
            ListWalk::Kind(kind) => self.key(&format!("kind_jobs:{kind}")),
            ListWalk::Tenant(tenant) => self.key(&format!("tenant_jobs:{tenant}")),
            ListWalk::Queue(queue) => self.key(&format!("queue_jobs:{queue}")),
            _ => self.key("jobs"),
        };
        // Without a filter the first rows are the page: read no more than it.
        let unfiltered = params.kind.is_none()
            && params.queue.is_none()
            && params.tenant.is_none()
            && params.batch_id.is_none()
            && params.unique_key.is_none()
            && params.state.is_none()
            && needle.is_none();
        let step = if unfiltered { limit.clamp(1, 500) } else { 500 };
        while found.len() < limit {
            let ids: Vec<i64> = match few.as_mut() {
                Some(ids) => ids.by_ref().take(step).collect(),
                None => self.newest_ids(&walked, &max, step).await?,
            };
            let Some(last) = ids.last() else { break };
            max = format!("({last}");
            for row in self.rows(&ids, params.now).await? {
                let keep = params.kind.as_ref().is_none_or(|k| *k == row.kind)
                    && params.queue.as_ref().is_none_or(|q| *q == row.queue)
                    && params
                        .tenant
                        .as_ref()
                        .is_none_or(|t| row.tenant.as_ref() == Some(t))
                    && params.batch_id.is_none_or(|b| row.batch_id == Some(b))
                    && params
                        .unique_key
                        .as_ref()
                        .is_none_or(|u| row.unique_key.as_ref() == Some(u))
                    && params.state.is_none_or(|s| s == row.state)
                    && needle.as_ref().is_none_or(|text| {
                        row.errors
                            .iter()
                            .any(|e| e.message.to_ascii_lowercase().contains(text.as_str()))
                    });
                if keep && found.len() < limit {
                    found.push(row);
                }
            }
        }
        Ok(found)
    }

    async fn cancel(&self, params: CancelParams) -> Result<CancelOutcome> {
        if params.ids.is_empty() {
            return Ok(CancelOutcome::default());
        }
        let mut invocation = self.invocation(&self.inner.scripts.cancel);
        invocation.arg(micros(params.now));
        for id in &params.ids {
            invocation.arg(id.0);
        }
        type Reply = (Vec<i64>, Vec<i64>, Vec<i64>, Vec<String>, Vec<i64>);
        let (cancelled, requested, finished, states, missing): Reply =
            self.run(&invocation, "cancel").await?;
        let finished = finished
            .into_iter()
            .zip(states)
            .map(|(id, state)| {
                let state = JobState::of_stored(&state, params.now, 0, params.now)?;
                Ok((JobId(id), state))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(CancelOutcome {
            cancelled: cancelled.into_iter().map(JobId).collect(),
            requested: requested.into_iter().map(JobId).collect(),
            finished,
            missing: missing.into_iter().map(JobId).collect(),
        })
    }

    async fn retry(&self, params: RetryParams) -> Result<()> {
        let mut invocation = self.invocation(&self.inner.scripts.retry);
        invocation.arg(params.id.0).arg(micros(params.now));
        let reply: Vec<String> = self.run(&invocation, "retry").await?;
        match reply.iter().map(String::as_str).collect::<Vec<_>>()[..] {
            ["done"] => {
                self.inner.wakeup.notify();
                Ok(())
            }
            ["missing"] => params.check(None),
            ["taken"] => Err(params.key_taken()),
            ["state", stored, run_at, attempt] => {
                let run_at = run_at
                    .parse()
                    .ok()
                    .and_then(DateTime::from_timestamp_micros)
                    .ok_or_else(|| {
                        Error::backend_msg(format!(
                            "job {}: stored run_at {run_at:?} is unreadable",
                            params.id
                        ))
                    })?;
                let attempt = attempt.parse().unwrap_or(0);
                params.check(Some(JobState::of_stored(
                    stored, run_at, attempt, params.now,
                )?))
            }
            _ => Err(Error::backend_msg(format!(
                "unexpected reply to retry: {reply:?}"
            ))),
        }
    }

    async fn stats(&self, params: StatsParams) -> Result<Stats> {
        // Ordered by queue, state name, then tenant (none first), as the
        // other stores order them.
        type Key = (String, &'static str, Option<String>);
        let mut counts: BTreeMap<Key, (JobState, u64)> = BTreeMap::new();
        let per_tenant = params.per_tenant;
        let mut add = |queue: String, state: JobState, of: &str, n: u64| {
            let of = (per_tenant && !of.is_empty()).then(|| of.to_owned());
            counts
                .entry((queue, state.as_str(), of))
                .or_insert((state, 0))
                .1 += n;
        };
        let tenant = params.tenant.as_deref().unwrap_or("");
        let mut invocation = self.invocation(&self.inner.scripts.stats);
        invocation
            .arg(tenant)
            .arg(if per_tenant { "1" } else { "0" });
        type Read = (
            Vec<(String, i64)>,
            Vec<(String, String, u64)>,
            Vec<(String, String)>,
        );
        let (finished, due, running): Read = self.run(&invocation, "stats").await?;
        for (field, n) in finished {
            let mut parts = field.splitn(3, ' ');
            let (Some(queue), Some(state), Some(of)) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(Error::backend_msg(format!(
                    "finished count {field:?} is not '<queue> <state> <tenant>'"
                )));
            };
            if params.tenant.is_none() || of == tenant {
                add(
                    queue.to_owned(),
                    state.parse()?,
                    of,
                    u64::try_from(n).unwrap_or(0),
                );
            }
        }
        for (queue, of, n) in due {
            add(queue, JobState::Available, &of, n);
        }
        for (queue, of) in running {
            if params.tenant.is_none() || of == tenant {
                add(queue, JobState::Running, &of, 1);
            }
        }
        // Jobs not yet due when placed, in pages of short reads: a script
        // reading every one would hold the server for as long.
        let mut conn = self.inner.conn.clone();
        // Paged by rank: a job placed or promoted meanwhile may shift a page
        // by one, as in any moment's view taken while jobs move.
        let mut start = 0;
        loop {
            let page: Vec<i64> = redis::cmd("ZRANGE")
                .arg(self.key("scheduled"))
                .arg(start)
                .arg(start + STATS_PAGE - 1)
                .query_async(&mut conn)
                .await
                .map_err(redis_error)?;
            if page.is_empty() {
                break;
            }
            start += STATS_PAGE;
            let mut pipe = redis::pipe();
            for id in &page {
                pipe.cmd("HMGET")
                    .arg(self.key(&format!("job:{id}")))
                    .arg(&["queue", "state", "run_at", "attempt", "tenant"]);
            }
            type Job = (
                Option<String>,
                Option<String>,
                Option<i64>,
                Option<u32>,
                Option<String>,
            );
            let jobs: Vec<Job> = pipe.query_async(&mut conn).await.map_err(redis_error)?;
            for (queue, state, run_at, attempt, of) in jobs {
                // A job deleted or claimed since its id was read is counted
                // elsewhere, or not at all.
                let (Some(queue), Some("available")) = (queue, state.as_deref()) else {
                    continue;
                };
                if params.tenant.is_some() && of.as_deref() != params.tenant.as_deref() {
                    continue;
                }
                let run_at = run_at
                    .and_then(DateTime::from_timestamp_micros)
                    .unwrap_or(params.now);
                add(
                    queue,
                    JobState::of_waiting(run_at, attempt.unwrap_or(0), params.now),
                    of.as_deref().unwrap_or(""),
                    1,
                );
            }
            if page.len() < STATS_PAGE {
                break;
            }
        }
        let counts = counts
            .into_iter()
            .map(|((queue, _, tenant), (state, count))| StateCount {
                queue,
                state,
                tenant,
                count,
            })
            .collect();
        Ok(Stats { counts })
    }

    async fn delete(&self, params: DeleteParams) -> Result<()> {
        let mut invocation = self.invocation(&self.inner.scripts.delete);
        invocation.arg(params.id.0);
        let done: i64 = self.run(&invocation, "delete").await?;
        match done {
            1 => Ok(()),
            0 => params.check(None),
            _ => params.check(Some(JobState::Running)),
        }
    }

    async fn reschedule(&self, params: RescheduleParams) -> Result<JobRow> {
        params.validate()?;
        // The spec carries the queue and the priority too: rewritten here,
        // where its numbers keep every digit (Lua's JSON would round them).
        let spec = if params.queue.is_some() || params.priority.is_some() {
            let mut conn = self.inner.conn.clone();
            let stored: Option<String> = redis::cmd("HGET")
                .arg(self.key(&format!("job:{}", params.id)))
                .arg("spec")
                .query_async(&mut conn)
                .await
                .map_err(redis_error)?;
            match stored {
                None => return Err(Error::job_not_found(params.id)),
                Some(stored) => {
                    let mut spec: serde_json::Value = serde_json::from_str(&stored)?;
                    if let Some(queue) = &params.queue {
                        spec["queue"] = queue.clone().into();
                    }
                    if let Some(priority) = params.priority {
                        spec["priority"] = priority.into();
                    }
                    spec.to_string()
                }
            }
        } else {
            String::new()
        };
        let mut invocation = self.invocation(&self.inner.scripts.reschedule);
        invocation
            .arg(params.id.0)
            .arg(micros(params.now))
            .arg(
                params
                    .run_at
                    .map(|at| micros(at).to_string())
                    .unwrap_or_default(),
            )
            .arg(params.priority.map(|p| p.to_string()).unwrap_or_default())
            .arg(params.queue.clone().unwrap_or_default())
            .arg(spec);
        let reply: Vec<String> = self.run(&invocation, "reschedule").await?;
        match reply.iter().map(String::as_str).collect::<Vec<_>>()[..] {
            ["done"] => {}
            ["missing"] => params.check(None)?,
            ["state", stored, run_at, attempt] => {
                let run_at = run_at
                    .parse()
                    .ok()
                    .and_then(DateTime::from_timestamp_micros)
                    .unwrap_or(params.now);
                let attempt = attempt.parse().unwrap_or(0);
                params.check(Some(JobState::of_stored(
                    stored, run_at, attempt, params.now,
                )?))?;
            }
            _ => {
                return Err(Error::backend_msg(format!(
                    "unexpected reply to reschedule: {reply:?}"
                )));
            }
        }
        if params.run_at.is_some_and(|at| at <= params.now) {
            self.inner.wakeup.notify();
        }
        self.rows(&[params.id.0], params.now)
            .await?
            .pop()
            .ok_or_else(|| Error::job_not_found(params.id))
    }

    async fn prune(&self, params: PruneParams) -> Result<PruneOutcome> {
        params.validate()?;
        let mut invocation = self.invocation(&self.inner.scripts.prune);
        invocation
            .arg(params.state.as_str())
            .arg(micros(params.finished_before))
            .arg(params.after.map_or(0, |id| id.0))
            .arg(params.limit);
        let (deleted, last): (Vec<i64>, i64) = self.run(&invocation, "prune").await?;
        Ok(PruneOutcome {
            deleted: deleted.into_iter().map(JobId).collect(),
            next: (last > 0).then_some(JobId(last)),
        })
    }

    async fn queue_depths(&self, _now: DateTime<Utc>) -> Result<Vec<QueueDepth>> {
        // Wait sets hold the jobs due when a claim last promoted scheduled
        // ones: they stand for the jobs due now.
        let invocation = self.invocation(&self.inner.scripts.queue_depths);
        let mut rows: Vec<(String, u64, i64)> = self.run(&invocation, "queue depths").await?;
        // A set keeps no order; the contract orders by queue.
        rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        rows.into_iter()
            .map(|(queue, due, oldest)| {
                let oldest_due_at = DateTime::from_timestamp_micros(oldest).ok_or_else(|| {
                    Error::backend_msg(format!(
                        "queue {queue}: stored run_at {oldest} is out of range"
                    ))
                })?;
                Ok(QueueDepth {
                    queue,
                    due,
                    oldest_due_at: Some(oldest_due_at),
                })
            })
            .collect()
    }
}

/// The ids below the page's bound, newest first.
fn newest_below(ids: impl Iterator<Item = i64>, params: &ListParams) -> std::vec::IntoIter<i64> {
    let mut ids: Vec<i64> = ids
        .filter(|id| *id > 0 && params.before_id.is_none_or(|b| *id < b.0))
        .collect();
    ids.sort_unstable_by(|a, b| b.cmp(a));
    ids.into_iter()
}

impl RedisStore {
    /// The ids of every waiting job: the due ones in their queues' wait
    /// sets (the id is characters 17 to 36 of a member, see `member` in
    /// prelude.lua), the others in the schedule.
    async fn waiting_ids(&self) -> Result<Vec<i64>> {
        let mut conn = self.inner.conn.clone();
        let queues: Vec<String> = redis::cmd("SMEMBERS")
            .arg(self.key("queues"))
            .query_async(&mut conn)
            .await
            .map_err(redis_error)?;
        let mut pipe = redis::pipe();
        for queue in &queues {
            pipe.cmd("ZRANGE")
                .arg(self.key(&format!("wait:{queue}")))
                .arg(0)
                .arg(-1);
        }
        let due: Vec<Vec<String>> = if queues.is_empty() {
            Vec::new()
        } else {
            pipe.query_async(&mut conn).await.map_err(redis_error)?
        };
        let mut ids: Vec<i64> = redis::cmd("ZRANGE")
            .arg(self.key("scheduled"))
            .arg(0)
            .arg(-1)
            .query_async(&mut conn)
            .await
            .map_err(redis_error)?;
        for member in due.iter().flatten() {
            let id = member
                .get(16..36)
                .and_then(|digits| digits.parse::<i64>().ok());
            ids.extend(id);
        }
        Ok(ids)
    }
}
