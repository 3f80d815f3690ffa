use std::sync::Arc;

use chrono::Utc;
use errand_core::store::{
    CancelParams, DeleteParams, EnqueueParams, GetParams, Pause, PauseOutcome, PauseParams,
    PauseScope, RescheduleParams, ResumeParams, RetryParams, StatsParams,
};
use errand_core::validate::{self, DEFAULT_MAX_INPUT_BYTES};
use errand_core::{
    CancelOutcome, Cancellation, EnqueueBuilder, Enqueued, Error, Job, JobId, JobRow, JobState,
    ListParams, NewJob, Result, Stats, Store,
};

use crate::Deferred;

/// Enqueues and manages jobs. Cheap to clone; share one per application.
///
/// ```no_run
/// # async fn demo(store: errand::SqliteStore) -> errand::Result<()> {
/// let client = errand::Client::new(store);
/// if let Some(job) = client.get(errand::JobId(42)).await? {
///     println!("{} is {}", job.kind, job.state);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    store: Arc<dyn Store>,
    max_input_bytes: usize,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("backend", &self.store.backend())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client of `store`.
    pub fn new(store: impl Store) -> Self {
        Client {
            store: crate::observe::instrument(Arc::new(store)),
            max_input_bytes: DEFAULT_MAX_INPUT_BYTES,
        }
    }

    /// A client of a store already shared.
    pub(crate) fn from_store(store: Arc<dyn Store>) -> Self {
        Client {
            store,
            max_input_bytes: DEFAULT_MAX_INPUT_BYTES,
        }
    }

    /// Starts a batch: jobs and continuations sent in one write (see
    /// [`BatchBuilder`](crate::BatchBuilder)).
    pub fn batch(&self) -> crate::BatchBuilder {
        crate::BatchBuilder::new(self.clone())
    }

    /// A handle to an existing batch.
    pub fn batch_handle(&self, id: crate::BatchId) -> crate::BatchHandle {
        crate::BatchHandle::new(self.clone(), id)
    }

    /// Batches newest first, at most `limit` (1 to 1,000) with an id below
    /// `before` (the last id of the previous page), of one tenant or all.
    pub async fn batches(
        &self,
        tenant: Option<&str>,
        before: Option<crate::BatchId>,
        limit: u32,
    ) -> Result<Vec<crate::Batch>> {
        self.store
            .list_batches(errand_core::store::ListBatchesParams {
                tenant: tenant.map(str::to_owned),
                before_id: before,
                limit,
            })
            .await
    }

    /// The batches on record of one tenant (or all) and their jobs summed
    /// by state.
    pub async fn batch_totals(&self, tenant: Option<&str>) -> Result<crate::BatchTotals> {
        self.store.batch_totals(tenant.map(str::to_owned)).await
    }

    /// Rejects inputs larger than `bytes` once serialized (default 1 MiB).
    pub fn max_input_bytes(mut self, bytes: usize) -> Result<Self> {
        validate::limit("max_input_bytes", bytes, validate::MAX_INPUT_BYTES)?;
        self.max_input_bytes = bytes;
        Ok(self)
    }

    /// The largest input this client accepts, in bytes.
    pub(crate) fn max_input(&self) -> usize {
        self.max_input_bytes
    }

    /// The store this client talks to.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Enqueues one job and returns a handle to follow it.
    pub async fn enqueue<J: Job>(&self, job: EnqueueBuilder<J>) -> Result<Deferred<J::Output>> {
        let now = Utc::now();
        let new = job.into_new_job(now)?;
        let enqueued = self.enqueue_raw(vec![new]).await?;
        let first = enqueued
            .first()
            .ok_or_else(|| Error::backend_msg("enqueue returned no result"))?;
        Ok(Deferred::new(self.clone(), first.id, first.duplicate))
    }

    /// Enqueues many jobs of one kind in one round trip; all or none are stored.
    pub async fn enqueue_many<J: Job>(
        &self,
        jobs: impl IntoIterator<Item = EnqueueBuilder<J>>,
    ) -> Result<Vec<Deferred<J::Output>>> {
        let now = Utc::now();
        let new = jobs
            .into_iter()
            .map(|job| job.into_new_job(now))
            .collect::<Result<Vec<_>>>()?;
        let enqueued = self.enqueue_raw(new).await?;
        Ok(enqueued
            .into_iter()
            .map(|e| Deferred::new(self.clone(), e.id, e.duplicate))
            .collect())
    }

    /// Enqueues jobs given by kind name and JSON input (for tools and bridges
    /// that do not know the Rust types).
    pub async fn enqueue_raw(&self, jobs: Vec<NewJob>) -> Result<Vec<Enqueued>> {
        self.store
            .enqueue(EnqueueParams {
                jobs,
                now: Utc::now(),
                max_input_bytes: self.max_input_bytes,
            })
            .await
    }

    /// A handle to an existing job whose output type you know.
    pub fn deferred<O>(&self, id: JobId) -> Deferred<O> {
        Deferred::new(self.clone(), id, false)
    }

    /// Reads a job.
    pub async fn get(&self, id: JobId) -> Result<Option<JobRow>> {
        self.store
            .get(GetParams {
                id,
                now: Utc::now(),
            })
            .await
    }

    /// Finds jobs, newest first. `limit` must be between 1 and 10,000.
    pub async fn list(&self, mut params: ListParams) -> Result<Vec<JobRow>> {
        params.validate()?;
        params.now = Utc::now();
        self.store.list(params).await
    }

    /// Cancels a job: a waiting one at once, a running one through its
    /// CancellationToken (it ends cancelled unless it completes first).
    ///
    /// A missing job is [`Error::NotFound`]; a job that has already finished
    /// is an [`Error::Conflict`] naming its state.
    pub async fn cancel(&self, id: JobId) -> Result<Cancellation> {
        self.cancel_many([id]).await?.of(id)
    }

    /// Cancels many jobs in one write and says, for every id, what happened
    /// to it (cancelled, asked to stop, already finished, missing).
    pub async fn cancel_many(&self, ids: impl IntoIterator<Item = JobId>) -> Result<CancelOutcome> {
        self.store
            .cancel(CancelParams {
                ids: ids.into_iter().collect(),
                now: Utc::now(),
            })
            .await
    }

    /// Runs a finished (completed, failed or cancelled) job again, with a
    /// fresh attempt budget (as many attempts more as it was enqueued with)
    /// and its error history kept.
    ///
    /// A missing job is [`Error::NotFound`]; a job that has not finished is
    /// an [`Error::Conflict`] naming its state, as is one whose unique key
    /// another unfinished job holds now.
    pub async fn retry(&self, id: JobId) -> Result<()> {
        self.store
            .retry(RetryParams {
                id,
                now: Utc::now(),
            })
            .await
    }

    /// Changes when a waiting job runs, its priority or its queue (`None`
    /// keeps what it has) and returns it: [`Error::NotFound`], or
    /// [`Error::Conflict`] naming the state of a job that is not waiting.
    pub async fn reschedule(
        &self,
        id: JobId,
        run_at: Option<chrono::DateTime<Utc>>,
        priority: Option<i16>,
        queue: Option<&str>,
    ) -> Result<JobRow> {
        self.store
            .reschedule(RescheduleParams {
                id,
                run_at,
                priority,
                queue: queue.map(str::to_owned),
                now: Utc::now(),
            })
            .await
    }

    /// Deletes every job in `state` (completed, failed or cancelled) that
    /// finished before `finished_before`, a thousand at a time; returns how
    /// many went.
    pub async fn prune(
        &self,
        state: JobState,
        finished_before: chrono::DateTime<Utc>,
    ) -> Result<u64> {
        self.prune_with(state, finished_before, |_| {}).await
    }

    /// [`Client::prune`], telling `progress` how many went so far after
    /// each chunk (a progress bar for a long prune).
    pub async fn prune_with(
        &self,
        state: JobState,
        finished_before: chrono::DateTime<Utc>,
        mut progress: impl FnMut(u64) + Send,
    ) -> Result<u64> {
        let (deleted, _) = crate::maintenance::prune_chunks(
            self.store.as_ref(),
            state,
            finished_before,
            None,
            None,
            &mut progress,
        )
        .await?;
        Ok(deleted)
    }

    /// Deletes the records of every batch that finished before
    /// `finished_before`, a thousand at a time; returns how many went. Their
    /// jobs stay, under their own retention.
    pub async fn prune_batches(&self, finished_before: chrono::DateTime<Utc>) -> Result<u64> {
        crate::maintenance::prune_batch_chunks(self.store.as_ref(), finished_before, None).await
    }

    /// Per queue with jobs due now: how many wait and when the oldest became
    /// due, read from where workers claim (not by counting finished jobs).
    pub async fn queue_depths(&self) -> Result<Vec<errand_core::store::QueueDepth>> {
        self.store.queue_depths(Utc::now()).await
    }

    /// Counts jobs per queue and state, for one tenant or all.
    pub async fn stats(&self, tenant: Option<&str>) -> Result<Stats> {
        if let Some(tenant) = tenant {
            validate::tenant(tenant)?;
        }
        self.store
            .stats(StatsParams {
                tenant: tenant.map(str::to_owned),
                per_tenant: false,
                now: Utc::now(),
            })
            .await
    }

    /// Counts jobs per queue, state and tenant
    /// ([`StateCount::tenant`](errand_core::StateCount::tenant):
    /// `None` for the jobs without one), from the same counters as
    /// [`stats`](Self::stats).
    pub async fn stats_per_tenant(&self) -> Result<Stats> {
        self.store
            .stats(StatsParams {
                tenant: None,
                per_tenant: true,
                now: Utc::now(),
            })
            .await
    }

    /// Deletes a job that is not running: [`Error::NotFound`] for a missing
    /// job, [`Error::Conflict`] for a running one.
    pub async fn delete(&self, id: JobId) -> Result<()> {
        self.store.delete(DeleteParams { id }).await
    }

    /// Pauses `scope` for every worker of every process: within about a
    /// second nothing new of it is claimed; running jobs finish; enqueue goes
    /// on. The pause is stored with `by` (who), the time and `note` (why);
    /// pausing what is paused keeps the first pause and says so. Only a
    /// [`resume`](Self::resume) lifts it: a restarted worker does not.
    ///
    /// ```no_run
    /// # async fn demo(client: errand::Client) -> errand::Result<()> {
    /// use errand::PauseScope;
    /// client.pause(PauseScope::queue("mail"), "ops", Some("mail provider down")).await?;
    /// client.resume(PauseScope::queue("mail")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn pause(
        &self,
        scope: PauseScope,
        by: &str,
        note: Option<&str>,
    ) -> Result<PauseOutcome> {
        self.store
            .pause(PauseParams {
                scope,
                by: by.to_owned(),
                note: note.map(str::to_owned),
                now: Utc::now(),
            })
            .await
    }

    /// Resumes `scope`; returns the pause lifted (`None`: it was not paused).
    pub async fn resume(&self, scope: PauseScope) -> Result<Option<Pause>> {
        self.store.resume(ResumeParams { scope }).await
    }

    /// Every pause in force: global first, then queues, then tenants.
    pub async fn pauses(&self) -> Result<Vec<Pause>> {
        self.store.pauses().await
    }
}
