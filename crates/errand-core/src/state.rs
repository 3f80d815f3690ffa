use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Error;

/// The public state of a job, as the API, CLI and dashboard show it.
///
/// `scheduled` → `available` → `running` → `completed` | `retrying` |
/// `failed` | `cancelled`. A retrying job becomes available again once its
/// next attempt is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for its `run_at`; no attempt made yet.
    Scheduled,
    /// Due: any worker that knows its kind may claim it.
    Available,
    /// Claimed by a worker that holds its lease.
    Running,
    /// Finished successfully; its output is stored.
    Completed,
    /// An attempt failed; waiting for the next one.
    Retrying,
    /// Attempts used up or a non-retryable error: the dead-letter set.
    Failed,
    /// Cancelled before or while it ran.
    Cancelled,
}

impl JobState {
    /// Every state, in lifecycle order.
    pub const ALL: [JobState; 7] = [
        JobState::Scheduled,
        JobState::Available,
        JobState::Running,
        JobState::Completed,
        JobState::Retrying,
        JobState::Failed,
        JobState::Cancelled,
    ];

    /// The lowercase name used in the API, the CLI and the stores.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Scheduled => "scheduled",
            JobState::Available => "available",
            JobState::Running => "running",
            JobState::Completed => "completed",
            JobState::Retrying => "retrying",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    /// True for `completed`, `failed` and `cancelled`: the job will not run again
    /// unless someone retries it by hand.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            JobState::Completed | JobState::Failed | JobState::Cancelled
        )
    }

    /// The public state of a job from the state a store keeps (`available`
    /// for every waiting job, else the public name), its `run_at` and the
    /// attempts it used.
    pub fn of_stored(
        stored: &str,
        run_at: DateTime<Utc>,
        attempt: u32,
        now: DateTime<Utc>,
    ) -> Result<JobState, Error> {
        if stored == "available" {
            Ok(JobState::of_waiting(run_at, attempt, now))
        } else {
            stored.parse().map_err(|_| {
                Error::backend_msg(format!("the store holds an unknown job state {stored:?}"))
            })
        }
    }

    /// The public state of a job that waits for a worker, derived from its
    /// `run_at` and the attempts it already used. Backends store "waiting" once
    /// and derive scheduled/available/retrying on read, so no process has to
    /// promote jobs when their time comes.
    pub fn of_waiting(run_at: DateTime<Utc>, attempt: u32, now: DateTime<Utc>) -> JobState {
        if run_at <= now {
            JobState::Available
        } else if attempt == 0 {
            JobState::Scheduled
        } else {
            JobState::Retrying
        }
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobState {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| {
                Error::invalid(
                    "state",
                    s,
                    "expected one of scheduled, available, running, completed, retrying, failed, cancelled",
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    #[test]
    fn waiting_state_depends_on_time_and_attempts() {
        let now = Utc::now();
        let later = now + TimeDelta::seconds(5);
        assert_eq!(JobState::of_waiting(now, 0, now), JobState::Available);
        assert_eq!(JobState::of_waiting(later, 0, now), JobState::Scheduled);
        assert_eq!(JobState::of_waiting(later, 2, now), JobState::Retrying);
    }

    #[test]
    fn parses_every_name_and_rejects_others() {
        for state in JobState::ALL {
            assert_eq!(state.as_str().parse::<JobState>().ok(), Some(state));
        }
        let err = "done".parse::<JobState>().err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("state") && e.contains("done")));
    }
}
