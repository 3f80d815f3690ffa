//! PostgreSQL store for errand.
//!
//! ```no_run
//! # async fn demo() -> errand_core::Result<()> {
//! let store = errand_postgres::PgStore::connect("postgres://postgres@localhost/app").await?;
//! # let _ = store; Ok(()) }
//! ```

mod enqueue;
mod error;
mod job_admin;
mod job_store;
mod maintenance;
mod migrate;
mod queries;
mod rows;
mod store;
mod transaction;

pub use enqueue::PgEnqueueExt;
pub use migrate::migration_sql;
pub use sqlx::postgres::PgConnectOptions;
pub use store::{DEFAULT_SCHEMA, PgOptions, PgStore, connect_options};
pub use transaction::{PgTx, PgTxConn};

/// This crate's README, compiled as a doctest so that its code stays true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
