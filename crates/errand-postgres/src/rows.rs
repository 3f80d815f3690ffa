//! Reading PostgreSQL rows as errand's types; what a job is, is decoded once
//! in `errand_sql::rows`.

use chrono::{DateTime, Utc};
use errand_core::{JobRow, Result};
use sqlx::postgres::PgRow;
use sqlx::{Column, Row, TypeInfo};

use crate::error::db_error;

/// A PostgreSQL row read through [`errand_sql::Columns`].
pub(crate) struct PgColumns<'r>(pub(crate) &'r PgRow);

impl errand_sql::Columns for PgColumns<'_> {
    fn text(&self, column: &str) -> Result<Option<String>> {
        self.0.try_get(column).map_err(db_error)
    }

    fn int(&self, column: &str) -> Result<Option<i64>> {
        // Columns are as narrow as their values allow (priority smallint,
        // attempts integer); sqlx decodes each width only as its own type.
        let width = self
            .0
            .try_column(column)
            .map_err(db_error)?
            .type_info()
            .name();
        Ok(match width {
            "INT2" => self
                .0
                .try_get::<Option<i16>, _>(column)
                .map_err(db_error)?
                .map(i64::from),
            "INT4" => self
                .0
                .try_get::<Option<i32>, _>(column)
                .map_err(db_error)?
                .map(i64::from),
            _ => self.0.try_get(column).map_err(db_error)?,
        })
    }

    fn time(&self, column: &str) -> Result<Option<DateTime<Utc>>> {
        self.0.try_get(column).map_err(db_error)
    }

    fn json(&self, column: &str) -> Result<Option<serde_json::Value>> {
        self.0.try_get(column).map_err(db_error)
    }

    fn flag(&self, column: &str) -> Result<bool> {
        self.0.try_get(column).map_err(db_error)
    }
}

/// Decodes a row selected with the column list of `get.sql`.
pub(crate) fn job_row(row: &PgRow, now: DateTime<Utc>) -> Result<JobRow> {
    errand_sql::rows::job_row(&PgColumns(row), now)
}

/// The first two columns of each row as a pair (a kind and its count, an
/// id and its kind).
/// Claim candidates: id, kind, tenant.
pub(crate) fn candidates(rows: &[PgRow]) -> Result<Vec<(i64, String, Option<String>)>> {
    errand_sql::rows::candidates(rows, db_error)
}

pub(crate) fn pairs<A, B>(rows: &[PgRow]) -> Result<Vec<(A, B)>>
where
    A: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
    B: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    errand_sql::rows::pairs(rows, db_error)
}
