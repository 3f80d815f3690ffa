//! `errand serve`: the admin API (and, with it, /metrics and /health) over
//! the target store.

use std::net::SocketAddr;

use clap::Args;
use errand::Error;
use errand_admin::{Access, Api};

use crate::jobs::client;
use crate::store::Target;

/// Arguments of `errand serve`.
#[derive(Args, Debug)]
pub(crate) struct ServeArgs {
    /// The address to listen on. Without a token only a loopback address
    /// is accepted.
    #[arg(long, default_value = "127.0.0.1:7700")]
    bind: String,
    /// Every request must carry `Authorization: Bearer <TOKEN>` (8 or more
    /// visible ASCII characters).
    #[arg(long, env = "ERRAND_ADMIN_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Refuse every mutation (403).
    #[arg(long)]
    read_only: bool,
}

/// The address and access `args` ask for, checked: a non-loopback address
/// needs a token.
fn access(args: &ServeArgs) -> Result<(SocketAddr, Access), Error> {
    let addr: SocketAddr = args.bind.parse().map_err(|e| {
        Error::invalid(
            "bind",
            &args.bind,
            format!("is not an address such as 127.0.0.1:7700: {e}"),
        )
    })?;
    let access = match &args.token {
        Some(token) => Access::token(token.clone())?,
        None if addr.ip().is_loopback() => Access::loopback(),
        None => {
            return Err(Error::invalid(
                "bind",
                &args.bind,
                "is not a loopback address: set --token (or ERRAND_ADMIN_TOKEN) to serve other hosts",
            ));
        }
    };
    Ok((
        addr,
        if args.read_only {
            access.read_only()
        } else {
            access
        },
    ))
}

pub(crate) async fn run(target: Target<'_>, args: ServeArgs) -> anyhow::Result<()> {
    let (addr, access) = access(&args)?;
    let client = client(target, false).await?;
    let mut api = Api::new(client);
    match errand::observe::install_prometheus() {
        Ok(prometheus) => api = api.metrics(move || prometheus.render()),
        Err(e) => {
            tracing::warn!(error = %e, "no /metrics: the Prometheus recorder did not install")
        }
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Error::invalid("bind", addr, format!("cannot listen: {e}")))?;
    let local = listener.local_addr()?;
    eprintln!(
        "errand dashboard on http://{local}/ and admin API on http://{local}/api ({}{})",
        if access.is_open() {
            "loopback only, no token"
        } else {
            "bearer token required"
        },
        if access.is_read_only() {
            ", read-only"
        } else {
            ""
        }
    );
    axum::serve(listener, api.router(access))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
