//! How the ledger stores times and enums: fixed-width RFC 3339 UTC text, and enums by their
//! `as_str` names, read back strictly (an unknown name is an error that names the value).

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

use crate::model::{MeetingStatus, Outcome, PromptKind, Via};

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
