//! The fires of cron entries on the SQL stores: lock the entries, decide
//! with [`apply_fire`], then write the ledger records and their jobs in the
//! same transaction. The order is decided here once; each backend runs the
//! statements over JSON payloads with its own time format.

use std::collections::{HashMap, HashSet};
use std::future::Future;

use chrono::{DateTime, Utc};
use errand_core::cron::{Applied, EntryRow, FireReason, FireState, LEDGER_LEN, apply_fire};
use errand_core::store::{EntryKey, FireOutcome, FireParams, SaveMode, SaveParams};
use errand_core::{JobId, NewJob, Result};
use serde_json::{Value, json};

/// The statements of writing fires, run inside one write transaction. Each
/// takes a JSON array whose rows name the entry by `tenant` (the empty
/// string for none) and `name`.
pub trait CronTx: Send {
    /// How this store writes a time in a JSON payload.
    fn time(t: DateTime<Utc>) -> Value;

    /// Locks the entries of `keys` until the transaction ends (skipping any
    /// another transaction holds) and reads where each stands.
    fn fire_states(
        &mut self,
        keys: Value,
    ) -> impl Future<Output = Result<Vec<(EntryKey, FireState)>>> + Send;

    /// Of `records` (`tenant`, `name`, `fire_at`), those a ledger already
    /// holds as decided (any reason but manual and buffered).
    fn decided(
        &mut self,
        records: Value,
    ) -> impl Future<Output = Result<Vec<(EntryKey, DateTime<Utc>)>>> + Send;

    /// Inserts jobs; returns their ids in order.
    fn insert_jobs(
        &mut self,
        jobs: &[NewJob],
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<JobId>>> + Send;

    /// Deletes the `buffered` records of `records` (`tenant`, `name`,
    /// `fire_at`), which their release replaces.
    fn drop_buffered(&mut self, records: Value) -> impl Future<Output = Result<()>> + Send;

    /// Inserts ledger records (`tenant`, `name`, `fire_at`, `decided_at`,
    /// `reason`, `fires`, `job_id`), in order.
    fn insert_ledger(&mut self, records: Value) -> impl Future<Output = Result<()>> + Send;

    /// Writes where entries stand (`tenant`, `name`, `next_fire_at`,
    /// `last_fire_at`, `buffered_fire_at`, and `last_job_id`, null to keep
    /// the stored one).
    fn update_entries(&mut self, updates: Value) -> impl Future<Output = Result<()>> + Send;

    /// Keeps the newest `keep` ledger records of each entry of `keys`.
    fn trim_ledgers(&mut self, keys: Value, keep: i64) -> impl Future<Output = Result<()>> + Send;

    /// Commits the transaction.
    fn commit(self) -> impl Future<Output = Result<()>> + Send;
}

fn key_json(key: &EntryKey) -> Value {
    json!({"tenant": key.tenant_key(), "name": key.name})
}

/// Applies `params` through `tx`: each entry's decisions are written with
/// their jobs, or the entry is lost to another scheduler.
pub async fn fire<T: CronTx>(mut tx: T, params: &FireParams) -> Result<Vec<FireOutcome>> {
    let now = params.now;
    let mut seen = HashSet::new();
    let keys: Vec<Value> = params
        .fires
        .iter()
        .filter(|fire| seen.insert(&fire.key))
        .map(|fire| key_json(&fire.key))
        .collect();
    let states: HashMap<EntryKey, FireState> = tx
        .fire_states(Value::Array(keys))
        .await?
        .into_iter()
        .collect();
    // An entry named twice in one call is decided once, by its first fire.
    let mut first = HashSet::new();
    let mut applied: Vec<Option<Applied>> = params
        .fires
        .iter()
        .map(|fire| {
            let state = states.get(&fire.key).filter(|_| first.insert(&fire.key))?;
            apply_fire(state, fire, now)
        })
        .collect();

    // A fire time some ledger already holds is never decided again.
    let checked: Vec<Value> = params
        .fires
        .iter()
        .zip(&applied)
        .filter_map(|(fire, applied)| Some((fire, applied.as_ref()?)))
        .flat_map(|(fire, applied)| {
            applied
                .records
                .iter()
                .filter(|r| !r.releases_buffer)
                .map(|r| {
                    json!({"tenant": fire.key.tenant_key(), "name": fire.key.name,
                       "fire_at": T::time(r.record.fire_at)})
                })
        })
        .collect();
    if !checked.is_empty() {
        let decided: HashSet<(EntryKey, DateTime<Utc>)> = tx
            .decided(Value::Array(checked))
            .await?
            .into_iter()
            .collect();
        for (fire, applied) in params.fires.iter().zip(applied.iter_mut()) {
            if let Some(applied) = applied {
                applied.records.retain(|r| {
                    r.releases_buffer
                        || r.record.reason == FireReason::Manual
                        || !decided.contains(&(fire.key.clone(), r.record.fire_at))
                });
            }
        }
    }

    let jobs: Vec<NewJob> = applied
        .iter()
        .flatten()
        .flat_map(|applied| applied.records.iter().filter_map(|r| r.job.clone()))
        .collect();
    let mut ids = if jobs.is_empty() {
        Vec::new()
    } else {
        tx.insert_jobs(&jobs, now).await?
    }
    .into_iter();

    let mut released = Vec::new();
    let mut ledger = Vec::new();
    let mut updates = Vec::new();
    let mut outcomes = Vec::with_capacity(params.fires.len());
    for (fire, applied) in params.fires.iter().zip(applied) {
        let Some(mut applied) = applied else {
            outcomes.push(FireOutcome::Lost);
            continue;
        };
        let mut last_job = None;
        for planned in &mut applied.records {
            if planned.job.is_some() {
                planned.record.job_id = ids.next();
                last_job = planned.record.job_id.or(last_job);
            }
            let r = &planned.record;
            if planned.releases_buffer {
                released.push(
                    json!({"tenant": fire.key.tenant_key(), "name": fire.key.name,
                                     "fire_at": T::time(r.fire_at)}),
                );
            }
            ledger.push(json!({
                "tenant": fire.key.tenant_key(), "name": fire.key.name,
                "fire_at": T::time(r.fire_at), "decided_at": T::time(r.decided_at),
                "reason": r.reason.as_str(), "fires": r.fires, "job_id": r.job_id.map(|id| id.0),
            }));
        }
        updates.push(json!({
            "tenant": fire.key.tenant_key(), "name": fire.key.name,
            "next_fire_at": applied.next_fire_at.map(T::time),
            "last_fire_at": applied.last_fire_at.map(T::time),
            "buffered_fire_at": applied.buffered_fire_at.map(T::time),
            "last_job_id": last_job.map(|id| id.0),
        }));
        outcomes.push(FireOutcome::Applied(
            applied.records.into_iter().map(|r| r.record).collect(),
        ));
    }
    if !released.is_empty() {
        tx.drop_buffered(Value::Array(released)).await?;
    }
    if !ledger.is_empty() {
        tx.insert_ledger(Value::Array(ledger)).await?;
    }
    if !updates.is_empty() {
        let touched: Vec<Value> = updates
            .iter()
            .map(|u| json!({"tenant": u["tenant"], "name": u["name"]}))
            .collect();
        tx.update_entries(Value::Array(updates)).await?;
        tx.trim_ledgers(Value::Array(touched), LEDGER_LEN as i64)
            .await?;
    }
    tx.commit().await?;
    Ok(outcomes)
}

/// The statements of writing an entry's definition, in one write
/// transaction.
pub trait SaveTx: Send {
    /// Inserts the entry of `params` unless it exists.
    fn insert(
        &mut self,
        params: &SaveParams,
    ) -> impl Future<Output = Result<Option<EntryRow>>> + Send;

    /// Updates the definition of the existing entry of `params` (flag and
    /// note kept; next fire time changed only with the schedule or zone).
    fn update(
        &mut self,
        params: &SaveParams,
    ) -> impl Future<Output = Result<Option<EntryRow>>> + Send;

    /// Commits the transaction.
    fn commit(self) -> impl Future<Output = Result<()>> + Send;
}

/// Writes an entry's definition as `params.mode` says.
pub async fn save<T: SaveTx>(mut tx: T, params: &SaveParams) -> Result<EntryRow> {
    params.entry.validate()?;
    let key = EntryKey::new(params.entry.tenant.as_deref(), &params.entry.name);
    let row = match params.mode {
        SaveMode::Create => tx.insert(params).await?.ok_or_else(|| key.exists())?,
        SaveMode::Update => tx.update(params).await?.ok_or_else(|| key.not_found())?,
        SaveMode::Upsert => match tx.insert(params).await? {
            Some(row) => row,
            None => tx.update(params).await?.ok_or_else(|| key.not_found())?,
        },
    };
    tx.commit().await?;
    Ok(row)
}
