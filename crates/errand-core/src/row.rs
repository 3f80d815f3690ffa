use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::JobState;

/// The id of a job, assigned by the store. Also an extractor: a job function
/// that takes a `JobId` parameter receives the id of the job it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(pub i64);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<i64> for JobId {
    fn from(id: i64) -> Self {
        JobId(id)
    }
}

/// Why an attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The job returned an error that may succeed on a later attempt.
    Error,
    /// The job returned an error that retrying cannot fix.
    Fatal,
    /// The job panicked.
    Panic,
    /// The attempt ran longer than the job's timeout.
    Timeout,
    /// The worker running it stopped renewing its lease (it died or hung).
    LeaseExpired,
    /// The stored input does not deserialize into the job's input type.
    Deserialize,
    /// The job was cancelled.
    Cancelled,
}

impl ErrorKind {
    /// The snake_case name stored with the error.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Error => "error",
            ErrorKind::Fatal => "fatal",
            ErrorKind::Panic => "panic",
            ErrorKind::Timeout => "timeout",
            ErrorKind::LeaseExpired => "lease_expired",
            ErrorKind::Deserialize => "deserialize",
            ErrorKind::Cancelled => "cancelled",
        }
    }
}

/// The error of one failed attempt, kept on the job for every attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptError {
    /// The attempt (1-based) that failed.
    pub attempt: u32,
    /// When it failed.
    pub at: DateTime<Utc>,
    /// What went wrong, as the job or the runtime said it.
    pub message: String,
    /// The category of failure.
    pub kind: ErrorKind,
}

/// Which cron entry created a job, and for which fire time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CronRef {
    /// The entry's name.
    pub name: String,
    /// The fire time this job stands for.
    pub fire_at: DateTime<Utc>,
}

/// A stored job, as every store returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRow {
    /// Assigned by the store.
    pub id: JobId,
    /// The job kind: which handler runs it.
    pub kind: String,
    /// The queue it waits in.
    pub queue: String,
    /// Smaller runs first within a queue.
    pub priority: i16,
    /// The tenant it belongs to, if any.
    pub tenant: Option<String>,
    /// The serialized input.
    pub input: serde_json::Value,
    /// The serialized output, once completed.
    pub output: Option<serde_json::Value>,
    /// One entry per failed attempt, oldest first.
    pub errors: Vec<AttemptError>,
    /// The public state at the `now` of the read.
    pub state: JobState,
    /// Attempts started so far (a snoozed or released attempt does not count).
    pub attempt: u32,
    /// Attempts allowed before the job fails for good.
    pub max_attempts: u32,
    /// When it is due.
    pub run_at: DateTime<Utc>,
    /// When it was enqueued.
    pub created_at: DateTime<Utc>,
    /// When its latest attempt started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it finished (completed, failed or cancelled).
    pub finished_at: Option<DateTime<Utc>>,
    /// Until when the running worker holds it.
    pub lease_until: Option<DateTime<Utc>>,
    /// The worker that runs (or last ran) it.
    pub worker: Option<String>,
    /// The unique key it was enqueued with.
    pub unique_key: Option<String>,
    /// The batch it belongs to.
    pub batch_id: Option<i64>,
    /// The cron entry and fire time that created it.
    pub cron: Option<CronRef>,
    /// Free-form string metadata.
    pub meta: BTreeMap<String, String>,
    /// Someone asked the running attempt to stop.
    pub cancel_requested: bool,
}
