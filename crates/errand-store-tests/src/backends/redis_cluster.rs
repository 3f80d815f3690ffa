//! A throwaway Redis Cluster of the test's own (three masters, each with a
//! replica, on free loopback ports), for the case that fails a master over
//! under running workers. The suite's other cluster cases use the cluster
//! the test script starts (`ERRAND_TEST_REDIS_CLUSTER_URL`).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use errand::{Error, Result};

/// Six `redis-server` processes in a temporary directory, killed when dropped.
#[derive(Debug)]
pub struct RedisCluster {
    ports: Vec<u16>,
    dir: tempfile::TempDir,
    children: Mutex<Vec<Option<Child>>>,
}

fn failed(what: &str, e: impl std::fmt::Display) -> Error {
    Error::backend_msg(format!("throwaway Redis Cluster: {what}: {e}"))
}

/// Six ports, each with its cluster bus port (+10000), free now.
fn free_ports() -> Result<Vec<u16>> {
    for _ in 0..200 {
        let base = fastrand::u16(20_000..29_000);
        let ports: Vec<u16> = (base..base + 6).collect();
        let free = ports.iter().all(|p| {
            TcpListener::bind(("127.0.0.1", *p)).is_ok()
                && TcpListener::bind(("127.0.0.1", p + 10_000)).is_ok()
        });
        if free {
            return Ok(ports);
        }
    }
    Err(failed("find free ports", "none"))
}

fn cli(port: u16, args: &[&str]) -> Result<String> {
    let out = Command::new("redis-cli")
        .arg("-p")
        .arg(port.to_string())
        .args(args)
        .output()
        .map_err(|e| failed("run redis-cli", e))?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Polls `check` every 50 ms until it holds or `limit` passes.
fn wait_for(limit: Duration, what: &str, mut check: impl FnMut() -> bool) -> Result<()> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(failed("timed out waiting", what))
}

impl RedisCluster {
    /// Starts six nodes and joins them into a cluster with `redis-cli
    /// --cluster create`.
    pub fn start() -> Result<Self> {
        let dir = tempfile::tempdir().map_err(|e| failed("temporary directory", e))?;
        let ports = free_ports()?;
        let cluster = RedisCluster {
            ports: ports.clone(),
            dir,
            children: Mutex::new((0..ports.len()).map(|_| None).collect()),
        };
        for i in 0..ports.len() {
            cluster.launch(i)?;
        }
        for port in &ports {
            wait_for(Duration::from_secs(20), "a node answers", || {
                cli(*port, &["ping"]).is_ok_and(|o| o.trim() == "PONG")
            })?;
        }
        let nodes: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let status = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&nodes)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdout(Stdio::null())
            .status()
            .map_err(|e| failed("redis-cli --cluster create", e))?;
        if !status.success() {
            return Err(failed("redis-cli --cluster create", status));
        }
        wait_for(Duration::from_secs(30), "the cluster is ok", || {
            cluster.is_ok()
        })?;
        Ok(cluster)
    }

    fn launch(&self, i: usize) -> Result<()> {
        let port = self.ports[i];
        let dir = self.dir.path().join(port.to_string());
        std::fs::create_dir_all(&dir).map_err(|e| failed("node directory", e))?;
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .arg("--dir")
            .arg(&dir)
            .args([
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-node-timeout",
                "1000",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| failed("start redis-server", e))?;
        self.children.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(child);
        Ok(())
    }

    /// The URL naming every node as a seed.
    pub fn url(&self) -> String {
        let hosts: Vec<String> = self
            .ports
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect();
        format!("redis://{}", hosts.join(","))
    }

    fn live_ports(&self) -> Vec<u16> {
        let children = self.children.lock().unwrap_or_else(|p| p.into_inner());
        self.ports
            .iter()
            .zip(children.iter())
            .filter(|(_, c)| c.is_some())
            .map(|(p, _)| *p)
            .collect()
    }

    /// Every live node says the cluster is ok.
    fn is_ok(&self) -> bool {
        self.live_ports()
            .iter()
            .all(|p| cli(*p, &["cluster", "info"]).is_ok_and(|o| o.contains("cluster_state:ok")))
    }

    /// The port of the master that serves `key`'s slot.
    pub fn master_of(&self, key: &str) -> Result<u16> {
        let port = *self
            .live_ports()
            .first()
            .ok_or_else(|| failed("no live node", ""))?;
        let slot: u16 = cli(port, &["cluster", "keyslot", key])?
            .trim()
            .parse()
            .map_err(|e| failed("CLUSTER KEYSLOT", e))?;
        let nodes = cli(port, &["cluster", "nodes"])?;
        for line in nodes.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 9 || !fields[2].contains("master") || fields[2].contains("fail") {
                continue;
            }
            let serves = fields[8..].iter().any(|range| {
                let (low, high) = range.split_once('-').unwrap_or((range, range));
                matches!((low.parse::<u16>(), high.parse::<u16>()), (Ok(l), Ok(h)) if l <= slot && slot <= h)
            });
            if serves {
                let address = fields[1].split('@').next().unwrap_or("");
                return address
                    .rsplit(':')
                    .next()
                    .and_then(|p| p.parse().ok())
                    .ok_or_else(|| failed("CLUSTER NODES address", address));
            }
        }
        Err(failed("no master serves the slot of", key))
    }

    /// True once the replicas of `key`'s master hold as much of its
    /// replication stream as the master wrote.
    pub fn replicated(&self, key: &str) -> Result<bool> {
        let master = self.master_of(key)?;
        let info = cli(master, &["info", "replication"])?;
        let field = |name: &str| {
            info.lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().to_owned())
        };
        let offset = field("master_repl_offset:").unwrap_or_default();
        Ok(info
            .lines()
            .filter(|l| l.starts_with("slave"))
            .any(|l| l.contains(&format!("offset={offset},"))))
    }

    /// Kills the master serving `key`'s slot (SIGKILL) and waits until its
    /// replica serves the slot and the cluster is ok again. Returns the
    /// killed master's port and the new one's.
    pub fn fail_over(&self, key: &str) -> Result<(u16, u16)> {
        let old = self.master_of(key)?;
        let i = self
            .ports
            .iter()
            .position(|p| *p == old)
            .ok_or_else(|| failed("unknown port", old))?;
        if let Some(mut child) = self.children.lock().unwrap_or_else(|p| p.into_inner())[i].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        wait_for(
            Duration::from_secs(30),
            "a replica takes over the slot",
            || self.master_of(key).is_ok_and(|p| p != old) && self.is_ok(),
        )?;
        Ok((old, self.master_of(key)?))
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        let mut children = self.children.lock().unwrap_or_else(|p| p.into_inner());
        for child in children.iter_mut().filter_map(Option::take) {
            let mut child = child;
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
