//! Fresh, isolated stores of each backend for the suite and the crash tests.

#[cfg(feature = "sqlite")]
pub mod sqlite;
