//! The SQL of the store, one file per statement, rendered for one schema.

use std::sync::Arc;

use errand_core::{Error, Result};
use sqlx::{AssertSqlSafe, SqlSafeStr, SqlStr};

/// Checks a schema name: lowercase letters, digits and `_`, not starting with
/// a digit, at most 48 bytes. Only such names are ever put into SQL text.
pub(crate) fn validate_schema(schema: &str) -> Result<()> {
    let mut chars = schema.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !first_ok || !rest_ok || schema.len() > 48 {
        return Err(Error::invalid(
            "schema",
            schema,
            "use 1 to 48 lowercase letters, digits or _, not starting with a digit",
        ));
    }
    Ok(())
}

/// The notification channel of a schema's jobs.
pub(crate) fn channel(schema: &str) -> String {
    format!("errand_{schema}")
}

/// Puts the (validated) schema and its channel into a SQL template.
pub(crate) fn render(template: &str, schema: &str) -> String {
    template
        .replace("{schema}", &format!("\"{schema}\""))
        .replace("{channel}", &channel(schema))
}

// A statement is one file, or the files named in turn (a job listing: the
// columns, the head of the index it walks, the filters; or two of them
// merged).
macro_rules! queries {
    ($($name:ident => $($file:literal)+,)*) => {
        /// Every statement, rendered for one schema.
        pub(crate) struct Queries {
            $(pub(crate) $name: SqlStr,)*
        }

        impl Queries {
            pub(crate) fn new(schema: &str) -> Self {
                Queries {
                    $($name: AssertSqlSafe(Arc::<str>::from(render(concat!($(include_str!(concat!("../queries/", $file))),+), schema))).into_sql_str(),)*
                }
            }
        }
    };
}

queries! {
    counts_fold => "job_counts/fold.sql",
    enqueue_shared => "job_store/enqueue_shared.sql",
    enqueue_bulk => "job_store/enqueue_bulk.sql",
    enqueue_one => "job_store/enqueue_one.sql",
    unique_release_expired => "job_store/unique_release_expired.sql",
    enqueue_unique => "job_store/enqueue_unique.sql",
    lock_kinds => "job_store/lock_kinds.sql",
    claim_running_counts => "job_store/claim_running_counts.sql",
    claim_candidates => "job_store/claim_candidates.sql",
    claim_tenant_heads => "job_store/claim_tenant_heads.sql",
    claim_tenant_heads_plan => "job_store/claim_tenant_heads_plan.sql",
    lock_tenants => "job_store/lock_tenants.sql",
    claim_tenant_running => "job_store/claim_tenant_running.sql",
    claim_mark => "job_store/claim_mark.sql",
    claim_queue => "job_store/claim_queue.sql",
    claim_queue_busy => "job_store/claim_queue_busy.sql",
    finalize_complete => "job_store/finalize_complete.sql",
    finalize_retry => "job_store/finalize_retry.sql",
    finalize_end => "job_store/finalize_end.sql",
    finalize_snooze => "job_store/finalize_snooze.sql",
    renew_leases => "job_store/renew_leases.sql",
    rescue => "job_store/rescue.sql",
    rescue_unheld => "job_store/rescue_unheld.sql",
    get => "job_admin/get.sql",
    list => "job_admin/list/columns.sql" "job_admin/list/all.sql" "job_admin/list/filters.sql",
    list_running => "job_admin/list/columns.sql" "job_admin/list/running.sql" "job_admin/list/filters.sql",
    list_waiting => "job_admin/list/columns.sql" "job_admin/list/waiting.sql" "job_admin/list/filters.sql",
    list_ended => "job_admin/list/columns.sql" "job_admin/list/ended.sql" "job_admin/list/filters.sql",
    list_by_unique_key => "job_admin/list/columns.sql" "job_admin/list/by_unique_key.sql" "job_admin/list/filters.sql",
    list_by_batch => "job_admin/list/merge_open.sql" "job_admin/list/columns.sql" "job_admin/list/not_running_of_batch.sql" "job_admin/list/filters.sql" "job_admin/list/merge_next.sql" "job_admin/list/columns.sql" "job_admin/list/running_of_batch.sql" "job_admin/list/filters.sql" "job_admin/list/merge_close.sql",
    list_by_kind => "job_admin/list/merge_open.sql" "job_admin/list/columns.sql" "job_admin/list/finished_of_kind.sql" "job_admin/list/filters.sql" "job_admin/list/merge_next.sql" "job_admin/list/columns.sql" "job_admin/list/unfinished_of_kind.sql" "job_admin/list/filters.sql" "job_admin/list/merge_close.sql",
    list_by_tenant => "job_admin/list/columns.sql" "job_admin/list/by_tenant.sql" "job_admin/list/filters.sql",
    list_by_queue => "job_admin/list/merge_open.sql" "job_admin/list/columns.sql" "job_admin/list/finished_of_queue.sql" "job_admin/list/filters.sql" "job_admin/list/merge_next.sql" "job_admin/list/columns.sql" "job_admin/list/unfinished_of_queue.sql" "job_admin/list/filters.sql" "job_admin/list/merge_close.sql",
    list_with_errors => "job_admin/list/columns.sql" "job_admin/list/with_errors.sql" "job_admin/list/filters.sql",
    stats => "job_admin/stats.sql",
    queue_depths => "job_admin/queue_depths.sql",
    cancel_waiting => "job_admin/cancel_waiting.sql",
    cancel_running => "job_admin/cancel_running.sql",
    retry => "job_admin/retry.sql",
    delete => "job_admin/delete.sql",
    job_states => "job_admin/job_states.sql",
    notify => "job_store/notify.sql",
    vacuum => "maintenance/vacuum.sql",
    reschedule => "job_admin/reschedule.sql",
    prune => "job_admin/prune.sql",
    table_rows => "maintenance/table_rows.sql",
    worker_beat => "worker_registry/beat.sql",
    workers => "worker_registry/list.sql",
    worker_leave => "worker_registry/leave.sql",
    workers_forget => "worker_registry/forget.sql",
    audit_insert => "audit_log/insert.sql",
    audit_list => "audit_log/list.sql",
    audit_prune => "audit_log/prune.sql",
    pause => "queue_control/pause.sql",
    pause_get => "queue_control/get.sql",
    resume => "queue_control/resume.sql",
    pauses => "queue_control/list.sql",
    cron_insert => "cron_store/insert.sql",
    cron_update => "cron_store/update.sql",
    cron_get => "cron_store/get.sql",
    cron_list => "cron_store/list.sql",
    cron_enable => "cron_store/enable.sql",
    cron_remove => "cron_store/remove.sql",
    cron_due => "cron_store/due.sql",
    cron_ledger => "cron_store/ledger.sql",
    cron_fire_states => "cron_store/fire_states.sql",
    cron_decided => "cron_store/decided.sql",
    cron_drop_buffered => "cron_store/drop_buffered.sql",
    cron_insert_ledger => "cron_store/insert_ledger.sql",
    cron_update_entries => "cron_store/update_entries.sql",
    cron_trim_ledgers => "cron_store/trim_ledgers.sql",
    batch_insert => "batch_store/insert.sql",
    batch_lock => "batch_store/lock.sql",
    batch_seal => "batch_store/seal.sql",
    batch_finish => "batch_store/finish.sql",
    batch_get => "batch_store/get.sql",
    batch_list => "batch_store/list.sql",
    batch_list_tenant => "batch_store/list_tenant.sql",
    batch_totals => "batch_store/totals.sql",
    batch_totals_tenant => "batch_store/totals_tenant.sql",
    batch_prune => "batch_store/prune.sql",
    batch_take_finished => "batch_store/take_finished.sql",
    batch_cancel_mark => "batch_store/cancel_mark.sql",
    batch_finished_count => "batch_store/finished_count.sql",
    batch_cancel_running => "batch_store/cancel_running.sql",
    batch_cancel_waiting => "batch_store/cancel_waiting.sql",
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_checked_before_they_reach_sql() {
        assert!(validate_schema("errand").is_ok());
        assert!(validate_schema("errand_test_1").is_ok());
        for bad in [
            "",
            "Errand",
            "1abc",
            "a-b",
            "a\"; drop table x; --",
            &"a".repeat(49),
        ] {
            let err = validate_schema(bad)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains("schema"), "{bad}: {err}");
        }
        assert_eq!(
            render("SELECT 1 FROM {schema}.jobs -- {channel}", "abc"),
            "SELECT 1 FROM \"abc\".jobs -- errand_abc"
        );
    }
}
