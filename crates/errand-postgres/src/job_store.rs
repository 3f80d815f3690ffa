//! [`JobStore`] for [`PgStore`]: the hot path of workers.

use crate::enqueue::{insert_jobs, single_statement};
use crate::error::db_error;
use crate::rows::job_row;
use crate::transaction::PgTxSource;
use async_trait::async_trait;
use errand_core::store::{
    ClaimParams, EnqueueParams, FinalizeGroups, FinalizeParams, LeaseStatus, RenewParams,
    RescueParams, RescueUnheldParams, Wakeup,
};
use errand_core::{Capabilities, Enqueued, JobId, JobRow, Result, StateMap};
use serde_json::json;
use sqlx::Row;
use std::collections::{HashMap, HashSet};

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
        let results = if single_statement(&params.jobs) {
            let mut conn = self.inner.enqueue.acquire().await.map_err(db_error)?;
            insert_jobs(&mut conn, &self.inner.q, &params.jobs, params.now).await?
        } else {
            let mut tx = self.inner.enqueue.begin().await.map_err(db_error)?;
            let results = insert_jobs(&mut tx, &self.inner.q, &params.jobs, params.now).await?;
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
        let limited = params
            .kinds
            .iter()
            .any(|k| k.cap.is_some() || k.global_limit.is_some())
            || params.queues.iter().any(|q| q.cap.is_some());
        if !limited {
            return self.claim_unlimited(&params, until).await;
        }
        let q = &self.inner.q;
        let mut tx = self.inner.jobs.begin().await.map_err(db_error)?;
        let mut room: HashMap<&str, u32> = params
            .kinds
            .iter()
            .map(|k| (k.kind.as_str(), k.cap.unwrap_or(u32::MAX)))
            .collect();
        let global: Vec<&str> = params
            .kinds
            .iter()
            .filter(|k| k.global_limit.is_some())
            .map(|k| k.kind.as_str())
            .collect();
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
            let mut running: HashMap<String, i64> = HashMap::new();
            for row in rows {
                running.insert(
                    row.try_get(0).map_err(db_error)?,
                    row.try_get(1).map_err(db_error)?,
                );
            }
            for k in &params.kinds {
                if let Some(limit) = k.global_limit {
                    let used = running.get(&k.kind).copied().unwrap_or(0);
                    let left = u32::try_from(i64::from(limit) - used).unwrap_or(0);
                    if let Some(r) = room.get_mut(k.kind.as_str()) {
                        *r = (*r).min(left);
                    }
                }
            }
        }
        let mut claimed: Vec<JobRow> = Vec::new();
        let mut remaining = params.limit;
        'queues: for queue in &params.queues {
            let mut queue_room = queue.cap.unwrap_or(u32::MAX).min(remaining);
            while queue_room > 0 {
                let allowed: Vec<&str> = room
                    .iter()
                    .filter(|(_, r)| **r > 0)
                    .map(|(k, _)| *k)
                    .collect();
                if allowed.is_empty() {
                    break 'queues;
                }
                let candidates = sqlx::query(q.claim_candidates.clone())
                    .bind(&queue.name)
                    .bind(params.now)
                    .bind(&allowed)
                    .bind(i64::from(queue_room))
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(db_error)?;
                let fetched = candidates.len();
                let mut capped = false;
                let mut picked: Vec<i64> = Vec::new();
                for row in candidates {
                    let id: i64 = row.try_get(0).map_err(db_error)?;
                    let kind: String = row.try_get(1).map_err(db_error)?;
                    match room.get_mut(kind.as_str()) {
                        Some(r) if *r > 0 && queue_room > 0 => {
                            *r -= 1;
                            queue_room -= 1;
                            remaining -= 1;
                            picked.push(id);
                        }
                        _ => capped = true,
                    }
                }
                if !picked.is_empty() {
                    let order: HashMap<i64, usize> =
                        picked.iter().enumerate().map(|(i, id)| (*id, i)).collect();
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
                    marked.sort_by_key(|job| order.get(&job.id.0).copied().unwrap_or(usize::MAX));
                    claimed.extend(marked);
                }
                if !capped || fetched == 0 {
                    break;
                }
            }
            if remaining == 0 {
                break;
            }
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
        let mut held: HashMap<(i64, i32), bool> = HashMap::new();
        for row in rows {
            held.insert(
                (
                    row.try_get(0).map_err(db_error)?,
                    row.try_get(1).map_err(db_error)?,
                ),
                row.try_get(2).map_err(db_error)?,
            );
        }
        Ok(params
            .jobs
            .iter()
            .map(|(id, attempt)| {
                let status = held.get(&(id.0, i32::try_from(*attempt).unwrap_or(-1)));
                LeaseStatus {
                    id: *id,
                    held: status.is_some(),
                    cancel_requested: status.copied().unwrap_or(false),
                }
            })
            .collect())
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
