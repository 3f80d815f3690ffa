//! The decisions about an entry's fire times, on both sides of the store:
//! [`plan_fires`] is what a scheduler asks for (which fire times passed, and
//! which of them were missed), [`apply_fire`] what every store writes (the
//! enabled flag and overlap policy as they stand in the store, and whether
//! another scheduler got there first). Both are pure, so every store decides
//! the same way.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{Entry, EntryRow, FireReason, LedgerRecord, Missed, Overlap};
use crate::NewJob;
use crate::store::{Advance, EntryFire, EntryKey, FireDecision};

/// How late a fire time may be seen and still count as on time. A fire time
/// older than this when a scheduler first looks was missed (no scheduler ran
/// then) and follows the entry's missed-fire policy.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(60);

/// The most fire times one plan walks through one by one; beyond, the rest of
/// a long outage is counted from where on-time fires begin.
const MAX_WALK: u64 = 100_000;

/// The decisions for `row` at `now` under `entry` (its definition, with the
/// schedule the scheduler computes with): every fire time from the stored
/// next one up to `now`, and the release of a buffered fire. `None` when
/// there is nothing to decide.
pub fn plan_fires(
    row: &EntryRow,
    entry: &Entry,
    now: DateTime<Utc>,
    grace: Duration,
) -> Option<EntryFire> {
    let release = row.buffered_fire_at.map(|at| entry.job(at));
    let mut decisions = Vec::new();
    let mut advance = None;
    if let Some(from) = row.next_fire_at.filter(|at| *at <= now) {
        let late = now - chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::MAX);
        let keep = match entry.missed {
            Missed::CatchUp(max) => max as usize,
            _ => 0,
        };
        let mut missed_first: Vec<DateTime<Utc>> = Vec::new();
        let mut missed_last = None;
        let mut missed_count = 0u64;
        let mut on_time = Vec::new();
        let mut walked = 0u64;
        let mut cursor = Some(from);
        while let Some(at) = cursor.filter(|at| *at <= now) {
            if at < late {
                missed_count += 1;
                if missed_first.len() < keep {
                    missed_first.push(at);
                }
                missed_last = Some(at);
            } else {
                on_time.push(at);
            }
            walked += 1;
            cursor = if walked >= MAX_WALK && at < late {
                // A long outage: skip to where on-time fires begin.
                entry
                    .schedule
                    .next_after(late - chrono::Duration::microseconds(1), entry.zone)
            } else {
                entry.schedule.next_after(at, entry.zone)
            };
        }
        advance = Some(Advance { from, to: cursor });
        let record = |fire_at, reason, fires, job| FireDecision {
            fire_at,
            reason,
            fires,
            job,
        };
        if !row.enabled {
            let last = on_time.last().copied().or(missed_last).unwrap_or(from);
            decisions.push(record(
                last,
                FireReason::SkippedDisabled,
                missed_count + on_time.len() as u64,
                None,
            ));
        } else {
            if let Some(last) = missed_last {
                match entry.missed {
                    Missed::Skip => {
                        decisions.push(record(last, FireReason::Missed, missed_count, None));
                    }
                    Missed::Coalesce => decisions.push(record(
                        last,
                        FireReason::Coalesced,
                        missed_count,
                        Some(entry.job(last)),
                    )),
                    Missed::CatchUp(_) => {
                        for &at in &missed_first {
                            decisions.push(record(
                                at,
                                FireReason::Enqueued,
                                1,
                                Some(entry.job(at)),
                            ));
                        }
                        let rest = missed_count - missed_first.len() as u64;
                        if rest > 0 {
                            decisions.push(record(last, FireReason::Missed, rest, None));
                        }
                    }
                }
            }
            for at in on_time {
                decisions.push(record(at, FireReason::Enqueued, 1, Some(entry.job(at))));
            }
        }
    }
    if decisions.is_empty() && release.is_none() {
        return None;
    }
    Some(EntryFire {
        key: EntryKey::new(row.tenant.as_deref(), &row.name),
        advance,
        overlap: entry.overlap,
        release,
        decisions,
    })
}

/// Where an entry stands in the store when its fires are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FireState {
    /// Its enabled flag.
    pub enabled: bool,
    /// Its next undecided fire time.
    pub next_fire_at: Option<DateTime<Utc>>,
    /// Its latest decided fire time.
    pub last_fire_at: Option<DateTime<Utc>>,
    /// Its buffered fire.
    pub buffered_fire_at: Option<DateTime<Utc>>,
    /// Whether the latest job it enqueued exists and has not finished.
    pub last_job_unfinished: bool,
}

/// One ledger record to write, with the job to enqueue with it.
#[derive(Debug, Clone)]
pub struct PlannedRecord {
    /// The record; the store fills in the job id.
    pub record: LedgerRecord,
    /// The job to insert with it.
    pub job: Option<NewJob>,
    /// It decides a buffered fire: it replaces that fire's `buffered` record.
    pub releases_buffer: bool,
}

/// What a store writes for one [`EntryFire`].
#[derive(Debug, Clone)]
pub struct Applied {
    /// The ledger records, in order.
    pub records: Vec<PlannedRecord>,
    /// The entry's next fire time.
    pub next_fire_at: Option<DateTime<Utc>>,
    /// The entry's latest decided fire time.
    pub last_fire_at: Option<DateTime<Utc>>,
    /// The entry's buffered fire.
    pub buffered_fire_at: Option<DateTime<Utc>>,
}

/// Applies `fire` to an entry that stands at `state`: `None` (lost) when
/// another scheduler moved the entry first. Enqueueing decisions become
/// skipped while the entry is disabled, and follow the overlap policy
/// (a job enqueued here counts as the previous job of the next decision).
pub fn apply_fire(state: &FireState, fire: &EntryFire, now: DateTime<Utc>) -> Option<Applied> {
    let mut next_fire_at = state.next_fire_at;
    if let Some(Advance { from, to }) = fire.advance {
        if state.next_fire_at != Some(from) {
            return None;
        }
        next_fire_at = to;
    }
    let mut unfinished = state.last_job_unfinished;
    let mut buffered = state.buffered_fire_at;
    let mut last_fire_at = state.last_fire_at;
    let mut records = Vec::new();
    let record = |fire_at, reason, fires| LedgerRecord {
        fire_at,
        decided_at: now,
        reason,
        fires,
        job_id: None,
    };
    if let (Some(job), Some(at)) = (&fire.release, buffered)
        && !unfinished
    {
        records.push(PlannedRecord {
            record: record(at, FireReason::Enqueued, 1),
            job: Some(job.clone()),
            releases_buffer: true,
        });
        buffered = None;
        unfinished = true;
    }
    for decision in &fire.decisions {
        let mut reason = decision.reason;
        let mut job = decision.job.clone();
        let enqueues = matches!(reason, FireReason::Enqueued | FireReason::Coalesced);
        if enqueues && job.is_some() {
            if !state.enabled {
                reason = FireReason::SkippedDisabled;
                job = None;
            } else if unfinished {
                match fire.overlap {
                    Overlap::Allow => {}
                    Overlap::Skip => {
                        reason = FireReason::SkippedRunning;
                        job = None;
                    }
                    Overlap::BufferOne if buffered.is_none() => {
                        reason = FireReason::Buffered;
                        job = None;
                        buffered = Some(decision.fire_at);
                    }
                    Overlap::BufferOne => {
                        reason = FireReason::SkippedRunning;
                        job = None;
                    }
                }
            }
        }
        if job.is_some() {
            unfinished = true;
        }
        if reason != FireReason::Manual {
            last_fire_at = last_fire_at.max(Some(decision.fire_at));
        }
        records.push(PlannedRecord {
            record: record(decision.fire_at, reason, decision.fires),
            job,
            releases_buffer: false,
        });
    }
    Some(Applied {
        records,
        next_fire_at,
        last_fire_at,
        buffered_fire_at: buffered,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, h, m, s).unwrap()
    }

    fn row(entry: &Entry, next: DateTime<Utc>) -> EntryRow {
        EntryRow {
            name: entry.name.clone(),
            tenant: None,
            kind: entry.kind.clone(),
            input: entry.input.clone(),
            schedule: entry.schedule_text(),
            zone: entry.zone.name().to_string(),
            queue: None,
            priority: None,
            max_attempts: None,
            meta: Default::default(),
            overlap: entry.overlap,
            missed: entry.missed,
            enabled: true,
            note: None,
            next_fire_at: Some(next),
            last_fire_at: None,
            last_job_id: None,
            buffered_fire_at: None,
            created_at: next,
            updated_at: next,
        }
    }

    fn minutely(missed: Missed) -> Entry {
        Entry::new("e", "k", json!(1), "* * * * *")
            .unwrap()
            .missed(missed)
    }

    fn reasons(fire: &EntryFire) -> Vec<(DateTime<Utc>, FireReason, u64)> {
        fire.decisions
            .iter()
            .map(|d| (d.fire_at, d.reason, d.fires))
            .collect()
    }

    #[test]
    fn nothing_due_plans_nothing() {
        let entry = minutely(Missed::Skip);
        assert!(
            plan_fires(
                &row(&entry, at(10, 1, 0)),
                &entry,
                at(10, 0, 30),
                DEFAULT_GRACE
            )
            .is_none()
        );
    }

    #[test]
    fn on_time_fires_enqueue_each_with_its_fire_time() {
        let entry = minutely(Missed::Skip);
        let fire = plan_fires(
            &row(&entry, at(10, 0, 0)),
            &entry,
            at(10, 1, 0),
            DEFAULT_GRACE,
        )
        .unwrap();
        assert_eq!(
            reasons(&fire),
            vec![
                (at(10, 0, 0), FireReason::Enqueued, 1),
                (at(10, 1, 0), FireReason::Enqueued, 1)
            ]
        );
        assert_eq!(
            fire.decisions[1]
                .job
                .as_ref()
                .unwrap()
                .cron
                .as_ref()
                .unwrap()
                .fire_at,
            at(10, 1, 0)
        );
        assert_eq!(
            fire.advance,
            Some(Advance {
                from: at(10, 0, 0),
                to: Some(at(10, 2, 0))
            })
        );
    }

    #[test]
    fn missed_fires_follow_the_policy() {
        let now = at(10, 10, 30);
        let skip = minutely(Missed::Skip);
        let fire = plan_fires(&row(&skip, at(10, 0, 0)), &skip, now, DEFAULT_GRACE).unwrap();
        // 10:00..10:09 were missed (older than a minute); 10:10 is on time.
        assert_eq!(
            reasons(&fire),
            vec![
                (at(10, 9, 0), FireReason::Missed, 10),
                (at(10, 10, 0), FireReason::Enqueued, 1)
            ]
        );
        let coalesce = minutely(Missed::Coalesce);
        let fire =
            plan_fires(&row(&coalesce, at(10, 0, 0)), &coalesce, now, DEFAULT_GRACE).unwrap();
        assert_eq!(
            reasons(&fire),
            vec![
                (at(10, 9, 0), FireReason::Coalesced, 10),
                (at(10, 10, 0), FireReason::Enqueued, 1)
            ]
        );
        assert!(fire.decisions[0].job.is_some());
        let catch_up = minutely(Missed::CatchUp(3));
        let fire =
            plan_fires(&row(&catch_up, at(10, 0, 0)), &catch_up, now, DEFAULT_GRACE).unwrap();
        assert_eq!(
            reasons(&fire),
            vec![
                (at(10, 0, 0), FireReason::Enqueued, 1),
                (at(10, 1, 0), FireReason::Enqueued, 1),
                (at(10, 2, 0), FireReason::Enqueued, 1),
                (at(10, 9, 0), FireReason::Missed, 7),
                (at(10, 10, 0), FireReason::Enqueued, 1)
            ]
        );
    }

    #[test]
    fn a_disabled_entry_records_one_skip_for_its_fires() {
        let entry = minutely(Missed::CatchUp(5));
        let mut stored = row(&entry, at(10, 0, 0));
        stored.enabled = false;
        let fire = plan_fires(&stored, &entry, at(10, 3, 0), DEFAULT_GRACE).unwrap();
        assert_eq!(
            reasons(&fire),
            vec![(at(10, 3, 0), FireReason::SkippedDisabled, 4)]
        );
    }

    #[test]
    fn a_long_outage_of_a_per_second_entry_is_counted_not_walked() {
        let entry = Entry::new("e", "k", json!(1), "* * * * * *").unwrap();
        let from = at(0, 0, 0) - chrono::Duration::days(2);
        let now = at(23, 0, 0);
        let fire = plan_fires(&row(&entry, from), &entry, now, DEFAULT_GRACE).unwrap();
        let first = &fire.decisions[0];
        assert_eq!(first.reason, FireReason::Missed);
        assert!(first.fires >= MAX_WALK);
        // The last minute's fires are on time, each its own job.
        assert_eq!(fire.decisions.len(), 1 + 61);
        assert_eq!(
            fire.advance.unwrap().to,
            Some(now + chrono::Duration::seconds(1))
        );
    }

    fn state(unfinished: bool) -> FireState {
        FireState {
            enabled: true,
            next_fire_at: Some(at(10, 0, 0)),
            last_fire_at: None,
            buffered_fire_at: None,
            last_job_unfinished: unfinished,
        }
    }

    fn two_fires(overlap: Overlap) -> EntryFire {
        let entry = minutely(Missed::Skip).overlap(overlap);
        let mut fire = plan_fires(
            &row(&entry, at(10, 0, 0)),
            &entry,
            at(10, 2, 0),
            Duration::from_secs(600),
        )
        .unwrap();
        fire.overlap = overlap;
        fire
    }

    fn applied(applied: &Applied) -> Vec<(FireReason, bool)> {
        applied
            .records
            .iter()
            .map(|r| (r.record.reason, r.job.is_some()))
            .collect()
    }

    #[test]
    fn a_moved_entry_is_lost() {
        let mut moved = state(false);
        moved.next_fire_at = Some(at(10, 3, 0));
        assert!(apply_fire(&moved, &two_fires(Overlap::Allow), at(10, 2, 0)).is_none());
    }

    #[test]
    fn overlap_policies() {
        use FireReason::*;
        let now = at(10, 2, 0);
        let allow = apply_fire(&state(true), &two_fires(Overlap::Allow), now).unwrap();
        assert_eq!(applied(&allow), vec![(Enqueued, true); 3]);
        assert_eq!(allow.next_fire_at, Some(at(10, 3, 0)));
        assert_eq!(allow.last_fire_at, Some(at(10, 2, 0)));
        let skip = apply_fire(&state(false), &two_fires(Overlap::Skip), now).unwrap();
        assert_eq!(
            applied(&skip),
            vec![
                (Enqueued, true),
                (SkippedRunning, false),
                (SkippedRunning, false)
            ]
        );
        let buffer = apply_fire(&state(true), &two_fires(Overlap::BufferOne), now).unwrap();
        assert_eq!(
            applied(&buffer),
            vec![
                (Buffered, false),
                (SkippedRunning, false),
                (SkippedRunning, false)
            ]
        );
        assert_eq!(buffer.buffered_fire_at, Some(at(10, 0, 0)));
    }

    #[test]
    fn a_buffered_fire_is_released_once_the_previous_job_finished() {
        let entry = minutely(Missed::Skip).overlap(Overlap::BufferOne);
        let mut stored = row(&entry, at(10, 5, 0));
        stored.buffered_fire_at = Some(at(10, 1, 0));
        let fire = plan_fires(&stored, &entry, at(10, 2, 0), DEFAULT_GRACE).unwrap();
        assert!(fire.advance.is_none() && fire.decisions.is_empty());
        let mut waiting = state(true);
        waiting.next_fire_at = Some(at(10, 5, 0));
        waiting.buffered_fire_at = Some(at(10, 1, 0));
        let still = apply_fire(&waiting, &fire, at(10, 2, 0)).unwrap();
        assert!(still.records.is_empty());
        assert_eq!(still.buffered_fire_at, Some(at(10, 1, 0)));
        waiting.last_job_unfinished = false;
        let released = apply_fire(&waiting, &fire, at(10, 2, 0)).unwrap();
        assert_eq!(applied(&released), vec![(FireReason::Enqueued, true)]);
        assert!(released.records[0].releases_buffer);
        assert_eq!(released.buffered_fire_at, None);
    }

    #[test]
    fn a_disabled_entry_enqueues_nothing_even_when_planned_enabled() {
        let mut disabled = state(false);
        disabled.enabled = false;
        let result = apply_fire(&disabled, &two_fires(Overlap::Allow), at(10, 2, 0)).unwrap();
        assert_eq!(
            applied(&result),
            vec![(FireReason::SkippedDisabled, false); 3]
        );
    }
}
