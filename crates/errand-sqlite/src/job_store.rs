//! [`JobStore`] for [`SqliteStore`]: the hot path of workers.

use crate::enqueue::{insert_jobs, single_statement};
use crate::error::{db_error, retry_busy, write_once};
use crate::queries;
use crate::rows::{job_row, micros};
use crate::transaction::SqliteTxSource;
use async_trait::async_trait;
use errand_core::store::{
    ClaimParams, EnqueueParams, FinalizeGroups, FinalizeParams, LeaseStatus, RenewParams,
    RescueParams, RescueUnheldParams, Wakeup,
};
use errand_core::{Capabilities, Enqueued, JobId, JobRow, Result, StateMap};
use serde_json::json;
use sqlx::Row;
use std::collections::{HashMap, HashSet};

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
        let results = if single_statement(&params.jobs) {
            // One INSERT statement: atomic without an explicit transaction,
            // so it can run again when another process held the lock.
            retry_busy(self.inner.busy_timeout, || async {
                let mut conn = self.inner.writer.acquire().await.map_err(db_error)?;
                insert_jobs(&mut conn, &params.jobs, params.now).await
            })
            .await?
        } else {
            let mut tx = self.begin_write().await?;
            let results = insert_jobs(&mut tx, &params.jobs, params.now).await?;
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
        let limited = params
            .kinds
            .iter()
            .any(|k| k.cap.is_some() || k.global_limit.is_some())
            || params.queues.iter().any(|q| q.cap.is_some());
        if !limited {
            return self.claim_unlimited(&params, now, until).await;
        }
        let mut tx = self.begin_write().await?;

        // Room left per kind: the local cap, lowered by the global limit minus
        // what runs across the cluster now.
        let mut room: HashMap<&str, u32> = HashMap::new();
        for k in &params.kinds {
            room.insert(k.kind.as_str(), k.cap.unwrap_or(u32::MAX));
        }
        let limited: Vec<&str> = params
            .kinds
            .iter()
            .filter(|k| k.global_limit.is_some())
            .map(|k| k.kind.as_str())
            .collect();
        if !limited.is_empty() {
            let rows = sqlx::query(queries::CLAIM_RUNNING_COUNTS)
                .bind(json!(limited).to_string())
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
                let candidates = sqlx::query(queries::CLAIM_CANDIDATES)
                    .bind(&queue.name)
                    .bind(now)
                    .bind(json!(allowed).to_string())
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
                    let rows = sqlx::query(queries::CLAIM_MARK)
                        .bind(ids_json(&picked))
                        .bind(&params.worker)
                        .bind(now)
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
                // A kind that hit its cap hid jobs behind it: look again without it.
                // Otherwise the queue has nothing more that is due.
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
        } = FinalizeGroups::of(&params.items, now, |t| json!(micros(t)));
        // Each statement ends attempts independently of the others, so each
        // runs on its own (no explicit transaction: one round trip less).
        let mut applied: HashSet<i64> = HashSet::new();
        let batches: [(&str, &Vec<serde_json::Value>, Option<&str>); 5] = [
            (queries::FINALIZE_COMPLETE, &complete, None),
            (queries::FINALIZE_RETRY, &retry, None),
            (queries::FINALIZE_END, &fail, Some("failed")),
            (queries::FINALIZE_END, &cancel, Some("cancelled")),
            (queries::FINALIZE_SNOOZE, &snooze, None),
        ];
        for (sql, items, end_state) in batches {
            if items.is_empty() {
                continue;
            }
            let payload = serde_json::Value::from(items.clone()).to_string();
            let ids = write_once(self.inner.busy_timeout, || {
                let mut query = sqlx::query_scalar::<_, i64>(sql)
                    .bind(payload.clone())
                    .bind(&params.worker)
                    .bind(micros(now));
                if let Some(state) = end_state {
                    query = query.bind(state);
                }
                query.fetch_all(&self.inner.writer)
            })
            .await?;
            applied.extend(ids);
        }
        // An end under a global limit frees a slot that workers of other
        // processes may wait for; this process's own hear of it from their
        // job ends.
        if !applied.is_empty() && (wakes || params.frees_global_slots) {
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
        let mut held: HashMap<(i64, i64), bool> = HashMap::new();
        for row in rows {
            let id: i64 = row.try_get(0).map_err(db_error)?;
            let attempt: i64 = row.try_get(1).map_err(db_error)?;
            let cancel: i64 = row.try_get(2).map_err(db_error)?;
            held.insert((id, attempt), cancel != 0);
        }
        Ok(params
            .jobs
            .iter()
            .map(|(id, attempt)| {
                let status = held.get(&(id.0, i64::from(*attempt)));
                LeaseStatus {
                    id: *id,
                    held: status.is_some(),
                    cancel_requested: status.copied().unwrap_or(false),
                }
            })
            .collect())
    }

    async fn rescue(&self, params: RescueParams) -> Result<Vec<JobId>> {
        let ids: Vec<i64> = write_once(self.inner.busy_timeout, || {
            sqlx::query_scalar(queries::RESCUE)
                .bind(micros(params.now))
                .bind(rfc3339(params.now))
                .fetch_all(&self.inner.writer)
        })
        .await?;
        if !ids.is_empty() {
            self.woke(true);
        }
        Ok(ids.into_iter().map(JobId).collect())
    }

    async fn rescue_unheld(&self, params: RescueUnheldParams) -> Result<Vec<JobId>> {
        let held = ids_json(&params.held.iter().map(|id| id.0).collect::<Vec<_>>());
        let ids: Vec<i64> = write_once(self.inner.busy_timeout, || {
            sqlx::query_scalar(queries::RESCUE_UNHELD)
                .bind(&params.worker)
                .bind(held.clone())
                .bind(micros(params.claimed_before))
                .bind(micros(params.now))
                .bind(rfc3339(params.now))
                .fetch_all(&self.inner.writer)
        })
        .await?;
        if !ids.is_empty() {
            self.woke(true);
        }
        Ok(ids.into_iter().map(JobId).collect())
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
