//! The limited claim of the SQL stores: which statements run in which order
//! is decided here once; each backend only runs them with its own binds.

use std::future::Future;

use errand_core::store::{Ask, ClaimParams, ClaimPlan, order_as_picked};
use errand_core::{JobRow, Result};

/// The statements of a limited claim, run inside one backend transaction
/// that holds whatever lock keeps other claimers from counting meanwhile.
pub trait LimitedClaim {
    /// Jobs running now for each of `kinds` (the globally limited ones).
    fn running_counts(
        &mut self,
        kinds: &[&str],
    ) -> impl Future<Output = Result<Vec<(String, i64)>>> + Send;

    /// Due candidates `(id, kind)` of one ask, in claim order.
    fn candidates(
        &mut self,
        ask: &Ask<'_>,
    ) -> impl Future<Output = Result<Vec<(i64, String)>>> + Send;

    /// Marks `picked` running under this claim's lease and returns their rows
    /// in any order.
    fn mark(&mut self, picked: &[i64]) -> impl Future<Output = Result<Vec<JobRow>>> + Send;
}

/// Claims under the local and global limits of `params` through `steps`:
/// counts the globally limited kinds, then asks queue by queue; the rows
/// come back in the order they were picked.
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
        let candidates = steps.candidates(&ask).await?;
        let picked = plan.pick(candidates.iter().map(|(id, kind)| (*id, kind.as_str())));
        if picked.is_empty() {
            continue;
        }
        let mut marked = steps.mark(&picked).await?;
        order_as_picked(&picked, &mut marked);
        claimed.extend(marked);
    }
    Ok(claimed)
}
