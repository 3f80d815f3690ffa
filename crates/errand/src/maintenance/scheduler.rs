//! The cron scheduler: every worker runs one, and no leader is needed. Each
//! pass reads the entries of the worker's kinds that are due, plans their
//! fires (errand-core's `plan_fires`) and has the store record them with
//! their jobs; a store decides each fire time once, so schedulers racing
//! on the same entries only cost the losers a lost write.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use errand_core::cron::{Entry, EntryRow, plan_fires};
use errand_core::maintenance::{Report, Service};
use errand_core::store::{
    DueParams, EntryFire, EntryKey, FireOutcome, FireParams, SaveMode, SaveParams,
};
use errand_core::{Result, Store};
use futures::StreamExt;

/// Entries read per pass, and at most this many passes per run: a run ends
/// once a pass moves nothing (only buffered fires still waiting).
const DUE_PAGE: u32 = 1000;
const MAX_PASSES: usize = 100;
/// Entries written per store call, and store calls in flight at once (two
/// transactions keep a server with two cores busy while the other one is
/// on its way).
const FIRE_CHUNK: usize = 250;
const FIRES_IN_FLIGHT: usize = 2;

/// A worker's cron scheduler.
pub(crate) struct Scheduler {
    pub store: Arc<dyn Store>,
    /// The kinds the worker registers: entries of other kinds are left alone.
    pub kinds: Vec<String>,
    /// Entries defined in code, written to the store on the first run.
    pub entries: HashMap<EntryKey, Entry>,
    /// How late a fire time may be seen and still count as on time.
    pub grace: Duration,
    pub interval: Duration,
    /// The entries defined in code have been written.
    pub synced: AtomicBool,
}

impl Scheduler {
    /// Writes the entries defined in code: created if missing (or deleted),
    /// definition updated; the stored enabled flag and note are kept.
    async fn sync(&self, now: DateTime<Utc>) -> Result<()> {
        if self.synced.load(Ordering::Acquire) {
            return Ok(());
        }
        for entry in self.entries.values() {
            self.store
                .cron_save(SaveParams::new(entry.clone(), SaveMode::Upsert, now))
                .await?;
        }
        self.synced.store(true, Ordering::Release);
        Ok(())
    }

    /// The definition to plan `row` with: the stored one, or for a custom
    /// schedule the code's (`None` when this worker does not define it).
    fn definition(&self, row: &EntryRow) -> Option<Entry> {
        match row.entry() {
            Ok(entry) => Some(entry),
            Err(error) => {
                let key = EntryKey::new(row.tenant.as_deref(), &row.name);
                let code = self.entries.get(&key).cloned();
                if code.is_none() {
                    tracing::debug!(entry = %key, %error, "errand cron entry left to the workers that define it");
                }
                code
            }
        }
    }
}

#[async_trait]
impl Service for Scheduler {
    fn name(&self) -> &'static str {
        "cron"
    }

    fn interval(&self) -> Duration {
        self.interval
    }

    fn aligned(&self) -> bool {
        true
    }

    async fn run_once(&self, now: DateTime<Utc>) -> Result<Report> {
        self.sync(now).await?;
        let mut jobs = 0u64;
        for _ in 0..MAX_PASSES {
            let due = self
                .store
                .cron_due(DueParams {
                    now,
                    kinds: self.kinds.clone(),
                    limit: DUE_PAGE,
                })
                .await?;
            let mut fires: Vec<_> = due
                .iter()
                .filter_map(|row| plan_fires(row, &self.definition(row)?, now, self.grace))
                .collect();
            // Schedulers of other workers read the same entries: each takes
            // them in its own order, so that they mostly write different ones.
            fastrand::shuffle(&mut fires);
            let mut moved = false;
            let chunks: Vec<Vec<EntryFire>> = fires
                .chunks(FIRE_CHUNK)
                .map(<[EntryFire]>::to_vec)
                .collect();
            let written: Vec<Result<(Vec<EntryFire>, Vec<FireOutcome>)>> =
                futures::stream::iter(chunks)
                    .map(|chunk| {
                        let store = Arc::clone(&self.store);
                        async move {
                            let params = FireParams {
                                fires: chunk.clone(),
                                now,
                            };
                            Ok((chunk, store.cron_fire(params).await?))
                        }
                    })
                    .buffer_unordered(FIRES_IN_FLIGHT)
                    .collect()
                    .await;
            for result in written {
                let (chunk, outcomes) = result?;
                for (fire, outcome) in chunk.iter().zip(&outcomes) {
                    let enqueued = outcome.jobs().len() as u64;
                    jobs += enqueued;
                    moved |= fire.advance.is_some() || enqueued > 0;
                }
            }
            if due.len() < DUE_PAGE as usize || !moved {
                break;
            }
        }
        Ok(if jobs == 0 {
            Report::idle()
        } else {
            Report::did(jobs, format!("enqueued {jobs} jobs of cron entries"))
        })
    }
}
