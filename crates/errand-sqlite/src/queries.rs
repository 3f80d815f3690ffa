//! The SQL of the store, one file per statement.

pub(crate) const ENQUEUE_BULK: &str = include_str!("../queries/enqueue_bulk.sql");
pub(crate) const ENQUEUE_SHARED: &str = include_str!("../queries/enqueue_shared.sql");
pub(crate) const ENQUEUE_PLAIN: &str = include_str!("../queries/enqueue_plain.sql");
pub(crate) const ENQUEUE_ONE: &str = include_str!("../queries/enqueue_one.sql");
pub(crate) const UNIQUE_RELEASE_EXPIRED: &str =
    include_str!("../queries/unique_release_expired.sql");
pub(crate) const UNIQUE_HOLDER: &str = include_str!("../queries/unique_holder.sql");
pub(crate) const CLAIM_RUNNING_COUNTS: &str = include_str!("../queries/claim_running_counts.sql");
pub(crate) const CLAIM_CANDIDATES: &str = include_str!("../queries/claim_candidates.sql");
pub(crate) const CLAIM_QUEUE: &str = include_str!("../queries/claim_queue.sql");
pub(crate) const CLAIM_MARK: &str = include_str!("../queries/claim_mark.sql");
pub(crate) const FINALIZE_COMPLETE: &str = include_str!("../queries/finalize_complete.sql");
pub(crate) const FINALIZE_RETRY: &str = include_str!("../queries/finalize_retry.sql");
pub(crate) const FINALIZE_END: &str = include_str!("../queries/finalize_end.sql");
pub(crate) const FINALIZE_SNOOZE: &str = include_str!("../queries/finalize_snooze.sql");
pub(crate) const RENEW_LEASES: &str = include_str!("../queries/renew_leases.sql");
pub(crate) const RESCUE: &str = include_str!("../queries/rescue.sql");
pub(crate) const RESCUE_UNHELD: &str = include_str!("../queries/rescue_unheld.sql");
pub(crate) const GET: &str = include_str!("../queries/get.sql");
pub(crate) const LIST: &str = include_str!("../queries/list.sql");
pub(crate) const CANCEL_WAITING: &str = include_str!("../queries/cancel_waiting.sql");
pub(crate) const CANCEL_RUNNING: &str = include_str!("../queries/cancel_running.sql");
pub(crate) const RETRY: &str = include_str!("../queries/retry.sql");
pub(crate) const DELETE: &str = include_str!("../queries/delete.sql");
pub(crate) const JOB_STATES: &str = include_str!("../queries/job_states.sql");
pub(crate) const STATS: &str = include_str!("../queries/stats.sql");
pub(crate) const RESCHEDULE: &str = include_str!("../queries/reschedule.sql");
pub(crate) const PRUNE: &str = include_str!("../queries/prune.sql");
