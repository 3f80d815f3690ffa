//! The bulk-enqueue plan: which jobs one statement writes, which go one by
//! one, and their ids in input order.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use errand_core::{Enqueued, Error, JobId, NewJob, Result};
use serde::Serialize;

/// Splits `indices` (ascending positions in `jobs`) into runs of consecutive
/// positions whose jobs have the same shape ([`NewJob::same_shape`]).
pub fn shape_runs(jobs: &[NewJob], indices: &[usize]) -> Vec<Vec<usize>> {
    let mut runs: Vec<Vec<usize>> = Vec::new();
    for &i in indices {
        match runs.last_mut() {
            Some(run)
                if run
                    .last()
                    .is_some_and(|&j| j + 1 == i && jobs[j].same_shape(&jobs[i])) =>
            {
                run.push(i)
            }
            _ => runs.push(vec![i]),
        }
    }
    runs
}

/// True when runs are long enough that one statement per run (binding the
/// shared fields once) beats one statement carrying every field of every job.
pub fn runs_pay_off(runs: &[Vec<usize>], jobs: usize) -> bool {
    runs.len() == 1 || runs.len() * 4 <= jobs
}

/// One bulk statement of an [`EnqueuePlan`]: the positions of the jobs it
/// writes, in input order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bulk {
    /// Jobs of one shape: the shared fields bound once, the inputs as an array.
    Shared(Vec<usize>),
    /// Jobs of mixed shapes: every field of every job in one JSON array.
    PerRow(Vec<usize>),
}

/// How a list of validated jobs is written, and the ids it got.
///
/// Jobs without a unique key go in bulk statements ([`EnqueuePlan::bulk`]);
/// the rest (keyed jobs, and a lone job of its shape) one by one. Results come
/// back in input order whatever order the statements ran in.
///
/// ```
/// # use errand_core::NewJob;
/// use errand_sql::EnqueuePlan;
/// use errand_sql::enqueue::Bulk;
///
/// let jobs: Vec<NewJob> = (0..3).map(|i| NewJob::new("email", serde_json::json!(i))).collect();
/// let mut plan = EnqueuePlan::new(&jobs);
/// assert_eq!(plan.bulk(), vec![Bulk::Shared(vec![0, 1, 2])]);
/// plan.ids_stored(&[0, 1, 2], vec![12, 10, 11]).unwrap();
/// let ids: Vec<i64> = plan.finish().unwrap().iter().map(|e| e.id.0).collect();
/// assert_eq!(ids, vec![10, 11, 12]);
/// ```
#[derive(Debug, Clone)]
pub struct EnqueuePlan {
    bulk: Vec<Bulk>,
    results: Vec<Option<Enqueued>>,
    keyed: bool,
}

impl EnqueuePlan {
    /// The plan for `jobs`.
    pub fn new(jobs: &[NewJob]) -> Self {
        let plain: Vec<usize> = (0..jobs.len())
            .filter(|&i| jobs[i].unique.is_none())
            .collect();
        let keyed = plain.len() < jobs.len();
        let mut bulk = Vec::new();
        if plain.len() > 1 {
            let runs = shape_runs(jobs, &plain);
            if runs_pay_off(&runs, plain.len()) {
                bulk.extend(
                    runs.into_iter()
                        .filter(|run| run.len() > 1)
                        .map(Bulk::Shared),
                );
            } else {
                bulk.push(Bulk::PerRow(plain));
            }
        }
        EnqueuePlan {
            bulk,
            results: vec![None; jobs.len()],
            keyed,
        }
    }

    /// True when one statement writes every job, which is atomic without an
    /// explicit transaction (a keyed job takes several).
    pub fn single_statement(&self) -> bool {
        !self.keyed && self.bulk.len() + self.one_by_one().len() <= 1
    }

    /// The bulk statements to run (taken: a second call returns none).
    pub fn bulk(&mut self) -> Vec<Bulk> {
        std::mem::take(&mut self.bulk)
    }

    /// Records the ids one bulk statement returned for the jobs at `slots`.
    /// They come from one ascending sequence, so sorted they are in input
    /// order.
    pub fn ids_stored(&mut self, slots: &[usize], mut ids: Vec<i64>) -> Result<()> {
        check_count(ids.len(), slots.len())?;
        ids.sort_unstable();
        for (&slot, id) in slots.iter().zip(ids) {
            self.set(
                slot,
                Enqueued {
                    id: JobId(id),
                    duplicate: false,
                },
            );
        }
        Ok(())
    }

    /// Records a bulk statement that inserted `stored` rows for the jobs at
    /// `slots`, the last with id `last_id` (rows of one statement take
    /// consecutive ids, as SQLite's rowids do).
    pub fn rows_stored(&mut self, slots: &[usize], last_id: i64, stored: u64) -> Result<()> {
        check_count(usize::try_from(stored).unwrap_or(usize::MAX), slots.len())?;
        let first = last_id - i64::try_from(slots.len()).unwrap_or(i64::MAX) + 1;
        for (offset, &slot) in (0_i64..).zip(slots) {
            self.set(
                slot,
                Enqueued {
                    id: JobId(first + offset),
                    duplicate: false,
                },
            );
        }
        Ok(())
    }

    /// Positions of the jobs no bulk statement has written yet: they go one
    /// by one, in this order.
    pub fn one_by_one(&self) -> Vec<usize> {
        let mut in_bulk = vec![false; self.results.len()];
        for bulk in &self.bulk {
            let (Bulk::Shared(slots) | Bulk::PerRow(slots)) = bulk;
            for &slot in slots {
                if let Some(flag) = in_bulk.get_mut(slot) {
                    *flag = true;
                }
            }
        }
        (0..self.results.len())
            .filter(|&i| self.results[i].is_none() && !in_bulk[i])
            .collect()
    }

    /// Records the result of the job at `slot`.
    pub fn set(&mut self, slot: usize, enqueued: Enqueued) {
        if let Some(result) = self.results.get_mut(slot) {
            *result = Some(enqueued);
        }
    }

    /// The results in input order; an error if a job was left unwritten.
    pub fn finish(self) -> Result<Vec<Enqueued>> {
        let total = self.results.len();
        let results: Vec<Enqueued> = self.results.into_iter().flatten().collect();
        check_count(results.len(), total)?;
        Ok(results)
    }
}

fn check_count(stored: usize, expected: usize) -> Result<()> {
    if stored == expected {
        Ok(())
    } else {
        Err(Error::backend_msg(format!(
            "bulk insert stored {stored} of {expected} jobs"
        )))
    }
}

/// One job as an element of a per-row bulk statement's JSON array; `T` is
/// how the backend stores a time.
#[derive(Debug, Serialize)]
pub struct BulkRow<'a, T> {
    kind: &'a str,
    queue: &'a str,
    priority: i16,
    #[serde(skip_serializing_if = "Option::is_none")]
    tenant: Option<&'a str>,
    input: &'a serde_json::Value,
    max_attempts: u32,
    run_at: T,
    #[serde(skip_serializing_if = "Option::is_none")]
    batch_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cron_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cron_fire_at: Option<T>,
    meta: &'a BTreeMap<String, String>,
}

impl<'a, T> BulkRow<'a, T> {
    /// The row of `job`, due at `now` unless it says otherwise.
    pub fn new(job: &'a NewJob, now: DateTime<Utc>, time: impl Fn(DateTime<Utc>) -> T) -> Self {
        BulkRow {
            kind: &job.kind,
            queue: &job.queue,
            priority: job.priority,
            tenant: job.tenant.as_deref(),
            input: &job.input,
            max_attempts: job.max_attempts,
            run_at: time(job.run_at.unwrap_or(now)),
            batch_id: job.batch_id,
            cron_name: job.cron.as_ref().map(|c| c.name.as_str()),
            cron_fire_at: job.cron.as_ref().map(|c| time(c.fire_at)),
            meta: &job.meta,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use errand_core::Unique;
    use serde_json::json;

    fn job(kind: &str) -> NewJob {
        NewJob::new(kind, json!(null))
    }

    fn keyed(kind: &str, key: &str) -> NewJob {
        let mut job = job(kind);
        job.unique = Some(Unique::active(key));
        job
    }

    #[test]
    fn same_shaped_jobs_share_one_statement() {
        let jobs = vec![job("a"), job("a"), job("a"), job("a")];
        let mut plan = EnqueuePlan::new(&jobs);
        assert!(plan.one_by_one().is_empty());
        assert_eq!(plan.bulk(), vec![Bulk::Shared(vec![0, 1, 2, 3])]);
        assert!(EnqueuePlan::new(&jobs).single_statement());
    }

    #[test]
    fn many_short_runs_go_per_row() {
        let jobs: Vec<NewJob> = (0..8)
            .map(|i| job(if i % 2 == 0 { "a" } else { "b" }))
            .collect();
        let mut plan = EnqueuePlan::new(&jobs);
        assert_eq!(plan.bulk(), vec![Bulk::PerRow((0..8).collect())]);
        assert!(EnqueuePlan::new(&jobs).single_statement());
    }

    #[test]
    fn long_runs_each_get_a_statement_and_a_lone_job_goes_alone() {
        let mut jobs: Vec<NewJob> = (0..8).map(|_| job("a")).collect();
        jobs.extend((0..8).map(|_| job("b")));
        jobs.push(job("c"));
        let mut plan = EnqueuePlan::new(&jobs);
        assert_eq!(plan.one_by_one(), vec![16]);
        assert!(!EnqueuePlan::new(&jobs).single_statement());
        assert_eq!(
            plan.bulk(),
            vec![
                Bulk::Shared((0..8).collect()),
                Bulk::Shared((8..16).collect())
            ]
        );
    }

    #[test]
    fn keyed_jobs_go_one_by_one_and_never_in_one_statement() {
        let jobs = vec![job("a"), keyed("a", "k"), job("a")];
        let mut plan = EnqueuePlan::new(&jobs);
        assert_eq!(plan.one_by_one(), vec![1]);
        // Positions 0 and 2 are not consecutive: two runs of one, per row.
        assert_eq!(plan.bulk(), vec![Bulk::PerRow(vec![0, 2])]);
        assert!(!EnqueuePlan::new(&jobs).single_statement());
        assert!(!EnqueuePlan::new(&[keyed("a", "k")]).single_statement());
        assert!(EnqueuePlan::new(&[job("a")]).single_statement());
        assert!(EnqueuePlan::new(&[]).single_statement());
    }

    #[test]
    fn ids_come_back_in_input_order_whatever_the_statements_order() {
        let jobs = vec![job("a"), keyed("a", "k"), job("a")];
        let mut plan = EnqueuePlan::new(&jobs);
        plan.ids_stored(&[0, 2], vec![7, 5]).unwrap();
        plan.set(
            1,
            Enqueued {
                id: JobId(3),
                duplicate: true,
            },
        );
        let results = plan.finish().unwrap();
        let ids: Vec<i64> = results.iter().map(|e| e.id.0).collect();
        assert_eq!(ids, vec![5, 3, 7]);
        assert!(results[1].duplicate && !results[0].duplicate);
    }

    #[test]
    fn consecutive_rowids_end_at_the_last_id() {
        let jobs = vec![job("a"), job("a"), job("a")];
        let mut plan = EnqueuePlan::new(&jobs);
        plan.rows_stored(&[0, 1, 2], 42, 3).unwrap();
        let ids: Vec<i64> = plan.finish().unwrap().iter().map(|e| e.id.0).collect();
        assert_eq!(ids, vec![40, 41, 42]);
    }

    #[test]
    fn a_short_count_or_a_job_left_out_is_an_error() {
        let jobs = vec![job("a"), job("a")];
        let mut plan = EnqueuePlan::new(&jobs);
        assert!(plan.ids_stored(&[0, 1], vec![1]).is_err());
        assert!(plan.rows_stored(&[0, 1], 9, 1).is_err());
        plan.set(
            0,
            Enqueued {
                id: JobId(1),
                duplicate: false,
            },
        );
        let err = plan.finish().unwrap_err();
        assert!(err.to_string().contains("1 of 2"), "{err}");
    }

    #[test]
    fn a_bulk_row_stores_times_as_the_backend_does() {
        let now = DateTime::from_timestamp_micros(1_000_000).unwrap();
        let j = job("a");
        let row = serde_json::to_value(BulkRow::new(&j, now, |t| t.timestamp_micros())).unwrap();
        assert_eq!(row["run_at"], json!(1_000_000));
        assert_eq!(row["kind"], json!("a"));
        assert!(row.get("tenant").is_none());
    }
}
