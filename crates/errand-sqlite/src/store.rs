use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use crate::transaction::SqliteTxSource;
use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use errand_core::{
    CancelOutcome, CancelParams, Capabilities, ClaimParams, DeleteParams, EnqueueBuilder,
    EnqueueParams, Enqueued, Error, FinalizeGroups, FinalizeParams, GetParams, Job, JobId, JobRow,
    JobState, LeaseStatus, ListParams, NewJob, RenewParams, RescueParams, RescueUnheldParams,
    Result, RetryParams, StateCount, StateMap, Stats, StatsParams, Store, Wakeup, WakeupSender,
};
use serde_json::json;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

use crate::enqueue::{enqueue_all_in, insert_jobs, single_statement};
use crate::error::{db_error, retry_busy, write_once};
use crate::listener::{Signal, listen, wake_path};
use crate::migrate::migrate;
use crate::queries;
use crate::rows::{from_micros, job_row, micros};

/// Parses a `sqlite://path` (or `sqlite:path`, `sqlite::memory:`) URL,
/// refusing any other scheme: the error names the URL.
pub fn connect_options(url: &str) -> Result<SqliteConnectOptions> {
    errand_core::validate::url_scheme(url, &["sqlite"])?;
    SqliteConnectOptions::from_str(url)
        .map_err(|e| Error::invalid("database_url", url, e.to_string()))
}

/// An error met while opening the file at `target`, naming it. A file that
/// is not a database, or cannot be opened at all, is the caller's to fix.
fn open_error(target: &str, e: Error) -> Error {
    let code = match &e {
        Error::Backend {
            source: Some(source),
            ..
        }
        | Error::Unavailable {
            source: Some(source),
            ..
        } => source
            .downcast_ref::<sqlx::Error>()
            .and_then(|e| e.as_database_error())
            .and_then(|db| db.code())
            .and_then(|c| c.parse::<i32>().ok()),
        _ => None,
    };
    match code.map(|c| c & 0xff) {
        // SQLITE_CANTOPEN, SQLITE_NOTADB
        Some(14) => Error::invalid(
            "database_url",
            target,
            "cannot be opened: unable to open database file (does its folder exist, may this user write it?)",
        ),
        Some(26) => Error::invalid(
            "database_url",
            target,
            "is not a SQLite database (file is not a database)",
        ),
        _ => e.context(format!("cannot open {target}")),
    }
}

/// Tuning of a [`SqliteStore`].
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// How long a write waits for another process's write lock.
    pub busy_timeout: Duration,
    /// Connections for reads (get, list); writes use one connection.
    pub readers: u32,
    /// `synchronous=FULL` instead of `NORMAL`: survives power loss at the cost
    /// of an fsync per commit. NORMAL in WAL mode is safe against process crashes.
    pub synchronous_full: bool,
    /// Create the database file when it does not exist (default true). With
    /// false, opening a missing file is an [`Error::NotFound`] naming it:
    /// for tools that only read, so that a typo in a path does not leave an
    /// empty database behind.
    pub create_if_missing: bool,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            busy_timeout: Duration::from_secs(30),
            readers: 4,
            synchronous_full: false,
            create_if_missing: true,
        }
    }
}

struct Inner {
    // One connection for every write of this process: in-process writers queue
    // on the pool instead of on SQLite's sleeping busy handler.
    writer: SqlitePool,
    reader: SqlitePool,
    /// Connections for jobs' own transactions (`SqliteTx`), opened on first use.
    transactions: SqlitePool,
    wakeup: Arc<WakeupSender>,
    /// How long a write waits for another process's write lock.
    busy_timeout: Duration,
    /// Tells other processes on the same file (see `listener`); `None` for an
    /// in-memory database or when the wake file cannot be written.
    signal: Option<Signal>,
    /// Hears the other processes' signals while it lives.
    _watcher: Option<notify::RecommendedWatcher>,
}

/// The SQLite store: one database file in WAL mode.
///
/// Several processes may share the file; writes are serialized by SQLite's
/// write lock. A claim is one atomic statement, or a `BEGIN IMMEDIATE`
/// transaction when limits apply, so two workers never claim the same job.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at a `sqlite://path` URL and
    /// applies migrations.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(connect_options(url)?, SqliteOptions::default()).await
    }

    /// Opens (creating if needed) the database file at `path`.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        let options = SqliteConnectOptions::new().filename(path);
        Self::connect_with(options, SqliteOptions::default()).await
    }

    /// Opens with explicit connection options and tuning. Every error names
    /// the file.
    pub async fn connect_with(
        options: SqliteConnectOptions,
        tuning: SqliteOptions,
    ) -> Result<Self> {
        let path = options.get_filename().to_path_buf();
        let target = format!("sqlite://{}", path.display());
        let in_memory = path.to_string_lossy().starts_with("file:");
        if !tuning.create_if_missing && !in_memory && !path.exists() {
            return Err(Error::NotFound {
                entity: "SQLite database",
                id: path.display().to_string(),
            });
        }
        Self::open_checked(options, tuning)
            .await
            .map_err(|e| open_error(&target, e))
    }

    async fn open_checked(options: SqliteConnectOptions, tuning: SqliteOptions) -> Result<Self> {
        let path = options.get_filename().to_path_buf();
        let in_memory = path.to_string_lossy().starts_with("file:");
        let options = options
            .create_if_missing(tuning.create_if_missing)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(if tuning.synchronous_full {
                SqliteSynchronous::Full
            } else {
                SqliteSynchronous::Normal
            })
            .busy_timeout(tuning.busy_timeout)
            // Rows travel from the connection's thread in chunks of this size;
            // claims return hundreds at once.
            .row_buffer_size(1024);
        // A local file needs no liveness ping on every acquire: that ping is a
        // round trip to the connection's thread per operation.
        let reader = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .max_connections(tuning.readers.max(1))
            .connect_with(options.clone())
            .await
            .map_err(db_error)?;
        // Migrations wait in SQLite's busy handler (once per open); the
        // writer's statements wait in `retry_busy` instead.
        migrate(&reader).await?;
        let writer = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(tuning.busy_timeout + Duration::from_secs(30))
            .connect_with(options.clone().busy_timeout(Duration::ZERO))
            .await
            .map_err(db_error)?;
        let transactions = SqlitePoolOptions::new()
            .max_connections(tuning.readers.max(1))
            .acquire_timeout(tuning.busy_timeout + Duration::from_secs(30))
            .connect_lazy_with(options);
        let wakeup = Arc::new(WakeupSender::default());
        let (signal, watcher) = if in_memory {
            (None, None)
        } else {
            let path = wake_path(&path);
            match Signal::open(&path, wakeup.origin())
                .map_err(|e| e.to_string())
                .and_then(|signal| {
                    listen(&path, Arc::clone(&wakeup))
                        .map(|watcher| (signal, watcher))
                        .map_err(|e| e.to_string())
                }) {
                Ok((signal, watcher)) => (Some(signal), Some(watcher)),
                Err(e) => {
                    tracing::warn!(error = %e, path = %path.display(), "errand cannot exchange wake-ups with other processes on this file; their jobs are found at the poll interval");
                    (None, None)
                }
            }
        };
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                writer,
                reader,
                transactions,
                wakeup,
                busy_timeout: tuning.busy_timeout,
                signal,
                _watcher: watcher,
            }),
        })
    }

    /// Wakes the idle workers of this store, in this process and in others
    /// on the same file, for example after enqueuing in the application's
    /// own transaction once it committed.
    pub fn notify_committed(&self) {
        self.woke(true);
    }

    /// Jobs may have become claimable or a limit's slot may have freed:
    /// wakes this process's workers (when `here`) and tells the other
    /// processes on the file.
    fn woke(&self, here: bool) {
        if here {
            self.inner.wakeup.notify();
        }
        if let Some(signal) = &self.inner.signal {
            signal.send();
        }
    }

    /// Enqueues a typed job on the application's own connection to this
    /// store's database (typically `&mut *tx` of its sqlx transaction): the
    /// job exists if and only if that transaction commits. Call
    /// [`notify_committed`](Self::notify_committed) after the commit to wake
    /// this process's workers at once (SQLite gives no signal of another
    /// connection's commit; otherwise they find the job at their next poll).
    pub async fn enqueue_in<J: Job>(
        &self,
        conn: &mut sqlx::SqliteConnection,
        job: EnqueueBuilder<J>,
    ) -> Result<Enqueued> {
        let now = Utc::now();
        let job = job.into_new_job(now)?;
        let mut done = enqueue_all_in(conn, vec![job], now).await?;
        done.pop()
            .ok_or_else(|| Error::backend_msg("enqueue returned no result"))
    }

    /// Enqueues jobs by kind name on the application's own connection (all or
    /// none, with the transaction).
    pub async fn enqueue_all_in(
        &self,
        conn: &mut sqlx::SqliteConnection,
        jobs: Vec<NewJob>,
    ) -> Result<Vec<Enqueued>> {
        enqueue_all_in(conn, jobs, Utc::now()).await
    }

    /// Closes the connections.
    pub async fn close(&self) {
        self.inner.writer.close().await;
        self.inner.reader.close().await;
        self.inner.transactions.close().await;
    }

    /// Claims with no limit to respect: one atomic statement per queue tried.
    async fn claim_unlimited(
        &self,
        params: &ClaimParams,
        now: i64,
        until: i64,
    ) -> Result<Vec<JobRow>> {
        let kinds = json!(
            params
                .kinds
                .iter()
                .map(|k| k.kind.as_str())
                .collect::<Vec<_>>()
        )
        .to_string();
        let mut claimed = Vec::new();
        let mut remaining = params.limit;
        for queue in &params.queues {
            let rows = write_once(self.inner.busy_timeout, || {
                sqlx::query(queries::CLAIM_QUEUE)
                    .bind(&queue.name)
                    .bind(&params.worker)
                    .bind(now)
                    .bind(until)
                    .bind(kinds.clone())
                    .bind(i64::from(remaining))
                    .fetch_all(&self.inner.writer)
            })
            .await?;
            let mut jobs = rows
                .iter()
                .map(|row| job_row(row, params.now))
                .collect::<Result<Vec<_>>>()?;
            // RETURNING order is unspecified: restore the claim order.
            jobs.sort_by_key(|job| (job.priority, job.run_at, job.id));
            remaining = remaining.saturating_sub(u32::try_from(jobs.len()).unwrap_or(u32::MAX));
            claimed.extend(jobs);
            if remaining == 0 {
                break;
            }
        }
        Ok(claimed)
    }

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        write_once(self.inner.busy_timeout, || {
            self.inner.writer.begin_with("BEGIN IMMEDIATE")
        })
        .await
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn ids_json(ids: &[i64]) -> String {
    serde_json::Value::from(ids.to_vec()).to_string()
}

/// The public states of the jobs of `ids` that exist, read in the admin
/// operation's write transaction so that they hold until it commits.
async fn job_states(
    conn: &mut sqlx::SqliteConnection,
    ids: &[i64],
    now: DateTime<Utc>,
) -> Result<Vec<(JobId, JobState)>> {
    let rows = sqlx::query(queries::JOB_STATES)
        .bind(ids_json(ids))
        .fetch_all(conn)
        .await
        .map_err(db_error)?;
    rows.iter()
        .map(|row| {
            let stored: String = row.try_get("state").map_err(db_error)?;
            let attempt: i64 = row.try_get("attempt").map_err(db_error)?;
            let run_at = from_micros(row.try_get("run_at").map_err(db_error)?)?;
            let state =
                JobState::of_stored(&stored, run_at, u32::try_from(attempt).unwrap_or(0), now)?;
            Ok((JobId(row.try_get("id").map_err(db_error)?), state))
        })
        .collect()
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            transactional_enqueue: true,
            cross_process_wakeup: self.inner.signal.is_some(),
        }
    }

    async fn enqueue(&self, params: EnqueueParams) -> Result<Vec<Enqueued>> {
        for job in &params.jobs {
            job.validate(params.max_input_bytes)?;
        }
        if params.jobs.is_empty() {
            return Ok(Vec::new());
        }
        let results = if single_statement(&params.jobs) {
            // One INSERT statement: atomic without an explicit transaction,
            // so it can run again when another process held the lock.
            retry_busy(self.inner.busy_timeout, || async {
                let mut conn = self.inner.writer.acquire().await.map_err(db_error)?;
                insert_jobs(&mut conn, &params.jobs, params.now).await
            })
            .await?
        } else {
            let mut tx = self.begin_write().await?;
            let results = insert_jobs(&mut tx, &params.jobs, params.now).await?;
            tx.commit().await.map_err(db_error)?;
            results
        };
        self.woke(true);
        Ok(results)
    }

    async fn claim(&self, params: ClaimParams) -> Result<Vec<JobRow>> {
        if params.limit == 0 || params.queues.is_empty() || params.kinds.is_empty() {
            return Ok(Vec::new());
        }
        let now = micros(params.now);
        let until = micros(params.lease_until()?);
        let limited = params
            .kinds
            .iter()
            .any(|k| k.cap.is_some() || k.global_limit.is_some())
            || params.queues.iter().any(|q| q.cap.is_some());
        if !limited {
            return self.claim_unlimited(&params, now, until).await;
        }
        let mut tx = self.begin_write().await?;

        // Room left per kind: the local cap, lowered by the global limit minus
        // what runs across the cluster now.
        let mut room: HashMap<&str, u32> = HashMap::new();
        for k in &params.kinds {
            room.insert(k.kind.as_str(), k.cap.unwrap_or(u32::MAX));
        }
        let limited: Vec<&str> = params
            .kinds
            .iter()
            .filter(|k| k.global_limit.is_some())
            .map(|k| k.kind.as_str())
            .collect();
        if !limited.is_empty() {
            let rows = sqlx::query(queries::CLAIM_RUNNING_COUNTS)
                .bind(json!(limited).to_string())
                .fetch_all(&mut *tx)
                .await
                .map_err(db_error)?;
            let mut running: HashMap<String, i64> = HashMap::new();
            for row in rows {
                running.insert(
                    row.try_get(0).map_err(db_error)?,
                    row.try_get(1).map_err(db_error)?,
                );
            }
            for k in &params.kinds {
                if let Some(limit) = k.global_limit {
                    let used = running.get(&k.kind).copied().unwrap_or(0);
                    let left = u32::try_from(i64::from(limit) - used).unwrap_or(0);
                    if let Some(r) = room.get_mut(k.kind.as_str()) {
                        *r = (*r).min(left);
                    }
                }
            }
        }

        let mut claimed: Vec<JobRow> = Vec::new();
        let mut remaining = params.limit;
        'queues: for queue in &params.queues {
            let mut queue_room = queue.cap.unwrap_or(u32::MAX).min(remaining);
            while queue_room > 0 {
                let allowed: Vec<&str> = room
                    .iter()
                    .filter(|(_, r)| **r > 0)
                    .map(|(k, _)| *k)
                    .collect();
                if allowed.is_empty() {
                    break 'queues;
                }
                let candidates = sqlx::query(queries::CLAIM_CANDIDATES)
                    .bind(&queue.name)
                    .bind(now)
                    .bind(json!(allowed).to_string())
                    .bind(i64::from(queue_room))
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(db_error)?;
                let fetched = candidates.len();
                let mut capped = false;
                let mut picked: Vec<i64> = Vec::new();
                for row in candidates {
                    let id: i64 = row.try_get(0).map_err(db_error)?;
                    let kind: String = row.try_get(1).map_err(db_error)?;
                    match room.get_mut(kind.as_str()) {
                        Some(r) if *r > 0 && queue_room > 0 => {
                            *r -= 1;
                            queue_room -= 1;
                            remaining -= 1;
                            picked.push(id);
                        }
                        _ => capped = true,
                    }
                }
                if !picked.is_empty() {
                    let order: HashMap<i64, usize> =
                        picked.iter().enumerate().map(|(i, id)| (*id, i)).collect();
                    let rows = sqlx::query(queries::CLAIM_MARK)
                        .bind(ids_json(&picked))
                        .bind(&params.worker)
                        .bind(now)
                        .bind(until)
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(db_error)?;
                    let mut marked = rows
                        .iter()
                        .map(|row| job_row(row, params.now))
                        .collect::<Result<Vec<_>>>()?;
                    marked.sort_by_key(|job| order.get(&job.id.0).copied().unwrap_or(usize::MAX));
                    claimed.extend(marked);
                }
                // A kind that hit its cap hid jobs behind it: look again without it.
                // Otherwise the queue has nothing more that is due.
                if !capped || fetched == 0 {
                    break;
                }
            }
            if remaining == 0 {
                break;
            }
        }
        tx.commit().await.map_err(db_error)?;
        Ok(claimed)
    }

    async fn finalize(&self, params: FinalizeParams) -> Result<Vec<bool>> {
        if params.items.is_empty() {
            return Ok(Vec::new());
        }
        let now = params.now;
        let FinalizeGroups {
            complete,
            retry,
            fail,
            cancel,
            snooze,
            wakes,
        } = FinalizeGroups::of(&params.items, now, |t| json!(micros(t)));
        // Each statement ends attempts independently of the others, so each
        // runs on its own (no explicit transaction: one round trip less).
        let mut applied: HashSet<i64> = HashSet::new();
        let batches: [(&str, &Vec<serde_json::Value>, Option<&str>); 5] = [
            (queries::FINALIZE_COMPLETE, &complete, None),
            (queries::FINALIZE_RETRY, &retry, None),
            (queries::FINALIZE_END, &fail, Some("failed")),
            (queries::FINALIZE_END, &cancel, Some("cancelled")),
            (queries::FINALIZE_SNOOZE, &snooze, None),
        ];
        for (sql, items, end_state) in batches {
            if items.is_empty() {
                continue;
            }
            let payload = serde_json::Value::from(items.clone()).to_string();
            let ids = write_once(self.inner.busy_timeout, || {
                let mut query = sqlx::query_scalar::<_, i64>(sql)
                    .bind(payload.clone())
                    .bind(&params.worker)
                    .bind(micros(now));
                if let Some(state) = end_state {
                    query = query.bind(state);
                }
                query.fetch_all(&self.inner.writer)
            })
            .await?;
            applied.extend(ids);
        }
        // An end under a global limit frees a slot that workers of other
        // processes may wait for; this process's own hear of it from their
        // job ends.
        if !applied.is_empty() && (wakes || params.frees_global_slots) {
            self.woke(wakes);
        }
        Ok(params
            .items
            .iter()
            .map(|item| applied.contains(&item.id.0))
            .collect())
    }

    async fn renew_leases(&self, params: RenewParams) -> Result<Vec<LeaseStatus>> {
        if params.jobs.is_empty() {
            return Ok(Vec::new());
        }
        let payload: Vec<serde_json::Value> = params
            .jobs
            .iter()
            .map(|(id, attempt)| json!({"id": id.0, "attempt": attempt}))
            .collect();
        let payload = serde_json::Value::from(payload).to_string();
        let rows = write_once(self.inner.busy_timeout, || {
            sqlx::query(queries::RENEW_LEASES)
                .bind(payload.clone())
                .bind(&params.worker)
                .bind(micros(params.lease_until))
                .fetch_all(&self.inner.writer)
        })
        .await?;
        let mut held: HashMap<(i64, i64), bool> = HashMap::new();
        for row in rows {
            let id: i64 = row.try_get(0).map_err(db_error)?;
            let attempt: i64 = row.try_get(1).map_err(db_error)?;
            let cancel: i64 = row.try_get(2).map_err(db_error)?;
            held.insert((id, attempt), cancel != 0);
        }
        Ok(params
            .jobs
            .iter()
            .map(|(id, attempt)| {
                let status = held.get(&(id.0, i64::from(*attempt)));
                LeaseStatus {
                    id: *id,
                    held: status.is_some(),
                    cancel_requested: status.copied().unwrap_or(false),
                }
            })
            .collect())
    }

    async fn rescue(&self, params: RescueParams) -> Result<Vec<JobId>> {
        let ids: Vec<i64> = write_once(self.inner.busy_timeout, || {
            sqlx::query_scalar(queries::RESCUE)
                .bind(micros(params.now))
                .bind(rfc3339(params.now))
                .fetch_all(&self.inner.writer)
        })
        .await?;
        if !ids.is_empty() {
            self.woke(true);
        }
        Ok(ids.into_iter().map(JobId).collect())
    }

    async fn rescue_unheld(&self, params: RescueUnheldParams) -> Result<Vec<JobId>> {
        let held = ids_json(&params.held.iter().map(|id| id.0).collect::<Vec<_>>());
        let ids: Vec<i64> = write_once(self.inner.busy_timeout, || {
            sqlx::query_scalar(queries::RESCUE_UNHELD)
                .bind(&params.worker)
                .bind(held.clone())
                .bind(micros(params.claimed_before))
                .bind(micros(params.now))
                .bind(rfc3339(params.now))
                .fetch_all(&self.inner.writer)
        })
        .await?;
        if !ids.is_empty() {
            self.woke(true);
        }
        Ok(ids.into_iter().map(JobId).collect())
    }

    async fn get(&self, params: GetParams) -> Result<Option<JobRow>> {
        let row = sqlx::query(queries::GET)
            .bind(params.id.0)
            .fetch_optional(&self.inner.reader)
            .await
            .map_err(db_error)?;
        row.map(|row| job_row(&row, params.now)).transpose()
    }

    async fn list(&self, params: ListParams) -> Result<Vec<JobRow>> {
        let rows = sqlx::query(queries::LIST)
            .bind(params.kind.as_deref())
            .bind(params.queue.as_deref())
            .bind(params.tenant.as_deref())
            .bind(params.batch_id)
            .bind(params.state.map(|s| s.as_str()))
            .bind(params.unique_key.as_deref())
            .bind(params.before_id.map(|id| id.0))
            .bind(i64::from(params.limit))
            .bind(micros(params.now))
            .fetch_all(&self.inner.reader)
            .await
            .map_err(db_error)?;
        rows.iter().map(|row| job_row(row, params.now)).collect()
    }

    async fn cancel(&self, params: CancelParams) -> Result<CancelOutcome> {
        if params.ids.is_empty() {
            return Ok(CancelOutcome::default());
        }
        let ids: Vec<i64> = params.ids.iter().map(|id| id.0).collect();
        let mut tx = self.begin_write().await?;
        let found = job_states(&mut tx, &ids, params.now).await?;
        let outcome = CancelOutcome::plan(&params.ids, &found);
        if !outcome.cancelled.is_empty() {
            sqlx::query(queries::CANCEL_WAITING)
                .bind(ids_json(
                    &outcome.cancelled.iter().map(|id| id.0).collect::<Vec<_>>(),
                ))
                .bind(micros(params.now))
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
        if !outcome.requested.is_empty() {
            sqlx::query(queries::CANCEL_RUNNING)
                .bind(ids_json(
                    &outcome.requested.iter().map(|id| id.0).collect::<Vec<_>>(),
                ))
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)?;
        Ok(outcome)
    }

    async fn retry(&self, params: RetryParams) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let found = job_states(&mut tx, &[params.id.0], params.now).await?;
        params.check(found.first().map(|(_, state)| *state))?;
        sqlx::query(queries::RETRY)
            .bind(params.id.0)
            .bind(micros(params.now))
            .execute(&mut *tx)
            .await
            .map_err(|e| match db_error(e) {
                Error::Conflict { .. } => params.key_taken(),
                other => other,
            })?;
        tx.commit().await.map_err(db_error)?;
        self.woke(true);
        Ok(())
    }

    async fn stats(&self, params: StatsParams) -> Result<Stats> {
        let rows = sqlx::query(queries::STATS)
            .bind(micros(params.now))
            .bind(params.tenant.as_deref())
            .fetch_all(&self.inner.reader)
            .await
            .map_err(db_error)?;
        let mut counts = Vec::with_capacity(rows.len());
        for row in rows {
            let state: String = row.try_get(1).map_err(db_error)?;
            let count: i64 = row.try_get(2).map_err(db_error)?;
            counts.push(StateCount {
                queue: row.try_get(0).map_err(db_error)?,
                state: state.parse()?,
                count: u64::try_from(count).unwrap_or(0),
            });
        }
        Ok(Stats { counts })
    }

    async fn delete(&self, params: DeleteParams) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let found = job_states(&mut tx, &[params.id.0], Utc::now()).await?;
        params.check(found.first().map(|(_, state)| *state))?;
        sqlx::query(queries::DELETE)
            .bind(params.id.0)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(())
    }

    fn subscribe(&self) -> Wakeup {
        self.inner.wakeup.subscribe()
    }

    fn provide(&self, states: &mut StateMap) {
        states.insert(SqliteTxSource {
            pool: self.inner.transactions.clone(),
        });
    }
}
