//! Checks shared by every entry point (library, CLI, HTTP API) and every store,
//! so that bad input gets the same clear error wherever it comes in, and the
//! documented maximum of every number and duration a user can set.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use crate::{Error, Result, Unique, UniqueScope};

/// Longest kind name accepted.
pub const MAX_KIND_LEN: usize = 128;
/// Longest queue name accepted.
pub const MAX_QUEUE_LEN: usize = 64;
/// Longest tenant accepted.
pub const MAX_TENANT_LEN: usize = 128;
/// Longest unique key accepted.
pub const MAX_UNIQUE_KEY_LEN: usize = 512;
/// Default largest serialized input: 1 MiB.
pub const DEFAULT_MAX_INPUT_BYTES: usize = 1024 * 1024;
/// Largest input size a client may allow: 64 MiB.
pub const MAX_INPUT_BYTES: usize = 64 * 1024 * 1024;
/// Most attempts a job may be given: what a 32-bit signed column holds.
pub const MAX_ATTEMPTS: u32 = i32::MAX as u32;
/// Most jobs one worker may run at once.
pub const MAX_CONCURRENCY: usize = 100_000;
/// Most jobs one claim may take.
pub const MAX_CLAIM_BATCH: usize = 1_000;
/// Highest cluster-wide limit of a kind.
pub const MAX_GLOBAL_LIMIT: u32 = 1_000_000;
/// Shortest lease.
pub const MIN_LEASE: Duration = Duration::from_millis(300);
/// Longest lease: leases are renewed while a job runs, so a long job never
/// needs one longer; a long lease only delays the rescue of a dead worker's jobs.
pub const MAX_LEASE: Duration = Duration::from_secs(24 * 3600);
/// Longest shutdown timeout, poll interval or rescue interval.
pub const MAX_WORKER_INTERVAL: Duration = Duration::from_secs(24 * 3600);
/// Earliest time a job may be due or a store may hold: the Unix epoch.
pub const EARLIEST_MICROS: i64 = 0;
/// Latest time a job may be due, as Unix microseconds (2199-12-31T23:59:59.999999Z):
/// every store holds times up to it exactly (Redis keeps them in sorted-set
/// scores, doubles that are exact to the microsecond until the year 2255).
pub const LATEST_MICROS: i64 = 7_258_118_399_999_999;

/// The latest time a job may be due: 2199-12-31T23:59:59.999999Z.
pub fn latest_time() -> DateTime<Utc> {
    DateTime::from_timestamp_micros(LATEST_MICROS).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The earliest time a job may be due: 1970-01-01T00:00:00Z.
pub fn earliest_time() -> DateTime<Utc> {
    DateTime::UNIX_EPOCH
}

/// A time named `field` within [`earliest_time`] ..= [`latest_time`].
pub fn time(field: &str, at: DateTime<Utc>) -> Result<()> {
    let us = at.timestamp_micros();
    if !(EARLIEST_MICROS..=LATEST_MICROS).contains(&us) {
        return Err(Error::invalid(
            field,
            at.to_rfc3339(),
            "must be between 1970-01-01T00:00:00Z and 2199-12-31T23:59:59.999999Z",
        ));
    }
    Ok(())
}

/// `now + delay` for a delay named `field`, refused (naming the field and the
/// delay) when the time it gives is past [`latest_time`].
pub fn after(field: &str, now: DateTime<Utc>, delay: Duration) -> Result<DateTime<Utc>> {
    let at = TimeDelta::from_std(delay)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .filter(|at| at.timestamp_micros() <= LATEST_MICROS);
    at.ok_or_else(|| {
        Error::invalid(
            field,
            format!("{delay:?}"),
            "is too long: a job may be due at 2199-12-31T23:59:59.999999Z at the latest",
        )
    })
}

/// `now - age`, the cutoff of a retention named `field`, refused (naming
/// the field and the age) when it would fall before the earliest time.
pub fn before(field: &str, now: DateTime<Utc>, age: Duration) -> Result<DateTime<Utc>> {
    TimeDelta::from_std(age)
        .ok()
        .and_then(|d| now.checked_sub_signed(d))
        .ok_or_else(|| Error::invalid(field, format!("{age:?}"), "is too long"))
}

/// `now + delay`, or [`latest_time`] when that is later: for delays the
/// runtime computes (a backoff, a snooze), which never fail a job.
pub fn saturating_after(now: DateTime<Utc>, delay: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(delay)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .map_or_else(latest_time, |at| at.min(latest_time()))
}

/// A duration named `field` within `min ..= max`.
pub fn duration(field: &str, value: Duration, min: Duration, max: Duration) -> Result<()> {
    if value < min || value > max {
        return Err(Error::invalid(
            field,
            format!("{value:?}"),
            format!("must be between {min:?} and {max:?}"),
        ));
    }
    Ok(())
}

fn name(field: &str, value: &str, max: usize) -> Result<()> {
    if value.is_empty() {
        return Err(Error::invalid(field, value, "must not be empty"));
    }
    if value.len() > max {
        return Err(Error::invalid(
            field,
            value,
            format!("must be at most {max} bytes"),
        ));
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '/'))
    {
        return Err(Error::invalid(
            field,
            value,
            "may contain only ASCII letters, digits and _ - . : /",
        ));
    }
    Ok(())
}

/// `url` with the password of its user info replaced by `***`, for messages.
pub fn redact_url(url: &str) -> String {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[start..];
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    match authority.rfind('@').and_then(|at| {
        let user_info = &authority[..at];
        user_info.find(':').map(|colon| (colon, at))
    }) {
        Some((colon, at)) => format!(
            "{}{}:***{}",
            &url[..start],
            &authority[..colon],
            &url[start + at..]
        ),
        None => url.to_owned(),
    }
}

/// Checks that a database URL names one of `schemes` (`postgres`,
/// `postgresql`, ...) before a store tries to connect to it.
pub fn url_scheme(url: &str, schemes: &[&str]) -> Result<()> {
    let scheme = url.split_once(':').map(|(s, _)| s);
    match scheme {
        Some(scheme) if schemes.iter().any(|s| s.eq_ignore_ascii_case(scheme)) => Ok(()),
        _ => Err(Error::invalid(
            "database_url",
            redact_url(url),
            format!(
                "this store takes {} URLs",
                schemes
                    .iter()
                    .map(|s| format!("{s}://"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        )),
    }
}

/// A job kind: 1 to 128 bytes of letters, digits and `_ - . : /`.
pub fn kind(kind: &str) -> Result<()> {
    name("kind", kind, MAX_KIND_LEN)
}

/// A queue name: 1 to 64 bytes of letters, digits and `_ - . : /`.
pub fn queue(queue: &str) -> Result<()> {
    name("queue", queue, MAX_QUEUE_LEN)
}

/// A tenant: 1 to 128 bytes of letters, digits and `_ - . : /`.
pub fn tenant(tenant: &str) -> Result<()> {
    tenant_in("tenant", tenant)
}

/// A tenant name given in `field` (a page's `after`, say), checked as
/// [`tenant`] checks one.
pub fn tenant_in(field: &str, tenant: &str) -> Result<()> {
    name(field, tenant, MAX_TENANT_LEN)
}

/// A cron entry's name: 1 to 128 bytes of letters, digits and `_ - . : /`.
pub fn cron_name(name: &str) -> Result<()> {
    self::name("name", name, 128)
}

/// A note (on a disabled cron entry, a pause): at most 1,000 bytes
/// without control characters other than line breaks.
pub fn note(note: &str) -> Result<()> {
    if note.len() > 1000 || note.chars().any(|c| c.is_control() && c != '\n') {
        return Err(Error::invalid(
            "note",
            note.escape_debug(),
            "must be at most 1,000 bytes without control characters other than line breaks",
        ));
    }
    Ok(())
}

/// Text searched for in jobs' errors: 1 to 200 bytes without control
/// characters.
pub fn error_text(text: &str) -> Result<()> {
    if text.is_empty() || text.len() > 200 || text.chars().any(char::is_control) {
        return Err(Error::invalid(
            "error_contains",
            text.escape_debug(),
            "must be 1 to 200 bytes without control characters",
        ));
    }
    Ok(())
}

/// A worker's name: 1 to 128 bytes without control characters.
pub fn worker_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 128 || name.chars().any(char::is_control) {
        return Err(Error::invalid(
            "name",
            name.escape_debug(),
            "must be 1 to 128 bytes without control characters",
        ));
    }
    Ok(())
}

/// An attempt limit: 1 to [`MAX_ATTEMPTS`].
pub fn max_attempts(n: u32) -> Result<()> {
    if n == 0 || n > MAX_ATTEMPTS {
        return Err(Error::invalid(
            "max_attempts",
            n,
            format!("must be between 1 and {MAX_ATTEMPTS}"),
        ));
    }
    Ok(())
}

/// A concurrency or size limit named `field`: 1 to `max`.
pub fn limit(field: &str, n: usize, max: usize) -> Result<()> {
    if n == 0 || n > max {
        return Err(Error::invalid(
            field,
            n,
            format!("must be between 1 and {max}"),
        ));
    }
    Ok(())
}

/// A page or chunk size named `field`: 1 to `max`.
pub fn page_limit(field: &str, n: u32, max: u32) -> Result<()> {
    limit(
        field,
        usize::try_from(n).unwrap_or(usize::MAX),
        max as usize,
    )
}

/// A unique key: non-empty, bounded, no NUL, and a non-zero period.
pub fn unique(unique: &Unique) -> Result<()> {
    if unique.key.is_empty() {
        return Err(Error::invalid(
            "unique_key",
            &unique.key,
            "must not be empty",
        ));
    }
    if unique.key.len() > MAX_UNIQUE_KEY_LEN {
        return Err(Error::invalid(
            "unique_key",
            &unique.key,
            format!("must be at most {MAX_UNIQUE_KEY_LEN} bytes"),
        ));
    }
    crate::json::check_text("unique_key", &unique.key)?;
    if let UniqueScope::Period(period) = unique.scope
        && period.is_zero()
    {
        return Err(Error::invalid(
            "unique_period",
            "0s",
            "must be longer than zero",
        ));
    }
    Ok(())
}

/// A metadata entry: a non-empty key of at most 128 bytes, a value of at
/// most 4 KiB, neither with a NUL character.
pub fn meta_entry(key: &str, value: &str) -> Result<()> {
    if key.is_empty() || key.len() > 128 {
        return Err(Error::invalid("meta key", key, "must be 1 to 128 bytes"));
    }
    crate::json::check_text("meta key", key)?;
    crate::json::check_text(&format!("meta[{key}]"), value)?;
    if value.len() > 4096 {
        return Err(Error::invalid(
            format!("meta[{key}]"),
            value,
            "must be at most 4096 bytes",
        ));
    }
    Ok(())
}

/// The serialized input must fit in `max` bytes.
pub fn input_size(input: &serde_json::Value, max: usize) -> Result<()> {
    let len = serde_json::to_vec(input)
        .map(|v| v.len())
        .unwrap_or(usize::MAX);
    if len > max {
        return Err(Error::invalid(
            "input",
            format!("{len} bytes"),
            format!("must be at most {max} bytes"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(r: Result<()>) -> String {
        r.err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn names_are_checked_with_field_and_value() {
        assert!(kind("send_email").is_ok());
        assert!(queue("high").is_ok());
        let m = message(queue(""));
        assert!(m.contains("queue") && m.contains("empty"), "{m}");
        let m = message(kind("send email"));
        assert!(m.contains("kind") && m.contains("send email"), "{m}");
        let long = "q".repeat(65);
        assert!(message(queue(&long)).contains("at most 64"));
    }

    #[test]
    fn times_and_delays_stay_within_what_every_store_holds() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        assert!(time("run_at", now).is_ok());
        assert!(time("run_at", latest_time()).is_ok());
        let m = message(time("run_at", DateTime::<Utc>::MAX_UTC));
        assert!(m.contains("run_at") && m.contains("2199"), "{m}");
        assert!(message(time("run_at", DateTime::<Utc>::MIN_UTC)).contains("1970"));
        let years = Duration::from_secs(300_000 * 365 * 24 * 3600);
        let m = message(after("delay", now, years).map(|_| ()));
        assert!(m.contains("delay") && m.contains("too long"), "{m}");
        assert!(after("delay", now, Duration::MAX).is_err());
        assert_eq!(saturating_after(now, Duration::MAX), latest_time());
        assert_eq!(
            saturating_after(now, Duration::from_secs(5)),
            now + TimeDelta::seconds(5)
        );
        let m = message(duration("lease", Duration::MAX, MIN_LEASE, MAX_LEASE));
        assert!(m.contains("lease") && m.contains("between"), "{m}");
    }

    #[test]
    fn urls_lose_their_password_and_keep_their_scheme() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/app?sslmode=require"),
            "postgres://app:***@db:5432/app?sslmode=require"
        );
        assert_eq!(
            redact_url("redis://:pw@127.0.0.1:1"),
            "redis://:***@127.0.0.1:1"
        );
        assert_eq!(
            redact_url("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
        assert_eq!(redact_url("sqlite://jobs.db"), "sqlite://jobs.db");
        assert!(url_scheme("postgresql://x/db", &["postgres", "postgresql"]).is_ok());
        let m = message(url_scheme("mysql://u:pw@x/db", &["postgres", "postgresql"]));
        assert!(
            m.contains("database_url")
                && m.contains("mysql://u:***@x/db")
                && m.contains("postgres://"),
            "{m}"
        );
        assert!(url_scheme("jobs.db", &["sqlite"]).is_err());
    }

    #[test]
    fn limits_and_sizes() {
        assert!(message(max_attempts(0)).contains("max_attempts"));
        assert!(message(limit("concurrency", 0, 10)).contains("concurrency"));
        assert!(message(limit("concurrency", 11, 10)).contains("between 1 and 10"));
        assert!(message(max_attempts(u32::MAX)).contains("2147483647"));
        let big = serde_json::Value::String("x".repeat(100));
        assert!(message(input_size(&big, 10)).contains("input"));
        assert!(input_size(&big, 1000).is_ok());
        let zero = Unique::period("k", std::time::Duration::ZERO);
        assert!(message(unique(&zero)).contains("unique_period"));
    }
}
