//! Loop jobs: periodic work that every worker process runs in-process, not
//! stored (a keep-alive check, a cache refresh). For work that must happen
//! once per fire time across the cluster, use a cron entry.
//!
//! ```
//! use std::time::Duration;
//! use errand::loop_job::{LoopJob, LoopOptions};
//!
//! let options = LoopOptions::every(Duration::from_secs(30))
//!     .initial_delay(Duration::from_secs(5))
//!     .jitter(Duration::from_secs(2));
//! let ping = LoopJob::new("ping", options, |ctx| async move {
//!     println!("tick {}", ctx.tick);
//!     Ok::<(), std::io::Error>(())
//! });
//! assert_eq!(ping.name(), "ping");
//! ```

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use errand_core::{BoxError, CancellationToken, Error, Result, StateMap};
use futures::FutureExt;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

/// The shortest interval a loop job may have.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// The longest interval, initial delay or jitter (a year).
pub const MAX_DURATION: Duration = Duration::from_secs(366 * 24 * 3600);

/// A duration as configuration writes it: `"30s"`, `"5m"`, `"1h 30m"`, or a
/// number of seconds. Kept as written until validated, so that an error
/// quotes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DurationText {
    /// Seconds.
    Seconds(f64),
    /// Text that `humantime` reads.
    Text(String),
}

impl DurationText {
    fn parse(&self, field: &str) -> Result<Duration> {
        let bad = |reason: &str| Error::invalid(field, self, reason);
        match self {
            DurationText::Seconds(s) if *s < 0.0 => Err(bad("must not be negative")),
            DurationText::Seconds(s) => Duration::try_from_secs_f64(*s)
                .map_err(|_| bad("is not a number of seconds errand can wait")),
            DurationText::Text(t) if t.trim_start().starts_with('-') => {
                Err(bad("must not be negative"))
            }
            DurationText::Text(t) => humantime::parse_duration(t)
                .map_err(|e| bad(&format!("is not a duration such as 30s or 5m ({e})"))),
        }
    }
}

impl fmt::Display for DurationText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DurationText::Seconds(s) => write!(f, "{s}"),
            DurationText::Text(t) => f.write_str(t),
        }
    }
}

impl From<Duration> for DurationText {
    fn from(d: Duration) -> Self {
        DurationText::Text(humantime::format_duration(d).to_string())
    }
}

fn yes() -> bool {
    true
}

/// When a loop job runs: from code, or from a section of the application's
/// configuration (serde), where the section's other fields are the job's
/// own options (see [`LoopConfig`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoopOptions {
    /// Time between two ticks (at least 1 s).
    pub interval: DurationText,
    /// Time from the worker's start to the first tick (default none).
    #[serde(default)]
    pub initial_delay: Option<DurationText>,
    /// A tick is skipped while the previous run still goes (default true);
    /// false lets runs overlap.
    #[serde(default = "yes")]
    pub skip_if_running: bool,
    /// Each tick waits a random time up to this, so that processes started
    /// together do not all run at once (default none; less than the interval).
    #[serde(default)]
    pub jitter: Option<DurationText>,
}

/// [`LoopOptions`] checked: every duration read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Schedule {
    pub interval: Duration,
    pub initial_delay: Duration,
    pub skip_if_running: bool,
    pub jitter: Duration,
}

impl LoopOptions {
    /// Every `interval`, first at once, skipping ticks while a run goes.
    pub fn every(interval: Duration) -> Self {
        LoopOptions {
            interval: interval.into(),
            initial_delay: None,
            skip_if_running: true,
            jitter: None,
        }
    }

    /// Waits `delay` after the worker starts before the first tick.
    pub fn initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = Some(delay.into());
        self
    }

    /// Whether a tick is skipped while the previous run still goes.
    pub fn skip_if_running(mut self, skip: bool) -> Self {
        self.skip_if_running = skip;
        self
    }

    /// Delays each tick by a random time up to `jitter`.
    pub fn jitter(mut self, jitter: Duration) -> Self {
        self.jitter = Some(jitter.into());
        self
    }

    /// Checks the options; an error names `section` and the field.
    pub fn validate(&self, section: &str) -> Result<()> {
        self.schedule(section).map(|_| ())
    }

    pub(crate) fn schedule(&self, section: &str) -> Result<Schedule> {
        let field = |name: &str| format!("{section}.{name}");
        let interval = self.interval.parse(&field("interval"))?;
        if interval < MIN_INTERVAL || interval > MAX_DURATION {
            return Err(Error::invalid(
                field("interval"),
                &self.interval,
                "must be from 1s to 366 days",
            ));
        }
        let bounded = |value: &Option<DurationText>, name: &str| -> Result<Duration> {
            let Some(value) = value else {
                return Ok(Duration::ZERO);
            };
            let parsed = value.parse(&field(name))?;
            if parsed > MAX_DURATION {
                return Err(Error::invalid(
                    field(name),
                    value,
                    "must be at most 366 days",
                ));
            }
            Ok(parsed)
        };
        let initial_delay = bounded(&self.initial_delay, "initial_delay")?;
        let jitter = bounded(&self.jitter, "jitter")?;
        if jitter >= interval {
            return Err(Error::invalid(
                field("jitter"),
                self.jitter
                    .as_ref()
                    .map_or(String::new(), ToString::to_string),
                "must be shorter than the interval",
            ));
        }
        Ok(Schedule {
            interval,
            initial_delay,
            skip_if_running: self.skip_if_running,
            jitter,
        })
    }
}

/// A section of configuration for one loop job: [`LoopOptions`] and, in
/// the same section, the job's own options `T`.
///
/// ```
/// use errand::loop_job::LoopConfig;
///
/// #[derive(serde::Deserialize)]
/// struct KeepAlive { change_state_time_in_minutes: u32 }
///
/// let config: LoopConfig<KeepAlive> = serde_json::from_value(serde_json::json!({
///     "interval": "1m",
///     "initial_delay": "10s",
///     "change_state_time_in_minutes": 15,
/// })).unwrap();
/// config.options.validate("keep_alive").unwrap();
/// assert_eq!(config.job.change_state_time_in_minutes, 15);
/// ```
#[derive(Debug, Clone, Deserialize)]
pub struct LoopConfig<T> {
    /// When the job runs.
    #[serde(flatten)]
    pub options: LoopOptions,
    /// The job's own options.
    #[serde(flatten)]
    pub job: T,
}

/// What a run of a loop job is given.
#[derive(Clone)]
pub struct LoopContext {
    /// The loop job's name.
    pub name: Arc<str>,
    /// This tick's number, from 1.
    pub tick: u64,
    /// Cancelled when the worker shuts down: a long run should stop then.
    pub token: CancellationToken,
    states: Arc<StateMap>,
}

impl fmt::Debug for LoopContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoopContext")
            .field("name", &self.name)
            .field("tick", &self.tick)
            .finish_non_exhaustive()
    }
}

impl LoopContext {
    /// Shared state given to the worker (`WorkerBuilder::state`).
    pub fn state<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        self.states.get::<T>()
    }
}

type Run =
    Arc<dyn Fn(LoopContext) -> BoxFuture<'static, std::result::Result<(), BoxError>> + Send + Sync>;

/// A loop job: a name, its options and what each tick runs.
#[derive(Clone)]
pub struct LoopJob {
    name: String,
    options: LoopOptions,
    run: Run,
}

impl fmt::Debug for LoopJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoopJob")
            .field("name", &self.name)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl LoopJob {
    /// A loop job that runs `run` on `options`' ticks. The options are
    /// checked when the worker is built.
    pub fn new<F, Fut, E>(name: impl Into<String>, options: LoopOptions, run: F) -> Self
    where
        F: Fn(LoopContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = std::result::Result<(), E>> + Send + 'static,
        E: Into<BoxError>,
    {
        LoopJob {
            name: name.into(),
            options,
            run: Arc::new(move |ctx| {
                let fut = run(ctx);
                Box::pin(async move { fut.await.map_err(Into::into) })
            }),
        }
    }

    /// A loop job configured by `config`, the section `name` of the
    /// application's configuration: `run` gets the section's own options.
    pub fn from_config<T, F, Fut, E>(name: impl Into<String>, config: LoopConfig<T>, run: F) -> Self
    where
        T: Send + Sync + 'static,
        F: Fn(Arc<T>, LoopContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = std::result::Result<(), E>> + Send + 'static,
        E: Into<BoxError>,
    {
        let job = Arc::new(config.job);
        LoopJob::new(name, config.options, move |ctx| run(Arc::clone(&job), ctx))
    }

    /// The loop job's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Checks the name and the options (named as the section of the job's name).
    pub(crate) fn schedule(&self) -> Result<Schedule> {
        errand_core::validate::worker_name(&self.name).map_err(|_| {
            Error::invalid(
                "loop_job",
                self.name.escape_debug(),
                "must be 1 to 128 bytes without control characters",
            )
        })?;
        self.options.schedule(&self.name)
    }
}

/// What a loop job did so far, read from the running worker.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LoopStatus {
    /// The loop job's name.
    pub name: String,
    /// Runs started.
    pub runs: u64,
    /// Ticks skipped because the previous run still went.
    pub skipped: u64,
    /// Runs that failed or panicked.
    pub failures: u64,
    /// Runs going now.
    pub running: u64,
    /// When the latest run started.
    pub last_start: Option<DateTime<Utc>>,
    /// When the latest run ended.
    pub last_end: Option<DateTime<Utc>>,
    /// The latest failure's message.
    pub last_error: Option<String>,
}

/// One loop job of a worker: its checked schedule and its status.
pub(crate) struct Loop {
    pub job: LoopJob,
    pub schedule: Schedule,
    pub status: Mutex<LoopStatus>,
}

impl Loop {
    pub(crate) fn new(job: LoopJob) -> Result<Self> {
        let schedule = job.schedule()?;
        let status = Mutex::new(LoopStatus {
            name: job.name.clone(),
            ..LoopStatus::default()
        });
        Ok(Loop {
            job,
            schedule,
            status,
        })
    }

    pub(crate) fn status(&self) -> LoopStatus {
        self.status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn update(&self, change: impl FnOnce(&mut LoopStatus)) {
        change(&mut self.status.lock().unwrap_or_else(PoisonError::into_inner));
    }

    /// Ticks until `stop` fires, then cancels its running ticks and waits
    /// for them up to `grace` before dropping them.
    pub(crate) async fn run(
        self: Arc<Self>,
        states: Arc<StateMap>,
        stop: CancellationToken,
        grace: Duration,
    ) {
        let Schedule {
            interval,
            initial_delay,
            skip_if_running,
            jitter,
        } = self.schedule;
        let runs_token = CancellationToken::new();
        let mut runs: JoinSet<()> = JoinSet::new();
        let name: Arc<str> = Arc::from(self.job.name.as_str());
        let mut ticker =
            tokio::time::interval_at(tokio::time::Instant::now() + initial_delay, interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut tick = 0u64;
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = stop.cancelled() => break,
                Some(_) = runs.join_next(), if !runs.is_empty() => continue,
            }
            if !jitter.is_zero() {
                let wait = jitter.mul_f64(fastrand::f64());
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.cancelled() => break,
                }
            }
            while runs.try_join_next().is_some() {}
            if skip_if_running && !runs.is_empty() {
                self.update(|s| s.skipped += 1);
                tracing::debug!(loop_job = %name, "errand loop job tick skipped: the previous run still goes");
                continue;
            }
            tick += 1;
            let ctx = LoopContext {
                name: Arc::clone(&name),
                tick,
                token: runs_token.child_token(),
                states: Arc::clone(&states),
            };
            self.update(|s| {
                s.runs += 1;
                s.running += 1;
                s.last_start = Some(Utc::now());
            });
            let this = Arc::clone(&self);
            let run = (self.job.run)(ctx);
            runs.spawn(async move {
                let outcome = std::panic::AssertUnwindSafe(run).catch_unwind().await;
                let error = match outcome {
                    Ok(Ok(())) => None,
                    Ok(Err(e)) => Some(e.to_string()),
                    Err(panic) => Some(format!("panicked: {}", panic_message(&panic))),
                };
                if let Some(error) = &error {
                    tracing::warn!(loop_job = %this.job.name, tick, %error, "errand loop job run failed; the loop goes on");
                }
                this.update(|s| {
                    s.running = s.running.saturating_sub(1);
                    s.last_end = Some(Utc::now());
                    if let Some(error) = error {
                        s.failures += 1;
                        s.last_error = Some(error);
                    }
                });
            });
        }
        runs_token.cancel();
        let ended =
            tokio::time::timeout(grace, async { while runs.join_next().await.is_some() {} }).await;
        if ended.is_err() {
            tracing::warn!(loop_job = %name, "errand loop job runs ignored their cancellation past the shutdown timeout; dropped");
            runs.abort_all();
        }
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use tokio::time::Instant;

    /// Start times of each run (relative to the test's start) and a way to
    /// hold runs open.
    #[derive(Default)]
    struct Probe {
        starts: Mutex<Vec<Duration>>,
        ends: AtomicU64,
    }

    fn start(job: LoopJob) -> (Arc<Loop>, CancellationToken, tokio::task::JoinHandle<()>) {
        let looped = Arc::new(Loop::new(job).unwrap());
        let stop = CancellationToken::new();
        let task = tokio::spawn(Arc::clone(&looped).run(
            Arc::new(StateMap::default()),
            stop.clone(),
            Duration::from_secs(5),
        ));
        (looped, stop, task)
    }

    /// A job whose runs take `length` (cancellable) and are recorded.
    fn recorded(options: LoopOptions, length: Duration, probe: &Arc<Probe>) -> LoopJob {
        let probe = Arc::clone(probe);
        let began = Instant::now();
        LoopJob::new("probe", options, move |ctx| {
            let probe = Arc::clone(&probe);
            async move {
                probe.starts.lock().unwrap().push(began.elapsed());
                tokio::select! {
                    _ = tokio::time::sleep(length) => {}
                    _ = ctx.token.cancelled() => {}
                }
                probe.ends.fetch_add(1, Ordering::SeqCst);
                Ok::<(), std::io::Error>(())
            }
        })
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[tokio::test(start_paused = true)]
    async fn first_tick_after_the_initial_delay_then_every_interval() {
        let probe = Arc::new(Probe::default());
        let options = LoopOptions::every(secs(10)).initial_delay(secs(3));
        let (looped, stop, task) = start(recorded(options, Duration::ZERO, &probe));
        tokio::time::sleep(secs(35)).await;
        stop.cancel();
        task.await.unwrap();
        assert_eq!(
            *probe.starts.lock().unwrap(),
            [secs(3), secs(13), secs(23), secs(33)]
        );
        let status = looped.status();
        assert_eq!(
            (status.runs, status.skipped, status.failures, status.running),
            (4, 0, 0, 0)
        );
        assert!(status.last_start.is_some() && status.last_end.is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn a_tick_is_skipped_while_a_run_goes_unless_overlap_is_allowed() {
        let probe = Arc::new(Probe::default());
        let (looped, stop, task) = start(recorded(LoopOptions::every(secs(10)), secs(25), &probe));
        tokio::time::sleep(secs(45)).await;
        stop.cancel();
        task.await.unwrap();
        // Runs of 25 s every 10 s: ticks at 10 and 20 find the first still going.
        assert_eq!(*probe.starts.lock().unwrap(), [secs(0), secs(30)]);
        assert_eq!((looped.status().runs, looped.status().skipped), (2, 3));

        let probe = Arc::new(Probe::default());
        let overlapping = LoopOptions::every(secs(10)).skip_if_running(false);
        let (looped, stop, task) = start(recorded(overlapping, secs(25), &probe));
        tokio::time::sleep(secs(45)).await;
        stop.cancel();
        task.await.unwrap();
        assert_eq!(
            *probe.starts.lock().unwrap(),
            [secs(0), secs(10), secs(20), secs(30), secs(40)]
        );
        assert_eq!(looped.status().skipped, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn failing_and_panicking_runs_are_recorded_and_the_loop_goes_on() {
        let calls = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&calls);
        let job = LoopJob::new("flaky", LoopOptions::every(secs(1)), move |ctx| {
            counted.fetch_add(1, Ordering::SeqCst);
            async move {
                match ctx.tick {
                    1 => Err(std::io::Error::other("disk full")),
                    2 => panic!("the check broke"),
                    _ => Ok(()),
                }
            }
        });
        let (looped, stop, task) = start(job);
        tokio::time::sleep(Duration::from_millis(3500)).await;
        let status = looped.status();
        stop.cancel();
        task.await.unwrap();
        assert_eq!(
            calls.load(Ordering::SeqCst),
            4,
            "ticks at 0, 1, 2 and 3 s all ran"
        );
        assert_eq!((status.runs, status.failures), (4, 2));
        assert_eq!(
            status.last_error.as_deref(),
            Some("panicked: the check broke")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_cancels_the_running_tick_and_waits_for_it() {
        let probe = Arc::new(Probe::default());
        let (looped, stop, task) =
            start(recorded(LoopOptions::every(secs(60)), secs(3600), &probe));
        tokio::time::sleep(secs(1)).await;
        assert_eq!(looped.status().running, 1);
        let stopping = Instant::now();
        stop.cancel();
        task.await.unwrap();
        assert_eq!(
            probe.ends.load(Ordering::SeqCst),
            1,
            "the run saw its token and ended"
        );
        assert!(stopping.elapsed() < secs(1), "it did not wait for the hour");
        assert_eq!(looped.status().running, 0);

        // A run that ignores its token is dropped after the grace.
        let stubborn = LoopJob::new("stubborn", LoopOptions::every(secs(60)), |_ctx| async {
            tokio::time::sleep(secs(3600)).await;
            Ok::<(), std::io::Error>(())
        });
        let (_, stop, task) = start(stubborn);
        tokio::time::sleep(secs(1)).await;
        let stopping = Instant::now();
        stop.cancel();
        task.await.unwrap();
        assert_eq!(stopping.elapsed(), secs(5), "the grace, then dropped");
    }

    #[test]
    fn options_are_checked_naming_the_section_and_the_field() {
        let check = |options: LoopOptions| options.validate("keep_alive").unwrap_err().to_string();
        let text = |t: &str| DurationText::Text(t.into());
        let e = check(LoopOptions {
            interval: text("500ms"),
            ..LoopOptions::every(secs(1))
        });
        assert!(
            e.contains("keep_alive.interval") && e.contains("500ms"),
            "{e}"
        );
        let e = check(LoopOptions {
            initial_delay: Some(text("-5s")),
            ..LoopOptions::every(secs(1))
        });
        assert!(
            e.contains("keep_alive.initial_delay") && e.contains("negative"),
            "{e}"
        );
        let e = check(LoopOptions {
            initial_delay: Some(DurationText::Seconds(-1.0)),
            ..LoopOptions::every(secs(1))
        });
        assert!(e.contains("keep_alive.initial_delay"), "{e}");
        let e = check(LoopOptions {
            interval: text("soon"),
            ..LoopOptions::every(secs(1))
        });
        assert!(
            e.contains("keep_alive.interval") && e.contains("soon"),
            "{e}"
        );
        let e = check(LoopOptions::every(secs(10)).jitter(secs(10)));
        assert!(e.contains("keep_alive.jitter"), "{e}");
        assert!(
            LoopOptions::every(secs(1))
                .jitter(Duration::from_millis(999))
                .validate("x")
                .is_ok()
        );
        let from_seconds = LoopOptions {
            interval: DurationText::Seconds(90.0),
            ..LoopOptions::every(secs(1))
        };
        assert_eq!(from_seconds.schedule("x").unwrap().interval, secs(90));
    }
}
