//! The PostgreSQL store's upkeep, run by every worker of the store as a
//! maintenance service: vacuuming its jobs table after enough jobs ended
//! (see `PgOptions::vacuum_every` for why the store does it itself).

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use errand_core::Result;
use errand_core::maintenance::{Report, Service};

use crate::PgStore;

/// How often the service looks whether a vacuum is due: the count of ended
/// jobs is a counter in the store, so a look costs nothing.
const LOOK_EVERY: Duration = Duration::from_millis(250);

/// Vacuums the store's jobs table once `vacuum_distance` jobs ended through
/// it since the last vacuum.
pub(crate) struct Vacuum {
    pub store: PgStore,
}

#[async_trait]
impl Service for Vacuum {
    fn name(&self) -> &'static str {
        "postgres-vacuum"
    }

    fn interval(&self) -> Duration {
        LOOK_EVERY
    }

    async fn run_once(&self, _now: DateTime<Utc>) -> Result<Report> {
        Ok(match self.store.vacuum_if_due().await? {
            Some(ended) => Report::did(
                1,
                format!("vacuumed the jobs table after {ended} jobs ended"),
            ),
            None => Report::idle(),
        })
    }
}
