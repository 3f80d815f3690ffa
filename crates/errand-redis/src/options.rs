//! [`RedisOptions`]: how a [`RedisStore`](crate::RedisStore) names its keys and connects.

use std::time::Duration;

use errand_core::{Error, Result};

/// The key prefix used unless [`RedisOptions::prefix`] says otherwise.
pub const DEFAULT_PREFIX: &str = "{errand}";

/// How a [`RedisStore`](crate::RedisStore) names its keys and whether it listens for wake-ups.
#[derive(Debug, Clone)]
pub struct RedisOptions {
    /// Prefix of every key of the store. It must contain a hash tag such as
    /// `{errand}` so that all keys map to one Redis Cluster slot, and must not
    /// contain glob characters (`*?[]\`) or whitespace.
    pub prefix: String,
    /// Subscribe to wake-up messages (default true). Without it, workers in
    /// other processes notice new jobs at their poll interval.
    pub listen: bool,
    /// Longest wait for the server to accept a connection (default 10 s, at
    /// most an hour). A refused connection is reported at once.
    pub connect_timeout: Duration,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            prefix: DEFAULT_PREFIX.to_owned(),
            listen: true,
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// Checks a key prefix: printable, no glob characters, with a hash tag.
pub(crate) fn validate_prefix(prefix: &str) -> Result<()> {
    let bad = |reason: &str| Err(Error::invalid("prefix", prefix, reason));
    if prefix.is_empty() || prefix.len() > 100 {
        return bad("must be 1 to 100 bytes long");
    }
    if prefix
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || "*?[]\\".contains(c))
    {
        return bad("must not contain whitespace, control or glob characters (*?[]\\)");
    }
    let tagged = prefix
        .find('{')
        .and_then(|open| prefix[open + 1..].find('}').map(|len| len > 0))
        .unwrap_or(false);
    if !tagged {
        return bad(
            "must contain a non-empty hash tag such as {errand}, so that every key of the store lands in one Redis Cluster slot",
        );
    }
    Ok(())
}
