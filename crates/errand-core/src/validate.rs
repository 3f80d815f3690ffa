//! Checks shared by every entry point (library, CLI, HTTP API) and every store,
//! so that bad input gets the same clear error wherever it comes in.

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
    name("tenant", tenant, MAX_TENANT_LEN)
}

/// An attempt limit: at least 1.
pub fn max_attempts(n: u32) -> Result<()> {
    if n == 0 {
        return Err(Error::invalid("max_attempts", n, "must be at least 1"));
    }
    Ok(())
}

/// A concurrency or size limit named `field`: at least 1.
pub fn limit(field: &str, n: usize) -> Result<()> {
    if n == 0 {
        return Err(Error::invalid(field, n, "must be at least 1"));
    }
    Ok(())
}

/// A unique key: non-empty, bounded, and a non-zero period.
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

/// A metadata entry: a non-empty key of at most 128 bytes, a value of at most 4 KiB.
pub fn meta_entry(key: &str, value: &str) -> Result<()> {
    if key.is_empty() || key.len() > 128 {
        return Err(Error::invalid("meta key", key, "must be 1 to 128 bytes"));
    }
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
    fn limits_and_sizes() {
        assert!(message(max_attempts(0)).contains("max_attempts"));
        assert!(message(limit("concurrency", 0)).contains("concurrency"));
        let big = serde_json::Value::String("x".repeat(100));
        assert!(message(input_size(&big, 10)).contains("input"));
        assert!(input_size(&big, 1000).is_ok());
        let zero = Unique::period("k", std::time::Duration::ZERO);
        assert!(message(unique(&zero)).contains("unique_period"));
    }
}
