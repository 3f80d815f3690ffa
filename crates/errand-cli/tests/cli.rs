//! The `errand` binary, run as a user runs it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

fn errand(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_errand"))
        .args(args)
        .env("ERRAND_DATABASE_URL", format!("sqlite://{}", db.display()))
        .env_remove("RUST_LOG")
        .output()
        .expect("run errand")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs `args`, which must exit 2 naming `field`, without creating the
/// store.
fn refused(db: &Path, args: &[&str], field: &str) {
    let out = errand(db, args);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("invalid {field}")),
        "{args:?}: {}",
        stderr(&out)
    );
    assert!(!db.exists(), "{args:?} created the store");
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(o)))
}

#[test]
fn bad_input_is_rejected_with_field_and_value_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("jobs.db");
    let cases: [(&[&str], &str, &str); 6] = [
        (
            &["enqueue", "send_email", "--input", "{\"to\": "],
            "input",
            "{\"to\": ",
        ),
        (&["enqueue", "send_email", "--queue", ""], "queue", ""),
        (&["enqueue", "send email"], "kind", "send email"),
        (&["enqueue", "send_email", "--delay=-5s"], "delay", "-5s"),
        (
            &["enqueue", "send_email", "--max-attempts", "0"],
            "max_attempts",
            "0",
        ),
        (
            &["enqueue", "send_email", "--run-at", "tomorrow"],
            "run_at",
            "tomorrow",
        ),
    ];
    for (args, field, value) in cases {
        let out = errand(&db, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        // Values are quoted as Rust strings: "{\"to\": " for {"to": .
        let quoted = format!("{value:?}");
        assert!(
            err.contains(field) && err.contains(&quoted),
            "{args:?} must name {field} and {quoted}: {err}"
        );
    }
    assert!(!db.exists(), "bad input creates no store");
    let created = errand(&db, &["migrate"]);
    assert_eq!(created.status.code(), Some(0), "{}", stderr(&created));
    let list = errand(&db, &["jobs", "list", "--json"]);
    assert_eq!(list.status.code(), Some(0), "{}", stderr(&list));
    assert_eq!(
        json(&list),
        serde_json::json!({"jobs": [], "next_before": null}),
        "nothing was stored"
    );
    let bad_state = errand(&db, &["jobs", "list", "--state", "done"]);
    assert_eq!(bad_state.status.code(), Some(2));
    assert!(stderr(&bad_state).contains("state") && stderr(&bad_state).contains("done"));
}

#[test]
fn enqueue_show_cancel_retry_delete() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("jobs.db");
    let out = errand(
        &db,
        &[
            "enqueue",
            "send_email",
            "--input",
            r#"{"to":"ada@example.com"}"#,
            "--queue",
            "mail",
            "--unique-key",
            "welcome-ada",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let id = json(&out)["id"].as_i64().unwrap();
    let dup = errand(
        &db,
        &[
            "enqueue",
            "send_email",
            "--unique-key",
            "welcome-ada",
            "--json",
        ],
    );
    assert_eq!(
        json(&dup),
        serde_json::json!({"id": id, "result": "duplicate"})
    );

    let show = errand(&db, &["jobs", "show", &id.to_string(), "--json"]);
    let job = json(&show);
    assert_eq!(
        (
            job["kind"].as_str(),
            job["queue"].as_str(),
            job["state"].as_str()
        ),
        (Some("send_email"), Some("mail"), Some("available"))
    );
    assert_eq!(job["input"], serde_json::json!({"to": "ada@example.com"}));

    let table = errand(&db, &["jobs", "list"]);
    assert!(
        stdout(&table).contains("send_email") && stdout(&table).contains("mail"),
        "{}",
        stdout(&table)
    );

    assert_eq!(
        errand(&db, &["jobs", "cancel", &id.to_string()])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        json(&errand(&db, &["jobs", "show", &id.to_string(), "--json"]))["state"],
        "cancelled"
    );
    assert_eq!(
        errand(&db, &["jobs", "cancel", &id.to_string()])
            .status
            .code(),
        Some(1),
        "already finished"
    );
    assert_eq!(
        errand(&db, &["jobs", "retry", &id.to_string()])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        json(&errand(&db, &["jobs", "show", &id.to_string(), "--json"]))["state"],
        "available"
    );
    let stats = json(&errand(&db, &["stats", "--json"]));
    assert_eq!(stats["counts"][0]["count"], 1);
    assert_eq!(
        errand(&db, &["jobs", "delete", &id.to_string()])
            .status
            .code(),
        Some(0)
    );
    let missing = errand(&db, &["jobs", "show", &id.to_string()]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains(&format!("job {id} not found")));
}

#[test]
fn demo_runs_to_the_end_and_summarizes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let out = errand(
        &db,
        &[
            "demo",
            "--jobs",
            "60",
            "--exit-when-done",
            "--dashboard",
            "127.0.0.1:0",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("dashboard on http://127.0.0.1:"),
        "{}",
        stderr(&out)
    );
    let text = stdout(&out);
    let count = |label: &str| -> u64 {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {label} in {text}"))
    };
    assert_eq!(count("enqueued"), 60);
    assert_eq!(count("batch"), 6, "{text}");
    assert!(
        text.contains("6 resized; on_complete zip_album ran"),
        "{text}"
    );
    let beats = count("cron");
    assert!(beats >= 1, "the cron entry fired: {text}");
    assert_eq!(
        count("completed") + count("failed"),
        60 + 6 + 1 + beats,
        "the sample jobs, the album, its continuation, the heartbeats: {text}"
    );
    assert!(text.contains("jobs/s"));
    let stats = json(&errand(&db, &["stats", "--json"]));
    let unfinished: u64 = stats["counts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            !matches!(
                c["state"].as_str(),
                Some("completed" | "failed" | "cancelled")
            )
        })
        .map(|c| c["count"].as_u64().unwrap())
        .sum();
    assert_eq!(unfinished, 0, "the demo waits for every job");
}

#[test]
fn bench_prints_every_figure_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.db");
    let out = errand(
        &db,
        &[
            "bench",
            "--backend",
            "sqlite",
            "--jobs",
            "300",
            "--single",
            "30",
            "--latency-samples",
            "20",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["backend"], "sqlite");
    assert_eq!(report["jobs"], 300);
    for field in [
        "concurrency",
        "enqueue_single_per_s",
        "enqueue_bulk_per_s",
        "process_per_s",
        "latency_p50_ms",
        "latency_p95_ms",
        "latency_p99_ms",
    ] {
        assert!(
            report[field].as_f64().is_some_and(|v| v > 0.0),
            "{field} in {report}"
        );
    }
    let unknown = errand(&db, &["bench", "--backend", "oracle"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("oracle"));
}

fn errand_with(url: &str, args: &[&str], stdin: Option<&[u8]>) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_errand"))
        .args(args)
        .env("ERRAND_DATABASE_URL", url)
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run errand");
    let mut pipe = child.stdin.take().expect("stdin");
    if let Some(bytes) = stdin {
        pipe.write_all(bytes).expect("write stdin");
    }
    drop(pipe);
    child.wait_with_output().expect("wait for errand")
}

#[test]
fn commands_that_only_read_never_create_a_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("jbos.db");
    for args in [
        &["jobs", "list"][..],
        &["jobs", "show", "1"],
        &["jobs", "cancel", "1"],
        &["jobs", "retry", "1"],
        &["jobs", "delete", "1"],
        &["stats"],
    ] {
        let out = errand(&typo, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("jbos.db") && stderr(&out).contains("not found"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(!typo.exists(), "{args:?} created the file");
    }
    // No URL at all: the default ./errand.db is not created either.
    let out = Command::new(env!("CARGO_BIN_EXE_errand"))
        .arg("stats")
        .current_dir(dir.path())
        .env_remove("ERRAND_DATABASE_URL")
        .output()
        .expect("run errand");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(!dir.path().join("errand.db").exists());
    // A file that is not a database, and one in a missing folder, are named.
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"not a database, just text that is long enough").unwrap();
    let out = errand(&junk, &["jobs", "list"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("junk.db") && stderr(&out).contains("not a SQLite database"),
        "{}",
        stderr(&out)
    );
    let nowhere = dir.path().join("missing-folder").join("jobs.db");
    let out = errand(&nowhere, &["enqueue", "k"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("missing-folder"), "{}", stderr(&out));
}

#[test]
fn inputs_larger_than_a_command_line_come_from_a_file_or_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("jobs.db");
    let url = format!("sqlite://{}", db.display());
    // 600 KiB: more than one argument may carry (128 KiB on Linux).
    let big = serde_json::json!({"blob": "x".repeat(600 * 1024)});
    let file = dir.path().join("input.json");
    std::fs::write(&file, big.to_string()).unwrap();
    let at = format!("@{}", file.display());
    let out = errand_with(&url, &["enqueue", "k", "--input", &at, "--json"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let from_file = json(&out)["id"].as_i64().unwrap();
    let out = errand_with(
        &url,
        &["enqueue", "k", "--input", "-", "--json"],
        Some(big.to_string().as_bytes()),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let from_stdin = json(&out)["id"].as_i64().unwrap();
    for id in [from_file, from_stdin] {
        let show = errand(&db, &["jobs", "show", &id.to_string(), "--json"]);
        assert_eq!(json(&show)["input"], big);
    }
    let missing = format!("@{}", dir.path().join("nope.json").display());
    let out = errand_with(&url, &["enqueue", "k", "--input", &missing], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("input") && stderr(&out).contains("nope.json"));
    // A negative JSON number is an input, not an option.
    let out = errand_with(&url, &["enqueue", "k", "--input", "-5", "--json"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn out_of_range_numbers_and_delays_name_their_option_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("jobs.db");
    assert_eq!(errand(&db, &["migrate"]).status.code(), Some(0));
    for (args, name) in [
        (&["jobs", "list", "--limit", "-1"][..], "--limit"),
        (&["jobs", "list", "--limit", "0"], "--limit"),
        (&["jobs", "list", "--limit", "100000"], "--limit"),
        (&["enqueue", "k", "--priority", "40000"], "--priority"),
        (&["enqueue", "k", "--delay", "300000years"], "delay"),
        (
            &["enqueue", "k", "--max-attempts", "4294967295"],
            "max_attempts",
        ),
        (
            &["enqueue", "k", "--run-at", "9999-01-01T00:00:00Z"],
            "run_at",
        ),
        (&["bench", "--concurrency", "-3"], "--concurrency"),
        (&["demo", "--rate", "-1"], "--rate"),
        (&["demo", "--dashboard", "0.0.0.0:7700"], "dashboard"),
        (&["demo", "--dashboard", "here"], "dashboard"),
    ] {
        let out = errand(&db, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(name), "{args:?}: {}", stderr(&out));
    }
    let list = errand(&db, &["jobs", "list", "--json"]);
    assert_eq!(
        json(&list),
        serde_json::json!({"jobs": [], "next_before": null}),
        "nothing was stored"
    );
    let out = errand(&db, &["jobs", "show", "-3"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("job -3 not found"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn unreachable_servers_and_foreign_urls_are_named() {
    for url in [
        "postgres://postgres:secret@127.0.0.1:1/test",
        "redis://:secret@127.0.0.1:1",
    ] {
        let out = errand_with(url, &["jobs", "list"], None);
        assert_eq!(out.status.code(), Some(1), "{url}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("127.0.0.1:1") && err.contains("refused"),
            "{url}: the error names the server and the reason: {err}"
        );
        assert!(
            !err.contains("secret"),
            "{url}: the password is shown: {err}"
        );
    }
    let out = errand_with("mysql://app:secret@db/app", &["stats"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("mysql") && !stderr(&out).contains("secret"));
}

#[test]
fn cron_entries_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("jobs.db");
    // Bad input names the field and the value and stores nothing.
    let bad: [(&[&str], &str, &str); 5] = [
        (
            &[
                "cron",
                "add",
                "n",
                "--kind",
                "k",
                "--schedule",
                "61 * * * *",
            ],
            "schedule",
            "61 * * * *",
        ),
        (
            &[
                "cron",
                "add",
                "n",
                "--kind",
                "k",
                "--schedule",
                "@daily",
                "--tz",
                "Mars/Olympus",
            ],
            "zone",
            "Mars/Olympus",
        ),
        (
            &[
                "cron",
                "add",
                "n",
                "--kind",
                "k",
                "--schedule",
                "@daily",
                "--missed",
                "catch_up:0",
            ],
            "missed",
            "catch_up:0",
        ),
        (
            &[
                "cron",
                "add",
                "n",
                "--kind",
                "k",
                "--schedule",
                "@daily",
                "--overlap",
                "never",
            ],
            "overlap",
            "never",
        ),
        (
            &[
                "cron",
                "add",
                "bad name",
                "--kind",
                "k",
                "--schedule",
                "@daily",
            ],
            "name",
            "bad name",
        ),
    ];
    for (args, field, value) in bad {
        let out = errand(&db, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains(field) && err.contains(&format!("{value:?}")),
            "{args:?}: {err}"
        );
    }
    assert!(!db.exists(), "bad input creates no store");

    let add = errand(
        &db,
        &[
            "cron",
            "add",
            "nightly",
            "--kind",
            "cleanup",
            "--schedule",
            "30 2 * * *",
            "--tz",
            "Europe/Berlin",
            "--input",
            "{\"days\": 30}",
            "--overlap",
            "skip",
            "--missed",
            "catch_up:3",
            "--json",
        ],
    );
    assert_eq!(add.status.code(), Some(0), "{}", stderr(&add));
    let row = json(&add);
    assert_eq!(row["schedule"], "30 2 * * *");
    assert_eq!(row["missed"], "catch_up:3");
    let again = errand(
        &db,
        &[
            "cron",
            "add",
            "nightly",
            "--kind",
            "cleanup",
            "--schedule",
            "@daily",
        ],
    );
    assert_eq!(
        again.status.code(),
        Some(1),
        "a second entry of the name conflicts"
    );
    let tenant = errand(
        &db,
        &[
            "cron",
            "add",
            "nightly",
            "--tenant",
            "acme",
            "--kind",
            "cleanup",
            "--schedule",
            "@daily",
        ],
    );
    assert_eq!(tenant.status.code(), Some(0), "{}", stderr(&tenant));

    // The next fires across the spring change: 02:30 does not exist on
    // 2026-03-29 in Berlin, so that night fires at 03:00 local.
    let next = errand(
        &db,
        &[
            "cron",
            "next",
            "nightly",
            "--count",
            "3",
            "--from",
            "2026-03-27T12:00:00Z",
            "--json",
        ],
    );
    assert_eq!(next.status.code(), Some(0), "{}", stderr(&next));
    let fires = json(&next);
    let utc: Vec<&str> = fires
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["utc"].as_str().unwrap())
        .collect();
    assert_eq!(
        utc,
        [
            "2026-03-28T01:30:00Z",
            "2026-03-29T01:00:00Z",
            "2026-03-30T00:30:00Z"
        ]
    );
    assert_eq!(fires[1]["local"], "2026-03-29T03:00:00+02:00");

    let disable = errand(
        &db,
        &[
            "cron",
            "disable",
            "nightly",
            "--note",
            "archive move",
            "--json",
        ],
    );
    assert_eq!(disable.status.code(), Some(0), "{}", stderr(&disable));
    assert_eq!(
        (
            json(&disable)["enabled"].clone(),
            json(&disable)["note"].clone()
        ),
        (false.into(), "archive move".into())
    );
    let trigger = errand(&db, &["cron", "trigger", "nightly", "--json"]);
    assert_eq!(trigger.status.code(), Some(0), "{}", stderr(&trigger));
    let job = json(&trigger)["job"].as_i64().unwrap();
    let shown = json(&errand(&db, &["jobs", "show", &job.to_string(), "--json"]));
    assert_eq!(
        (shown["kind"].clone(), shown["input"]["days"].clone()),
        ("cleanup".into(), 30.into())
    );
    assert_eq!(shown["cron"]["name"], "nightly");
    let ledger = json(&errand(&db, &["cron", "ledger", "nightly", "--json"]));
    assert_eq!(ledger[0]["reason"], "manual");
    assert_eq!(ledger[0]["job_id"], job);

    let list = json(&errand(&db, &["cron", "list", "--json"]));
    let names: Vec<(serde_json::Value, serde_json::Value)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["tenant"].clone(), r["name"].clone()))
        .collect();
    assert_eq!(
        names,
        [
            (serde_json::Value::Null, "nightly".into()),
            ("acme".into(), "nightly".into())
        ]
    );
    let acme = json(&errand(
        &db,
        &["cron", "list", "--tenant", "acme", "--json"],
    ));
    assert_eq!(acme.as_array().unwrap().len(), 1);

    let shown = errand(&db, &["cron", "show", "nightly"]);
    assert!(
        stdout(&shown).contains("archive move"),
        "{}",
        stdout(&shown)
    );
    let removed = errand(&db, &["cron", "remove", "nightly", "--tenant", "acme"]);
    assert_eq!(removed.status.code(), Some(0), "{}", stderr(&removed));
    let missing = errand(&db, &["cron", "show", "nightly", "--tenant", "acme"]);
    assert_eq!(
        missing.status.code(),
        Some(2),
        "a missing entry is named: {}",
        stderr(&missing)
    );
    assert!(stderr(&missing).contains("nightly"));
}

#[test]
fn pause_and_resume_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("jobs.db");
    // Bad input exits 2 naming the field and the value, and creates no store.
    for (args, field) in [
        (&["queues", "pause", ""][..], "queue"),
        (&["pause", "--tenant", "a b"][..], "tenant"),
        (&["pause", "--by", ""][..], "by"),
        (&["queues", "resume", "x y"][..], "queue"),
        (&["tenants", "--limit", "0"][..], "limit"),
        (&["tenants", "--after", ""][..], "after"),
    ] {
        refused(&db, args, field);
    }
    assert!(
        errand(
            &db,
            &["enqueue", "noop", "--input", "{}", "--queue", "mail"]
        )
        .status
        .success()
    );
    let paused = json(&errand(
        &db,
        &[
            "queues",
            "pause",
            "mail",
            "--note",
            "provider down",
            "--by",
            "ops",
            "--json",
        ],
    ));
    assert_eq!(paused["already_paused"], false);
    assert_eq!(paused["pause"]["scope"], "queue");
    assert_eq!(paused["pause"]["name"], "mail");
    assert_eq!(paused["pause"]["by"], "ops");
    let again = json(&errand(
        &db,
        &["queues", "pause", "mail", "--by", "bob", "--json"],
    ));
    assert_eq!(again["already_paused"], true);
    assert_eq!(again["pause"]["by"], "ops", "the first pause is kept");
    assert!(errand(&db, &["pause", "--tenant", "acme"]).status.success());
    let all = errand(&db, &["pause", "--note", "deploy"]);
    assert!(
        stdout(&all).contains("paused all processing"),
        "{}",
        stdout(&all)
    );
    let list = json(&errand(&db, &["queues", "list", "--json"]));
    let scopes: Vec<&str> = list["pauses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["scope"].as_str().unwrap())
        .collect();
    assert_eq!(scopes, ["all", "queue", "tenant"]);
    assert_eq!(list["queues"][0]["queue"], "mail");
    assert_eq!(list["queues"][0]["counts"]["available"], 1);
    assert!(
        list["queues"][0]["oldest_due_at"].is_string(),
        "the due job's time: {list}"
    );
    assert_eq!(list["queues"][0]["paused"]["note"], "provider down");
    let table = stdout(&errand(&db, &["queues", "list"]));
    assert!(
        table.contains("provider down")
            && table.contains("all processing")
            && table.contains("OLDEST DUE"),
        "{table}"
    );
    let resumed = json(&errand(&db, &["queues", "resume", "mail", "--json"]));
    assert_eq!(resumed["resumed"], true);
    let not_paused = json(&errand(&db, &["queues", "resume", "mail", "--json"]));
    assert_eq!(not_paused["resumed"], false);
    assert!(errand(&db, &["resume"]).status.success());
    assert!(
        errand(&db, &["resume", "--tenant", "acme"])
            .status
            .success()
    );
    let list = json(&errand(&db, &["queues", "list", "--json"]));
    assert!(list["pauses"].as_array().unwrap().is_empty());
    assert!(list["queues"][0]["paused"].is_null());
    assert!(errand(&db, &["pause", "--tenant", "acme"]).status.success());
    // Tenants: each with its jobs by state and its pause, by name, paged.
    for tenant in ["globex", "acme", "acme"] {
        let enqueued = errand(
            &db,
            &["enqueue", "noop", "--input", "{}", "--tenant", tenant],
        );
        assert!(enqueued.status.success(), "{}", stderr(&enqueued));
    }
    let tenants = json(&errand(&db, &["tenants", "--json"]));
    assert_eq!(tenants["tenants"][0]["tenant"], "acme", "{tenants}");
    assert_eq!(tenants["tenants"][0]["counts"]["available"], 2);
    assert!(
        tenants["tenants"][0]["paused"]["by"].is_string(),
        "{tenants}"
    );
    assert_eq!(tenants["tenants"][1]["tenant"], "globex");
    assert_eq!(tenants["tenants"][1]["total"], 1);
    assert!(tenants["tenants"][1]["paused"].is_null());
    assert!(tenants["next_after"].is_null());
    let first = json(&errand(&db, &["tenants", "--limit", "1", "--json"]));
    assert_eq!(first["next_after"], "acme", "{first}");
    let rest = json(&errand(&db, &["tenants", "--after", "acme", "--json"]));
    assert_eq!(rest["tenants"].as_array().unwrap().len(), 1, "{rest}");
    assert_eq!(rest["tenants"][0]["tenant"], "globex");
    let table = stdout(&errand(&db, &["tenants"]));
    assert!(
        table.contains("globex") && table.contains("paused by"),
        "{table}"
    );
}

/// Creates, through the library, a sealed batch of two waiting jobs for
/// tenant acme and an open one for tenant globex; returns their ids.
fn two_batches(db: &Path) -> (i64, i64) {
    use errand::store::{CreateBatchParams, NewBatch};
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = errand::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        let create = |tenant: &str, sealed: bool| {
            let mut jobs = vec![errand::NewJob::new("resize", serde_json::json!("a.jpg"))];
            jobs.push(errand::NewJob::new("resize", serde_json::json!("b.jpg")));
            for job in &mut jobs {
                job.tenant = Some(tenant.into());
            }
            store.create_batch(CreateBatchParams {
                batch: NewBatch {
                    tenant: Some(tenant.into()),
                    continuations: Vec::new(),
                    sealed,
                },
                jobs,
                now: chrono::Utc::now(),
                max_input_bytes: 1 << 20,
            })
        };
        let acme = create("acme", true).await.unwrap().id.0;
        let globex = create("globex", false).await.unwrap().id.0;
        (acme, globex)
    })
}

#[test]
fn batches_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("jobs.db");
    // Bad input exits 2 naming the field and the value, and creates no store.
    for (args, field) in [
        (&["batches", "list", "--limit", "0"][..], "limit"),
        (&["batches", "list", "--limit", "1001"][..], "limit"),
        (&["batches", "list", "--tenant", "a b"][..], "tenant"),
        (&["batches", "totals", "--tenant", ""][..], "tenant"),
    ] {
        refused(&db, args, field);
    }
    assert!(errand(&db, &["migrate"]).status.success());
    let (acme, globex) = two_batches(&db);

    // Newest first, paged, filtered by tenant.
    let list = json(&errand(&db, &["batches", "list", "--json"]));
    let ids: Vec<i64> = list["batches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [globex, acme]);
    let page = json(&errand(
        &db,
        &["batches", "list", "--before", &globex.to_string(), "--json"],
    ));
    assert_eq!(page["batches"][0]["id"], acme);
    assert_eq!(page["batches"].as_array().unwrap().len(), 1);
    let of_acme = json(&errand(
        &db,
        &["batches", "list", "--tenant", "acme", "--json"],
    ))["batches"]
        .clone();
    assert_eq!(of_acme.as_array().unwrap().len(), 1);
    assert_eq!(of_acme[0]["counts"]["waiting"], 2);
    let table = stdout(&errand(&db, &["batches", "list"]));
    assert!(
        table.contains("open") && table.contains("running") && table.contains("0/2"),
        "{table}"
    );

    // Cancelled: its waiting jobs at once, and it finishes.
    let cancelled = json(&errand(
        &db,
        &["batches", "cancel", &acme.to_string(), "--json"],
    ));
    assert_eq!(cancelled["outcome"]["cancelled"], 2);
    assert_eq!(cancelled["outcome"]["signalled"], 0);
    let shown = json(&errand(
        &db,
        &["batches", "show", &acme.to_string(), "--json"],
    ));
    assert_eq!(shown["counts"]["cancelled"], 2);
    assert!(shown["finished_at"].is_string(), "{shown}");
    let text = stdout(&errand(&db, &["batches", "show", &acme.to_string()]));
    assert!(
        text.contains("(cancelled)") && text.contains("tenant     acme"),
        "{text}"
    );

    let totals = json(&errand(&db, &["batches", "totals", "--json"]));
    assert_eq!(totals["batches"], 2);
    assert_eq!(totals["unfinished"], 1);
    assert_eq!(totals["counts"]["total"], 4);
    assert_eq!(totals["counts"]["cancelled"], 2);
    let globex_totals = stdout(&errand(&db, &["batches", "totals", "--tenant", "globex"]));
    assert!(
        globex_totals.contains("tenant globex: 1 batches (1 unfinished), 2 jobs: 2 waiting"),
        "{globex_totals}"
    );

    // A batch that does not exist is named, exit 2.
    for command in ["show", "cancel"] {
        let out = errand(&db, &["batches", command, "999"]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains("999"), "{}", stderr(&out));
    }
}

#[errand::job(max_attempts = 1)]
async fn deliver(input: String) -> Result<(), errand::JobError> {
    match input.strip_prefix("fail:") {
        Some(reason) => Err(errand::JobError::fatal(reason.to_owned())),
        None => Ok(()),
    }
}

/// Enqueues `inputs` as `deliver` jobs through the `errand` binary (queue
/// `mail` for the first, `sms` for the rest) and runs them once; returns
/// their ids in order.
fn delivered(db: &Path, inputs: &[&str]) -> Vec<i64> {
    let ids = inputs
        .iter()
        .enumerate()
        .map(|(i, input)| {
            let queue = if i == 0 { "mail" } else { "sms" };
            let out = errand(
                db,
                &[
                    "enqueue",
                    "deliver",
                    "--input",
                    &serde_json::to_string(input).unwrap(),
                    "--queue",
                    queue,
                    "--max-attempts",
                    "1",
                    "--json",
                ],
            );
            assert!(out.status.success(), "{}", stderr(&out));
            json(&out)["id"].as_i64().unwrap()
        })
        .collect();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = errand::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        let worker = errand::Worker::builder(store)
            .register(deliver::job())
            .queues(["mail", "sms", "default"])
            .build()
            .unwrap();
        worker.drain().await.unwrap();
    });
    ids
}

#[test]
fn dead_letters_are_listed_by_error_and_retried_in_bulk() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("jobs.db");
    // A bulk retry without a filter, or with a bad one, exits 2 naming it,
    // before any store is opened.
    for (args, field) in [
        (&["jobs", "retry"][..], "filter"),
        (&["jobs", "retry", "--error", ""][..], "error_contains"),
        (
            &["jobs", "retry", "--state", "running", "--all"][..],
            "state",
        ),
        (&["jobs", "retry", "--kind", "a b"][..], "kind"),
    ] {
        refused(&db, args, field);
    }
    let both = errand(&db, &["jobs", "retry", "7", "--all"]);
    assert_eq!(both.status.code(), Some(2), "an id and a filter conflict");

    let ids = delivered(
        &db,
        &[
            "fail:SMTP Timeout after 30s",
            "fail:gateway timeout",
            "fail:number unknown",
            "sent",
        ],
    );
    let listed = |args: &[&str]| -> Vec<i64> {
        let mut all = vec!["jobs", "list", "--state", "failed", "--json"];
        all.extend_from_slice(args);
        json(&errand(&db, &all))["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(listed(&[]), [ids[2], ids[1], ids[0]]);
    assert_eq!(listed(&["--error", "TIMEOUT"]), [ids[1], ids[0]]);
    assert_eq!(listed(&["--error", "timeout", "--queue", "sms"]), [ids[1]]);
    assert_eq!(listed(&["--before", &ids[1].to_string()]), [ids[0]]);

    let retried = json(&errand(
        &db,
        &["jobs", "retry", "--error", "timeout", "--json"],
    ));
    assert_eq!(retried["retried"], 2);
    assert_eq!(listed(&[]), [ids[2]], "the other failure stays");
    let shown = json(&errand(
        &db,
        &["jobs", "show", &ids[0].to_string(), "--json"],
    ));
    assert_eq!(shown["state"], "available");
    assert_eq!(shown["errors"].as_array().unwrap().len(), 1, "history kept");

    let rest = stdout(&errand(&db, &["jobs", "retry", "--all"]));
    assert!(rest.contains("1 failed jobs retried"), "{rest}");
    assert!(listed(&[]).is_empty());
    let sent = json(&errand(
        &db,
        &["jobs", "show", &ids[3].to_string(), "--json"],
    ));
    assert_eq!(sent["state"], "completed", "only failed jobs are retried");
}

#[test]
fn prune_deletes_what_is_past_its_retention_and_dry_run_only_counts() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("jobs.db");
    for (args, field) in [
        (&["prune", "--completed", "soon"][..], "completed"),
        (&["prune", "--failed", "0s"][..], "failed \"0s\""),
        (&["prune", "--audit", "forever"][..], "audit"),
        (&["prune", "--batches", "-1d"][..], "batches"),
    ] {
        refused(&db, args, field);
    }
    assert!(errand(&db, &["migrate"]).status.success());

    // Two jobs completed and one failed two days ago, one completed now; a
    // batch finished eight days ago and one now.
    let now = chrono::Utc::now();
    let days_ago = |n| now - chrono::TimeDelta::days(n);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = errand::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        let enqueue = |input: &str, at| {
            let mut job = errand::NewJob::new("deliver", serde_json::json!(input));
            job.max_attempts = 1;
            store.enqueue(errand::store::EnqueueParams {
                jobs: vec![job],
                now: at,
                max_input_bytes: 1 << 20,
            })
        };
        for input in ["sent", "sent", "fail:bounced"] {
            enqueue(input, days_ago(2)).await.unwrap();
        }
        // This worker's own pruner must not run first.
        let worker = errand::Worker::builder(store.clone())
            .register(deliver::job())
            .retention(errand::maintenance::Retention::forever())
            .build()
            .unwrap();
        worker.drain_at(days_ago(2)).await.unwrap();
        enqueue("sent", now).await.unwrap();
        worker.drain_at(now).await.unwrap();
        for at in [days_ago(8), now] {
            store
                .create_batch(errand::store::CreateBatchParams {
                    batch: errand::store::NewBatch {
                        sealed: true,
                        ..errand::store::NewBatch::default()
                    },
                    jobs: Vec::new(),
                    now: at,
                    max_input_bytes: 1 << 20,
                })
                .await
                .unwrap();
        }
        // An audit record a hundred days old, past the default 90 days.
        store
            .record_audit(errand::store::NewAuditRecord {
                at: days_ago(100),
                actor: "cli old".into(),
                action: "jobs.retry".into(),
                target: Some("1".into()),
                filter: None,
                count: 1,
            })
            .await
            .unwrap();
    });
    let jobs = || {
        json(&errand(&db, &["jobs", "list", "--json"]))["jobs"]
            .as_array()
            .unwrap()
            .len()
    };
    let batches = || {
        json(&errand(&db, &["batches", "list", "--json"]))["batches"]
            .as_array()
            .unwrap()
            .len()
    };
    let counts = |out: &Output| -> Vec<(String, u64)> {
        assert!(out.status.success(), "{}", stderr(out));
        json(out)["pruned"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let what = p["what"].as_str().unwrap().to_owned();
                (what, p["count"].as_u64().unwrap())
            })
            .collect()
    };
    let expect = |c: u64, f: u64, b: u64, a: u64| {
        vec![
            ("completed".to_owned(), c),
            ("failed".to_owned(), f),
            ("cancelled".to_owned(), 0),
            ("batches".to_owned(), b),
            ("audit".to_owned(), a),
        ]
    };
    let dry = counts(&errand(&db, &["prune", "--dry-run", "--json"]));
    assert_eq!(
        dry,
        expect(2, 0, 1, 1),
        "defaults: 1 day, 7 days, 7 days, 90 days"
    );
    assert_eq!((jobs(), batches()), (4, 2), "a dry run deletes nothing");
    let text = stdout(&errand(&db, &["prune", "--dry-run", "--batches", "off"]));
    assert!(
        text.contains("would delete 2 completed") && text.contains("kept all batches (off)"),
        "{text}"
    );

    let done = counts(&errand(&db, &["prune", "--failed", "1d", "--json"]));
    assert_eq!(done, expect(2, 1, 1, 1));
    assert_eq!((jobs(), batches()), (1, 1), "what is recent stays");
    // The prune itself is in the audit; the old record is gone.
    let audit = json(&errand(&db, &["audit", "--json"]));
    let actions: Vec<&str> = audit["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["prune"], "{audit}");
    assert_eq!(audit["records"][0]["count"], 5);
    let again = counts(&errand(&db, &["prune", "--json"]));
    assert_eq!(again, expect(0, 0, 0, 0));
}

/// A minimal HTTP/1.1 exchange: status and body.
fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: 0\r\n"
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let (headers, body) = response.split_once("\r\n\r\n").unwrap();
    // A chunked body: keep the chunks' data only.
    let body = if headers
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut data = String::new();
        let mut rest = body;
        while let Some((size, tail)) = rest.split_once("\r\n") {
            let size = usize::from_str_radix(size.trim(), 16).unwrap();
            if size == 0 {
                break;
            }
            data.push_str(&tail[..size]);
            rest = &tail[size + 2..];
        }
        data
    } else {
        body.to_owned()
    };
    (status, body)
}

/// `errand serve` started on a free loopback port; its address.
/// A running `errand serve`, killed when dropped: a failed assertion must
/// not leave it running (it would hold the test run's output open).
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(db: &Path, extra: &[&str]) -> (Server, String) {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_errand"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .args(extra)
        .env("ERRAND_DATABASE_URL", format!("sqlite://{}", db.display()))
        .env_remove("ERRAND_ADMIN_TOKEN")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let server = Server(child);
    let mut line = String::new();
    std::io::BufReader::new(stderr)
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_owned();
    (server, addr)
}

#[test]
fn serve_answers_what_the_commands_print_and_guards_other_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("jobs.db");
    // Without a token, only loopback: refused before any store is touched.
    for bind in ["0.0.0.0:7700", "192.0.2.1:80"] {
        let out = errand(&db, &["serve", "--bind", bind]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("invalid bind") && stderr(&out).contains(bind),
            "{}",
            stderr(&out)
        );
    }
    let out = errand(&db, &["serve", "--bind", "nowhere"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = errand(&db, &["serve", "--token", "short"]);
    assert!(stderr(&out).contains("invalid token"), "{}", stderr(&out));
    assert!(!db.exists(), "refused commands create no store");

    assert!(errand(&db, &["migrate"]).status.success());
    for input in ["{\"to\": 1}", "{\"to\": 2}"] {
        assert!(
            errand(&db, &["enqueue", "send_email", "--input", input])
                .status
                .success()
        );
    }
    // A worker's heartbeat, as a running worker writes it.
    let now = chrono::Utc::now();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = errand::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        store
            .beat(errand::store::WorkerBeat {
                name: "web-1-42-abcdef".into(),
                host: "web-1".into(),
                pid: 42,
                queues: vec!["mail".into()],
                kinds: vec!["send_email".into()],
                concurrency: 4,
                running: 1,
                started_at: now,
                beat_at: now,
                loops: vec![],
                global_limits: Default::default(),
                tenant_limit: None,
                tenant_limits: Default::default(),
            })
            .await
            .unwrap();
    });
    let table = stdout(&errand(&db, &["workers"]));
    assert!(
        table.contains("web-1-42-abcdef") && table.contains("alive") && table.contains("1/4"),
        "{table}"
    );
    let (server, addr) = serve(&db, &[]);
    for (path, args) in [
        ("/api/workers", &["workers", "--json"][..]),
        ("/api/jobs", &["jobs", "list", "--json"]),
        ("/api/jobs/1", &["jobs", "show", "1", "--json"]),
        ("/api/stats", &["stats", "--json"]),
        ("/api/batches", &["batches", "list", "--json"]),
        ("/api/cron", &["cron", "list", "--json"]),
    ] {
        let (status, body) = http(&addr, "GET", path, &[]);
        assert_eq!(status, 200, "{path}: {body}");
        let served: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            served,
            json(&errand(&db, args)),
            "GET {path} and errand {args:?}"
        );
    }
    // A mutation needs the page's CSRF token when no bearer token is set.
    let (status, _) = http(&addr, "POST", "/api/jobs/1/cancel", &[]);
    assert_eq!(status, 403);
    let (_, session) = http(&addr, "GET", "/api/session", &[]);
    let csrf = serde_json::from_str::<serde_json::Value>(&session).unwrap()["csrf_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = http(
        &addr,
        "POST",
        "/api/jobs/1/cancel",
        &[("x-csrf-token", &csrf)],
    );
    assert_eq!(
        (status, body.as_str()),
        (200, "{\"id\":1,\"result\":\"cancelled\"}")
    );
    let (status, metrics) = http(&addr, "GET", "/metrics", &[]);
    assert_eq!(status, 200, "{metrics}");
    // A process without workers reports the whole store: its jobs per
    // queue and state (zeros too), each queue's lag, the live workers.
    for line in [
        "errand_store_jobs{queue=\"default\",state=\"available\"}",
        "errand_store_jobs{queue=\"default\",state=\"running\"} 0",
        "errand_queue_oldest_due_seconds{queue=\"default\"}",
        "errand_workers_alive",
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
    // The audit: the two enqueues of the CLI, the cancel through the API;
    // `errand audit --json` prints what GET /api/audit serves.
    let (status, body) = http(&addr, "GET", "/api/audit", &[]);
    assert_eq!(status, 200, "{body}");
    let served: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(served, json(&errand(&db, &["audit", "--json"])));
    let records = served["records"].as_array().unwrap();
    let seen: Vec<(&str, &str)> = records
        .iter()
        .map(|r| (r["action"].as_str().unwrap(), r["actor"].as_str().unwrap()))
        .collect();
    assert_eq!(seen.len(), 3, "{served}");
    assert_eq!(seen[0], ("jobs.cancel", "loopback"));
    assert_eq!(records[0]["target"], "1");
    for (action, actor) in &seen[1..] {
        assert_eq!(*action, "jobs.enqueue");
        assert!(actor.starts_with("cli "), "{actor}");
    }
    let table = stdout(&errand(&db, &["audit"]));
    assert!(
        table.contains("jobs.cancel") && table.contains("loopback"),
        "{table}"
    );
    let out = errand(&db, &["audit", "--limit", "0"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("limit"), "{}", stderr(&out));
    drop(server);

    // With a token: nothing without it; read-only refuses mutations.
    let (server, addr) = serve(&db, &["--token", "0123456789abcdef", "--read-only"]);
    assert_eq!(http(&addr, "GET", "/api/jobs", &[]).0, 401);
    let bearer = [("authorization", "Bearer 0123456789abcdef")];
    assert_eq!(http(&addr, "GET", "/api/jobs", &bearer).0, 200);
    assert_eq!(http(&addr, "POST", "/api/jobs/2/cancel", &bearer).0, 403);
    assert_eq!(
        json(&errand(&db, &["jobs", "show", "2", "--json"]))["state"],
        "available"
    );
    drop(server);
}
