//! [`JobStore`] for [`PgStore`]: the hot path of workers.

use crate::enqueue::insert_jobs;
use crate::error::db_error;
use crate::rows::{job_row, pairs};
use crate::transaction::PgTxSource;
use async_trait::async_trait;
use errand_core::store::{
    ClaimParams, ClaimPlan, EnqueueParams, FinalizeGroups, FinalizeParams, LeaseStatus,
    RenewParams, RescueParams, RescueUnheldParams, Wakeup, order_as_picked,
};
use errand_core::{Capabilities, Enqueued, JobId, JobRow, Result, StateMap};
use errand_sql::EnqueuePlan;
use serde_json::json;
use std::collections::HashSet;

use crate::PgStore;
use errand_core::JobStore;

#[async_trait]
impl JobStore for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            transactional_enqueue: true,
            cross_process_wakeup: true,
        }
    }

    async fn enqueue(&self, params: EnqueueParams) -> Result<Vec<Enqueued>> {
        for job in &params.jobs {
            job.validate(params.max_input_bytes)?;
        }
        if params.jobs.is_empty() {
            return Ok(Vec::new());
        }
        // These connections defer the insert trigger's notification to
        // `notify`, which coalesces those of concurrent enqueues.
        let plan = EnqueuePlan::new(&params.jobs);
        let results = if plan.single_statement() {
            let mut conn = self.inner.enqueue.acquire().await.map_err(db_error)?;
            insert_jobs(&mut conn, &self.inner.q, &params.jobs, plan, params.now).await?
        } else {
            let mut tx = self.inner.enqueue.begin().await.map_err(db_error)?;
            let results =
                insert_jobs(&mut tx, &self.inner.q, &params.jobs, plan, params.now).await?;
            tx.commit().await.map_err(db_error)?;
            results
        };
        self.notify();
        Ok(results)
    }

    async fn claim(&self, params: ClaimParams) -> Result<Vec<JobRow>> {
        if params.limit == 0 || params.queues.is_empty() || params.kinds.is_empty() {
            return Ok(Vec::new());
        }
        let until = params.lease_until()?;
        if !ClaimPlan::limited(&params) {
            return self.claim_unlimited(&params, until).await;
        }
        let q = &self.inner.q;
        let mut tx = self.inner.jobs.begin().await.map_err(db_error)?;
        let mut plan = ClaimPlan::new(&params);
        let global = plan.globally_limited();
        if !global.is_empty() {
            // One claimer at a time per globally limited kind: count, then claim.
            sqlx::query(q.lock_kinds.clone())
                .bind(&global)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
            let rows = sqlx::query(q.claim_running_counts.clone())
                .bind(&global)
                .fetch_all(&mut *tx)
                .await
                .map_err(db_error)?;
            plan.limit_globally(pairs::<String, i64>(&rows)?);
        }
        let mut claimed: Vec<JobRow> = Vec::new();
        while let Some(ask) = plan.next_ask() {
            let rows = sqlx::query(q.claim_candidates.clone())
                .bind(ask.queue)
                .bind(params.now)
                .bind(&ask.kinds)
                .bind(i64::from(ask.limit))
                .fetch_all(&mut *tx)
                .await
                .map_err(db_error)?;
            let candidates = pairs::<i64, String>(&rows)?;
            let picked = plan.pick(candidates.iter().map(|(id, kind)| (*id, kind.as_str())));
            if picked.is_empty() {
                continue;
            }
            let rows = sqlx::query(q.claim_mark.clone())
                .bind(&picked)
                .bind(&params.worker)
                .bind(params.now)
                .bind(until)
                .fetch_all(&mut *tx)
                .await
                .map_err(db_error)?;
            let mut marked = rows
                .iter()
                .map(|row| job_row(row, params.now))
                .collect::<Result<Vec<_>>>()?;
            order_as_picked(&picked, &mut marked);
            claimed.extend(marked);
        }
        tx.commit().await.map_err(db_error)?;
        Ok(claimed)
    }

    async fn finalize(&self, params: FinalizeParams) -> Result<Vec<bool>> {
        if params.items.is_empty() {
            return Ok(Vec::new());
        }
        let now = params.now;
        let FinalizeGroups {
            complete,
            retry,
            fail,
            cancel,
            snooze,
            wakes,
        } = FinalizeGroups::of(&params.items, now, |t| json!(t));
        let q = &self.inner.q;
        // Each statement ends its attempts independently of the others.
        let batches = [
            (&q.finalize_complete, complete, None),
            (&q.finalize_retry, retry, None),
            (&q.finalize_end, fail, Some("failed")),
            (&q.finalize_end, cancel, Some("cancelled")),
            (&q.finalize_snooze, snooze, None),
        ];
        let mut applied: HashSet<i64> = HashSet::new();
        for (sql, items, end_state) in batches {
            if items.is_empty() {
                continue;
            }
            let mut query = sqlx::query_scalar::<_, i64>(sql.clone())
                .bind(serde_json::Value::Array(items))
                .bind(&params.worker)
                .bind(now);
            if let Some(state) = end_state {
                query = query.bind(state);
            }
            applied.extend(query.fetch_all(&self.inner.jobs).await.map_err(db_error)?);
        }
        // An end under a global limit frees a slot that workers of other
        // processes may wait for.
        if wakes || (params.frees_global_slots && !applied.is_empty()) {
            self.notify();
        }
        self.ended(applied.len());
        Ok(params
            .items
            .iter()
            .map(|item| applied.contains(&item.id.0))
            .collect())
    }

    async fn renew_leases(&self, params: RenewParams) -> Result<Vec<LeaseStatus>> {
        if params.jobs.is_empty() {
            return Ok(Vec::new());
        }
        let payload: Vec<serde_json::Value> = params
            .jobs
            .iter()
            .map(|(id, attempt)| json!({"id": id.0, "attempt": attempt}))
            .collect();
        let rows = sqlx::query(self.inner.q.renew_leases.clone())
            .bind(serde_json::Value::Array(payload))
            .bind(&params.worker)
            .bind(params.lease_until)
            .fetch_all(&self.inner.jobs)
            .await
            .map_err(db_error)?;
        let held = rows
            .iter()
            .map(|row| {
                let (id, attempt, cancel): (i64, i32, bool) =
                    sqlx::FromRow::from_row(row).map_err(db_error)?;
                Ok((id, i64::from(attempt), cancel))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(LeaseStatus::of_held(&params.jobs, held))
    }

    async fn rescue(&self, params: RescueParams) -> Result<Vec<JobId>> {
        let ids: Vec<i64> = sqlx::query_scalar(self.inner.q.rescue.clone())
            .bind(params.now)
            .fetch_all(&self.inner.jobs)
            .await
            .map_err(db_error)?;
        if !ids.is_empty() {
            self.notify();
        }
        Ok(ids.into_iter().map(JobId).collect())
    }

    async fn rescue_unheld(&self, params: RescueUnheldParams) -> Result<Vec<JobId>> {
        let held: Vec<i64> = params.held.iter().map(|id| id.0).collect();
        // On the durable pool: a rescue must not be forgotten by a crash
        // that the worker would not notice.
        let ids: Vec<i64> = sqlx::query_scalar(self.inner.q.rescue_unheld.clone())
            .bind(&params.worker)
            .bind(held)
            .bind(params.claimed_before)
            .bind(params.now)
            .fetch_all(&self.inner.pool)
            .await
            .map_err(db_error)?;
        if !ids.is_empty() {
            self.notify();
        }
        Ok(ids.into_iter().map(JobId).collect())
    }

    fn subscribe(&self) -> Wakeup {
        self.inner.wakeup.subscribe()
    }

    fn provide(&self, states: &mut StateMap) {
        states.insert(PgTxSource {
            store: self.clone(),
        });
    }

    fn services(&self) -> Vec<std::sync::Arc<dyn errand_core::maintenance::Service>> {
        vec![std::sync::Arc::new(crate::maintenance::Vacuum {
            store: self.clone(),
        })]
    }
}
