//! SQLite store for errand.
//!
//! ```no_run
//! # async fn demo() -> errand_core::Result<()> {
//! let store = errand_sqlite::SqliteStore::connect("sqlite://jobs.db").await?;
//! # let _ = store; Ok(()) }
//! ```

mod audit_log;
mod batch_store;
mod cron_store;
mod enqueue;
mod error;
mod job_admin;
mod job_counts;
mod job_store;
mod listener;
mod migrate;
mod options;
mod queries;
mod queue_control;
mod rows;
mod store;
mod transaction;
mod worker_registry;

pub use enqueue::SqliteEnqueueExt;
pub use migrate::{MIGRATIONS, migration_sql};
pub use options::SqliteOptions;
pub use sqlx::SqliteConnection;
pub use store::{SqliteStore, connect_options};
pub use transaction::{SqliteTx, SqliteTxConn};

/// This crate's README, compiled as a doctest so that its code stays true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
