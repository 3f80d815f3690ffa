//! Tenants: every tenant with jobs or a pause, with its jobs by state.

use std::collections::BTreeMap;

use errand::{JobState, Pause, PauseScope, Result};
use serde::{Deserialize, Serialize};

use super::Api;

/// Most tenants one page holds.
const MAX_TENANTS_PAGE: u32 = 1_000;

/// Which tenants to list, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantQuery {
    /// Only tenants whose name sorts after this one: the `next_after` of
    /// the page before.
    pub after: Option<String>,
    /// Most tenants in the page: 1 to 1,000 (default 100).
    pub limit: Option<u32>,
}

/// One tenant: its jobs by state (across queues) and its pause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantRow {
    /// The tenant.
    pub tenant: String,
    /// Its pause, when paused.
    pub paused: Option<Pause>,
    /// Its jobs by public state (states without jobs left out).
    pub counts: BTreeMap<JobState, u64>,
    /// All its jobs.
    pub total: u64,
}

/// One page of tenants, by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantsPage {
    /// The tenants.
    pub tenants: Vec<TenantRow>,
    /// Pass as `after` for the next page; `None` on the last page.
    pub next_after: Option<String>,
}

impl TenantQuery {
    /// Checks the limit and the name to start after; the error names the
    /// field.
    pub fn validate(&self) -> Result<()> {
        errand::validate::page_limit("limit", self.limit.unwrap_or(100), MAX_TENANTS_PAGE)?;
        if let Some(after) = &self.after {
            errand::validate::tenant_in("after", after)?;
        }
        Ok(())
    }
}

impl Api {
    /// A page of the tenants with jobs or a pause, by name, from the
    /// counts the stores keep (no job is read).
    pub async fn tenants(&self, query: TenantQuery) -> Result<TenantsPage> {
        query.validate()?;
        let limit = query.limit.unwrap_or(100);
        let stats = self.client.stats_per_tenant().await?;
        let pauses = self.client.pauses().await?;
        let mut rows: BTreeMap<String, TenantRow> = BTreeMap::new();
        let row = |rows: &mut BTreeMap<String, TenantRow>, tenant: &str| {
            rows.entry(tenant.to_owned()).or_insert_with(|| TenantRow {
                tenant: tenant.to_owned(),
                paused: None,
                counts: BTreeMap::new(),
                total: 0,
            });
        };
        for count in &stats.counts {
            let Some(tenant) = &count.tenant else {
                continue;
            };
            row(&mut rows, tenant);
            if let Some(r) = rows.get_mut(tenant) {
                *r.counts.entry(count.state).or_default() += count.count;
                r.total += count.count;
            }
        }
        for pause in pauses {
            if let PauseScope::Tenant(tenant) = &pause.scope {
                row(&mut rows, tenant);
                if let Some(r) = rows.get_mut(tenant) {
                    r.paused = Some(pause.clone());
                }
            }
        }
        let tenants: Vec<TenantRow> = rows
            .into_values()
            .filter(|r| query.after.as_ref().is_none_or(|after| r.tenant > *after))
            .take(limit as usize + 1)
            .collect();
        let more = tenants.len() > limit as usize;
        let mut tenants = tenants;
        tenants.truncate(limit as usize);
        let next_after = if more {
            tenants.last().map(|r| r.tenant.clone())
        } else {
            None
        };
        Ok(TenantsPage {
            tenants,
            next_after,
        })
    }
}
