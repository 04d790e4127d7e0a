//! `nextstep export`: the ledger as JSON lines or CSV, one customer meeting per line/row. Pure.
//!
//! The JSON shape is a contract (docs/design.md, "Export format"): `id`, `source`, `title`, `start`, `end` (RFC 3339
//! UTC), `account`, `customer_domains`, `objective` (`{text, set_at, via}` or null), `outcome`
//! (`{result, next_step, note, recorded_at, via, due}` or null; `due` is `YYYY-MM-DD` or null), plus `objective_missed` and `gone_at`.
//! Scripts may rely on those keys; new keys may be added.
//!
//! CSV follows RFC 4180: a header row, CRLF line ends, a field quoted when it holds a comma, a
//! quote, CR or LF (quotes doubled). Against spreadsheet formula injection (a title such as
//! `=HYPERLINK(…)` runs as a formula when the file is opened in a spreadsheet), a cell starting
//! with `=`, `+`, `-`, `@`, tab or CR gets a leading `'`, as OWASP recommends; the JSON export
//! keeps the text exactly. Times in CSV are RFC 3339 too; `customer_domains` is joined with `;`.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::Serialize;

use crate::model::{LedgerRow, ObjectiveRecord, OutcomeRecord};

/// One line of the JSON lines export.
#[derive(Debug, Serialize)]
struct ExportRecord<'a> {
    id: &'a str,
    source: &'a str,
    title: &'a str,
    #[serde(serialize_with = "rfc3339")]
    start: DateTime<Utc>,
    #[serde(serialize_with = "rfc3339")]
    end: DateTime<Utc>,
    account: Option<&'a str>,
    customer_domains: &'a [String],
    objective: Option<ExportObjective<'a>>,
    objective_missed: bool,
    outcome: Option<ExportOutcome<'a>>,
    #[serde(serialize_with = "rfc3339_opt")]
    gone_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize)]
struct ExportObjective<'a> {
    text: &'a str,
    #[serde(serialize_with = "rfc3339")]
    set_at: DateTime<Utc>,
    via: &'static str,
}

#[derive(Debug, Serialize)]
struct ExportOutcome<'a> {
    result: &'static str,
    next_step: Option<&'a str>,
    note: Option<&'a str>,
    #[serde(serialize_with = "rfc3339")]
    recorded_at: DateTime<Utc>,
    via: &'static str,
    /// The next step's date, `YYYY-MM-DD`; null when none was given (schema v3).
    due: Option<String>,
}

impl<'a> From<&'a LedgerRow> for ExportRecord<'a> {
    fn from(r: &'a LedgerRow) -> Self {
        ExportRecord {
            id: r.id.as_str(),
            source: &r.source,
            title: &r.title,
            start: r.start,
            end: r.end,
            account: r.account.as_deref(),
            customer_domains: &r.customer_domains,
            objective: r
                .objective
                .as_ref()
                .map(|o: &ObjectiveRecord| ExportObjective {
                    text: &o.text,
                    set_at: o.set_at,
                    via: o.via.as_str(),
                }),
            objective_missed: r.objective_missed,
            outcome: r.outcome.as_ref().map(|o: &OutcomeRecord| ExportOutcome {
                result: o.result.as_str(),
                next_step: o.next_step.as_deref(),
                note: o.note.as_deref(),
                recorded_at: o.recorded_at,
                via: o.via.as_str(),
                due: o.due.map(day),
            }),
            gone_at: r.gone_at,
        }
    }
}

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn rfc3339<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&time(*t))
}

fn rfc3339_opt<S: serde::Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&time(*t)),
        None => s.serialize_none(),
    }
}

/// One JSON object per row, each on its own line (`\n`-terminated).
pub fn to_jsonl(rows: &[LedgerRow]) -> String {
    let mut out = String::new();
    for r in rows {
        // Serializing plain strings, bools, options and vectors into a String cannot fail.
        if let Ok(line) = serde_json::to_string(&ExportRecord::from(r)) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

/// The CSV header; one column per [`to_csv`] cell, in order.
pub const CSV_HEADER: [&str; 17] = [
    "id",
    "source",
    "title",
    "start",
    "end",
    "account",
    "customer_domains",
    "objective",
    "objective_set_at",
    "objective_via",
    "objective_missed",
    "outcome",
    "next_step",
    "note",
    "outcome_recorded_at",
    "outcome_via",
    "outcome_due",
];

/// A header row and one row per meeting (RFC 4180, CRLF; see the module doc for quoting and the
/// formula-injection guard).
pub fn to_csv(rows: &[LedgerRow]) -> String {
    let mut out = String::new();
    push_row(&mut out, CSV_HEADER.iter().map(|s| s.to_string()));
    for r in rows {
        let o = r.objective.as_ref();
        let x = r.outcome.as_ref();
        let cells = [
            r.id.to_string(),
            r.source.clone(),
            r.title.clone(),
            time(r.start),
            time(r.end),
            r.account.clone().unwrap_or_default(),
            r.customer_domains.join(";"),
            o.map(|o| o.text.clone()).unwrap_or_default(),
            o.map(|o| time(o.set_at)).unwrap_or_default(),
            o.map(|o| o.via.as_str().to_owned()).unwrap_or_default(),
            r.objective_missed.to_string(),
            x.map(|x| x.result.as_str().to_owned()).unwrap_or_default(),
            x.and_then(|x| x.next_step.clone()).unwrap_or_default(),
            x.and_then(|x| x.note.clone()).unwrap_or_default(),
            x.map(|x| time(x.recorded_at)).unwrap_or_default(),
            x.map(|x| x.via.as_str().to_owned()).unwrap_or_default(),
            x.and_then(|x| x.due).map(day).unwrap_or_default(),
        ];
        push_row(&mut out, cells.into_iter());
    }
    out
}

fn push_row(out: &mut String, cells: impl Iterator<Item = String>) {
    for (i, cell) in cells.enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_cell(out, &cell);
    }
    out.push_str("\r\n");
}

fn push_cell(out: &mut String, cell: &str) {
    let guard = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quote = guard && cell.starts_with(['\t', '\r']) || cell.contains([',', '"', '\r', '\n']);
    if quote {
        out.push('"');
    }
    if guard {
        out.push('\'');
    }
    for c in cell.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    if quote {
        out.push('"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{MeetingId, MeetingStatus, Outcome, Via};
    use chrono::TimeZone;

    fn row(title: &str) -> LedgerRow {
        let t = |h| Utc.with_ymd_and_hms(2026, 12, 1, h, 0, 0).unwrap();
        LedgerRow {
            id: MeetingId("work/abc/single".into()),
            source: "work".into(),
            series: "work/abc".into(),
            title: title.into(),
            start: t(10),
            end: t(11),
            tz: None,
            status: MeetingStatus::Confirmed,
            customer: true,
            reason: "customer domain acme.com".into(),
            account: Some("Acme".into()),
            customer_domains: vec!["acme.com".into(), "acme.co.uk".into()],
            recurring: false,
            first_seen: t(8),
            last_seen: t(9),
            gone_at: None,
            objective: Some(ObjectiveRecord {
                text: "Agree to a proposal meeting".into(),
                set_at: t(9),
                via: Via::Notification,
            }),
            objective_missed: false,
            outcome: Some(OutcomeRecord {
                result: Outcome::Advanced,
                next_step: Some("Pilot, 5 seats".into()),
                note: None,
                recorded_at: t(12),
                via: Via::Cli,
                due: None,
            }),
        }
    }

    #[test]
    fn each_jsonl_line_parses_back_with_the_contracted_fields() {
        let mut bare = row("Bare");
        bare.objective = None;
        bare.outcome = None;
        bare.account = None;
        let out = to_jsonl(&[row("Kickoff \"Q1\"\nline two"), bare]);
        let lines: Vec<_> = out.lines().collect();
        assert_eq!(lines.len(), 2);
        let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(v["id"], "work/abc/single");
        assert_eq!(v["source"], "work");
        assert_eq!(v["title"], "Kickoff \"Q1\"\nline two");
        assert_eq!(v["start"], "2026-12-01T10:00:00Z");
        assert_eq!(v["end"], "2026-12-01T11:00:00Z");
        assert_eq!(v["account"], "Acme");
        assert_eq!(
            v["customer_domains"],
            serde_json::json!(["acme.com", "acme.co.uk"])
        );
        assert_eq!(
            v["objective"],
            serde_json::json!({"text": "Agree to a proposal meeting",
                "set_at": "2026-12-01T09:00:00Z", "via": "notification"})
        );
        assert_eq!(
            v["outcome"],
            serde_json::json!({"result": "advanced", "next_step": "Pilot, 5 seats",
                "note": null, "recorded_at": "2026-12-01T12:00:00Z", "via": "cli",
                "due": null})
        );
        let v: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
        assert!(v["objective"].is_null() && v["outcome"].is_null() && v["account"].is_null());
    }

    #[test]
    fn an_outcome_due_date_is_exported_as_an_iso_date_in_json_and_csv() {
        let mut r = row("Dated");
        if let Some(o) = r.outcome.as_mut() {
            o.due = NaiveDate::from_ymd_opt(2026, 12, 12);
        }
        let v: serde_json::Value =
            serde_json::from_str(to_jsonl(std::slice::from_ref(&r)).trim_end()).unwrap();
        assert_eq!(v["outcome"]["due"], "2026-12-12");
        let parsed = parse_csv(&to_csv(&[r]));
        assert_eq!(parsed[0].last().map(String::as_str), Some("outcome_due"));
        assert_eq!(parsed[1].last().map(String::as_str), Some("2026-12-12"));
    }

    /// A strict RFC 4180 reader, to check that what we write reads back cell for cell.
    fn parse_csv(s: &str) -> Vec<Vec<String>> {
        let (mut rows, mut row, mut cell) = (vec![], vec![], String::new());
        let mut chars = s.chars().peekable();
        let mut quoted = false;
        while let Some(c) = chars.next() {
            match (quoted, c) {
                (true, '"') if chars.peek() == Some(&'"') => {
                    chars.next();
                    cell.push('"');
                }
                (true, '"') => quoted = false,
                (true, c) => cell.push(c),
                (false, '"') if cell.is_empty() => quoted = true,
                (false, '"') => panic!("bare quote inside an unquoted cell: {s:?}"),
                (false, ',') => row.push(std::mem::take(&mut cell)),
                (false, '\r') => {
                    assert_eq!(chars.next(), Some('\n'), "CR without LF");
                    row.push(std::mem::take(&mut cell));
                    rows.push(std::mem::take(&mut row));
                }
                (false, '\n') => panic!("bare LF outside quotes: {s:?}"),
                (false, c) => cell.push(c),
            }
        }
        assert!(
            !quoted && cell.is_empty() && row.is_empty(),
            "unterminated: {s:?}"
        );
        rows
    }

    #[test]
    fn csv_reads_back_cell_for_cell() {
        let titles = [
            "Acme, Inc.",
            "say \"yes\"",
            "two\nlines",
            "cr\r\nlf",
            "\"",
            "",
            "Ünïcode – ok",
        ];
        let rows: Vec<_> = titles.iter().map(|t| row(t)).collect();
        let parsed = parse_csv(&to_csv(&rows));
        assert_eq!(parsed.len(), titles.len() + 1);
        assert_eq!(parsed[0], CSV_HEADER.map(String::from).to_vec());
        for (t, p) in titles.iter().zip(&parsed[1..]) {
            assert_eq!(p.len(), CSV_HEADER.len());
            assert_eq!(&p[2], t);
            assert_eq!(p[12], "Pilot, 5 seats");
        }
        // The guard prefix is the only change to a formula-like cell.
        let parsed = parse_csv(&to_csv(&[row("=1+2")]));
        assert_eq!(parsed[1][2], "'=1+2");
    }

    #[test]
    fn csv_quotes_commas_quotes_and_newlines() {
        let out = to_csv(&[row("Acme, Inc. \"kickoff\"\r\nagenda")]);
        let mut lines = out.split("\r\n");
        assert_eq!(lines.next().unwrap(), CSV_HEADER.join(","));
        assert!(
            out.contains(",\"Acme, Inc. \"\"kickoff\"\"\r\nagenda\","),
            "{out}"
        );
        assert!(out.contains(",\"Pilot, 5 seats\","), "{out}");
        assert!(out.contains(",acme.com;acme.co.uk,"), "{out}");
        assert!(out.ends_with("\r\n"));
    }

    #[test]
    fn csv_cells_that_would_run_as_formulas_get_a_quote_prefix() {
        let out = to_csv(&[row("=HYPERLINK(\"http://evil\")")]);
        assert!(
            out.contains(",\"'=HYPERLINK(\"\"http://evil\"\")\","),
            "{out}"
        );
        for (title, cell) in [
            ("+1 call", "'+1 call"),
            ("-x", "'-x"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tcmd", "\"'\tcmd\""),
            ("plain", "plain"),
        ] {
            let out = to_csv(&[row(title)]);
            let data = out.split("\r\n").nth(1).unwrap();
            assert_eq!(data.split(',').nth(2).unwrap(), cell, "{title:?}");
        }
    }

    #[test]
    fn csv_rows_have_as_many_cells_as_the_header() {
        let mut r = row("simple");
        r.outcome = None;
        let out = to_csv(&[r]);
        let data = out.split("\r\n").nth(1).unwrap();
        assert_eq!(data.split(',').count(), CSV_HEADER.len());
        assert!(data.ends_with(",false,,,,,,"), "{data}");
    }
}
