//! When a cron entry fires: cron expressions in a time zone, `@every`
//! periods anchored at the Unix epoch, and schedules written in Rust.
//!
//! Daylight saving follows one rule:
//! - an entry whose hour field is `*` or a step (`*/2`, `1-23/3`, `@hourly`)
//!   fires on every instant of real time whose wall-clock time matches:
//!   every 15 minutes stays every 15 minutes through both changes;
//! - any other entry is a wall-clock appointment: a time that does not exist
//!   that day fires once, at the first instant after the gap; a time that
//!   occurs twice fires once, at its first occurrence.
//!
//! No instant fires twice either way.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, LocalResult, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

use crate::validate;
use crate::{Error, Result};

/// A schedule written in Rust, for entries defined in code: the next fire
/// time strictly after a given instant, or `None` when it never fires again.
pub trait CustomSchedule: Send + Sync + fmt::Debug + 'static {
    /// The first fire time strictly after `after`.
    fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>>;

    /// How the schedule is shown (lists, the CLI, the dashboard).
    fn describe(&self) -> String;
}

/// When an entry fires.
#[derive(Clone)]
pub enum Schedule {
    /// A cron expression, read in the entry's time zone.
    Cron(Box<CronExpr>),
    /// `@every <duration>`: at every whole multiple of the period since the
    /// Unix epoch, so every scheduler agrees on the fire times.
    Every(Duration),
    /// A schedule written in Rust (entries defined in code only).
    Custom(Arc<dyn CustomSchedule>),
}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Schedule::Custom(a), Schedule::Custom(b)) => Arc::ptr_eq(a, b),
            _ => self.describe() == other.describe(),
        }
    }
}

/// A parsed cron expression.
#[derive(Clone)]
pub struct CronExpr {
    text: String,
    cron: Cron,
    /// False when the hour field is `*` or a step: such entries follow real
    /// time through clock changes instead of the wall clock.
    wall_clock: bool,
}

impl fmt::Debug for CronExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The longest `@every` period: a year of seconds.
const MAX_PERIOD: Duration = Duration::from_secs(366 * 24 * 3600);

/// Scans of civil matches for one fire time before giving up; a valid
/// expression needs a few (clock changes), an impossible date (`0 0 30 2 *`)
/// runs out.
const MAX_STEPS: usize = 10_000;

impl Schedule {
    /// Parses a schedule: a cron expression of 5 fields (minute hour
    /// day-of-month month day-of-week) or 6 (seconds first), with names
    /// (`JAN`, `MON-FRI`), ranges, lists and steps; `@yearly`, `@annually`,
    /// `@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly`,
    /// `@minutely`; or `@every <duration>` (`@every 90s`, `@every 1h 30m`).
    ///
    /// ```
    /// use errand_core::cron::Schedule;
    /// assert!(Schedule::parse("*/15 9-17 * * MON-FRI").is_ok());
    /// assert!(Schedule::parse("@every 10m").is_ok());
    /// let err = Schedule::parse("61 * * * *").unwrap_err();
    /// assert!(err.to_string().contains("61 * * * *"));
    /// ```
    pub fn parse(text: &str) -> Result<Schedule> {
        let trimmed = text.trim();
        let lower = trimmed.to_ascii_lowercase();
        if let Some(period) = lower.strip_prefix("@every") {
            return Self::every(trimmed, period.trim());
        }
        let expression = match lower.as_str() {
            "@midnight" => "@daily",
            "@minutely" => "* * * * *",
            _ => trimmed,
        };
        let invalid = |reason: String| Error::invalid("schedule", text, reason);
        if expression.starts_with('@') && !Self::NICKNAMES.contains(&lower.as_str()) {
            return Err(invalid(format!(
                "unknown nickname; use one of {}, or @every <duration>",
                Self::NICKNAMES.join(" ")
            )));
        }
        let fields = expression.split_whitespace().count();
        if !expression.starts_with('@') && !(5..=6).contains(&fields) {
            return Err(invalid(format!(
                "a cron expression has 5 fields (minute hour day month weekday) or 6 (seconds first), not {fields}"
            )));
        }
        if !expression.starts_with('@') {
            check_names(expression, fields).map_err(invalid)?;
        }
        let cron = CronParser::builder()
            .seconds(Seconds::Optional)
            .year(Year::Disallowed)
            .build()
            .parse(expression)
            .map_err(|e| invalid(e.to_string()))?;
        let hours = &cron.pattern.hours;
        let wall_clock = !(hours.from_wildcard || hours.step != 1);
        let expr = CronExpr {
            text: trimmed.to_owned(),
            cron,
            wall_clock,
        };
        // An expression no date can satisfy (`0 0 31 2 *`) is refused now,
        // not discovered when the entry never fires.
        if expr
            .next_civil(validate::earliest_time().naive_utc())
            .is_none()
        {
            return Err(invalid("no date matches this expression".to_owned()));
        }
        Ok(Schedule::Cron(Box::new(expr)))
    }

    const NICKNAMES: [&'static str; 8] = [
        "@yearly",
        "@annually",
        "@monthly",
        "@weekly",
        "@daily",
        "@midnight",
        "@hourly",
        "@minutely",
    ];

    fn every(text: &str, period: &str) -> Result<Schedule> {
        let invalid = |reason: String| Error::invalid("schedule", text, reason);
        let parsed = humantime::parse_duration(period).map_err(|e| {
            invalid(format!(
                "@every needs a duration such as 90s or 1h 30m: {e}"
            ))
        })?;
        if parsed.subsec_nanos() != 0 || parsed < Duration::from_secs(1) || parsed > MAX_PERIOD {
            return Err(invalid(
                "the period of @every is whole seconds, from 1s to 366 days".to_owned(),
            ));
        }
        Ok(Schedule::Every(parsed))
    }

    /// A schedule written in Rust.
    pub fn custom(schedule: impl CustomSchedule) -> Schedule {
        Schedule::Custom(Arc::new(schedule))
    }

    /// The text the schedule was parsed from (or the custom schedule's
    /// description).
    pub fn describe(&self) -> String {
        match self {
            Schedule::Cron(expr) => expr.text.clone(),
            Schedule::Every(period) => {
                format!("@every {}", humantime::format_duration(*period))
            }
            Schedule::Custom(custom) => custom.describe(),
        }
    }

    /// True for a schedule written in Rust, which only code can define.
    pub fn is_custom(&self) -> bool {
        matches!(self, Schedule::Custom(_))
    }

    /// The first fire time strictly after `after`, read in `zone`; `None`
    /// when there is none before the latest time errand stores.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use errand_core::cron::Schedule;
    /// let nightly = Schedule::parse("30 2 * * *").unwrap();
    /// let berlin: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
    /// // 02:30 does not exist on 2026-03-29 in Berlin: the entry fires at
    /// // 03:00 local time, the first instant after the gap.
    /// let after = Utc.with_ymd_and_hms(2026, 3, 28, 12, 0, 0).unwrap();
    /// let next = nightly.next_after(after, berlin).unwrap();
    /// assert_eq!(next, Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 0).unwrap());
    /// ```
    pub fn next_after(&self, after: DateTime<Utc>, zone: Tz) -> Option<DateTime<Utc>> {
        let next = match self {
            Schedule::Cron(expr) if expr.wall_clock => expr.next_wall_clock(after, zone),
            Schedule::Cron(expr) => expr.next_real_time(after, zone),
            Schedule::Every(period) => {
                let period = i64::try_from(period.as_secs()).ok()?.max(1);
                let next = after.timestamp().div_euclid(period).checked_add(1)? * period;
                DateTime::from_timestamp(next, 0)
            }
            Schedule::Custom(custom) => custom.next_after(after),
        }?;
        (next > after && next <= validate::latest_time()).then_some(next)
    }

    /// The next `count` fire times after `after`.
    pub fn next_fires(&self, after: DateTime<Utc>, zone: Tz, count: usize) -> Vec<DateTime<Utc>> {
        let mut fires = Vec::with_capacity(count.min(1000));
        let mut cursor = after;
        while fires.len() < count {
            let Some(next) = self.next_after(cursor, zone) else {
                break;
            };
            fires.push(next);
            cursor = next;
        }
        fires
    }
}

impl CronExpr {
    /// The first wall-clock time strictly after `civil` that matches.
    fn next_civil(&self, civil: NaiveDateTime) -> Option<NaiveDateTime> {
        self.cron.find_next_occurrence(&civil, false).ok()
    }

    /// Wall-clock appointments: each matching civil time maps to one instant
    /// (its first occurrence, or the end of the gap it falls in).
    fn next_wall_clock(&self, after: DateTime<Utc>, zone: Tz) -> Option<DateTime<Utc>> {
        let mut civil = after.with_timezone(&zone).naive_local();
        for _ in 0..MAX_STEPS {
            let matched = self.next_civil(civil)?;
            let instant = match zone.from_local_datetime(&matched) {
                LocalResult::Single(at) => at.with_timezone(&Utc),
                LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
                LocalResult::None => gap_end(zone, matched)?,
            };
            if instant > after {
                return Some(instant);
            }
            civil = matched;
        }
        None
    }

    /// Real-time entries: the first instant after `after` whose wall-clock
    /// time matches. Within a stretch of one UTC offset that is a plain
    /// search; a clock change restarts the search at its instant.
    fn next_real_time(&self, after: DateTime<Utc>, zone: Tz) -> Option<DateTime<Utc>> {
        let mut cursor = truncate_to_second(after);
        for _ in 0..MAX_STEPS {
            let offset = offset_at(zone, cursor + chrono::Duration::seconds(1));
            let civil = cursor.naive_utc() + offset;
            let matched = self.next_civil(civil)?;
            let instant = DateTime::from_naive_utc_and_offset(matched - offset, Utc);
            match first_change(zone, cursor, instant, offset) {
                None => return Some(instant),
                // The search's offset held only until `change`: go on from
                // there, the change's own instant included.
                Some(change) => cursor = change - chrono::Duration::seconds(1),
            }
        }
        None
    }
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// Month names belong to the month field and weekday names to the weekday
/// field; the parser would read `MON` in the minute field as 1.
fn check_names(expression: &str, fields: usize) -> std::result::Result<(), String> {
    let names = [
        "second",
        "minute",
        "hour",
        "day-of-month",
        "month",
        "day-of-week",
    ];
    let skip = 6 - fields;
    for (index, field) in expression.split_whitespace().enumerate() {
        let name = names[index + skip];
        let allowed: &[&str] = match name {
            "month" => &MONTHS,
            "day-of-week" => &WEEKDAYS,
            _ => &[],
        };
        let words = field
            .split(|c: char| !c.is_ascii_alphabetic())
            .filter(|word| word.len() >= 3);
        for word in words {
            if !allowed.iter().any(|n| n.eq_ignore_ascii_case(word)) {
                return Err(format!("{word:?} is not a value of the {name} field"));
            }
        }
    }
    Ok(())
}

fn truncate_to_second(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at)
}

fn offset_at(zone: Tz, at: DateTime<Utc>) -> chrono::Duration {
    let seconds = zone
        .offset_from_utc_datetime(&at.naive_utc())
        .fix()
        .local_minus_utc();
    chrono::Duration::seconds(i64::from(seconds))
}

/// The first instant in `(from, to]` whose UTC offset is not `offset`.
/// Offsets are sampled hourly (no zone keeps an offset for less than an
/// hour), then the change is found to the second.
fn first_change(
    zone: Tz,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    offset: chrono::Duration,
) -> Option<DateTime<Utc>> {
    let hour = chrono::Duration::hours(1);
    let mut low = from;
    loop {
        let high = (low + hour).min(to);
        if offset_at(zone, high) != offset {
            return Some(first_instant_where(low, high, |at| {
                offset_at(zone, at) != offset
            }));
        }
        if high >= to {
            return None;
        }
        low = high;
    }
}

/// The first instant in `(low, high]` (to the second) where `changed` holds,
/// given that it holds at `high` and, past its first instant, stays true.
fn first_instant_where(
    mut low: DateTime<Utc>,
    mut high: DateTime<Utc>,
    changed: impl Fn(DateTime<Utc>) -> bool,
) -> DateTime<Utc> {
    while (high - low).num_seconds() > 1 {
        let middle = low + (high - low) / 2;
        let middle = truncate_to_second(middle);
        if changed(middle) {
            high = middle;
        } else {
            low = middle;
        }
    }
    high
}

/// The first instant after the gap that swallows the civil time `civil`:
/// the instant of the clock change.
fn gap_end(zone: Tz, civil: NaiveDateTime) -> Option<DateTime<Utc>> {
    // A civil time before the gap (gaps last at most a day: Samoa 2011).
    let mut before = civil;
    let earlier = loop {
        before -= chrono::Duration::minutes(15);
        if civil - before > chrono::Duration::hours(48) {
            return None;
        }
        if let Some(at) = zone.from_local_datetime(&before).earliest() {
            break at;
        }
    };
    let offset_before = earlier.offset().fix().local_minus_utc();
    let offset_before = chrono::Duration::seconds(i64::from(offset_before));
    // Read with the offset from before the gap, `civil` lies past the change.
    let past = DateTime::from_naive_utc_and_offset(civil - offset_before, Utc);
    let start = earlier.with_timezone(&Utc);
    Some(first_instant_where(start, past, |at| {
        offset_at(zone, at) != offset_before
    }))
}

/// A time zone by its IANA name (`Europe/Berlin`, `UTC`).
///
/// ```
/// assert!(errand_core::cron::zone("Europe/Berlin").is_ok());
/// assert!(errand_core::cron::zone("Mars/Olympus").is_err());
/// ```
pub fn zone(name: &str) -> Result<Tz> {
    name.parse::<Tz>().map_err(|_| {
        Error::invalid(
            "time_zone",
            name,
            "not an IANA time zone name such as UTC or Europe/Berlin",
        )
    })
}
