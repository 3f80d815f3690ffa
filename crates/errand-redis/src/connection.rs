//! The store's connection: one server (a `ConnectionManager` that
//! reconnects by itself) or a Redis Cluster (a cluster connection that
//! follows slot moves and failovers). Every key of a store shares one hash
//! tag, so in a cluster they all live on one shard; scripts name a key of
//! the prefix (KEYS[1]) so that the cluster routes them there.

use std::time::Duration;

use errand_core::{Error, Result};
use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, Value};

/// Where a store's server is: one node, or the seed nodes of a cluster.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    Single(String),
    Cluster(Vec<String>),
}

impl Target {
    /// Reads a URL: `redis://host:port` (one server), or a cluster as
    /// `redis+cluster://host:port` (a seed node) or
    /// `redis://host1:port1,host2:port2,...` (several seed nodes). The
    /// scheme, user and password of the first node apply to all.
    pub(crate) fn parse(url: &str) -> Result<Target> {
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            Error::invalid(
                "database_url",
                errand_core::validate::redact_url(url),
                "is not a URL",
            )
        })?;
        let (cluster, scheme) = match scheme.strip_suffix("+cluster") {
            Some(base) => (true, base),
            None => (false, scheme),
        };
        // user:password@ of the first node, and a path or query after the last.
        let (auth, hosts) = match rest.rfind('@') {
            Some(at) => (&rest[..=at], &rest[at + 1..]),
            None => ("", rest),
        };
        let tail_at = hosts.find(['/', '?']).unwrap_or(hosts.len());
        let (hosts, tail) = hosts.split_at(tail_at);
        if !cluster && !hosts.contains(',') {
            return Ok(Target::Single(url.to_owned()));
        }
        let nodes: Vec<String> = hosts
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map(|host| format!("{scheme}://{auth}{host}{tail}"))
            .collect();
        if nodes.is_empty() {
            return Err(Error::invalid(
                "database_url",
                errand_core::validate::redact_url(url),
                "names no cluster node",
            ));
        }
        Ok(Target::Cluster(nodes))
    }

    /// The node URLs: one, or the cluster's seeds.
    pub(crate) fn nodes(&self) -> Vec<String> {
        match self {
            Target::Single(url) => vec![url.clone()],
            Target::Cluster(nodes) => nodes.clone(),
        }
    }
}

/// The store's connection to its server or cluster.
#[derive(Clone)]
pub(crate) enum Connection {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl Connection {
    /// Connects to `target`. `first` bounds the first connection (and its
    /// answers); later reconnects are tried at most 250 ms apart.
    pub(crate) async fn open(
        target: &Target,
        connect_timeout: Duration,
        response_timeout: Duration,
    ) -> std::result::Result<Connection, redis::RedisError> {
        match target {
            Target::Single(url) => {
                let client = redis::Client::open(url.as_str())?;
                // A server that comes back is used again within 250 ms (the
                // default backoff grew to 3.2 s).
                let config = redis::aio::ConnectionManagerConfig::new()
                    .set_max_delay(Duration::from_millis(250))
                    .set_response_timeout(Some(response_timeout))
                    .set_connection_timeout(Some(connect_timeout));
                Ok(Connection::Single(
                    client.get_connection_manager_with_config(config).await?,
                ))
            }
            Target::Cluster(nodes) => {
                let client = redis::cluster::ClusterClientBuilder::new(nodes.clone())
                    .connection_timeout(connect_timeout)
                    .response_timeout(response_timeout)
                    .retries(20)
                    .min_retry_wait(10)
                    .max_retry_wait(250)
                    .build()?;
                Ok(Connection::Cluster(client.get_async_connection().await?))
            }
        }
    }

    /// Runs `cmd` on the node that holds `slot` (a command whose arguments
    /// name no key, such as CLUSTER GETKEYSINSLOT).
    pub(crate) async fn on_slot(
        &mut self,
        slot: u16,
        cmd: Cmd,
    ) -> std::result::Result<Value, redis::RedisError> {
        match self {
            Connection::Single(conn) => cmd.query_async(conn).await,
            Connection::Cluster(conn) => {
                let route = redis::cluster_routing::Route::new(
                    slot,
                    redis::cluster_routing::SlotAddr::Master,
                );
                conn.route_command(
                    cmd,
                    redis::cluster_routing::RoutingInfo::SingleNode(
                        redis::cluster_routing::SingleNodeRoutingInfo::SpecificNode(route),
                    ),
                )
                .await
            }
        }
    }

    /// True for a cluster.
    pub(crate) fn is_cluster(&self) -> bool {
        matches!(self, Connection::Cluster(_))
    }
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Connection::Single(conn) => conn.req_packed_command(cmd),
            Connection::Cluster(conn) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Connection::Single(conn) => conn.req_packed_commands(pipeline, offset, count),
            Connection::Cluster(conn) => conn.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Connection::Single(conn) => conn.get_db(),
            Connection::Cluster(conn) => conn.get_db(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_urls_name_every_seed_node() {
        assert!(matches!(
            Target::parse("redis://127.0.0.1:6379"),
            Ok(Target::Single(url)) if url == "redis://127.0.0.1:6379"
        ));
        let nodes = Target::parse("redis://:pw@10.0.0.1:7000,10.0.0.2:7001/0")
            .map(|t| t.nodes())
            .unwrap_or_default();
        assert_eq!(
            nodes,
            ["redis://:pw@10.0.0.1:7000/0", "redis://:pw@10.0.0.2:7001/0"]
        );
        let seed = Target::parse("rediss+cluster://node:7000")
            .map(|t| t.nodes())
            .unwrap_or_default();
        assert_eq!(seed, ["rediss://node:7000"]);
        assert!(Target::parse("redis://,").is_err());
        assert!(matches!(
            Target::parse("redis://:p,w@host:6379"),
            Ok(Target::Single(_))
        ));
    }
}
