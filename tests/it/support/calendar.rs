//! iCalendar text for the end-to-end tests' meetings: each organised by the user
//! (`me@mycorp.example`, who accepted) with the guests a test names, stamped now. One builder for
//! a calendar file and a CalDAV object alike, so both daemons see the same meetings.

use chrono::{DateTime, Utc};

/// One meeting.
pub struct Event<'a> {
    pub uid: &'a str,
    pub title: &'a str,
    pub start: DateTime<Utc>,
    pub length: chrono::Duration,
    /// Guests after the organizer, as full `ATTENDEE` parameter+value tails, e.g.
    /// `PARTSTAT=NEEDS-ACTION:mailto:jane@acme.example`.
    pub attendees: &'a [&'a str],
}

/// A `VCALENDAR` holding `events`.
pub fn ics(events: &[Event]) -> String {
    let f = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    let mut s = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//nextstep tests//EN\r\n");
    for e in events {
        s.push_str(&format!(
            "BEGIN:VEVENT\r\nUID:{}\r\nDTSTAMP:{}\r\nDTSTART:{}\r\nDTEND:{}\r\nSUMMARY:{}\r\n\
             ORGANIZER:mailto:me@mycorp.example\r\n\
             ATTENDEE;PARTSTAT=ACCEPTED:mailto:me@mycorp.example\r\n",
            e.uid,
            f(Utc::now()),
            f(e.start),
            f(e.start + e.length),
            e.title
        ));
        for a in e.attendees {
            s.push_str(&format!("ATTENDEE;{a}\r\n"));
        }
        s.push_str("END:VEVENT\r\n");
    }
    s.push_str("END:VCALENDAR\r\n");
    s
}
