//! Deletes finished jobs once their retention has passed: completed jobs
//! after a day, failed and cancelled ones after seven by default; and the
//! records of batches seven days after they finished; audit records after
//! ninety. Every
//! worker runs one; each chunk is its own short write, so claims are never
//! held behind a long delete.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use errand_core::maintenance::{Report, Service};
use errand_core::store::{PruneBatchesParams, PruneParams};
use errand_core::{JobId, JobState, Result, Store, validate};

/// Jobs deleted per store call.
const CHUNK: u32 = 1_000;
/// Calls per state and run: a large backlog is worked off over several runs.
const MAX_CHUNKS: usize = 50;

/// How long finished jobs are kept, per state, and the records of finished
/// batches (`None`: forever).
///
/// ```
/// use std::time::Duration;
/// let keep = errand::maintenance::Retention::default()
///     .completed(Some(Duration::from_secs(3600)))
///     .failed(None);
/// assert_eq!(keep.cancelled, Some(Duration::from_secs(7 * 86_400)));
/// assert_eq!(keep.batches, Some(Duration::from_secs(7 * 86_400)));
/// assert_eq!(keep.audit, Some(Duration::from_secs(90 * 86_400)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Completed jobs (default 1 day).
    pub completed: Option<Duration>,
    /// Failed jobs, the dead letters (default 7 days).
    pub failed: Option<Duration>,
    /// Cancelled jobs (default 7 days).
    pub cancelled: Option<Duration>,
    /// The record of a batch, from the time it finished (default 7 days).
    /// Its jobs follow their own state's retention; an unfinished batch is
    /// never pruned.
    pub batches: Option<Duration>,
    /// The audit records of operators' changes (default 90 days).
    pub audit: Option<Duration>,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            completed: Some(Duration::from_secs(86_400)),
            failed: Some(Duration::from_secs(7 * 86_400)),
            cancelled: Some(Duration::from_secs(7 * 86_400)),
            batches: Some(Duration::from_secs(7 * 86_400)),
            audit: Some(Duration::from_secs(90 * 86_400)),
        }
    }
}

impl Retention {
    /// Keeps every finished job, batch record and audit record (no pruning).
    pub fn forever() -> Self {
        Retention {
            completed: None,
            failed: None,
            cancelled: None,
            batches: None,
            audit: None,
        }
    }

    /// How long completed jobs are kept.
    pub fn completed(mut self, keep: Option<Duration>) -> Self {
        self.completed = keep;
        self
    }

    /// How long failed jobs are kept.
    pub fn failed(mut self, keep: Option<Duration>) -> Self {
        self.failed = keep;
        self
    }

    /// How long cancelled jobs are kept.
    pub fn cancelled(mut self, keep: Option<Duration>) -> Self {
        self.cancelled = keep;
        self
    }

    /// How long the records of finished batches are kept.
    pub fn batches(mut self, keep: Option<Duration>) -> Self {
        self.batches = keep;
        self
    }

    /// How long the audit records of operators' changes are kept.
    pub fn audit(mut self, keep: Option<Duration>) -> Self {
        self.audit = keep;
        self
    }

    /// Each state with its retention.
    pub(crate) fn per_state(&self) -> [(JobState, Option<Duration>); 3] {
        [
            (JobState::Completed, self.completed),
            (JobState::Failed, self.failed),
            (JobState::Cancelled, self.cancelled),
        ]
    }

    /// Checks each retention: from a second to 100 years.
    pub fn validate(&self) -> Result<()> {
        let per_state = self
            .per_state()
            .map(|(state, keep)| (format!("retention.{state}"), keep));
        let others = [
            ("retention.batches".to_owned(), self.batches),
            ("retention.audit".to_owned(), self.audit),
        ];
        for (field, keep) in per_state.into_iter().chain(others) {
            if let Some(keep) = keep {
                Self::check(&field, keep)?;
            }
        }
        Ok(())
    }

    /// Checks one retention, naming `field` in the error: from a second to
    /// 100 years.
    pub fn check(field: &str, keep: Duration) -> Result<()> {
        validate::duration(
            field,
            keep,
            Duration::from_secs(1),
            Duration::from_secs(100 * 366 * 86_400),
        )
    }
}

/// Deletes the records of batches finished before `finished_before`,
/// [`CHUNK`] per store call, for at most `max_chunks` calls (`None`: until
/// none is left). Returns how many went.
pub(crate) async fn prune_batch_chunks(
    store: &dyn Store,
    finished_before: DateTime<Utc>,
    max_chunks: Option<usize>,
) -> Result<u64> {
    let mut deleted = 0u64;
    let mut chunks = 0usize;
    while max_chunks.is_none_or(|most| chunks < most) {
        let ids = store
            .prune_batches(PruneBatchesParams {
                finished_before,
                limit: CHUNK,
            })
            .await?;
        deleted += ids.len() as u64;
        chunks += 1;
        if ids.len() < CHUNK as usize {
            break;
        }
    }
    Ok(deleted)
}

/// Deletes jobs in `state` finished before `finished_before`, [`CHUNK`] per
/// store call from `after`, for at most `max_chunks` calls (`None`: until
/// none is left), telling `progress` the count so far after each. Returns
/// how many went and where a next call goes on.
pub(crate) async fn prune_chunks(
    store: &dyn Store,
    state: JobState,
    finished_before: DateTime<Utc>,
    mut after: Option<JobId>,
    max_chunks: Option<usize>,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<(u64, Option<JobId>)> {
    let mut deleted = 0u64;
    let mut chunks = 0usize;
    while max_chunks.is_none_or(|most| chunks < most) {
        let out = store
            .prune(PruneParams {
                state,
                finished_before,
                after,
                limit: CHUNK,
            })
            .await?;
        deleted += out.deleted.len() as u64;
        chunks += 1;
        progress(deleted);
        after = out.next;
        if after.is_none() {
            break;
        }
    }
    Ok((deleted, after))
}

/// A worker's pruner. Each state's walk goes on where the previous run
/// stopped (a store may look at a bounded number of jobs per call), and
/// starts over once it reached the end.
pub(crate) struct Pruner {
    pub store: Arc<dyn Store>,
    pub retention: Retention,
    pub interval: Duration,
    pub cursors: std::sync::Mutex<[Option<errand_core::JobId>; 3]>,
}

impl Pruner {
    fn cursor(&self, slot: usize) -> Option<JobId> {
        self.cursors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)[slot]
    }

    fn set_cursor(&self, slot: usize, at: Option<JobId>) {
        self.cursors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)[slot] = at;
    }
}

#[async_trait]
impl Service for Pruner {
    fn name(&self) -> &'static str {
        "pruner"
    }

    fn interval(&self) -> Duration {
        self.interval
    }

    async fn run_once(&self, now: DateTime<Utc>) -> Result<Report> {
        let mut deleted = Vec::new();
        let mut total = 0u64;
        for (slot, (state, keep)) in self.retention.per_state().into_iter().enumerate() {
            let Some(keep) = keep else { continue };
            let (count, after) = prune_chunks(
                self.store.as_ref(),
                state,
                validate::before("retention", now, keep)?,
                self.cursor(slot),
                Some(MAX_CHUNKS),
                &mut |_| {},
            )
            .await?;
            self.set_cursor(slot, after);
            if count > 0 {
                deleted.push(format!("{count} {state}"));
                total += count;
            }
        }
        if let Some(keep) = self.retention.batches {
            let count = prune_batch_chunks(
                self.store.as_ref(),
                validate::before("retention", now, keep)?,
                Some(MAX_CHUNKS),
            )
            .await?;
            if count > 0 {
                deleted.push(format!("{count} batch records"));
                total += count;
            }
        }
        if let Some(keep) = self.retention.audit {
            let count = self
                .store
                .prune_audit(validate::before("retention", now, keep)?)
                .await?;
            if count > 0 {
                deleted.push(format!("{count} audit records"));
                total += count;
            }
        }
        Ok(if total == 0 {
            Report::idle()
        } else {
            Report::did(
                total,
                format!("pruned what is past its retention: {}", deleted.join(", ")),
            )
        })
    }
}
