//! Runs every example as a user would (`cargo run -p errand-examples --bin
//! NAME`), each in a directory of its own, and checks that the README shows
//! the quickstart example as it is.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::process::Command;

fn run(program: &str) {
    run_with(program, &[]);
}

/// Runs `program` in a directory of its own with `env` set; panics with its
/// output when it fails.
fn run_with(program: &str, env: &[(&str, &str)]) {
    let dir = tempfile::tempdir().unwrap();
    let database_url = std::env::var("ERRAND_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let out = Command::new(program)
        .current_dir(dir.path())
        .env("DATABASE_URL", database_url)
        .env_remove("ERRAND_DATABASE_URL")
        .env_remove("ERRAND_SCHEMA")
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {env:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `program` on PostgreSQL and on Redis through ERRAND_DATABASE_URL,
/// each in a schema or key prefix of its own, removed afterwards.
fn run_on_every_store(program: &str) {
    run(program);
    let postgres = std::env::var("ERRAND_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let redis = std::env::var("ERRAND_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let tag = format!("{secs}_{:08x}", fastrand::u32(..));
    let schema = format!("errand_test_{tag}");
    let prefix = format!("errand-example:{{{tag}}}");
    run_with(
        program,
        &[
            ("ERRAND_DATABASE_URL", &postgres),
            ("ERRAND_SCHEMA", &schema),
        ],
    );
    run_with(
        program,
        &[("ERRAND_DATABASE_URL", &redis), ("ERRAND_SCHEMA", &prefix)],
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let pool = sqlx::PgPool::connect(&postgres).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"
        )))
        .execute(&pool)
        .await
        .unwrap();
        let store = errand::RedisStore::connect_with(
            &redis,
            errand::redis::RedisOptions {
                prefix: prefix.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        store.clear().await.unwrap();
    });
}

#[test]
fn loop_job() {
    run(env!("CARGO_BIN_EXE_loop_job"));
}

#[test]
fn cron() {
    run_on_every_store(env!("CARGO_BIN_EXE_cron"));
}

#[test]
fn pause() {
    run_on_every_store(env!("CARGO_BIN_EXE_pause"));
}

#[test]
fn batch() {
    run_on_every_store(env!("CARGO_BIN_EXE_batch"));
}

#[test]
fn tenants() {
    run_on_every_store(env!("CARGO_BIN_EXE_tenants"));
}

#[test]
fn metrics() {
    run_on_every_store(env!("CARGO_BIN_EXE_metrics"));
}

#[test]
fn admin() {
    run_on_every_store(env!("CARGO_BIN_EXE_admin"));
}

#[test]
fn quickstart() {
    run_on_every_store(env!("CARGO_BIN_EXE_quickstart"));
}

#[test]
fn email_queue() {
    run_on_every_store(env!("CARGO_BIN_EXE_email_queue"));
}

#[test]
fn image_resize() {
    run_on_every_store(env!("CARGO_BIN_EXE_image_resize"));
}

#[test]
fn invoice_at() {
    run_on_every_store(env!("CARGO_BIN_EXE_invoice_at"));
}

#[test]
fn failed_payment() {
    run_on_every_store(env!("CARGO_BIN_EXE_failed_payment"));
}

#[test]
fn axum_signup() {
    run(env!("CARGO_BIN_EXE_axum_signup"));
}

#[test]
fn postgres_exactly_once() {
    run(env!("CARGO_BIN_EXE_postgres_exactly_once"));
}

/// The README's example is `quickstart.rs` without its opening doc comment.
#[test]
fn the_readme_shows_the_quickstart_program() {
    let readme = include_str!("../../README.md");
    let program = include_str!("../quickstart.rs");
    let body: String = program
        .lines()
        .skip_while(|l| l.starts_with("//!") || l.is_empty())
        .map(|l| format!("{l}\n"))
        .collect();
    let start = readme
        .find("```rust")
        .and_then(|i| readme[i..].find('\n').map(|n| i + n + 1))
        .expect("a rust block in the README");
    let end = start + readme[start..].find("```").expect("the block ends");
    assert_eq!(
        &readme[start..end],
        body,
        "README.md's example must be examples/quickstart.rs as it is"
    );
}

/// Every Rust block of the READMEs and docs is compiled: none is `ignore`d,
/// and each file with Rust blocks is included as a doc test somewhere.
#[test]
fn no_doc_block_is_left_uncompiled() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = vec![root.join("README.md"), root.join("examples/README.md")];
    for folder in ["docs", "crates"] {
        for entry in std::fs::read_dir(root.join(folder)).unwrap() {
            let path = entry.unwrap().path();
            let readme = path.join("README.md");
            if path.extension().is_some_and(|e| e == "md") {
                files.push(path);
            } else if readme.exists() {
                files.push(readme);
            }
        }
    }
    let sources: String = ["crates/errand/src/lib.rs"]
        .iter()
        .map(|f| std::fs::read_to_string(root.join(f)).unwrap())
        .collect();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let rust_blocks = text
            .lines()
            .filter(|l| l.starts_with("```rust") || l.trim() == "```ignore")
            .collect::<Vec<_>>();
        for block in &rust_blocks {
            assert!(
                !block.contains("ignore"),
                "{}: a code block is ignored ({block})",
                file.display()
            );
        }
        if rust_blocks.is_empty() {
            continue;
        }
        // Where it is compiled: its crate's lib.rs, or the facade for the
        // workspace's own files.
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let crate_lib = file.parent().unwrap().join("src/lib.rs");
        let included = std::fs::read_to_string(&crate_lib)
            .map(|lib| lib.contains("include_str!(\"../README.md\")"))
            .unwrap_or(false)
            || sources.contains(&format!("{name}\")"));
        assert!(
            included,
            "{} has Rust blocks that no doc test compiles",
            file.display()
        );
    }
}
