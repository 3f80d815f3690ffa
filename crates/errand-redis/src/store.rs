use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use errand_core::{
    CancelOutcome, CancelParams, Capabilities, ClaimParams, DeleteParams, EnqueueParams, Enqueued,
    Error, FinalizeParams, GetParams, JobId, JobRow, JobState, LeaseStatus, ListParams, Outcome,
    RenewParams, RescueParams, RescueUnheldParams, Result, RetryParams, StateCount, Stats,
    StatsParams, Store, Wakeup, WakeupSender,
};
use futures::StreamExt;
use tokio::task::JoinHandle;

use crate::connection::{Connection, Target};
use crate::error::redis_error;
use crate::rows::{Claim, Fields, Running, SpecRef, micros};
use crate::scripts::Scripts;

/// The key prefix used unless [`RedisOptions::prefix`] says otherwise.
pub const DEFAULT_PREFIX: &str = "{errand}";

/// Jobs read per round trip when counting them for `stats`.
const STATS_PAGE: usize = 1000;

/// Longest pause between two tries of the wake-up listener to reconnect:
/// once the server is back, other processes' wake-ups arrive again within it
/// (the poll interval covers the gap).
const LISTEN_RETRY_MAX: Duration = Duration::from_secs(1);

/// Longest wait for an answer before the connection counts as lost.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);

/// How a [`RedisStore`] names its keys and whether it listens for wake-ups.
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
fn validate_prefix(prefix: &str) -> Result<()> {
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

/// Version of the key layout described in `scripts/prelude.lua`, kept at
/// `<prefix>:layout`. Bump it whenever keys or fields change meaning.
const LAYOUT: i64 = 2;

/// Marks a new store with [`LAYOUT`] and refuses one written in another
/// layout (a store of layout 1, before the key existed, has ids but no
/// layout key), rather than misreading its jobs.
async fn check_layout(conn: &mut impl redis::aio::ConnectionLike, prefix: &str) -> Result<()> {
    let layout_key = format!("{prefix}:layout");
    let (layout, has_jobs): (Option<i64>, bool) = redis::pipe()
        .get(&layout_key)
        .exists(format!("{prefix}:seq"))
        .query_async(conn)
        .await
        .map_err(redis_error)?;
    let found = match layout {
        Some(found) => found,
        None if has_jobs => 1,
        None => {
            let _: () = redis::cmd("SET")
                .arg(&layout_key)
                .arg(LAYOUT)
                .arg("NX")
                .query_async(conn)
                .await
                .map_err(redis_error)?;
            LAYOUT
        }
    };
    if found == LAYOUT {
        Ok(())
    } else {
        Err(Error::invalid(
            "prefix",
            prefix,
            format!(
                "its keys are in errand's Redis layout {found}, this version reads layout {LAYOUT}; drain the store with the version that wrote it, or use another prefix"
            ),
        ))
    }
}

/// errand's store on Redis or Valkey: every state change is one atomic Lua
/// script, so many worker processes can share one server.
///
/// ```no_run
/// # async fn demo() -> errand_core::Result<()> {
/// use errand_redis::{RedisOptions, RedisStore};
/// let store = RedisStore::connect_with(
///     "redis://127.0.0.1:6379",
///     RedisOptions { prefix: "{billing}".into(), ..RedisOptions::default() },
/// )
/// .await?;
/// # let _ = store; Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

struct Inner {
    conn: Connection,
    prefix: String,
    scripts: Scripts,
    wakeup: Arc<WakeupSender>,
    listener: Option<JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(listener) = &self.listener {
            listener.abort();
        }
    }
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.inner.prefix)
            .finish_non_exhaustive()
    }
}

/// Wakes this process's workers on every message of the store's channel but
/// the store's own (see [`WakeupSender::heard`]); resubscribes by itself
/// after the connection drops (and wakes the workers then too: jobs may have
/// come while it was away). In a cluster a PUBLISH reaches every node, so
/// any node serves; after a failure the next one is tried.
async fn listen(nodes: Vec<redis::Client>, channel: String, wakeup: Arc<WakeupSender>) {
    let mut pause = Duration::from_millis(100);
    let mut node = 0;
    loop {
        let client = &nodes[node % nodes.len()];
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => match pubsub.subscribe(&channel).await {
                Ok(()) => {
                    pause = Duration::from_millis(100);
                    wakeup.notify();
                    let mut messages = pubsub.on_message();
                    while let Some(message) = messages.next().await {
                        wakeup.heard(message.get_payload_bytes());
                    }
                    tracing::warn!("errand lost its Redis subscription; reconnecting");
                }
                Err(e) => tracing::warn!(error = %e, "errand could not subscribe to wake-ups"),
            },
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?pause, "errand could not connect for wake-ups");
            }
        }
        node += 1;
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(LISTEN_RETRY_MAX);
    }
}

fn json<T: serde::Serialize>(value: &T) -> Result<String> {
    Ok(serde_json::to_string(value)?)
}

fn parse<T: redis::FromRedisValue>(value: redis::Value, what: &str) -> Result<T> {
    redis::from_redis_value(value)
        .map_err(|e| Error::backend_msg(format!("unexpected reply to {what}: {e}")))
}

impl RedisStore {
    /// Connects to a `redis://` (or `rediss://`, `valkey://`) URL with the default prefix `{errand}`.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, RedisOptions::default()).await
    }

    /// Connects with explicit options. One connection is opened first, so
    /// that a refused or failed connection is reported at once, naming the
    /// server (the store's own connection would retry it).
    pub async fn connect_with(url: &str, options: RedisOptions) -> Result<Self> {
        validate_prefix(&options.prefix)?;
        errand_core::validate::duration(
            "connect_timeout",
            options.connect_timeout,
            Duration::from_millis(1),
            Duration::from_secs(3600),
        )?;
        errand_core::validate::url_scheme(
            url,
            &[
                "redis",
                "rediss",
                "valkey",
                "valkeys",
                "redis+unix",
                "unix",
                "redis+cluster",
                "rediss+cluster",
            ],
        )?;
        let shown = errand_core::validate::redact_url(url);
        let target = Target::parse(url)?;
        let nodes = target
            .nodes()
            .iter()
            .map(|node| redis::Client::open(node.as_str()))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::invalid("database_url", &shown, e.to_string()))?;
        let cannot =
            |e: redis::RedisError| redis_error(e).context(format!("cannot connect to {shown}"));
        let first = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(options.connect_timeout))
            .set_response_timeout(Some(options.connect_timeout));
        match &target {
            Target::Single(_) => {
                let mut probe = nodes[0]
                    .get_multiplexed_async_connection_with_config(&first)
                    .await
                    .map_err(cannot)?;
                check_layout(&mut probe, &options.prefix)
                    .await
                    .map_err(|e| e.context(format!("at {shown}")))?;
            }
            Target::Cluster(_) => {
                // The cluster connection reaches the seeds once, at once.
                let mut probe = tokio::time::timeout(
                    options.connect_timeout,
                    Connection::open(&target, options.connect_timeout, options.connect_timeout),
                )
                .await
                .map_err(|_| Error::Unavailable {
                    message: format!(
                        "cannot connect to {shown}: no answer within {:?} (RedisOptions::connect_timeout)",
                        options.connect_timeout
                    ),
                    source: None,
                })?
                .map_err(cannot)?;
                check_layout(&mut probe, &options.prefix)
                    .await
                    .map_err(|e| e.context(format!("at {shown}")))?;
            }
        }
        // A bulk enqueue of many thousand jobs is one script that may run for
        // a second or more on a busy server: answers may take that long.
        let conn = Connection::open(&target, options.connect_timeout, RESPONSE_TIMEOUT)
            .await
            .map_err(cannot)?;
        let wakeup = Arc::new(WakeupSender::default());
        let listener = options.listen.then(|| {
            tokio::spawn(listen(
                nodes,
                format!("{}:wake", options.prefix),
                Arc::clone(&wakeup),
            ))
        });
        Ok(RedisStore {
            inner: Arc::new(Inner {
                conn,
                prefix: options.prefix,
                scripts: Scripts::new(),
                wakeup,
                listener,
            }),
        })
    }

    /// The key prefix of this store.
    pub fn prefix(&self) -> &str {
        &self.inner.prefix
    }

    /// Deletes every key under this store's prefix: for tests and benchmarks
    /// that made a store of their own. Returns how many keys went.
    pub async fn clear(&self) -> Result<u64> {
        let mut conn = self.inner.conn.clone();
        if conn.is_cluster() {
            return self.clear_slot(&mut conn).await;
        }
        let pattern = format!("{}:*", self.inner.prefix);
        let mut cursor: u64 = 0;
        let mut deleted = 0;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut conn)
                .await
                .map_err(redis_error)?;
            if !keys.is_empty() {
                let n: u64 = redis::cmd("UNLINK")
                    .arg(&keys)
                    .query_async(&mut conn)
                    .await
                    .map_err(redis_error)?;
                deleted += n;
            }
            if next == 0 {
                return Ok(deleted);
            }
            cursor = next;
        }
    }

    /// `clear` in a cluster: a SCAN would visit one random node, but every
    /// key of the store is in the slot of its hash tag, on one node.
    async fn clear_slot(&self, conn: &mut Connection) -> Result<u64> {
        let jobs = self.key("jobs");
        let slot: u16 = redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(&jobs)
            .query_async(conn)
            .await
            .map_err(redis_error)?;
        let prefix = format!("{}:", self.inner.prefix);
        let mut deleted = 0;
        loop {
            let mut list = redis::cmd("CLUSTER");
            list.arg("GETKEYSINSLOT").arg(slot).arg(1000);
            let keys: Vec<String> =
                redis::from_redis_value(conn.on_slot(slot, list).await.map_err(redis_error)?)
                    .map_err(|e| {
                        Error::backend_msg(format!(
                            "unexpected reply to CLUSTER GETKEYSINSLOT: {e}"
                        ))
                    })?;
            // Other stores may share the slot (same hash tag): only ours go.
            let ours: Vec<&String> = keys.iter().filter(|k| k.starts_with(&prefix)).collect();
            if ours.is_empty() {
                return Ok(deleted);
            }
            for key in ours {
                let n: u64 = redis::cmd("UNLINK")
                    .arg(key)
                    .query_async(conn)
                    .await
                    .map_err(redis_error)?;
                deleted += n;
            }
        }
    }

    fn key(&self, name: &str) -> String {
        format!("{}:{name}", self.inner.prefix)
    }

    fn invocation<'a>(&'a self, script: &'a redis::Script) -> redis::ScriptInvocation<'a> {
        let mut invocation = script.prepare_invoke();
        invocation
            .key(self.key("jobs"))
            .arg(&self.inner.prefix)
            .arg(self.inner.wakeup.origin());
        invocation
    }

    async fn run<T: redis::FromRedisValue>(
        &self,
        invocation: &redis::ScriptInvocation<'_>,
        what: &str,
    ) -> Result<T> {
        let mut conn = self.inner.conn.clone();
        let value: redis::Value = invocation
            .invoke_async(&mut conn)
            .await
            .map_err(redis_error)?;
        parse(value, what)
    }

    async fn rows(&self, ids: &[i64], now: DateTime<Utc>) -> Result<Vec<JobRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in ids {
            pipe.hgetall(self.key(&format!("job:{id}")))
                .hget(self.key("claims"), id)
                .zscore(self.key("running"), id)
                .sismember(self.key("cancel"), id);
        }
        let mut conn = self.inner.conn.clone();
        type Read = (HashMap<String, String>, Option<String>, Option<f64>, bool);
        let reads: Vec<Read> = pipe.query_async(&mut conn).await.map_err(redis_error)?;
        let mut rows = Vec::with_capacity(ids.len());
        for (id, (map, claim, lease, cancel)) in ids.iter().zip(reads) {
            // A job deleted since its id was read has an empty hash.
            if map.is_empty() {
                continue;
            }
            let running = claim
                .map(|record| -> Result<Running> {
                    Ok(Running {
                        claim: Claim::parse(*id, &record)?,
                        // Scores are whole microseconds, exact in an f64.
                        #[allow(clippy::cast_possible_truncation)]
                        lease_until: lease.map(|l| l as i64),
                        cancel_requested: cancel,
                    })
                })
                .transpose()?;
            rows.push(Fields::new(*id, map).into_row(now, running)?);
        }
        Ok(rows)
    }
}

#[async_trait]
impl Store for RedisStore {
    fn backend(&self) -> &'static str {
        "redis"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            transactional_enqueue: false,
            cross_process_wakeup: self.inner.listener.is_some(),
        }
    }

    async fn enqueue(&self, params: EnqueueParams) -> Result<Vec<Enqueued>> {
        for job in &params.jobs {
            job.validate(params.max_input_bytes)?;
        }
        if params.jobs.is_empty() {
            return Ok(Vec::new());
        }
        let now = micros(params.now);
        let mut invocation = self.invocation(&self.inner.scripts.enqueue);
        invocation.arg(now).arg(params.jobs.len());
        for job in &params.jobs {
            let (key, scope, until) = match &job.unique {
                None => ("", "", String::new()),
                Some(unique) => (
                    unique.key.as_str(),
                    unique.scope_name(),
                    unique
                        .held_until(params.now)?
                        .map(|t| micros(t).to_string())
                        .unwrap_or_default(),
                ),
            };
            invocation
                .arg(&job.kind)
                .arg(&job.queue)
                .arg(job.priority)
                .arg(job.tenant.as_deref().unwrap_or(""))
                .arg(job.max_attempts)
                .arg(micros(job.run_at.unwrap_or(params.now)))
                .arg(key)
                .arg(scope)
                .arg(until)
                .arg(json(&SpecRef::of(job, params.now))?);
        }
        let out: Vec<i64> = self.run(&invocation, "enqueue").await?;
        // Workers of this process need not wait for the message's round trip.
        self.inner.wakeup.notify();
        Ok(out
            .chunks(2)
            .map(|pair| Enqueued {
                id: JobId(pair[0]),
                duplicate: pair.get(1) == Some(&1),
            })
            .collect())
    }

    async fn claim(&self, params: ClaimParams) -> Result<Vec<JobRow>> {
        if params.limit == 0 || params.queues.is_empty() || params.kinds.is_empty() {
            return Ok(Vec::new());
        }
        let until = params.lease_until()?;
        let mut invocation = self.invocation(&self.inner.scripts.claim);
        invocation
            .arg(&params.worker)
            .arg(micros(params.now))
            .arg(micros(until))
            .arg(params.limit)
            .arg(params.queues.len());
        for queue in &params.queues {
            invocation
                .arg(&queue.name)
                .arg(queue.cap.map_or(-1, i64::from));
        }
        invocation.arg(params.kinds.len());
        for kind in &params.kinds {
            invocation
                .arg(&kind.kind)
                .arg(kind.cap.map_or(-1, i64::from))
                .arg(kind.global_limit.map_or(-1, i64::from));
        }
        let out: Vec<redis::Value> = self.run(&invocation, "claim").await?;
        let mut jobs = Vec::with_capacity(out.len() / 6);
        let mut items = out.into_iter();
        let claim = |attempt| Claim {
            attempt,
            started_at: micros(params.now),
            worker: params.worker.clone(),
        };
        let until = micros(until);
        while let (Some(id), Some(attempt)) = (items.next(), items.next()) {
            let id: i64 = parse(id, "claim")?;
            let mut map = HashMap::with_capacity(4);
            for field in ["spec", "errors", "max_attempts", "run_at"] {
                let value = items.next().ok_or_else(|| {
                    Error::backend_msg(format!("unexpected reply to claim: job {id} lacks {field}"))
                })?;
                map.insert(field.to_owned(), parse::<String>(value, "claim")?);
            }
            let running = Running {
                claim: claim(parse(attempt, "claim")?),
                lease_until: Some(until),
                cancel_requested: false,
            };
            jobs.push(Fields::new(id, map).into_row(params.now, Some(running))?);
        }
        Ok(jobs)
    }

    async fn finalize(&self, params: FinalizeParams) -> Result<Vec<bool>> {
        if params.items.is_empty() {
            return Ok(Vec::new());
        }
        let mut invocation = self.invocation(&self.inner.scripts.finalize);
        invocation
            .arg(&params.worker)
            .arg(micros(params.now))
            .arg(params.items.len());
        let mut wakes = false;
        for item in &params.items {
            let (outcome, a, b) = match &item.outcome {
                Outcome::Complete { output } => ("complete", json(output)?, String::new()),
                Outcome::Retry { run_at, error } => {
                    wakes |= *run_at <= params.now;
                    ("retry", micros(*run_at).to_string(), json(error)?)
                }
                Outcome::Fail { error } => ("fail", json(error)?, String::new()),
                Outcome::Cancel { error } => ("cancel", json(error)?, String::new()),
                Outcome::Snooze { run_at } => {
                    wakes |= *run_at <= params.now;
                    ("snooze", micros(*run_at).to_string(), String::new())
                }
                Outcome::Release => {
                    wakes = true;
                    ("snooze", micros(params.now).to_string(), String::new())
                }
            };
            invocation
                .arg(item.id.0)
                .arg(item.attempt)
                .arg(outcome)
                .arg(a)
                .arg(b);
        }
        invocation.arg(u8::from(params.frees_global_slots));
        let applied: Vec<i64> = self.run(&invocation, "finalize").await?;
        if wakes {
            self.inner.wakeup.notify();
        }
        Ok(applied.into_iter().map(|a| a == 1).collect())
    }

    async fn renew_leases(&self, params: RenewParams) -> Result<Vec<LeaseStatus>> {
        if params.jobs.is_empty() {
            return Ok(Vec::new());
        }
        let mut invocation = self.invocation(&self.inner.scripts.renew);
        invocation
            .arg(&params.worker)
            .arg(micros(params.lease_until))
            .arg(params.jobs.len());
        for (id, attempt) in &params.jobs {
            invocation.arg(id.0).arg(*attempt);
        }
        let out: Vec<i64> = self.run(&invocation, "renew").await?;
        Ok(params
            .jobs
            .iter()
            .zip(out.chunks(2))
            .map(|((id, _), status)| LeaseStatus {
                id: *id,
                held: status.first() == Some(&1),
                cancel_requested: status.get(1) == Some(&1),
            })
            .collect())
    }

    async fn rescue(&self, params: RescueParams) -> Result<Vec<JobId>> {
        let mut invocation = self.invocation(&self.inner.scripts.rescue);
        invocation
            .arg(micros(params.now))
            .arg(params.now.to_rfc3339_opts(SecondsFormat::Micros, true));
        let ids: Vec<i64> = self.run(&invocation, "rescue").await?;
        if !ids.is_empty() {
            self.inner.wakeup.notify();
        }
        Ok(ids.into_iter().map(JobId).collect())
    }

    async fn rescue_unheld(&self, params: RescueUnheldParams) -> Result<Vec<JobId>> {
        let mut invocation = self.invocation(&self.inner.scripts.rescue_unheld);
        invocation
            .arg(&params.worker)
            .arg(micros(params.claimed_before))
            .arg(micros(params.now))
            .arg(params.now.to_rfc3339_opts(SecondsFormat::Micros, true));
        for id in &params.held {
            invocation.arg(id.0);
        }
        let ids: Vec<i64> = self.run(&invocation, "rescue_unheld").await?;
        if !ids.is_empty() {
            self.inner.wakeup.notify();
        }
        Ok(ids.into_iter().map(JobId).collect())
    }

    async fn get(&self, params: GetParams) -> Result<Option<JobRow>> {
        Ok(self.rows(&[params.id.0], params.now).await?.pop())
    }

    async fn list(&self, params: ListParams) -> Result<Vec<JobRow>> {
        let limit = usize::try_from(params.limit).unwrap_or(usize::MAX);
        let mut found = Vec::new();
        // Newest first, a page of ids at a time, until enough rows match.
        let mut max = params
            .before_id
            .map_or_else(|| "+inf".to_owned(), |id| format!("({}", id.0));
        let mut conn = self.inner.conn.clone();
        while found.len() < limit {
            let ids: Vec<i64> = redis::cmd("ZRANGE")
                .arg(self.key("jobs"))
                .arg(&max)
                .arg("-inf")
                .arg("BYSCORE")
                .arg("REV")
                .arg("LIMIT")
                .arg(0)
                .arg(500)
                .query_async(&mut conn)
                .await
                .map_err(redis_error)?;
            let Some(last) = ids.last() else { break };
            max = format!("({last}");
            for row in self.rows(&ids, params.now).await? {
                let keep = params.kind.as_ref().is_none_or(|k| *k == row.kind)
                    && params.queue.as_ref().is_none_or(|q| *q == row.queue)
                    && params
                        .tenant
                        .as_ref()
                        .is_none_or(|t| row.tenant.as_ref() == Some(t))
                    && params.batch_id.is_none_or(|b| row.batch_id == Some(b))
                    && params
                        .unique_key
                        .as_ref()
                        .is_none_or(|u| row.unique_key.as_ref() == Some(u))
                    && params.state.is_none_or(|s| s == row.state);
                if keep && found.len() < limit {
                    found.push(row);
                }
            }
        }
        Ok(found)
    }

    async fn cancel(&self, params: CancelParams) -> Result<CancelOutcome> {
        if params.ids.is_empty() {
            return Ok(CancelOutcome::default());
        }
        let mut invocation = self.invocation(&self.inner.scripts.cancel);
        invocation.arg(micros(params.now));
        for id in &params.ids {
            invocation.arg(id.0);
        }
        type Reply = (Vec<i64>, Vec<i64>, Vec<i64>, Vec<String>, Vec<i64>);
        let (cancelled, requested, finished, states, missing): Reply =
            self.run(&invocation, "cancel").await?;
        let finished = finished
            .into_iter()
            .zip(states)
            .map(|(id, state)| {
                let state = JobState::of_stored(&state, params.now, 0, params.now)?;
                Ok((JobId(id), state))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(CancelOutcome {
            cancelled: cancelled.into_iter().map(JobId).collect(),
            requested: requested.into_iter().map(JobId).collect(),
            finished,
            missing: missing.into_iter().map(JobId).collect(),
        })
    }

    async fn retry(&self, params: RetryParams) -> Result<()> {
        let mut invocation = self.invocation(&self.inner.scripts.retry);
        invocation.arg(params.id.0).arg(micros(params.now));
        let reply: Vec<String> = self.run(&invocation, "retry").await?;
        match reply.iter().map(String::as_str).collect::<Vec<_>>()[..] {
            ["done"] => {
                self.inner.wakeup.notify();
                Ok(())
            }
            ["missing"] => params.check(None),
            ["taken"] => Err(params.key_taken()),
            ["state", stored, run_at, attempt] => {
                let run_at = run_at
                    .parse()
                    .ok()
                    .and_then(DateTime::from_timestamp_micros)
                    .ok_or_else(|| {
                        Error::backend_msg(format!(
                            "job {}: stored run_at {run_at:?} is unreadable",
                            params.id
                        ))
                    })?;
                let attempt = attempt.parse().unwrap_or(0);
                params.check(Some(JobState::of_stored(
                    stored, run_at, attempt, params.now,
                )?))
            }
            _ => Err(Error::backend_msg(format!(
                "unexpected reply to retry: {reply:?}"
            ))),
        }
    }

    async fn stats(&self, params: StatsParams) -> Result<Stats> {
        // Counted here from pages of short reads rather than in one script:
        // a script reading every job of a large store would hold the server
        // (and every worker) for the whole scan. The counts are a moment's
        // view, as on the other stores, give or take the jobs that change
        // state during the scan.
        let mut conn = self.inner.conn.clone();
        let running: HashSet<i64> = redis::cmd("HKEYS")
            .arg(self.key("claims"))
            .query_async(&mut conn)
            .await
            .map_err(redis_error)?;
        // Ordered by queue, then state name, as the other stores order them.
        let mut counts: BTreeMap<(String, &'static str), (JobState, u64)> = BTreeMap::new();
        let mut min = "-inf".to_owned();
        loop {
            let ids: Vec<i64> = redis::cmd("ZRANGE")
                .arg(self.key("jobs"))
                .arg(&min)
                .arg("+inf")
                .arg("BYSCORE")
                .arg("LIMIT")
                .arg(0)
                .arg(STATS_PAGE)
                .query_async(&mut conn)
                .await
                .map_err(redis_error)?;
            let Some(last) = ids.last() else { break };
            min = format!("({last}");
            let mut pipe = redis::pipe();
            for id in &ids {
                pipe.cmd("HMGET")
                    .arg(self.key(&format!("job:{id}")))
                    .arg(&["queue", "state", "run_at", "attempt", "tenant"]);
            }
            type Read = (
                Option<String>,
                Option<String>,
                Option<i64>,
                Option<u32>,
                Option<String>,
            );
            let reads: Vec<Read> = pipe.query_async(&mut conn).await.map_err(redis_error)?;
            for (id, (queue, state, run_at, attempt, tenant)) in ids.iter().zip(reads) {
                // A job deleted since its id was read has no fields.
                let (Some(queue), Some(state)) = (queue, state) else {
                    continue;
                };
                if params.tenant.is_some() && tenant != params.tenant {
                    continue;
                }
                let state = if running.contains(id) {
                    JobState::Running
                } else if state == "available" {
                    let run_at = run_at
                        .and_then(DateTime::from_timestamp_micros)
                        .unwrap_or(params.now);
                    JobState::of_waiting(run_at, attempt.unwrap_or(0), params.now)
                } else {
                    state.parse()?
                };
                counts
                    .entry((queue, state.as_str()))
                    .or_insert((state, 0))
                    .1 += 1;
            }
        }
        let counts = counts
            .into_iter()
            .map(|((queue, _), (state, count))| StateCount {
                queue,
                state,
                count,
            })
            .collect();
        Ok(Stats { counts })
    }

    async fn delete(&self, params: DeleteParams) -> Result<()> {
        let mut invocation = self.invocation(&self.inner.scripts.delete);
        invocation.arg(params.id.0);
        let done: i64 = self.run(&invocation, "delete").await?;
        match done {
            1 => Ok(()),
            0 => params.check(None),
            _ => params.check(Some(JobState::Running)),
        }
    }

    fn subscribe(&self) -> Wakeup {
        self.inner.wakeup.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::validate_prefix;

    #[test]
    fn prefixes_need_a_hash_tag_and_no_glob_characters() {
        assert!(validate_prefix("{errand}").is_ok());
        assert!(validate_prefix("app:{jobs}:v1").is_ok());
        for bad in [
            "",
            "errand",
            "{}",
            "{errand",
            "{err and}",
            "{errand}*",
            "a\nb{x}",
        ] {
            match validate_prefix(bad) {
                Ok(()) => panic!("{bad:?} was accepted"),
                Err(e) => assert!(e.to_string().contains("prefix"), "{bad:?}: {e}"),
            }
        }
    }
}
