//! [`JobStore`] for [`PgStore`]: the hot path of workers.

use crate::enqueue::insert_jobs;
use crate::error::db_error;
use crate::rows::{candidates, job_row, pairs};
use crate::transaction::PgTxSource;
use async_trait::async_trait;
use errand_core::store::{
    Ask, ClaimParams, ClaimPlan, EnqueueParams, FinalizeGroups, FinalizeParams, FinalizeStep,
    LeaseStatus, RenewParams, RescueParams, RescueUnheldParams, Wakeup,
};
use errand_core::{Capabilities, Enqueued, JobId, JobRow, Result, StateMap};
use errand_sql::{EnqueuePlan, LimitedClaim, claim_limited};
use serde_json::json;
use std::collections::HashSet;

use crate::PgStore;
use crate::queries::Queries;
use chrono::{DateTime, Utc};
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
        let mut tx = self.inner.jobs.begin().await.map_err(db_error)?;
        let claimed = claim_limited(
            &params,
            &mut PgClaim {
                tx: &mut tx,
                q: &self.inner.q,
                params: &params,
                until,
                heads_planned: false,
            },
        )
        .await?;
        tx.commit().await.map_err(db_error)?;
        Ok(claimed)
    }

    async fn finalize(&self, params: FinalizeParams) -> Result<Vec<bool>> {
        if params.items.is_empty() {
            return Ok(Vec::new());
        }
        let now = params.now;
        let groups = FinalizeGroups::of(&params.items, now, |t| json!(t));
        let wakes = groups.wakes;
        let q = &self.inner.q;
        let mut applied: HashSet<i64> = HashSet::new();
        // A batch job's end may have finished its batch, whose trigger then
        // enqueued continuations (on these connections the insert trigger
        // leaves the notification to `notify`).
        let mut batch_ended = false;
        for (step, items) in groups.steps() {
            let (sql, end_state) = match step {
                FinalizeStep::Complete => (&q.finalize_complete, None),
                FinalizeStep::Retry => (&q.finalize_retry, None),
                FinalizeStep::End(state) => (&q.finalize_end, Some(state)),
                FinalizeStep::Snooze => (&q.finalize_snooze, None),
            };
            let mut query = sqlx::query_as::<_, (i64, Option<i64>)>(sql.clone())
                .bind(items)
                .bind(&params.worker)
                .bind(now);
            if let Some(state) = end_state {
                query = query.bind(state);
            }
            let ended = query.fetch_all(&self.inner.jobs).await.map_err(db_error)?;
            batch_ended |= ended.iter().any(|(_, batch)| batch.is_some());
            applied.extend(ended.into_iter().map(|(id, _)| id));
        }
        // An end under a global limit frees a slot that workers of other
        // processes may wait for.
        if wakes || batch_ended || (params.frees_global_slots && !applied.is_empty()) {
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
        vec![
            std::sync::Arc::new(crate::maintenance::Vacuum {
                store: self.clone(),
            }),
            std::sync::Arc::new(crate::job_counts::CountFold {
                store: self.clone(),
            }),
        ]
    }
}

/// The statements of a limited claim on PostgreSQL.
struct PgClaim<'a, 't> {
    tx: &'a mut sqlx::Transaction<'t, sqlx::Postgres>,
    q: &'a Queries,
    params: &'a ClaimParams,
    until: DateTime<Utc>,
    /// Whether this transaction was set up for heads queries.
    heads_planned: bool,
}

impl LimitedClaim for PgClaim<'_, '_> {
    async fn running_counts(&mut self, kinds: &[&str]) -> Result<Vec<(String, i64)>> {
        // One claimer at a time per globally limited kind: count, then claim.
        sqlx::query(self.q.lock_kinds.clone())
            .bind(kinds)
            .execute(&mut **self.tx)
            .await
            .map_err(db_error)?;
        let rows = sqlx::query(self.q.claim_running_counts.clone())
            .bind(kinds)
            .fetch_all(&mut **self.tx)
            .await
            .map_err(db_error)?;
        pairs(&rows)
    }

    async fn running_per_tenant(&mut self, tenants: &[&str]) -> Result<Vec<(String, Option<i64>)>> {
        // Counted in a statement after the locks were taken, so that its
        // snapshot sees every claim committed under them.
        let locked: Vec<String> = sqlx::query_scalar(self.q.lock_tenants.clone())
            .bind(tenants)
            .fetch_all(&mut **self.tx)
            .await
            .map_err(db_error)?;
        let running: Vec<(String, i64)> = if locked.is_empty() {
            Vec::new()
        } else {
            pairs(
                &sqlx::query(self.q.claim_tenant_running.clone())
                    .bind(&locked)
                    .fetch_all(&mut **self.tx)
                    .await
                    .map_err(db_error)?,
            )?
        };
        Ok(errand_sql::counts_of(tenants, &running, |t| {
            locked.iter().any(|l| l == t)
        }))
    }

    async fn candidates(&mut self, ask: &Ask<'_>) -> Result<Vec<(i64, String, Option<String>)>> {
        if ask.heads_after.is_some() && !self.heads_planned {
            sqlx::query(self.q.claim_tenant_heads_plan.clone())
                .execute(&mut **self.tx)
                .await
                .map_err(db_error)?;
            self.heads_planned = true;
        }
        let sql = match ask.heads_after {
            None => self.q.claim_candidates.clone(),
            Some(_) => self.q.claim_tenant_heads.clone(),
        };
        let mut query = sqlx::query(sql)
            .bind(ask.queue)
            .bind(self.params.now)
            .bind(&ask.kinds)
            .bind(i64::from(ask.limit))
            .bind(&ask.skip_tenants);
        if let Some(after) = &ask.heads_after {
            query = query.bind(after.clone().unwrap_or_default());
        }
        let rows = query.fetch_all(&mut **self.tx).await.map_err(db_error)?;
        candidates(&rows)
    }

    async fn mark(&mut self, picked: &[i64]) -> Result<Vec<JobRow>> {
        let rows = sqlx::query(self.q.claim_mark.clone())
            .bind(picked)
            .bind(&self.params.worker)
            .bind(self.params.now)
            .bind(self.until)
            .fetch_all(&mut **self.tx)
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|row| job_row(row, self.params.now))
            .collect()
    }
}
