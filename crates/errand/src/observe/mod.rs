//! Observing errand: hooks called when attempts and jobs fail and when
//! batches finish, metrics through the `metrics` facade, and the one
//! instrumented wrapper every store call goes through (spans, timings).

mod batch_hooks;
mod hooks;
mod instrumented;
pub mod metrics;
mod queue_gauges;

pub(crate) use instrumented::instrument;
#[cfg(feature = "prometheus")]
pub use metrics::install_prometheus;
pub(crate) use queue_gauges::QueueGauges;

pub(crate) use batch_hooks::BatchHooks;

pub(crate) use hooks::spawn as spawn_hook;
pub use hooks::{HookOutput, JobEvent};
pub(crate) use hooks::{Hooks, Subject, hook};
