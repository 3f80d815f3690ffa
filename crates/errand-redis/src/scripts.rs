//! The Lua scripts, each prefixed with the shared helpers of `prelude.lua`.
//! `redis::Script` runs them by SHA and loads them again on NOSCRIPT.

use redis::Script;

const PRELUDE: &str = include_str!("../scripts/prelude.lua");

fn script(body: &str) -> Script {
    Script::new(&format!("{PRELUDE}\n{body}"))
}

/// The step of the layout-4 upgrade (see `layout.rs`), run before a store
/// has its scripts.
pub(crate) fn index_jobs() -> Script {
    script(include_str!("../scripts/layout/index_jobs.lua"))
}

pub(crate) struct Scripts {
    pub enqueue: Script,
    pub claim: Script,
    pub finalize: Script,
    pub renew: Script,
    pub rescue: Script,
    pub rescue_unheld: Script,
    pub cancel: Script,
    pub retry: Script,
    pub delete: Script,
    pub reschedule: Script,
    pub prune: Script,
    pub queue_depths: Script,
    pub stats: Script,
    pub cron_save: Script,
    pub cron_enable: Script,
    pub cron_remove: Script,
    pub cron_due: Script,
    pub cron_states: Script,
    pub cron_fire: Script,
    pub pause: Script,
    pub resume: Script,
    pub batch_create: Script,
    pub batch_append: Script,
    pub batch_cancel: Script,
    pub batch_prune: Script,
    pub batch_take_finished: Script,
    pub audit_record: Script,
    pub audit_prune: Script,
}

impl Scripts {
    pub(crate) fn new() -> Self {
        Scripts {
            enqueue: script(include_str!("../scripts/job_store/enqueue.lua")),
            claim: script(include_str!("../scripts/job_store/claim.lua")),
            finalize: script(include_str!("../scripts/job_store/finalize.lua")),
            renew: script(include_str!("../scripts/job_store/renew.lua")),
            rescue: script(include_str!("../scripts/job_store/rescue.lua")),
            rescue_unheld: script(include_str!("../scripts/job_store/rescue_unheld.lua")),
            cancel: script(include_str!("../scripts/job_admin/cancel.lua")),
            retry: script(include_str!("../scripts/job_admin/retry.lua")),
            delete: script(include_str!("../scripts/job_admin/delete.lua")),
            reschedule: script(include_str!("../scripts/job_admin/reschedule.lua")),
            prune: script(include_str!("../scripts/job_admin/prune.lua")),
            queue_depths: script(include_str!("../scripts/job_admin/queue_depths.lua")),
            stats: script(include_str!("../scripts/job_admin/stats.lua")),
            cron_save: script(include_str!("../scripts/cron_store/save.lua")),
            cron_enable: script(include_str!("../scripts/cron_store/enable.lua")),
            cron_remove: script(include_str!("../scripts/cron_store/remove.lua")),
            cron_due: script(include_str!("../scripts/cron_store/due.lua")),
            cron_states: script(include_str!("../scripts/cron_store/states.lua")),
            cron_fire: script(include_str!("../scripts/cron_store/fire.lua")),
            pause: script(include_str!("../scripts/queue_control/pause.lua")),
            resume: script(include_str!("../scripts/queue_control/resume.lua")),
            batch_create: script(include_str!("../scripts/batch_store/create.lua")),
            batch_append: script(include_str!("../scripts/batch_store/append.lua")),
            batch_cancel: script(include_str!("../scripts/batch_store/cancel.lua")),
            batch_prune: script(include_str!("../scripts/batch_store/prune.lua")),
            batch_take_finished: script(include_str!("../scripts/batch_store/take_finished.lua")),
            audit_record: script(include_str!("../scripts/audit_log/record.lua")),
            audit_prune: script(include_str!("../scripts/audit_log/prune.lua")),
        }
    }
}
