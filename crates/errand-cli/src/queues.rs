//! `pause`, `resume` (everything or a tenant) and `queues list|pause|resume`.

use clap::{Args, Subcommand};
use errand::{JobState, Pause, PauseScope};
use errand_admin::PauseRequest;

use crate::jobs::{api, print_json, print_table, short_time, state_cells};
use crate::store::Target;

/// Who and why, for a pause.
#[derive(Args, Debug)]
pub(crate) struct PauseArgs {
    /// Why (stored with the pause, shown by `queues list`).
    #[arg(long)]
    note: Option<String>,
    /// Who pauses (default: $USER@host).
    #[arg(long)]
    by: Option<String>,
}

/// `errand pause` and `errand resume`.
#[derive(Args, Debug)]
pub(crate) struct ScopeArgs {
    /// Only this tenant's jobs (default: all processing).
    #[arg(long)]
    tenant: Option<String>,
}

impl ScopeArgs {
    fn scope(&self) -> PauseScope {
        self.tenant
            .as_ref()
            .map_or(PauseScope::All, PauseScope::tenant)
    }
}

/// `errand queues ...`
#[derive(Subcommand, Debug)]
pub(crate) enum QueuesCommand {
    /// Every queue with jobs or a pause: its counts, how long its oldest due
    /// job has waited, and whether it is paused.
    List,
    /// Pause a queue: no worker claims its jobs; running ones finish.
    Pause {
        /// The queue.
        queue: String,
        #[command(flatten)]
        pause: PauseArgs,
    },
    /// Resume a paused queue.
    Resume {
        /// The queue.
        queue: String,
    },
}

pub(crate) async fn pause(
    target: Target<'_>,
    scope: ScopeArgs,
    args: PauseArgs,
    json: bool,
) -> anyhow::Result<()> {
    pause_scope(target, scope.scope(), args, json).await
}

pub(crate) async fn resume(target: Target<'_>, scope: ScopeArgs, json: bool) -> anyhow::Result<()> {
    resume_scope(target, scope.scope(), json).await
}

pub(crate) async fn run(
    target: Target<'_>,
    command: QueuesCommand,
    json: bool,
) -> anyhow::Result<()> {
    match command {
        QueuesCommand::List => list(target, json).await,
        QueuesCommand::Pause { queue, pause } => {
            pause_scope(target, PauseScope::queue(queue), pause, json).await
        }
        QueuesCommand::Resume { queue } => {
            resume_scope(target, PauseScope::queue(queue), json).await
        }
    }
}

async fn pause_scope(
    target: Target<'_>,
    scope: PauseScope,
    args: PauseArgs,
    json: bool,
) -> anyhow::Result<()> {
    // Checked before the store is opened: bad input creates nothing.
    let by = args.by.unwrap_or_else(crate::jobs::who);
    errand::store::PauseParams {
        scope: scope.clone(),
        by: by.clone(),
        note: args.note.clone(),
        now: chrono::Utc::now(),
    }
    .validate()?;
    let request = PauseRequest {
        tenant: None,
        note: args.note,
        by: Some(by.clone()),
    };
    let done = api(target, false).await?.pause(scope, request).await?;
    if json {
        print_json(&done)
    } else {
        if done.already_paused {
            println!(
                "{} was already paused {}",
                done.pause.scope,
                described(&done.pause)
            );
        } else {
            println!("paused {} {}", done.pause.scope, described(&done.pause));
        }
        Ok(())
    }
}

async fn resume_scope(target: Target<'_>, scope: PauseScope, json: bool) -> anyhow::Result<()> {
    scope.validate()?;
    let done = api(target, false).await?.resume(scope.clone()).await?;
    if json {
        return print_json(&done);
    }
    match done.pause {
        Some(pause) => println!("resumed {} (paused {})", pause.scope, described(&pause)),
        None => println!("{scope} was not paused"),
    }
    Ok(())
}

/// "by WHO at TIME: NOTE".
fn described(pause: &Pause) -> String {
    let mut text = format!("by {} at {}", pause.by, short_time(Some(pause.at)));
    if let Some(note) = &pause.note {
        text.push_str(&format!(": {note}"));
    }
    text
}

async fn list(target: Target<'_>, json: bool) -> anyhow::Result<()> {
    let body = api(target, false).await?.queues().await?;
    if json {
        return print_json(&body);
    }
    let now = chrono::Utc::now();
    for pause in &body.pauses {
        if !matches!(pause.scope, PauseScope::Queue(_)) {
            println!("paused: {} {}", pause.scope, described(pause));
        }
    }
    let mut headers = vec!["queue", "paused", "oldest due"];
    headers.extend(JobState::ALL.iter().map(|s| s.as_str()));
    let rows: Vec<Vec<String>> = body
        .queues
        .iter()
        .map(|q| {
            // How long the oldest due job has waited: the queue's lag.
            let waited = q.oldest_due_at.map_or_else(
                || "-".to_owned(),
                |at| {
                    let secs = (now - at).num_seconds().max(0).unsigned_abs();
                    humantime::format_duration(std::time::Duration::from_secs(secs)).to_string()
                },
            );
            let mut row = vec![
                q.queue.clone(),
                q.paused.as_ref().map_or_else(|| "-".to_owned(), described),
                waited,
            ];
            row.extend(state_cells(&q.counts));
            row
        })
        .collect();
    print_table(&headers, &rows);
    Ok(())
}
