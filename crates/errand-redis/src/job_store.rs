//! [`JobStore`] for [`RedisStore`]: the hot path of workers.

use crate::rows::{Claim, Fields, Running, SpecRef, micros};
use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use errand_core::store::{
    ClaimParams, EnqueueParams, FinalizeParams, LeaseStatus, Outcome, RenewParams, RescueParams,
    RescueUnheldParams, Wakeup,
};
use errand_core::{Capabilities, Enqueued, Error, JobId, JobRow, NewJob, Result};
use std::collections::HashMap;

use crate::RedisStore;
use crate::store::*;
use errand_core::JobStore;

#[async_trait]
impl JobStore for RedisStore {
    fn backend(&self) -> &'static str {
        "redis"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            transactional_enqueue: false,
            cross_process_wakeup: self.inner.listener.is_some(),
        }
    }

    async fn enqueue(&self, params: EnqueueParams) -> Result<Vec<Enqueued>> {
        for job in &params.jobs {
            job.validate(params.max_input_bytes)?;
        }
        if params.jobs.is_empty() {
            return Ok(Vec::new());
        }
        let now = micros(params.now);
        let mut invocation = self.invocation(&self.inner.scripts.enqueue);
        invocation.arg(now).arg(params.jobs.len());
        for job in &params.jobs {
            push_job(&mut invocation, job, params.now)?;
        }
        let out: Vec<i64> = self.run(&invocation, "enqueue").await?;
        // Workers of this process need not wait for the message's round trip.
        self.inner.wakeup.notify();
        Ok(out
            .chunks(2)
            .map(|pair| Enqueued {
                id: JobId(pair[0]),
                duplicate: pair.get(1) == Some(&1),
            })
            .collect())
    }

    async fn claim(&self, params: ClaimParams) -> Result<Vec<JobRow>> {
        if params.limit == 0 || params.queues.is_empty() || params.kinds.is_empty() {
            return Ok(Vec::new());
        }
        let until = params.lease_until()?;
        let mut invocation = self.invocation(&self.inner.scripts.claim);
        invocation
            .arg(&params.worker)
            .arg(micros(params.now))
            .arg(micros(until))
            .arg(params.limit)
            .arg(params.queues.len());
        for queue in &params.queues {
            invocation
                .arg(&queue.name)
                .arg(queue.cap.map_or(-1, i64::from))
                .arg(u8::from(queue.fair.is_some()))
                .arg(
                    queue
                        .fair
                        .as_ref()
                        .and_then(|turn| turn.after.as_deref())
                        .unwrap_or(""),
                );
        }
        invocation.arg(params.kinds.len());
        for kind in &params.kinds {
            invocation
                .arg(&kind.kind)
                .arg(kind.cap.map_or(-1, i64::from))
                .arg(kind.global_limit.map_or(-1, i64::from));
        }
        invocation.arg(params.paused_tenants.len());
        for tenant in &params.paused_tenants {
            invocation.arg(tenant);
        }
        let limits = &params.tenant_limits;
        invocation
            .arg(limits.each.map_or(-1, i64::from))
            .arg(limits.tenants.len());
        for (tenant, n) in &limits.tenants {
            invocation.arg(tenant).arg(n);
        }
        let out: Vec<redis::Value> = self.run(&invocation, "claim").await?;
        let mut jobs = Vec::with_capacity(out.len() / 6);
        let mut items = out.into_iter();
        let claim = |attempt| Claim {
            attempt,
            started_at: micros(params.now),
            worker: params.worker.clone(),
        };
        let until = micros(until);
        while let (Some(id), Some(attempt)) = (items.next(), items.next()) {
            let id: i64 = parse(id, "claim")?;
            let mut map = HashMap::with_capacity(4);
            for field in ["spec", "errors", "max_attempts", "run_at"] {
                let value = items.next().ok_or_else(|| {
                    Error::backend_msg(format!("unexpected reply to claim: job {id} lacks {field}"))
                })?;
                map.insert(field.to_owned(), parse::<String>(value, "claim")?);
            }
            let running = Running {
                claim: claim(parse(attempt, "claim")?),
                lease_until: Some(until),
                cancel_requested: false,
            };
            jobs.push(Fields::new(id, map).into_row(params.now, Some(running))?);
        }
        Ok(jobs)
    }

    async fn finalize(&self, params: FinalizeParams) -> Result<Vec<bool>> {
        if params.items.is_empty() {
            return Ok(Vec::new());
        }
        let mut invocation = self.invocation(&self.inner.scripts.finalize);
        invocation
            .arg(&params.worker)
            .arg(micros(params.now))
            .arg(params.items.len());
        let mut wakes = false;
        for item in &params.items {
            let (outcome, a, b) = match &item.outcome {
                Outcome::Complete { output } => ("complete", json(output)?, String::new()),
                Outcome::Retry { run_at, error } => {
                    wakes |= *run_at <= params.now;
                    ("retry", micros(*run_at).to_string(), json(error)?)
                }
                Outcome::Fail { error } => ("fail", json(error)?, String::new()),
                Outcome::Cancel { error } => ("cancel", json(error)?, String::new()),
                Outcome::Snooze { run_at } => {
                    wakes |= *run_at <= params.now;
                    ("snooze", micros(*run_at).to_string(), String::new())
                }
                Outcome::Release => {
                    wakes = true;
                    ("snooze", micros(params.now).to_string(), String::new())
                }
            };
            invocation
                .arg(item.id.0)
                .arg(item.attempt)
                .arg(outcome)
                .arg(a)
                .arg(b);
        }
        invocation.arg(u8::from(params.frees_global_slots));
        let applied: Vec<i64> = self.run(&invocation, "finalize").await?;
        if wakes {
            self.inner.wakeup.notify();
        }
        Ok(applied.into_iter().map(|a| a == 1).collect())
    }

    async fn renew_leases(&self, params: RenewParams) -> Result<Vec<LeaseStatus>> {
        if params.jobs.is_empty() {
            return Ok(Vec::new());
        }
        let mut invocation = self.invocation(&self.inner.scripts.renew);
        invocation
            .arg(&params.worker)
            .arg(micros(params.lease_until))
            .arg(params.jobs.len());
        for (id, attempt) in &params.jobs {
            invocation.arg(id.0).arg(*attempt);
        }
        let out: Vec<i64> = self.run(&invocation, "renew").await?;
        Ok(params
            .jobs
            .iter()
            .zip(out.chunks(2))
            .map(|((id, _), status)| LeaseStatus {
                id: *id,
                held: status.first() == Some(&1),
                cancel_requested: status.get(1) == Some(&1),
            })
            .collect())
    }

    async fn rescue(&self, params: RescueParams) -> Result<Vec<JobId>> {
        let mut invocation = self.invocation(&self.inner.scripts.rescue);
        invocation
            .arg(micros(params.now))
            .arg(params.now.to_rfc3339_opts(SecondsFormat::Micros, true));
        let ids: Vec<i64> = self.run(&invocation, "rescue").await?;
        if !ids.is_empty() {
            self.inner.wakeup.notify();
        }
        Ok(ids.into_iter().map(JobId).collect())
    }

    async fn rescue_unheld(&self, params: RescueUnheldParams) -> Result<Vec<JobId>> {
        let mut invocation = self.invocation(&self.inner.scripts.rescue_unheld);
        invocation
            .arg(&params.worker)
            .arg(micros(params.claimed_before))
            .arg(micros(params.now))
            .arg(params.now.to_rfc3339_opts(SecondsFormat::Micros, true));
        for id in &params.held {
            invocation.arg(id.0);
        }
        let ids: Vec<i64> = self.run(&invocation, "rescue_unheld").await?;
        if !ids.is_empty() {
            self.inner.wakeup.notify();
        }
        Ok(ids.into_iter().map(JobId).collect())
    }

    fn subscribe(&self) -> Wakeup {
        self.inner.wakeup.subscribe()
    }
}

/// Adds the `JOB_FIELDS` arguments of one job for `enqueue_jobs` (prelude.lua).
pub(crate) fn push_job(
    invocation: &mut redis::ScriptInvocation<'_>,
    job: &NewJob,
    now: DateTime<Utc>,
) -> Result<()> {
    let (key, scope, until) = match &job.unique {
        None => ("", "", String::new()),
        Some(unique) => (
            unique.key.as_str(),
            unique.scope_name(),
            unique
                .held_until(now)?
                .map(|t| micros(t).to_string())
                .unwrap_or_default(),
        ),
    };
    invocation
        .arg(&job.kind)
        .arg(&job.queue)
        .arg(job.priority)
        .arg(job.tenant.as_deref().unwrap_or(""))
        .arg(job.max_attempts)
        .arg(micros(job.run_at.unwrap_or(now)))
        .arg(key)
        .arg(scope)
        .arg(until)
        .arg(json(&SpecRef::of(job, now))?)
        .arg(job.batch_id.map(|b| b.to_string()).unwrap_or_default());
    Ok(())
}
