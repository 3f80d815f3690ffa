//! Real worker processes on one store: killed with SIGKILL, or sharing the work.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use errand::{ErrorKind, JobState, ListParams, NewJob, StatsParams};
use tokio::process::{Child, Command};

use super::*;

fn spawn_worker(bin: &Path, h: &Harness, log: &Path, concurrency: usize, lease_ms: u64) -> Child {
    Command::new(bin)
        .arg(&h.url)
        .arg(log)
        .arg(concurrency.to_string())
        .arg(lease_ms.to_string())
        .args(h.namespace.iter())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start the probe worker")
}

async fn terminate(mut child: Child) {
    if let Some(pid) = child.id() {
        let _ = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status();
    }
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait()).await;
    assert!(
        matches!(status, Ok(Ok(s)) if s.success()),
        "a worker stops cleanly on SIGTERM: {status:?}"
    );
}

/// How many times each job id was run, from the probe logs ("id attempt" lines).
fn runs(logs: &[PathBuf]) -> BTreeMap<i64, u32> {
    let mut runs = BTreeMap::new();
    for log in logs {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        for line in text.lines() {
            // A process killed mid-write may leave a partial last line.
            if let Some(id) = line.split(' ').next().and_then(|id| id.parse::<i64>().ok())
                && line.split(' ').count() == 2
            {
                *runs.entry(id).or_default() += 1;
            }
        }
    }
    runs
}

async fn stats(h: &Harness) -> errand::Stats {
    h.store
        .stats(StatsParams {
            tenant: None,
            now: chrono::Utc::now(),
        })
        .await
        .unwrap()
}

async fn all_jobs(h: &Harness) -> Vec<errand::JobRow> {
    h.store
        .list(ListParams {
            limit: 10_000,
            now: chrono::Utc::now(),
            ..Default::default()
        })
        .await
        .unwrap()
}

fn probe_bin(h: &Harness) -> Option<&PathBuf> {
    let bin = h.probe_worker.as_ref();
    if bin.is_none() {
        println!("SKIP: no probe worker binary in this test crate");
    }
    bin
}

pub async fn process_killed_with_sigkill_loses_no_job(h: &Harness) {
    let Some(bin) = probe_bin(h) else { return };
    let dir = tempfile::tempdir().unwrap();
    let total = 300;
    let jobs: Vec<NewJob> = (0..total)
        .map(|_| NewJob::new("probe", serde_json::json!(20)))
        .collect();
    enqueue(h, jobs, chrono::Utc::now()).await;
    let logs = [dir.path().join("a.log"), dir.path().join("b.log")];

    let mut first = spawn_worker(bin, h, &logs[0], 8, 1000);
    eventually(
        Duration::from_secs(60),
        "the first worker completes some jobs and runs others",
        || async {
            let s = stats(h).await;
            s.total(JobState::Completed) >= 40 && s.total(JobState::Running) >= 1
        },
    )
    .await;
    first.start_kill().unwrap();
    first.wait().await.unwrap();

    let second = spawn_worker(bin, h, &logs[1], 8, 1000);
    eventually(
        Duration::from_secs(120),
        "every job completes after the crash",
        || async { stats(h).await.total(JobState::Completed) == total },
    )
    .await;
    terminate(second).await;

    let rows = all_jobs(h).await;
    assert_eq!(rows.len(), total as usize);
    assert!(rows.iter().all(|j| j.state == JobState::Completed));
    let rescued: BTreeSet<i64> = rows
        .iter()
        .filter(|j| j.errors.iter().any(|e| e.kind == ErrorKind::LeaseExpired))
        .map(|j| j.id.0)
        .collect();
    assert!(
        !rescued.is_empty(),
        "the jobs the killed worker held were rescued"
    );
    for job in rows.iter().filter(|j| rescued.contains(&j.id.0)) {
        assert!(job.attempt >= 2, "a rescued job ran again: {job:?}");
    }
    let runs = runs(&logs);
    assert_eq!(runs.len(), total as usize, "every job ran");
    for (id, n) in runs {
        assert!(
            n == 1 || rescued.contains(&id),
            "job {id} ran {n} times but was never rescued"
        );
    }
}

pub async fn several_processes_share_one_store_without_double_runs(h: &Harness) {
    let Some(bin) = probe_bin(h) else { return };
    let dir = tempfile::tempdir().unwrap();
    let total = 600;
    let jobs: Vec<NewJob> = (0..total)
        .map(|_| NewJob::new("probe", serde_json::json!(2)))
        .collect();
    enqueue(h, jobs, chrono::Utc::now()).await;
    let logs: Vec<PathBuf> = (0..3)
        .map(|i| dir.path().join(format!("{i}.log")))
        .collect();
    let workers: Vec<Child> = logs
        .iter()
        .map(|log| spawn_worker(bin, h, log, 4, 30_000))
        .collect();
    eventually(
        Duration::from_secs(120),
        "three processes complete every job",
        || async { stats(h).await.total(JobState::Completed) == total },
    )
    .await;
    for worker in workers {
        terminate(worker).await;
    }
    let runs = runs(&logs);
    assert_eq!(runs.len(), total as usize, "no job lost");
    assert!(runs.values().all(|n| *n == 1), "no job ran twice");
    let busy = logs
        .iter()
        .filter(|l| std::fs::metadata(l).map(|m| m.len() > 0).unwrap_or(false))
        .count();
    assert!(
        busy >= 2,
        "the work was shared: {busy} of 3 processes ran jobs"
    );
    assert!(all_jobs(h).await.iter().all(|j| j.attempt == 1));
}
