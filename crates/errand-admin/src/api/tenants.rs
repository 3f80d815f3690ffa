//! Tenants: every tenant with jobs or a pause, with its jobs by state.

use std::collections::BTreeMap;

use errand::{JobState, Pause, PauseScope, Result};
use serde::{Deserialize, Serialize};

use super::Api;

/// Most tenants one page holds.
const MAX_TENANTS_PAGE: u32 = 1_000;
/// Tenants in a page when the query names no limit.
const DEFAULT_TENANTS_PAGE: u32 = 100;

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
        errand::validate::page_limit(
            "limit",
            self.limit.unwrap_or(DEFAULT_TENANTS_PAGE),
            MAX_TENANTS_PAGE,
        )?;
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
        let limit = query.limit.unwrap_or(DEFAULT_TENANTS_PAGE) as usize;
        let stats = self.client.stats_per_tenant().await?;
        let pauses = self.client.pauses().await?;
        let mut rows: BTreeMap<String, TenantRow> = BTreeMap::new();
        for count in &stats.counts {
            if let Some(tenant) = &count.tenant {
                let r = row(&mut rows, tenant);
                *r.counts.entry(count.state).or_default() += count.count;
                r.total += count.count;
            }
        }
        for pause in pauses {
            if let PauseScope::Tenant(tenant) = &pause.scope {
                let tenant = tenant.clone();
                row(&mut rows, &tenant).paused = Some(pause);
            }
        }
        let mut tenants: Vec<TenantRow> = rows
            .into_values()
            .filter(|r| query.after.as_ref().is_none_or(|after| r.tenant > *after))
            .take(limit + 1)
            .collect();
        // One more than the page was read: there is a next page.
        let next_after = (tenants.len() > limit)
            .then(|| {
                tenants.truncate(limit);
                tenants.last().map(|r| r.tenant.clone())
            })
            .flatten();
        Ok(TenantsPage {
            tenants,
            next_after,
        })
    }
}

/// `tenant`'s row, added empty when it has none yet.
fn row<'a>(rows: &'a mut BTreeMap<String, TenantRow>, tenant: &str) -> &'a mut TenantRow {
    rows.entry(tenant.to_owned()).or_insert_with(|| TenantRow {
        tenant: tenant.to_owned(),
        paused: None,
        counts: BTreeMap::new(),
        total: 0,
    })
}
