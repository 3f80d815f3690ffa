//! Maintenance services: periodic duties that keep a store healthy
//! (rescuing jobs whose worker died, a store's own upkeep; later cron
//! firing, pruning, pause watching). A service is a trait here so that
//! stores can contribute theirs ([`JobStore::services`](crate::JobStore::services));
//! the `errand` runtime runs every service of a worker on its interval, and
//! `Worker::maintain(now)` runs each once, for `drain()` and tests.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::Result;

/// What one run of a service did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// How many things it acted on (jobs rescued, tables vacuumed, ...).
    pub count: u64,
    /// What they were, for the log (`None` when it did nothing).
    pub detail: Option<String>,
}

impl Report {
    /// A run that did nothing.
    pub fn idle() -> Self {
        Report::default()
    }

    /// A run that acted on `count` things, described by `detail`.
    pub fn did(count: u64, detail: impl Into<String>) -> Self {
        Report {
            count,
            detail: Some(detail.into()),
        }
    }
}

/// A periodic duty.
#[async_trait]
pub trait Service: Send + Sync + 'static {
    /// A short name for logs (`rescuer`, `postgres-vacuum`, ...).
    fn name(&self) -> &'static str;
    /// How long between two runs.
    fn interval(&self) -> Duration;
    /// Runs at whole multiples of the interval in wall-clock time (a cron
    /// scheduler, whose fire times fall on whole seconds) rather than at
    /// the interval after the worker's start.
    fn aligned(&self) -> bool {
        false
    }
    /// Runs once at `now` and says what it did.
    async fn run_once(&self, now: DateTime<Utc>) -> Result<Report>;
}
