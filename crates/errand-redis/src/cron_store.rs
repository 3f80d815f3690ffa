//! [`CronStore`] for [`RedisStore`]: cron entries, their fires and ledgers.
//!
//! A fire is decided in two scripts: `states` reads where the entries stand,
//! errand-core's `apply_fire` decides, and `fire` writes the records and
//! their jobs only for entries that still stand where they were read (any
//! other is lost to the scheduler that moved it).

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use errand_core::cron::{EntryRow, FireState, LedgerRecord, apply_fire};
use errand_core::store::{
    CronListParams, CronStore, DueParams, EnableParams, EntryKey, FireOutcome, FireParams,
    LedgerParams, SaveMode, SaveParams,
};
use errand_core::{Error, JobId, Result};
use serde::Deserialize;

use crate::RedisStore;
use crate::error::redis_error;
use crate::job_store::push_job;
use crate::rows::micros;
use crate::store::{json, parse};

/// An entry's key in the store: its tenant, a space, its name.
fn ekey(key: &EntryKey) -> String {
    format!("{} {}", key.tenant_key(), key.name)
}

fn corrupt(what: &str, field: &str, why: impl std::fmt::Display) -> Error {
    Error::backend_msg(format!(
        "cron entry {what}: stored {field} is unreadable: {why}"
    ))
}

fn time_of(us: &str, what: &str, field: &str) -> Result<DateTime<Utc>> {
    let us: i64 = us.parse().map_err(|e| corrupt(what, field, e))?;
    DateTime::from_timestamp_micros(us).ok_or_else(|| corrupt(what, field, "out of range"))
}

fn optional_time(value: &str, what: &str, field: &str) -> Result<Option<DateTime<Utc>>> {
    (!value.is_empty())
        .then(|| time_of(value, what, field))
        .transpose()
}

/// An entry's hash read back.
fn entry_row(fields: Vec<String>) -> Result<EntryRow> {
    let mut map: HashMap<String, String> = HashMap::new();
    let mut items = fields.into_iter();
    while let (Some(field), Some(value)) = (items.next(), items.next()) {
        map.insert(field, value);
    }
    let what = map.get("name").cloned().unwrap_or_default();
    let text = |field: &str| map.get(field).filter(|v| !v.is_empty()).cloned();
    let required = |field: &str| text(field).ok_or_else(|| corrupt(&what, field, "missing"));
    let time = |field: &str| optional_time(map.get(field).map_or("", String::as_str), &what, field);
    let int = |field: &str| -> Result<Option<i64>> {
        text(field)
            .map(|v| v.parse().map_err(|e| corrupt(&what, field, e)))
            .transpose()
    };
    let json = |field: &str| -> Result<Option<serde_json::Value>> {
        text(field)
            .map(|v| serde_json::from_str(&v).map_err(|e| corrupt(&what, field, e)))
            .transpose()
    };
    Ok(EntryRow {
        name: required("name")?,
        tenant: text("tenant"),
        kind: required("kind")?,
        input: json("input")?.unwrap_or(serde_json::Value::Null),
        schedule: required("schedule")?,
        zone: required("zone")?,
        queue: text("queue"),
        priority: int("priority")?
            .map(|p| i16::try_from(p).map_err(|e| corrupt(&what, "priority", e)))
            .transpose()?,
        max_attempts: int("max_attempts")?
            .map(|n| u32::try_from(n).map_err(|e| corrupt(&what, "max_attempts", e)))
            .transpose()?,
        meta: json("meta")?
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| corrupt(&what, "meta", e))?
            .unwrap_or_default(),
        overlap: required("overlap")?.parse()?,
        missed: required("missed")?.parse()?,
        enabled: text("enabled").as_deref() == Some("1"),
        note: text("note"),
        next_fire_at: time("next_fire_at")?,
        last_fire_at: time("last_fire_at")?,
        last_job_id: int("last_job_id")?.map(JobId),
        buffered_fire_at: time("buffered_fire_at")?,
        created_at: time("created_at")?.ok_or_else(|| corrupt(&what, "created_at", "missing"))?,
        updated_at: time("updated_at")?.ok_or_else(|| corrupt(&what, "updated_at", "missing"))?,
    })
}

/// A ledger record as the scripts write it (every value a string: Lua's
/// JSON writes large numbers inexactly).
#[derive(Deserialize)]
struct StoredRecord {
    fire_at: String,
    decided_at: String,
    reason: String,
    fires: String,
    job_id: String,
}

fn ledger_record(text: &str) -> Result<LedgerRecord> {
    let stored: StoredRecord =
        serde_json::from_str(text).map_err(|e| corrupt("ledger", "record", e))?;
    Ok(LedgerRecord {
        fire_at: time_of(&stored.fire_at, "ledger", "fire_at")?,
        decided_at: time_of(&stored.decided_at, "ledger", "decided_at")?,
        reason: stored.reason.parse()?,
        fires: stored
            .fires
            .parse()
            .map_err(|e| corrupt("ledger", "fires", e))?,
        job_id: (!stored.job_id.is_empty())
            .then(|| stored.job_id.parse().map(JobId))
            .transpose()
            .map_err(|e| corrupt("ledger", "job_id", e))?,
    })
}

/// The reply of a script that returns an entry, or a word for why not.
fn entry_or(value: redis::Value, what: &str, key: &EntryKey) -> Result<EntryRow> {
    match value {
        redis::Value::Array(_) => entry_row(parse(value, what)?),
        other => match parse::<String>(other, what)?.as_str() {
            "exists" => Err(key.exists()),
            "missing" => Err(key.not_found()),
            word => Err(Error::backend_msg(format!(
                "unexpected reply to {what}: {word}"
            ))),
        },
    }
}

fn opt_micros(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| micros(t).to_string()).unwrap_or_default()
}

#[async_trait]
impl CronStore for RedisStore {
    async fn cron_save(&self, params: SaveParams) -> Result<EntryRow> {
        let entry = &params.entry;
        entry.validate()?;
        let key = EntryKey::new(entry.tenant.as_deref(), &entry.name);
        let mode = match params.mode {
            SaveMode::Create => "create",
            SaveMode::Update => "update",
            SaveMode::Upsert => "upsert",
        };
        let mut invocation = self.invocation(&self.inner.scripts.cron_save);
        invocation
            .arg(micros(params.now))
            .arg(mode)
            .arg(ekey(&key))
            .arg(opt_micros(params.next_fire_at));
        let fields: [(&str, String); 12] = [
            ("tenant", entry.tenant.clone().unwrap_or_default()),
            ("name", entry.name.clone()),
            ("kind", entry.kind.clone()),
            ("input", json(&entry.input)?),
            ("schedule", entry.schedule_text()),
            ("zone", entry.zone.name().to_string()),
            ("queue", entry.queue.clone().unwrap_or_default()),
            (
                "priority",
                entry.priority.map(|p| p.to_string()).unwrap_or_default(),
            ),
            (
                "max_attempts",
                entry
                    .max_attempts
                    .map(|n| n.to_string())
                    .unwrap_or_default(),
            ),
            ("meta", json(&entry.meta)?),
            ("overlap", entry.overlap.as_str().to_string()),
            ("missed", entry.missed.to_string()),
        ];
        for (field, value) in fields {
            invocation.arg(field).arg(value);
        }
        let value: redis::Value = self.run(&invocation, "cron save").await?;
        entry_or(value, "cron save", &key)
    }

    async fn cron_get(&self, key: EntryKey) -> Result<Option<EntryRow>> {
        key.validate()?;
        let mut conn = self.inner.conn.clone();
        let fields: Vec<String> = redis::cmd("HGETALL")
            .arg(self.key(&format!("cron:{}", ekey(&key))))
            .query_async(&mut conn)
            .await
            .map_err(redis_error)?;
        if fields.is_empty() {
            return Ok(None);
        }
        entry_row(fields).map(Some)
    }

    async fn cron_list(&self, params: CronListParams) -> Result<Vec<EntryRow>> {
        let mut conn = self.inner.conn.clone();
        // ekeys sort by tenant, then name: a tenant's entries are one range.
        let (start, to) = match &params.tenant {
            Some(tenant) => {
                let tenant = tenant.as_deref().unwrap_or("");
                (Some(format!("{tenant} ")), format!("({tenant}!"))
            }
            None => (None, "+".to_string()),
        };
        let mut from = match (&params.after, start) {
            (Some(after), Some(start)) if ekey(after) < start => format!("[{start}"),
            (Some(after), _) => format!("({}", ekey(after)),
            (None, Some(start)) => format!("[{start}"),
            (None, None) => "-".to_string(),
        };
        let mut out = Vec::new();
        while out.len() < params.limit as usize {
            let page: Vec<String> = redis::cmd("ZRANGEBYLEX")
                .arg(self.key("cron_entries"))
                .arg(&from)
                .arg(&to)
                .arg("LIMIT")
                .arg(0)
                .arg(200)
                .query_async(&mut conn)
                .await
                .map_err(redis_error)?;
            let Some(last) = page.last() else { break };
            from = format!("({last}");
            let mut pipe = redis::pipe();
            for ekey in &page {
                pipe.cmd("HGETALL").arg(self.key(&format!("cron:{ekey}")));
            }
            let rows: Vec<Vec<String>> = pipe.query_async(&mut conn).await.map_err(redis_error)?;
            for fields in rows.into_iter().filter(|f| !f.is_empty()) {
                let row = entry_row(fields)?;
                let wanted = params.kind.as_ref().is_none_or(|k| *k == row.kind)
                    && params.enabled.is_none_or(|e| e == row.enabled);
                if wanted && out.len() < params.limit as usize {
                    out.push(row);
                }
            }
            if page.len() < 200 {
                break;
            }
        }
        Ok(out)
    }

    async fn cron_enable(&self, params: EnableParams) -> Result<EntryRow> {
        params.key.validate()?;
        let mut invocation = self.invocation(&self.inner.scripts.cron_enable);
        invocation
            .arg(micros(params.now))
            .arg(ekey(&params.key))
            .arg(u8::from(params.enabled))
            .arg(params.note.as_deref().unwrap_or(""));
        let value: redis::Value = self.run(&invocation, "cron enable").await?;
        entry_or(value, "cron enable", &params.key)
    }

    async fn cron_remove(&self, key: EntryKey) -> Result<()> {
        key.validate()?;
        let mut invocation = self.invocation(&self.inner.scripts.cron_remove);
        invocation.arg(ekey(&key));
        let removed: i64 = self.run(&invocation, "cron remove").await?;
        if removed == 0 {
            return Err(key.not_found());
        }
        Ok(())
    }

    async fn cron_due(&self, params: DueParams) -> Result<Vec<EntryRow>> {
        if params.kinds.is_empty() || params.limit == 0 {
            return Ok(Vec::new());
        }
        let mut invocation = self.invocation(&self.inner.scripts.cron_due);
        invocation.arg(micros(params.now)).arg(params.limit);
        for kind in &params.kinds {
            invocation.arg(kind);
        }
        let rows: Vec<Vec<String>> = self.run(&invocation, "cron due").await?;
        rows.into_iter().map(entry_row).collect()
    }

    async fn cron_fire(&self, params: FireParams) -> Result<Vec<FireOutcome>> {
        if params.fires.is_empty() {
            return Ok(Vec::new());
        }
        // Where each entry stands.
        let mut invocation = self.invocation(&self.inner.scripts.cron_states);
        for fire in &params.fires {
            invocation.arg(ekey(&fire.key));
        }
        let raw: Vec<String> = self.run(&invocation, "cron states").await?;
        let mut fires = Vec::new();
        let mut jobs = Vec::new();
        let mut outcomes: Vec<Option<FireOutcome>> = Vec::with_capacity(params.fires.len());
        let mut seen = std::collections::HashSet::new();
        for (fire, state) in params.fires.iter().zip(raw.chunks(7)) {
            let what = fire.key.name.as_str();
            let read = FireState {
                enabled: state[1] == "1",
                next_fire_at: optional_time(&state[2], what, "next_fire_at")?,
                last_fire_at: optional_time(&state[3], what, "last_fire_at")?,
                buffered_fire_at: optional_time(&state[4], what, "buffered_fire_at")?,
                last_job_unfinished: state[6] == "1",
            };
            let applied = (state[0] == "1" && seen.insert(&fire.key))
                .then(|| apply_fire(&read, fire, params.now))
                .flatten();
            let Some(applied) = applied else {
                outcomes.push(Some(FireOutcome::Lost));
                continue;
            };
            outcomes.push(None);
            fires.push((fire, state, applied));
        }
        let mut invocation = self.invocation(&self.inner.scripts.cron_fire);
        let job_count: usize = fires
            .iter()
            .map(|(_, _, a)| a.records.iter().filter(|r| r.job.is_some()).count())
            .sum();
        invocation
            .arg(micros(params.now))
            .arg(fires.len())
            .arg(job_count);
        for (fire, state, applied) in &fires {
            invocation
                .arg(ekey(&fire.key))
                .arg(&state[1])
                .arg(&state[2])
                .arg(&state[4])
                .arg(&state[5])
                .arg(opt_micros(applied.next_fire_at))
                .arg(opt_micros(applied.last_fire_at))
                .arg(opt_micros(applied.buffered_fire_at))
                .arg(applied.records.len());
            for planned in &applied.records {
                let job = match &planned.job {
                    Some(job) => {
                        jobs.push(job);
                        jobs.len()
                    }
                    None => 0,
                };
                let r = &planned.record;
                invocation
                    .arg(micros(r.fire_at))
                    .arg(micros(r.decided_at))
                    .arg(r.reason.as_str())
                    .arg(r.fires)
                    .arg(job)
                    .arg(u8::from(planned.releases_buffer));
            }
        }
        for job in jobs {
            push_job(&mut invocation, job, params.now)?;
        }
        let written: Vec<String> = if fires.is_empty() {
            Vec::new()
        } else {
            self.run(&invocation, "cron fire").await?
        };
        let mut written = written.into_iter();
        let mut enqueued = false;
        let outcomes = outcomes
            .into_iter()
            .map(|outcome| match outcome {
                Some(lost) => Ok(lost),
                None => {
                    let reply = written.next().unwrap_or_else(|| "lost".to_string());
                    if reply == "lost" {
                        return Ok(FireOutcome::Lost);
                    }
                    let records: Vec<serde_json::Value> = serde_json::from_str(&reply)?;
                    let records = records
                        .iter()
                        .map(|r| ledger_record(&r.to_string()))
                        .collect::<Result<Vec<_>>>()?;
                    enqueued |= records.iter().any(|r| r.job_id.is_some());
                    Ok(FireOutcome::Applied(records))
                }
            })
            .collect::<Result<Vec<_>>>()?;
        if enqueued {
            self.inner.wakeup.notify();
        }
        Ok(outcomes)
    }

    async fn cron_ledger(&self, params: LedgerParams) -> Result<Vec<LedgerRecord>> {
        params.key.validate()?;
        if params.limit == 0 {
            return Ok(Vec::new());
        }
        let mut conn = self.inner.conn.clone();
        let stored: Vec<String> = redis::cmd("LRANGE")
            .arg(self.key(&format!("cron_ledger:{}", ekey(&params.key))))
            .arg(0)
            .arg(i64::from(params.limit) - 1)
            .query_async(&mut conn)
            .await
            .map_err(redis_error)?;
        stored.iter().map(|text| ledger_record(text)).collect()
    }
}
