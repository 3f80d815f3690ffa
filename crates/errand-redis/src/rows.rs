use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use errand_core::{AttemptError, CronRef, Error, JobId, JobRow, JobState, NewJob, Result};
use serde::{Deserialize, Serialize};

/// Times are stored as unix microseconds.
pub(crate) fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn corrupt(id: i64, field: &str, why: impl std::fmt::Display) -> Error {
    Error::backend_msg(format!("job {id}: stored {field} is unreadable: {why}"))
}

/// What never changes about a job, stored as one JSON field (`spec`): a
/// claim reads and parses it in one piece instead of a dozen hash fields.
/// Kind, queue, priority, tenant and unique key are also fields of their
/// own, for the scripts.
#[derive(Serialize)]
pub(crate) struct SpecRef<'a> {
    // First, so that a script can set it in a stored spec without parsing
    // JSON (a batch's continuations are created when it finishes).
    created_at: i64,
    kind: &'a str,
    queue: &'a str,
    priority: i16,
    #[serde(skip_serializing_if = "Option::is_none")]
    tenant: Option<&'a str>,
    input: &'a serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    unique_key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    batch_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cron: Option<&'a CronRef>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    meta: &'a BTreeMap<String, String>,
}

impl<'a> SpecRef<'a> {
    pub(crate) fn of(job: &'a NewJob, now: DateTime<Utc>) -> Self {
        SpecRef {
            created_at: micros(now),
            kind: &job.kind,
            queue: &job.queue,
            priority: job.priority,
            tenant: job.tenant.as_deref(),
            input: &job.input,
            unique_key: job.unique.as_ref().map(|u| u.key.as_str()),
            batch_id: job.batch_id,
            cron: job.cron.as_ref(),
            meta: &job.meta,
        }
    }
}

/// [`SpecRef`] as read back.
#[derive(Deserialize)]
struct Spec {
    kind: String,
    queue: String,
    priority: i16,
    #[serde(default)]
    tenant: Option<String>,
    #[serde(default)]
    input: serde_json::Value,
    created_at: i64,
    #[serde(default)]
    unique_key: Option<String>,
    #[serde(default)]
    batch_id: Option<i64>,
    #[serde(default)]
    cron: Option<CronRef>,
    #[serde(default)]
    meta: BTreeMap<String, String>,
}

/// The fields of one job hash.
pub(crate) struct Fields {
    id: i64,
    map: HashMap<String, String>,
}

impl Fields {
    pub(crate) fn new(id: i64, map: HashMap<String, String>) -> Self {
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
    /// A running job's claim (`running`) goes over the hash, which keeps the
    /// state the job was claimed in (see `prelude.lua`).
    pub(crate) fn into_row(self, now: DateTime<Utc>, running: Option<Running>) -> Result<JobRow> {
        let run_at = self.required_time("run_at")?;
        let time = |field: &str, us: i64| {
            DateTime::from_timestamp_micros(us)
                .ok_or_else(|| corrupt(self.id, field, format!("{us} is out of range")))
        };
        let (state, attempt, worker, started_at, lease_until, cancel_requested) = match running {
            Some(r) => (
                JobState::Running,
                u32::try_from(r.claim.attempt).unwrap_or(0),
                Some(r.claim.worker),
                Some(time("claim", r.claim.started_at)?),
                r.lease_until.map(|us| time("lease", us)).transpose()?,
                r.cancel_requested,
            ),
            None => {
                let attempt = u32::try_from(self.required_int("attempt")?).unwrap_or(0);
                let stored = self.required("state")?;
                let state = if stored == "available" {
                    JobState::of_waiting(run_at, attempt, now)
                } else {
                    stored.parse::<JobState>()?
                };
                let worker = self.text("worker").map(str::to_owned);
                (
                    state,
                    attempt,
                    worker,
                    self.time("started_at")?,
                    None,
                    false,
                )
            }
        };
        let spec: Spec = self
            .json("spec")?
            .ok_or_else(|| corrupt(self.id, "spec", "missing"))?;
        let max_attempts = self.required_int("max_attempts")?;
        let created_at = DateTime::from_timestamp_micros(spec.created_at).ok_or_else(|| {
            corrupt(
                self.id,
                "spec",
                format!("created_at {} is out of range", spec.created_at),
            )
        })?;
        Ok(JobRow {
            id: JobId(self.id),
            kind: spec.kind,
            queue: spec.queue,
            priority: spec.priority,
            tenant: spec.tenant,
            input: spec.input,
            output: self.json("output")?,
            errors: self
                .json::<Vec<AttemptError>>("errors")?
                .unwrap_or_default(),
            state,
            attempt,
            max_attempts: u32::try_from(max_attempts).unwrap_or(u32::MAX),
            run_at,
            created_at,
            started_at,
            finished_at: self.time("finished_at")?,
            lease_until,
            worker,
            unique_key: spec.unique_key,
            batch_id: spec.batch_id,
            cron: spec.cron,
            meta: spec.meta,
            cancel_requested,
        })
    }
}

/// What a running job's row takes from outside its hash: its claim, its
/// lease end (the score in `<prefix>:running`) and whether it was asked to
/// stop (`<prefix>:cancel`).
pub(crate) struct Running {
    pub claim: Claim,
    pub lease_until: Option<i64>,
    pub cancel_requested: bool,
}

/// A running job's entry in `<prefix>:claims`: `attempt started_at releases
/// len:kind` followed by the worker.
pub(crate) struct Claim {
    pub attempt: i64,
    pub started_at: i64,
    pub worker: String,
}

impl Claim {
    pub(crate) fn parse(id: i64, record: &str) -> Result<Claim> {
        let bad = || corrupt(id, "claim", format!("{record:?}"));
        let mut parts = record.splitn(4, ' ');
        let attempt = parts.next().and_then(|a| a.parse().ok()).ok_or_else(bad)?;
        let started_at = parts.next().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
        let _releases = parts.next().ok_or_else(bad)?;
        let rest = parts.next().ok_or_else(bad)?;
        let (len, rest) = rest.split_once(':').ok_or_else(bad)?;
        let len: usize = len.parse().map_err(|_| bad())?;
        let worker = rest.get(len..).ok_or_else(bad)?.to_owned();
        Ok(Claim {
            attempt,
            started_at,
            worker,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Claim;

    #[test]
    fn claim_records_keep_kinds_and_workers_with_any_characters() {
        let Ok(claim) = Claim::parse(7, "3 1763900000000000 1 6:a b:c:host 1:x y") else {
            panic!("a well-formed record was refused");
        };
        assert_eq!(claim.attempt, 3);
        assert_eq!(claim.started_at, 1_763_900_000_000_000);
        assert_eq!(claim.worker, "host 1:x y");
        for bad in ["", "3", "x 1 0 1:k", "3 1 0 9:short", "3 1 0 k"] {
            assert!(Claim::parse(7, bad).is_err(), "{bad:?} was accepted");
        }
    }
}
