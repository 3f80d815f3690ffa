//! Pausing on the SQL stores: the order of the statements lives here once;
//! each backend only runs them with its own binds.

use std::future::Future;

use errand_core::store::{Pause, PauseOutcome, PauseParams, PauseScope};
use errand_core::{Error, Result};

/// The statements of a pause.
pub trait PauseStatements {
    /// Stores the pause unless its scope is paused already; returns it when stored.
    fn insert(&self, params: &PauseParams) -> impl Future<Output = Result<Option<Pause>>> + Send;
    /// The pause in force for `scope`, if any.
    fn get(&self, scope: &PauseScope) -> impl Future<Output = Result<Option<Pause>>> + Send;
}

/// Pauses `params.scope`, keeping a pause in force: the insert does nothing
/// when the scope is paused, and the pause found is returned. A resume
/// between the two steps (the pause gone before it was read) tries again.
pub async fn pause(
    params: &PauseParams,
    statements: &impl PauseStatements,
) -> Result<PauseOutcome> {
    params.validate()?;
    for _ in 0..3 {
        if let Some(pause) = statements.insert(params).await? {
            return Ok(PauseOutcome {
                pause,
                already_paused: false,
            });
        }
        if let Some(pause) = statements.get(&params.scope).await? {
            return Ok(PauseOutcome {
                pause,
                already_paused: true,
            });
        }
    }
    Err(Error::backend_msg(format!(
        "{} was paused and resumed three times while this pause was stored; try again",
        params.scope
    )))
}
