//! [`QueueControl`]: pausing and resuming processing, kept in the store so
//! that every worker of every process sees it and a restart never undoes it.

use std::collections::BTreeSet;
use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Error, Result, validate};

/// What a pause holds back: everything, one queue, or one tenant's jobs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "scope", content = "name", rename_all = "snake_case")]
pub enum PauseScope {
    /// Every queue and tenant.
    All,
    /// One queue.
    Queue(String),
    /// The jobs of one tenant, in every queue.
    Tenant(String),
}

impl PauseScope {
    /// One queue.
    pub fn queue(name: impl Into<String>) -> Self {
        PauseScope::Queue(name.into())
    }

    /// One tenant's jobs.
    pub fn tenant(name: impl Into<String>) -> Self {
        PauseScope::Tenant(name.into())
    }

    /// The scope's kind as stored: `all`, `queue` or `tenant`.
    pub fn kind(&self) -> &'static str {
        match self {
            PauseScope::All => "all",
            PauseScope::Queue(_) => "queue",
            PauseScope::Tenant(_) => "tenant",
        }
    }

    /// The queue or tenant paused; empty for [`PauseScope::All`].
    pub fn name(&self) -> &str {
        match self {
            PauseScope::All => "",
            PauseScope::Queue(name) | PauseScope::Tenant(name) => name,
        }
    }

    /// The scope stored as `kind` and `name` (see [`PauseScope::kind`]).
    ///
    /// ```
    /// use errand_core::store::PauseScope;
    /// assert_eq!(PauseScope::from_parts("queue", "mail").unwrap(), PauseScope::Queue("mail".into()));
    /// assert!(PauseScope::from_parts("region", "eu").is_err());
    /// ```
    pub fn from_parts(kind: &str, name: &str) -> Result<Self> {
        let scope = match kind {
            "all" => PauseScope::All,
            "queue" => PauseScope::Queue(name.to_owned()),
            "tenant" => PauseScope::Tenant(name.to_owned()),
            other => {
                return Err(Error::invalid(
                    "scope",
                    other,
                    "must be all, queue or tenant",
                ));
            }
        };
        scope.validate()?;
        Ok(scope)
    }

    /// Checks the queue or tenant name.
    pub fn validate(&self) -> Result<()> {
        match self {
            PauseScope::All => Ok(()),
            PauseScope::Queue(queue) => validate::queue(queue),
            PauseScope::Tenant(tenant) => validate::tenant(tenant),
        }
    }
}

impl fmt::Display for PauseScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PauseScope::All => f.write_str("all processing"),
            PauseScope::Queue(queue) => write!(f, "queue {queue:?}"),
            PauseScope::Tenant(tenant) => write!(f, "tenant {tenant:?}"),
        }
    }
}

/// A stored pause: what, who, when and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pause {
    /// What is paused.
    #[serde(flatten)]
    pub scope: PauseScope,
    /// Who paused it (a user, a host, a deploy script).
    pub by: String,
    /// Why, if they said.
    pub note: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// Pause a scope. Pausing what is already paused keeps the first pause (who
/// paused it first, when and why) and says so.
#[derive(Debug, Clone)]
pub struct PauseParams {
    /// What to pause.
    pub scope: PauseScope,
    /// Who pauses it: 1 to 128 bytes without control characters.
    pub by: String,
    /// Why: at most 1,000 bytes.
    pub note: Option<String>,
    /// The pause time.
    pub now: DateTime<Utc>,
}

impl PauseParams {
    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<()> {
        self.scope.validate()?;
        if self.by.is_empty() || self.by.len() > 128 || self.by.chars().any(char::is_control) {
            return Err(Error::invalid(
                "by",
                self.by.escape_debug(),
                "must be 1 to 128 bytes without control characters",
            ));
        }
        if let Some(note) = &self.note {
            validate::note(note)?;
        }
        Ok(())
    }

    /// The pause these params store.
    pub fn pause(&self) -> Pause {
        Pause {
            scope: self.scope.clone(),
            by: self.by.clone(),
            note: self.note.clone(),
            at: self.now,
        }
    }
}

/// The result of a pause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PauseOutcome {
    /// The pause in force: the new one, or the one found.
    pub pause: Pause,
    /// The scope was paused already; nothing was changed.
    pub already_paused: bool,
}

/// The pauses as a worker applies them: what it may not claim.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PauseSet {
    /// All processing is paused.
    pub all: bool,
    /// Paused queues.
    pub queues: BTreeSet<String>,
    /// Paused tenants.
    pub tenants: BTreeSet<String>,
}

impl PauseSet {
    /// The set of `pauses`.
    ///
    /// ```
    /// use errand_core::store::{Pause, PauseScope, PauseSet};
    /// let pause = |scope| Pause { scope, by: "ops".into(), note: None, at: chrono::Utc::now() };
    /// let set = PauseSet::of(&[pause(PauseScope::Queue("mail".into()))]);
    /// assert!(set.holds_queue("mail") && !set.holds_queue("default"));
    /// ```
    pub fn of(pauses: &[Pause]) -> Self {
        let mut set = PauseSet::default();
        for pause in pauses {
            match &pause.scope {
                PauseScope::All => set.all = true,
                PauseScope::Queue(queue) => {
                    set.queues.insert(queue.clone());
                }
                PauseScope::Tenant(tenant) => {
                    set.tenants.insert(tenant.clone());
                }
            }
        }
        set
    }

    /// Whether the jobs of `queue` may not be claimed.
    pub fn holds_queue(&self, queue: &str) -> bool {
        self.all || self.queues.contains(queue)
    }
}

/// Resume a paused scope.
#[derive(Debug, Clone)]
pub struct ResumeParams {
    /// What to resume.
    pub scope: PauseScope,
}

/// Pausing and resuming processing. Pauses live in the store: every worker
/// reads them (within a second), and no worker ever writes them, so a
/// starting worker or a deploy never clears one. While a scope is paused
/// nothing in it is claimed; running jobs finish and enqueue goes on.
#[async_trait]
pub trait QueueControl: Send + Sync + 'static {
    /// Pauses a scope (see [`PauseParams`]).
    async fn pause(&self, params: PauseParams) -> Result<PauseOutcome>;
    /// Resumes a scope; returns the pause it removed (`None`: it was not paused).
    async fn resume(&self, params: ResumeParams) -> Result<Option<Pause>>;
    /// Every pause in force, global first, then queues, then tenants, by name.
    async fn pauses(&self) -> Result<Vec<Pause>>;
}

#[async_trait]
impl<T: QueueControl + ?Sized> QueueControl for std::sync::Arc<T> {
    async fn pause(&self, params: PauseParams) -> Result<PauseOutcome> {
        (**self).pause(params).await
    }
    async fn resume(&self, params: ResumeParams) -> Result<Option<Pause>> {
        (**self).resume(params).await
    }
    async fn pauses(&self) -> Result<Vec<Pause>> {
        (**self).pauses().await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn params(scope: PauseScope, by: &str, note: Option<&str>) -> PauseParams {
        PauseParams {
            scope,
            by: by.into(),
            note: note.map(str::to_owned),
            now: Utc::now(),
        }
    }

    #[test]
    fn bad_pauses_name_their_field() {
        let field = |p: PauseParams| match p.validate() {
            Err(Error::Invalid { field, .. }) => field,
            other => panic!("expected invalid, got {other:?}"),
        };
        assert_eq!(
            field(params(PauseScope::Queue(String::new()), "ops", None)),
            "queue"
        );
        assert_eq!(
            field(params(PauseScope::Tenant("a b".into()), "ops", None)),
            "tenant"
        );
        assert_eq!(field(params(PauseScope::All, "", None)), "by");
        assert_eq!(field(params(PauseScope::All, "ops\u{7}", None)), "by");
        assert_eq!(
            field(params(PauseScope::All, "ops", Some(&"x".repeat(1001)))),
            "note"
        );
        params(PauseScope::Queue("mail".into()), "ops", Some("deploy"))
            .validate()
            .unwrap();
    }

    #[test]
    fn scopes_round_trip_through_their_stored_parts() {
        for scope in [
            PauseScope::All,
            PauseScope::Queue("mail".into()),
            PauseScope::Tenant("acme".into()),
        ] {
            assert_eq!(
                PauseScope::from_parts(scope.kind(), scope.name()).unwrap(),
                scope
            );
        }
        let json =
            serde_json::to_value(params(PauseScope::Queue("mail".into()), "ops", None).pause())
                .unwrap();
        assert_eq!(json["scope"], "queue");
        assert_eq!(json["name"], "mail");
    }

    #[test]
    fn a_global_pause_holds_every_queue() {
        let pause = |scope| params(scope, "ops", None).pause();
        let set = PauseSet::of(&[
            pause(PauseScope::All),
            pause(PauseScope::Tenant("t".into())),
        ]);
        assert!(set.holds_queue("anything"));
        assert!(set.tenants.contains("t"));
    }
}
