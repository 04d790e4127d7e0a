//! The only place that reads "now". Production uses the system clock; tests use [`ManualClock`]
//! and move it by hand, and end-to-end tests start the daemon with `NEXTSTEP_NOW` ([`from_env`]):
//! a clock that starts at that instant and runs at the system clock's pace.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The variable that starts `nextstep run`'s clock at another instant (RFC 3339), for tests of
/// what happens at a given wall-clock time (the weekly look back).
pub const NOW_VAR: &str = "NEXTSTEP_NOW";

/// The system clock moved by a fixed amount: it read `start` when it was made.
#[derive(Debug, Clone, Copy)]
pub struct ShiftedClock {
    shift: chrono::TimeDelta,
}

impl ShiftedClock {
    pub fn starting_at(start: DateTime<Utc>) -> Self {
        ShiftedClock {
            shift: start - Utc::now(),
        }
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.shift
    }
}

/// The daemon's clock: the system clock, or a [`ShiftedClock`] starting at `NEXTSTEP_NOW` when
/// that is set (an error names the variable and the form when it is not an RFC 3339 instant).
pub fn from_env() -> Result<Arc<dyn Clock>, String> {
    match std::env::var(NOW_VAR) {
        Ok(v) if !v.trim().is_empty() => {
            let start = DateTime::parse_from_rfc3339(v.trim()).map_err(|e| {
                format!(
                    "{NOW_VAR}={v:?} is not an RFC 3339 instant (e.g. 2026-12-07T08:59:55Z): {e}"
                )
            })?;
            tracing::warn!(now = %start, "{NOW_VAR} is set: the clock starts at that instant");
            Ok(Arc::new(ShiftedClock::starting_at(
                start.with_timezone(&Utc),
            )))
        }
        _ => Ok(Arc::new(SystemClock)),
    }
}

/// A clock that stands still until told to move.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> Self {
        ManualClock(Arc::new(Mutex::new(at)))
    }

    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = at;
    }

    pub fn advance(&self, by: chrono::Duration) {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *t += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}
