//! enqueue, jobs list|show|retry|cancel|delete, stats.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use errand::{Client, Error, JobId, JobRow, JobState, NewJob, RetryFilter};
use errand_admin::{Api, EnqueueRequest, JobAction, JobQuery};

use crate::store::{self, DEFAULT_URL, Target};

/// Arguments of `errand enqueue`.
#[derive(Args, Debug)]
pub(crate) struct EnqueueArgs {
    /// The job kind.
    kind: String,
    /// The input, as JSON; `@FILE` reads it from a file, `-` from standard
    /// input (for inputs too large for a command line).
    #[arg(long, default_value = "null", allow_hyphen_values = true)]
    input: String,
    /// The queue.
    #[arg(long, default_value = "default")]
    queue: String,
    /// Smaller runs first.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    priority: i16,
    /// Run after this delay ("10s", "5m").
    #[arg(long, conflicts_with = "run_at")]
    delay: Option<String>,
    /// Run at this time (RFC 3339).
    #[arg(long)]
    run_at: Option<String>,
    /// Attempts allowed.
    #[arg(long, default_value_t = i64::from(NewJob::DEFAULT_MAX_ATTEMPTS), allow_negative_numbers = true)]
    max_attempts: i64,
    /// At most one unfinished job with this key.
    #[arg(long)]
    unique_key: Option<String>,
    /// The tenant.
    #[arg(long)]
    tenant: Option<String>,
    /// Metadata entries, key=value.
    #[arg(long = "meta", value_name = "KEY=VALUE")]
    meta: Vec<String>,
    /// Enqueue it even when live workers are on record and none registers
    /// its kind for its queue.
    #[arg(long)]
    allow_unknown_kind: bool,
}

/// `errand jobs ...`
#[derive(Subcommand, Debug)]
pub(crate) enum JobsCommand {
    /// List jobs, newest first.
    List(ListArgs),
    /// Show one job with its input, output and errors.
    Show {
        /// The job id.
        #[arg(allow_negative_numbers = true)]
        id: i64,
    },
    /// Run a finished job again, or every one a filter matches (failed
    /// jobs unless --state says otherwise; a filter or --all is required).
    Retry(RetryArgs),
    /// Cancel a waiting job, or ask a running one to stop.
    Cancel {
        /// The job id.
        #[arg(allow_negative_numbers = true)]
        id: i64,
    },
    /// Delete a job that is not running.
    Delete {
        /// The job id.
        #[arg(allow_negative_numbers = true)]
        id: i64,
    },
    /// Make a waiting job due now.
    RunNow {
        /// The job id.
        #[arg(allow_negative_numbers = true)]
        id: i64,
    },
}

/// The filters `errand jobs list` and `errand jobs retry` share.
#[derive(Args, Debug)]
pub(crate) struct JobFilters {
    /// scheduled, available, running, completed, retrying, failed or
    /// cancelled (retry: failed, the default, cancelled or completed).
    #[arg(long)]
    state: Option<String>,
    /// Only jobs of this kind.
    #[arg(long)]
    kind: Option<String>,
    /// Only jobs of this queue.
    #[arg(long)]
    queue: Option<String>,
    /// Only jobs of this tenant.
    #[arg(long)]
    tenant: Option<String>,
    /// Only jobs of this batch.
    #[arg(long, allow_negative_numbers = true)]
    batch: Option<i64>,
    /// Only jobs with an attempt error containing this text (ASCII letters
    /// in either case).
    #[arg(long)]
    error: Option<String>,
}

/// `errand jobs list`.
#[derive(Args, Debug)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    filters: JobFilters,
    /// Only the job holding this unique key.
    #[arg(long)]
    unique_key: Option<String>,
    /// Jobs with an id below this one (the last id of the previous page).
    #[arg(long, allow_negative_numbers = true)]
    before: Option<i64>,
    /// Most rows to show.
    #[arg(long, default_value_t = 50, allow_negative_numbers = true, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    limit: u32,
}

/// `errand jobs retry`: one job by id, or the finished jobs a filter matches.
#[derive(Args, Debug)]
pub(crate) struct RetryArgs {
    /// The job id.
    #[arg(allow_negative_numbers = true, conflicts_with_all = ["state", "kind", "queue", "tenant", "batch", "error", "all"])]
    id: Option<i64>,
    #[command(flatten)]
    filters: JobFilters,
    /// Every job in the state, when no other filter is given.
    #[arg(long)]
    all: bool,
}

/// Arguments of `errand stats`.
#[derive(Args, Debug)]
pub(crate) struct StatsArgs {
    /// Only this tenant's jobs.
    #[arg(long)]
    tenant: Option<String>,
}

/// A client of the target store; only commands that add jobs may create a
/// SQLite file.
pub(crate) async fn client(target: Target<'_>, create: bool) -> anyhow::Result<Client> {
    let store = if create {
        store::open(target, DEFAULT_URL).await?
    } else {
        store::open_existing(target, DEFAULT_URL).await?
    };
    Ok(Client::new(store))
}

/// The admin operations over the target store (what `errand serve` serves).
pub(crate) async fn api(target: Target<'_>, create: bool) -> anyhow::Result<Api> {
    Ok(Api::new(client(target, create).await?).acting_as(format!("cli {}", who())))
}

/// Who runs this command, for pauses and the audit: `user@host`.
pub(crate) fn who() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "someone".to_owned());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default();
    if host.is_empty() {
        user
    } else {
        format!("{user}@{host}")
    }
}

/// The text of `--input`: as given, from the file after `@`, or from
/// standard input for `-`; never more than the largest input a store takes.
pub(crate) fn input_text(arg: &str) -> Result<String, Error> {
    use std::io::Read;
    let limit = errand::validate::MAX_INPUT_BYTES as u64;
    let read = |reader: &mut dyn Read| -> std::io::Result<String> {
        let mut text = String::new();
        reader.take(limit + 1).read_to_string(&mut text)?;
        Ok(text)
    };
    let text = if arg == "-" {
        read(&mut std::io::stdin().lock()).map_err(|e| {
            Error::invalid("input", arg, format!("standard input cannot be read: {e}"))
        })?
    } else if let Some(path) = arg.strip_prefix('@') {
        std::fs::File::open(path)
            .and_then(|mut file| read(&mut file))
            .map_err(|e| Error::invalid("input", arg, format!("cannot be read: {e}")))?
    } else {
        return Ok(arg.to_owned());
    };
    if text.len() as u64 > limit {
        return Err(Error::invalid(
            "input",
            arg,
            format!("is larger than {limit} bytes"),
        ));
    }
    Ok(text)
}

/// The request `errand enqueue` makes, its input read and parsed.
fn enqueue_request(args: EnqueueArgs) -> Result<EnqueueRequest, Error> {
    let text = input_text(&args.input)?;
    let input: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::invalid("input", &text, format!("is not valid JSON: {e}")))?;
    let max_attempts = u32::try_from(args.max_attempts).map_err(|_| {
        Error::invalid(
            "max_attempts",
            args.max_attempts,
            "must be between 1 and 4294967295",
        )
    })?;
    let run_at = args
        .run_at
        .as_deref()
        .map(|at| {
            DateTime::parse_from_rfc3339(at)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| Error::invalid("run_at", at, format!("is not an RFC 3339 time: {e}")))
        })
        .transpose()?;
    let mut meta = BTreeMap::new();
    for entry in &args.meta {
        let (k, v) = entry
            .split_once('=')
            .ok_or_else(|| Error::invalid("meta", entry, "must be KEY=VALUE"))?;
        meta.insert(k.to_owned(), v.to_owned());
    }
    Ok(EnqueueRequest {
        kind: args.kind,
        input,
        queue: Some(args.queue),
        priority: Some(args.priority),
        run_at,
        delay: args.delay,
        max_attempts: Some(max_attempts),
        unique_key: args.unique_key,
        tenant: args.tenant,
        meta,
        allow_unknown_kind: args.allow_unknown_kind,
    })
}

/// `errand enqueue`.
pub(crate) async fn enqueue(
    target: Target<'_>,
    args: EnqueueArgs,
    json: bool,
) -> anyhow::Result<()> {
    // Check the input before touching the store: bad input changes nothing.
    let request = enqueue_request(args)?;
    request.job(Utc::now())?;
    let done = api(target, true).await?.enqueue(request).await?;
    if json {
        print_json(&done)?;
    } else if done.result == "duplicate" {
        println!(
            "job {} already exists with this unique key (nothing enqueued)",
            done.id
        );
    } else {
        println!("enqueued job {}", done.id);
    }
    Ok(())
}

/// Prints an API body as the API serves it.
pub(crate) fn print_json<T: serde::Serialize>(body: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(body)?);
    Ok(())
}

pub(crate) fn short_time(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| "-".into())
}

/// Prints `rows` as JSON (`--json`), else as a table with a row of
/// `cells` for each.
pub(crate) fn print_rows<T: serde::Serialize>(
    json: bool,
    rows: &[T],
    headers: &[&str],
    cells: impl Fn(&T) -> Vec<String>,
) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(rows)?);
    } else {
        print_table(headers, &rows.iter().map(cells).collect::<Vec<_>>());
    }
    Ok(())
}

pub(crate) fn print_table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(headers.iter().map(|h| h.to_uppercase()).collect());
    for row in rows {
        line(row.clone());
    }
}

fn parse_state(state: Option<String>) -> Result<Option<JobState>, Error> {
    state.map(|s| s.parse::<JobState>()).transpose()
}

async fn list(target: Target<'_>, args: ListArgs, json: bool) -> anyhow::Result<()> {
    let query = JobQuery {
        state: parse_state(args.filters.state)?,
        kind: args.filters.kind,
        queue: args.filters.queue,
        tenant: args.filters.tenant,
        batch: args.filters.batch,
        unique_key: args.unique_key,
        id: None,
        error: args.filters.error,
        before: args.before,
        limit: Some(args.limit),
    };
    let page = api(target, false).await?.jobs(query).await?;
    if json {
        return print_json(&page);
    }
    print_table(
        &[
            "id", "kind", "queue", "state", "attempts", "run at", "tenant",
        ],
        &page
            .jobs
            .iter()
            .map(|j| {
                vec![
                    j.id.to_string(),
                    j.kind.clone(),
                    j.queue.clone(),
                    j.state.to_string(),
                    format!("{}/{}", j.attempt, j.max_attempts),
                    short_time(Some(j.run_at)),
                    j.tenant.clone().unwrap_or_else(|| "-".into()),
                ]
            })
            .collect::<Vec<_>>(),
    );
    if let Some(before) = page.next_before {
        println!("(more: --before {before})");
    }
    Ok(())
}

fn show(job: &JobRow) {
    println!("job {} ({})", job.id, job.kind);
    println!("  state     {}", job.state);
    println!("  queue     {} (priority {})", job.queue, job.priority);
    println!("  attempts  {}/{}", job.attempt, job.max_attempts);
    println!("  created   {}", short_time(Some(job.created_at)));
    println!("  run at    {}", short_time(Some(job.run_at)));
    println!("  started   {}", short_time(job.started_at));
    println!("  finished  {}", short_time(job.finished_at));
    if let Some(worker) = &job.worker {
        println!("  worker    {worker}");
    }
    if let Some(tenant) = &job.tenant {
        println!("  tenant    {tenant}");
    }
    if let Some(key) = &job.unique_key {
        println!("  unique    {key}");
    }
    println!("  input     {}", job.input);
    if let Some(output) = &job.output {
        println!("  output    {output}");
    }
    for e in &job.errors {
        println!(
            "  error     attempt {} at {} [{}]: {}",
            e.attempt,
            short_time(Some(e.at)),
            e.kind.as_str(),
            e.message
        );
    }
}

/// `errand jobs ...`.
pub(crate) async fn run(
    target: Target<'_>,
    command: JobsCommand,
    json: bool,
) -> anyhow::Result<()> {
    // Opened in each command once its input is checked: bad input never
    // reaches the store.
    let open = || api(target, false);
    let action = match command {
        JobsCommand::List(args) => return list(target, args, json).await,
        JobsCommand::Show { id } => {
            let detail = open().await?.job(JobId(id)).await?;
            if json {
                print_json(&detail)?;
            } else {
                show(&detail.job);
                for hold in &detail.waiting_on {
                    println!("  waits on  {} ({})", hold.message, hold.reason);
                }
            }
            return Ok(());
        }
        JobsCommand::Retry(args) => return retry(target, args, json).await,
        JobsCommand::Cancel { id } => open().await?.cancel(JobId(id)).await?,
        JobsCommand::Delete { id } => open().await?.delete(JobId(id)).await?,
        JobsCommand::RunNow { id } => open().await?.run_now(JobId(id)).await?,
    };
    report(json, &action)
}

async fn retry(target: Target<'_>, args: RetryArgs, json: bool) -> anyhow::Result<()> {
    if let Some(id) = args.id {
        let action = api(target, false).await?.retry(JobId(id)).await?;
        return report(json, &action);
    }
    let JobFilters {
        state,
        kind,
        queue,
        tenant,
        batch,
        error,
    } = args.filters;
    let filter = RetryFilter {
        state: parse_state(state)?,
        kind,
        queue,
        tenant,
        batch_id: batch,
        error_contains: error,
        all: args.all,
    };
    // Checked before the store is opened: a bad filter touches nothing.
    filter.validate()?;
    let state = filter.state();
    let bar = crate::progress::spinner(&format!("retrying {state} jobs"));
    let done = api(target, false)
        .await?
        .retry_matching_with(filter, |so_far| {
            bar.set_message(format!(
                "retrying {state} jobs: {} retried, {} skipped",
                so_far.retried, so_far.skipped
            ));
        })
        .await;
    bar.finish_and_clear();
    let done = done?;
    if json {
        print_json(&done)
    } else {
        println!(
            "{} {state} jobs retried, {} skipped (changed meanwhile or unique key held)",
            done.retried, done.skipped
        );
        Ok(())
    }
}

fn report(json: bool, action: &JobAction) -> anyhow::Result<()> {
    if json {
        print_json(action)
    } else {
        println!("job {}: {}", action.id, action.result.replace('_', " "));
        Ok(())
    }
}

/// The job counts of `stats` per queue and state.
pub(crate) fn counts_by_queue(stats: &errand::Stats) -> BTreeMap<String, BTreeMap<JobState, u64>> {
    let mut queues: BTreeMap<String, BTreeMap<JobState, u64>> = BTreeMap::new();
    for count in &stats.counts {
        *queues
            .entry(count.queue.clone())
            .or_default()
            .entry(count.state)
            .or_default() += count.count;
    }
    queues
}

/// One table cell per state, in [`JobState::ALL`]'s order.
pub(crate) fn state_cells(counts: &BTreeMap<JobState, u64>) -> impl Iterator<Item = String> + '_ {
    JobState::ALL
        .iter()
        .map(|s| counts.get(s).copied().unwrap_or(0).to_string())
}

/// `errand stats`.
pub(crate) async fn stats(target: Target<'_>, args: StatsArgs, json: bool) -> anyhow::Result<()> {
    if let Some(tenant) = &args.tenant {
        errand::validate::tenant(tenant)?;
    }
    let stats = api(target, false)
        .await?
        .stats(args.tenant.as_deref())
        .await?;
    if json {
        return print_json(&stats);
    }
    let queues = counts_by_queue(&stats);
    let mut headers = vec!["queue"];
    headers.extend(JobState::ALL.iter().map(|s| s.as_str()));
    let rows: Vec<Vec<String>> = queues
        .iter()
        .map(|(queue, counts)| {
            let mut row = vec![queue.clone()];
            row.extend(state_cells(counts));
            row
        })
        .collect();
    print_table(&headers, &rows);
    Ok(())
}
