//! Redis / Valkey store for errand.
//!
//! ```no_run
//! # async fn demo() -> errand_core::Result<()> {
//! let store = errand_redis::RedisStore::connect("redis://127.0.0.1:6379").await?;
//! # let _ = store; Ok(()) }
//! ```

mod audit_log;
mod batch_store;
mod connection;
mod cron_store;
mod error;
mod job_admin;
mod job_store;
mod layout;
mod listener;
mod options;
mod queue_control;
mod rows;
mod scripts;
mod store;
mod worker_registry;

pub use options::{DEFAULT_PREFIX, RedisOptions};
pub use store::RedisStore;

/// This crate's README, compiled as a doctest so that its code stays true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
