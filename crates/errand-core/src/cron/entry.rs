//! A cron entry: what it enqueues, when, and what happens when fires overlap
//! or are missed; and the entry as a store keeps it.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{CustomSchedule, Schedule, zone};
use crate::{CronRef, Error, Job, JobId, NewJob, Result, validate};

/// What a fire does while the entry's previous job has not finished.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Overlap {
    /// Enqueue anyway: runs may overlap.
    #[default]
    Allow,
    /// Skip the fire (recorded as skipped because running).
    Skip,
    /// Keep at most one fire waiting; it is enqueued when the previous job
    /// finishes. Further fires meanwhile are skipped.
    BufferOne,
}

/// What happens to fire times that passed while no scheduler ran (longer
/// ago than the scheduler's grace when it looks).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Missed {
    /// Record them as missed; enqueue nothing for them.
    #[default]
    Skip,
    /// Enqueue one job, for the latest missed fire.
    Coalesce,
    /// Enqueue the missed fires oldest first, each with its own fire time,
    /// at most this many; the rest are recorded as missed.
    CatchUp(u32),
}

/// The most fires [`Missed::CatchUp`] may enqueue at once.
pub const MAX_CATCH_UP: u32 = 1000;

impl Overlap {
    /// The stored name: `allow`, `skip`, `buffer_one`.
    pub fn as_str(self) -> &'static str {
        match self {
            Overlap::Allow => "allow",
            Overlap::Skip => "skip",
            Overlap::BufferOne => "buffer_one",
        }
    }
}

impl fmt::Display for Overlap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Overlap {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        match text {
            "allow" => Ok(Overlap::Allow),
            "skip" => Ok(Overlap::Skip),
            "buffer_one" => Ok(Overlap::BufferOne),
            other => Err(Error::invalid(
                "overlap",
                other,
                "must be allow, skip or buffer_one",
            )),
        }
    }
}

impl fmt::Display for Missed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Missed::Skip => f.write_str("skip"),
            Missed::Coalesce => f.write_str("coalesce"),
            Missed::CatchUp(max) => write!(f, "catch_up:{max}"),
        }
    }
}

impl FromStr for Missed {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let bad = || {
            Error::invalid(
                "missed",
                text,
                format!("must be skip, coalesce or catch_up:N with N from 1 to {MAX_CATCH_UP}"),
            )
        };
        match text {
            "skip" => Ok(Missed::Skip),
            "coalesce" => Ok(Missed::Coalesce),
            _ => {
                let max = text
                    .strip_prefix("catch_up:")
                    .and_then(|n| n.parse::<u32>().ok())
                    .ok_or_else(bad)?;
                if !(1..=MAX_CATCH_UP).contains(&max) {
                    return Err(bad());
                }
                Ok(Missed::CatchUp(max))
            }
        }
    }
}

macro_rules! serde_as_text {
    ($ty:ty) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(
                &self,
                serializer: S,
            ) -> std::result::Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(
                deserializer: D,
            ) -> std::result::Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

serde_as_text!(Overlap);
serde_as_text!(Missed);

/// The text a custom schedule is stored as: only code that defines the
/// entry can compute its fire times.
pub const CUSTOM_PREFIX: &str = "@custom";

/// A cron entry's definition: a job kind and input enqueued on a schedule.
///
/// ```
/// use errand_core::cron::{Entry, Overlap};
/// let nightly = Entry::new("nightly-cleanup", "cleanup", serde_json::json!({}), "0 3 * * *")
///     .unwrap()
///     .zone("Europe/Berlin")
///     .unwrap()
///     .overlap(Overlap::Skip);
/// assert_eq!(nightly.schedule.describe(), "0 3 * * *");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Unique per tenant.
    pub name: String,
    /// The tenant the entry and its jobs belong to.
    pub tenant: Option<String>,
    /// The job kind it enqueues.
    pub kind: String,
    /// The input of each job.
    pub input: serde_json::Value,
    /// When it fires.
    pub schedule: Schedule,
    /// The time zone its schedule is read in (default UTC).
    pub zone: Tz,
    /// The queue of its jobs (default: the default queue).
    pub queue: Option<String>,
    /// The priority of its jobs.
    pub priority: Option<i16>,
    /// The attempt limit of its jobs.
    pub max_attempts: Option<u32>,
    /// Metadata copied to its jobs.
    pub meta: BTreeMap<String, String>,
    /// What a fire does while the previous job runs.
    pub overlap: Overlap,
    /// What happens to fires missed while no scheduler ran.
    pub missed: Missed,
}

impl Entry {
    /// An entry that enqueues `kind` with `input` on `schedule` (a cron
    /// expression, a nickname or `@every <duration>`), in UTC.
    pub fn new(
        name: impl Into<String>,
        kind: impl Into<String>,
        input: serde_json::Value,
        schedule: &str,
    ) -> Result<Self> {
        let name = name.into();
        let parsed = Schedule::parse(schedule).map_err(|e| in_entry(&name, e))?;
        Entry::with_schedule(name, kind, input, parsed)
    }

    /// An entry that enqueues the job `J` with `input` on `schedule`, with
    /// the queue and attempt limit `J` declares.
    pub fn of<J: Job>(name: impl Into<String>, schedule: &str, input: J::Input) -> Result<Self> {
        let name = name.into();
        let input = serde_json::to_value(input)
            .map_err(|e| in_entry(&name, Error::invalid("input", J::KIND, e.to_string())))?;
        let mut entry = Entry::new(name, J::KIND, input, schedule)?;
        let options = J::options();
        entry.queue = options.queue;
        entry.priority = options.priority;
        entry.max_attempts = options.max_attempts;
        Ok(entry)
    }

    /// An entry on a schedule written in Rust (entries defined in code only).
    pub fn custom(
        name: impl Into<String>,
        kind: impl Into<String>,
        input: serde_json::Value,
        schedule: impl CustomSchedule,
    ) -> Result<Self> {
        Entry::with_schedule(name.into(), kind, input, Schedule::custom(schedule))
    }

    fn with_schedule(
        name: String,
        kind: impl Into<String>,
        input: serde_json::Value,
        schedule: Schedule,
    ) -> Result<Self> {
        let entry = Entry {
            name,
            tenant: None,
            kind: kind.into(),
            input,
            schedule,
            zone: Tz::UTC,
            queue: None,
            priority: None,
            max_attempts: None,
            meta: BTreeMap::new(),
            overlap: Overlap::default(),
            missed: Missed::default(),
        };
        entry.validate()?;
        Ok(entry)
    }

    /// Reads the schedule in the IANA time zone `name`.
    pub fn zone(mut self, name: &str) -> Result<Self> {
        self.zone = zone(name).map_err(|e| in_entry(&self.name, e))?;
        Ok(self)
    }

    /// Puts the entry and its jobs under `tenant`.
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    /// The queue of its jobs.
    pub fn queue(mut self, queue: impl Into<String>) -> Self {
        self.queue = Some(queue.into());
        self
    }

    /// The priority of its jobs.
    pub fn priority(mut self, priority: i16) -> Self {
        self.priority = Some(priority);
        self
    }

    /// The attempt limit of its jobs.
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = Some(n);
        self
    }

    /// Adds metadata copied to its jobs.
    pub fn meta(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.meta.insert(key.into(), value.into());
        self
    }

    /// What a fire does while the previous job runs.
    pub fn overlap(mut self, overlap: Overlap) -> Self {
        self.overlap = overlap;
        self
    }

    /// What happens to missed fires.
    pub fn missed(mut self, missed: Missed) -> Self {
        self.missed = missed;
        self
    }

    /// Checks every field; an error names the entry, the field and the value.
    pub fn validate(&self) -> Result<()> {
        validate::cron_name(&self.name)?;
        let check = || -> Result<()> {
            validate::kind(&self.kind)?;
            if let Some(tenant) = &self.tenant {
                validate::tenant(tenant)?;
            }
            if let Some(queue) = &self.queue {
                validate::queue(queue)?;
            }
            if let Some(n) = self.max_attempts {
                validate::max_attempts(n)?;
            }
            for (key, value) in &self.meta {
                validate::meta_entry(key, value)?;
            }
            if let Missed::CatchUp(max) = self.missed
                && !(1..=MAX_CATCH_UP).contains(&max)
            {
                return Err(Error::invalid(
                    "missed",
                    self.missed,
                    format!("catch_up takes 1 to {MAX_CATCH_UP} fires"),
                ));
            }
            Ok(())
        };
        check().map_err(|e| in_entry(&self.name, e))
    }

    /// The schedule as stored: its text, or [`CUSTOM_PREFIX`] and the custom
    /// schedule's description.
    pub fn schedule_text(&self) -> String {
        if self.schedule.is_custom() {
            format!("{CUSTOM_PREFIX} {}", self.schedule.describe())
        } else {
            self.schedule.describe()
        }
    }

    /// The job of the fire at `fire_at`.
    pub fn job(&self, fire_at: DateTime<Utc>) -> NewJob {
        JobTemplate {
            name: &self.name,
            tenant: self.tenant.as_deref(),
            kind: &self.kind,
            input: &self.input,
            queue: self.queue.as_deref(),
            priority: self.priority,
            max_attempts: self.max_attempts,
            meta: &self.meta,
        }
        .job(fire_at)
    }
}

/// What an entry's jobs are made of, whichever form the entry is in.
struct JobTemplate<'a> {
    name: &'a str,
    tenant: Option<&'a str>,
    kind: &'a str,
    input: &'a serde_json::Value,
    queue: Option<&'a str>,
    priority: Option<i16>,
    max_attempts: Option<u32>,
    meta: &'a BTreeMap<String, String>,
}

impl JobTemplate<'_> {
    fn job(&self, fire_at: DateTime<Utc>) -> NewJob {
        let mut job = NewJob::new(self.kind, self.input.clone());
        if let Some(queue) = self.queue {
            job.queue = queue.to_string();
        }
        if let Some(priority) = self.priority {
            job.priority = priority;
        }
        if let Some(n) = self.max_attempts {
            job.max_attempts = n;
        }
        job.tenant = self.tenant.map(String::from);
        job.meta = self.meta.clone();
        job.cron = Some(CronRef {
            name: self.name.to_string(),
            fire_at,
        });
        job
    }
}

/// `error` with its field prefixed by the entry it concerns.
pub(crate) fn in_entry(name: &str, error: Error) -> Error {
    match error {
        Error::Invalid {
            field,
            value,
            reason,
        } => Error::Invalid {
            field: format!("cron entry {name:?} {field}"),
            value,
            reason,
        },
        other => other,
    }
}

/// A cron entry as the store keeps it: its definition as text, whether it
/// is enabled, and where its schedule stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntryRow {
    /// Unique per tenant.
    pub name: String,
    /// The tenant.
    pub tenant: Option<String>,
    /// The job kind.
    pub kind: String,
    /// The input of each job.
    pub input: serde_json::Value,
    /// The schedule's text (`@custom ...` for a schedule written in Rust).
    pub schedule: String,
    /// The IANA time zone.
    pub zone: String,
    /// The queue of its jobs.
    pub queue: Option<String>,
    /// The priority of its jobs.
    pub priority: Option<i16>,
    /// The attempt limit of its jobs.
    pub max_attempts: Option<u32>,
    /// Metadata copied to its jobs.
    pub meta: BTreeMap<String, String>,
    /// The overlap policy.
    pub overlap: Overlap,
    /// The missed-fire policy.
    pub missed: Missed,
    /// Disabled entries record their fire times as skipped.
    pub enabled: bool,
    /// Why it was disabled or enabled, as given.
    pub note: Option<String>,
    /// The next fire time not yet decided (`None`: it never fires again).
    pub next_fire_at: Option<DateTime<Utc>>,
    /// The latest fire time decided.
    pub last_fire_at: Option<DateTime<Utc>>,
    /// The latest job the entry enqueued.
    pub last_job_id: Option<JobId>,
    /// A fire waiting for the previous job to finish (overlap `buffer_one`).
    pub buffered_fire_at: Option<DateTime<Utc>>,
    /// When the entry was first written.
    pub created_at: DateTime<Utc>,
    /// When its definition or flag last changed.
    pub updated_at: DateTime<Utc>,
}

impl EntryRow {
    /// True when its next fire time is older than `grace` at `now`: no
    /// running worker that registers its kind has decided it (none runs,
    /// or none registers the kind).
    pub fn is_overdue(&self, now: DateTime<Utc>, grace: std::time::Duration) -> bool {
        let grace = chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::MAX);
        self.next_fire_at.is_some_and(|at| at < now - grace)
    }

    /// The job of a fire at `fire_at` (a trigger's, say), from the stored
    /// definition.
    pub fn job(&self, fire_at: DateTime<Utc>) -> NewJob {
        JobTemplate {
            name: &self.name,
            tenant: self.tenant.as_deref(),
            kind: &self.kind,
            input: &self.input,
            queue: self.queue.as_deref(),
            priority: self.priority,
            max_attempts: self.max_attempts,
            meta: &self.meta,
        }
        .job(fire_at)
    }

    /// The definition read back; fails for a custom schedule (only code
    /// that defines the entry has it) or text a store was given by hand.
    pub fn entry(&self) -> Result<Entry> {
        if self.schedule.starts_with(CUSTOM_PREFIX) {
            return Err(in_entry(
                &self.name,
                Error::invalid(
                    "schedule",
                    &self.schedule,
                    "a schedule written in Rust is known only to the code that defines the entry",
                ),
            ));
        }
        let mut entry = Entry::new(
            self.name.clone(),
            self.kind.clone(),
            self.input.clone(),
            &self.schedule,
        )?
        .zone(&self.zone)?;
        entry.tenant = self.tenant.clone();
        entry.queue = self.queue.clone();
        entry.priority = self.priority;
        entry.max_attempts = self.max_attempts;
        entry.meta = self.meta.clone();
        entry.overlap = self.overlap;
        entry.missed = self.missed;
        entry.validate()?;
        Ok(entry)
    }
}

/// Why a fire time was decided the way it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FireReason {
    /// Its job was enqueued (on time, or caught up).
    Enqueued,
    /// Skipped: the previous job of the entry had not finished.
    SkippedRunning,
    /// Skipped: the entry was disabled.
    SkippedDisabled,
    /// No scheduler ran at the time; nothing was enqueued.
    Missed,
    /// Missed fires folded into one job, for the latest of them.
    Coalesced,
    /// Waiting for the previous job to finish (overlap `buffer_one`).
    Buffered,
    /// Enqueued by hand (`trigger`), whatever the schedule and flag.
    Manual,
}

impl FireReason {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            FireReason::Enqueued => "enqueued",
            FireReason::SkippedRunning => "skipped_running",
            FireReason::SkippedDisabled => "skipped_disabled",
            FireReason::Missed => "missed",
            FireReason::Coalesced => "coalesced",
            FireReason::Buffered => "buffered",
            FireReason::Manual => "manual",
        }
    }
}

impl fmt::Display for FireReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FireReason {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        Ok(match text {
            "enqueued" => FireReason::Enqueued,
            "skipped_running" => FireReason::SkippedRunning,
            "skipped_disabled" => FireReason::SkippedDisabled,
            "missed" => FireReason::Missed,
            "coalesced" => FireReason::Coalesced,
            "buffered" => FireReason::Buffered,
            "manual" => FireReason::Manual,
            other => return Err(Error::invalid("reason", other, "not a fire reason")),
        })
    }
}

serde_as_text!(FireReason);

/// One decision of an entry's fire ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerRecord {
    /// The fire time decided (for several fires at once, the latest).
    pub fire_at: DateTime<Utc>,
    /// When it was decided.
    pub decided_at: DateTime<Utc>,
    /// The decision.
    pub reason: FireReason,
    /// How many fire times this record stands for (missed, coalesced and
    /// disabled stretches are recorded once).
    pub fires: u64,
    /// The job enqueued, if any.
    pub job_id: Option<JobId>,
}

/// How many decisions a store keeps per entry.
pub const LEDGER_LEN: usize = 100;
