//! Queues with their counts and lag; pause and resume (everything, a
//! queue, a tenant); job counts.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use errand::store::PauseParams;
use errand::{JobState, Pause, PauseScope, Result, Stats};
use serde::{Deserialize, Serialize};

use super::Api;

/// One queue: its jobs by state, its lag and its pause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueRow {
    /// The queue.
    pub queue: String,
    /// Its pause, when paused.
    pub paused: Option<Pause>,
    /// Its jobs by public state (states without jobs left out).
    pub counts: BTreeMap<JobState, u64>,
    /// Jobs due and waiting now.
    pub due: u64,
    /// When its oldest due job became due: the queue's lag.
    pub oldest_due_at: Option<DateTime<Utc>>,
}

/// Every queue with jobs or a pause, and every pause in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuesBody {
    /// The queues by name.
    pub queues: Vec<QueueRow>,
    /// Every pause: global first, then queues, then tenants.
    pub pauses: Vec<Pause>,
}

/// Who pauses and why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PauseRequest {
    /// Only this tenant's jobs (for a global pause; not with a queue).
    pub tenant: Option<String>,
    /// Why (stored with the pause).
    pub note: Option<String>,
    /// Who pauses (the API's caller when left out).
    pub by: Option<String>,
}

/// What a pause did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Paused {
    /// The pause in force (the first one when it was already paused).
    pub pause: Pause,
    /// It was paused before this call.
    pub already_paused: bool,
}

/// What a resume did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resumed {
    /// A pause was lifted.
    pub resumed: bool,
    /// The pause lifted.
    pub pause: Option<Pause>,
}

impl Api {
    /// Job counts per queue and state, of one tenant or all.
    pub async fn stats(&self, tenant: Option<&str>) -> Result<Stats> {
        if let Some(tenant) = tenant {
            errand::validate::tenant(tenant)?;
        }
        self.client.stats(tenant).await
    }

    /// Every queue with jobs or a pause: counts, lag, pause.
    pub async fn queues(&self) -> Result<QueuesBody> {
        let pauses = self.client.pauses().await?;
        let stats = self.client.stats(None).await?;
        let mut rows: BTreeMap<String, QueueRow> = BTreeMap::new();
        let row = |rows: &mut BTreeMap<String, QueueRow>, queue: &str| {
            rows.entry(queue.to_owned())
                .or_insert_with(|| QueueRow {
                    queue: queue.to_owned(),
                    paused: None,
                    counts: BTreeMap::new(),
                    due: 0,
                    oldest_due_at: None,
                })
                .clone()
        };
        for count in &stats.counts {
            row(&mut rows, &count.queue);
            if let Some(r) = rows.get_mut(&count.queue) {
                *r.counts.entry(count.state).or_default() += count.count;
            }
        }
        for depth in self.client.queue_depths().await? {
            row(&mut rows, &depth.queue);
            if let Some(r) = rows.get_mut(&depth.queue) {
                r.due = depth.due;
                r.oldest_due_at = depth.oldest_due_at;
            }
        }
        for pause in &pauses {
            if let PauseScope::Queue(queue) = &pause.scope {
                row(&mut rows, queue);
                if let Some(r) = rows.get_mut(queue) {
                    r.paused = Some(pause.clone());
                }
            }
        }
        Ok(QueuesBody {
            queues: rows.into_values().collect(),
            pauses,
        })
    }

    /// Every pause in force.
    pub async fn pauses(&self) -> Result<Vec<Pause>> {
        self.client.pauses().await
    }

    /// Pauses `scope`: workers everywhere stop claiming its jobs within a
    /// second; running ones finish; enqueue goes on. The pause is recorded
    /// as made by the request's `by`, or else by this API's actor.
    pub async fn pause(&self, scope: PauseScope, request: PauseRequest) -> Result<Paused> {
        let params = PauseParams {
            scope,
            by: request.by.unwrap_or_else(|| self.actor.clone()),
            note: request.note,
            now: Utc::now(),
        };
        params.validate()?;
        let outcome = self
            .client
            .pause(params.scope.clone(), &params.by, params.note.as_deref())
            .await?;
        if !outcome.already_paused {
            let filter = params
                .note
                .as_ref()
                .map(|note| serde_json::json!({ "note": note }));
            let action = format!("{}.pause", params.scope.kind());
            self.audit(&action, scope_target(&params.scope), filter, 1)
                .await?;
        }
        Ok(Paused {
            pause: outcome.pause,
            already_paused: outcome.already_paused,
        })
    }

    /// Lifts the pause of `scope`.
    pub async fn resume(&self, scope: PauseScope) -> Result<Resumed> {
        scope.validate()?;
        let (action, name) = (format!("{}.resume", scope.kind()), scope_target(&scope));
        let pause = self.client.resume(scope).await?;
        if pause.is_some() {
            self.audit(&action, name, None, 1).await?;
        }
        Ok(Resumed {
            resumed: pause.is_some(),
            pause,
        })
    }
}

/// A pause's scope as the target of an audit record: the queue or tenant
/// (none for a global pause).
fn scope_target(scope: &PauseScope) -> Option<String> {
    match scope {
        PauseScope::All => None,
        PauseScope::Queue(name) | PauseScope::Tenant(name) => Some(name.clone()),
    }
}
