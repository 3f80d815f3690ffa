//! Registered job kinds, with their input and output types erased so that one
//! worker can hold handlers of every kind.

use std::sync::Arc;

use errand_core::{ErrorKind, Job, JobContext, JobError, JobErrorAction, JobOptions, StateMap};
use futures::future::BoxFuture;

pub(crate) trait ErasedJob: Send + Sync {
    fn call(
        &self,
        input: serde_json::Value,
        ctx: JobContext,
    ) -> BoxFuture<'static, Result<serde_json::Value, JobError>>;
    fn check(&self, states: &StateMap) -> Result<(), String>;
}

struct Erased<J>(Arc<J>);

impl<J: Job> ErasedJob for Erased<J> {
    fn call(
        &self,
        input: serde_json::Value,
        ctx: JobContext,
    ) -> BoxFuture<'static, Result<serde_json::Value, JobError>> {
        let job = Arc::clone(&self.0);
        Box::pin(async move {
            let input: J::Input = serde_json::from_value(input).map_err(|e| {
                JobError::with_kind(
                    ErrorKind::Deserialize,
                    JobErrorAction::Fail,
                    format!(
                        "input of job {} ({}) does not match: {e}",
                        ctx.id(),
                        J::KIND
                    ),
                )
            })?;
            let id = ctx.id();
            let output = job.run(input, ctx).await?;
            // An output no store can hold faithfully (NaN, NUL) fails the job
            // for good, saying where: retrying would produce it again.
            errand_core::json::to_stored("output", &output).map_err(|e| {
                JobError::fatal(format!(
                    "output of job {id} ({}) cannot be stored: {e}",
                    J::KIND
                ))
            })
        })
    }

    fn check(&self, states: &StateMap) -> Result<(), String> {
        self.0.check(states)
    }
}

/// A job kind a worker can run.
pub(crate) struct Registered {
    pub handler: Arc<dyn ErasedJob>,
    pub options: JobOptions,
}

impl Registered {
    pub(crate) fn new<J: Job>(job: J) -> Self {
        Registered {
            handler: Arc::new(Erased(Arc::new(job))),
            options: J::options(),
        }
    }
}
