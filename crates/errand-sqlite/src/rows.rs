use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use errand_core::{AttemptError, CronRef, Error, JobId, JobRow, JobState, Result};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::error::db_error;

/// Times are stored as unix microseconds.
pub(crate) fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

pub(crate) fn from_micros(us: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_micros(us)
        .ok_or_else(|| Error::backend_msg(format!("stored time {us} is out of range")))
}

fn opt_time(us: Option<i64>) -> Result<Option<DateTime<Utc>>> {
    us.map(from_micros).transpose()
}

fn json<T: serde::de::DeserializeOwned>(column: &str, text: &str) -> Result<T> {
    serde_json::from_str(text)
        .map_err(|e| Error::backend_msg(format!("stored {column} is not valid JSON: {e}")))
}

/// Decodes a row selected with the column list of `get.sql`.
pub(crate) fn job_row(row: &SqliteRow, now: DateTime<Utc>) -> Result<JobRow> {
    let get_err = db_error;
    let stored_state: String = row.try_get("state").map_err(get_err)?;
    let attempt: i64 = row.try_get("attempt").map_err(get_err)?;
    let attempt = u32::try_from(attempt).unwrap_or(0);
    let run_at = from_micros(row.try_get("run_at").map_err(get_err)?)?;
    let state = JobState::of_stored(&stored_state, run_at, attempt, now)?;
    let output: Option<String> = row.try_get("output").map_err(get_err)?;
    let errors: String = row.try_get("errors").map_err(get_err)?;
    let meta: String = row.try_get("meta").map_err(get_err)?;
    let input: String = row.try_get("input").map_err(get_err)?;
    let cron_name: Option<String> = row.try_get("cron_name").map_err(get_err)?;
    let cron_fire_at: Option<i64> = row.try_get("cron_fire_at").map_err(get_err)?;
    let cron = match (cron_name, cron_fire_at) {
        (Some(name), Some(at)) => Some(CronRef {
            name,
            fire_at: from_micros(at)?,
        }),
        _ => None,
    };
    let max_attempts: i64 = row.try_get("max_attempts").map_err(get_err)?;
    let priority: i64 = row.try_get("priority").map_err(get_err)?;
    Ok(JobRow {
        id: JobId(row.try_get("id").map_err(get_err)?),
        kind: row.try_get("kind").map_err(get_err)?,
        queue: row.try_get("queue").map_err(get_err)?,
        priority: i16::try_from(priority).unwrap_or(i16::MAX),
        tenant: row.try_get("tenant").map_err(get_err)?,
        input: json("input", &input)?,
        output: output.as_deref().map(|o| json("output", o)).transpose()?,
        errors: json::<Vec<AttemptError>>("errors", &errors)?,
        state,
        attempt,
        max_attempts: u32::try_from(max_attempts).unwrap_or(u32::MAX),
        run_at,
        created_at: from_micros(row.try_get("created_at").map_err(get_err)?)?,
        started_at: opt_time(row.try_get("started_at").map_err(get_err)?)?,
        finished_at: opt_time(row.try_get("finished_at").map_err(get_err)?)?,
        lease_until: opt_time(row.try_get("lease_until").map_err(get_err)?)?,
        worker: row.try_get("worker").map_err(get_err)?,
        unique_key: row.try_get("unique_key").map_err(get_err)?,
        batch_id: row.try_get("batch_id").map_err(get_err)?,
        cron,
        meta: json::<BTreeMap<String, String>>("meta", &meta)?,
        cancel_requested: row.try_get::<i64, _>("cancel_requested").map_err(get_err)? != 0,
    })
}

/// The first two columns of each row as a pair (a kind and its count, an
/// id and its kind).
pub(crate) fn pairs<A, B>(rows: &[SqliteRow]) -> Result<Vec<(A, B)>>
where
    A: for<'r> sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
    B: for<'r> sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
{
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get(0).map_err(db_error)?,
                row.try_get(1).map_err(db_error)?,
            ))
        })
        .collect()
}
