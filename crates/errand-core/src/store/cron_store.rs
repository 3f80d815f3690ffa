//! [`CronStore`]: cron entries, their fires and their ledgers.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::cron::{Entry, EntryRow, FireReason, LedgerRecord, Overlap};
use crate::{Error, JobId, NewJob, Result, validate};

/// How [`CronStore::cron_save`] treats an entry that exists (or not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SaveMode {
    /// Only a new entry: an existing one is an [`Error::Conflict`].
    Create,
    /// Only an existing entry: a missing one is an [`Error::NotFound`].
    Update,
    /// Either; an existing entry keeps its enabled flag and note.
    Upsert,
}

/// Write an entry's definition.
#[derive(Debug, Clone)]
pub struct SaveParams {
    /// The definition.
    pub entry: Entry,
    /// What to do whether it exists or not.
    pub mode: SaveMode,
    /// The first fire time after `now` under this definition: stored when
    /// the entry is new or its schedule or zone changed; otherwise the
    /// stored next fire time stands, so a restart neither loses nor repeats
    /// a fire.
    pub next_fire_at: Option<DateTime<Utc>>,
    /// The time of the write.
    pub now: DateTime<Utc>,
}

impl SaveParams {
    /// The write of `entry` at `now`, its next fire time the first after `now`.
    pub fn new(entry: Entry, mode: SaveMode, now: DateTime<Utc>) -> Self {
        SaveParams {
            next_fire_at: entry.schedule.next_after(now, entry.zone),
            entry,
            mode,
            now,
        }
    }
}

/// One entry: its tenant (`None`: no tenant) and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EntryKey {
    /// The tenant.
    pub tenant: Option<String>,
    /// The name, unique per tenant.
    pub name: String,
}

impl EntryKey {
    /// The entry `name` of `tenant`.
    pub fn new(tenant: Option<&str>, name: &str) -> Self {
        EntryKey {
            tenant: tenant.map(String::from),
            name: name.to_string(),
        }
    }

    /// Checks the name and tenant.
    pub fn validate(&self) -> Result<()> {
        validate::cron_name(&self.name)?;
        if let Some(tenant) = &self.tenant {
            validate::tenant(tenant)?;
        }
        Ok(())
    }

    /// The tenant as the stores key it: the empty string for none.
    pub fn tenant_key(&self) -> &str {
        self.tenant.as_deref().unwrap_or("")
    }

    /// The [`Error::NotFound`] for this entry.
    pub fn not_found(&self) -> Error {
        Error::NotFound {
            entity: "cron entry",
            id: self.to_string(),
        }
    }

    /// The [`Error::Conflict`] of creating this entry when it exists.
    pub fn exists(&self) -> Error {
        Error::conflict(format!("cron entry {self} exists"))
    }
}

impl std::fmt::Display for EntryKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.tenant {
            Some(tenant) => write!(f, "{:?} of tenant {tenant:?}", self.name),
            None => write!(f, "{:?}", self.name),
        }
    }
}

/// List entries, ordered by tenant then name.
#[derive(Debug, Clone, Default)]
pub struct CronListParams {
    /// Only this tenant's entries (`Some(None)`: only those without one).
    pub tenant: Option<Option<String>>,
    /// Only entries of this kind.
    pub kind: Option<String>,
    /// Only enabled (or disabled) entries.
    pub enabled: Option<bool>,
    /// Keyset paging: entries after this one.
    pub after: Option<EntryKey>,
    /// At most this many.
    pub limit: u32,
}

/// Enable or disable an entry.
#[derive(Debug, Clone)]
pub struct EnableParams {
    /// The entry.
    pub key: EntryKey,
    /// The new flag.
    pub enabled: bool,
    /// Why, shown with the entry (replaces the stored note).
    pub note: Option<String>,
    /// The time of the change.
    pub now: DateTime<Utc>,
}

/// Entries a scheduler should look at now.
#[derive(Debug, Clone)]
pub struct DueParams {
    /// The scheduler's time.
    pub now: DateTime<Utc>,
    /// The kinds its worker registers: entries of other kinds are left alone.
    pub kinds: Vec<String>,
    /// At most this many, earliest fire time first.
    pub limit: u32,
}

/// One decision about fire times of one entry.
#[derive(Debug, Clone)]
pub struct FireDecision {
    /// The fire time (for a stretch of fires, the latest).
    pub fire_at: DateTime<Utc>,
    /// The decision: [`FireReason::Enqueued`] and [`FireReason::Coalesced`]
    /// are subject to the overlap policy and may end up skipped or buffered.
    pub reason: FireReason,
    /// How many fire times it stands for.
    pub fires: u64,
    /// The job to enqueue, for decisions that enqueue.
    pub job: Option<NewJob>,
}

/// Moves an entry's next fire time, only if no other scheduler moved it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advance {
    /// The next fire time the decisions start from, as the scheduler read it.
    pub from: DateTime<Utc>,
    /// The next fire time after them (`None`: it never fires again).
    pub to: Option<DateTime<Utc>>,
}

/// The decisions of one scheduler pass (or one trigger) for one entry.
#[derive(Debug, Clone)]
pub struct EntryFire {
    /// The entry.
    pub key: EntryKey,
    /// `None` for a manual trigger, which leaves the schedule where it is.
    pub advance: Option<Advance>,
    /// The overlap policy the decisions are subject to.
    pub overlap: Overlap,
    /// The job of the buffered fire, to enqueue if the previous job has
    /// finished (overlap `buffer_one`).
    pub release: Option<NewJob>,
    /// The decisions, oldest fire first.
    pub decisions: Vec<FireDecision>,
}

/// Record fires and enqueue their jobs: per entry, the record of each fire
/// and the insert of its job are one transaction (or script), keyed by entry
/// and fire time, so a fire is decided once across the cluster.
#[derive(Debug, Clone)]
pub struct FireParams {
    /// The entries' decisions.
    pub fires: Vec<EntryFire>,
    /// The time of the decisions.
    pub now: DateTime<Utc>,
}

/// What became of one [`EntryFire`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FireOutcome {
    /// Recorded: the decisions as applied (after the overlap policy), the
    /// buffered fire's release first if there was one.
    Applied(Vec<LedgerRecord>),
    /// Another scheduler moved the entry first, or it is gone or was
    /// changed meanwhile: nothing was written.
    Lost,
}

impl FireOutcome {
    /// The jobs it enqueued.
    pub fn jobs(&self) -> Vec<JobId> {
        match self {
            FireOutcome::Applied(records) => records.iter().filter_map(|r| r.job_id).collect(),
            FireOutcome::Lost => Vec::new(),
        }
    }
}

/// Read an entry's ledger, newest decision first.
#[derive(Debug, Clone)]
pub struct LedgerParams {
    /// The entry.
    pub key: EntryKey,
    /// At most this many (the store keeps [`LEDGER_LEN`](crate::cron::LEDGER_LEN)).
    pub limit: u32,
}

/// Cron entries: definitions, flags, scheduler passes and fire ledgers.
#[async_trait]
pub trait CronStore: Send + Sync {
    /// Writes an entry's definition; returns the entry as stored.
    async fn cron_save(&self, params: SaveParams) -> Result<EntryRow>;

    /// One entry, if it exists.
    async fn cron_get(&self, key: EntryKey) -> Result<Option<EntryRow>>;

    /// Entries, ordered by tenant then name.
    async fn cron_list(&self, params: CronListParams) -> Result<Vec<EntryRow>>;

    /// Enables or disables an entry; returns it as stored.
    async fn cron_enable(&self, params: EnableParams) -> Result<EntryRow>;

    /// Removes an entry. Its ledger stays: the fires it records are never
    /// decided again should the entry be created anew.
    async fn cron_remove(&self, key: EntryKey) -> Result<()>;

    /// Entries of the given kinds with a fire time due at `now` or a
    /// buffered fire, earliest first.
    async fn cron_due(&self, params: DueParams) -> Result<Vec<EntryRow>>;

    /// Applies the decisions of each entry in `params.fires`, each entry on
    /// its own (one outcome per entry, in order).
    async fn cron_fire(&self, params: FireParams) -> Result<Vec<FireOutcome>>;

    /// An entry's ledger, newest first.
    async fn cron_ledger(&self, params: LedgerParams) -> Result<Vec<LedgerRecord>>;
}

/// A shared store keeps cron entries as the store does.
#[async_trait]
impl<S: CronStore + ?Sized> CronStore for std::sync::Arc<S> {
    async fn cron_save(&self, params: SaveParams) -> Result<EntryRow> {
        (**self).cron_save(params).await
    }
    async fn cron_get(&self, key: EntryKey) -> Result<Option<EntryRow>> {
        (**self).cron_get(key).await
    }
    async fn cron_list(&self, params: CronListParams) -> Result<Vec<EntryRow>> {
        (**self).cron_list(params).await
    }
    async fn cron_enable(&self, params: EnableParams) -> Result<EntryRow> {
        (**self).cron_enable(params).await
    }
    async fn cron_remove(&self, key: EntryKey) -> Result<()> {
        (**self).cron_remove(key).await
    }
    async fn cron_due(&self, params: DueParams) -> Result<Vec<EntryRow>> {
        (**self).cron_due(params).await
    }
    async fn cron_fire(&self, params: FireParams) -> Result<Vec<FireOutcome>> {
        (**self).cron_fire(params).await
    }
    async fn cron_ledger(&self, params: LedgerParams) -> Result<Vec<LedgerRecord>> {
        (**self).cron_ledger(params).await
    }
}
