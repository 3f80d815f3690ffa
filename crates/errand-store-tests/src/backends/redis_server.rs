//! A throwaway Redis server of the test's own, for the case that restarts the
//! server under running workers. It keeps an append-only file fsynced on every
//! write, so a killed server comes back with every job.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use errand::{Error, Result};

/// A server in a temporary directory, killed when dropped.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    dir: tempfile::TempDir,
    child: Mutex<Option<Child>>,
}

fn failed(what: &str, e: impl std::fmt::Display) -> Error {
    Error::backend_msg(format!("throwaway Redis: {what}: {e}"))
}

impl RedisServer {
    /// Starts `redis-server` (or `ERRAND_TEST_REDIS_SERVER`) on a free local port.
    pub fn start() -> Result<Self> {
        let dir = tempfile::tempdir().map_err(|e| failed("temporary directory", e))?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| failed("find a free port", e))?
            .port();
        let server = RedisServer {
            port,
            dir,
            child: Mutex::new(None),
        };
        server.launch()?;
        Ok(server)
    }

    /// The URL of the server.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server with SIGKILL and starts it again on the same data.
    pub fn crash_and_restart(&self, down: std::time::Duration) -> Result<()> {
        self.kill();
        // The outage being simulated, not a wait for something.
        std::thread::sleep(down);
        self.launch()
    }

    fn kill(&self) {
        let mut child = self.child.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(mut running) = child.take() {
            let _ = running.kill();
            let _ = running.wait();
        }
    }

    fn launch(&self) -> Result<()> {
        let program =
            std::env::var("ERRAND_TEST_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let child = Command::new(&program)
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .arg("--dir")
            .arg(self.dir.path())
            .args([
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| failed(&format!("start {program}"), e))?;
        *self.child.lock().unwrap_or_else(|p| p.into_inner()) = Some(child);
        // Ready once it accepts connections (it loads the append-only file first).
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ping = Command::new("redis-cli")
                .args(["-p", &self.port.to_string(), "ping"])
                .output();
            if ping.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "PONG") {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(failed("start", "no PONG within 30 s"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

impl super::ThrowawayServer for RedisServer {
    fn url(&self) -> String {
        RedisServer::url(self)
    }

    fn crash_and_restart(&self, down: std::time::Duration) -> Result<()> {
        RedisServer::crash_and_restart(self, down)
    }
}
