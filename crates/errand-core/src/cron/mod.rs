//! Recurring work: cron entries' schedules and time zones.

mod schedule;

pub use chrono_tz::Tz;
pub use schedule::{CronExpr, CustomSchedule, Schedule, zone};
