use std::marker::PhantomData;
use std::time::Duration;

use errand_core::{AttemptError, Cancellation, Error, JobId, JobRow, JobState, Result};
use serde::de::DeserializeOwned;

use crate::Client;

/// How a job ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Finished<O> {
    /// It completed with this output.
    Completed(O),
    /// It failed for good; the errors of every attempt.
    Failed(Vec<AttemptError>),
    /// It was cancelled; the errors of its attempts, if any ran.
    Cancelled(Vec<AttemptError>),
}

/// A handle to an enqueued job with output type `O`.
#[derive(Debug, Clone)]
pub struct Deferred<O> {
    client: Client,
    id: JobId,
    duplicate: bool,
    output: PhantomData<fn() -> O>,
}

impl<O> Deferred<O> {
    pub(crate) fn new(client: Client, id: JobId, duplicate: bool) -> Self {
        Deferred {
            client,
            id,
            duplicate,
            output: PhantomData,
        }
    }

    /// The job's id.
    pub fn id(&self) -> JobId {
        self.id
    }

    /// True when enqueue found an unfinished job with the same unique key and
    /// returned it instead of inserting a new one.
    pub fn is_duplicate(&self) -> bool {
        self.duplicate
    }

    /// The whole stored job.
    pub async fn job(&self) -> Result<JobRow> {
        self.client
            .get(self.id)
            .await?
            .ok_or(Error::job_not_found(self.id))
    }

    /// Its current state.
    pub async fn state(&self) -> Result<JobState> {
        Ok(self.job().await?.state)
    }

    /// Attempts started so far.
    pub async fn attempts(&self) -> Result<u32> {
        Ok(self.job().await?.attempt)
    }

    /// The errors of every failed attempt.
    pub async fn errors(&self) -> Result<Vec<AttemptError>> {
        Ok(self.job().await?.errors)
    }

    /// Cancels the job if it has not started, or asks it to stop; see
    /// [`Client::cancel`].
    pub async fn cancel(&self) -> Result<Cancellation> {
        self.client.cancel(self.id).await
    }
}

impl<O: DeserializeOwned> Deferred<O> {
    /// The output, once it completed.
    pub async fn output(&self) -> Result<Option<O>> {
        let job = self.job().await?;
        match (job.state, job.output) {
            (JobState::Completed, Some(output)) => Ok(Some(serde_json::from_value(output)?)),
            _ => Ok(None),
        }
    }

    /// Waits until the job has finished, however long it takes.
    pub async fn wait(&self) -> Result<Finished<O>> {
        let mut pause = Duration::from_millis(5);
        loop {
            let job = self.job().await?;
            if let Some(finished) = Self::finished(job)? {
                return Ok(finished);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(250));
        }
    }

    /// Waits at most `limit` for the job to finish.
    pub async fn wait_timeout(&self, limit: Duration) -> Result<Finished<O>> {
        tokio::time::timeout(limit, self.wait())
            .await
            .map_err(|_| {
                Error::Timeout(format!("job {} did not finish within {limit:?}", self.id))
            })?
    }

    fn finished(job: JobRow) -> Result<Option<Finished<O>>> {
        Ok(match job.state {
            JobState::Completed => {
                let output = job.output.unwrap_or(serde_json::Value::Null);
                Some(Finished::Completed(serde_json::from_value(output)?))
            }
            JobState::Failed => Some(Finished::Failed(job.errors)),
            JobState::Cancelled => Some(Finished::Cancelled(job.errors)),
            _ => None,
        })
    }
}
