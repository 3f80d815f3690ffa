use std::any::{Any, TypeId, type_name};
use std::collections::{BTreeMap, HashMap};
use std::ops::Deref;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::transaction::TransactionSlot;
use crate::{ErrorKind, JobError, JobErrorAction, JobId};

/// Shared values a worker hands to its jobs through [`State<T>`], one per type.
#[derive(Default, Clone)]
pub struct StateMap {
    values: HashMap<TypeId, (Arc<dyn Any + Send + Sync>, &'static str)>,
}

impl std::fmt::Debug for StateMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set()
            .entries(self.values.values().map(|(_, name)| name))
            .finish()
    }
}

impl StateMap {
    /// Adds (or replaces) the value of type `T`.
    pub fn insert<T: Send + Sync + 'static>(&mut self, value: T) {
        self.insert_arc(Arc::new(value));
    }

    /// Adds (or replaces) an already shared value of type `T`.
    pub fn insert_arc<T: Send + Sync + 'static>(&mut self, value: Arc<T>) {
        self.values
            .insert(TypeId::of::<T>(), (value, type_name::<T>()));
    }

    /// The value of type `T`, if one was added.
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        let (value, _) = self.values.get(&TypeId::of::<T>())?;
        Arc::clone(value).downcast::<T>().ok()
    }

    /// True when a value of type `T` was added.
    pub fn contains<T: Send + Sync + 'static>(&self) -> bool {
        self.values.contains_key(&TypeId::of::<T>())
    }
}

/// Everything the runtime knows about the attempt it hands to a job.
#[derive(Debug, Clone)]
pub struct JobContextParts {
    /// The job.
    pub id: JobId,
    /// Its kind.
    pub kind: String,
    /// Its queue.
    pub queue: String,
    /// This attempt, 1-based.
    pub attempt: u32,
    /// Attempts allowed.
    pub max_attempts: u32,
    /// Its tenant.
    pub tenant: Option<String>,
    /// Its batch, if any.
    pub batch_id: Option<i64>,
    /// Its metadata.
    pub meta: BTreeMap<String, String>,
    /// Fired when the job should stop (cancel requested, timeout, shutdown).
    pub cancel: CancellationToken,
    /// The worker's shared state.
    pub states: Arc<StateMap>,
}

/// The attempt a job runs in; extractors take what they need from it.
#[derive(Debug, Clone)]
pub struct JobContext {
    parts: Arc<JobContextParts>,
    transaction: TransactionSlot,
}

impl JobContext {
    /// A context from its parts (used by the runtime and by tests).
    pub fn new(parts: JobContextParts) -> Self {
        JobContext {
            parts: Arc::new(parts),
            transaction: TransactionSlot::default(),
        }
    }

    /// Where a transaction extractor leaves the attempt's transaction, so
    /// that the runtime commits the job's completion inside it.
    pub fn transaction_slot(&self) -> &TransactionSlot {
        &self.transaction
    }

    /// The job's id.
    pub fn id(&self) -> JobId {
        self.parts.id
    }
    /// The job's kind.
    pub fn kind(&self) -> &str {
        &self.parts.kind
    }
    /// The job's queue.
    pub fn queue(&self) -> &str {
        &self.parts.queue
    }
    /// This attempt, 1-based.
    pub fn attempt(&self) -> u32 {
        self.parts.attempt
    }
    /// Attempts allowed.
    pub fn max_attempts(&self) -> u32 {
        self.parts.max_attempts
    }
    /// The job's tenant.
    pub fn tenant(&self) -> Option<&str> {
        self.parts.tenant.as_deref()
    }
    /// The job's batch, if it belongs to one.
    pub fn batch_id(&self) -> Option<i64> {
        self.parts.batch_id
    }
    /// The job's metadata.
    pub fn meta(&self) -> &BTreeMap<String, String> {
        &self.parts.meta
    }
    /// Fired when the job should stop.
    pub fn cancellation_token(&self) -> &CancellationToken {
        &self.parts.cancel
    }
    /// The worker's shared value of type `T`.
    pub fn state<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        self.parts.states.get::<T>()
    }
}

/// A parameter a job function can ask for besides its input.
///
/// Implement it to add an extractor of your own:
///
/// ```
/// use errand_core::{FromContext, JobContext, JobError};
///
/// struct RequestId(String);
///
/// impl FromContext for RequestId {
///     fn from_context(ctx: &JobContext) -> Result<Self, JobError> {
///         let id = ctx.meta().get("request_id").cloned().unwrap_or_default();
///         Ok(RequestId(id))
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a job parameter",
    label = "not an extractor",
    note = "a job takes its stored input as the parameter named `input`; every other parameter is an extractor: State<T>, JobId, Attempt, Meta, JobContext, CancellationToken, or a type implementing FromContext"
)]
pub trait FromContext: Sized {
    /// Takes the value out of the attempt's context.
    fn from_context(ctx: &JobContext) -> Result<Self, JobError>;

    /// Checked once when a worker is built: says what is missing (for example
    /// a `State<T>` that was never added), so misconfiguration shows at start,
    /// not on the first job.
    fn check(_states: &StateMap) -> Result<(), String> {
        Ok(())
    }
}

/// A shared value added to the worker with `.state(value)`.
#[derive(Debug)]
pub struct State<T>(pub Arc<T>);

impl<T> Clone for State<T> {
    fn clone(&self) -> Self {
        State(Arc::clone(&self.0))
    }
}

impl<T> Deref for State<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Send + Sync + 'static> FromContext for State<T> {
    fn from_context(ctx: &JobContext) -> Result<Self, JobError> {
        ctx.state::<T>().map(State).ok_or_else(|| {
            JobError::with_kind(
                ErrorKind::Fatal,
                JobErrorAction::Fail,
                format!("State<{}> was not added to the worker", type_name::<T>()),
            )
        })
    }

    fn check(states: &StateMap) -> Result<(), String> {
        if states.contains::<T>() {
            Ok(())
        } else {
            Err(format!(
                "State<{}> is not available: add it with Worker::builder(..).state(value)",
                type_name::<T>()
            ))
        }
    }
}

impl FromContext for JobId {
    fn from_context(ctx: &JobContext) -> Result<Self, JobError> {
        Ok(ctx.id())
    }
}

/// The current attempt number, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt(pub u32);

impl FromContext for Attempt {
    fn from_context(ctx: &JobContext) -> Result<Self, JobError> {
        Ok(Attempt(ctx.attempt()))
    }
}

/// The job's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Meta(pub BTreeMap<String, String>);

impl Deref for Meta {
    type Target = BTreeMap<String, String>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl FromContext for Meta {
    fn from_context(ctx: &JobContext) -> Result<Self, JobError> {
        Ok(Meta(ctx.meta().clone()))
    }
}

impl FromContext for CancellationToken {
    fn from_context(ctx: &JobContext) -> Result<Self, JobError> {
        Ok(ctx.cancellation_token().clone())
    }
}

impl FromContext for JobContext {
    fn from_context(ctx: &JobContext) -> Result<Self, JobError> {
        Ok(ctx.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(states: StateMap) -> JobContext {
        JobContext::new(JobContextParts {
            id: JobId(7),
            kind: "k".into(),
            queue: "default".into(),
            attempt: 2,
            max_attempts: 3,
            tenant: None,
            batch_id: None,
            meta: BTreeMap::from([("a".into(), "b".into())]),
            cancel: CancellationToken::new(),
            states: Arc::new(states),
        })
    }

    #[test]
    fn extractors_read_the_context() {
        let mut states = StateMap::default();
        states.insert(41u64);
        let c = ctx(states);
        assert_eq!(JobId::from_context(&c).ok(), Some(JobId(7)));
        assert_eq!(Attempt::from_context(&c).ok(), Some(Attempt(2)));
        assert_eq!(
            Meta::from_context(&c)
                .ok()
                .and_then(|m| m.get("a").cloned()),
            Some("b".into())
        );
        assert_eq!(State::<u64>::from_context(&c).ok().map(|s| *s), Some(41));
        assert!(State::<u64>::check(&StateMap::default()).is_err());
    }

    #[test]
    fn missing_state_is_a_fatal_error_naming_the_type() {
        let c = ctx(StateMap::default());
        let err = State::<String>::from_context(&c).err();
        assert!(
            err.is_some_and(
                |e| e.action() == JobErrorAction::Fail && e.message().contains("String")
            )
        );
    }
}
