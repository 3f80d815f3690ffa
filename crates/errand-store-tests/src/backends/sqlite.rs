//! SQLite: every harness gets its own database file in a temporary directory.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use errand::{Error, JobId, NewJob, Result};
use errand_sqlite::SqliteStore;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Sqlite, SqlitePool, Transaction};

use crate::{Harness, OpenTx, TxProbe};

fn db(e: sqlx::Error) -> Error {
    Error::Backend(e.to_string())
}

/// A new store on a new file, with a probe for transactional enqueue.
pub async fn harness() -> Harness {
    let dir = tempfile::tempdir()
        .map_err(|e| Error::Backend(e.to_string()))
        .unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("errand.db");
    let store = SqliteStore::open(&path)
        .await
        .unwrap_or_else(|e| panic!("open store: {e}"));
    let app = SqlitePool::connect_with(
        SqliteConnectOptions::new()
            .filename(&path)
            .busy_timeout(std::time::Duration::from_secs(30)),
    )
    .await
    .unwrap_or_else(|e| panic!("application pool: {e}"));
    Harness {
        store: Arc::new(store),
        url: format!("sqlite://{}", path.display()),
        namespace: None,
        tx: Some(Arc::new(SqliteTx { app })),
        probe_worker: None,
        guard: Box::new(dir),
        cleanup: None,
    }
}

struct SqliteTx {
    app: SqlitePool,
}

struct Open {
    tx: Transaction<'static, Sqlite>,
    id: JobId,
}

#[async_trait]
impl TxProbe for SqliteTx {
    async fn begin_and_enqueue(&self, job: NewJob, now: DateTime<Utc>) -> Result<Box<dyn OpenTx>> {
        let mut tx = self.app.begin().await.map_err(db)?;
        let done = errand_sqlite::enqueue_all_in(&mut tx, vec![job], now).await?;
        let id = done
            .first()
            .map(|e| e.id)
            .ok_or_else(|| Error::Backend("no id".into()))?;
        Ok(Box::new(Open { tx, id }))
    }
}

#[async_trait]
impl OpenTx for Open {
    fn id(&self) -> JobId {
        self.id
    }
    async fn commit(self: Box<Self>) -> Result<()> {
        self.tx.commit().await.map_err(db)
    }
    async fn rollback(self: Box<Self>) -> Result<()> {
        self.tx.rollback().await.map_err(db)
    }
}
