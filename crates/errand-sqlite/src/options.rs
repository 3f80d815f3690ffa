//! [`SqliteOptions`]: the tuning of a [`SqliteStore`](crate::SqliteStore)(crate::SqliteStore).

use std::time::Duration;

/// Tuning of a [`SqliteStore`](crate::SqliteStore).
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
    /// false, opening a missing file is an [`Error::NotFound`](errand_core::Error::NotFound) naming it:
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
