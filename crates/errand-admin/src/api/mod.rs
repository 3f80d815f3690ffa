//! The operations of the admin API and of the `errand` CLI, each taking a
//! checked request and returning the body both print: the CLI's `--json`
//! output is the API's response, byte for byte.
//!
//! Every request type checks itself before any store call: bad input
//! changes nothing.

mod audit;
mod batches;
mod cron;
mod jobs;
mod overview;
mod process;
mod prune;
mod queues;
mod tenants;
mod why;
mod workers;

pub use audit::{AuditPage, AuditQuery};
pub use batches::{BatchCancelled, BatchQuery, BatchesPage};
pub use cron::{CronEntryRequest, CronQuery, CronRemoved, CronTriggered, FireTime};
pub use jobs::{EnqueueRequest, JobAction, JobQuery, JobsPage};
pub use overview::{OVERVIEW_EVERY, Overview, Sample};
pub use process::ProcessNow;
pub use prune::{PruneLine, PruneReport, PruneRequest};
pub use queues::{PauseRequest, Paused, QueueRow, QueuesBody, Resumed};
pub use tenants::{TenantQuery, TenantRow, TenantsPage};
pub use why::{Hold, JobDetail};
pub use workers::{WorkerRow, WorkersBody};

use std::sync::Arc;

use errand::{Client, Worker};

/// The admin operations over one store: what the HTTP API serves and the
/// CLI runs.
///
/// ```no_run
/// # async fn demo() -> errand::Result<()> {
/// let client = errand::Client::new(errand::connect("sqlite://jobs.db").await?);
/// let api = errand_admin::Api::new(client);
/// let page = api.jobs(errand_admin::JobQuery::default()).await?;
/// println!("{} jobs, next page before {:?}", page.jobs.len(), page.next_before);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Api {
    client: Client,
    /// The workers of this process, for "process now" and "drain".
    workers: Vec<Worker>,
    /// Renders the metrics text served at `/metrics`.
    metrics: Option<Arc<dyn Fn() -> String + Send + Sync>>,
    /// Who the changes made through it are recorded as made by.
    actor: String,
    /// The overview shared by every caller of this API and its clones.
    overview: Arc<tokio::sync::Mutex<overview::OverviewCache>>,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("client", &self.client)
            .field("workers", &self.workers.len())
            .field("metrics", &self.metrics.is_some())
            .field("actor", &self.actor)
            .finish()
    }
}

impl Api {
    /// The operations over `client`'s store.
    pub fn new(client: Client) -> Self {
        Api {
            client,
            workers: Vec::new(),
            metrics: None,
            actor: "unknown".to_owned(),
            overview: Arc::default(),
        }
    }

    /// Serves `render()` at `/metrics`: the Prometheus text of
    /// `errand::observe::install_prometheus`'s handle, say.
    pub fn metrics(mut self, render: impl Fn() -> String + Send + Sync + 'static) -> Self {
        self.metrics = Some(Arc::new(render));
        self
    }

    /// The metrics text, when a renderer was given.
    pub fn render_metrics(&self) -> Option<String> {
        self.metrics.as_ref().map(|render| render())
    }

    /// What `/metrics` serves: the store-wide gauges set from the shared
    /// overview (jobs per queue and state, each queue's due jobs and lag,
    /// live workers), then the metrics text; `None` without a renderer.
    /// A process that runs no worker (`errand serve`) reports the whole
    /// store so. A store that cannot be read leaves the gauges as they
    /// were: its error is counted in `errand_store_errors_total`.
    pub async fn scrape_metrics(&self) -> Option<String> {
        self.metrics.as_ref()?;
        match self.overview().await {
            Ok(overview) => {
                use errand::observe::metrics as m;
                let now = chrono::Utc::now();
                for row in &overview.queues.queues {
                    for state in errand::JobState::ALL {
                        let count = row.counts.get(&state).copied().unwrap_or(0);
                        m::store_jobs_sampled(&row.queue, state, count);
                    }
                    m::queue_sampled(&row.queue, row.due, row.oldest_due_at, now);
                }
                m::workers_alive_sampled(overview.workers.alive as u64);
            }
            Err(e) => tracing::warn!(error = %e, "metrics: the store's gauges were not read"),
        }
        self.render_metrics()
    }

    /// Adds a worker of this process: "process now" wakes it, "drain" runs
    /// what is due through it.
    pub fn worker(mut self, worker: Worker) -> Self {
        self.workers.push(worker);
        self
    }

    /// The same operations, their changes recorded in the audit as made by
    /// `actor` (`"cli alice"`, `"ann (token)"`).
    pub fn acting_as(&self, actor: impl Into<String>) -> Self {
        Api {
            actor: actor.into(),
            ..self.clone()
        }
    }

    /// Who changes made through it are recorded as made by.
    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// The client the operations go through.
    pub fn client(&self) -> &Client {
        &self.client
    }
}
