//! Decoding rows of the SQL stores: each backend reads its columns through
//! [`Columns`]; what a job, its state or a stats line is, is decided here once.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use errand_core::cron::{EntryRow, FireState, LedgerRecord};
use errand_core::store::{EntryKey, Pause, PauseScope};
use errand_core::{AttemptError, CronRef, Error, JobId, JobRow, JobState, Result, StateCount};
use serde::de::DeserializeOwned;
use sqlx::{ColumnIndex, Decode, Row, Type};

/// A row's columns read as errand's types, by column name: each backend
/// knows how it stores integers, times, flags and JSON.
pub trait Columns {
    /// A text column.
    fn text(&self, column: &str) -> Result<Option<String>>;
    /// An integer column, whatever its width.
    fn int(&self, column: &str) -> Result<Option<i64>>;
    /// A time column.
    fn time(&self, column: &str) -> Result<Option<DateTime<Utc>>>;
    /// A JSON column.
    fn json(&self, column: &str) -> Result<Option<serde_json::Value>>;
    /// A boolean column.
    fn flag(&self, column: &str) -> Result<bool>;
}

fn required<T>(value: Option<T>, column: &str) -> Result<T> {
    value.ok_or_else(|| Error::backend_msg(format!("stored {column} is NULL")))
}

fn decoded<T: DeserializeOwned>(value: Option<serde_json::Value>, column: &str) -> Result<T> {
    serde_json::from_value(value.unwrap_or(serde_json::Value::Null))
        .map_err(|e| Error::backend_msg(format!("stored {column} does not decode: {e}")))
}

fn narrow<T: TryFrom<i64>>(value: i64, column: &str) -> Result<T> {
    T::try_from(value)
        .map_err(|_| Error::backend_msg(format!("stored {column} {value} is out of range")))
}

/// The public state of the job in `row` (columns `state`, `run_at`, `attempt`)
/// at `now`.
pub fn job_state(row: &impl Columns, now: DateTime<Utc>) -> Result<JobState> {
    let stored = required(row.text("state")?, "state")?;
    let run_at = required(row.time("run_at")?, "run_at")?;
    let attempt = narrow(required(row.int("attempt")?, "attempt")?, "attempt")?;
    JobState::of_stored(&stored, run_at, attempt, now)
}

/// The id and public state of the job in `row` (see [`job_state`]).
pub fn id_and_state(row: &impl Columns, now: DateTime<Utc>) -> Result<(JobId, JobState)> {
    Ok((JobId(required(row.int("id")?, "id")?), job_state(row, now)?))
}

/// The job in a row selected with the column list of the stores' `get.sql`,
/// its public state derived at `now`.
pub fn job_row(row: &impl Columns, now: DateTime<Utc>) -> Result<JobRow> {
    let stored = required(row.text("state")?, "state")?;
    let run_at = required(row.time("run_at")?, "run_at")?;
    let attempt = narrow(required(row.int("attempt")?, "attempt")?, "attempt")?;
    let cron = match (row.text("cron_name")?, row.time("cron_fire_at")?) {
        (Some(name), Some(fire_at)) => Some(CronRef { name, fire_at }),
        _ => None,
    };
    Ok(JobRow {
        id: JobId(required(row.int("id")?, "id")?),
        kind: required(row.text("kind")?, "kind")?,
        queue: required(row.text("queue")?, "queue")?,
        priority: narrow(required(row.int("priority")?, "priority")?, "priority")?,
        tenant: row.text("tenant")?,
        input: row.json("input")?.unwrap_or(serde_json::Value::Null),
        output: row.json("output")?,
        errors: decoded::<Vec<AttemptError>>(row.json("errors")?, "errors")?,
        state: JobState::of_stored(&stored, run_at, attempt, now)?,
        attempt,
        max_attempts: narrow(
            required(row.int("max_attempts")?, "max_attempts")?,
            "max_attempts",
        )?,
        run_at,
        created_at: required(row.time("created_at")?, "created_at")?,
        started_at: row.time("started_at")?,
        finished_at: row.time("finished_at")?,
        lease_until: row.time("lease_until")?,
        worker: row.text("worker")?,
        unique_key: row.text("unique_key")?,
        batch_id: row.int("batch_id")?,
        cron,
        meta: decoded::<BTreeMap<String, String>>(row.json("meta")?, "meta")?,
        cancel_requested: row.flag("cancel_requested")?,
    })
}

/// One line of the stats query (columns `queue`, `state`, `count`).
pub fn state_count(row: &impl Columns) -> Result<StateCount> {
    Ok(StateCount {
        queue: required(row.text("queue")?, "queue")?,
        state: required(row.text("state")?, "state")?.parse()?,
        tenant: row.text("tenant")?,
        count: narrow(required(row.int("count")?, "count")?, "count")?,
    })
}

/// One queue's due jobs: columns `queue`, `due`, `oldest_due_at`.
pub fn queue_depth(row: &impl Columns) -> Result<errand_core::store::QueueDepth> {
    Ok(errand_core::store::QueueDepth {
        queue: required(row.text("queue")?, "queue")?,
        due: narrow(required(row.int("due")?, "due")?, "due")?,
        oldest_due_at: row.time("oldest_due_at")?,
    })
}

/// The first two columns of each row as a pair (a kind and its count, an
/// id and its kind).
pub fn pairs<R, A, B>(rows: &[R], error: fn(sqlx::Error) -> Error) -> Result<Vec<(A, B)>>
where
    R: Row,
    usize: ColumnIndex<R>,
    A: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    B: for<'r> Decode<'r, R::Database> + Type<R::Database>,
{
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get(0).map_err(error)?,
                row.try_get(1).map_err(error)?,
            ))
        })
        .collect()
}

/// Claim candidates: id, kind and tenant, the first three columns of each
/// row.
pub fn candidates<R>(
    rows: &[R],
    error: fn(sqlx::Error) -> Error,
) -> Result<Vec<(i64, String, Option<String>)>>
where
    R: Row,
    usize: ColumnIndex<R>,
    i64: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    String: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    Option<String>: for<'r> Decode<'r, R::Database>,
{
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get(0).map_err(error)?,
                row.try_get(1).map_err(error)?,
                row.try_get(2).map_err(error)?,
            ))
        })
        .collect()
}

fn tenant_of(stored: Option<String>) -> Option<String> {
    stored.filter(|tenant| !tenant.is_empty())
}

/// A cron entry selected with every column of the entries table.
pub fn entry_row(row: &impl Columns) -> Result<EntryRow> {
    let text = |column: &str| -> Result<String> { required(row.text(column)?, column) };
    Ok(EntryRow {
        name: text("name")?,
        tenant: tenant_of(row.text("tenant")?),
        kind: text("kind")?,
        input: row.json("input")?.unwrap_or(serde_json::Value::Null),
        schedule: text("schedule")?,
        zone: text("zone")?,
        queue: row.text("queue")?,
        priority: row
            .int("priority")?
            .map(|p| narrow(p, "priority"))
            .transpose()?,
        max_attempts: row
            .int("max_attempts")?
            .map(|n| narrow(n, "max_attempts"))
            .transpose()?,
        meta: decoded::<BTreeMap<String, String>>(row.json("meta")?, "meta")?,
        overlap: text("overlap")?.parse()?,
        missed: text("missed")?.parse()?,
        enabled: row.flag("enabled")?,
        note: row.text("note")?,
        next_fire_at: row.time("next_fire_at")?,
        last_fire_at: row.time("last_fire_at")?,
        last_job_id: row.int("last_job_id")?.map(JobId),
        buffered_fire_at: row.time("buffered_fire_at")?,
        created_at: required(row.time("created_at")?, "created_at")?,
        updated_at: required(row.time("updated_at")?, "updated_at")?,
    })
}

/// A record of a cron entry's ledger.
pub fn ledger_record(row: &impl Columns) -> Result<LedgerRecord> {
    Ok(LedgerRecord {
        fire_at: required(row.time("fire_at")?, "fire_at")?,
        decided_at: required(row.time("decided_at")?, "decided_at")?,
        reason: required(row.text("reason")?, "reason")?.parse()?,
        fires: narrow(required(row.int("fires")?, "fires")?, "fires")?,
        job_id: row.int("job_id")?.map(JobId),
    })
}

/// A pause (columns `scope`, `name`, `paused_by`, `note`, `paused_at`).
pub fn pause_row(row: &impl Columns) -> Result<Pause> {
    Ok(Pause {
        scope: PauseScope::from_parts(
            &required(row.text("scope")?, "scope")?,
            &required(row.text("name")?, "name")?,
        )
        .map_err(|e| Error::backend_msg(format!("stored pause does not decode: {e}")))?,
        by: required(row.text("paused_by")?, "paused_by")?,
        note: row.text("note")?,
        at: required(row.time("paused_at")?, "paused_at")?,
    })
}

/// The key and the state of a cron entry as its fires are written
/// (columns `tenant`, `name`, `enabled`, `next_fire_at`, `last_fire_at`,
/// `buffered_fire_at`, and `last_job_state`, the stored state of its
/// latest job if that job still exists).
pub fn fire_state(row: &impl Columns) -> Result<(EntryKey, FireState)> {
    let key = EntryKey {
        tenant: tenant_of(row.text("tenant")?),
        name: required(row.text("name")?, "name")?,
    };
    let last_job_state = row.text("last_job_state")?;
    Ok((
        key,
        FireState {
            enabled: row.flag("enabled")?,
            next_fire_at: row.time("next_fire_at")?,
            last_fire_at: row.time("last_fire_at")?,
            buffered_fire_at: row.time("buffered_fire_at")?,
            last_job_unfinished: last_job_state.is_some_and(|state| {
                !matches!(state.as_str(), "completed" | "failed" | "cancelled")
            }),
        },
    ))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use serde_json::json;

    /// A row as a map from column to JSON value.
    struct Map(HashMap<&'static str, serde_json::Value>);

    impl Map {
        fn get(&self, column: &str) -> Option<&serde_json::Value> {
            self.0.get(column).filter(|v| !v.is_null())
        }
    }

    impl Columns for Map {
        fn text(&self, column: &str) -> Result<Option<String>> {
            Ok(self.get(column).and_then(|v| v.as_str()).map(str::to_owned))
        }
        fn int(&self, column: &str) -> Result<Option<i64>> {
            Ok(self.get(column).and_then(serde_json::Value::as_i64))
        }
        fn time(&self, column: &str) -> Result<Option<DateTime<Utc>>> {
            Ok(self.int(column)?.and_then(DateTime::from_timestamp_micros))
        }
        fn json(&self, column: &str) -> Result<Option<serde_json::Value>> {
            Ok(self.get(column).cloned())
        }
        fn flag(&self, column: &str) -> Result<bool> {
            Ok(self.get(column).and_then(|v| v.as_bool()).unwrap_or(false))
        }
    }

    fn waiting_job() -> Map {
        Map(HashMap::from([
            ("id", json!(7)),
            ("kind", json!("email")),
            ("queue", json!("default")),
            ("priority", json!(-3)),
            ("input", json!({"to": "ada"})),
            ("errors", json!([])),
            ("state", json!("available")),
            ("attempt", json!(1)),
            ("max_attempts", json!(5)),
            ("run_at", json!(2_000_000)),
            ("created_at", json!(1_000_000)),
            ("meta", json!({"trace": "x"})),
            ("cron_name", json!("nightly")),
            ("cron_fire_at", json!(1_500_000)),
            ("cancel_requested", json!(false)),
        ]))
    }

    #[test]
    fn a_waiting_job_decodes_with_its_public_state_at_now() {
        let before = DateTime::from_timestamp_micros(1_000_000).unwrap();
        let after = DateTime::from_timestamp_micros(3_000_000).unwrap();
        let row = waiting_job();
        let job = job_row(&row, before).unwrap();
        assert_eq!(job.id, JobId(7));
        assert_eq!(job.priority, -3);
        assert_eq!(job.state, JobState::Retrying);
        assert_eq!(job.cron.as_ref().map(|c| c.name.as_str()), Some("nightly"));
        assert_eq!(job.meta.get("trace").map(String::as_str), Some("x"));
        assert_eq!(job.output, None);
        assert_eq!(job_row(&row, after).unwrap().state, JobState::Available);
    }

    #[test]
    fn an_out_of_range_or_missing_column_is_an_error_naming_it() {
        let mut row = waiting_job();
        row.0.insert("priority", json!(100_000));
        let err = job_row(&row, Utc::now()).unwrap_err().to_string();
        assert!(err.contains("priority") && err.contains("100000"), "{err}");
        let mut row = waiting_job();
        row.0.remove("kind");
        let err = job_row(&row, Utc::now()).unwrap_err().to_string();
        assert!(err.contains("kind"), "{err}");
        let mut row = waiting_job();
        row.0.insert("errors", json!("not a list"));
        let err = job_row(&row, Utc::now()).unwrap_err().to_string();
        assert!(err.contains("errors"), "{err}");
    }

    #[test]
    fn a_stats_line_decodes_and_an_unknown_state_is_an_error() {
        let line = Map(HashMap::from([
            ("queue", json!("mail")),
            ("state", json!("completed")),
            ("count", json!(12)),
        ]));
        let count = state_count(&line).unwrap();
        assert_eq!(
            (count.queue.as_str(), count.state, count.count),
            ("mail", JobState::Completed, 12)
        );
        let odd = Map(HashMap::from([
            ("queue", json!("mail")),
            ("state", json!("sleeping")),
            ("count", json!(1)),
        ]));
        assert!(state_count(&odd).is_err());
    }
}
