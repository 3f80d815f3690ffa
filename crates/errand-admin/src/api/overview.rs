//! The dashboard's overview: job counts, queues with their lag, workers and
//! the recent rate of finished jobs, read once per interval and shared by
//! every caller, so that many open dashboards cost one set of queries.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use errand::{JobState, Result};
use serde::{Deserialize, Serialize};

use super::{Api, QueuesBody, WorkersBody};

/// How long one overview is served before it is read again.
pub const OVERVIEW_EVERY: Duration = Duration::from_secs(2);

/// Samples of finished jobs kept for the chart.
const SAMPLES: usize = 150;

/// Jobs that finished between two overviews.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// When the later overview was read.
    pub at: DateTime<Utc>,
    /// Seconds since the one before.
    pub seconds: f64,
    /// Jobs that completed in between.
    pub completed: u64,
    /// Jobs that failed for good in between.
    pub failed: u64,
}

/// What the dashboard's overview shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    /// When it was read.
    pub at: DateTime<Utc>,
    /// Jobs by public state, across queues (states without jobs left out).
    pub counts: BTreeMap<JobState, u64>,
    /// Every queue with its counts, lag and pause; every pause.
    pub queues: QueuesBody,
    /// Worker processes by their heartbeats.
    pub workers: WorkersBody,
    /// Jobs finished between consecutive overviews, oldest first: the
    /// throughput and failure chart. Sampled while someone looks, so gaps
    /// are possible; a prune in between counts as nothing finished.
    pub samples: Vec<Sample>,
}

/// Reads that took this long or more are served ten times as long, so that
/// open dashboards keep a slow store (counts over a huge table) busy at
/// most a tenth of the time.
const SLOW_READ_FACTOR: u32 = 10;

/// The last overview, how long it is served, and the samples of the chart.
#[derive(Debug, Default)]
pub(crate) struct OverviewCache {
    last: Option<(Instant, Duration, Arc<Overview>)>,
    samples: VecDeque<Sample>,
}

impl Api {
    /// The overview, read at most once per [`OVERVIEW_EVERY`] whoever asks
    /// (a read that took longer than a tenth of that is kept ten times as
    /// long as it took): callers that come while it is read wait for that
    /// read.
    pub async fn overview(&self) -> Result<Arc<Overview>> {
        let mut cache = self.overview.lock().await;
        if let Some((read_at, keep, overview)) = &cache.last
            && read_at.elapsed() < *keep
        {
            return Ok(Arc::clone(overview));
        }
        let started = Instant::now();
        let queues = self.queues().await?;
        let workers = self.workers().await?;
        let at = Utc::now();
        let mut counts = BTreeMap::new();
        for row in &queues.queues {
            for (state, count) in &row.counts {
                *counts.entry(*state).or_default() += count;
            }
        }
        let total = |c: &BTreeMap<JobState, u64>, s| c.get(&s).copied().unwrap_or(0);
        if let Some((_, _, before)) = &cache.last {
            let sample = Sample {
                at,
                seconds: (at - before.at).num_milliseconds() as f64 / 1000.0,
                completed: total(&counts, JobState::Completed)
                    .saturating_sub(total(&before.counts, JobState::Completed)),
                failed: total(&counts, JobState::Failed)
                    .saturating_sub(total(&before.counts, JobState::Failed)),
            };
            cache.samples.push_back(sample);
            if cache.samples.len() > SAMPLES {
                cache.samples.pop_front();
            }
        }
        let overview = Arc::new(Overview {
            at,
            counts,
            queues,
            workers,
            samples: cache.samples.iter().copied().collect(),
        });
        let keep = OVERVIEW_EVERY.max(started.elapsed() * SLOW_READ_FACTOR);
        cache.last = Some((Instant::now(), keep, Arc::clone(&overview)));
        Ok(overview)
    }
}
