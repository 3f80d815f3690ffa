//! What the admin tests share: a new store on each backend.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

/// The stores every admin test runs against.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
    Redis,
}

impl Backend {
    pub(crate) const ALL: [Backend; 3] = [Backend::Sqlite, Backend::Postgres, Backend::Redis];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::Redis => "redis",
        }
    }
}

/// A new store: a SQLite file in `dir`, or a new PostgreSQL schema or Redis
/// prefix on the servers of ERRAND_TEST_POSTGRES_URL / ERRAND_TEST_REDIS_URL
/// (an unreachable server fails the test).
pub(crate) async fn store_on(
    backend: Backend,
    dir: &std::path::Path,
) -> std::sync::Arc<dyn errand::Store> {
    let name = format!("admin_{:08x}", fastrand::u32(..));
    let (url, namespace) = match backend {
        Backend::Sqlite => (format!("sqlite://{}", dir.join("admin.db").display()), None),
        Backend::Postgres => (
            std::env::var("ERRAND_TEST_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into()),
            Some(name),
        ),
        Backend::Redis => (
            std::env::var("ERRAND_TEST_REDIS_URL")
                .unwrap_or_else(|_| "redis://127.0.0.1:6379".into()),
            Some(format!("{{{name}}}")),
        ),
    };
    let options = errand::ConnectOptions {
        namespace,
        ..Default::default()
    };
    errand::connect_with(&url, options)
        .await
        .unwrap_or_else(|e| panic!("{backend:?} at {url} must be reachable: {e}"))
}
