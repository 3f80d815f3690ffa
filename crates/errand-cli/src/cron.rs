//! cron list|show|add|enable|disable|remove|trigger|next|ledger.

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use errand::Error;
use errand::cron::{EntryRow, Key};
use errand_admin::{CronEntryRequest, CronQuery};

use crate::jobs::{api, input_text, print_json, print_rows, print_table, short_time};
use crate::store::Target;

/// An entry's name and tenant.
#[derive(Args, Debug)]
pub(crate) struct EntryArg {
    /// The entry's name.
    name: String,
    /// The tenant the entry belongs to.
    #[arg(long)]
    tenant: Option<String>,
}

impl EntryArg {
    fn key(&self) -> Key {
        Key::new(self.tenant.as_deref(), &self.name)
    }
}

/// `errand cron ...`
#[derive(Subcommand, Debug)]
pub(crate) enum CronCommand {
    /// List entries by tenant and name.
    List {
        /// Only this tenant's entries.
        #[arg(long)]
        tenant: Option<String>,
        /// Only entries of this kind.
        #[arg(long)]
        kind: Option<String>,
        /// Most rows to show.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        limit: u32,
    },
    /// Show one entry.
    Show(EntryArg),
    /// Create an entry.
    Add(AddArgs),
    /// Enable an entry.
    Enable(EntryArg),
    /// Disable an entry: its fire times are recorded as skipped.
    Disable {
        #[command(flatten)]
        entry: EntryArg,
        /// Why (shown with the entry).
        #[arg(long)]
        note: Option<String>,
    },
    /// Remove an entry (its ledger stays).
    Remove(EntryArg),
    /// Enqueue the entry's job now, even when disabled.
    Trigger(EntryArg),
    /// The next fire times, in UTC and in the entry's zone.
    Next {
        #[command(flatten)]
        entry: EntryArg,
        /// How many.
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
        count: u32,
        /// After this time (RFC 3339; default now).
        #[arg(long)]
        from: Option<String>,
    },
    /// The entry's latest decisions, newest first.
    Ledger {
        #[command(flatten)]
        entry: EntryArg,
        /// Most records to show.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100))]
        limit: u32,
    },
}

/// Arguments of `errand cron add`.
#[derive(Args, Debug)]
pub(crate) struct AddArgs {
    #[command(flatten)]
    entry: EntryArg,
    /// The job kind it enqueues.
    #[arg(long)]
    kind: String,
    /// A cron expression (5 or 6 fields), a nickname (@daily) or @every <duration>.
    #[arg(long)]
    schedule: String,
    /// The IANA time zone the schedule is read in.
    #[arg(long = "tz", default_value = "UTC")]
    zone: String,
    /// The input of each job, as JSON; `@FILE` reads it from a file, `-` from standard input.
    #[arg(long, default_value = "null", allow_hyphen_values = true)]
    input: String,
    /// The queue of its jobs.
    #[arg(long)]
    queue: Option<String>,
    /// The priority of its jobs.
    #[arg(long, allow_negative_numbers = true)]
    priority: Option<i16>,
    /// The attempt limit of its jobs.
    #[arg(long)]
    max_attempts: Option<u32>,
    /// allow, skip or buffer_one.
    #[arg(long, default_value = "allow")]
    overlap: String,
    /// skip, coalesce or catch_up:N.
    #[arg(long, default_value = "skip")]
    missed: String,
}

fn entry_of(args: &AddArgs) -> Result<CronEntryRequest, Error> {
    let text = input_text(&args.input)?;
    let input: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::invalid("input", &text, format!("is not valid JSON: {e}")))?;
    let request = CronEntryRequest {
        name: args.entry.name.clone(),
        tenant: args.entry.tenant.clone(),
        kind: args.kind.clone(),
        schedule: args.schedule.clone(),
        zone: Some(args.zone.clone()),
        input,
        queue: args.queue.clone(),
        priority: args.priority,
        max_attempts: args.max_attempts,
        overlap: Some(args.overlap.clone()),
        missed: Some(args.missed.clone()),
    };
    request.entry()?;
    Ok(request)
}

fn show(row: &EntryRow) {
    println!("cron entry {}", row.name);
    if let Some(tenant) = &row.tenant {
        println!("  tenant    {tenant}");
    }
    println!("  kind      {}", row.kind);
    println!("  schedule  {} ({})", row.schedule, row.zone);
    println!("  input     {}", row.input);
    if let Some(queue) = &row.queue {
        println!("  queue     {queue}");
    }
    println!("  overlap   {}", row.overlap);
    println!("  missed    {}", row.missed);
    match &row.note {
        Some(note) => println!("  enabled   {} ({note})", row.enabled),
        None => println!("  enabled   {}", row.enabled),
    }
    println!("  next fire {}", short_time(row.next_fire_at));
    println!("  last fire {}", short_time(row.last_fire_at));
    if let Some(id) = row.last_job_id {
        println!("  last job  {id}");
    }
    if row.is_overdue(Utc::now(), errand::cron::DEFAULT_GRACE) {
        println!(
            "  overdue   no running worker that registers {:?} decided its fire at {}",
            row.kind,
            short_time(row.next_fire_at)
        );
    }
}

fn changed(json: bool, row: &EntryRow, what: &str) -> anyhow::Result<()> {
    if json {
        print_json(row)
    } else {
        println!("cron entry {}: {what}", row.name);
        Ok(())
    }
}

/// `errand cron ...`.
pub(crate) async fn run(
    target: Target<'_>,
    command: CronCommand,
    json: bool,
) -> anyhow::Result<()> {
    // Check what the command says before touching the store.
    let add = match &command {
        CronCommand::Add(args) => Some(entry_of(args)?),
        _ => None,
    };
    let from = match &command {
        CronCommand::Next {
            from: Some(from), ..
        } => Some(
            DateTime::parse_from_rfc3339(from)
                .map_err(|e| Error::invalid("from", from, format!("is not an RFC 3339 time: {e}")))?
                .with_timezone(&Utc),
        ),
        _ => None,
    };
    let api = api(target, add.is_some()).await?;
    match command {
        CronCommand::List {
            tenant,
            kind,
            limit,
        } => {
            let rows = api
                .cron_entries(CronQuery {
                    tenant,
                    kind,
                    enabled: None,
                    limit: Some(limit),
                })
                .await?;
            print_rows(
                json,
                &rows,
                &[
                    "name",
                    "tenant",
                    "kind",
                    "schedule",
                    "enabled",
                    "next fire",
                    "last fire",
                ],
                |r| {
                    vec![
                        r.name.clone(),
                        r.tenant.clone().unwrap_or_else(|| "-".into()),
                        r.kind.clone(),
                        format!("{} ({})", r.schedule, r.zone),
                        if r.enabled { "yes".into() } else { "no".into() },
                        short_time(r.next_fire_at),
                        short_time(r.last_fire_at),
                    ]
                },
            )
        }
        CronCommand::Show(entry) => {
            let row = api.cron_entry(&entry.key()).await?;
            if json {
                print_json(&row)
            } else {
                show(&row);
                Ok(())
            }
        }
        CronCommand::Add(_) => {
            let request = add.ok_or_else(|| anyhow::anyhow!("cron add lost its entry"))?;
            changed(json, &api.cron_create(request).await?, "created")
        }
        CronCommand::Enable(entry) => {
            changed(json, &api.cron_enable(&entry.key()).await?, "enabled")
        }
        CronCommand::Disable { entry, note } => changed(
            json,
            &api.cron_disable(&entry.key(), note.as_deref()).await?,
            "disabled",
        ),
        CronCommand::Remove(entry) => {
            let done = api.cron_remove(&entry.key()).await?;
            if json {
                print_json(&done)
            } else {
                println!("cron entry {}: removed", entry.name);
                Ok(())
            }
        }
        CronCommand::Trigger(entry) => {
            let done = api.cron_trigger(&entry.key()).await?;
            if json {
                print_json(&done)
            } else {
                println!("cron entry {}: enqueued job {}", entry.name, done.job);
                Ok(())
            }
        }
        CronCommand::Next { entry, count, .. } => {
            let fires = api
                .cron_next(&entry.key(), count, from.unwrap_or_else(Utc::now))
                .await?;
            if json {
                return print_json(&fires);
            }
            let table: Vec<Vec<String>> = fires
                .iter()
                .map(|f| {
                    let local = DateTime::parse_from_rfc3339(&f.local).map_or_else(
                        |_| f.local.clone(),
                        |l| l.format("%Y-%m-%d %H:%M:%S %:z").to_string(),
                    );
                    vec![f.utc.format("%Y-%m-%d %H:%M:%S UTC").to_string(), local]
                })
                .collect();
            print_table(&["utc", "local"], &table);
            Ok(())
        }
        CronCommand::Ledger { entry, limit } => {
            let records = api.cron_ledger(&entry.key(), limit).await?;
            print_rows(
                json,
                &records,
                &["fire at", "decision", "fires", "job", "decided at"],
                |r| {
                    vec![
                        short_time(Some(r.fire_at)),
                        r.reason.to_string(),
                        r.fires.to_string(),
                        r.job_id.map_or_else(|| "-".into(), |id| id.to_string()),
                        short_time(Some(r.decided_at)),
                    ]
                },
            )
        }
    }
}
