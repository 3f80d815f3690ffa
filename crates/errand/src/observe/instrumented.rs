//! The one instrumented store: every call a client or worker makes goes
//! through this wrapper, which gives it a `tracing` span (`errand.store`,
//! at debug level, with the operation and the backend), times it and counts
//! its errors, and counts the jobs it enqueued. Backends stay
//! free of instrumentation.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use errand_core::cron::{EntryRow, LedgerRecord};
use errand_core::maintenance::Service;
use errand_core::store::{
    AppendParams, AuditLog, AuditRecord, Batch, BatchCancelOutcome, BatchCreated, BatchId,
    BatchStore, BatchTotals, CancelBatchParams, CancelOutcome, CancelParams, Capabilities,
    ClaimParams, CreateBatchParams, CronListParams, CronStore, DeleteParams, DueParams,
    EnableParams, EnqueueParams, EntryKey, FinalizeParams, FireOutcome, FireParams, GetParams,
    JobAdmin, JobStore, LeaseStatus, LedgerParams, ListBatchesParams, ListParams, NewAuditRecord,
    Pause, PauseOutcome, PauseParams, PruneBatchesParams, PruneOutcome, PruneParams, QueueControl,
    QueueDepth, RenewParams, RescheduleParams, RescueParams, RescueUnheldParams, ResumeParams,
    RetryParams, SaveParams, Stats, StatsParams, Wakeup, WorkerBeat, WorkerRegistry,
};
use errand_core::{Enqueued, JobId, JobRow, NewJob, Result, StateMap, Store};
use tracing::Instrument;

use super::metrics;

/// `store`, instrumented once: a store already instrumented is returned as
/// it is, so that no call is counted twice.
pub(crate) fn instrument(store: Arc<dyn Store>) -> Arc<dyn Store> {
    if store.is_instrumented() {
        store
    } else {
        Arc::new(Instrumented { inner: store })
    }
}

/// A store whose every call is traced, timed and counted.
struct Instrumented {
    inner: Arc<dyn Store>,
}

impl Instrumented {
    /// Runs one store call `op` in its span, recording its time and outcome.
    async fn call<T>(&self, op: &'static str, call: impl Future<Output = Result<T>>) -> Result<T> {
        let span = tracing::debug_span!("errand.store", op, backend = self.inner.backend());
        let started = Instant::now();
        let result = call.instrument(span).await;
        metrics::store_call(op, started.elapsed(), result.is_ok());
        result
    }
}

/// The series of each job of `jobs`, read before the jobs are moved into
/// a call (a run of jobs alike looks its series up once).
fn series_of(jobs: &[NewJob]) -> Vec<Arc<metrics::JobSeries>> {
    let mut series: Vec<Arc<metrics::JobSeries>> = Vec::with_capacity(jobs.len());
    for (i, job) in jobs.iter().enumerate() {
        let same = i > 0 && {
            let before = &jobs[i - 1];
            before.kind == job.kind && before.queue == job.queue && before.tenant == job.tenant
        };
        match series.last() {
            Some(last) if same => {
                let last = Arc::clone(last);
                series.push(last);
            }
            _ => series.push(metrics::series(
                &job.kind,
                &job.queue,
                job.tenant.as_deref(),
            )),
        }
    }
    series
}

/// Counts the jobs that `enqueued` says were inserted.
fn count_enqueued(series: &[Arc<metrics::JobSeries>], enqueued: &[Enqueued]) {
    for (series, result) in series.iter().zip(enqueued) {
        if !result.duplicate {
            series.enqueued.increment(1);
        }
    }
}

#[async_trait]
impl JobStore for Instrumented {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    async fn enqueue(&self, params: EnqueueParams) -> Result<Vec<Enqueued>> {
        let series = series_of(&params.jobs);
        let enqueued = self.call("enqueue", self.inner.enqueue(params)).await?;
        count_enqueued(&series, &enqueued);
        Ok(enqueued)
    }
    async fn claim(&self, params: ClaimParams) -> Result<Vec<JobRow>> {
        // Starts are counted by the executor, which looks the series up once
        // per attempt for its start and its end.
        self.call("claim", self.inner.claim(params)).await
    }
    async fn finalize(&self, params: FinalizeParams) -> Result<Vec<bool>> {
        self.call("finalize", self.inner.finalize(params)).await
    }
    async fn renew_leases(&self, params: RenewParams) -> Result<Vec<LeaseStatus>> {
        self.call("renew_leases", self.inner.renew_leases(params))
            .await
    }
    async fn rescue(&self, params: RescueParams) -> Result<Vec<JobId>> {
        self.call("rescue", self.inner.rescue(params)).await
    }
    async fn rescue_unheld(&self, params: RescueUnheldParams) -> Result<Vec<JobId>> {
        self.call("rescue_unheld", self.inner.rescue_unheld(params))
            .await
    }
    fn subscribe(&self) -> Wakeup {
        self.inner.subscribe()
    }
    fn provide(&self, states: &mut StateMap) {
        self.inner.provide(states)
    }
    fn services(&self) -> Vec<Arc<dyn Service>> {
        self.inner.services()
    }
    fn is_instrumented(&self) -> bool {
        true
    }
}

#[async_trait]
impl JobAdmin for Instrumented {
    async fn get(&self, params: GetParams) -> Result<Option<JobRow>> {
        self.call("get", self.inner.get(params)).await
    }
    async fn list(&self, params: ListParams) -> Result<Vec<JobRow>> {
        self.call("list", self.inner.list(params)).await
    }
    async fn cancel(&self, params: CancelParams) -> Result<CancelOutcome> {
        self.call("cancel", self.inner.cancel(params)).await
    }
    async fn retry(&self, params: RetryParams) -> Result<()> {
        self.call("retry", self.inner.retry(params)).await
    }
    async fn stats(&self, params: StatsParams) -> Result<Stats> {
        self.call("stats", self.inner.stats(params)).await
    }
    async fn delete(&self, params: DeleteParams) -> Result<()> {
        self.call("delete", self.inner.delete(params)).await
    }
    async fn reschedule(&self, params: RescheduleParams) -> Result<JobRow> {
        self.call("reschedule", self.inner.reschedule(params)).await
    }
    async fn prune(&self, params: PruneParams) -> Result<PruneOutcome> {
        self.call("prune", self.inner.prune(params)).await
    }
    async fn queue_depths(&self, now: DateTime<Utc>) -> Result<Vec<QueueDepth>> {
        self.call("queue_depths", self.inner.queue_depths(now))
            .await
    }
}

#[async_trait]
impl CronStore for Instrumented {
    async fn cron_save(&self, params: SaveParams) -> Result<EntryRow> {
        self.call("cron_save", self.inner.cron_save(params)).await
    }
    async fn cron_get(&self, key: EntryKey) -> Result<Option<EntryRow>> {
        self.call("cron_get", self.inner.cron_get(key)).await
    }
    async fn cron_list(&self, params: CronListParams) -> Result<Vec<EntryRow>> {
        self.call("cron_list", self.inner.cron_list(params)).await
    }
    async fn cron_enable(&self, params: EnableParams) -> Result<EntryRow> {
        self.call("cron_enable", self.inner.cron_enable(params))
            .await
    }
    async fn cron_remove(&self, key: EntryKey) -> Result<()> {
        self.call("cron_remove", self.inner.cron_remove(key)).await
    }
    async fn cron_due(&self, params: DueParams) -> Result<Vec<EntryRow>> {
        self.call("cron_due", self.inner.cron_due(params)).await
    }
    async fn cron_fire(&self, params: FireParams) -> Result<Vec<FireOutcome>> {
        let fires = params.fires.clone();
        let outcomes = self.call("cron_fire", self.inner.cron_fire(params)).await?;
        for (fire, outcome) in fires.iter().zip(&outcomes) {
            let FireOutcome::Applied(records) = outcome else {
                continue;
            };
            // An entry's jobs share its kind, queue and tenant.
            let template = fire
                .release
                .iter()
                .chain(fire.decisions.iter().filter_map(|d| d.job.as_ref()))
                .next();
            for record in records.iter().filter(|r| r.job_id.is_some()) {
                if let Some(job) = template {
                    metrics::series(&job.kind, &job.queue, job.tenant.as_deref())
                        .enqueued
                        .increment(1);
                }
                metrics::cron_fired(&fire.key, record.fire_at, record.decided_at);
            }
        }
        Ok(outcomes)
    }
    async fn cron_ledger(&self, params: LedgerParams) -> Result<Vec<LedgerRecord>> {
        self.call("cron_ledger", self.inner.cron_ledger(params))
            .await
    }
}

#[async_trait]
impl QueueControl for Instrumented {
    async fn pause(&self, params: PauseParams) -> Result<PauseOutcome> {
        self.call("pause", self.inner.pause(params)).await
    }
    async fn resume(&self, params: ResumeParams) -> Result<Option<Pause>> {
        self.call("resume", self.inner.resume(params)).await
    }
    async fn pauses(&self) -> Result<Vec<Pause>> {
        self.call("pauses", self.inner.pauses()).await
    }
}

#[async_trait]
impl WorkerRegistry for Instrumented {
    async fn beat(&self, beat: WorkerBeat) -> Result<()> {
        self.call("beat", self.inner.beat(beat)).await
    }
    async fn workers(&self) -> Result<Vec<WorkerBeat>> {
        self.call("workers", self.inner.workers()).await
    }
    async fn leave(&self, name: &str) -> Result<bool> {
        self.call("leave", self.inner.leave(name)).await
    }
    async fn forget_workers(&self, beat_before: DateTime<Utc>) -> Result<u64> {
        self.call("forget_workers", self.inner.forget_workers(beat_before))
            .await
    }
}

#[async_trait]
impl AuditLog for Instrumented {
    async fn record_audit(&self, record: NewAuditRecord) -> Result<i64> {
        self.call("record_audit", self.inner.record_audit(record))
            .await
    }
    async fn audit_records(&self, before: Option<i64>, limit: u32) -> Result<Vec<AuditRecord>> {
        self.call("audit_records", self.inner.audit_records(before, limit))
            .await
    }
    async fn prune_audit(&self, at_before: DateTime<Utc>) -> Result<u64> {
        self.call("prune_audit", self.inner.prune_audit(at_before))
            .await
    }
}

#[async_trait]
impl BatchStore for Instrumented {
    async fn create_batch(&self, params: CreateBatchParams) -> Result<BatchCreated> {
        let series = series_of(&params.jobs);
        let created = self
            .call("create_batch", self.inner.create_batch(params))
            .await?;
        count_enqueued(&series, &created.jobs);
        Ok(created)
    }
    async fn append_to_batch(&self, params: AppendParams) -> Result<Vec<Enqueued>> {
        let series = series_of(&params.jobs);
        let enqueued = self
            .call("append_to_batch", self.inner.append_to_batch(params))
            .await?;
        count_enqueued(&series, &enqueued);
        Ok(enqueued)
    }
    async fn batch(&self, id: BatchId) -> Result<Option<Batch>> {
        self.call("batch", self.inner.batch(id)).await
    }
    async fn cancel_batch(&self, params: CancelBatchParams) -> Result<BatchCancelOutcome> {
        self.call("cancel_batch", self.inner.cancel_batch(params))
            .await
    }
    async fn list_batches(&self, params: ListBatchesParams) -> Result<Vec<Batch>> {
        self.call("list_batches", self.inner.list_batches(params))
            .await
    }
    async fn batch_totals(&self, tenant: Option<String>) -> Result<BatchTotals> {
        self.call("batch_totals", self.inner.batch_totals(tenant))
            .await
    }
    async fn prune_batches(&self, params: PruneBatchesParams) -> Result<Vec<BatchId>> {
        self.call("prune_batches", self.inner.prune_batches(params))
            .await
    }
    async fn take_finished_batches(&self, limit: u32) -> Result<Vec<Batch>> {
        self.call(
            "take_finished_batches",
            self.inner.take_finished_batches(limit),
        )
        .await
    }
}
