use std::collections::HashMap;
use std::sync::Arc;

use chrono::TimeZone;
use errand::cron::{Entry, EntryRow, FireReason, Missed, Overlap};
use errand::store::{
    CronListParams, EnableParams, EntryKey, LedgerParams, Outcome, PruneParams, SaveMode,
    SaveParams,
};
use errand::{Error, JobState, ListParams, Store, Worker};
use futures::future::join_all;
use serde_json::json;

use super::*;

fn entry(name: &str, schedule: &str) -> Entry {
    Entry::new(name, "noop", serde_json::Value::Null, schedule).unwrap()
}

fn key(name: &str) -> EntryKey {
    EntryKey::new(None, name)
}

async fn save(
    h: &Harness,
    entry: Entry,
    mode: SaveMode,
    now: DateTime<Utc>,
) -> errand::Result<EntryRow> {
    h.store.cron_save(SaveParams::new(entry, mode, now)).await
}

async fn stored(h: &Harness, name: &str) -> EntryRow {
    h.store
        .cron_get(key(name))
        .await
        .unwrap()
        .expect("the entry exists")
}

/// A worker of `noop` on `store` whose scheduler knows `entries`.
fn worker(store: Arc<dyn Store>, entries: Vec<Entry>) -> Worker {
    worker_with(Worker::builder(store), entries)
}

fn worker_with(builder: errand::WorkerBuilder, entries: Vec<Entry>) -> Worker {
    let mut builder = builder.register(crate::jobs::noop::job());
    for entry in entries {
        builder = builder.cron(entry);
    }
    builder.build().unwrap()
}

/// The jobs of `noop` with their fire times, oldest first.
async fn cron_jobs(h: &Harness, now: DateTime<Utc>) -> Vec<JobRow> {
    let mut jobs = h
        .store
        .list(ListParams {
            kind: Some("noop".into()),
            limit: 10_000,
            now,
            ..Default::default()
        })
        .await
        .unwrap();
    jobs.reverse();
    jobs
}

fn fire_times(jobs: &[JobRow]) -> Vec<DateTime<Utc>> {
    jobs.iter()
        .map(|job| {
            job.cron
                .as_ref()
                .expect("a cron job carries its entry")
                .fire_at
        })
        .collect()
}

async fn ledger(h: &Harness, name: &str) -> Vec<(DateTime<Utc>, FireReason, u64, bool)> {
    let mut records: Vec<_> = h
        .store
        .cron_ledger(LedgerParams {
            key: key(name),
            limit: 100,
        })
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.fire_at, r.reason, r.fires, r.job_id.is_some()))
        .collect();
    records.reverse();
    records
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

async fn finish(h: &Harness, job: &JobRow, now: DateTime<Utc>) {
    let claimed = claim(h, "w", &["noop"], 100, now).await;
    assert!(
        claimed.iter().any(|c| c.id == job.id),
        "job {} is claimed",
        job.id
    );
    for c in claimed {
        let complete = Outcome::Complete {
            output: serde_json::Value::Null,
        };
        assert!(finalize(h, "w", c.id, c.attempt, complete, now).await);
    }
}

pub async fn cron_entries_are_saved_read_listed_and_removed(h: &Harness) {
    let now = t0();
    let nightly = entry("nightly", "0 3 * * *")
        .zone("Europe/Berlin")
        .unwrap()
        .queue("maintenance")
        .priority(5)
        .max_attempts(3)
        .meta("team", "ops")
        .overlap(Overlap::Skip)
        .missed(Missed::CatchUp(2));
    let row = save(h, nightly.clone(), SaveMode::Create, now)
        .await
        .unwrap();
    assert_eq!(
        (
            row.name.as_str(),
            row.tenant.as_deref(),
            row.kind.as_str(),
            row.schedule.as_str()
        ),
        ("nightly", None, "noop", "0 3 * * *")
    );
    assert_eq!(row.zone, "Europe/Berlin");
    assert_eq!(
        (row.queue.as_deref(), row.priority, row.max_attempts),
        (Some("maintenance"), Some(5), Some(3))
    );
    assert_eq!(row.meta.get("team").map(String::as_str), Some("ops"));
    assert_eq!(
        (row.overlap, row.missed),
        (Overlap::Skip, Missed::CatchUp(2))
    );
    assert!(row.enabled);
    assert_eq!(
        row.next_fire_at,
        nightly.schedule.next_after(now, nightly.zone)
    );
    assert_eq!((row.created_at, row.updated_at), (now, now));
    assert_eq!(
        row.entry().unwrap(),
        nightly,
        "the stored definition reads back"
    );
    assert_eq!(stored(h, "nightly").await, row);

    let again = save(h, nightly.clone(), SaveMode::Create, now).await;
    assert!(matches!(again, Err(Error::Conflict { .. })), "{again:?}");
    let missing = save(h, entry("ghost", "@hourly"), SaveMode::Update, now).await;
    assert!(
        matches!(missing, Err(Error::NotFound { .. })),
        "{missing:?}"
    );
    assert!(h.store.cron_get(key("ghost")).await.unwrap().is_none());

    // The same name under a tenant is another entry.
    let acme = entry("nightly", "@daily").tenant("acme");
    save(h, acme, SaveMode::Upsert, now).await.unwrap();
    for name in ["a-1", "a-2", "b-1"] {
        save(h, entry(name, "@hourly"), SaveMode::Upsert, now)
            .await
            .unwrap();
    }
    let list = |tenant: Option<Option<&str>>, after: Option<EntryKey>, limit| {
        h.store.cron_list(CronListParams {
            tenant: tenant.map(|t| t.map(String::from)),
            after,
            limit,
            ..Default::default()
        })
    };
    let names = |rows: Vec<EntryRow>| -> Vec<(Option<String>, String)> {
        rows.into_iter().map(|r| (r.tenant, r.name)).collect()
    };
    let none = |n: &str| (None, n.to_string());
    assert_eq!(
        names(list(None, None, 10).await.unwrap()),
        vec![
            none("a-1"),
            none("a-2"),
            none("b-1"),
            none("nightly"),
            (Some("acme".into()), "nightly".into())
        ],
        "listed by tenant, then name"
    );
    assert_eq!(
        names(list(Some(None), Some(key("a-2")), 2).await.unwrap()),
        vec![none("b-1"), none("nightly")],
        "paged after a key, only entries without a tenant"
    );
    assert_eq!(
        names(list(Some(Some("acme")), None, 10).await.unwrap()),
        vec![(Some("acme".into()), "nightly".into())]
    );
    h.store
        .cron_enable(EnableParams {
            key: key("a-2"),
            enabled: false,
            note: Some("paused for the migration".into()),
            now,
        })
        .await
        .unwrap();
    let disabled = h
        .store
        .cron_list(CronListParams {
            enabled: Some(false),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(names(disabled), vec![none("a-2")]);
    let by_kind = h
        .store
        .cron_list(CronListParams {
            kind: Some("other".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(by_kind.is_empty());

    h.store.cron_remove(key("a-1")).await.unwrap();
    assert!(h.store.cron_get(key("a-1")).await.unwrap().is_none());
    let gone = h.store.cron_remove(key("a-1")).await;
    assert!(matches!(gone, Err(Error::NotFound { .. })), "{gone:?}");
    let gone = h
        .store
        .cron_enable(EnableParams {
            key: key("a-1"),
            enabled: true,
            note: None,
            now,
        })
        .await;
    assert!(matches!(gone, Err(Error::NotFound { .. })), "{gone:?}");
    assert_eq!(
        stored(h, "nightly").await.tenant,
        None,
        "the tenant's entry did not replace it"
    );
}
case!(cron_entries_are_saved_read_listed_and_removed);

pub async fn cron_bad_names_are_refused_and_change_nothing(h: &Harness) {
    let now = t0();
    for bad in ["", "has space", "semi;colon", &"x".repeat(129)] {
        let e = h.store.cron_get(key(bad)).await;
        assert!(
            matches!(&e, Err(Error::Invalid { field, .. }) if field == "name"),
            "{bad:?}: {e:?}"
        );
        let e = h.store.cron_remove(key(bad)).await;
        assert!(matches!(e, Err(Error::Invalid { .. })), "{bad:?}: {e:?}");
    }
    let e = h
        .store
        .cron_get(EntryKey::new(Some("bad tenant"), "ok"))
        .await;
    assert!(
        matches!(&e, Err(Error::Invalid { field, .. }) if field == "tenant"),
        "{e:?}"
    );
    let mut bad = entry("ok", "@hourly");
    bad.kind = "not a kind".into();
    let e = save(h, bad, SaveMode::Upsert, now).await;
    assert!(
        matches!(&e, Err(Error::Invalid { field, value, .. }) if field.contains("\"ok\"") && field.ends_with("kind") && value == "not a kind"),
        "{e:?}"
    );
    assert!(
        h.store.cron_get(key("ok")).await.unwrap().is_none(),
        "nothing was written"
    );
}
case!(cron_bad_names_are_refused_and_change_nothing);

pub async fn cron_upsert_keeps_the_stored_flag_note_and_next_fire(h: &Harness) {
    let now = t0();
    let code = entry("report", "0 * * * *");
    save(h, code.clone(), SaveMode::Upsert, now).await.unwrap();
    h.store
        .cron_enable(EnableParams {
            key: key("report"),
            enabled: false,
            note: Some("quarter close".into()),
            now,
        })
        .await
        .unwrap();
    let first = stored(h, "report").await;
    // A later start with a changed input: the definition changes, the flag,
    // the note and the next fire time stay.
    let later = now + secs(7200);
    let mut changed = code.clone();
    changed.input = json!({"format": "pdf"});
    save(h, changed.clone(), SaveMode::Upsert, later)
        .await
        .unwrap();
    let row = stored(h, "report").await;
    assert_eq!(row.input, json!({"format": "pdf"}));
    assert!(
        !row.enabled,
        "a stored disabled flag survives the code's upsert"
    );
    assert_eq!(row.note.as_deref(), Some("quarter close"));
    assert_eq!(
        row.next_fire_at, first.next_fire_at,
        "same schedule: the next fire stands"
    );
    assert_eq!(row.updated_at, later);
    // A new schedule moves the next fire.
    let rescheduled = Entry {
        schedule: errand::cron::Schedule::parse("30 * * * *").unwrap(),
        ..changed
    };
    save(h, rescheduled.clone(), SaveMode::Upsert, later)
        .await
        .unwrap();
    let row = stored(h, "report").await;
    assert_eq!(row.schedule, "30 * * * *");
    assert_eq!(
        row.next_fire_at,
        rescheduled.schedule.next_after(later, rescheduled.zone)
    );
    // Recreated after a removal, through a worker's start.
    h.store.cron_remove(key("report")).await.unwrap();
    let w = worker(Arc::clone(&h.store), vec![code]);
    w.maintain(later).await;
    let row = stored(h, "report").await;
    assert!(row.enabled, "a removed entry comes back as new");
    assert_eq!(row.schedule, "0 * * * *");
}
case!(cron_upsert_keeps_the_stored_flag_note_and_next_fire);

pub async fn cron_fires_each_time_once_across_racing_schedulers(h: &Harness) {
    let start = utc(2030, 1, 1, 0, 0) + secs(1);
    let every = entry("every-minute", "* * * * *");
    let quarter = entry("quarter", "*/15 * * * *");
    save(h, every.clone(), SaveMode::Upsert, start)
        .await
        .unwrap();
    save(h, quarter.clone(), SaveMode::Upsert, start)
        .await
        .unwrap();
    let mut workers = Vec::new();
    for _ in 0..5 {
        let store = h.another().await.unwrap();
        workers.push(worker(store, vec![every.clone(), quarter.clone()]));
    }
    // Five schedulers, each a few seconds apart, for an hour.
    let mut now = start;
    while now <= start + secs(3600) {
        join_all(
            workers
                .iter()
                .enumerate()
                .map(|(i, w)| w.maintain(now + secs(i as i64))),
        )
        .await;
        now += secs(20);
    }
    let jobs = cron_jobs(h, now).await;
    let mut per_fire: HashMap<(String, DateTime<Utc>), usize> = HashMap::new();
    for job in &jobs {
        let cron = job.cron.as_ref().unwrap();
        *per_fire
            .entry((cron.name.clone(), cron.fire_at))
            .or_default() += 1;
    }
    let twice: Vec<_> = per_fire.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "fires enqueued more than once: {twice:?}");
    let minutes = per_fire
        .keys()
        .filter(|(name, _)| name == "every-minute")
        .count();
    let quarters = per_fire
        .keys()
        .filter(|(name, _)| name == "quarter")
        .count();
    assert_eq!(
        (minutes, quarters),
        (60, 4),
        "every fire time of the hour, no gap"
    );
    let ledger = ledger(h, "quarter").await;
    assert_eq!(ledger.len(), 4);
    assert!(
        ledger
            .iter()
            .all(|(_, reason, fires, job)| *reason == FireReason::Enqueued && *fires == 1 && *job)
    );
}
case!(cron_fires_each_time_once_across_racing_schedulers);

pub async fn cron_follows_zones_through_daylight_saving(h: &Harness) {
    let nightly = entry("nightly", "30 2 * * *")
        .zone("Europe/Berlin")
        .unwrap();
    let quarter = entry("quarter", "*/15 * * * *")
        .zone("Europe/Berlin")
        .unwrap();
    let start = utc(2026, 3, 28, 12, 0);
    save(h, nightly.clone(), SaveMode::Upsert, start)
        .await
        .unwrap();
    save(h, quarter.clone(), SaveMode::Upsert, start)
        .await
        .unwrap();
    // Passes every 10 minutes, with a grace that counts them on time.
    let w = worker_with(
        Worker::builder(Arc::clone(&h.store)).cron_grace(std::time::Duration::from_secs(3600)),
        vec![],
    );
    // 2026-03-29: clocks jump from 02:00 to 03:00 CET→CEST (01:00 UTC).
    let mut now = start;
    while now <= utc(2026, 3, 29, 12, 0) {
        w.maintain(now).await;
        now += secs(600);
    }
    let jobs = cron_jobs(h, now).await;
    let nightly_fires: Vec<_> = jobs
        .iter()
        .filter(|j| j.cron.as_ref().unwrap().name == "nightly")
        .map(|j| j.cron.as_ref().unwrap().fire_at)
        .collect();
    assert_eq!(
        nightly_fires,
        vec![utc(2026, 3, 29, 1, 0)],
        "02:30 does not exist that night: it fires once, at 03:00 CEST, the first instant after the gap"
    );
    let quarters: Vec<_> = jobs
        .iter()
        .filter(|j| j.cron.as_ref().unwrap().name == "quarter")
        .map(|j| j.cron.as_ref().unwrap().fire_at)
        .collect();
    assert_eq!(
        quarters.len(),
        24 * 4,
        "every 15 minutes of real time, through the change"
    );
    assert!(
        quarters.windows(2).all(|w| w[1] - w[0] == secs(900)),
        "{quarters:?}"
    );
    assert_eq!(fire_times(&jobs).len(), 1 + 96);

    // 2026-10-25: 02:00 – 03:00 CEST happens again as CET. 02:30 occurs
    // twice and fires once, at its first occurrence (00:30 UTC).
    h.store.cron_remove(key("quarter")).await.unwrap();
    let autumn = utc(2026, 10, 24, 12, 0);
    let night = entry("autumn", "30 2 * * *").zone("Europe/Berlin").unwrap();
    save(h, night, SaveMode::Upsert, autumn).await.unwrap();
    let mut now = autumn;
    while now <= utc(2026, 10, 26, 12, 0) {
        w.maintain(now).await;
        now += secs(600);
    }
    let autumn_fires: Vec<_> = cron_jobs(h, now)
        .await
        .iter()
        .filter_map(|j| {
            j.cron
                .as_ref()
                .filter(|c| c.name == "autumn")
                .map(|c| c.fire_at)
        })
        .collect();
    assert_eq!(
        autumn_fires,
        vec![utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)],
        "once on the night the hour repeats (CEST), then at 02:30 CET"
    );
}
case!(cron_follows_zones_through_daylight_saving);

pub async fn cron_fires_monthly_across_months_in_new_york(h: &Harness) {
    let start = utc(2027, 1, 15, 0, 0);
    let monthly = entry("first-of-month", "0 0 1 * *")
        .zone("America/New_York")
        .unwrap();
    save(h, monthly, SaveMode::Upsert, start).await.unwrap();
    let w = worker_with(
        Worker::builder(Arc::clone(&h.store))
            .cron_grace(std::time::Duration::from_secs(2 * 86_400)),
        vec![],
    );
    let mut now = start;
    while now <= utc(2027, 5, 2, 0, 0) {
        w.maintain(now).await;
        now += secs(86_400);
    }
    assert_eq!(
        fire_times(&cron_jobs(h, now).await),
        vec![
            utc(2027, 2, 1, 5, 0),
            utc(2027, 3, 1, 5, 0),
            utc(2027, 4, 1, 4, 0),
            utc(2027, 5, 1, 4, 0)
        ],
        "local midnight: 05:00 UTC in winter, 04:00 UTC after the March change"
    );
}
case!(cron_fires_monthly_across_months_in_new_york);

pub async fn cron_overlap_skip_and_buffer_one(h: &Harness) {
    let start = utc(2030, 6, 1, 10, 0);
    let skip = entry("skip", "* * * * *").overlap(Overlap::Skip);
    let buffer = entry("buffer", "* * * * *").overlap(Overlap::BufferOne);
    save(h, skip.clone(), SaveMode::Upsert, start)
        .await
        .unwrap();
    save(h, buffer.clone(), SaveMode::Upsert, start)
        .await
        .unwrap();
    let w = worker(Arc::clone(&h.store), vec![]);
    for minute in 1..=3 {
        w.maintain(start + secs(60 * minute) + secs(1)).await;
    }
    let now = start + secs(200);
    let jobs = cron_jobs(h, now).await;
    let of = |name: &str| -> Vec<JobRow> {
        jobs.iter()
            .filter(|j| j.cron.as_ref().unwrap().name == name)
            .cloned()
            .collect()
    };
    assert_eq!(
        fire_times(&of("skip")),
        vec![start + secs(60)],
        "later fires skipped while it waits"
    );
    assert_eq!(fire_times(&of("buffer")), vec![start + secs(60)]);
    use FireReason::*;
    assert_eq!(
        ledger(h, "skip")
            .await
            .iter()
            .map(|r| r.1)
            .collect::<Vec<_>>(),
        vec![Enqueued, SkippedRunning, SkippedRunning]
    );
    assert_eq!(
        ledger(h, "buffer")
            .await
            .iter()
            .map(|r| r.1)
            .collect::<Vec<_>>(),
        vec![Enqueued, Buffered, SkippedRunning],
        "one fire waits, the next is skipped"
    );
    assert_eq!(
        stored(h, "buffer").await.buffered_fire_at,
        Some(start + secs(120))
    );
    // Once the first job finished, the buffered fire is enqueued with its
    // own fire time, and the skip entry fires again.
    finish(h, &of("buffer")[0], now).await;
    w.maintain(start + secs(241)).await;
    let jobs = cron_jobs(h, now).await;
    let buffered: Vec<_> = jobs
        .iter()
        .filter(|j| j.cron.as_ref().unwrap().name == "buffer")
        .cloned()
        .collect();
    assert_eq!(
        fire_times(&buffered),
        vec![start + secs(60), start + secs(120)],
        "the buffered fire runs once the previous job finished; the next fire waits behind it"
    );
    let skipped: Vec<_> = jobs
        .iter()
        .filter(|j| j.cron.as_ref().unwrap().name == "skip")
        .cloned()
        .collect();
    assert_eq!(
        fire_times(&skipped),
        vec![start + secs(60), start + secs(240)]
    );
    let records = ledger(h, "buffer").await;
    assert_eq!(
        records.iter().map(|r| (r.0, r.1)).collect::<Vec<_>>(),
        vec![
            (start + secs(60), Enqueued),
            (start + secs(180), SkippedRunning),
            (start + secs(120), Enqueued),
            (start + secs(240), Buffered),
        ],
        "the release replaces the buffered record"
    );
}
case!(cron_overlap_skip_and_buffer_one);

pub async fn cron_missed_fires_follow_their_policy(h: &Harness) {
    let start = utc(2030, 6, 1, 10, 0);
    let skip = entry("skip", "*/5 * * * *");
    let coalesce = entry("coalesce", "*/5 * * * *").missed(Missed::Coalesce);
    let catch_up = entry("catch-up", "*/5 * * * *").missed(Missed::CatchUp(3));
    for e in [&skip, &coalesce, &catch_up] {
        save(h, e.clone(), SaveMode::Upsert, start).await.unwrap();
    }
    let w = worker(Arc::clone(&h.store), vec![]);
    // No scheduler ran for an hour: 10:05 to 10:55 passed, 11:00 is on time.
    let now = start + secs(3600) + secs(10);
    w.maintain(now).await;
    let jobs = cron_jobs(h, now).await;
    let of = |name: &str| -> Vec<DateTime<Utc>> {
        fire_times(
            &jobs
                .iter()
                .filter(|j| j.cron.as_ref().unwrap().name == name)
                .cloned()
                .collect::<Vec<_>>(),
        )
    };
    let at = |m: i64| start + secs(60 * m);
    assert_eq!(
        of("skip"),
        vec![at(60)],
        "missed fires are recorded, not run"
    );
    assert_eq!(
        of("coalesce"),
        vec![at(55), at(60)],
        "one job for the latest missed fire"
    );
    assert_eq!(
        of("catch-up"),
        vec![at(5), at(10), at(15), at(60)],
        "the oldest missed, at most 3"
    );
    assert_eq!(
        ledger(h, "skip").await,
        vec![
            (at(55), FireReason::Missed, 11, false),
            (at(60), FireReason::Enqueued, 1, true)
        ]
    );
    assert_eq!(
        ledger(h, "coalesce").await,
        vec![
            (at(55), FireReason::Coalesced, 11, true),
            (at(60), FireReason::Enqueued, 1, true)
        ]
    );
    assert_eq!(
        ledger(h, "catch-up").await,
        vec![
            (at(5), FireReason::Enqueued, 1, true),
            (at(10), FireReason::Enqueued, 1, true),
            (at(15), FireReason::Enqueued, 1, true),
            (at(55), FireReason::Missed, 8, false),
            (at(60), FireReason::Enqueued, 1, true),
        ]
    );
    assert_eq!(stored(h, "skip").await.next_fire_at, Some(at(65)));
}
case!(cron_missed_fires_follow_their_policy);

pub async fn cron_disabled_entries_skip_and_triggers_still_run(h: &Harness) {
    let start = utc(2030, 6, 1, 10, 0);
    save(h, entry("hourly", "0 * * * *"), SaveMode::Upsert, start)
        .await
        .unwrap();
    h.store
        .cron_enable(EnableParams {
            key: key("hourly"),
            enabled: false,
            note: Some("maintenance".into()),
            now: start,
        })
        .await
        .unwrap();
    let w = worker(Arc::clone(&h.store), vec![]);
    w.maintain(start + secs(3601)).await;
    w.maintain(start + secs(7201)).await;
    assert!(
        cron_jobs(h, start + secs(7201)).await.is_empty(),
        "a disabled entry enqueues nothing"
    );
    let records = ledger(h, "hourly").await;
    assert_eq!(
        records.iter().map(|r| (r.1, r.2)).collect::<Vec<_>>(),
        vec![
            (FireReason::SkippedDisabled, 1),
            (FireReason::SkippedDisabled, 1)
        ]
    );
    let client = errand::Client::new(Arc::clone(&h.store));
    let id = client.cron().trigger("hourly").await.unwrap();
    let job = get(h, id, Utc::now()).await;
    assert_eq!(job.cron.as_ref().unwrap().name, "hourly");
    assert_eq!(
        ledger(h, "hourly").await.last().map(|r| (r.1, r.3)),
        Some((FireReason::Manual, true))
    );
    assert_eq!(
        stored(h, "hourly").await.next_fire_at,
        Some(start + secs(3 * 3600)),
        "a trigger leaves the schedule alone"
    );
    // Enabled again, it fires at its next time and not for the past ones.
    client.cron().enable("hourly").await.unwrap();
    w.maintain(start + secs(3 * 3600) + secs(1)).await;
    let fired: Vec<_> = cron_jobs(h, start + secs(4 * 3600))
        .await
        .into_iter()
        .filter(|j| j.id != id)
        .collect();
    assert_eq!(fire_times(&fired), vec![start + secs(3 * 3600)]);
}
case!(cron_disabled_entries_skip_and_triggers_still_run);

pub async fn cron_entries_of_unknown_kinds_are_left_alone(h: &Harness) {
    let start = utc(2030, 6, 1, 10, 0);
    let other = Entry::new(
        "elsewhere",
        "not-registered-here",
        json!({"x": 1}),
        "* * * * *",
    )
    .unwrap();
    let row = save(h, other, SaveMode::Upsert, start).await.unwrap();
    let w = worker(Arc::clone(&h.store), vec![]);
    w.maintain(start + secs(181)).await;
    let after = stored(h, "elsewhere").await;
    assert_eq!(after, row, "neither fired nor changed nor deleted");
    assert!(
        after.is_overdue(start + secs(181), errand::cron::DEFAULT_GRACE),
        "it shows as overdue: no running worker decided its fires"
    );
    let all = h
        .store
        .list(ListParams {
            limit: 100,
            now: start,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(all.is_empty(), "{all:?}");
}
case!(cron_entries_of_unknown_kinds_are_left_alone);

pub async fn cron_a_decided_fire_never_repeats(h: &Harness) {
    let start = utc(2030, 6, 1, 10, 0);
    save(h, entry("once", "0 * * * *"), SaveMode::Upsert, start)
        .await
        .unwrap();
    let w = worker(Arc::clone(&h.store), vec![]);
    let fired_at = start + secs(3600);
    w.maintain(fired_at + secs(1)).await;
    let jobs = cron_jobs(h, fired_at).await;
    assert_eq!(fire_times(&jobs), vec![fired_at]);
    // The job runs, finishes and is pruned; the entry is removed and
    // created again by a scheduler whose clock lags, so that its next fire
    // is the one already decided.
    finish(h, &jobs[0], fired_at + secs(2)).await;
    let pruned = h
        .store
        .prune(PruneParams {
            state: JobState::Completed,
            finished_before: fired_at + secs(3),
            after: None,
            limit: 100,
        })
        .await
        .unwrap();
    assert_eq!(pruned.deleted.len(), 1);
    h.store.cron_remove(key("once")).await.unwrap();
    save(
        h,
        entry("once", "0 * * * *"),
        SaveMode::Create,
        fired_at - secs(10),
    )
    .await
    .unwrap();
    assert_eq!(stored(h, "once").await.next_fire_at, Some(fired_at));
    w.maintain(fired_at + secs(5)).await;
    assert!(
        cron_jobs(h, fired_at).await.is_empty(),
        "the fire was decided before: no second job"
    );
    assert_eq!(
        stored(h, "once").await.next_fire_at,
        Some(fired_at + secs(3600))
    );
    w.maintain(fired_at + secs(3601)).await;
    assert_eq!(
        fire_times(&cron_jobs(h, fired_at).await),
        vec![fired_at + secs(3600)]
    );
}
case!(cron_a_decided_fire_never_repeats);

pub async fn cron_ledger_keeps_the_newest_hundred(h: &Harness) {
    let start = utc(2030, 6, 1, 10, 0);
    save(h, entry("busy", "* * * * *"), SaveMode::Upsert, start)
        .await
        .unwrap();
    let w = worker(Arc::clone(&h.store), vec![]);
    for minute in 1..=105 {
        w.maintain(start + secs(60 * minute)).await;
    }
    let records = ledger(h, "busy").await;
    assert_eq!(records.len(), 100);
    assert_eq!(records.first().map(|r| r.0), Some(start + secs(60 * 6)));
    assert_eq!(records.last().map(|r| r.0), Some(start + secs(60 * 105)));
    assert_eq!(
        cron_jobs(h, start).await.len(),
        105,
        "trimming the ledger drops no job"
    );
}
case!(cron_ledger_keeps_the_newest_hundred);
