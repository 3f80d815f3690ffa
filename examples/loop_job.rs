//! A loop job (seed 003): every worker process checks, on an interval, which
//! devices stopped sending keep-alives and marks them offline. It is not
//! stored: each process runs its own. Its options come from a section of the
//! application's TOML configuration; the section's own fields reach the job
//! typed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use errand::Worker;
use errand::loop_job::{LoopConfig, LoopJob};
use serde::Deserialize;
use tokio::sync::Notify;

/// The application's configuration file.
const CONFIG: &str = r#"
[keep_alive]
interval = "1s"
initial_delay = "0s"
skip_if_running = true
change_state_time_in_minutes = 15
"#;

#[derive(Deserialize)]
struct Config {
    keep_alive: LoopConfig<KeepAlive>,
}

/// The job's own options, in the same section.
#[derive(Deserialize)]
struct KeepAlive {
    change_state_time_in_minutes: i64,
}

/// Devices and when each last sent a keep-alive.
#[derive(Default)]
struct Devices {
    last_seen: Mutex<HashMap<&'static str, (DateTime<Utc>, bool)>>,
    checked: Notify,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    for file in ["loop_job.db", "loop_job.db-wal", "loop_job.db-shm"] {
        let _ = std::fs::remove_file(file);
    }
    let config: Config = toml::from_str(CONFIG)?;
    // A bad section is refused before anything runs, naming section and field.
    let bad: Config = toml::from_str(&CONFIG.replace("\"1s\"", "\"500ms\""))?;
    match bad.keep_alive.options.validate("keep_alive") {
        Err(refused) => println!("refused: {refused}"),
        Ok(()) => return Err("an interval under a second was accepted".into()),
    }

    let devices = Arc::new(Devices::default());
    {
        let mut seen = devices.last_seen.lock().map_err(|_| "lock")?;
        seen.insert("pump-1", (Utc::now(), true));
        seen.insert("pump-2", (Utc::now() - TimeDelta::minutes(40), true));
    }
    let keep_alive = LoopJob::from_config(
        "keep_alive",
        config.keep_alive,
        |options: Arc<KeepAlive>, ctx| async move {
            let devices = ctx.state::<Devices>().ok_or("no devices")?;
            let limit = TimeDelta::minutes(options.change_state_time_in_minutes);
            let mut seen = devices.last_seen.lock().map_err(|_| "lock")?;
            for (name, (at, online)) in seen.iter_mut() {
                if *online && Utc::now() - *at > limit {
                    *online = false;
                    println!(
                        "tick {}: {name} is offline (silent for over {} minutes)",
                        ctx.tick, options.change_state_time_in_minutes
                    );
                }
            }
            devices.checked.notify_one();
            Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
        },
    );

    let store = errand::connect_from_env("sqlite://loop_job.db").await?;
    let worker = Worker::builder(store)
        .state_arc(Arc::clone(&devices))
        .loop_job(keep_alive)
        .build()?;
    let running = worker.start();
    tokio::time::timeout(Duration::from_secs(10), async {
        while running.loops()[0].runs < 2 {
            devices.checked.notified().await;
        }
    })
    .await
    .map_err(|_| "the loop job did not run twice within 10 s")?;
    let status = running.loops().remove(0);
    running.shutdown().await;
    println!(
        "{}: {} runs, {} skipped, {} failures",
        status.name, status.runs, status.skipped, status.failures
    );
    let seen = devices.last_seen.lock().map_err(|_| "lock")?;
    if seen["pump-1"].1 && !seen["pump-2"].1 && status.failures == 0 {
        Ok(())
    } else {
        Err("pump-2 should be offline and pump-1 online".into())
    }
}
