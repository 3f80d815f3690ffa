use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use errand_core::{AttemptError, CronRef, Error, JobId, JobRow, JobState, Result};

/// Times are stored as unix microseconds.
pub(crate) fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn corrupt(id: i64, field: &str, why: impl std::fmt::Display) -> Error {
    Error::Backend(format!("job {id}: stored {field} is unreadable: {why}"))
}

/// The fields of one job hash.
pub(crate) struct Fields {
    id: i64,
    map: HashMap<String, String>,
}

impl Fields {
    pub fn new(id: i64, map: HashMap<String, String>) -> Self {
        Fields { id, map }
    }

    /// A field's value; an empty one counts as absent (scripts clear a
    /// field by emptying it when that saves a command).
    fn text(&self, field: &str) -> Option<&str> {
        self.map
            .get(field)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn required(&self, field: &str) -> Result<&str> {
        self.text(field)
            .ok_or_else(|| corrupt(self.id, field, "missing"))
    }

    fn int(&self, field: &str) -> Result<Option<i64>> {
        self.text(field)
            .map(|v| v.parse::<i64>().map_err(|e| corrupt(self.id, field, e)))
            .transpose()
    }

    fn required_int(&self, field: &str) -> Result<i64> {
        self.int(field)?
            .ok_or_else(|| corrupt(self.id, field, "missing"))
    }

    fn time(&self, field: &str) -> Result<Option<DateTime<Utc>>> {
        self.int(field)?
            .map(|us| {
                DateTime::from_timestamp_micros(us)
                    .ok_or_else(|| corrupt(self.id, field, format!("{us} is out of range")))
            })
            .transpose()
    }

    fn required_time(&self, field: &str) -> Result<DateTime<Utc>> {
        self.time(field)?
            .ok_or_else(|| corrupt(self.id, field, "missing"))
    }

    fn json<T: serde::de::DeserializeOwned>(&self, field: &str) -> Result<Option<T>> {
        self.text(field)
            .map(|v| serde_json::from_str(v).map_err(|e| corrupt(self.id, field, e)))
            .transpose()
    }

    /// The job as every store returns it, its public state derived at `now`.
    pub fn into_row(self, now: DateTime<Utc>) -> Result<JobRow> {
        let attempt = u32::try_from(self.required_int("attempt")?).unwrap_or(0);
        let run_at = self.required_time("run_at")?;
        let stored = self.required("state")?;
        let state = if stored == "available" {
            JobState::of_waiting(run_at, attempt, now)
        } else {
            stored.parse::<JobState>()?
        };
        let cron = match (self.text("cron_name"), self.time("cron_fire_at")?) {
            (Some(name), Some(fire_at)) => Some(CronRef {
                name: name.to_owned(),
                fire_at,
            }),
            _ => None,
        };
        let priority = self.required_int("priority")?;
        let max_attempts = self.required_int("max_attempts")?;
        Ok(JobRow {
            id: JobId(self.id),
            kind: self.required("kind")?.to_owned(),
            queue: self.required("queue")?.to_owned(),
            priority: i16::try_from(priority).unwrap_or(i16::MAX),
            tenant: self.text("tenant").map(str::to_owned),
            input: self.json("input")?.unwrap_or(serde_json::Value::Null),
            output: self.json("output")?,
            errors: self
                .json::<Vec<AttemptError>>("errors")?
                .unwrap_or_default(),
            state,
            attempt,
            max_attempts: u32::try_from(max_attempts).unwrap_or(u32::MAX),
            run_at,
            created_at: self.required_time("created_at")?,
            started_at: self.time("started_at")?,
            finished_at: self.time("finished_at")?,
            lease_until: self.time("lease_until")?,
            worker: self.text("worker").map(str::to_owned),
            unique_key: self.text("unique_key").map(str::to_owned),
            batch_id: self.int("batch_id")?,
            cron,
            meta: self
                .json::<BTreeMap<String, String>>("meta")?
                .unwrap_or_default(),
            cancel_requested: self.text("cancel_requested") == Some("1"),
        })
    }
}
