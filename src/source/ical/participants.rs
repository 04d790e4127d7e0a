//! ORGANIZER and ATTENDEE lines, read without calcard: they are about half the bytes of a big
//! export, and calcard turns every parameter into owned values we throw away.
//!
//! Promises: reads a line as calcard would (tested against calcard on every fixture and on odd
//! but legal lines), plus RFC 6868's caret escapes; only the VEVENT's own lines (a VALARM's
//! ATTENDEE is an e-mail alarm's recipient, not a participant); a broken line costs that
//! participant, not the event.

use std::borrow::Cow;

use calcard::icalendar::utils::strip_mailto_scheme;

use super::MAX_ATTENDEES_PER_EVENT;
use super::scan::*;
use crate::model::{Attendee, PartStat, ParticipantKind, Role};

/// The ORGANIZER (the first) and ATTENDEE lines of one VEVENT, unfolded.
#[derive(Debug, Default)]
pub(super) struct People<'a> {
    pub(super) organizer: Option<Cow<'a, str>>,
    pub(super) attendees: Vec<Cow<'a, str>>,
    /// ATTENDEE lines past [`MAX_ATTENDEES_PER_EVENT`], left unread.
    pub(super) dropped: usize,
}

/// Takes the VEVENT's own ORGANIZER and ATTENDEE lines out of `block`; the rest goes to calcard.
/// They are about half the bytes of a typical invitation, and calcard turns every parameter of
/// them into owned values we then throw away; reading the few we need from the line directly
/// makes the whole read about a third faster. Lines of nested components (a VALARM's ATTENDEE
/// is an e-mail alarm's recipient, not a participant) stay in the text.
pub(super) fn split_people(block: &str) -> (String, People<'_>) {
    let mut lean = String::with_capacity(block.len());
    let mut people = People::default();
    let mut depth = 0u32;
    let mut lines = block.split_inclusive('\n').peekable();
    let continues = |line: &&str| line.starts_with([' ', '\t']);
    while let Some(first) = lines.next() {
        let role = if depth == 1 { person_line(first) } else { None };
        if let Some((begin, _)) = marker(first) {
            depth = if begin {
                depth + 1
            } else {
                depth.saturating_sub(1)
            };
        }
        let Some(is_organizer) = role else {
            lean.push_str(first);
            while let Some(next) = lines.next_if(continues) {
                lean.push_str(next);
            }
            continue;
        };
        if !is_organizer && people.attendees.len() >= MAX_ATTENDEES_PER_EVENT {
            // Past the bound the line is only counted: skipping its continuations costs nothing.
            people.dropped += 1;
            while lines.next_if(continues).is_some() {}
            continue;
        }
        let head = first.trim_end_matches(['\r', '\n']);
        let mut joined: Option<String> = None;
        while let Some(next) = lines.next_if(continues) {
            let rest = next.get(1..).unwrap_or("").trim_end_matches(['\r', '\n']);
            joined
                .get_or_insert_with(|| head.to_string())
                .push_str(rest);
        }
        let line = joined.map_or(Cow::Borrowed(head), Cow::Owned);
        if !is_organizer {
            people.attendees.push(line);
        } else if people.organizer.is_none() {
            people.organizer = Some(line);
        }
    }
    (lean, people)
}

/// `Some(true)` for an ORGANIZER line, `Some(false)` for an ATTENDEE line.
pub(super) fn person_line(line: &str) -> Option<bool> {
    if !matches!(line.as_bytes().first(), Some(b'A' | b'a' | b'O' | b'o')) {
        return None;
    }
    let name = line.split([';', ':']).next().unwrap_or("");
    if name.eq_ignore_ascii_case("ATTENDEE") {
        Some(false)
    } else if name.eq_ignore_ascii_case("ORGANIZER") {
        Some(true)
    } else {
        None
    }
}

/// One unfolded ORGANIZER or ATTENDEE line -> a participant (RFC 5545 §3.8.4.1 and §3.2:
/// `NAME *(";" param) ":" cal-address`, a parameter value is quoted when it holds `;:,`, and
/// RFC 6868's `^n ^' ^^` stand for a newline, a quote and a caret). `None` without an address
/// and without a name.
pub(super) fn read_person_line(line: &str) -> Option<Attendee> {
    let mut cn = None;
    let mut email_param = None;
    let mut role = None;
    let mut partstat = None;
    let mut cutype = None;
    let mut rest = &line[line.find([';', ':'])?..];
    let address = loop {
        let (sep, after) = rest.split_at_checked(1)?;
        if sep == ":" {
            break after;
        }
        // `;KEY=VALUE[,VALUE…]`: the first value is the one that counts.
        let key_end = after.find(['=', ';', ':'])?;
        let key = &after[..key_end];
        let mut value_part = &after[key_end..];
        let mut first_value: Option<Cow<'_, str>> = None;
        if let Some(v) = value_part.strip_prefix('=') {
            value_part = v;
            loop {
                let (value, next) = if let Some(q) = value_part.strip_prefix('"') {
                    let close = q.find('"').unwrap_or(q.len());
                    (&q[..close], q.get(close + 1..).unwrap_or(""))
                } else {
                    let end = value_part.find([',', ';', ':']).unwrap_or(value_part.len());
                    (&value_part[..end], &value_part[end..])
                };
                if first_value.is_none() {
                    first_value = Some(decode_param(value));
                }
                value_part = next;
                match value_part.strip_prefix(',') {
                    Some(more) => value_part = more,
                    None => break,
                }
            }
        }
        rest = value_part;
        let slot = if key.eq_ignore_ascii_case("CN") {
            &mut cn
        } else if key.eq_ignore_ascii_case("EMAIL") {
            &mut email_param
        } else if key.eq_ignore_ascii_case("ROLE") {
            &mut role
        } else if key.eq_ignore_ascii_case("PARTSTAT") {
            &mut partstat
        } else if key.eq_ignore_ascii_case("CUTYPE") {
            &mut cutype
        } else {
            continue;
        };
        if slot.is_none() {
            *slot = first_value
                .map(|v| match v {
                    Cow::Borrowed(b) => Cow::Borrowed(b.trim()),
                    Cow::Owned(o) => Cow::Owned(o.trim().to_string()),
                })
                .filter(|v| !v.is_empty());
        }
    };
    let address = strip_mailto_scheme(address.trim()).trim();
    // Some producers put `urn:uuid:…` or a bare name in the value and the address in EMAIL=.
    let email = if address.contains('@') {
        address
    } else {
        email_param
            .as_deref()
            .map(strip_mailto_scheme)
            .unwrap_or(address)
    };
    let email = email.to_ascii_lowercase();
    let name = cn
        .map(|n| n.trim_matches('"').to_string())
        .filter(|n| !n.is_empty());
    if email.is_empty() && name.is_none() {
        return None;
    }
    let upper = |v: &Option<Cow<'_, str>>| v.as_deref().map(str::to_ascii_uppercase);
    let role = match upper(&role).as_deref() {
        Some("CHAIR") => Role::Chair,
        Some("OPT-PARTICIPANT") => Role::Optional,
        Some("NON-PARTICIPANT") => Role::NonParticipant,
        _ => Role::Required,
    };
    let partstat = match upper(&partstat).as_deref() {
        Some("ACCEPTED") => PartStat::Accepted,
        Some("DECLINED") => PartStat::Declined,
        Some("TENTATIVE") => PartStat::Tentative,
        Some("DELEGATED") => PartStat::Delegated,
        _ => PartStat::NeedsAction,
    };
    let kind = match upper(&cutype).as_deref() {
        None | Some("INDIVIDUAL") => ParticipantKind::Individual,
        Some("GROUP") => ParticipantKind::Group,
        Some("RESOURCE") => ParticipantKind::Resource,
        Some("ROOM") => ParticipantKind::Room,
        Some(_) => ParticipantKind::Unknown,
    };
    Some(Attendee {
        email,
        name,
        role,
        partstat,
        kind,
        is_self: false,
    })
}

/// RFC 6868 parameter value escapes.
pub(super) fn decode_param(value: &str) -> Cow<'_, str> {
    if !value.contains('^') {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '^' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some('\'') => out.push('"'),
            Some('^') => out.push('^'),
            Some(other) => {
                out.push('^');
                out.push(other);
            }
            None => out.push('^'),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::ical::test_support::*;
    use calcard::icalendar::{ICalendarEntry, ICalendarProperty};
    use calcard::{Entry, Parser};

    /// full parse of the property. Kept as the oracle the fast reader must agree with.
    fn calcard_person(entry: &ICalendarEntry) -> Option<Attendee> {
        use calcard::icalendar::ICalendarParameterName as P;
        let param = |name: P| {
            entry
                .parameter(&name)
                .and_then(|v| v.as_text())
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        let address = entry.calendar_address().map(str::trim).unwrap_or("");
        let email = if address.contains('@') {
            address
        } else {
            param(P::Email).map(strip_mailto_scheme).unwrap_or(address)
        };
        // calcard leaves RFC 6868's caret escapes in place; the fast reader decodes them.
        let name = param(P::Cn)
            .map(|n| decode_param(n.trim_matches('"')).into_owned())
            .filter(|n| !n.is_empty());
        if email.is_empty() && name.is_none() {
            return None;
        }
        let line = format!(
            "ATTENDEE;ROLE={};PARTSTAT={};CUTYPE={}:x",
            param(P::Role).unwrap_or(""),
            param(P::Partstat).unwrap_or(""),
            param(P::Cutype).unwrap_or("INDIVIDUAL"),
        );
        let mut parsed = read_person_line(&line)?;
        parsed.email = email.to_ascii_lowercase();
        parsed.name = name;
        Some(parsed)
    }

    /// Odd but legal participant lines in one calendar.
    const ODD_PEOPLE: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:odd-1\r\n\
DTSTART:20261201T100000Z\r\n\
organizer;cn=\"Smith; Jane: CEO\":MAILTO:Jane@Acme.COM\r\n\
ORGANIZER;CN=Second:mailto:second@acme.com\r\n\
ATTENDEE;CN=\"Bob ^'The Builder^' ^^ ^nNext\";PARTSTAT=accepted;ROLE=opt-participant:mailto:bob@b.example\r\n\
ATTENDEE;DELEGATED-TO=\"mailto:x@y.example\",\"mailto:z@y.example\";CN=Delegator;PARTSTAT=DELEGATED:mailto:d@b.example\r\n\
ATTENDEE;CUTYPE=ROOM;CN=Room 4.01:mailto:room401@resource.calendar.google.com\r\n\
ATTENDEE;CUTYPE=X-ROBOT;CN=Bot:mailto:bot@b.example\r\n\
ATTENDEE;EMAIL=carol@c.example;CN=Carol:urn:uuid:00000000-1111-2222-3333-444444444444\r\n\
ATTENDEE;CN=Fo\r\n lded Name;PARTSTAT=TENT\r\n\tATIVE:mailto:fol\r\n ded@f.example\r\n\
ATTENDEE;CN=Name Only:\r\n\
ATTENDEE:mailto:bare@e.example\r\n\
ATTENDEE;RSVP=TRUE;X-NUM-GUESTS=0:mailto:rsvp@e.example\r\n\
BEGIN:VALARM\r\nACTION:EMAIL\r\nATTENDEE:mailto:alarm@e.example\r\nEND:VALARM\r\n\
END:VEVENT\r\nEND:VCALENDAR\r\n";

    #[test]
    fn the_fast_participant_reader_agrees_with_calcard_on_every_fixture_and_odd_line() {
        let mut texts = all_fixtures();
        texts.push(ODD_PEOPLE.to_string());
        let mut compared = 0;
        for text in &texts {
            for cal in split_calendars(text) {
                for block in cal.events {
                    let Entry::ICalendar(ical) = Parser::new(block).entry() else {
                        continue;
                    };
                    let Some(comp) = ical.components.first() else {
                        continue;
                    };
                    let (lean, people) = split_people(block);
                    let want_org = comp
                        .property(&ICalendarProperty::Organizer)
                        .and_then(calcard_person);
                    let got_org = people.organizer.as_deref().and_then(read_person_line);
                    assert_eq!(got_org, want_org, "ORGANIZER in {block}");
                    let want: Vec<_> = comp
                        .properties(&ICalendarProperty::Attendee)
                        .filter_map(calcard_person)
                        .collect();
                    let got: Vec<_> = people
                        .attendees
                        .iter()
                        .filter_map(|l| read_person_line(l))
                        .collect();
                    assert_eq!(got, want, "ATTENDEEs in {block}");
                    compared += want.len() + usize::from(want_org.is_some());
                    // Nothing else of the event is lost on the way to calcard.
                    let Entry::ICalendar(lean_ical) = Parser::new(&lean).entry() else {
                        panic!("the lean text no longer parses: {lean}");
                    };
                    let lean_comp = &lean_ical.components[0];
                    assert!(lean_comp.property(&ICalendarProperty::Attendee).is_none());
                    assert_eq!(
                        lean_comp.entries.len()
                            + people.attendees.len()
                            + usize::from(people.organizer.is_some()),
                        comp.entries.len()
                            - comp
                                .properties(&ICalendarProperty::Organizer)
                                .count()
                                .saturating_sub(1),
                        "{block}"
                    );
                }
            }
        }
        assert!(compared > 40, "only {compared} participants compared");
    }

    #[test]
    fn a_broken_participant_line_is_dropped_and_the_event_kept() {
        let text = ODD_PEOPLE.replace(
            "ATTENDEE:mailto:bare@e.example\r\n",
            "ATTENDEE;CN=\"Unclosed:mailto:broken@e.example\r\nATTENDEE\r\n",
        );
        let (_, people) = split_people(split_calendars(&text)[0].events[0]);
        let all: Vec<Attendee> = people
            .attendees
            .iter()
            .filter_map(|l| read_person_line(l))
            .collect();
        assert_eq!(all.len(), 8, "{all:?}");
        assert!(all.iter().all(|a| !a.email.contains("broken")), "{all:?}");
        let parsed = parse_calendar("t", &text, december()).unwrap();
        assert_eq!(parsed.meetings.len(), 1, "{:?}", parsed.warnings);
    }

    #[test]
    fn odd_participant_lines_read_as_a_person_would() {
        let (_, people) = split_people(split_calendars(ODD_PEOPLE)[0].events[0]);
        let org = read_person_line(people.organizer.as_deref().unwrap()).unwrap();
        assert_eq!(
            (org.email.as_str(), org.name.as_deref()),
            ("jane@acme.com", Some("Smith; Jane: CEO"))
        );
        let all: Vec<Attendee> = people
            .attendees
            .iter()
            .filter_map(|l| read_person_line(l))
            .collect();
        let by = |email: &str| {
            all.iter()
                .find(|a| a.email == email)
                .unwrap_or_else(|| panic!("{email} in {all:?}"))
        };
        assert_eq!(
            by("bob@b.example").name.as_deref(),
            Some("Bob \"The Builder\" ^ \nNext")
        );
        assert_eq!(by("bob@b.example").partstat, PartStat::Accepted);
        assert_eq!(by("bob@b.example").role, Role::Optional);
        assert_eq!(by("d@b.example").partstat, PartStat::Delegated);
        assert_eq!(
            by("room401@resource.calendar.google.com").kind,
            ParticipantKind::Room
        );
        assert_eq!(by("bot@b.example").kind, ParticipantKind::Unknown);
        assert_eq!(by("carol@c.example").name.as_deref(), Some("Carol"));
        assert_eq!(by("folded@f.example").partstat, PartStat::Tentative);
        assert_eq!(by("folded@f.example").name.as_deref(), Some("Folded Name"));
        assert!(
            all.iter()
                .any(|a| a.email.is_empty() && a.name.as_deref() == Some("Name Only"))
        );
        assert_eq!(by("rsvp@e.example").partstat, PartStat::NeedsAction);
        assert!(
            all.iter().all(|a| a.email != "alarm@e.example"),
            "a VALARM's recipient is no participant"
        );
        assert_eq!(all.len(), 9, "{all:?}");
    }

    #[test]
    fn attendees_keep_their_kind_role_and_answer_with_lower_cased_addresses() {
        let p = parse("google.ics");
        let m = &by_title(&p, "Acme renewal pricing")[0];
        assert_eq!(
            m.id.as_str(),
            "cal/040000008200E00074C5B7101A82E00800000000B0B4@google.com/single"
        );
        assert!(!m.recurring);
        let got: Vec<_> = m
            .attendees
            .iter()
            .map(|a| (a.email.as_str(), a.kind, a.role, a.partstat))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "alex@mycorp.com",
                    ParticipantKind::Individual,
                    Role::Required,
                    PartStat::NeedsAction
                ),
                (
                    "bob@acme.com",
                    ParticipantKind::Individual,
                    Role::Optional,
                    PartStat::Tentative
                ),
                (
                    "c_1888abcdef@resource.calendar.google.com",
                    ParticipantKind::Room,
                    Role::NonParticipant,
                    PartStat::Accepted
                ),
                (
                    "c_projector@resource.calendar.google.com",
                    ParticipantKind::Resource,
                    Role::NonParticipant,
                    PartStat::Accepted
                ),
                (
                    "sales-team@mycorp.com",
                    ParticipantKind::Group,
                    Role::Required,
                    PartStat::Declined
                ),
            ]
        );
        assert_eq!(m.attendees[1].name.as_deref(), Some("Bob Buyer"));
        assert_eq!(m.organizer.as_ref().unwrap().email, "jane.doe@acme.com");
        assert_eq!(
            m.location.as_deref(),
            Some("Berlin-3-Alexanderplatz (8) [Beamer]")
        );
        // The description was folded over two lines in the file.
        assert!(
            m.description
                .as_deref()
                .unwrap()
                .ends_with("usage numbers from Q3 and Q4.")
        );

        let series = p
            .meetings
            .iter()
            .find(|m| m.id.as_str() == format!("{GOOGLE_SERIES}/20261228T090000Z"))
            .unwrap();
        assert_eq!(
            series.attendees[0].email, "jane.doe@acme.com",
            "mailto: stripped, lower-cased"
        );
    }
}
