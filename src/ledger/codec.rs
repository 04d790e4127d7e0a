//! How the ledger stores times, days and enums: fixed-width RFC 3339 UTC text, ISO dates
//! (`YYYY-MM-DD`), and enums by their `as_str` names, all read back strictly (an unknown name
//! or a malformed date is an error that names the value).

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

use crate::model::{MarkKind, MeetingStatus, Outcome, PromptKind, Via};

/// A UTC instant stored as fixed-width RFC 3339 text (microseconds, `Z`), which sorts as time.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ts(pub(super) DateTime<Utc>);

impl ToSql for Ts {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(
            self.0.to_rfc3339_opts(SecondsFormat::Micros, true),
        ))
    }
}

impl FromSql for Ts {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let s = value.as_str()?;
        DateTime::parse_from_rfc3339(s)
            .map(|t| Ts(t.with_timezone(&Utc)))
            .map_err(FromSqlError::other)
    }
}

/// A calendar day (a due date, the day of an account mark) stored as `YYYY-MM-DD`, which sorts
/// as time.
#[derive(Debug, Clone, Copy)]
pub(super) struct Day(pub(super) NaiveDate);

/// How a [`Day`] is written.
const DAY_FORMAT: &str = "%Y-%m-%d";

impl ToSql for Day {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.0.format(DAY_FORMAT).to_string()))
    }
}

impl FromSql for Day {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let s = value.as_str()?;
        NaiveDate::parse_from_str(s, DAY_FORMAT)
            .map(Day)
            .map_err(|e| FromSqlError::other(std::io::Error::other(format!("bad day `{s}`: {e}"))))
    }
}

/// Text enums: stored as their `as_str` names, read back strictly (an unknown name is a
/// conversion error that names the value).
macro_rules! text_enum {
    ($t:ty, $to:expr, $from:expr) => {
        impl ToSql for $t {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from($to(*self)))
            }
        }
        impl FromSql for $t {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                let s = value.as_str()?;
                $from(s).ok_or_else(|| {
                    FromSqlError::other(std::io::Error::other(format!(
                        "unknown {} `{s}`",
                        stringify!($t)
                    )))
                })
            }
        }
    };
}

text_enum!(Outcome, Outcome::as_str, |s: &str| s
    .parse::<Outcome>()
    .ok());
text_enum!(MarkKind, MarkKind::as_str, |s: &str| s
    .parse::<MarkKind>()
    .ok());
text_enum!(Via, Via::as_str, |s: &str| s.parse::<Via>().ok());
text_enum!(PromptKind, PromptKind::as_str, |s: &str| match s {
    "objective" => Some(PromptKind::Objective),
    "outcome" => Some(PromptKind::Outcome),
    _ => None,
});
text_enum!(
    MeetingStatus,
    |s: MeetingStatus| match s {
        MeetingStatus::Confirmed => "confirmed",
        MeetingStatus::Tentative => "tentative",
        MeetingStatus::Cancelled => "cancelled",
    },
    |s: &str| match s {
        "confirmed" => Some(MeetingStatus::Confirmed),
        "tentative" => Some(MeetingStatus::Tentative),
        "cancelled" => Some(MeetingStatus::Cancelled),
        _ => None,
    }
);
