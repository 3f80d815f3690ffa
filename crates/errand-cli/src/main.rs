//! The `errand` command line.

mod audit;
mod batches;
mod bench;
mod bench_admin;
mod bench_cron;
mod cron;
mod demo;
mod jobs;
mod processes;
mod progress;
mod prune;
mod queues;
mod serve;
mod store;
mod tenants;
mod workers;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use errand::ErrorClass;

/// errand: persistent background jobs.
#[derive(Parser, Debug)]
#[command(name = "errand", version, about)]
struct Cli {
    /// The store: sqlite://path.db, postgres://user@host/db or redis://host:6379
    #[arg(long, env = "ERRAND_DATABASE_URL", global = true)]
    database_url: Option<String>,
    /// The PostgreSQL schema holding errand's tables (default errand), or the
    /// Redis key prefix (default {errand}).
    #[arg(long, alias = "prefix", env = "ERRAND_SCHEMA", global = true)]
    schema: Option<String>,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run an embedded worker with sample jobs and show live progress.
    Demo(demo::DemoArgs),
    /// Measure enqueue rate, processing rate and pickup latency.
    Bench(bench::BenchArgs),
    /// One worker process of `errand bench --processes` (not for people).
    #[command(hide = true)]
    BenchWorker(processes::WorkerArgs),
    /// Create or upgrade the store's schema.
    Migrate {
        /// Print the SQL instead of applying it (for your own migration tool).
        #[arg(long)]
        print_sql: bool,
    },
    /// Enqueue a job by kind with a JSON input.
    Enqueue(jobs::EnqueueArgs),
    /// Find and manage jobs.
    #[command(subcommand)]
    Jobs(jobs::JobsCommand),
    /// Job counts per queue and state.
    Stats(jobs::StatsArgs),
    /// Manage cron entries.
    #[command(subcommand)]
    Cron(cron::CronCommand),
    /// Batches: list, totals, show, cancel.
    #[command(subcommand)]
    Batches(batches::BatchesCommand),
    /// Queues: counts and pauses; pause or resume one.
    #[command(subcommand)]
    Queues(queues::QueuesCommand),
    /// Pause all processing, or one tenant's: workers everywhere stop
    /// claiming within a second; running jobs finish; enqueue goes on.
    Pause {
        #[command(flatten)]
        scope: queues::ScopeArgs,
        #[command(flatten)]
        pause: queues::PauseArgs,
    },
    /// Resume all processing, or one tenant's.
    Resume(queues::ScopeArgs),
    /// Tenants with jobs or a pause, by name: their jobs by state, their
    /// pause (from the counts the store keeps).
    Tenants(tenants::TenantsArgs),
    /// Delete finished jobs, batch records and audit records past their retention now
    /// (what every worker's pruner does); --dry-run only counts them.
    Prune(prune::PruneArgs),
    /// Worker processes by their heartbeats: alive or dead, what each
    /// serves and runs.
    Workers,
    /// The changes operators made (who, what, filter, how many), newest first.
    Audit(audit::AuditArgs),
    /// Serve the admin API: every command here as JSON, /metrics, /health.
    Serve(serve::ServeArgs),
}

/// Exit codes: 2 when the command names something wrong (a bad value, a job
/// or store that does not exist), 1 when a well-formed command could not be
/// carried out (the job's state does not allow it, the store failed).
fn exit_code(error: &anyhow::Error) -> u8 {
    if error.downcast_ref::<store::UsageError>().is_some() {
        return 2;
    }
    match error
        .downcast_ref::<errand::Error>()
        .map(errand::Error::kind)
    {
        Some(ErrorClass::Invalid | ErrorClass::NotFound) => 2,
        _ => 1,
    }
}

/// The error and its causes, each once: errand's errors already quote
/// their driver's message, which is also their `source()`.
fn describe(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let line = cause.to_string();
        if !text.contains(&line) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&line);
        }
    }
    text
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo fails jobs on purpose and shows them in its progress line;
    // elsewhere warnings matter. RUST_LOG overrides both.
    let default_filter = match cli.command {
        Command::Demo(_) | Command::Bench(_) | Command::BenchWorker(_) => "off",
        _ => "warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter)),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", describe(&e));
            ExitCode::from(exit_code(&e))
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let target = store::Target {
        url: cli.database_url.as_deref(),
        schema: cli.schema.as_deref(),
    };
    match cli.command {
        Command::Demo(args) => demo::run(target, args).await,
        Command::Bench(args) => bench::run(target, args, cli.json).await,
        Command::BenchWorker(args) => processes::worker(target, args).await,
        Command::Migrate { print_sql: true } => {
            println!("{}", store::migration_sql(target)?);
            Ok(())
        }
        Command::Migrate { print_sql: false } => {
            // A migration that rebuilds an index of a big table takes a while.
            let bar = progress::spinner("migrating");
            let store = store::open(target, store::DEFAULT_URL).await;
            bar.finish_and_clear();
            let store = store?;
            println!("the {} store is migrated and up to date", store.backend());
            Ok(())
        }
        Command::Enqueue(args) => jobs::enqueue(target, args, cli.json).await,
        Command::Jobs(command) => jobs::run(target, command, cli.json).await,
        Command::Stats(args) => jobs::stats(target, args, cli.json).await,
        Command::Cron(command) => cron::run(target, command, cli.json).await,
        Command::Batches(command) => batches::run(target, command, cli.json).await,
        Command::Queues(command) => queues::run(target, command, cli.json).await,
        Command::Pause { scope, pause } => queues::pause(target, scope, pause, cli.json).await,
        Command::Resume(scope) => queues::resume(target, scope, cli.json).await,
        Command::Prune(args) => prune::run(target, args, cli.json).await,
        Command::Serve(args) => serve::run(target, args).await,
        Command::Tenants(args) => tenants::run(target, args, cli.json).await,
        Command::Workers => workers::run(target, cli.json).await,
        Command::Audit(args) => audit::run(target, args, cli.json).await,
    }
}
