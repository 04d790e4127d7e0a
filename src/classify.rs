//! Is this a customer meeting, and why (docs/design.md, "Classification rules").
//!
//! Pure: a meeting, the user's identity, the `[classify]` rules, the `[[accounts]]` and the user's
//! override in, a [`Verdict`] out. The rules are checked in the order docs/design.md gives them
//! ("Classification rules"), and the verdict's `reason` names the rule that decided; those strings
//! are shown by `nextstep upcoming`, so they are short, lower-case and stable.
//!
//! It runs on every meeting of every poll (10,000 is normal), so it compiles nothing and allocates
//! only the verdict (and, for a meeting with customers, the list of their domains): domains are
//! compared in place, ASCII case-insensitively.
//!
//! Longer than our usual 800 lines on purpose: the code is under 400; the rest is one sentence-named
//! test per rule, which reads best next to the rules it pins down.

mod domains;

pub use domains::{NON_PERSON_DOMAINS, PERSONAL_DOMAINS};

use std::collections::HashMap;

use crate::config::{Account, ClassifyRules, Identity, PersonalDomains};
use crate::model::{
    Attendee, Meeting, MeetingId, MeetingState, MeetingStatus, PartStat, ParticipantKind, Verdict,
};

/// Decides whether `meeting` is a customer meeting.
///
/// `override_customer` is the user's per-meeting or per-series answer from the ledger
/// (`Some(false)` = "not a sales meeting", `Some(true)` = "is a sales meeting"); it beats every
/// other rule, cancellation included (docs/design.md, "Classification rules", rule 1).
pub fn classify(
    meeting: &Meeting,
    identity: &Identity,
    rules: &ClassifyRules,
    accounts: &[Account],
    override_customer: Option<bool>,
) -> Verdict {
    classify_with(meeting, identity, rules, accounts, override_customer, None)
}

/// [`classify`] for the many meetings of one poll. A calendar has thousands of participants but
/// few distinct domains, and what the rules say about a domain (internal, personal, which
/// account…) is the costly part, so it is worked out once per domain and remembered. The
/// verdicts are exactly those of [`classify`].
pub struct Classifier<'a> {
    identity: &'a Identity,
    rules: &'a ClassifyRules,
    accounts: &'a [Account],
    memo: Memo,
}

impl<'a> Classifier<'a> {
    pub fn new(identity: &'a Identity, rules: &'a ClassifyRules, accounts: &'a [Account]) -> Self {
        Classifier {
            identity,
            rules,
            accounts,
            memo: Memo::new(),
        }
    }

    pub fn classify(&mut self, meeting: &Meeting, override_customer: Option<bool>) -> Verdict {
        classify_with(
            meeting,
            self.identity,
            self.rules,
            self.accounts,
            override_customer,
            Some(&mut self.memo),
        )
    }

    /// Every meeting with its verdict, in the order given, each with the user's override from
    /// its ledger state applied (a meeting without a state has no override). What the daemon,
    /// `check` and `upcoming` all mean by "classify the calendars". Lazy, so the daemon can keep
    /// the few verdicts it needs without holding one per meeting of a big calendar.
    pub fn classify_all<'m>(
        &mut self,
        meetings: impl IntoIterator<Item = &'m Meeting>,
        states: &HashMap<MeetingId, MeetingState>,
    ) -> impl Iterator<Item = (&'m Meeting, Verdict)> {
        meetings.into_iter().map(move |m| {
            let ov = states.get(&m.id).and_then(|s| s.override_customer);
            (m, self.classify(m, ov))
        })
    }
}

fn classify_with(
    meeting: &Meeting,
    identity: &Identity,
    rules: &ClassifyRules,
    accounts: &[Account],
    override_customer: Option<bool>,
    memo: Option<&mut Memo>,
) -> Verdict {
    // Rule 1: the user's word.
    match override_customer {
        Some(false) => return no("override: not a sales meeting"),
        Some(true) => {
            let scan = scan(meeting, identity, rules, accounts, memo);
            return scan.into_verdict(true, "override: a sales meeting".to_owned());
        }
        None => {}
    }

    // Rule 2: meetings that will not happen for the user, or are not meetings at all.
    if meeting.status == MeetingStatus::Cancelled {
        return no("cancelled");
    }
    if meeting.all_day && rules.skip_all_day {
        return no("all-day");
    }
    // Only the user's own response matters: a customer who declined does not cancel the meeting
    // for the others (see `a_customer_who_declined_still_makes_it_a_customer_meeting`).
    if rules.skip_declined
        && meeting
            .attendees
            .iter()
            .any(|a| a.partstat == PartStat::Declined && is_user(a, identity))
    {
        return no("declined");
    }

    // Rule 3: titles, exclusions first.
    if let Some(re) = rules
        .exclude_titles
        .iter()
        .find(|re| re.is_match(&meeting.title))
    {
        return no(&format!("title excluded: {}", re.as_str()));
    }
    if let Some(re) = rules
        .include_titles
        .iter()
        .find(|re| re.is_match(&meeting.title))
    {
        // Still scan, so an included meeting with customers is filed under their account.
        let scan = scan(meeting, identity, rules, accounts, memo);
        return scan.into_verdict(true, format!("title included: {}", re.as_str()));
    }

    // Rule 4: someone other than the user with a customer address.
    let scan = scan(meeting, identity, rules, accounts, memo);
    match scan.domains.first() {
        Some(first) => {
            let reason = format!("customer domain {}", first.to_lowercase());
            scan.into_verdict(true, reason)
        }
        None => no(scan.rejected.reason()),
    }
}

/// Whether `domain` is `pattern` or one of its subdomains, ASCII case-insensitively:
/// `a.b.example.com` and `EXAMPLE.com` match `example.com`; `badexample.com` does not.
/// A trailing dot (a fully qualified name) on either side is ignored.
pub fn domain_matches(domain: &str, pattern: &str) -> bool {
    is_within(
        domain.trim_end_matches('.').as_bytes(),
        pattern.trim_start_matches('.').trim_end_matches('.'),
    )
}

/// [`domain_matches`] for a domain already trimmed: the hot loop of [`scan`] calls this once per
/// participant and pattern. Config and built-in patterns are already bare, lower-cased domains.
fn is_within(d: &[u8], pattern: &str) -> bool {
    let p = pattern.as_bytes();
    // Cheap rejections first: most patterns differ in length or in their last letter.
    let Some(cut) = d.len().checked_sub(p.len()) else {
        return false;
    };
    match (d.last(), p.last()) {
        (Some(a), Some(b)) if a.eq_ignore_ascii_case(b) => {}
        _ => return false,
    }
    // Byte slices, so a non-ASCII domain can never split inside a character.
    d[cut..].eq_ignore_ascii_case(p) && (cut == 0 || d[cut - 1] == b'.')
}

fn no(reason: &str) -> Verdict {
    Verdict {
        customer: false,
        reason: reason.to_owned(),
        account: None,
        customer_domains: Vec::new(),
    }
}

/// The user: the source says so (Google `self`), or the address is one of `identity.emails`.
fn is_user(a: &Attendee, identity: &Identity) -> bool {
    if a.is_self {
        return true;
    }
    let email = a.email.trim_ascii();
    identity
        .emails
        .iter()
        .any(|e| e.len() == email.len() && e.eq_ignore_ascii_case(email))
}

fn matches_any<S: AsRef<str>>(domain: &[u8], patterns: &[S]) -> bool {
    patterns.iter().any(|p| is_within(domain, p.as_ref()))
}

/// Why a participant other than the user is not a customer, ordered from least to most
/// customer-like: a meeting without customers reports its most customer-like participant, so
/// "not a listed customer domain" tells the user which setting to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rejected {
    /// Nobody but the user, or only addresses without a domain.
    Nobody,
    NonPerson,
    Internal,
    Ignored,
    Personal,
    Unlisted,
}

impl Rejected {
    fn reason(self) -> &'static str {
        match self {
            Rejected::Nobody => "no other participants",
            Rejected::NonPerson => "only rooms and resources",
            Rejected::Internal => "internal only",
            Rejected::Ignored => "only ignored domains",
            Rejected::Personal => "only personal addresses",
            Rejected::Unlisted => "not a listed customer domain",
        }
    }
}

/// What one pass over the participants found.
struct Scan<'a> {
    /// Distinct customer domains as written, in participant order.
    domains: Vec<&'a str>,
    /// The account of the first customer domain that belongs to one.
    account: Option<&'a Account>,
    /// The most customer-like reason a non-customer participant was passed over.
    rejected: Rejected,
}

impl Scan<'_> {
    fn into_verdict(self, customer: bool, reason: String) -> Verdict {
        let account = match self.account {
            Some(a) => Some(a.name.clone()),
            None => self.domains.first().map(|d| d.to_lowercase()),
        };
        Verdict {
            customer,
            reason,
            account,
            customer_domains: self.domains.iter().map(|d| d.to_lowercase()).collect(),
        }
    }
}

/// What the rules say about one domain, whoever has it.
#[derive(Debug, Clone, Copy)]
struct DomainFacts {
    /// A calendar-system domain (rooms, groups): never a person.
    non_person: bool,
    /// Internal, ignored or personal, in that order of precedence.
    rejected: Option<Rejected>,
    /// Index of its [`best_account`].
    account: Option<usize>,
    /// Listed in `customer_domains`.
    listed: bool,
}

fn domain_facts(
    d: &[u8],
    identity: &Identity,
    rules: &ClassifyRules,
    accounts: &[Account],
) -> DomainFacts {
    let rejected = if matches_any(d, &identity.internal_domains) {
        Some(Rejected::Internal)
    } else if matches_any(d, &rules.ignore_domains) {
        Some(Rejected::Ignored)
    } else if rules.personal_domains == PersonalDomains::Ignore && matches_any(d, PERSONAL_DOMAINS)
    {
        Some(Rejected::Personal)
    } else {
        None
    };
    DomainFacts {
        non_person: matches_any(d, NON_PERSON_DOMAINS),
        rejected,
        account: best_account(d, accounts),
        listed: matches_any(d, &rules.customer_domains),
    }
}

/// Remembers [`DomainFacts`] across the meetings of one pass (see [`Classifier`]).
type Memo = std::collections::HashMap<String, DomainFacts>;

fn scan<'a>(
    meeting: &'a Meeting,
    identity: &Identity,
    rules: &ClassifyRules,
    accounts: &'a [Account],
    mut memo: Option<&mut Memo>,
) -> Scan<'a> {
    let listing = rules.only_listed
        && (!rules.customer_domains.is_empty() || accounts.iter().any(|a| !a.domains.is_empty()));
    let mut out = Scan {
        domains: Vec::new(),
        account: None,
        rejected: Rejected::Nobody,
    };
    // The accepted domains, lower-cased, so that "already accepted" is one lookup and an event
    // with 1,000 attendees of distinct domains costs linear work, not quadratic.
    let mut accepted: std::collections::HashSet<std::borrow::Cow<'a, str>> =
        std::collections::HashSet::new();
    for p in meeting.participants() {
        if is_user(p, identity) {
            continue;
        }
        let Some(domain) = p
            .domain()
            .map(|d| d.trim_ascii().trim_end_matches('.'))
            .filter(|d| !d.is_empty())
        else {
            continue;
        };
        let facts = match memo.as_deref_mut() {
            // Keyed by the domain as written; almost every source writes it lower-case.
            Some(memo) => match memo.get(domain) {
                Some(f) => *f,
                None => *memo
                    .entry(domain.to_owned())
                    .or_insert_with(|| domain_facts(domain.as_bytes(), identity, rules, accounts)),
            },
            None => domain_facts(domain.as_bytes(), identity, rules, accounts),
        };
        // Not guessed from the local part ("room-3@…" may be a person): only what the source
        // says, and domains that are calendars by construction.
        let rejected = if matches!(
            p.kind,
            ParticipantKind::Room | ParticipantKind::Resource | ParticipantKind::Group
        ) || facts.non_person
        {
            Some(Rejected::NonPerson)
        } else if accepted.contains(&folded(domain)) {
            // Already accepted: the rest depends on the domain alone.
            continue;
        } else {
            facts.rejected
        };
        if let Some(r) = rejected {
            out.rejected = out.rejected.max(r);
            continue;
        }
        let account = if listing || out.account.is_none() {
            facts.account.and_then(|i| accounts.get(i))
        } else {
            None
        };
        if listing && account.is_none() && !facts.listed {
            out.rejected = out.rejected.max(Rejected::Unlisted);
            continue;
        }
        if out.account.is_none() {
            out.account = account;
        }
        accepted.insert(folded(domain));
        out.domains.push(domain);
    }
    out
}

/// `domain` in ASCII lower case, borrowed when it already is (almost always).
fn folded(domain: &str) -> std::borrow::Cow<'_, str> {
    if domain.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(domain.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(domain)
    }
}

/// The account whose most specific domain matches: `eu.acme.com` belongs to an account listing
/// `eu.acme.com` rather than to one listing `acme.com`; on a tie, the first in the config.
/// Its index in `accounts`.
fn best_account(domain: &[u8], accounts: &[Account]) -> Option<usize> {
    let mut best: Option<(usize, usize)> = None;
    for (i, a) in accounts.iter().enumerate() {
        for d in &a.domains {
            if is_within(domain, d) && best.is_none_or(|(_, len)| d.len() > len) {
                best = Some((i, d.len()));
            }
        }
    }
    best.map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use regex::Regex;

    const ME: &str = "alex@mycorp.com";

    fn person(email: &str) -> Attendee {
        Attendee {
            email: email.into(),
            ..Default::default()
        }
    }

    /// A meeting "Demo" organised by the user, with these attendees besides the user.
    struct M(Meeting);

    fn meeting(attendees: &[&str]) -> M {
        let t = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        let mut all = vec![person(ME)];
        all.extend(attendees.iter().map(|e| person(e)));
        M(Meeting {
            id: MeetingId("work/u1/single".into()),
            source: "work".into(),
            title: "Demo".into(),
            start: t,
            end: t + chrono::Duration::hours(1),
            tz: None,
            all_day: false,
            status: MeetingStatus::Confirmed,
            organizer: Some(person(ME).into()),
            attendees: all.into(),
            location: None,
            description: None,
            recurring: false,
        })
    }

    impl M {
        fn title(mut self, t: &str) -> Self {
            self.0.title = t.into();
            self
        }
        fn organizer(mut self, email: &str) -> Self {
            self.0.organizer = Some(person(email).into());
            self
        }
        fn kind(mut self, email: &str, kind: ParticipantKind) -> Self {
            self.attendee_mut(email).kind = kind;
            self
        }
        fn partstat(mut self, email: &str, ps: PartStat) -> Self {
            self.attendee_mut(email).partstat = ps;
            self
        }
        fn attendee_mut(&mut self, email: &str) -> &mut Attendee {
            std::sync::Arc::make_mut(&mut self.0.attendees)
                .iter_mut()
                .find(|a| a.email == email)
                .expect("the test names an attendee it added")
        }
        fn with(mut self, f: impl FnOnce(&mut Meeting)) -> Self {
            f(&mut self.0);
            self
        }
    }

    fn identity() -> Identity {
        Identity {
            emails: vec![ME.into()],
            internal_domains: vec!["mycorp.com".into()],
        }
    }

    fn rules() -> ClassifyRules {
        ClassifyRules {
            ignore_domains: vec!["zoom.us".into()],
            ..Default::default()
        }
    }

    fn acme() -> Vec<Account> {
        vec![Account {
            name: "Acme".into(),
            domains: vec!["acme.com".into(), "acme.co.uk".into()],
        }]
    }

    fn res(m: &M) -> Verdict {
        res_with(m, &rules(), &[])
    }

    /// Asserts that a meeting of the user with `attendees` is not a customer meeting, for
    /// `reason`.
    fn assert_not_customer(attendees: &[&str], reason: &str) {
        let v = res(&meeting(attendees));
        assert_eq!(
            (v.customer, v.reason.as_str()),
            (false, reason),
            "{attendees:?}"
        );
    }

    /// The verdict of [`classify`], checked against a [`Classifier`] asked twice (the second
    /// time from its remembered domain facts), so every rule test covers both.
    fn res_with(m: &M, rules: &ClassifyRules, accounts: &[Account]) -> Verdict {
        let id = identity();
        let plain = classify(&m.0, &id, rules, accounts, None);
        let mut many = Classifier::new(&id, rules, accounts);
        for round in 0..2 {
            assert_eq!(many.classify(&m.0, None), plain, "round {round}");
        }
        plain
    }

    #[test]
    fn one_classifier_over_many_meetings_agrees_with_classifying_each_alone() {
        let listed = ClassifyRules {
            only_listed: true,
            customer_domains: vec!["globex.example".into()],
            ..rules()
        };
        let meetings = [
            meeting(&["pat@acme.com"]),
            // The same domain as a room here: the kind is the participant's, not the domain's.
            meeting(&["board@acme.com"]).kind("board@acme.com", ParticipantKind::Room),
            meeting(&["pat@acme.com", "kim@eu.acme.com"]),
            meeting(&["bob@gmail.com"]),
            meeting(&["x@zoom.us", "pat@ACME.com"]),
            meeting(&["colleague@mycorp.com"]),
            meeting(&["sam@globex.example", "pat@acme.com"]),
            meeting(&["r@resource.calendar.google.com"]),
            meeting(&["pat@acme.com"]).partstat(ME, PartStat::Declined),
        ];
        for (rules, accounts) in [(rules(), vec![]), (rules(), acme()), (listed, acme())] {
            let id = identity();
            let mut many = Classifier::new(&id, &rules, &accounts);
            for m in meetings.iter().chain(meetings.iter().rev()) {
                let alone = classify(&m.0, &id, &rules, &accounts, None);
                assert_eq!(many.classify(&m.0, None), alone, "{:?}", m.0.attendees);
            }
        }
    }

    #[test]
    fn the_same_domain_in_another_case_counts_once() {
        let v = res(&meeting(&["pat@acme.com", "kim@ACME.com", "lee@Acme.Com"]));
        assert!(v.customer);
        assert_eq!(v.customer_domains, vec!["acme.com".to_string()]);
    }

    #[test]
    fn a_thousand_attendees_of_distinct_domains_are_each_a_customer_domain_once() {
        let emails: Vec<String> = (0..1_000)
            .flat_map(|i| [format!("a{i}@c{i}.example"), format!("b{i}@C{i}.example")])
            .collect();
        let refs: Vec<&str> = emails.iter().map(String::as_str).collect();
        let m = meeting(&refs);
        let started = std::time::Instant::now();
        let v = res(&m);
        let took = started.elapsed();
        assert!(v.customer);
        assert_eq!(v.customer_domains.len(), 1_000);
        assert_eq!(v.customer_domains[0], "c0.example");
        assert_eq!(v.customer_domains[999], "c999.example");
        // Linear work: well under a second even unoptimised (quadratic was ~2 M comparisons).
        assert!(took < std::time::Duration::from_secs(2), "{took:?}");
    }

    #[test]
    fn classify_all_applies_each_meetings_override_from_its_state_and_keeps_the_order() {
        let id = identity();
        let rules = rules();
        let customer = meeting(&["pat@acme.com"]).0;
        let overridden = meeting(&["kim@acme.com"])
            .with(|m| m.id = MeetingId("work/u2/single".into()))
            .0;
        let internal = meeting(&["colleague@mycorp.com"])
            .with(|m| m.id = MeetingId("work/u3/single".into()))
            .0;
        let states = HashMap::from([(
            overridden.id.clone(),
            MeetingState {
                override_customer: Some(false),
                ..Default::default()
            },
        )]);
        let all = [customer, overridden, internal];
        let mut classifier = Classifier::new(&id, &rules, &[]);
        let got: Vec<_> = classifier.classify_all(&all, &states).collect();
        let ids: Vec<&str> = got.iter().map(|(m, _)| m.id.as_str()).collect();
        assert_eq!(ids, ["work/u1/single", "work/u2/single", "work/u3/single"]);
        assert!(got[0].1.customer);
        assert_eq!(got[1].1.reason, "override: not a sales meeting");
        assert!(!got[1].1.customer);
        assert!(!got[2].1.customer);
        // Without states, nothing is overridden.
        let none = HashMap::new();
        let plain: Vec<_> = classifier.classify_all(&all, &none).collect();
        assert!(plain[1].1.customer);
    }

    fn regexes(rs: &[&str]) -> Vec<Regex> {
        rs.iter().map(|r| Regex::new(r).unwrap()).collect()
    }

    #[test]
    fn an_attendee_from_another_company_makes_a_customer_meeting() {
        let v = res(&meeting(&["pat@acme.com"]));
        assert_eq!(
            v,
            Verdict {
                customer: true,
                reason: "customer domain acme.com".into(),
                account: Some("acme.com".into()),
                customer_domains: vec!["acme.com".into()],
            }
        );
    }

    #[test]
    fn domain_matching_covers_subdomains_and_case_but_not_suffixes() {
        assert!(domain_matches("example.com", "example.com"));
        assert!(domain_matches("a.b.example.com", "example.com"));
        assert!(domain_matches("Sales.EXAMPLE.com", "example.COM"));
        assert!(domain_matches("example.com.", ".example.com"));
        assert!(!domain_matches("example.com", "a.example.com"));
        assert!(!domain_matches("example.com", ""));
        assert!(!domain_matches("ü.com", "x.com"));
    }

    #[test]
    fn badexample_does_not_match_example() {
        assert!(!domain_matches("badexample.com", "example.com"));
        let r = ClassifyRules {
            ignore_domains: vec!["example.com".into()],
            ..rules()
        };
        let v = res_with(&meeting(&["x@badexample.com"]), &r, &[]);
        assert_eq!(v.reason, "customer domain badexample.com");
    }

    #[test]
    fn a_subdomain_of_an_internal_domain_is_internal() {
        let v = res(&meeting(&["kim@eu.sales.mycorp.com"]));
        assert!(!v.customer);
        assert_eq!(v.reason, "internal only");
        assert_eq!(v.account, None);
        assert!(v.customer_domains.is_empty());
    }

    #[test]
    fn uppercase_emails_are_matched_and_reported_lower_cased() {
        let m = meeting(&["KIM@MyCorp.COM", "Pat@Sales.ACME.com"]).with(|m| {
            let me = &mut std::sync::Arc::make_mut(&mut m.attendees)[0];
            me.email = "ALEX@MYCORP.COM".into();
            me.partstat = PartStat::Declined;
            m.organizer = None;
        });
        // The upper-cased user is still the user: their decline counts.
        assert_eq!(res(&m).reason, "declined");
        let m = m.partstat("ALEX@MYCORP.COM", PartStat::Accepted);
        let v = classify(&m.0, &identity(), &rules(), &acme(), None);
        assert!(v.customer);
        assert_eq!(v.reason, "customer domain sales.acme.com");
        assert_eq!(v.customer_domains, vec!["sales.acme.com"]);
        assert_eq!(v.account.as_deref(), Some("Acme"));
    }

    #[test]
    fn an_ignored_domain_is_not_a_customer() {
        assert_not_customer(&["bot@zoom.us"], "only ignored domains");
    }

    #[test]
    fn gmail_attendees_are_not_customers_by_default() {
        assert_not_customer(
            &["pat@gmail.com", "sam@outlook.com"],
            "only personal addresses",
        );
    }

    #[test]
    fn gmail_attendees_are_customers_when_personal_domains_is_customer() {
        let r = ClassifyRules {
            personal_domains: PersonalDomains::Customer,
            ..rules()
        };
        let v = res_with(&meeting(&["pat@gmail.com"]), &r, &[]);
        assert!(v.customer);
        assert_eq!(v.reason, "customer domain gmail.com");
    }

    #[test]
    fn a_room_is_not_a_customer() {
        for kind in [
            ParticipantKind::Room,
            ParticipantKind::Resource,
            ParticipantKind::Group,
        ] {
            let m = meeting(&["board-room@acme.com"]).kind("board-room@acme.com", kind);
            let v = res(&m);
            assert_eq!(
                (v.customer, v.reason.as_str()),
                (false, "only rooms and resources"),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn a_room_like_local_part_is_not_guessed_to_be_a_room() {
        assert!(res(&meeting(&["room-3@acme.com"])).customer);
    }

    #[test]
    fn a_google_resource_address_is_not_a_customer() {
        assert_not_customer(
            &[
                "c_188abc@resource.calendar.google.com",
                "team_x@group.calendar.google.com",
            ],
            "only rooms and resources",
        );
    }

    #[test]
    fn a_meeting_with_only_the_user_is_not_a_customer_meeting() {
        assert_not_customer(&[], "no other participants");
        // Known to the source as `self`, not by identity.emails, and from an outside domain.
        let m = meeting(&[]).with(|m| {
            m.organizer = None;
            m.attendees = vec![Attendee {
                email: "me@elsewhere.io".into(),
                is_self: true,
                ..Default::default()
            }]
            .into();
        });
        assert_eq!(res(&m).reason, "no other participants");
    }

    #[test]
    fn an_attendee_without_a_domain_is_not_a_customer() {
        assert_not_customer(&["someone", "x@"], "no other participants");
    }

    #[test]
    fn the_most_customer_like_rejection_is_the_reason() {
        let v = res(&meeting(&[
            "kim@mycorp.com",
            "pat@gmail.com",
            "bot@zoom.us",
        ]));
        assert_eq!(v.reason, "only personal addresses");
    }

    #[test]
    fn an_organizer_from_outside_counts_as_a_customer() {
        let m = meeting(&[]).organizer("lee@globex.io");
        let v = res(&m);
        assert!(v.customer);
        assert_eq!(v.customer_domains, vec!["globex.io"]);
    }

    #[test]
    fn customer_domains_are_distinct_and_in_participant_order() {
        let m = meeting(&[
            "a@initech.com",
            "b@acme.com",
            "c@INITECH.com",
            "d@gmail.com",
        ])
        .organizer("lee@globex.io");
        let v = res(&m);
        assert_eq!(
            v.customer_domains,
            vec!["globex.io", "initech.com", "acme.com"]
        );
        assert_eq!(v.reason, "customer domain globex.io");
        assert_eq!(v.account.as_deref(), Some("globex.io"));
    }

    #[test]
    fn the_account_is_named_by_its_domains() {
        let v = classify(
            &meeting(&["pat@acme.co.uk"]).0,
            &identity(),
            &rules(),
            &acme(),
            None,
        );
        assert_eq!(v.account.as_deref(), Some("Acme"));
        assert_eq!(v.customer_domains, vec!["acme.co.uk"]);
    }

    #[test]
    fn an_account_domain_later_in_the_list_still_names_the_account() {
        // A partner's consultant listed first must not hide the account the meeting is about.
        let v = classify(
            &meeting(&["c@partner.io", "pat@acme.com"]).0,
            &identity(),
            &rules(),
            &acme(),
            None,
        );
        assert_eq!(v.account.as_deref(), Some("Acme"));
        assert_eq!(v.customer_domains, vec!["partner.io", "acme.com"]);
    }

    #[test]
    fn the_most_specific_account_domain_wins() {
        let mut accounts = acme();
        accounts.push(Account {
            name: "Acme Europe".into(),
            domains: vec!["eu.acme.com".into()],
        });
        let v = classify(
            &meeting(&["pat@de.eu.acme.com"]).0,
            &identity(),
            &rules(),
            &accounts,
            None,
        );
        assert_eq!(v.account.as_deref(), Some("Acme Europe"));
    }

    #[test]
    fn only_listed_requires_a_listed_domain() {
        let r = ClassifyRules {
            only_listed: true,
            customer_domains: vec!["initech.com".into()],
            ..rules()
        };
        let v = res_with(&meeting(&["x@globex.io"]), &r, &[]);
        assert_eq!(
            (v.customer, v.reason.as_str()),
            (false, "not a listed customer domain")
        );
        // Listed by customer_domains (a subdomain counts) or by an account.
        let v = res_with(&meeting(&["x@globex.io", "y@hq.initech.com"]), &r, &[]);
        assert_eq!(v.customer_domains, vec!["hq.initech.com"]);
        let v = res_with(&meeting(&["x@globex.io", "y@acme.com"]), &r, &acme());
        assert_eq!(v.customer_domains, vec!["acme.com"]);
        assert_eq!(v.account.as_deref(), Some("Acme"));
        // An unlisted domain after a listed one is still left out.
        let v = res_with(&meeting(&["y@acme.com", "x@globex.io"]), &r, &acme());
        assert_eq!(v.customer_domains, vec!["acme.com"]);
    }

    #[test]
    fn a_fully_qualified_domain_is_reported_without_its_dot() {
        let v = res(&meeting(&["pat@acme.com.", "lee@Acme.com"]));
        assert_eq!(v.customer_domains, vec!["acme.com"]);
        assert_eq!(v.reason, "customer domain acme.com");
    }

    #[test]
    fn only_listed_without_any_list_lists_nothing_out() {
        let r = ClassifyRules {
            only_listed: true,
            ..rules()
        };
        assert!(res_with(&meeting(&["x@globex.io"]), &r, &[]).customer);
    }

    #[test]
    fn customer_domains_without_only_listed_do_not_restrict() {
        let r = ClassifyRules {
            customer_domains: vec!["initech.com".into()],
            ..rules()
        };
        assert!(res_with(&meeting(&["x@globex.io"]), &r, &[]).customer);
    }

    #[test]
    fn the_override_beats_every_other_rule() {
        let r = ClassifyRules {
            exclude_titles: regexes(&["(?i)demo"]),
            ..rules()
        };
        let m = meeting(&["kim@mycorp.com"])
            .partstat(ME, PartStat::Declined)
            .with(|m| {
                m.all_day = true;
                m.status = MeetingStatus::Cancelled;
            });
        let v = classify(&m.0, &identity(), &r, &[], Some(true));
        assert_eq!(
            (v.customer, v.reason.as_str()),
            (true, "override: a sales meeting")
        );
        let m = meeting(&["pat@acme.com"]);
        let v = classify(&m.0, &identity(), &rules(), &acme(), Some(false));
        assert_eq!(
            v,
            Verdict {
                customer: false,
                reason: "override: not a sales meeting".into(),
                account: None,
                customer_domains: vec![],
            }
        );
    }

    #[test]
    fn an_override_to_customer_still_names_the_account() {
        let m = meeting(&["pat@acme.com"]);
        let v = classify(&m.0, &identity(), &rules(), &acme(), Some(true));
        assert_eq!(v.account.as_deref(), Some("Acme"));
    }

    #[test]
    fn a_cancelled_meeting_is_not_prompted() {
        let m = meeting(&["pat@acme.com"]).with(|m| m.status = MeetingStatus::Cancelled);
        assert_eq!(
            (res(&m).customer, res(&m).reason),
            (false, "cancelled".into())
        );
        let m = m.with(|m| m.status = MeetingStatus::Tentative);
        assert!(res(&m).customer);
    }

    #[test]
    fn all_day_events_are_skipped_by_default() {
        let m = meeting(&["pat@acme.com"]).with(|m| m.all_day = true);
        assert_eq!(res(&m).reason, "all-day");
        let r = ClassifyRules {
            skip_all_day: false,
            ..rules()
        };
        assert!(res_with(&m, &r, &[]).customer);
    }

    #[test]
    fn a_declined_meeting_is_skipped_unless_skip_declined_is_false() {
        let m = meeting(&["pat@acme.com"]).partstat(ME, PartStat::Declined);
        let v = res(&m);
        assert_eq!((v.customer, v.reason.as_str()), (false, "declined"));
        let r = ClassifyRules {
            skip_declined: false,
            ..rules()
        };
        assert!(res_with(&m, &r, &[]).customer);
    }

    #[test]
    fn a_meeting_declined_by_the_self_attendee_is_skipped() {
        let m = meeting(&["pat@acme.com"]).with(|m| {
            std::sync::Arc::make_mut(&mut m.attendees).push(Attendee {
                email: "alias@other.example".into(),
                is_self: true,
                partstat: PartStat::Declined,
                ..Default::default()
            })
        });
        assert_eq!(res(&m).reason, "declined");
    }

    #[test]
    fn a_customer_who_declined_still_makes_it_a_customer_meeting() {
        let m = meeting(&["pat@acme.com", "lee@acme.com"])
            .partstat("pat@acme.com", PartStat::Declined)
            .partstat("lee@acme.com", PartStat::Declined);
        let v = res(&m);
        assert!(v.customer);
        assert_eq!(v.customer_domains, vec!["acme.com"]);
    }

    #[test]
    fn exclude_titles_beats_include_titles() {
        let r = ClassifyRules {
            exclude_titles: regexes(&["(?i)interview"]),
            include_titles: regexes(&["(?i)acme"]),
            ..rules()
        };
        let m = meeting(&["pat@acme.com"]).title("Acme: Interview with Pat");
        let v = res_with(&m, &r, &[]);
        assert_eq!(
            (v.customer, v.reason.as_str()),
            (false, "title excluded: (?i)interview")
        );
        assert!(v.customer_domains.is_empty());
    }

    #[test]
    fn include_titles_makes_a_meeting_without_attendees_a_customer_meeting() {
        let r = ClassifyRules {
            include_titles: regexes(&["^Prep", "(?i)call with"]),
            ..rules()
        };
        let m = meeting(&[])
            .title("Call with Acme")
            .with(|m| std::sync::Arc::make_mut(&mut m.attendees).clear());
        let v = res_with(&m, &r, &[]);
        assert_eq!(
            v,
            Verdict {
                customer: true,
                reason: "title included: (?i)call with".into(),
                account: None,
                customer_domains: vec![],
            }
        );
        let m = m.with(|m| std::sync::Arc::make_mut(&mut m.attendees).push(person("pat@acme.com")));
        let v = classify(&m.0, &identity(), &r, &acme(), None);
        assert_eq!(v.account.as_deref(), Some("Acme"));
    }

    #[test]
    fn titles_do_not_beat_cancellation_or_a_decline() {
        let r = ClassifyRules {
            include_titles: regexes(&["Demo"]),
            ..rules()
        };
        let m = meeting(&[]).partstat(ME, PartStat::Declined);
        assert_eq!(res_with(&m, &r, &[]).reason, "declined");
    }

    #[test]
    fn a_non_matching_exclude_title_leaves_the_domain_rule_to_decide() {
        let r = ClassifyRules {
            exclude_titles: regexes(&["(?i)interview"]),
            ..rules()
        };
        assert!(res_with(&meeting(&["pat@acme.com"]), &r, &[]).customer);
    }
}
