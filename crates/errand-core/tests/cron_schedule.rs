//! Fire times of cron schedules, daylight saving days pinned: the rule of
//! `errand_core::cron` checked on Europe/Berlin, America/New_York,
//! Australia/Lord_Howe (a 30-minute change) and Pacific/Apia's skipped day.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
use chrono::{DateTime, TimeZone, Utc};
use errand_core::cron::{Schedule, Tz, zone};

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

fn fires(expr: &str, tz: &str, after: DateTime<Utc>, count: usize) -> Vec<DateTime<Utc>> {
    Schedule::parse(expr)
        .unwrap()
        .next_fires(after, zone(tz).unwrap(), count)
}

fn fires_until(
    expr: &str,
    tz: &str,
    after: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Vec<DateTime<Utc>> {
    let schedule = Schedule::parse(expr).unwrap();
    let zone: Tz = zone(tz).unwrap();
    let mut out = Vec::new();
    let mut cursor = after;
    while let Some(next) = schedule.next_after(cursor, zone) {
        if next > end {
            break;
        }
        out.push(next);
        cursor = next;
    }
    out
}

// Europe/Berlin, 2026-03-29: at 01:00 UTC the clock goes from 02:00 CET to
// 03:00 CEST; 02:00 - 02:59 does not exist.
#[test]
fn berlin_spring_a_missing_time_fires_once_at_the_end_of_the_gap() {
    let after = utc(2026, 3, 28, 12, 0);
    assert_eq!(
        fires("30 2 * * *", "Europe/Berlin", after, 2),
        vec![utc(2026, 3, 29, 1, 0), utc(2026, 3, 30, 0, 30)]
    );
    // Two times in the gap still fire once.
    assert_eq!(
        fires("0,30 2 * * *", "Europe/Berlin", after, 3),
        vec![
            utc(2026, 3, 29, 1, 0),
            utc(2026, 3, 30, 0, 0),
            utc(2026, 3, 30, 0, 30)
        ]
    );
}

#[test]
fn berlin_spring_an_interval_keeps_its_pace_in_real_time() {
    let quarter = fires_until(
        "*/15 * * * *",
        "Europe/Berlin",
        utc(2026, 3, 29, 0, 20),
        utc(2026, 3, 29, 1, 30),
    );
    assert_eq!(
        quarter,
        vec![
            utc(2026, 3, 29, 0, 30),
            utc(2026, 3, 29, 0, 45),
            utc(2026, 3, 29, 1, 0),
            utc(2026, 3, 29, 1, 15),
            utc(2026, 3, 29, 1, 30),
        ]
    );
    // Hourly at :30: 02:30 has no instant that day, so it is not a fire.
    assert_eq!(
        fires("30 * * * *", "Europe/Berlin", utc(2026, 3, 29, 0, 0), 2),
        vec![utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 1, 30)]
    );
}

// Europe/Berlin, 2026-10-25: at 01:00 UTC the clock goes from 03:00 CEST
// back to 02:00 CET; 02:00 - 02:59 happens twice.
#[test]
fn berlin_autumn_a_repeated_time_fires_once_at_its_first_occurrence() {
    assert_eq!(
        fires("30 2 * * *", "Europe/Berlin", utc(2026, 10, 24, 12, 0), 2),
        vec![utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]
    );
    // Asked from inside the second pass, the day's fire is behind.
    assert_eq!(
        fires("30 2 * * *", "Europe/Berlin", utc(2026, 10, 25, 1, 10), 1),
        vec![utc(2026, 10, 26, 1, 30)]
    );
}

#[test]
fn berlin_autumn_an_interval_fires_on_every_instant_and_none_twice() {
    let quarter = fires_until(
        "*/15 * * * *",
        "Europe/Berlin",
        utc(2026, 10, 24, 23, 50),
        utc(2026, 10, 25, 1, 50),
    );
    let expected: Vec<DateTime<Utc>> = (0..8)
        .map(|i| utc(2026, 10, 25, 0, 0) + chrono::Duration::minutes(15 * i))
        .collect();
    assert_eq!(quarter, expected);
    assert_eq!(
        fires("30 * * * *", "Europe/Berlin", utc(2026, 10, 25, 0, 0), 3),
        vec![
            utc(2026, 10, 25, 0, 30),
            utc(2026, 10, 25, 1, 30),
            utc(2026, 10, 25, 2, 30)
        ]
    );
}

// America/New_York: 2026-03-08 02:00 EST -> 03:00 EDT at 07:00 UTC;
// 2026-11-01 02:00 EDT -> 01:00 EST at 06:00 UTC.
#[test]
fn new_york_both_changes() {
    assert_eq!(
        fires("30 2 * * *", "America/New_York", utc(2026, 3, 7, 12, 0), 2),
        vec![utc(2026, 3, 8, 7, 0), utc(2026, 3, 9, 6, 30)]
    );
    assert_eq!(
        fires(
            "30 1 * * *",
            "America/New_York",
            utc(2026, 10, 31, 12, 0),
            2
        ),
        vec![utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)]
    );
    let hourly = fires_until(
        "0 * * * *",
        "America/New_York",
        utc(2026, 11, 1, 4, 30),
        utc(2026, 11, 1, 7, 30),
    );
    assert_eq!(
        hourly,
        vec![
            utc(2026, 11, 1, 5, 0),
            utc(2026, 11, 1, 6, 0),
            utc(2026, 11, 1, 7, 0)
        ]
    );
}

// Australia/Lord_Howe moves by 30 minutes: 2026-10-04 02:00 (+10:30) ->
// 02:30 (+11:00) at 15:30 UTC the day before; 2026-04-05 02:00 (+11:00)
// -> 01:30 (+10:30) at 15:00 UTC the day before.
#[test]
fn lord_howe_half_hour_changes() {
    assert_eq!(
        fires(
            "15 2 * * *",
            "Australia/Lord_Howe",
            utc(2026, 10, 3, 0, 0),
            2
        ),
        vec![utc(2026, 10, 3, 15, 30), utc(2026, 10, 4, 15, 15)]
    );
    assert_eq!(
        fires(
            "45 1 * * *",
            "Australia/Lord_Howe",
            utc(2026, 4, 4, 0, 0),
            2
        ),
        vec![utc(2026, 4, 4, 14, 45), utc(2026, 4, 5, 15, 15)]
    );
    let tens = fires_until(
        "*/10 * * * *",
        "Australia/Lord_Howe",
        utc(2026, 4, 4, 14, 35),
        utc(2026, 4, 4, 15, 35),
    );
    let expected: Vec<DateTime<Utc>> = (0..6)
        .map(|i| utc(2026, 4, 4, 14, 40) + chrono::Duration::minutes(10 * i))
        .collect();
    assert_eq!(tens, expected, "every ten minutes of real time, none twice");
}

// Pacific/Apia skipped 2011-12-30: 2011-12-29 23:59:59 (-10:00) was followed
// by 2011-12-31 00:00:00 (+14:00), at 10:00 UTC.
#[test]
fn apia_skipped_day() {
    assert_eq!(
        fires("0 12 * * *", "Pacific/Apia", utc(2011, 12, 29, 0, 0), 3),
        vec![
            utc(2011, 12, 29, 22, 0),
            utc(2011, 12, 30, 10, 0),
            utc(2011, 12, 30, 22, 0)
        ]
    );
    assert_eq!(
        fires("0 12 30 12 *", "Pacific/Apia", utc(2011, 12, 1, 0, 0), 1),
        vec![utc(2011, 12, 30, 10, 0)]
    );
}

#[test]
fn every_is_anchored_at_the_epoch_in_every_zone() {
    let every = Schedule::parse("@every 7m").unwrap();
    let after = utc(2026, 5, 1, 10, 3);
    let next = every
        .next_after(after, zone("Asia/Kolkata").unwrap())
        .unwrap();
    assert_eq!(next.timestamp() % 420, 0);
    assert!(next > after && next - after <= chrono::Duration::minutes(7));
    assert_eq!(next, every.next_after(after, zone("UTC").unwrap()).unwrap());
}

#[test]
fn six_fields_names_and_nicknames() {
    assert_eq!(
        fires("30 0 9 * * MON-FRI", "UTC", utc(2026, 12, 4, 12, 0), 2),
        vec![
            Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 30).unwrap(),
            Utc.with_ymd_and_hms(2026, 12, 8, 9, 0, 30).unwrap()
        ]
    );
    assert_eq!(
        fires("0 0 1 JAN,jul *", "UTC", utc(2026, 2, 1, 0, 0), 1),
        vec![utc(2026, 7, 1, 0, 0)]
    );
    for (nickname, first) in [
        ("@yearly", utc(2027, 1, 1, 0, 0)),
        ("@annually", utc(2027, 1, 1, 0, 0)),
        ("@monthly", utc(2027, 1, 1, 0, 0)),
        ("@weekly", utc(2026, 12, 6, 0, 0)),
        ("@daily", utc(2026, 12, 4, 0, 0)),
        ("@midnight", utc(2026, 12, 4, 0, 0)),
        ("@hourly", utc(2026, 12, 3, 13, 0)),
        ("@minutely", utc(2026, 12, 3, 12, 31)),
    ] {
        assert_eq!(
            fires(nickname, "UTC", utc(2026, 12, 3, 12, 30), 1),
            vec![first],
            "{nickname}"
        );
    }
}

#[test]
fn bad_schedules_and_zones_are_errors_naming_the_value() {
    for bad in [
        "",
        "* * * *",
        "* * * * * * *",
        "61 * * * *",
        "* 24 * * *",
        "0 0 31 2 *",
        "@fortnightly",
        "@every",
        "@every soon",
        "@every 0s",
        "@every 1500ms",
        "@every 400days",
        "*/0 * * * *",
        "MON * * * *",
        "0 0 * MON *",
        "0 0 * * JAN",
    ] {
        let err = Schedule::parse(bad).expect_err(bad);
        assert!(
            matches!(err, errand_core::Error::Invalid { ref field, ref value, .. } if field == "schedule" && value == bad),
            "{bad:?}: {err}"
        );
    }
    let err = zone("Europe/Berln").unwrap_err();
    assert!(err.to_string().contains("Europe/Berln"), "{err}");
}

#[test]
fn no_instant_fires_twice_across_a_year_of_changes() {
    for tz in ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe"] {
        for expr in [
            "*/15 * * * *",
            "30 2 * * *",
            "0,30 1-3 * * *",
            "45 */2 * * *",
        ] {
            let all = fires_until(expr, tz, utc(2026, 1, 1, 0, 0), utc(2027, 1, 1, 0, 0));
            assert!(all.windows(2).all(|w| w[0] < w[1]), "{expr} in {tz}");
        }
    }
}

/// One random expression with the sets it stands for, so that matching can be
/// decided without any cron parser.
struct Generated {
    text: String,
    minutes: Vec<u32>,
    hours: Vec<u32>,
    days: Option<Vec<u32>>,
    months: Vec<u32>,
    weekdays: Option<Vec<u32>>,
    real_time: bool,
}

fn pick(rng: &mut fastrand::Rng, max: u32) -> u32 {
    rng.u32(0..max)
}

fn field(rng: &mut fastrand::Rng, max: u32, wildcard_ok: bool) -> (String, Vec<u32>, bool) {
    match rng.u8(0..if wildcard_ok { 5 } else { 4 }) {
        0 => {
            let v = pick(rng, max);
            (v.to_string(), vec![v], false)
        }
        1 => {
            let (a, b) = (pick(rng, max), pick(rng, max));
            let mut set = vec![a, b];
            set.sort_unstable();
            set.dedup();
            (format!("{a},{b}"), set, false)
        }
        2 => {
            let a = pick(rng, max);
            let b = (a + rng.u32(0..4)).min(max - 1);
            (format!("{a}-{b}"), (a..=b).collect(), false)
        }
        3 => {
            let step = [2, 3, 5, 7, 10, 15][rng.usize(0..6)].min(max - 1).max(2);
            (
                format!("*/{step}"),
                (0..max).step_by(step as usize).collect(),
                true,
            )
        }
        _ => ("*".to_owned(), (0..max).collect(), true),
    }
}

fn generate(rng: &mut fastrand::Rng) -> Generated {
    // Minutes are never every minute: the brute force stays quick.
    let (minute_text, minutes, _) = field(rng, 60, false);
    let (hour_text, hours, real_time) = field(rng, 24, true);
    let (day_text, days) = if rng.u8(0..5) == 0 {
        let d = rng.u32(1..29);
        (d.to_string(), Some(vec![d]))
    } else {
        ("*".to_owned(), None)
    };
    let (month_text, months) = if rng.u8(0..4) == 0 {
        let (a, b) = (rng.u32(1..13), rng.u32(1..13));
        let mut set = vec![a, b];
        set.sort_unstable();
        set.dedup();
        (format!("{a},{b}"), set)
    } else {
        ("*".to_owned(), (1..13).collect())
    };
    let (weekday_text, weekdays) = if rng.u8(0..4) == 0 {
        let a = rng.u32(0..6);
        let b = rng.u32(a..7);
        (format!("{a}-{b}"), Some((a..=b).collect()))
    } else {
        ("*".to_owned(), None)
    };
    Generated {
        text: format!("{minute_text} {hour_text} {day_text} {month_text} {weekday_text}"),
        minutes,
        hours,
        days,
        months,
        weekdays,
        real_time,
    }
}

impl Generated {
    fn day_matches(&self, date: chrono::NaiveDate) -> bool {
        use chrono::Datelike;
        if !self.months.contains(&date.month()) {
            return false;
        }
        let weekday = date.weekday().num_days_from_sunday();
        // Vixie cron: with both day fields restricted, either may match.
        match (&self.days, &self.weekdays) {
            (None, None) => true,
            (Some(days), None) => days.contains(&date.day()),
            (None, Some(weekdays)) => weekdays.contains(&weekday),
            (Some(days), Some(weekdays)) => {
                days.contains(&date.day()) || weekdays.contains(&weekday)
            }
        }
    }
}

fn offset_of(tz: Tz, at: DateTime<Utc>) -> i64 {
    use chrono::Offset;
    i64::from(
        tz.offset_from_utc_datetime(&at.naive_utc())
            .fix()
            .local_minus_utc(),
    )
}

/// The fire times by brute force: every matching wall-clock time of each
/// day, mapped to the instants whose local time it is (found from UTC, the
/// zone's one unambiguous direction), then the rule applied.
fn brute_force(
    g: &Generated,
    tz: Tz,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Vec<DateTime<Utc>> {
    let mut fires = std::collections::BTreeSet::new();
    let mut date = (start - chrono::Duration::days(2)).date_naive();
    while date <= (end + chrono::Duration::days(2)).date_naive() {
        if g.day_matches(date) {
            let noon =
                DateTime::from_naive_utc_and_offset(date.and_hms_opt(12, 0, 0).unwrap(), Utc);
            let offsets: std::collections::BTreeSet<i64> = (-40..=40)
                .map(|h| offset_of(tz, noon + chrono::Duration::hours(h)))
                .collect();
            for &hour in &g.hours {
                for &minute in &g.minutes {
                    let civil = date.and_hms_opt(hour, minute, 0).unwrap();
                    let civil_utc = DateTime::from_naive_utc_and_offset(civil, Utc);
                    let occurrences: Vec<DateTime<Utc>> = offsets
                        .iter()
                        .map(|o| civil_utc - chrono::Duration::seconds(*o))
                        .filter(|u| civil_utc - chrono::Duration::seconds(offset_of(tz, *u)) == *u)
                        .collect();
                    let mut sorted = occurrences.clone();
                    sorted.sort();
                    sorted.dedup();
                    if g.real_time {
                        fires.extend(sorted);
                    } else if let Some(first) = sorted.first() {
                        fires.insert(*first);
                    } else {
                        // In a gap: the first instant whose local time is past it.
                        let lowest = *offsets.iter().next_back().unwrap();
                        let mut u = civil_utc - chrono::Duration::seconds(lowest);
                        while u + chrono::Duration::seconds(offset_of(tz, u)) <= civil_utc {
                            u += chrono::Duration::minutes(1);
                        }
                        fires.insert(u);
                    }
                }
            }
        }
        date = date.succ_opt().unwrap();
    }
    fires
        .into_iter()
        .filter(|u| *u > start && *u <= end)
        .collect()
}

#[test]
fn fire_times_match_a_brute_force_over_two_years_in_five_zones() {
    let zones = [
        "Europe/Berlin",
        "America/New_York",
        "Australia/Lord_Howe",
        "Asia/Kathmandu",
        "America/Santiago",
    ];
    let mut rng = fastrand::Rng::with_seed(20261203);
    let (start, end) = (utc(2025, 1, 1, 0, 0), utc(2027, 1, 1, 0, 0));
    for round in 0..300 {
        let g = generate(&mut rng);
        let tz_name = zones[round % zones.len()];
        let tz: Tz = zone(tz_name).unwrap();
        let expected = brute_force(&g, tz, start, end);
        let actual = fires_until(&g.text, tz_name, start, end);
        assert_eq!(actual.len(), expected.len(), "{} in {tz_name}", g.text);
        if let Some((a, e)) = actual.iter().zip(&expected).find(|(a, e)| a != e) {
            panic!("{} in {tz_name}: fired {a}, brute force says {e}", g.text);
        }
    }
}
