//! Batches from an application: [`Client::batch`] collects jobs and
//! continuations, [`BatchHandle`] follows and extends a batch, and a
//! continuation takes [`Continued`] to read the batch it continues.

use chrono::Utc;
use errand_core::store::{
    AppendParams, Batch, BatchCancelOutcome, BatchId, CONTINUES_META, CancelBatchParams,
    Continuation, ContinueOn, CreateBatchParams, NewBatch, batch_not_found,
};
use errand_core::{
    EnqueueBuilder, Enqueued, ErrorKind, FromContext, Job, JobContext, JobError, JobErrorAction,
    JobId, JobState, ListParams, NewJob, Result,
};

use crate::Client;

/// One job of a batch before it is sent: its fields resolve against the
/// batch's tenant and queue, and against the send time.
struct Pending {
    job: Box<dyn FnOnce(chrono::DateTime<Utc>) -> Result<NewJob> + Send>,
}

impl Pending {
    fn of<J: Job>(job: EnqueueBuilder<J>, tenant: Option<String>, queue: Option<String>) -> Self {
        let job = with_tenant(job, tenant.as_ref());
        let job = match (job.has_queue(), queue) {
            (false, Some(queue)) => job.queue(queue),
            (_, _) => job,
        };
        Pending {
            job: Box::new(move |now| job.into_new_job(now)),
        }
    }
}

/// A batch being put together: jobs, each with its own input, delay, queue
/// and priority, and continuations, sent in one write by
/// [`enqueue`](Self::enqueue).
///
/// ```no_run
/// # #[errand::job]
/// # async fn resize(input: String) -> Result<(), errand::JobError> { Ok(()) }
/// # #[errand::job]
/// # async fn zip_and_notify(input: String) -> Result<(), errand::JobError> { Ok(()) }
/// # async fn demo(client: errand::Client) -> errand::Result<()> {
/// let mut batch = client.batch().tenant("acme");
/// for path in ["a.jpg", "b.jpg"] {
///     batch = batch.job(resize::enqueue(path.into()));
/// }
/// let batch = batch
///     .on_success(zip_and_notify::enqueue("summer".into()))
///     .enqueue()
///     .await?;
/// println!("{:?}", batch.status().await?.counts);
/// # Ok(()) }
/// ```
#[must_use = "a BatchBuilder does nothing until `enqueue` sends it"]
pub struct BatchBuilder {
    client: Client,
    tenant: Option<String>,
    queue: Option<String>,
    jobs: Vec<Pending>,
    continuations: Vec<(ContinueOn, Pending)>,
    open: bool,
}

impl std::fmt::Debug for BatchBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchBuilder")
            .field("tenant", &self.tenant)
            .field("queue", &self.queue)
            .field("jobs", &self.jobs.len())
            .field("continuations", &self.continuations.len())
            .field("open", &self.open)
            .finish()
    }
}

impl BatchBuilder {
    pub(crate) fn new(client: Client) -> Self {
        BatchBuilder {
            client,
            tenant: None,
            queue: None,
            jobs: Vec::new(),
            continuations: Vec::new(),
            open: false,
        }
    }

    /// The batch's tenant, also given to its jobs and continuations that
    /// name none. Set it before adding jobs.
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    /// The queue of the jobs and continuations added after this call that
    /// name none (instead of their kind's default).
    pub fn queue(mut self, queue: impl Into<String>) -> Self {
        self.queue = Some(queue.into());
        self
    }

    /// Adds a job.
    pub fn job<J: Job>(mut self, job: EnqueueBuilder<J>) -> Self {
        let pending = Pending::of(job, self.tenant.clone(), self.queue.clone());
        self.jobs.push(pending);
        self
    }

    /// Adds jobs of one kind.
    pub fn jobs<J: Job>(mut self, jobs: impl IntoIterator<Item = EnqueueBuilder<J>>) -> Self {
        for job in jobs {
            self = self.job(job);
        }
        self
    }

    fn continue_with<J: Job>(mut self, on: ContinueOn, job: EnqueueBuilder<J>) -> Self {
        let pending = Pending::of(job, self.tenant.clone(), self.queue.clone());
        self.continuations.push((on, pending));
        self
    }

    /// Enqueued once every job of the batch has completed.
    pub fn on_success<J: Job>(self, job: EnqueueBuilder<J>) -> Self {
        self.continue_with(ContinueOn::Success, job)
    }

    /// Enqueued once every job of the batch has finished, whatever the outcome.
    pub fn on_complete<J: Job>(self, job: EnqueueBuilder<J>) -> Self {
        self.continue_with(ContinueOn::Complete, job)
    }

    /// Enqueued once every job has finished and at least one failed or was
    /// cancelled.
    pub fn on_failure<J: Job>(self, job: EnqueueBuilder<J>) -> Self {
        self.continue_with(ContinueOn::Failure, job)
    }

    /// Leaves the batch open: it does not finish, whatever its jobs do,
    /// until [`BatchHandle::seal`] (after appending the rest of its jobs).
    pub fn open(mut self) -> Self {
        self.open = true;
        self
    }

    /// Creates the batch with its jobs, all or nothing, and returns a
    /// handle. A sealed batch without jobs finishes at once.
    pub async fn enqueue(self) -> Result<BatchHandle> {
        let (client, params) = self.into_params()?;
        let tenant = params.batch.tenant.clone();
        let created = client.store().create_batch(params).await?;
        Ok(BatchHandle::created(client, created, tenant))
    }

    /// Creates the batch inside the application's own PostgreSQL
    /// transaction (`&mut *tx`), in `store`'s schema: it exists, with its
    /// jobs, only if that transaction commits.
    #[cfg(feature = "postgres")]
    pub async fn enqueue_in_pg(
        self,
        store: &errand_postgres::PgStore,
        conn: &mut errand_postgres::PgConnection,
    ) -> Result<BatchHandle> {
        let (client, params) = self.into_params()?;
        let tenant = params.batch.tenant.clone();
        let created = store.create_batch_in(conn, params).await?;
        Ok(BatchHandle::created(client, created, tenant))
    }

    /// Creates the batch inside the application's own SQLite transaction
    /// (`&mut *tx`): it exists, with its jobs, only if that transaction
    /// commits (then `store.notify_committed()` wakes this process's
    /// workers at once).
    #[cfg(feature = "sqlite")]
    pub async fn enqueue_in_sqlite(
        self,
        store: &errand_sqlite::SqliteStore,
        conn: &mut errand_sqlite::SqliteConnection,
    ) -> Result<BatchHandle> {
        let (client, params) = self.into_params()?;
        let tenant = params.batch.tenant.clone();
        let created = store.create_batch_in(conn, params).await?;
        Ok(BatchHandle::created(client, created, tenant))
    }

    /// The store call that creates this batch, its jobs resolved now.
    fn into_params(self) -> Result<(Client, CreateBatchParams)> {
        let now = Utc::now();
        let jobs = self
            .jobs
            .into_iter()
            .map(|pending| (pending.job)(now))
            .collect::<Result<Vec<_>>>()?;
        let continuations = self
            .continuations
            .into_iter()
            .map(|(on, pending)| {
                Ok(Continuation {
                    on,
                    job: (pending.job)(now)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let params = CreateBatchParams {
            batch: NewBatch {
                tenant: self.tenant,
                continuations,
                sealed: !self.open,
            },
            jobs,
            now,
            max_input_bytes: self.client.max_input(),
        };
        Ok((self.client, params))
    }
}

/// `job`, with `tenant` unless it names its own.
fn with_tenant<J: Job>(job: EnqueueBuilder<J>, tenant: Option<&String>) -> EnqueueBuilder<J> {
    match tenant {
        Some(tenant) if !job.has_tenant() => job.tenant(tenant.clone()),
        _ => job,
    }
}

/// Jobs per write of [`BatchHandle::extend`].
pub const EXTEND_CHUNK: usize = 5_000;

/// A handle to a batch: its status, more jobs, its seal.
#[derive(Debug, Clone)]
pub struct BatchHandle {
    client: Client,
    id: BatchId,
    jobs: Vec<Enqueued>,
    /// The batch's tenant, when known without a read.
    tenant: Option<Option<String>>,
}

impl BatchHandle {
    /// A handle to an existing batch.
    pub fn new(client: Client, id: BatchId) -> Self {
        BatchHandle {
            client,
            id,
            jobs: Vec::new(),
            tenant: None,
        }
    }

    /// The handle of a batch just created for `tenant`.
    fn created(
        client: Client,
        created: errand_core::store::BatchCreated,
        tenant: Option<String>,
    ) -> Self {
        BatchHandle {
            client,
            id: created.id,
            jobs: created.jobs,
            tenant: Some(tenant),
        }
    }

    /// The batch's id.
    pub fn id(&self) -> BatchId {
        self.id
    }

    /// The jobs enqueued with the batch, in the order they were added (a
    /// duplicate of a unique key is the existing job, which joins no batch).
    pub fn jobs(&self) -> &[Enqueued] {
        &self.jobs
    }

    /// The batch's counts, times and continuations.
    pub async fn status(&self) -> Result<Batch> {
        self.client
            .store()
            .batch(self.id)
            .await?
            .ok_or_else(|| batch_not_found(self.id))
    }

    /// Cancels the batch: its waiting jobs at once, its running jobs
    /// through their CancellationToken on whichever worker process runs
    /// them (within about a second); it takes no more jobs and finishes,
    /// with its continuations, once its running jobs end. A job that
    /// ignores its token and fails is recorded cancelled; one that
    /// completes anyway is recorded completed (its work was done).
    pub async fn cancel(&self) -> Result<BatchCancelOutcome> {
        self.client
            .store()
            .cancel_batch(CancelBatchParams {
                id: self.id,
                now: Utc::now(),
            })
            .await
    }

    /// The batch's tenant (read once from the store for a handle made
    /// from an id).
    async fn batch_tenant(&self) -> Result<Option<String>> {
        match &self.tenant {
            Some(tenant) => Ok(tenant.clone()),
            None => Ok(self.status().await?.tenant),
        }
    }

    /// Adds jobs of one kind to the batch (all or none); an error naming
    /// the batch when it has finished. Jobs that name no tenant take the
    /// batch's.
    pub async fn append<J: Job>(
        &self,
        jobs: impl IntoIterator<Item = EnqueueBuilder<J>>,
    ) -> Result<Vec<Enqueued>> {
        let tenant = self.batch_tenant().await?;
        let now = Utc::now();
        let jobs = jobs
            .into_iter()
            .map(|job| with_tenant(job, tenant.as_ref()).into_new_job(now))
            .collect::<Result<Vec<_>>>()?;
        self.write(jobs, false, now).await
    }

    /// Adds any number of jobs of one kind, [`EXTEND_CHUNK`] per write, and
    /// returns how many were added. Memory stays flat however long `jobs`
    /// is: each chunk is built from the iterator when it is sent, and the
    /// ids are not kept. Jobs that name no tenant take the batch's. Extend an open batch (see [`BatchBuilder::open`]),
    /// then [`seal`](Self::seal) it: it cannot finish, nor its
    /// continuations fire, before. On an error the chunks already written
    /// stay and the batch stays open: cancel it, or add the rest and seal.
    ///
    /// ```no_run
    /// # #[errand::job]
    /// # async fn resize(input: u32) -> Result<(), errand::JobError> { Ok(()) }
    /// # #[errand::job]
    /// # async fn report(input: ()) -> Result<(), errand::JobError> { Ok(()) }
    /// # async fn demo(client: errand::Client) -> errand::Result<()> {
    /// let batch = client.batch().on_complete(report::enqueue(())).open().enqueue().await?;
    /// let added = batch.extend((0..1_000_000).map(resize::enqueue)).await?;
    /// batch.seal().await?;
    /// assert_eq!(added, 1_000_000);
    /// # Ok(()) }
    /// ```
    pub async fn extend<J: Job>(
        &self,
        jobs: impl IntoIterator<Item = EnqueueBuilder<J>>,
    ) -> Result<u64> {
        let tenant = self.batch_tenant().await?;
        let mut jobs = jobs.into_iter();
        let mut added = 0u64;
        loop {
            let now = Utc::now();
            let chunk = jobs
                .by_ref()
                .take(EXTEND_CHUNK)
                .map(|job| with_tenant(job, tenant.as_ref()).into_new_job(now))
                .collect::<Result<Vec<_>>>()?;
            if chunk.is_empty() {
                return Ok(added);
            }
            let len = chunk.len();
            self.write(chunk, false, now).await?;
            added += len as u64;
            if len < EXTEND_CHUNK {
                return Ok(added);
            }
        }
    }

    /// Adds jobs given by kind name and JSON input (all or none); jobs
    /// that name no tenant take the batch's.
    pub async fn append_raw(&self, mut jobs: Vec<NewJob>) -> Result<Vec<Enqueued>> {
        if let Some(tenant) = self.batch_tenant().await? {
            for job in jobs.iter_mut().filter(|job| job.tenant.is_none()) {
                job.tenant = Some(tenant.clone());
            }
        }
        self.write(jobs, false, Utc::now()).await
    }

    /// Seals an open batch: once its jobs have finished, it finishes (at
    /// once if they have).
    pub async fn seal(&self) -> Result<()> {
        self.write(Vec::new(), true, Utc::now()).await.map(drop)
    }

    async fn write(
        &self,
        jobs: Vec<NewJob>,
        seal: bool,
        now: chrono::DateTime<Utc>,
    ) -> Result<Vec<Enqueued>> {
        self.client
            .store()
            .append_to_batch(AppendParams {
                id: self.id,
                jobs,
                seal,
                now,
                max_input_bytes: self.client.max_input(),
            })
            .await
    }

    /// The batch's failed and cancelled jobs, newest first (at most `limit`).
    pub async fn failed_jobs(&self, limit: u32) -> Result<Vec<JobId>> {
        let mut ids = Vec::new();
        for state in [JobState::Failed, JobState::Cancelled] {
            let rows = self
                .client
                .list(ListParams {
                    state: Some(state),
                    batch_id: Some(self.id.0),
                    limit,
                    ..ListParams::default()
                })
                .await?;
            ids.extend(rows.into_iter().map(|row| row.id));
        }
        ids.sort_unstable_by(|a, b| b.cmp(a));
        ids.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(ids)
    }
}

/// The store a worker's jobs reach batches through (added by the worker).
#[derive(Clone)]
pub(crate) struct JobClient(pub(crate) Client);

fn client_of(ctx: &JobContext) -> std::result::Result<Client, JobError> {
    ctx.state::<JobClient>()
        .map(|c| c.0.clone())
        .ok_or_else(|| {
            JobError::with_kind(
                ErrorKind::Fatal,
                JobErrorAction::Fail,
                "this job runs outside a worker: batch extractors need one",
            )
        })
}

/// The batch a continuation continues: a job parameter of the jobs given to
/// `on_success`, `on_complete` or `on_failure`. Its status holds the
/// batch's final counts.
///
/// ```no_run
/// use errand::Continued;
///
/// #[errand::job]
/// async fn zip_and_notify(input: String, batch: Continued) -> Result<(), errand::JobError> {
///     let status = batch.status().await?;
///     let failed = batch.failed_jobs(100).await?;
///     println!("{input}: {} done, failed: {failed:?}", status.counts.completed);
///     Ok(())
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Continued(BatchHandle);

impl std::ops::Deref for Continued {
    type Target = BatchHandle;
    fn deref(&self) -> &BatchHandle {
        &self.0
    }
}

impl FromContext for Continued {
    fn from_context(ctx: &JobContext) -> std::result::Result<Self, JobError> {
        let id = ctx
            .meta()
            .get(CONTINUES_META)
            .and_then(|id| id.parse::<i64>().ok())
            .ok_or_else(|| {
                JobError::with_kind(
                    ErrorKind::Fatal,
                    JobErrorAction::Fail,
                    format!(
                        "job {} ({}) is not the continuation of a batch",
                        ctx.id(),
                        ctx.kind()
                    ),
                )
            })?;
        Ok(Continued(BatchHandle::new(client_of(ctx)?, BatchId(id))))
    }
}

/// The batch of the running job: a job parameter that lets a job of a
/// batch append more jobs to it (the batch cannot finish before that
/// append commits, as the job itself has not ended).
#[derive(Debug, Clone)]
pub struct InBatch(BatchHandle);

impl std::ops::Deref for InBatch {
    type Target = BatchHandle;
    fn deref(&self) -> &BatchHandle {
        &self.0
    }
}

impl FromContext for InBatch {
    fn from_context(ctx: &JobContext) -> std::result::Result<Self, JobError> {
        let id = ctx.batch_id().ok_or_else(|| {
            JobError::with_kind(
                ErrorKind::Fatal,
                JobErrorAction::Fail,
                format!("job {} ({}) belongs to no batch", ctx.id(), ctx.kind()),
            )
        })?;
        Ok(InBatch(BatchHandle::new(client_of(ctx)?, BatchId(id))))
    }
}
