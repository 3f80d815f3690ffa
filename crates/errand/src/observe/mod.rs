//! Observing a worker: hooks called when attempts and jobs fail.

mod hooks;

pub use hooks::{HookOutput, JobEvent};
pub(crate) use hooks::{Hooks, Subject, hook};
