//! cron list|show|add|enable|disable|remove|trigger|next|ledger.

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use errand::cron::{Entry, EntryRow, Key, ListParams, Missed, Overlap};
use errand::{Client, Error};
use serde_json::json;

use crate::jobs::{client, input_text, print_rows, print_table, short_time};
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

fn entry_of(args: &AddArgs) -> Result<Entry, Error> {
    let text = input_text(&args.input)?;
    let input: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::invalid("input", &text, format!("is not valid JSON: {e}")))?;
    let mut entry = Entry::new(&args.entry.name, &args.kind, input, &args.schedule)?
        .zone(&args.zone)?
        .overlap(args.overlap.parse::<Overlap>()?)
        .missed(args.missed.parse::<Missed>()?);
    entry.tenant = args.entry.tenant.clone();
    entry.queue = args.queue.clone();
    entry.priority = args.priority;
    entry.max_attempts = args.max_attempts;
    entry.validate()?;
    Ok(entry)
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
        println!("{}", serde_json::to_string_pretty(row)?);
    } else {
        println!("cron entry {}: {what}", row.name);
    }
    Ok(())
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
    let client: Client = client(target, add.is_some()).await?;
    let cron = client.cron();
    match command {
        CronCommand::List {
            tenant,
            kind,
            limit,
        } => {
            let rows = cron
                .list(ListParams {
                    tenant: tenant.map(Some),
                    kind,
                    limit,
                    ..Default::default()
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
            let key = entry.key();
            let row = cron.get(&key).await?.ok_or_else(|| key.not_found())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&row)?);
            } else {
                show(&row);
            }
            Ok(())
        }
        CronCommand::Add(_) => {
            let entry = add.ok_or_else(|| anyhow::anyhow!("cron add lost its entry"))?;
            let row = cron.create(entry).await?;
            changed(json, &row, "created")
        }
        CronCommand::Enable(entry) => changed(json, &cron.enable(&entry.key()).await?, "enabled"),
        CronCommand::Disable { entry, note } => changed(
            json,
            &cron.disable(&entry.key(), note.as_deref()).await?,
            "disabled",
        ),
        CronCommand::Remove(entry) => {
            cron.remove(&entry.key()).await?;
            if json {
                println!(
                    "{}",
                    json!({"name": entry.name, "tenant": entry.tenant, "result": "removed"})
                );
            } else {
                println!("cron entry {}: removed", entry.name);
            }
            Ok(())
        }
        CronCommand::Trigger(entry) => {
            let id = cron.trigger(&entry.key()).await?;
            if json {
                println!(
                    "{}",
                    json!({"name": entry.name, "tenant": entry.tenant, "job": id})
                );
            } else {
                println!("cron entry {}: enqueued job {id}", entry.name);
            }
            Ok(())
        }
        CronCommand::Next { entry, count, .. } => {
            let fires = cron
                .next_fires(&entry.key(), count as usize, from.unwrap_or_else(Utc::now))
                .await?;
            if json {
                let list: Vec<_> = fires
                    .iter()
                    .map(|(utc, local)| json!({"utc": utc, "local": local.to_rfc3339()}))
                    .collect();
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                let table: Vec<Vec<String>> = fires
                    .iter()
                    .map(|(utc, local)| {
                        vec![
                            utc.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                            local.format("%Y-%m-%d %H:%M:%S %Z").to_string(),
                        ]
                    })
                    .collect();
                print_table(&["utc", "local"], &table);
            }
            Ok(())
        }
        CronCommand::Ledger { entry, limit } => {
            let records = cron.ledger(&entry.key(), limit).await?;
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
