use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use errand_core::{AttemptError, CronRef, Error, JobId, JobRow, JobState, Result};
use sqlx::Row;
use sqlx::postgres::PgRow;

use crate::error::db_error;

fn json<T: serde::de::DeserializeOwned>(column: &str, value: serde_json::Value) -> Result<T> {
    serde_json::from_value(value)
        .map_err(|e| Error::backend_msg(format!("stored {column} does not decode: {e}")))
}

/// Decodes a row selected with the column list of `get.sql`.
pub(crate) fn job_row(row: &PgRow, now: DateTime<Utc>) -> Result<JobRow> {
    let stored_state: String = row.try_get("state").map_err(db_error)?;
    let attempt: i32 = row.try_get("attempt").map_err(db_error)?;
    let attempt = u32::try_from(attempt).unwrap_or(0);
    let run_at: DateTime<Utc> = row.try_get("run_at").map_err(db_error)?;
    let state = JobState::of_stored(&stored_state, run_at, attempt, now)?;
    let cron_name: Option<String> = row.try_get("cron_name").map_err(db_error)?;
    let cron_fire_at: Option<DateTime<Utc>> = row.try_get("cron_fire_at").map_err(db_error)?;
    let max_attempts: i32 = row.try_get("max_attempts").map_err(db_error)?;
    Ok(JobRow {
        id: JobId(row.try_get("id").map_err(db_error)?),
        kind: row.try_get("kind").map_err(db_error)?,
        queue: row.try_get("queue").map_err(db_error)?,
        priority: row.try_get("priority").map_err(db_error)?,
        tenant: row.try_get("tenant").map_err(db_error)?,
        input: row.try_get("input").map_err(db_error)?,
        output: row.try_get("output").map_err(db_error)?,
        errors: json::<Vec<AttemptError>>("errors", row.try_get("errors").map_err(db_error)?)?,
        state,
        attempt,
        max_attempts: u32::try_from(max_attempts).unwrap_or(0),
        run_at,
        created_at: row.try_get("created_at").map_err(db_error)?,
        started_at: row.try_get("started_at").map_err(db_error)?,
        finished_at: row.try_get("finished_at").map_err(db_error)?,
        lease_until: row.try_get("lease_until").map_err(db_error)?,
        worker: row.try_get("worker").map_err(db_error)?,
        unique_key: row.try_get("unique_key").map_err(db_error)?,
        batch_id: row.try_get("batch_id").map_err(db_error)?,
        cron: match (cron_name, cron_fire_at) {
            (Some(name), Some(fire_at)) => Some(CronRef { name, fire_at }),
            _ => None,
        },
        meta: json::<BTreeMap<String, String>>("meta", row.try_get("meta").map_err(db_error)?)?,
        cancel_requested: row.try_get("cancel_requested").map_err(db_error)?,
    })
}

/// The first two columns of each row as a pair (a kind and its count, an
/// id and its kind).
pub(crate) fn pairs<A, B>(rows: &[PgRow]) -> Result<Vec<(A, B)>>
where
    A: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
    B: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
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
