use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::{Job, NewJob, Result, Unique, validate};

#[derive(Debug, Clone, Copy)]
enum When {
    Now,
    At(DateTime<Utc>),
    After(Duration),
}

/// A job of kind `J` about to be enqueued. `#[errand::job]` generates
/// `my_job::enqueue(input)`, which returns one; a `Client` (or, on SQL stores,
/// the application's own transaction) sends it.
#[must_use = "an EnqueueBuilder does nothing until it is sent with a Client or a transaction"]
#[derive(Debug)]
pub struct EnqueueBuilder<J: Job> {
    input: J::Input,
    queue: Option<String>,
    priority: Option<i16>,
    max_attempts: Option<u32>,
    when: When,
    unique: Option<Unique>,
    tenant: Option<String>,
    batch_id: Option<i64>,
    meta: BTreeMap<String, String>,
    kind: PhantomData<fn() -> J>,
}

impl<J: Job> EnqueueBuilder<J> {
    /// A job of kind `J` with this input and the kind's defaults.
    pub fn new(input: J::Input) -> Self {
        EnqueueBuilder {
            input,
            queue: None,
            priority: None,
            max_attempts: None,
            when: When::Now,
            unique: None,
            tenant: None,
            batch_id: None,
            meta: BTreeMap::new(),
            kind: PhantomData,
        }
    }

    /// Put it in this queue instead of the kind's default.
    pub fn queue(mut self, queue: impl Into<String>) -> Self {
        self.queue = Some(queue.into());
        self
    }

    /// Smaller runs first within its queue.
    pub fn priority(mut self, priority: i16) -> Self {
        self.priority = Some(priority);
        self
    }

    /// Run no earlier than `at`.
    pub fn run_at(mut self, at: DateTime<Utc>) -> Self {
        self.when = When::At(at);
        self
    }

    /// Run no earlier than `delay` after it is enqueued.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.when = When::After(delay);
        self
    }

    /// At most one unfinished job with this key.
    pub fn unique_key(mut self, key: impl Into<String>) -> Self {
        self.unique = Some(Unique::active(key));
        self
    }

    /// A unique key with an explicit scope (period, forever).
    pub fn unique(mut self, unique: Unique) -> Self {
        self.unique = Some(unique);
        self
    }

    /// The tenant it belongs to.
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    /// Adds a metadata entry.
    pub fn meta(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.meta.insert(key.into(), value.into());
        self
    }

    /// Attempts allowed for this job.
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = Some(n);
        self
    }

    /// Adds it to a batch.
    pub fn batch(mut self, batch_id: i64) -> Self {
        self.batch_id = Some(batch_id);
        self
    }

    /// True when a queue was chosen for this job (a batch's queue applies
    /// to the jobs without one).
    pub fn has_queue(&self) -> bool {
        self.queue.is_some()
    }

    /// True when a tenant was chosen for this job.
    pub fn has_tenant(&self) -> bool {
        self.tenant.is_some()
    }

    /// The job as the store receives it, with times resolved against `now`.
    pub fn into_new_job(self, now: DateTime<Utc>) -> Result<NewJob> {
        let options = J::options();
        let input = crate::json::to_stored("input", &self.input)?;
        let run_at = match self.when {
            When::Now => None,
            When::At(at) => Some(at),
            When::After(delay) => Some(validate::after("delay", now, delay)?),
        };
        Ok(NewJob {
            kind: J::KIND.to_owned(),
            queue: self
                .queue
                .or(options.queue)
                .unwrap_or_else(|| NewJob::DEFAULT_QUEUE.to_owned()),
            priority: self.priority.or(options.priority).unwrap_or(0),
            tenant: self.tenant,
            input,
            run_at,
            max_attempts: self
                .max_attempts
                .or(options.max_attempts)
                .unwrap_or(NewJob::DEFAULT_MAX_ATTEMPTS),
            unique: self.unique,
            batch_id: self.batch_id,
            cron: None,
            meta: self.meta,
        })
    }
}
