//! Reading SQLite rows as errand's types; what a job is, is decoded once in
//! `errand_sql::rows`.

use chrono::{DateTime, Utc};
use errand_core::{Error, JobRow, Result};
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

/// A SQLite row read through [`errand_sql::Columns`]: times are integers of
/// microseconds, JSON is text, flags are 0 or 1.
pub(crate) struct SqliteColumns<'r>(pub(crate) &'r SqliteRow);

impl errand_sql::Columns for SqliteColumns<'_> {
    fn text(&self, column: &str) -> Result<Option<String>> {
        self.0.try_get(column).map_err(db_error)
    }

    fn int(&self, column: &str) -> Result<Option<i64>> {
        self.0.try_get(column).map_err(db_error)
    }

    fn time(&self, column: &str) -> Result<Option<DateTime<Utc>>> {
        self.int(column)?.map(from_micros).transpose()
    }

    fn json(&self, column: &str) -> Result<Option<serde_json::Value>> {
        self.text(column)?
            .map(|text| {
                serde_json::from_str(&text).map_err(|e| {
                    Error::backend_msg(format!("stored {column} is not valid JSON: {e}"))
                })
            })
            .transpose()
    }

    fn flag(&self, column: &str) -> Result<bool> {
        Ok(self.int(column)?.is_some_and(|v| v != 0))
    }
}

/// Decodes a row selected with the column list of `get.sql`.
pub(crate) fn job_row(row: &SqliteRow, now: DateTime<Utc>) -> Result<JobRow> {
    errand_sql::rows::job_row(&SqliteColumns(row), now)
}

/// The first two columns of each row as a pair (a kind and its count, an
/// id and its kind).
/// Claim candidates: id, kind, tenant.
pub(crate) fn candidates(rows: &[SqliteRow]) -> Result<Vec<(i64, String, Option<String>)>> {
    errand_sql::rows::candidates(rows, db_error)
}

pub(crate) fn pairs<A, B>(rows: &[SqliteRow]) -> Result<Vec<(A, B)>>
where
    A: for<'r> sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
    B: for<'r> sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
{
    errand_sql::rows::pairs(rows, db_error)
}
