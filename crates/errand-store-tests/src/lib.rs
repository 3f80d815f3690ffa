//! The errand store conformance suite.
//!
//! ```ignore
//! async fn fresh_store() -> errand_store_tests::Harness { /* new database */ }
//! errand_store_tests::conformance_suite!(fresh_store);
//! ```

pub mod backends;
pub mod cases;
pub mod harness;
pub mod jobs;

pub use harness::{Harness, OpenTx, TxProbe};

/// Expands to one `#[tokio::test]` per conformance case, each on a fresh store
/// from `$factory` (an `async fn() -> Harness`).
#[macro_export]
macro_rules! conformance_suite {
    ($factory:path) => {
        $crate::conformance_cases!($factory;
            enqueue_returns_ids_in_order,
            enqueue_rejects_bad_input_and_stores_nothing,
            enqueue_refuses_values_a_store_cannot_hold,
            unique_enqueue_races_the_holders_completion,
            bulk_enqueue_of_mixed_jobs_keeps_every_field,
            bulk_enqueue_is_all_or_nothing,
            delayed_job_is_scheduled_until_due,
            enqueue_in_another_process_wakes_this_ones_workers,
            claim_follows_queue_order_then_priority_then_time,
            claim_marks_running_with_lease_attempt_and_worker,
            claim_skips_kinds_it_does_not_know,
            claim_respects_local_caps,
            global_limit_is_never_exceeded_by_concurrent_claimers,
            complete_stores_output,
            retry_persists_run_at_and_error,
            fail_and_cancel_outcomes_finish_the_job,
            snooze_and_release_do_not_use_an_attempt,
            stale_finalize_is_rejected,
            renew_extends_lease_and_reports_lost_and_cancelled,
            expired_lease_is_rescued_as_a_used_attempt,
            rescue_fails_job_without_attempts_left,
            rescue_unheld_gives_back_what_a_worker_no_longer_runs,
            cancel_waiting_and_running_jobs,
            admin_calls_say_why_nothing_happened,
            retry_refuses_a_unique_key_held_by_another_job,
            reschedule_moves_a_waiting_job,
            prune_deletes_old_finished_jobs_in_chunks,
            unique_key_active_scope,
            unique_key_forever_and_period_scopes,
            manual_retry_and_delete,
            list_filters_by_state_kind_queue_tenant,
            stats_count_jobs_per_queue_and_state,
            transactional_enqueue_visible_only_after_commit,
            transactional_completion_commits_effects_with_the_completion,
            transactional_completion_of_a_stale_attempt_rolls_back,
            runtime_retries_until_attempts_exhausted_with_every_error,
            runtime_fatal_error_fails_at_once,
            runtime_snooze_keeps_attempts,
            runtime_undeserializable_input_fails_with_message,
            runtime_unknown_kinds_are_left_untouched,
            runtime_output_and_errors_through_deferred,
            runtime_panic_and_timeout_are_attempt_failures,
            runtime_cancel_running_job_through_token,
            runtime_worker_processes_and_shuts_down_gracefully,
            runtime_concurrency_holds_when_claiming_ahead,
            runtime_shutdown_releases_unfinished_jobs_without_attempt,
            a_freed_global_slot_wakes_a_worker_of_another_store,
            process_killed_with_sigkill_loses_no_job,
            several_processes_share_one_store_without_double_runs,
            transactional_completion_survives_a_kill_between_write_and_commit,
        );
    };
}

/// Implementation detail of [`conformance_suite!`].
#[doc(hidden)]
#[macro_export]
macro_rules! conformance_cases {
    ($factory:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                #[allow(unused_mut)]
                let mut harness = $factory().await;
                harness.probe_worker = option_env!("CARGO_BIN_EXE_errand-probe-worker").map(::std::path::PathBuf::from);
                $crate::cases::$case(&harness).await;
                harness.finish().await;
            }
        )*
    };
}

/// This crate's README, compiled as a doctest so that its code stays true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
