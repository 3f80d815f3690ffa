//! Runs one attempt and decides how it ended.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use chrono::{DateTime, Utc};
use errand_core::store::{Completion, FinalizeItem, Outcome, TransactionEnd};
use errand_core::{
    AttemptError, Backoff, CancellationToken, ErrorKind, JobContext, JobContextParts, JobError,
    JobErrorAction, JobRow,
};
use futures::FutureExt;
use tracing::Instrument;

use super::Shared;

/// `now + delay`, saturating at the latest time a store holds instead of
/// overflowing (a snooze or backoff of "forever" never fails the job).
pub(crate) fn later(now: DateTime<Utc>, delay: Duration) -> DateTime<Utc> {
    errand_core::validate::saturating_after(now, delay)
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned())
}

/// How an attempt ended, as far as recording it goes.
#[derive(Debug, Clone)]
pub(crate) enum Attempted {
    /// Its end is still to be written (by the completer, or by `drain`).
    Finalize(FinalizeItem),
    /// The job's own transaction already ended it: committed with its
    /// completion (true), or rolled back because the attempt was stale (false).
    Committed(bool),
}

/// Runs one attempt of `job`. Panics and timeouts become attempt errors.
/// The times of its end (a retry's due time, its error's time) are read
/// from `clock` when given (a drain at a chosen time), else from the wall.
pub(crate) async fn execute(
    shared: &Shared,
    job: JobRow,
    token: CancellationToken,
    clock: Option<DateTime<Utc>>,
) -> Attempted {
    let now = || clock.unwrap_or_else(Utc::now);
    let (id, attempt, max_attempts) = (job.id, job.attempt, job.max_attempts);
    let Some(registered) = shared.registry.get(&job.kind) else {
        // Only registered kinds are claimed; give it back untouched if it happens anyway.
        return Attempted::Finalize(FinalizeItem {
            id,
            attempt,
            outcome: Outcome::Release,
        });
    };
    let span = tracing::info_span!(
        "errand.job",
        kind = %job.kind,
        id = id.0,
        attempt,
        queue = %job.queue,
        tenant = job.tenant.as_deref().unwrap_or(""),
        batch = job.batch_id,
    );
    let subject = shared
        .hooks
        .any_job_hook()
        .then(|| crate::observe::Subject::of(&job));
    // One series lookup per attempt: its start here, its end below.
    let series = crate::observe::metrics::series(&job.kind, &job.queue, job.tenant.as_deref());
    series.started(job.run_at, job.started_at.unwrap_or_else(now));
    let ctx = JobContext::new(JobContextParts {
        id,
        kind: job.kind.clone(),
        queue: job.queue.clone(),
        attempt,
        max_attempts,
        tenant: job.tenant.clone(),
        batch_id: job.batch_id,
        meta: job.meta.clone(),
        cancel: token.clone(),
        states: shared.states.clone(),
    });
    let transaction = ctx.transaction_slot().clone();
    let call = AssertUnwindSafe(registered.handler.call(job.input, ctx)).catch_unwind();
    let timeout = registered.options.timeout;
    let started = std::time::Instant::now();
    let result = async {
        let caught = match timeout {
            None => call.await,
            Some(limit) => match tokio::time::timeout(limit, call).await {
                Ok(caught) => caught,
                Err(_) => {
                    token.cancel();
                    return Err(JobError::with_kind(
                        ErrorKind::Timeout,
                        JobErrorAction::Retry { after: None },
                        format!("timed out after {limit:?}"),
                    ));
                }
            },
        };
        caught.unwrap_or_else(|payload| {
            Err(JobError::with_kind(
                ErrorKind::Panic,
                JobErrorAction::Retry { after: None },
                format!("panicked: {}", panic_message(payload.as_ref())),
            ))
        })
    }
    .instrument(span.clone())
    .await;

    // A job that wrote through its transaction extractor: its completion is
    // written and committed in that transaction; any other end rolls it back.
    let result = match (transaction.take(), result) {
        (None, result) => result,
        (Some(tx), Err(e)) => {
            tx.rollback().await;
            Err(e)
        }
        (Some(tx), Ok(output)) => {
            let completion = Completion {
                id,
                attempt,
                worker: shared.config.name.clone(),
                output,
                now: now(),
            };
            let output = completion.output.clone();
            match tx.complete(completion).await {
                Ok(TransactionEnd::Committed) => {
                    series.completed(started.elapsed());
                    let _enter = span.enter();
                    tracing::debug!("job completed with its transaction");
                    return Attempted::Committed(true);
                }
                Ok(TransactionEnd::Stale) => {
                    let _enter = span.enter();
                    tracing::warn!(
                        "result rolled back: the store no longer has this attempt of the job running under this worker"
                    );
                    return Attempted::Committed(false);
                }
                Ok(TransactionEnd::Unused) => Ok(output),
                Err(e) => Err(JobError::retry(format!(
                    "the job's transaction could not commit: {e}"
                ))),
            }
        }
    };

    let cancel_requested = shared
        .running()
        .get(&id)
        .is_some_and(|r| r.cancel_requested);
    let backoff = registered
        .options
        .backoff
        .as_ref()
        .unwrap_or(&shared.config.backoff);
    let outcome = decide(
        result,
        attempt,
        max_attempts,
        backoff,
        cancel_requested,
        now(),
    );
    let _enter = span.enter();
    let took = started.elapsed();
    series.ended(&outcome, took);
    let elapsed_ms = took.as_secs_f64() * 1000.0;
    match &outcome {
        Outcome::Complete { .. } => tracing::debug!(elapsed_ms, "job completed"),
        Outcome::Retry { error, run_at } => {
            tracing::warn!(elapsed_ms, error = %error.message, retry_at = %run_at, "job attempt failed")
        }
        Outcome::Fail { error } => {
            tracing::error!(elapsed_ms, error = %error.message, "job failed for good")
        }
        Outcome::Cancel { error } => tracing::info!(reason = %error.message, "job cancelled"),
        Outcome::Snooze { run_at } => tracing::debug!(until = %run_at, "job snoozed"),
        Outcome::Release => {}
    }
    if let Some(event) = subject.and_then(|s| s.event(&outcome)) {
        shared.hooks.hold(event);
    }
    Attempted::Finalize(FinalizeItem {
        id,
        attempt,
        outcome,
    })
}

/// What to record for an attempt that returned `result`.
pub(crate) fn decide(
    result: Result<serde_json::Value, JobError>,
    attempt: u32,
    max_attempts: u32,
    backoff: &Backoff,
    cancel_requested: bool,
    now: DateTime<Utc>,
) -> Outcome {
    let e = match result {
        Ok(output) => return Outcome::Complete { output },
        Err(e) => e,
    };
    let error = AttemptError {
        attempt,
        at: now,
        // Errand writes this text itself: a NUL from the job's error is
        // replaced, as no job's end may fail to be recorded.
        message: errand_core::json::without_nul(e.message()).into_owned(),
        kind: e.kind(),
    };
    if cancel_requested {
        return Outcome::Cancel {
            error: AttemptError {
                kind: ErrorKind::Cancelled,
                message: format!("cancelled on request: {}", error.message),
                ..error
            },
        };
    }
    match e.action() {
        JobErrorAction::Retry { .. } if attempt >= max_attempts => Outcome::Fail { error },
        JobErrorAction::Retry { after } => Outcome::Retry {
            run_at: later(now, after.unwrap_or_else(|| backoff.delay(attempt, &e))),
            error,
        },
        JobErrorAction::Fail => Outcome::Fail { error },
        JobErrorAction::Cancel => Outcome::Cancel { error },
        JobErrorAction::Snooze(delay) => Outcome::Snooze {
            run_at: later(now, delay),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    #[test]
    fn retries_until_attempts_are_used_up() {
        let now = Utc::now();
        let b = Backoff::Fixed(Duration::from_secs(10));
        let err = || Err(JobError::retry("boom"));
        match decide(err(), 1, 3, &b, false, now) {
            Outcome::Retry { run_at, error } => {
                assert_eq!(run_at, now + TimeDelta::seconds(10));
                assert_eq!(error.attempt, 1);
            }
            other => panic!("expected retry, got {other:?}"),
        }
        assert!(matches!(
            decide(err(), 3, 3, &b, false, now),
            Outcome::Fail { .. }
        ));
    }

    #[test]
    fn actions_map_to_outcomes() {
        let now = Utc::now();
        let b = Backoff::default();
        assert!(matches!(
            decide(Err(JobError::fatal("x")), 1, 5, &b, false, now),
            Outcome::Fail { .. }
        ));
        assert!(matches!(
            decide(Err(JobError::cancel("x")), 1, 5, &b, false, now),
            Outcome::Cancel { .. }
        ));
        assert!(matches!(
            decide(Err(JobError::retry("x")), 1, 5, &b, true, now),
            Outcome::Cancel { error } if error.kind == ErrorKind::Cancelled
        ));
        let snooze = decide(
            Err(JobError::snooze(Duration::from_secs(60))),
            1,
            5,
            &b,
            false,
            now,
        );
        assert_eq!(
            snooze,
            Outcome::Snooze {
                run_at: now + TimeDelta::seconds(60)
            }
        );
        let after = decide(
            Err(JobError::retry_after(Duration::from_secs(5), "x")),
            1,
            5,
            &b,
            false,
            now,
        );
        assert!(
            matches!(after, Outcome::Retry { run_at, .. } if run_at == now + TimeDelta::seconds(5))
        );
    }
}
