use std::future::Future;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Backoff, JobContext, JobError, StateMap};

/// Defaults of a job kind; `#[errand::job(...)]` fills them from its arguments.
#[derive(Debug, Clone, Default)]
pub struct JobOptions {
    /// Queue for new jobs (default `"default"`).
    pub queue: Option<String>,
    /// Priority for new jobs (default 0; smaller runs first).
    pub priority: Option<i16>,
    /// Attempt limit for new jobs (default 20).
    pub max_attempts: Option<u32>,
    /// Longest an attempt may run; a longer one fails with a timeout error.
    pub timeout: Option<Duration>,
    /// Delay between attempts (default: [`Backoff::default`]).
    pub backoff: Option<Backoff>,
    /// Most jobs of this kind one worker process runs at once.
    pub concurrency: Option<usize>,
    /// Most jobs of this kind running at once across the cluster, enforced by the store.
    pub global_concurrency: Option<u32>,
}

/// A job kind: a handler with a typed input and output.
///
/// `#[errand::job]` implements it for an `async fn`; implement it by hand for a
/// handler struct that carries its own configuration:
///
/// ```
/// use errand_core::{Job, JobContext, JobError};
///
/// struct Resize { max_width: u32 }
///
/// impl Job for Resize {
///     const KIND: &'static str = "resize";
///     type Input = String;
///     type Output = u32;
///
///     async fn run(&self, path: String, _ctx: JobContext) -> Result<u32, JobError> {
///         if path.is_empty() {
///             return Err(JobError::fatal("empty path"));
///         }
///         Ok(self.max_width)
///     }
/// }
/// ```
pub trait Job: Send + Sync + 'static {
    /// The kind name stored with each job; must be unique in an application.
    const KIND: &'static str;
    /// The stored input.
    type Input: Serialize + DeserializeOwned + Send + 'static;
    /// The stored output.
    type Output: Serialize + DeserializeOwned + Send + 'static;

    /// Defaults for this kind.
    fn options() -> JobOptions {
        JobOptions::default()
    }

    /// Checked when a worker is built: the shared state this job needs is there.
    fn check(&self, _states: &StateMap) -> Result<(), String> {
        Ok(())
    }

    /// Runs one attempt.
    fn run(
        &self,
        input: Self::Input,
        ctx: JobContext,
    ) -> impl Future<Output = Result<Self::Output, JobError>> + Send;
}

/// What a job function may return: `Result<O, E>` with `E: Into<JobError>`, or `()`.
#[diagnostic::on_unimplemented(
    message = "a job cannot return `{Self}`",
    label = "not a job result",
    note = "a job returns `Result<Output, Error>` (Output: Serialize + Deserialize, Error: Into<JobError>, such as any std::error::Error) or `()`"
)]
pub trait IntoJobResult {
    /// The stored output.
    type Output: Serialize + DeserializeOwned + Send + 'static;
    /// Converts into the runtime's result.
    fn into_job_result(self) -> Result<Self::Output, JobError>;
}

impl<O, E> IntoJobResult for Result<O, E>
where
    O: Serialize + DeserializeOwned + Send + 'static,
    E: Into<JobError>,
{
    type Output = O;
    fn into_job_result(self) -> Result<O, JobError> {
        self.map_err(Into::into)
    }
}

impl IntoJobResult for () {
    type Output = ();
    fn into_job_result(self) -> Result<(), JobError> {
        Ok(())
    }
}
