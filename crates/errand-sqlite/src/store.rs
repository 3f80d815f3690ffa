use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use errand_core::store::{ClaimParams, WakeupSender};
use errand_core::{EnqueueBuilder, Enqueued, Error, Job, JobRow, NewJob, Result};
use errand_sql::Migrator;
use serde_json::json;
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::enqueue::enqueue_all_in;
use crate::error::{db_error, write_once};
use crate::listener::{Signal, listen, wake_path};
use crate::migrate::FileMigrator;
use crate::options::SqliteOptions;
use crate::queries;
use crate::rows::job_row;

/// Parses a `sqlite://path` (or `sqlite:path`, `sqlite::memory:`) URL,
/// refusing any other scheme: the error names the URL.
pub fn connect_options(url: &str) -> Result<SqliteConnectOptions> {
    errand_core::validate::url_scheme(url, SqliteStore::SCHEMES)?;
    SqliteConnectOptions::from_str(url)
        .map_err(|e| Error::invalid("database_url", url, e.to_string()))
}

/// An error met while opening the file at `target`, naming it. A file that
/// is not a database, or cannot be opened at all, is the caller's to fix.
pub(crate) fn open_error(target: &str, e: Error) -> Error {
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

pub(crate) struct Inner {
    // One connection for every write of this process: in-process writers queue
    // on the pool instead of on SQLite's sleeping busy handler.
    pub(crate) writer: SqlitePool,
    pub(crate) reader: SqlitePool,
    /// Connections for jobs' own transactions (`SqliteTx`), opened on first use.
    pub(crate) transactions: SqlitePool,
    pub(crate) wakeup: Arc<WakeupSender>,
    /// How long a write waits for another process's write lock.
    pub(crate) busy_timeout: Duration,
    /// Tells other processes on the same file (see `listener`); `None` for an
    /// in-memory database or when the wake file cannot be written.
    pub(crate) signal: Option<Signal>,
    /// Hears the other processes' signals while it lives.
    pub(crate) _watcher: Option<notify::RecommendedWatcher>,
}

/// The SQLite store: one database file in WAL mode.
///
/// Several processes may share the file; writes are serialized by SQLite's
/// write lock. A claim is one atomic statement, or a `BEGIN IMMEDIATE`
/// transaction when limits apply, so two workers never claim the same job.
#[derive(Clone)]
pub struct SqliteStore {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// The URL schemes this store takes.
    pub const SCHEMES: &'static [&'static str] = &["sqlite"];

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

    pub(crate) async fn open_checked(
        options: SqliteConnectOptions,
        tuning: SqliteOptions,
    ) -> Result<Self> {
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
        FileMigrator { pool: &reader }.run().await?;
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
    pub(crate) fn woke(&self, here: bool) {
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
    pub(crate) async fn claim_unlimited(
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

    pub(crate) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        write_once(self.inner.busy_timeout, || {
            self.inner.writer.begin_with("BEGIN IMMEDIATE")
        })
        .await
    }
}

pub(crate) fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(crate) fn ids_json(ids: &[i64]) -> String {
    serde_json::Value::from(ids.to_vec()).to_string()
}
