//! Reads the pauses from the store twice a second, so that a pause or a
//! resume made anywhere (another process, the CLI) reaches this worker's
//! claims within about a second. Workers only read pauses, never write
//! them: a starting worker cannot undo one.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use errand_core::Result;
use errand_core::maintenance::{Report, Service};
use errand_core::store::PauseSet;

use crate::worker::Shared;

/// How often the pauses are read.
pub(crate) const PAUSE_WATCH_INTERVAL: Duration = Duration::from_millis(500);

/// The pause watch of a worker.
pub(crate) struct PauseWatch {
    pub shared: Arc<Shared>,
}

#[async_trait]
impl Service for PauseWatch {
    fn name(&self) -> &'static str {
        "pause-watch"
    }

    fn interval(&self) -> Duration {
        PAUSE_WATCH_INTERVAL
    }

    async fn run_once(&self, _now: DateTime<Utc>) -> Result<Report> {
        let pauses = self.shared.store.pauses().await?;
        let set = PauseSet::of(&pauses);
        let mut first_read = false;
        let changed = self.shared.pauses.send_if_modified(|seen| {
            if seen.as_ref() == Some(&set) {
                return false;
            }
            first_read = seen.is_none();
            *seen = Some(set.clone());
            true
        });
        Ok(if changed && !pauses.is_empty() {
            let scopes: Vec<String> = pauses.iter().map(|p| p.scope.to_string()).collect();
            Report::did(
                pauses.len() as u64,
                format!("paused: {}", scopes.join(", ")),
            )
        } else if changed && !first_read {
            Report::did(0, "nothing is paused any more".to_owned())
        } else {
            Report::idle()
        })
    }
}
