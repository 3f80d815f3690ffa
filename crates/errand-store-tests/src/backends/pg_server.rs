//! A throwaway PostgreSQL server of the test's own (initdb + pg_ctl), for the
//! case that restarts the server under running workers.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use errand::{Error, Result};

/// A server in a temporary directory, stopped when dropped.
#[derive(Debug)]
pub struct PgServer {
    bindir: PathBuf,
    data: PathBuf,
    port: u16,
    as_postgres: bool,
    _dir: tempfile::TempDir,
}

fn failed(what: &str, e: impl std::fmt::Display) -> Error {
    Error::backend_msg(format!("throwaway PostgreSQL: {what}: {e}"))
}

/// The server binaries: `ERRAND_TEST_PG_BINDIR`, else `pg_config --bindir`,
/// else the newest `/usr/lib/postgresql/*/bin`.
fn bindir() -> Result<PathBuf> {
    if let Ok(dir) = std::env::var("ERRAND_TEST_PG_BINDIR") {
        return Ok(PathBuf::from(dir));
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return Ok(dir);
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|e| failed("find initdb (set ERRAND_TEST_PG_BINDIR)", e))?
        .filter_map(|entry| entry.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .ok_or_else(|| failed("find initdb", "no /usr/lib/postgresql/*/bin/initdb"))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

impl PgServer {
    /// Initializes and starts a server on a free local port.
    pub fn start() -> Result<Self> {
        let bindir = bindir()?;
        let dir = tempfile::tempdir().map_err(|e| failed("temporary directory", e))?;
        let data = dir.path().join("data");
        // PostgreSQL refuses to run as root: run it as the postgres user then.
        let as_postgres = is_root();
        if as_postgres {
            run(
                Command::new("chown").arg("postgres").arg(dir.path()),
                "chown",
            )?;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|e| failed("pick a port", e))?;
        let server = PgServer {
            bindir,
            data,
            port,
            as_postgres,
            _dir: dir,
        };
        run(
            &mut server.command(
                "initdb",
                &[
                    "-D",
                    &server.data.display().to_string(),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--no-sync",
                ],
            ),
            "initdb",
        )?;
        server.pg_ctl(&["start", "-w", "-t", "60"])?;
        Ok(server)
    }

    /// The URL of its `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops it the hard way (as a crash would) and starts it again.
    pub fn crash_and_restart(&self, down: std::time::Duration) -> Result<()> {
        self.pg_ctl(&["stop", "-m", "immediate", "-w"])?;
        // The outage being simulated, not a wait for something.
        std::thread::sleep(down);
        self.pg_ctl(&["start", "-w", "-t", "60"])
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<()> {
        let data = self.data.display().to_string();
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {}",
            self.port,
            self.data.parent().unwrap_or(Path::new("/tmp")).display()
        );
        let log = self.data.with_file_name("server.log").display().to_string();
        let mut all = vec!["-D", &data, "-l", &log, "-o", &options];
        all.extend_from_slice(args);
        run(&mut self.command("pg_ctl", &all), "pg_ctl")
    }

    fn command(&self, program: &str, args: &[&str]) -> Command {
        let path = self.bindir.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.arg("-u").arg("postgres").arg("--").arg(path).args(args);
            c
        } else {
            let mut c = Command::new(path);
            c.args(args);
            c
        }
    }
}

fn run(command: &mut Command, what: &str) -> Result<()> {
    let out = command.output().map_err(|e| failed(what, e))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(failed(
            what,
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        ))
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let _ = self.pg_ctl(&["stop", "-m", "immediate", "-w"]);
    }
}

impl super::ThrowawayServer for PgServer {
    fn url(&self) -> String {
        PgServer::url(self)
    }

    fn crash_and_restart(&self, down: std::time::Duration) -> Result<()> {
        PgServer::crash_and_restart(self, down)
    }
}
