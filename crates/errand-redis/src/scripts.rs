//! The Lua scripts, each prefixed with the shared helpers of `prelude.lua`.
//! `redis::Script` runs them by SHA and loads them again on NOSCRIPT.

use redis::Script;

const PRELUDE: &str = include_str!("../scripts/prelude.lua");

fn script(body: &str) -> Script {
    Script::new(&format!("{PRELUDE}\n{body}"))
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
}

impl Scripts {
    pub(crate) fn new() -> Self {
        Scripts {
            enqueue: script(include_str!("../scripts/enqueue.lua")),
            claim: script(include_str!("../scripts/claim.lua")),
            finalize: script(include_str!("../scripts/finalize.lua")),
            renew: script(include_str!("../scripts/renew.lua")),
            rescue: script(include_str!("../scripts/rescue.lua")),
            rescue_unheld: script(include_str!("../scripts/rescue_unheld.lua")),
            cancel: script(include_str!("../scripts/cancel.lua")),
            retry: script(include_str!("../scripts/retry.lua")),
            delete: script(include_str!("../scripts/delete.lua")),
            reschedule: script(include_str!("../scripts/reschedule.lua")),
            prune: script(include_str!("../scripts/prune.lua")),
        }
    }
}
