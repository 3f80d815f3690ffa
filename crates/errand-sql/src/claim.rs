//! The limited claim of the SQL stores: which statements run in which order
//! is decided here once; each backend only runs them with its own binds.

use std::future::Future;

use errand_core::store::{Ask, Candidate, ClaimParams, ClaimPlan, order_as_picked};
use errand_core::{JobRow, Result};

/// The statements of a limited claim, run inside one backend transaction
/// that holds whatever lock keeps other claimers from counting meanwhile.
pub trait LimitedClaim {
    /// Jobs running now for each of `kinds` (the globally limited ones).
    fn running_counts(
        &mut self,
        kinds: &[&str],
    ) -> impl Future<Output = Result<Vec<(String, i64)>>> + Send;

    /// Jobs running now for each of `tenants` (limited ones), or `None` for
    /// a tenant whose jobs another claimer is claiming now: locks, taken
    /// without waiting, keep two claimers from counting one tenant at once.
    fn running_per_tenant(
        &mut self,
        tenants: &[&str],
    ) -> impl Future<Output = Result<Vec<(String, Option<i64>)>>> + Send;

    /// Due candidates `(id, kind, tenant)` of one ask, in the order the ask
    /// names (claim order, or tenants in name order for heads).
    fn candidates(
        &mut self,
        ask: &Ask<'_>,
    ) -> impl Future<Output = Result<Vec<(i64, String, Option<String>)>>> + Send;

    /// Marks `picked` running under this claim's lease and returns their rows
    /// in any order.
    fn mark(&mut self, picked: &[i64]) -> impl Future<Output = Result<Vec<JobRow>>> + Send;
}

/// Claims under the local, global and tenant limits of `params` through
/// `steps`: counts the globally limited kinds, then asks queue by queue,
/// counting the limited tenants the candidates bring; the rows come back in
/// the order they were picked.
pub async fn claim_limited(
    params: &ClaimParams,
    steps: &mut impl LimitedClaim,
) -> Result<Vec<JobRow>> {
    let mut plan = ClaimPlan::new(params);
    let global = plan.globally_limited();
    if !global.is_empty() {
        plan.limit_globally(steps.running_counts(&global).await?);
    }
    let mut claimed: Vec<JobRow> = Vec::new();
    while let Some(ask) = plan.next_ask() {
        let found = steps.candidates(&ask).await?;
        let candidates: Vec<Candidate<'_>> = found
            .iter()
            .map(|(id, kind, tenant)| Candidate {
                id: *id,
                kind,
                tenant: tenant.as_deref(),
            })
            .collect();
        let count = plan.tenants_to_count(&candidates);
        if !count.is_empty() {
            plan.limit_tenants(steps.running_per_tenant(&count).await?);
        }
        let picked = plan.pick(&candidates);
        if picked.is_empty() {
            continue;
        }
        let mut marked = steps.mark(&picked).await?;
        order_as_picked(&picked, &mut marked);
        claimed.extend(marked);
    }
    Ok(claimed)
}

/// The running count of each of `tenants` from the tenants a count query
/// listed (`running`; one not listed runs none), `None` for a tenant whose
/// lock this claimer did not get (`locked` says which it got).
pub fn counts_of(
    tenants: &[&str],
    running: &[(String, i64)],
    locked: impl Fn(&str) -> bool,
) -> Vec<(String, Option<i64>)> {
    tenants
        .iter()
        .map(|t| {
            let count =
                locked(t).then(|| running.iter().find(|(r, _)| r == t).map_or(0, |(_, n)| *n));
            ((*t).to_owned(), count)
        })
        .collect()
}
