//! Batches: list, totals, show, cancel.

use errand::store::ListBatchesParams;
use errand::{Batch, BatchCancelOutcome, BatchId, BatchTotals, Result};
use serde::{Deserialize, Serialize};

use super::Api;

/// Which batches to list, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchQuery {
    /// Only this tenant's batches.
    pub tenant: Option<String>,
    /// Only batches with an id below this one: the `next_before` of the page before.
    pub before: Option<i64>,
    /// Most batches in the page: 1 to 1,000 (default 50).
    pub limit: Option<u32>,
}

/// One page of batches, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchesPage {
    /// The batches, with their counts and continuations.
    pub batches: Vec<Batch>,
    /// Pass as `before` for the next page; `None` on the last page.
    pub next_before: Option<BatchId>,
}

/// What cancelling a batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchCancelled {
    /// The batch.
    pub id: BatchId,
    /// Its jobs cancelled, asked to stop, already finished.
    pub outcome: BatchCancelOutcome,
}

impl Api {
    /// A page of batches.
    pub async fn batches(&self, query: BatchQuery) -> Result<BatchesPage> {
        let params = ListBatchesParams {
            tenant: query.tenant,
            before_id: query.before.map(BatchId),
            limit: query.limit.unwrap_or(50),
        };
        params.validate()?;
        let limit = params.limit as usize;
        let batches = self
            .client
            .batches(params.tenant.as_deref(), params.before_id, params.limit)
            .await?;
        let next_before = (batches.len() == limit)
            .then(|| batches.last().map(|b| b.id))
            .flatten();
        Ok(BatchesPage {
            batches,
            next_before,
        })
    }

    /// The batches on record summed, of one tenant or all.
    pub async fn batch_totals(&self, tenant: Option<&str>) -> Result<BatchTotals> {
        if let Some(tenant) = tenant {
            errand::validate::tenant(tenant)?;
        }
        self.client.batch_totals(tenant).await
    }

    /// One batch.
    pub async fn batch(&self, id: BatchId) -> Result<Batch> {
        self.client.batch_handle(id).status().await
    }

    /// Cancels a batch: waiting jobs at once, running ones asked to stop.
    pub async fn batch_cancel(&self, id: BatchId) -> Result<BatchCancelled> {
        let outcome = self.client.batch_handle(id).cancel().await?;
        let changed = outcome.cancelled + outcome.signalled;
        self.audit("batches.cancel", Some(id.to_string()), None, changed)
            .await?;
        Ok(BatchCancelled { id, outcome })
    }
}
