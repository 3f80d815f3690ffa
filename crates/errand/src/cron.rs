//! Cron entries through a [`Client`]: create, change, enable, disable,
//! remove, trigger, and read their next fires and ledgers.

use chrono::{DateTime, Utc};
use errand_core::store::{
    CronListParams, EnableParams, EntryFire, EntryKey, FireDecision, FireOutcome, FireParams,
    LedgerParams, SaveMode, SaveParams,
};
use errand_core::{Error, JobId, Result, validate};

pub use errand_core::cron::*;
pub use errand_core::store::{CronListParams as ListParams, EntryKey as Key};
// The definitions, rows and reasons, as `errand::cron::Entry` and so on.

use crate::Client;

/// The most fire times [`Cron::next_fires`] computes at once.
pub const MAX_NEXT_FIRES: usize = 1000;

/// Cron entries of a client's store: `client.cron()`.
///
/// Entries are named per tenant; methods take a [`Key`]: a name alone
/// (`"nightly"`) or a tenant and a name (`("acme", "nightly")`).
///
/// ```no_run
/// # async fn demo(client: errand::Client) -> errand::Result<()> {
/// use errand::cron::Entry;
/// let entry = Entry::new("nightly-cleanup", "cleanup", serde_json::json!({}), "0 3 * * *")?
///     .zone("Europe/Berlin")?;
/// client.cron().upsert(entry).await?;
/// client.cron().disable("nightly-cleanup", Some("migrating the archive")).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Cron {
    client: Client,
}

impl From<&str> for EntryKeyArg {
    fn from(name: &str) -> Self {
        EntryKeyArg(EntryKey::new(None, name))
    }
}

impl From<(&str, &str)> for EntryKeyArg {
    fn from((tenant, name): (&str, &str)) -> Self {
        EntryKeyArg(EntryKey::new(Some(tenant), name))
    }
}

impl From<EntryKey> for EntryKeyArg {
    fn from(key: EntryKey) -> Self {
        EntryKeyArg(key)
    }
}

impl From<&EntryKey> for EntryKeyArg {
    fn from(key: &EntryKey) -> Self {
        EntryKeyArg(key.clone())
    }
}

/// An entry named by [`Cron`]'s methods: a name, a `(tenant, name)` pair or
/// a [`Key`].
#[derive(Debug, Clone)]
pub struct EntryKeyArg(EntryKey);

impl Client {
    /// This client's cron entries.
    pub fn cron(&self) -> Cron {
        Cron {
            client: self.clone(),
        }
    }
}

impl Cron {
    /// The entry of `key`, or [`Error::NotFound`] naming it.
    async fn existing(&self, key: &EntryKey) -> Result<EntryRow> {
        self.client
            .store()
            .cron_get(key.clone())
            .await?
            .ok_or_else(|| key.not_found())
    }

    async fn save(&self, entry: Entry, mode: SaveMode) -> Result<EntryRow> {
        entry.validate()?;
        validate::input_size(&entry.input, self.client.max_input())?;
        let now = Utc::now();
        self.client
            .store()
            .cron_save(SaveParams::new(entry, mode, now))
            .await
    }

    /// Creates the entry, or changes its definition if it exists (its
    /// enabled flag and note stay; its next fire time moves only with its
    /// schedule or zone).
    pub async fn upsert(&self, entry: Entry) -> Result<EntryRow> {
        self.save(entry, SaveMode::Upsert).await
    }

    /// Creates the entry; one of that name is an [`Error::Conflict`].
    pub async fn create(&self, entry: Entry) -> Result<EntryRow> {
        self.save(entry, SaveMode::Create).await
    }

    /// Changes an existing entry's definition ([`Error::NotFound`] if none).
    pub async fn change(&self, entry: Entry) -> Result<EntryRow> {
        self.save(entry, SaveMode::Update).await
    }

    /// One entry, if it exists.
    pub async fn get(&self, key: impl Into<EntryKeyArg>) -> Result<Option<EntryRow>> {
        self.client.store().cron_get(key.into().0).await
    }

    /// Entries by tenant then name; `limit` from 1 to 10,000.
    pub async fn list(&self, params: CronListParams) -> Result<Vec<EntryRow>> {
        validate::limit("limit", params.limit as usize, 10_000)?;
        if params.limit == 0 {
            return Err(Error::invalid("limit", 0, "must be at least 1"));
        }
        if let Some(Some(tenant)) = &params.tenant {
            validate::tenant(tenant)?;
        }
        if let Some(kind) = &params.kind {
            validate::kind(kind)?;
        }
        self.client.store().cron_list(params).await
    }

    async fn set_enabled(
        &self,
        key: EntryKeyArg,
        enabled: bool,
        note: Option<&str>,
    ) -> Result<EntryRow> {
        if let Some(note) = note {
            validate::note(note)?;
        }
        self.client
            .store()
            .cron_enable(EnableParams {
                key: key.0,
                enabled,
                note: note.map(String::from),
                now: Utc::now(),
            })
            .await
    }

    /// Enables an entry (its note is cleared).
    pub async fn enable(&self, key: impl Into<EntryKeyArg>) -> Result<EntryRow> {
        self.set_enabled(key.into(), true, None).await
    }

    /// Disables an entry, with an optional note saying why: its fire times
    /// are recorded as skipped until it is enabled again.
    pub async fn disable(
        &self,
        key: impl Into<EntryKeyArg>,
        note: Option<&str>,
    ) -> Result<EntryRow> {
        self.set_enabled(key.into(), false, note).await
    }

    /// Removes an entry ([`Error::NotFound`] if none). Its ledger stays.
    pub async fn remove(&self, key: impl Into<EntryKeyArg>) -> Result<()> {
        self.client.store().cron_remove(key.into().0).await
    }

    /// Enqueues the entry's job now, even when it is disabled, whatever its
    /// overlap policy; the ledger records it as manual. Its schedule is
    /// left as it was.
    pub async fn trigger(&self, key: impl Into<EntryKeyArg>) -> Result<JobId> {
        let key = key.into().0;
        let row = self.existing(&key).await?;
        let now = Utc::now();
        let outcomes = self
            .client
            .store()
            .cron_fire(FireParams {
                fires: vec![EntryFire {
                    key: key.clone(),
                    advance: None,
                    overlap: row.overlap,
                    release: None,
                    decisions: vec![FireDecision {
                        fire_at: now,
                        reason: FireReason::Manual,
                        fires: 1,
                        job: Some(row.job(now)),
                    }],
                }],
                now,
            })
            .await?;
        match outcomes.first() {
            Some(outcome @ FireOutcome::Applied(_)) => outcome
                .jobs()
                .first()
                .copied()
                .ok_or_else(|| Error::backend_msg("a trigger enqueued no job")),
            _ => Err(key.not_found()),
        }
    }

    /// The entry's next `count` fire times after `after`, each in UTC and in
    /// the entry's zone. For an entry on a schedule written in Rust, use
    /// [`Schedule::next_fires`] of its definition.
    pub async fn next_fires(
        &self,
        key: impl Into<EntryKeyArg>,
        count: usize,
        after: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, DateTime<Tz>)>> {
        if count == 0 || count > MAX_NEXT_FIRES {
            return Err(Error::invalid(
                "count",
                count,
                format!("must be from 1 to {MAX_NEXT_FIRES}"),
            ));
        }
        let key = key.into().0;
        let row = self.existing(&key).await?;
        let entry = row.entry()?;
        let tz = zone(&row.zone)?;
        Ok(entry
            .schedule
            .next_fires(after, entry.zone, count)
            .into_iter()
            .map(|at| (at, at.with_timezone(&tz)))
            .collect())
    }

    /// The entry's latest decisions, newest first (the store keeps
    /// [`LEDGER_LEN`]).
    pub async fn ledger(
        &self,
        key: impl Into<EntryKeyArg>,
        limit: u32,
    ) -> Result<Vec<LedgerRecord>> {
        if limit == 0 || limit as usize > LEDGER_LEN {
            return Err(Error::invalid(
                "limit",
                limit,
                format!("must be from 1 to {LEDGER_LEN}"),
            ));
        }
        self.client
            .store()
            .cron_ledger(LedgerParams {
                key: key.into().0,
                limit,
            })
            .await
    }
}
