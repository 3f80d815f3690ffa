//! Dead letters: retrying every finished job a filter matches.

use chrono::Utc;
use errand_core::store::ListParams;
use errand_core::{Error, ErrorClass, JobId, JobState, Result};
use serde::{Deserialize, Serialize};

use crate::Client;

/// Jobs retried per page of the walk.
const PAGE: u32 = 500;

/// Which finished jobs [`Client::retry_matching`] runs again. Set at least
/// one filter, or `all`: a bulk retry never happens by omission.
///
/// ```
/// let timeouts = errand::RetryFilter {
///     kind: Some("send_email".into()),
///     error_contains: Some("timed out".into()),
///     ..errand::RetryFilter::default()
/// };
/// assert!(timeouts.validate().is_ok());
/// assert!(errand::RetryFilter::default().validate().is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryFilter {
    /// The state of the jobs to retry: failed (the default), cancelled or
    /// completed.
    pub state: Option<JobState>,
    /// Only jobs of this kind.
    pub kind: Option<String>,
    /// Only jobs of this queue.
    pub queue: Option<String>,
    /// Only jobs of this tenant.
    pub tenant: Option<String>,
    /// Only jobs of this batch.
    pub batch_id: Option<i64>,
    /// Only jobs with an attempt error containing this text (ASCII letters
    /// in either case).
    pub error_contains: Option<String>,
    /// Every job in the state, when no other filter is set.
    pub all: bool,
}

impl RetryFilter {
    /// The state retried.
    pub fn state(&self) -> JobState {
        self.state.unwrap_or(JobState::Failed)
    }

    fn narrowed(&self) -> bool {
        self.kind.is_some()
            || self.queue.is_some()
            || self.tenant.is_some()
            || self.batch_id.is_some()
            || self.error_contains.is_some()
    }

    /// The list of the matching jobs, newest first.
    fn list(&self, before_id: Option<JobId>) -> ListParams {
        ListParams {
            state: Some(self.state()),
            kind: self.kind.clone(),
            queue: self.queue.clone(),
            tenant: self.tenant.clone(),
            batch_id: self.batch_id,
            error_contains: self.error_contains.clone(),
            before_id,
            limit: PAGE,
            now: Utc::now(),
            ..ListParams::default()
        }
    }

    /// Checks the filters; the error names the field. A filter with
    /// nothing set and without `all` is refused.
    pub fn validate(&self) -> Result<()> {
        let state = self.state();
        if !state.is_finished() {
            return Err(Error::invalid(
                "state",
                state,
                "must be failed, cancelled or completed",
            ));
        }
        if !self.narrowed() && !self.all {
            return Err(Error::invalid(
                "filter",
                "none",
                "a bulk retry needs a filter (kind, queue, tenant, batch, error text) or `all`",
            ));
        }
        self.list(None).validate()
    }
}

/// What a bulk retry did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryMatching {
    /// Jobs made to wait again.
    pub retried: u64,
    /// Jobs that matched but changed before their retry (retried or
    /// deleted by someone else) or whose unique key another job holds now.
    pub skipped: u64,
}

impl Client {
    /// Runs again every job the filter matches, newest first, a page at a
    /// time; each retry is its own write (see [`Client::retry`]: one more
    /// attempt, the error history kept). Returns how many were retried and
    /// skipped.
    pub async fn retry_matching(&self, filter: &RetryFilter) -> Result<RetryMatching> {
        self.retry_matching_with(filter, |_| {}).await
    }

    /// [`Client::retry_matching`], telling `progress` the totals so far
    /// after each page (a progress bar for a long bulk retry).
    pub async fn retry_matching_with(
        &self,
        filter: &RetryFilter,
        mut progress: impl FnMut(&RetryMatching) + Send,
    ) -> Result<RetryMatching> {
        filter.validate()?;
        let mut outcome = RetryMatching::default();
        let mut before_id = None;
        loop {
            let page = self.store().list(filter.list(before_id)).await?;
            for job in &page {
                match self.retry(job.id).await {
                    Ok(()) => outcome.retried += 1,
                    Err(e) if matches!(e.kind(), ErrorClass::Conflict | ErrorClass::NotFound) => {
                        outcome.skipped += 1;
                    }
                    Err(e) => return Err(e),
                }
            }
            progress(&outcome);
            match page.last() {
                Some(last) if page.len() == PAGE as usize => before_id = Some(last.id),
                _ => return Ok(outcome),
            }
        }
    }
}
