//! Cron entries: list, show, create, enable, disable, remove, trigger,
//! next fire times, ledger.

use chrono::{DateTime, Utc};
use errand::cron::{Entry, EntryRow, Key, LedgerRecord, ListParams, Missed, Overlap};
use errand::{Error, JobId, Result};
use serde::{Deserialize, Serialize};

use super::Api;

/// Which entries to list, by tenant and name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CronQuery {
    /// Only this tenant's entries.
    pub tenant: Option<String>,
    /// Only entries of this kind.
    pub kind: Option<String>,
    /// Only enabled (`true`) or disabled (`false`) entries.
    pub enabled: Option<bool>,
    /// Most entries: 1 to 10,000 (default 100).
    pub limit: Option<u32>,
}

/// A new cron entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CronEntryRequest {
    /// The name, unique per tenant.
    pub name: String,
    /// The tenant it belongs to.
    pub tenant: Option<String>,
    /// The job kind it enqueues.
    pub kind: String,
    /// A cron expression (5 or 6 fields), a nickname (`@daily`) or `@every <duration>`.
    pub schedule: String,
    /// The IANA time zone the schedule is read in (default UTC).
    pub zone: Option<String>,
    /// The input of each job (JSON; `null` when left out).
    #[serde(default)]
    pub input: serde_json::Value,
    /// The queue of its jobs.
    pub queue: Option<String>,
    /// The priority of its jobs.
    pub priority: Option<i16>,
    /// The attempt limit of its jobs.
    pub max_attempts: Option<u32>,
    /// `allow` (default), `skip` or `buffer_one`.
    pub overlap: Option<String>,
    /// `skip` (default), `coalesce` or `catch_up:N`.
    pub missed: Option<String>,
}

impl CronEntryRequest {
    /// The entry it asks for, every field checked; an error names the
    /// request's field (`schedule`), not the entry.
    pub fn entry(&self) -> Result<Entry> {
        self.build().map_err(|e| match e {
            Error::Invalid {
                field,
                value,
                reason,
            } => {
                let field = match field.rsplit(' ').next().unwrap_or(&field) {
                    "time_zone" => "zone".to_owned(),
                    name => name.to_owned(),
                };
                Error::Invalid {
                    field,
                    value,
                    reason,
                }
            }
            other => other,
        })
    }

    fn build(&self) -> Result<Entry> {
        let mut entry = Entry::new(&self.name, &self.kind, self.input.clone(), &self.schedule)?
            .zone(self.zone.as_deref().unwrap_or("UTC"))?
            .overlap(
                self.overlap
                    .as_deref()
                    .unwrap_or("allow")
                    .parse::<Overlap>()?,
            )
            .missed(self.missed.as_deref().unwrap_or("skip").parse::<Missed>()?);
        entry.tenant = self.tenant.clone();
        entry.queue = self.queue.clone();
        entry.priority = self.priority;
        entry.max_attempts = self.max_attempts;
        entry.validate()?;
        Ok(entry)
    }
}

/// What removing an entry did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CronRemoved {
    /// The entry's name.
    pub name: String,
    /// Its tenant.
    pub tenant: Option<String>,
    /// `removed`.
    pub result: String,
}

/// What triggering an entry did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CronTriggered {
    /// The entry's name.
    pub name: String,
    /// Its tenant.
    pub tenant: Option<String>,
    /// The job enqueued.
    pub job: JobId,
}

/// One fire time, in UTC and in the entry's zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FireTime {
    /// In UTC.
    pub utc: DateTime<Utc>,
    /// In the entry's zone, RFC 3339 with its offset.
    pub local: String,
}

impl Api {
    /// Entries by tenant and name.
    pub async fn cron_entries(&self, query: CronQuery) -> Result<Vec<EntryRow>> {
        self.client
            .cron()
            .list(ListParams {
                tenant: query.tenant.map(Some),
                kind: query.kind,
                enabled: query.enabled,
                limit: query.limit.unwrap_or(100),
                ..Default::default()
            })
            .await
    }

    /// One entry.
    pub async fn cron_entry(&self, key: &Key) -> Result<EntryRow> {
        key.validate()?;
        self.client
            .cron()
            .get(key)
            .await?
            .ok_or_else(|| key.not_found())
    }

    /// Creates an entry (an error names one that exists).
    pub async fn cron_create(&self, request: CronEntryRequest) -> Result<EntryRow> {
        let entry = request.entry()?;
        let row = self.client.cron().create(entry).await?;
        // Not the input: inputs can be large or private.
        let filter =
            serde_json::json!({"kind": row.kind, "schedule": row.schedule, "zone": row.zone});
        let key = Key {
            name: row.name.clone(),
            tenant: row.tenant.clone(),
        };
        self.audit("cron.create", Some(target(&key)), Some(filter), 1)
            .await?;
        Ok(row)
    }

    /// Enables an entry.
    pub async fn cron_enable(&self, key: &Key) -> Result<EntryRow> {
        key.validate()?;
        let row = self.client.cron().enable(key).await?;
        self.audit("cron.enable", Some(target(key)), None, 1)
            .await?;
        Ok(row)
    }

    /// Disables an entry, saying why.
    pub async fn cron_disable(&self, key: &Key, note: Option<&str>) -> Result<EntryRow> {
        key.validate()?;
        let row = self.client.cron().disable(key, note).await?;
        let filter = note.map(|note| serde_json::json!({ "note": note }));
        self.audit("cron.disable", Some(target(key)), filter, 1)
            .await?;
        Ok(row)
    }

    /// Removes an entry (its ledger stays).
    pub async fn cron_remove(&self, key: &Key) -> Result<CronRemoved> {
        key.validate()?;
        self.client.cron().remove(key).await?;
        self.audit("cron.remove", Some(target(key)), None, 1)
            .await?;
        Ok(CronRemoved {
            name: key.name.clone(),
            tenant: key.tenant.clone(),
            result: "removed".to_owned(),
        })
    }

    /// Enqueues the entry's job now, even when disabled.
    pub async fn cron_trigger(&self, key: &Key) -> Result<CronTriggered> {
        key.validate()?;
        let job = self.client.cron().trigger(key).await?;
        self.audit("cron.trigger", Some(target(key)), None, 1)
            .await?;
        Ok(CronTriggered {
            name: key.name.clone(),
            tenant: key.tenant.clone(),
            job,
        })
    }

    /// The entry's next `count` fire times after `after`.
    pub async fn cron_next(
        &self,
        key: &Key,
        count: u32,
        after: DateTime<Utc>,
    ) -> Result<Vec<FireTime>> {
        key.validate()?;
        let fires = self
            .client
            .cron()
            .next_fires(key, count as usize, after)
            .await?;
        Ok(fires
            .into_iter()
            .map(|(utc, local)| FireTime {
                utc,
                local: local.to_rfc3339(),
            })
            .collect())
    }

    /// The entry's latest decisions, newest first.
    pub async fn cron_ledger(&self, key: &Key, limit: u32) -> Result<Vec<LedgerRecord>> {
        key.validate()?;
        self.client.cron().ledger(key, limit).await
    }
}

/// An entry as the target of an audit record: its name, and its tenant after a slash.
fn target(key: &Key) -> String {
    match &key.tenant {
        Some(tenant) => format!("{}/{tenant}", key.name),
        None => key.name.clone(),
    }
}
