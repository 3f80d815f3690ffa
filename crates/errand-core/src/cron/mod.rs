//! Recurring work: cron entries, their schedules and time zones, and the
//! decisions about their fire times that schedulers and stores share.

mod entry;
mod plan;
mod schedule;

pub use chrono_tz::Tz;
pub use entry::{
    CUSTOM_PREFIX, Entry, EntryRow, FireReason, LEDGER_LEN, LedgerRecord, MAX_CATCH_UP, Missed,
    Overlap,
};
pub use plan::{Applied, DEFAULT_GRACE, FireState, PlannedRecord, apply_fire, plan_fires};
pub use schedule::{CronExpr, CustomSchedule, Schedule, zone};
