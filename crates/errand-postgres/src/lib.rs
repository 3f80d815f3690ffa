//! PostgreSQL store for errand.
//!
//! ```no_run
//! # async fn demo() -> errand_core::Result<()> {
//! let store = errand_postgres::PgStore::connect("postgres://postgres@localhost/app").await?;
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
mod maintenance;
mod migrate;
mod options;
mod queries;
mod queue_control;
mod rows;
mod store;
mod transaction;
mod worker_registry;

pub use enqueue::PgEnqueueExt;
pub use migrate::{MIGRATIONS, migration_sql};
pub use options::{DEFAULT_SCHEMA, PgOptions};
pub use sqlx::PgConnection;
pub use sqlx::postgres::PgConnectOptions;
pub use store::{PgStore, connect_options};
pub use transaction::{PgTx, PgTxConn};

/// This crate's README, compiled as a doctest so that its code stays true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
