//! The SQL of the store, one file per statement.

pub const ENQUEUE_BULK: &str = include_str!("../queries/enqueue_bulk.sql");
pub const ENQUEUE_SHARED: &str = include_str!("../queries/enqueue_shared.sql");
pub const ENQUEUE_PLAIN: &str = include_str!("../queries/enqueue_plain.sql");
pub const ENQUEUE_ONE: &str = include_str!("../queries/enqueue_one.sql");
pub const UNIQUE_RELEASE_EXPIRED: &str = include_str!("../queries/unique_release_expired.sql");
pub const UNIQUE_HOLDER: &str = include_str!("../queries/unique_holder.sql");
pub const CLAIM_RUNNING_COUNTS: &str = include_str!("../queries/claim_running_counts.sql");
pub const CLAIM_CANDIDATES: &str = include_str!("../queries/claim_candidates.sql");
pub const CLAIM_QUEUE: &str = include_str!("../queries/claim_queue.sql");
pub const CLAIM_MARK: &str = include_str!("../queries/claim_mark.sql");
pub const FINALIZE_COMPLETE: &str = include_str!("../queries/finalize_complete.sql");
pub const FINALIZE_RETRY: &str = include_str!("../queries/finalize_retry.sql");
pub const FINALIZE_END: &str = include_str!("../queries/finalize_end.sql");
pub const FINALIZE_SNOOZE: &str = include_str!("../queries/finalize_snooze.sql");
pub const RENEW_LEASES: &str = include_str!("../queries/renew_leases.sql");
pub const RESCUE: &str = include_str!("../queries/rescue.sql");
pub const RESCUE_UNHELD: &str = include_str!("../queries/rescue_unheld.sql");
pub const GET: &str = include_str!("../queries/get.sql");
pub const LIST: &str = include_str!("../queries/list.sql");
pub const CANCEL_WAITING: &str = include_str!("../queries/cancel_waiting.sql");
pub const CANCEL_RUNNING: &str = include_str!("../queries/cancel_running.sql");
pub const RETRY: &str = include_str!("../queries/retry.sql");
pub const DELETE: &str = include_str!("../queries/delete.sql");
pub const JOB_STATES: &str = include_str!("../queries/job_states.sql");
pub const STATS: &str = include_str!("../queries/stats.sql");
