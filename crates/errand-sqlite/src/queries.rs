//! The SQL of the store, one file per statement.

pub(crate) const ENQUEUE_BULK: &str = include_str!("../queries/job_store/enqueue_bulk.sql");
pub(crate) const ENQUEUE_SHARED: &str = include_str!("../queries/job_store/enqueue_shared.sql");
pub(crate) const ENQUEUE_PLAIN: &str = include_str!("../queries/job_store/enqueue_plain.sql");
pub(crate) const ENQUEUE_ONE: &str = include_str!("../queries/job_store/enqueue_one.sql");
pub(crate) const UNIQUE_RELEASE_EXPIRED: &str =
    include_str!("../queries/job_store/unique_release_expired.sql");
pub(crate) const UNIQUE_HOLDER: &str = include_str!("../queries/job_store/unique_holder.sql");
pub(crate) const CLAIM_RUNNING_COUNTS: &str =
    include_str!("../queries/job_store/claim_running_counts.sql");
pub(crate) const CLAIM_CANDIDATES: &str = include_str!("../queries/job_store/claim_candidates.sql");
pub(crate) const CLAIM_TENANT_HEADS: &str =
    include_str!("../queries/job_store/claim_tenant_heads.sql");
pub(crate) const CLAIM_TENANT_RUNNING: &str =
    include_str!("../queries/job_store/claim_tenant_running.sql");
pub(crate) const CLAIM_QUEUE: &str = include_str!("../queries/job_store/claim_queue.sql");
pub(crate) const CLAIM_MARK: &str = include_str!("../queries/job_store/claim_mark.sql");
pub(crate) const FINALIZE_COMPLETE: &str =
    include_str!("../queries/job_store/finalize_complete.sql");
pub(crate) const FINALIZE_RETRY: &str = include_str!("../queries/job_store/finalize_retry.sql");
pub(crate) const FINALIZE_END: &str = include_str!("../queries/job_store/finalize_end.sql");
pub(crate) const FINALIZE_SNOOZE: &str = include_str!("../queries/job_store/finalize_snooze.sql");
pub(crate) const RENEW_LEASES: &str = include_str!("../queries/job_store/renew_leases.sql");
pub(crate) const RESCUE: &str = include_str!("../queries/job_store/rescue.sql");
pub(crate) const RESCUE_UNHELD: &str = include_str!("../queries/job_store/rescue_unheld.sql");
pub(crate) const GET: &str = include_str!("../queries/job_admin/get.sql");
/// A job listing that walks the index of one of `job_admin/list/`'s heads.
macro_rules! listing {
    ($head:literal) => {
        concat!(
            include_str!("../queries/job_admin/list/columns.sql"),
            include_str!(concat!("../queries/job_admin/list/", $head)),
            include_str!("../queries/job_admin/list/filters.sql"),
        )
    };
}
pub(crate) const LIST: &str = listing!("all.sql");
pub(crate) const LIST_RUNNING: &str = listing!("running.sql");
pub(crate) const LIST_WAITING: &str = listing!("waiting.sql");
pub(crate) const LIST_ENDED: &str = listing!("ended.sql");
pub(crate) const LIST_BY_UNIQUE_KEY: &str = listing!("by_unique_key.sql");
pub(crate) const LIST_BY_BATCH: &str = listing!("by_batch.sql");
pub(crate) const LIST_BY_KIND: &str = listing!("by_kind.sql");
pub(crate) const LIST_BY_TENANT: &str = listing!("by_tenant.sql");
pub(crate) const LIST_BY_QUEUE: &str = listing!("by_queue.sql");
pub(crate) const LIST_WITH_ERRORS: &str = listing!("with_errors.sql");
pub(crate) const CANCEL_WAITING: &str = include_str!("../queries/job_admin/cancel_waiting.sql");
pub(crate) const CANCEL_RUNNING: &str = include_str!("../queries/job_admin/cancel_running.sql");
pub(crate) const RETRY: &str = include_str!("../queries/job_admin/retry.sql");
pub(crate) const DELETE: &str = include_str!("../queries/job_admin/delete.sql");
pub(crate) const JOB_STATES: &str = include_str!("../queries/job_admin/job_states.sql");
pub(crate) const STATS: &str = include_str!("../queries/job_admin/stats.sql");
pub(crate) const QUEUE_DEPTHS: &str = include_str!("../queries/job_admin/queue_depths.sql");
pub(crate) const RESCHEDULE: &str = include_str!("../queries/job_admin/reschedule.sql");
pub(crate) const PRUNE: &str = include_str!("../queries/job_admin/prune.sql");

// Cron entries.
pub(crate) const CRON_INSERT: &str = include_str!("../queries/cron_store/insert.sql");
pub(crate) const CRON_UPDATE: &str = include_str!("../queries/cron_store/update.sql");
pub(crate) const CRON_GET: &str = include_str!("../queries/cron_store/get.sql");
pub(crate) const CRON_LIST: &str = include_str!("../queries/cron_store/list.sql");
pub(crate) const CRON_ENABLE: &str = include_str!("../queries/cron_store/enable.sql");
pub(crate) const CRON_REMOVE: &str = include_str!("../queries/cron_store/remove.sql");
pub(crate) const CRON_DUE: &str = include_str!("../queries/cron_store/due.sql");
pub(crate) const CRON_LEDGER: &str = include_str!("../queries/cron_store/ledger.sql");
pub(crate) const CRON_FIRE_STATES: &str = include_str!("../queries/cron_store/fire_states.sql");
pub(crate) const CRON_DECIDED: &str = include_str!("../queries/cron_store/decided.sql");
pub(crate) const CRON_DROP_BUFFERED: &str = include_str!("../queries/cron_store/drop_buffered.sql");
pub(crate) const CRON_INSERT_LEDGER: &str = include_str!("../queries/cron_store/insert_ledger.sql");
pub(crate) const CRON_UPDATE_ENTRIES: &str =
    include_str!("../queries/cron_store/update_entries.sql");
pub(crate) const CRON_TRIM_LEDGERS: &str = include_str!("../queries/cron_store/trim_ledgers.sql");
pub(crate) const PAUSE: &str = include_str!("../queries/queue_control/pause.sql");
pub(crate) const PAUSE_GET: &str = include_str!("../queries/queue_control/get.sql");
pub(crate) const RESUME: &str = include_str!("../queries/queue_control/resume.sql");
pub(crate) const PAUSES: &str = include_str!("../queries/queue_control/list.sql");
pub(crate) const BATCH_INSERT: &str = include_str!("../queries/batch_store/insert.sql");
pub(crate) const BATCH_LOCK: &str = include_str!("../queries/batch_store/lock.sql");
pub(crate) const BATCH_SEAL: &str = include_str!("../queries/batch_store/seal.sql");
pub(crate) const BATCH_GET: &str = include_str!("../queries/batch_store/get.sql");
pub(crate) const BATCH_LIST: &str = include_str!("../queries/batch_store/list.sql");
pub(crate) const BATCH_LIST_TENANT: &str = include_str!("../queries/batch_store/list_tenant.sql");
pub(crate) const BATCH_TOTALS: &str = include_str!("../queries/batch_store/totals.sql");
pub(crate) const BATCH_TOTALS_TENANT: &str =
    include_str!("../queries/batch_store/totals_tenant.sql");
pub(crate) const BATCH_PRUNE: &str = include_str!("../queries/batch_store/prune.sql");
pub(crate) const BATCH_TAKE_FINISHED: &str =
    include_str!("../queries/batch_store/take_finished.sql");
pub(crate) const BATCH_CANCEL_MARK: &str = include_str!("../queries/batch_store/cancel_mark.sql");
pub(crate) const BATCH_FINISHED_COUNT: &str =
    include_str!("../queries/batch_store/finished_count.sql");
pub(crate) const BATCH_CANCEL_RUNNING: &str =
    include_str!("../queries/batch_store/cancel_running.sql");
pub(crate) const BATCH_CANCEL_WAITING: &str =
    include_str!("../queries/batch_store/cancel_waiting.sql");

// Worker heartbeats.
pub(crate) const WORKER_BEAT: &str = include_str!("../queries/worker_registry/beat.sql");
pub(crate) const WORKERS: &str = include_str!("../queries/worker_registry/list.sql");
pub(crate) const WORKER_LEAVE: &str = include_str!("../queries/worker_registry/leave.sql");
pub(crate) const WORKERS_FORGET: &str = include_str!("../queries/worker_registry/forget.sql");
pub(crate) const AUDIT_INSERT: &str = include_str!("../queries/audit_log/insert.sql");
pub(crate) const AUDIT_LIST: &str = include_str!("../queries/audit_log/list.sql");
pub(crate) const AUDIT_PRUNE: &str = include_str!("../queries/audit_log/prune.sql");

pub(crate) const COUNTS_ADD: &str = include_str!("../queries/job_counts/add.sql");
pub(crate) const COUNTS_LEAVING: &str = include_str!("../queries/job_counts/leaving.sql");
