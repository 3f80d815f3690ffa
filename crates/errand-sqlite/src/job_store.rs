//! [`JobStore`] for [`SqliteStore`]: the hot path of workers.

use crate::enqueue::insert_jobs;
use crate::error::{db_error, retry_busy, write_once};
use crate::job_counts::FinishedMoves;
use crate::queries;
use crate::rows::{candidates, job_row, micros, pairs};
use crate::transaction::SqliteTxSource;
use async_trait::async_trait;
use errand_core::store::{
    Ask, ClaimParams, ClaimPlan, EnqueueParams, FinalizeGroups, FinalizeParams, FinalizeStep,
    LeaseStatus, RenewParams, RescueParams, RescueUnheldParams, Wakeup,
};
use errand_core::{Capabilities, Enqueued, JobId, JobRow, Result, StateMap};
use errand_sql::{EnqueuePlan, LimitedClaim, claim_limited};
use serde_json::json;
use std::collections::HashSet;

use crate::SqliteStore;
use crate::store::*;
use errand_core::JobStore;

#[async_trait]
impl JobStore for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            transactional_enqueue: true,
            cross_process_wakeup: self.inner.signal.is_some(),
        }
    }

    async fn enqueue(&self, params: EnqueueParams) -> Result<Vec<Enqueued>> {
        for job in &params.jobs {
            job.validate(params.max_input_bytes)?;
        }
        if params.jobs.is_empty() {
            return Ok(Vec::new());
        }
        let plan = EnqueuePlan::new(&params.jobs);
        let results = if plan.single_statement() {
            // One INSERT statement: atomic without an explicit transaction,
            // so it can run again when another process held the lock.
            retry_busy(self.inner.busy_timeout, || async {
                let mut conn = self.inner.writer.acquire().await.map_err(db_error)?;
                insert_jobs(&mut conn, &params.jobs, plan.clone(), params.now).await
            })
            .await?
        } else {
            let mut tx = self.begin_write().await?;
            let results = insert_jobs(&mut tx, &params.jobs, plan, params.now).await?;
            tx.commit().await.map_err(db_error)?;
            results
        };
        self.woke(true);
        Ok(results)
    }

    async fn claim(&self, params: ClaimParams) -> Result<Vec<JobRow>> {
        if params.limit == 0 || params.queues.is_empty() || params.kinds.is_empty() {
            return Ok(Vec::new());
        }
        let now = micros(params.now);
        let until = micros(params.lease_until()?);
        if !ClaimPlan::limited(&params) {
            return self.claim_unlimited(&params, now, until).await;
        }
        let mut tx = self.begin_write().await?;
        let claimed = claim_limited(
            &params,
            &mut SqliteClaim {
                tx: &mut tx,
                params: &params,
                now,
                until,
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
        let groups = FinalizeGroups::of(&params.items, now, |t| json!(micros(t)));
        let wakes = groups.wakes;
        let mut applied: HashSet<i64> = HashSet::new();
        // A batch job's end may have finished its batch, whose trigger then
        // enqueued continuations that workers should not wait a poll for.
        let mut batch_ended = false;
        for (step, items) in groups.steps() {
            let (sql, end_state) = match step {
                FinalizeStep::Complete => (queries::FINALIZE_COMPLETE, Some("completed")),
                FinalizeStep::Retry => (queries::FINALIZE_RETRY, None),
                FinalizeStep::End(state) => (queries::FINALIZE_END, Some(state)),
                FinalizeStep::Snooze => (queries::FINALIZE_SNOOZE, None),
            };
            let payload = items.to_string();
            let query = || {
                let query = sqlx::query_as::<_, Finalized>(sql)
                    .bind(payload.clone())
                    .bind(&params.worker)
                    .bind(micros(now));
                match step {
                    FinalizeStep::End(state) => query.bind(state),
                    _ => query,
                }
            };
            let rows = match end_state {
                // Jobs that finish are counted in the same transaction.
                Some(state) => {
                    let mut tx = self.begin_write().await?;
                    let rows = query().fetch_all(&mut *tx).await.map_err(db_error)?;
                    let mut moves = FinishedMoves::default();
                    for (_, _, queue, tenant) in &rows {
                        moves.add(queue, tenant.as_deref(), state, 1);
                    }
                    moves.write(&mut tx).await?;
                    tx.commit().await.map_err(db_error)?;
                    rows
                }
                None => {
                    // Each statement runs on its own (no explicit
                    // transaction: one round trip less).
                    write_once(self.inner.busy_timeout, || {
                        query().fetch_all(&self.inner.writer)
                    })
                    .await?
                }
            };
            batch_ended |= rows.iter().any(|(_, batch, _, _)| batch.is_some());
            applied.extend(rows.into_iter().map(|(id, _, _, _)| id));
        }
        // An end under a global limit frees a slot that workers of other
        // processes may wait for; this process's own hear of it from their
        // job ends.
        if batch_ended {
            self.woke(true);
        } else if !applied.is_empty() && (wakes || params.frees_global_slots) {
            self.woke(wakes);
        }
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
        let payload = serde_json::Value::from(payload).to_string();
        let rows = write_once(self.inner.busy_timeout, || {
            sqlx::query(queries::RENEW_LEASES)
                .bind(payload.clone())
                .bind(&params.worker)
                .bind(micros(params.lease_until))
                .fetch_all(&self.inner.writer)
        })
        .await?;
        let held = rows
            .iter()
            .map(|row| {
                let (id, attempt, cancel): (i64, i64, i64) =
                    sqlx::FromRow::from_row(row).map_err(db_error)?;
                Ok((id, attempt, cancel != 0))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(LeaseStatus::of_held(&params.jobs, held))
    }

    async fn rescue(&self, params: RescueParams) -> Result<Vec<JobId>> {
        let mut tx = self.begin_write().await?;
        let rows: Vec<Rescued> = sqlx::query_as(queries::RESCUE)
            .bind(micros(params.now))
            .bind(rfc3339(params.now))
            .fetch_all(&mut *tx)
            .await
            .map_err(db_error)?;
        self.rescued(tx, rows).await
    }

    async fn rescue_unheld(&self, params: RescueUnheldParams) -> Result<Vec<JobId>> {
        let held = ids_json(&params.held.iter().map(|id| id.0).collect::<Vec<_>>());
        let mut tx = self.begin_write().await?;
        let rows: Vec<Rescued> = sqlx::query_as(queries::RESCUE_UNHELD)
            .bind(&params.worker)
            .bind(held)
            .bind(micros(params.claimed_before))
            .bind(micros(params.now))
            .bind(rfc3339(params.now))
            .fetch_all(&mut *tx)
            .await
            .map_err(db_error)?;
        self.rescued(tx, rows).await
    }

    fn subscribe(&self) -> Wakeup {
        self.inner.wakeup.subscribe()
    }

    fn provide(&self, states: &mut StateMap) {
        states.insert(SqliteTxSource {
            pool: self.inner.transactions.clone(),
        });
    }
}

/// The statements of a limited claim on SQLite; times are bound as the
/// store keeps them.
struct SqliteClaim<'a, 't> {
    tx: &'a mut sqlx::Transaction<'t, sqlx::Sqlite>,
    params: &'a ClaimParams,
    now: i64,
    until: i64,
}

impl LimitedClaim for SqliteClaim<'_, '_> {
    async fn running_counts(&mut self, kinds: &[&str]) -> Result<Vec<(String, i64)>> {
        // The write lock is held: no other claimer counts meanwhile.
        let rows = sqlx::query(queries::CLAIM_RUNNING_COUNTS)
            .bind(json!(kinds).to_string())
            .fetch_all(&mut **self.tx)
            .await
            .map_err(db_error)?;
        pairs(&rows)
    }

    async fn running_per_tenant(&mut self, tenants: &[&str]) -> Result<Vec<(String, Option<i64>)>> {
        // The write lock is held: no other claimer counts meanwhile.
        let running: Vec<(String, i64)> = pairs(
            &sqlx::query(queries::CLAIM_TENANT_RUNNING)
                .bind(json!(tenants).to_string())
                .fetch_all(&mut **self.tx)
                .await
                .map_err(db_error)?,
        )?;
        Ok(errand_sql::counts_of(tenants, &running, |_| true))
    }

    async fn candidates(&mut self, ask: &Ask<'_>) -> Result<Vec<(i64, String, Option<String>)>> {
        let sql = match ask.heads_after {
            None => queries::CLAIM_CANDIDATES,
            Some(_) => queries::CLAIM_TENANT_HEADS,
        };
        let mut query = sqlx::query(sql)
            .bind(ask.queue)
            .bind(self.now)
            .bind(json!(ask.kinds).to_string())
            .bind(i64::from(ask.limit))
            .bind(json!(ask.skip_tenants).to_string());
        if let Some(after) = &ask.heads_after {
            query = query.bind(after.clone().unwrap_or_default());
        }
        let rows = query.fetch_all(&mut **self.tx).await.map_err(db_error)?;
        candidates(&rows)
    }

    async fn mark(&mut self, picked: &[i64]) -> Result<Vec<JobRow>> {
        let rows = sqlx::query(queries::CLAIM_MARK)
            .bind(ids_json(picked))
            .bind(&self.params.worker)
            .bind(self.now)
            .bind(self.until)
            .fetch_all(&mut **self.tx)
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|row| job_row(row, self.params.now))
            .collect()
    }
}

/// A finalized job: id, batch, queue, tenant.
type Finalized = (i64, Option<i64>, String, Option<String>);

/// A rescued job: id, state it is left in, queue, tenant.
type Rescued = (i64, String, String, Option<String>);

impl SqliteStore {
    /// Counts the rescued jobs that failed for good and commits the rescue.
    async fn rescued(
        &self,
        mut tx: sqlx::Transaction<'static, sqlx::Sqlite>,
        rows: Vec<Rescued>,
    ) -> Result<Vec<JobId>> {
        let mut moves = FinishedMoves::default();
        for (_, state, queue, tenant) in &rows {
            if state == "failed" {
                moves.add(queue, tenant.as_deref(), state, 1);
            }
        }
        moves.write(&mut tx).await?;
        tx.commit().await.map_err(db_error)?;
        if !rows.is_empty() {
            self.woke(true);
        }
        Ok(rows.into_iter().map(|(id, ..)| JobId(id)).collect())
    }
}
