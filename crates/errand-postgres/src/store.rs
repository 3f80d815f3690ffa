use std::collections::HashSet;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use errand_core::store::{ClaimParams, WakeupSender};
use errand_core::{EnqueueBuilder, Enqueued, Error, Job, JobRow, NewJob, Result};
use errand_sql::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::enqueue::enqueue_all_in;
use crate::error::db_error;
use crate::listener::{listen, send_notifications};
use crate::migrate::SchemaMigrator;
use crate::options::PgOptions;
use crate::queries::{Queries, channel, validate_schema};
use crate::rows::job_row;

pub(crate) struct Inner {
    /// Durable writes and reads.
    pub(crate) pool: PgPool,
    /// Claims, renewals, rescues and results (see `synchronous_job_updates`).
    pub(crate) jobs: PgPool,
    /// Enqueues of `Store::enqueue`, whose notification `notifier` sends.
    pub(crate) enqueue: PgPool,
    /// Asks the notifier task for one NOTIFY covering every write so far.
    pub(crate) notify_signal: Arc<Notify>,
    pub(crate) notifier: Option<JoinHandle<()>>,
    /// Queues whose last claim was full: more due jobs are likely waiting,
    /// and the cheaper `claim_queue_busy` statement applies.
    pub(crate) busy_queues: std::sync::Mutex<HashSet<String>>,
    pub(crate) q: Queries,
    pub(crate) schema: String,
    pub(crate) wakeup: Arc<WakeupSender>,
    pub(crate) listener: Option<JoinHandle<()>>,
    pub(crate) vacuum: Vacuum,
}

/// When this store next vacuums the jobs table.
pub(crate) struct Vacuum {
    every: Option<u64>,
    /// Jobs to end before the next vacuum (`vacuum_distance`).
    distance: AtomicU64,
    /// Jobs ended through this store since its last vacuum began.
    ended: AtomicU64,
    running: AtomicBool,
}

/// Jobs to end between two vacuums of a table of `rows` rows:
/// `sqrt(every × rows / 8)`, which balances a vacuum's cost (it reads every
/// index whole) against the dead index entries every claim walks until
/// then; `every` below `8 × every` rows, where a vacuum is cheap. The
/// derivation and its measurements: docs/design.md, "when the store
/// vacuums its table".
pub(crate) fn vacuum_distance(every: u64, rows: f64) -> u64 {
    let balanced = (every as f64 * rows.max(0.0) / 8.0).sqrt();
    // A float-to-int `as` saturates; the result is a count of jobs.
    every.max(balanced as u64)
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(notifier) = self.notifier.take() {
            notifier.abort();
        }
        if let Some(listener) = self.listener.take() {
            listener.abort();
        }
    }
}

/// A connection idle this long is pinged before it is used again.
const IDLE_PING: Duration = Duration::from_secs(1);

/// Options of the store's pools. Connections are not pinged before each use
/// (a round trip per operation), only after they sat idle for [`IDLE_PING`]:
/// after a server restart every idle connection is dead, and finding that
/// with a ping inside the acquire beats a failed statement (and a retry
/// pause) per dead connection. A busy worker's connections never idle that
/// long; an idle worker's first claim after a quiet second pays one ping.
pub(crate) fn pool_options(max_connections: u32, acquire_timeout: Duration) -> PgPoolOptions {
    PgPoolOptions::new()
        .test_before_acquire(false)
        .max_connections(max_connections)
        .acquire_timeout(acquire_timeout)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for < IDLE_PING {
                    return Ok(true);
                }
                Ok(conn.ping().await.is_ok())
            })
        })
}

/// Parses a `postgres://` (or `postgresql://`) URL, refusing any other
/// scheme: the error names the URL, without its password.
pub fn connect_options(url: &str) -> Result<PgConnectOptions> {
    errand_core::validate::url_scheme(url, PgStore::SCHEMES)?;
    PgConnectOptions::from_str(url).map_err(|e| {
        Error::invalid(
            "database_url",
            errand_core::validate::redact_url(url),
            e.to_string(),
        )
    })
}

/// The server and database of `options` as a URL without a password.
pub(crate) fn describe(options: &PgConnectOptions) -> String {
    let database = options.get_database().unwrap_or(options.get_username());
    match options.get_socket() {
        Some(socket) => format!(
            "postgres://{}@{}/{database} (socket)",
            options.get_username(),
            socket.display()
        ),
        None => format!(
            "postgres://{}@{}:{}/{database}",
            options.get_username(),
            options.get_host(),
            options.get_port()
        ),
    }
}

/// The PostgreSQL store: any number of workers on any number of hosts share
/// one database.
#[derive(Clone)]
pub struct PgStore {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("schema", &self.inner.schema)
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// The URL schemes this store takes.
    pub const SCHEMES: &'static [&'static str] = &["postgres", "postgresql"];

    /// Connects to a `postgres://` URL and applies migrations (schema `errand`).
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(connect_options(url)?, PgOptions::default()).await
    }

    /// Connects with explicit options. One connection is opened first, so
    /// that a refused or failed connection is reported at once, naming the
    /// server (a pool would retry it until its timeout).
    pub async fn connect_with(options: PgConnectOptions, settings: PgOptions) -> Result<Self> {
        validate_schema(&settings.schema)?;
        errand_core::validate::limit("max_connections", settings.max_connections as usize, 10_000)?;
        errand_core::validate::duration(
            "connect_timeout",
            settings.connect_timeout,
            Duration::from_millis(1),
            Duration::from_secs(3600),
        )?;
        let target = describe(&options);
        let first = tokio::time::timeout(
            settings.connect_timeout,
            PgConnection::connect_with(&options),
        )
        .await
        .map_err(|_| Error::Unavailable {
            message: format!(
                "cannot connect to {target}: no answer within {:?} (PgOptions::connect_timeout)",
                settings.connect_timeout
            ),
            source: None,
        })?
        .map_err(|e| db_error(e).context(format!("cannot connect to {target}")))?;
        let pool = pool_options(settings.max_connections, settings.connect_timeout)
            .connect_lazy_with(options);
        drop(first);
        Self::from_pool(pool, settings)
            .await
            .map_err(|e| e.context(format!("at {target}")))
    }

    /// Uses an existing pool (for example the application's own) for durable
    /// writes and reads; job updates get a small pool of their own with the
    /// same connect options.
    pub async fn from_pool(pool: PgPool, settings: PgOptions) -> Result<Self> {
        validate_schema(&settings.schema)?;
        if let Some(every) = settings.vacuum_every {
            errand_core::validate::limit("vacuum_every", every as usize, u32::MAX as usize)?;
        }
        SchemaMigrator {
            pool: &pool,
            schema: &settings.schema,
        }
        .run()
        .await?;
        // Every statement of this pool is written for one index walk, and a
        // job table changes too fast for the planner's estimates: no bitmap
        // or sequential scans, no JIT, no parallel workers (starting them
        // costs more than the walk), one generic plan per statement made
        // once (docs/design.md, "one plan per statement").
        let mut job_options = (*pool.connect_options()).clone().options([
            ("jit", "off"),
            ("enable_bitmapscan", "off"),
            ("enable_seqscan", "off"),
            ("max_parallel_workers_per_gather", "0"),
            ("plan_cache_mode", "force_generic_plan"),
        ]);
        if !settings.synchronous_job_updates {
            job_options = job_options.options([("synchronous_commit", "off")]);
        }
        // Workers retry every failed call, so their pool gives up an acquire
        // after at most 2 s: sqlx retries a refused connect with a backoff
        // of up to a fifth of the acquire timeout, and a server that comes
        // back must be used again within about a second, not two.
        let jobs = pool_options(
            (settings.max_connections / 2).max(2),
            settings.connect_timeout.min(Duration::from_secs(2)),
        )
        .connect_lazy_with(job_options);
        let enqueue = pool_options(
            (settings.max_connections / 2).max(2),
            settings.connect_timeout,
        )
        .connect_lazy_with(
            (*pool.connect_options())
                .clone()
                .options([("errand.notify", "deferred"), ("jit", "off")]),
        );
        let q = Queries::new(&settings.schema);
        let notify_signal = Arc::new(Notify::new());
        let wakeup = Arc::new(WakeupSender::default());
        let notifier = tokio::spawn(send_notifications(
            pool.clone(),
            q.notify.clone(),
            wakeup.origin().to_owned(),
            Arc::clone(&notify_signal),
        ));
        let listener = settings.listen.then(|| {
            tokio::spawn(listen(
                pool.clone(),
                channel(&settings.schema),
                Arc::clone(&wakeup),
            ))
        });
        Ok(PgStore {
            inner: Arc::new(Inner {
                q,
                schema: settings.schema,
                pool,
                jobs,
                enqueue,
                notify_signal,
                notifier: Some(notifier),
                busy_queues: std::sync::Mutex::default(),
                wakeup,
                listener,
                vacuum: Vacuum {
                    every: settings.vacuum_every.map(u64::from),
                    distance: AtomicU64::new(settings.vacuum_every.map_or(0, u64::from)),
                    ended: AtomicU64::new(0),
                    running: AtomicBool::new(false),
                },
            }),
        })
    }

    /// The schema holding errand's tables.
    pub fn schema(&self) -> &str {
        &self.inner.schema
    }

    /// The connection pool.
    pub fn pool(&self) -> &PgPool {
        &self.inner.pool
    }

    /// The fenced completion statement of this store's schema (`PgTx` ends
    /// a job's own transaction with it).
    pub(crate) fn complete_statement(&self) -> sqlx::SqlStr {
        self.inner.q.finalize_complete.clone()
    }

    /// Enqueues a typed job on the application's own connection (typically
    /// `&mut *tx`), in this store's schema: the job exists, and workers are
    /// notified, only if that transaction commits.
    pub async fn enqueue_in<J: Job>(
        &self,
        conn: &mut PgConnection,
        job: EnqueueBuilder<J>,
    ) -> Result<Enqueued> {
        let now = Utc::now();
        let job = job.into_new_job(now)?;
        let mut done = enqueue_all_in(conn, &self.inner.q, vec![job], now).await?;
        done.pop()
            .ok_or_else(|| Error::backend_msg("enqueue returned no result"))
    }

    /// Enqueues jobs by kind name on the application's own connection.
    pub async fn enqueue_all_in(
        &self,
        conn: &mut PgConnection,
        jobs: Vec<NewJob>,
    ) -> Result<Vec<Enqueued>> {
        enqueue_all_in(conn, &self.inner.q, jobs, Utc::now()).await
    }

    /// Vacuums the jobs table now (as the store does by itself after every
    /// `vacuum_every` ended jobs), for example after deleting many jobs.
    pub async fn vacuum(&self) -> Result<()> {
        // VACUUM cannot run in a transaction, so not as a prepared statement
        // either: the simple protocol sends it on its own.
        sqlx::raw_sql(self.inner.q.vacuum.clone())
            .execute(&self.inner.pool)
            .await
            .map_err(db_error)?;
        if let Some(every) = self.inner.vacuum.every {
            let rows: f64 = sqlx::query_scalar(self.inner.q.table_rows.clone())
                .fetch_one(&self.inner.pool)
                .await
                .map_err(db_error)?;
            self.inner
                .vacuum
                .distance
                .store(vacuum_distance(every, rows), Ordering::Relaxed);
        }
        Ok(())
    }

    /// Drops the schema and everything in it (tests, uninstall).
    pub async fn drop_schema(&self) -> Result<()> {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS \"{}\" CASCADE",
            self.inner.schema
        )))
        .execute(&self.inner.pool)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    /// Wakes workers here at once, and in other processes through the
    /// notifier task (one NOTIFY for every write since its last one).
    pub(crate) fn notify(&self) {
        self.inner.wakeup.notify();
        self.inner.notify_signal.notify_one();
    }

    /// Counts jobs ended through this store and starts a vacuum in the
    /// background once `vacuum_distance` of them have ended since the last one.
    pub(crate) fn ended(&self, jobs: usize) {
        if self.inner.vacuum.every.is_some() {
            let jobs = u64::try_from(jobs).unwrap_or(u64::MAX);
            self.inner.vacuum.ended.fetch_add(jobs, Ordering::Relaxed);
        }
    }

    /// Vacuums when enough jobs ended since the last vacuum (see
    /// `vacuum_distance`) and no vacuum runs: the policy behind
    /// `PgOptions::vacuum_every`, run by [`crate::maintenance::Vacuum`].
    /// Returns how many ended jobs it vacuumed after, if it did.
    pub(crate) async fn vacuum_if_due(&self) -> Result<Option<u64>> {
        let vacuum = &self.inner.vacuum;
        if vacuum.every.is_none()
            || vacuum.ended.load(Ordering::Relaxed) < vacuum.distance.load(Ordering::Relaxed)
            || vacuum.running.swap(true, Ordering::AcqRel)
        {
            return Ok(None);
        }
        // Jobs that end while it runs count toward the next one.
        let ended = vacuum.ended.swap(0, Ordering::Relaxed);
        let done = self.vacuum().await;
        vacuum.running.store(false, Ordering::Release);
        done.map(|()| Some(ended))
    }

    pub(crate) fn busy_queues(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        // A set of names stays consistent whatever panicked while it was held.
        self.inner
            .busy_queues
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) async fn claim_unlimited(
        &self,
        params: &ClaimParams,
        until: DateTime<Utc>,
    ) -> Result<Vec<JobRow>> {
        let kinds: Vec<&str> = params.kinds.iter().map(|k| k.kind.as_str()).collect();
        let mut claimed = Vec::new();
        let mut remaining = params.limit;
        for queue in &params.queues {
            let busy = self.busy_queues().contains(&queue.name);
            let sql = if busy {
                &self.inner.q.claim_queue_busy
            } else {
                &self.inner.q.claim_queue
            };
            let rows = sqlx::query(sql.clone())
                .bind(&queue.name)
                .bind(&params.worker)
                .bind(params.now)
                .bind(until)
                .bind(&kinds)
                .bind(i64::from(remaining))
                .fetch_all(&self.inner.jobs)
                .await
                .map_err(db_error)?;
            let mut jobs = rows
                .iter()
                .map(|row| job_row(row, params.now))
                .collect::<Result<Vec<_>>>()?;
            jobs.sort_by_key(|job| (job.priority, job.run_at, job.id));
            let full = u32::try_from(jobs.len()).unwrap_or(u32::MAX) >= remaining;
            if full != busy {
                let mut busy_queues = self.busy_queues();
                if full {
                    busy_queues.insert(queue.name.clone());
                } else {
                    busy_queues.remove(&queue.name);
                }
            }
            remaining = remaining.saturating_sub(u32::try_from(jobs.len()).unwrap_or(u32::MAX));
            claimed.extend(jobs);
            if remaining == 0 {
                break;
            }
        }
        Ok(claimed)
    }
}

#[cfg(test)]
mod tests {
    use super::vacuum_distance;

    #[test]
    pub(crate) fn vacuum_distance_grows_with_the_square_root_of_large_tables() {
        // Unknown (-1), empty and small tables: the configured distance.
        assert_eq!(vacuum_distance(20_000, -1.0), 20_000);
        assert_eq!(vacuum_distance(20_000, 0.0), 20_000);
        assert_eq!(vacuum_distance(20_000, 160_000.0), 20_000);
        // 1.1 million rows: about 52,000; four times the rows, twice that.
        assert_eq!(vacuum_distance(20_000, 1_100_000.0), 52_440);
        assert_eq!(vacuum_distance(20_000, 4_400_000.0), 104_880);
        assert_eq!(vacuum_distance(5, 1_000.0), 25);
    }
}
