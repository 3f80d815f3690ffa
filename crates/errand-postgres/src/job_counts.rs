//! Counts of finished jobs per queue, tenant and state (migration 18):
//! statement triggers append each statement's changes, and the
//! [`CountFold`] service, run by every worker of the store, folds them into
//! the counts so that readers add few rows.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use errand_core::Result;
use errand_core::maintenance::{Report, Service};

use crate::PgStore;
use crate::error::db_error;

/// How often the changes are folded: a reader adds the changes of about
/// this long (one row per finalizing statement).
const FOLD_EVERY: Duration = Duration::from_secs(1);

/// Folds the appended count changes into the counts.
pub(crate) struct CountFold {
    pub store: PgStore,
}

#[async_trait]
impl Service for CountFold {
    fn name(&self) -> &'static str {
        "postgres-count-fold"
    }

    fn interval(&self) -> Duration {
        FOLD_EVERY
    }

    async fn run_once(&self, _now: DateTime<Utc>) -> Result<Report> {
        let folded = self.store.fold_counts().await?;
        Ok(if folded == 0 {
            Report::idle()
        } else {
            Report::did(folded, format!("folded {folded} job count changes"))
        })
    }
}

impl PgStore {
    /// Folds the count changes appended so far into the counts; returns
    /// how many (queue, tenant, state) counts changed.
    pub(crate) async fn fold_counts(&self) -> Result<u64> {
        let done = sqlx::query(self.inner.q.counts_fold.clone())
            .execute(&self.inner.pool)
            .await
            .map_err(db_error)?;
        Ok(done.rows_affected())
    }
}
