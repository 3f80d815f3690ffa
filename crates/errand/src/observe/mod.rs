//! Observing a worker: hooks called when attempts and jobs fail and when
//! batches finish.

mod batch_hooks;
mod hooks;

pub(crate) use batch_hooks::BatchHooks;

pub(crate) use hooks::spawn as spawn_hook;
pub use hooks::{HookOutput, JobEvent};
pub(crate) use hooks::{Hooks, Subject, hook};
