//! [`QueueControl`] for [`RedisStore`]: pauses in the hash `<P>:pauses`, one
//! field per scope (`<scope> <name>`) holding the pause as JSON.

use async_trait::async_trait;
use chrono::DateTime;
use errand_core::store::{
    Pause, PauseOutcome, PauseParams, PauseScope, QueueControl, ResumeParams,
};
use errand_core::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::RedisStore;
use crate::error::redis_error;
use crate::rows::micros;

/// A pause as stored: the scope is the field's name.
#[derive(Serialize, Deserialize)]
struct Stored {
    by: String,
    note: Option<String>,
    at: i64,
}

fn field(scope: &PauseScope) -> String {
    format!("{} {}", scope.kind(), scope.name())
}

fn pause_of(field: &str, value: &str) -> Result<Pause> {
    let corrupt =
        |why: String| Error::backend_msg(format!("stored pause {field:?} does not decode: {why}"));
    let (kind, name) = field.split_once(' ').unwrap_or((field, ""));
    let scope = PauseScope::from_parts(kind, name).map_err(|e| corrupt(e.to_string()))?;
    let stored: Stored = serde_json::from_str(value).map_err(|e| corrupt(e.to_string()))?;
    Ok(Pause {
        scope,
        by: stored.by,
        note: stored.note,
        at: DateTime::from_timestamp_micros(stored.at)
            .ok_or_else(|| corrupt(format!("time {} is out of range", stored.at)))?,
    })
}

/// Global first, then queues, then tenants, by name (as the SQL stores list them).
fn order(pause: &Pause) -> (u8, &str) {
    let rank = match pause.scope {
        PauseScope::All => 0,
        PauseScope::Queue(_) => 1,
        PauseScope::Tenant(_) => 2,
    };
    (rank, pause.scope.name())
}

#[async_trait]
impl QueueControl for RedisStore {
    async fn pause(&self, params: PauseParams) -> Result<PauseOutcome> {
        params.validate()?;
        let field = field(&params.scope);
        let value = serde_json::to_string(&Stored {
            by: params.by.clone(),
            note: params.note.clone(),
            at: micros(params.now),
        })
        .map_err(|e| Error::backend_msg(format!("pause does not encode: {e}")))?;
        let mut invocation = self.invocation(&self.inner.scripts.pause);
        invocation.arg(&field).arg(&value);
        let (stored, pause): (i64, String) = self.run(&invocation, "pause").await?;
        Ok(PauseOutcome {
            pause: pause_of(&field, &pause)?,
            already_paused: stored == 0,
        })
    }

    async fn resume(&self, params: ResumeParams) -> Result<Option<Pause>> {
        params.scope.validate()?;
        let field = field(&params.scope);
        let mut invocation = self.invocation(&self.inner.scripts.resume);
        invocation.arg(&field);
        let removed: Option<String> = self.run(&invocation, "resume").await?;
        removed.map(|value| pause_of(&field, &value)).transpose()
    }

    async fn pauses(&self) -> Result<Vec<Pause>> {
        let mut conn = self.inner.conn.clone();
        let fields: Vec<(String, String)> = redis::cmd("HGETALL")
            .arg(self.key("pauses"))
            .query_async(&mut conn)
            .await
            .map_err(redis_error)?;
        let mut pauses = fields
            .iter()
            .map(|(field, value)| pause_of(field, value))
            .collect::<Result<Vec<_>>>()?;
        pauses.sort_by(|a, b| order(a).cmp(&order(b)));
        Ok(pauses)
    }
}
