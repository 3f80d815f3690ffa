//! [`PgOptions`]: the settings of a [`PgStore`](crate::PgStore).

use std::time::Duration;

/// The schema used when none is configured.
pub const DEFAULT_SCHEMA: &str = "errand";

/// Settings of a [`PgStore`](crate::PgStore).
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// The schema holding errand's tables (default `errand`).
    pub schema: String,
    /// Most connections in the store's pool (default 10).
    pub max_connections: u32,
    /// Listen for wake-up notifications (default true). Without it, workers
    /// find new jobs at their poll interval.
    pub listen: bool,
    /// Write claims, lease renewals, rescues and attempt results with
    /// `synchronous_commit = on` (default true): a crash of the PostgreSQL
    /// server then never forgets an acknowledged claim or result, so an
    /// attempt number is never handed out twice and a recorded end stays
    /// recorded. False (`synchronous_commit = off`) saves a WAL flush per
    /// write, at a cost docs/guarantees.md states: a server crash may forget
    /// the last moments of those writes, so a claim may be handed out again
    /// with the same attempt number (the job runs twice under one attempt)
    /// and a result the worker saw acknowledged may be lost (the job runs
    /// again once its worker notices, or once its lease expires). Enqueues,
    /// admin operations and transactional completions are always synchronous.
    pub synchronous_job_updates: bool,
    /// Vacuum the jobs table after this many jobs ended through this store
    /// (the results of its workers, and the jobs they completed in their
    /// own transaction with `PgTx`; default 20,000; `None` leaves it to
    /// autovacuum), in a table of up to 8 × `vacuum_every` rows; in a
    /// larger one the distance grows with the square root of its rows
    /// (52,000 at a million rows with the default).
    /// Every claim and every result leaves a dead row version, and its
    /// entry in the index of due jobs stays until a vacuum; claims walk
    /// those entries from the front of the queue, so their cost grows with
    /// every job ended since the last vacuum. A vacuum in turn reads every
    /// index of the whole table, finished jobs kept included: the square
    /// root balances the two costs. Autovacuum looks at a table at most
    /// once per `autovacuum_naptime` (a minute by default), in which a busy
    /// queue ends a million jobs. The vacuum runs in the background; jobs
    /// that end meanwhile count toward the next, which starts as soon as it
    /// ends if they are enough already. A role that does not own the
    /// table gets a warning from the server and nothing else happens.
    pub vacuum_every: Option<u32>,
    /// Longest wait for the server to accept a connection (default 10 s, at
    /// most an hour). A refused connection is reported at once.
    pub connect_timeout: Duration,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            schema: DEFAULT_SCHEMA.to_owned(),
            max_connections: 10,
            listen: true,
            synchronous_job_updates: true,
            vacuum_every: Some(20_000),
            connect_timeout: Duration::from_secs(10),
        }
    }
}
