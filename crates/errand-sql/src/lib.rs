//! What errand's SQL stores share: the role `sqlx-core` plays for sqlx's
//! drivers. Each backend brings its SQL, its pools and its types; the logic
//! that does not depend on them lives here once.

pub mod admin;
pub mod batch;
pub mod claim;
pub mod cron;
pub mod enqueue;
pub mod error;
pub mod migrate;
pub mod queue_control;
pub mod rows;
pub mod transaction;

pub use admin::AdminTx;
pub use batch::BatchStatements;
pub use claim::{LimitedClaim, claim_limited, counts_of};
pub use cron::CronTx;
pub use enqueue::{BulkRow, EnqueuePlan};
pub use error::db_error;
pub use migrate::{Migration, Migrator};
pub use queue_control::PauseStatements;
pub use rows::Columns;
pub use transaction::{JobTx, TxConn, TxSource};
