//! How a calendar is brought up to date, decided without I/O: from what the server advertised,
//! what state we hold and what the last reply said, [`decide`] names the next request (a full
//! time-range query, a sync-collection REPORT, a ctag check) or says the calendar is done.
//!
//! The sync module runs the requests and feeds each outcome back as [`Last`] until the answer is
//! [`Step::Done`]; every branch is in the table tests below, so a change in policy shows there
//! first. What it promises: a calendar never loops (each chain ends in at most three steps), a
//! rejected token always means one full resync, and sync-collection is given up only on the
//! server's word (it said unsupported, or rejected two tokens in a row).

use chrono::{DateTime, Utc};

use crate::source::Window;

/// Whether a calendar does sync-collection (RFC 6578).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SyncSupport {
    /// The server did not say; try it while it gives tokens.
    Unknown,
    Yes,
    No,
}

/// What discovery learnt from the calendar home's PROPFIND: `reports` is whether
/// `supported-report-set` lists sync-collection (`None` when the property is absent), `has_token`
/// whether the calendar has a `sync-token` property.
pub(super) fn advertised(reports: Option<bool>, has_token: bool) -> SyncSupport {
    match (reports, has_token) {
        (Some(false), _) => SyncSupport::No,
        (Some(true), _) => SyncSupport::Yes,
        (None, true) => SyncSupport::Unknown,
        (None, false) => SyncSupport::No,
    }
}

/// What the previous step's reply said (within one poll of one calendar).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Last {
    /// Nothing asked yet this poll.
    Nothing,
    /// A full query ran; `got_token`: the calendar's PROPFIND before it carried a sync token.
    FullQueried { got_token: bool },
    /// sync-collection answered with a new token and the delta was applied.
    SyncApplied,
    /// The server refused our sync token (expired, unknown).
    TokenRejected,
    /// The server does not do sync-collection on this calendar.
    SyncUnsupported,
    /// A ctag check ran (and fetched what differed).
    CtagChecked,
}

/// Everything [`decide`] looks at.
#[derive(Debug, Clone, Copy)]
pub(super) struct Situation {
    pub support: SyncSupport,
    /// Consecutive rejected sync tokens so far.
    pub rejected_tokens: u32,
    /// We hold a sync token for the calendar.
    pub has_token: bool,
    /// The time range of the last full query, if any.
    pub queried: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// The window this poll must cover.
    pub window: Window,
    pub last: Last,
}

/// The next request for a calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    /// A calendar-query REPORT over the window (a full resync of what overlaps it).
    FullQuery,
    /// A sync-collection REPORT with the stored token.
    SyncCollection,
    /// A PROPFIND of `getctag`, and a listing and multiget only when it changed.
    CtagCheck,
    /// The calendar is up to date for this poll.
    Done,
}

/// The next step, and the bookkeeping that goes with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Decision {
    pub step: Step,
    pub support: SyncSupport,
    pub rejected_tokens: u32,
    /// Drop the stored sync token (it was refused).
    pub forget_token: bool,
}

/// A second rejected token in a row (one we had just been given) means the server's tokens are
/// not worth asking with: ctag checks from then on.
const TOKENS_REJECTED_BEFORE_GIVING_UP: u32 = 2;

/// The whole policy: see the module note.
pub(super) fn decide(s: &Situation) -> Decision {
    let keep = Decision {
        step: Step::Done,
        support: s.support,
        rejected_tokens: s.rejected_tokens,
        forget_token: false,
    };
    match s.last {
        Last::Nothing => {
            // The full query runs again when the window leaves the range queried (about once a
            // day): it picks up far-future events the window reaches and drops those it left,
            // which sync-collection (it reports changes, not dates) would never do.
            let outside = match s.queried {
                None => true,
                Some((start, end)) => s.window.start < start || s.window.end > end,
            };
            let step = if outside {
                Step::FullQuery
            } else if s.support != SyncSupport::No && s.has_token {
                Step::SyncCollection
            } else {
                Step::CtagCheck
            };
            Decision { step, ..keep }
        }
        Last::FullQueried { got_token } => Decision {
            support: match s.support {
                SyncSupport::Unknown if !got_token => SyncSupport::No,
                other => other,
            },
            ..keep
        },
        Last::SyncApplied => Decision {
            support: match s.support {
                SyncSupport::Unknown => SyncSupport::Yes,
                other => other,
            },
            rejected_tokens: 0,
            ..keep
        },
        Last::TokenRejected => {
            let rejected = s.rejected_tokens.saturating_add(1);
            Decision {
                step: Step::FullQuery,
                support: if rejected >= TOKENS_REJECTED_BEFORE_GIVING_UP {
                    SyncSupport::No
                } else {
                    s.support
                },
                rejected_tokens: rejected,
                forget_token: true,
            }
        }
        Last::SyncUnsupported => Decision {
            step: Step::CtagCheck,
            support: SyncSupport::No,
            ..keep
        },
        Last::CtagChecked => keep,
    }
}

/// What a sync-collection reply's status (and body) means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SyncReply {
    /// 207: read the multistatus.
    Multistatus,
    TokenRejected,
    Unsupported,
    /// Any other status: the poll fails with it.
    Failed,
}

/// `names_invalid_token`: the body is a `DAV:error` naming `DAV:valid-sync-token`.
pub(super) fn classify_sync_reply(status: u16, names_invalid_token: bool) -> SyncReply {
    match status {
        207 => SyncReply::Multistatus,
        // RFC 6578 §3.2 names the `DAV:valid-sync-token` precondition, which WebDAV reports as
        // 403 or 409 (RFC 4918 §16); some servers answer 412.
        // QUIRK(Radicale): an unknown or expired token gets `403` with that body, as does
        // QUIRK(sabre/dav: Nextcloud, Baïkal): `403 Invalid or unknown sync token`.
        // https://www.rfc-editor.org/rfc/rfc6578#section-3.2
        // https://github.com/sabre-io/Baikal/issues/1202
        403 | 409 | 412 => SyncReply::TokenRejected,
        // QUIRK(fruux, sabre/dav): a token it issued itself ("0") got `415`; others answer
        // 400/405/501 for a report they do not know. Without the precondition body, these mean
        // "no sync-collection here", and ctag checks take over.
        // https://github.com/sabre-io/dav/issues/1075
        400 | 405 | 415 | 422 | 501 if !names_invalid_token => SyncReply::Unsupported,
        _ if names_invalid_token => SyncReply::TokenRejected,
        _ => SyncReply::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SyncSupport::{No, Unknown, Yes};

    fn t(day: u32) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(&format!("2026-03-{day:02}T12:00:00Z"))
            .unwrap()
            .with_timezone(&Utc)
    }

    /// A window of days 10 to 20, inside a queried range of days 9 to 21 unless said otherwise.
    fn situation(support: SyncSupport, has_token: bool, last: Last) -> Situation {
        Situation {
            support,
            rejected_tokens: 0,
            has_token,
            queried: Some((t(9), t(21))),
            window: Window {
                start: t(10),
                end: t(20),
            },
            last,
        }
    }

    fn decision(
        step: Step,
        support: SyncSupport,
        rejected_tokens: u32,
        forget_token: bool,
    ) -> Decision {
        Decision {
            step,
            support,
            rejected_tokens,
            forget_token,
        }
    }

    fn step(s: Situation) -> Step {
        decide(&s).step
    }

    #[test]
    fn discovery_reads_sync_support_from_the_report_set_then_the_token() {
        let table = [
            (Some(true), true, Yes),
            (Some(true), false, Yes),
            (Some(false), true, No),
            (Some(false), false, No),
            (None, true, Unknown),
            (None, false, No),
        ];
        for (reports, token, want) in table {
            assert_eq!(advertised(reports, token), want, "{reports:?} {token}");
        }
    }

    #[test]
    fn a_calendar_never_queried_gets_a_full_query_whatever_it_supports() {
        for support in [Unknown, Yes, No] {
            for token in [false, true] {
                let s = Situation {
                    queried: None,
                    ..situation(support, token, Last::Nothing)
                };
                assert_eq!(step(s), Step::FullQuery, "{support:?} {token}");
            }
        }
    }

    #[test]
    fn a_window_that_left_the_queried_range_on_either_side_means_a_full_query() {
        let mut s = situation(Yes, true, Last::Nothing);
        s.queried = Some((t(11), t(21)));
        assert_eq!(step(s), Step::FullQuery, "window starts before the range");
        s.queried = Some((t(9), t(19)));
        assert_eq!(step(s), Step::FullQuery, "window ends after the range");
        s.queried = Some((t(10), t(20)));
        assert_eq!(
            step(s),
            Step::SyncCollection,
            "a window exactly the range is inside it"
        );
    }

    #[test]
    fn inside_the_range_a_token_and_any_support_but_no_mean_sync_collection() {
        let table = [
            (Yes, true, Step::SyncCollection),
            (Unknown, true, Step::SyncCollection),
            (No, true, Step::CtagCheck),
            (Yes, false, Step::CtagCheck),
            (Unknown, false, Step::CtagCheck),
            (No, false, Step::CtagCheck),
        ];
        for (support, token, want) in table {
            assert_eq!(
                step(situation(support, token, Last::Nothing)),
                want,
                "{support:?} {token}"
            );
        }
    }

    #[test]
    fn the_start_of_a_poll_changes_no_bookkeeping() {
        let mut s = situation(Unknown, true, Last::Nothing);
        s.rejected_tokens = 1;
        let d = decide(&s);
        assert_eq!(
            (d.support, d.rejected_tokens, d.forget_token),
            (Unknown, 1, false)
        );
    }

    #[test]
    fn an_applied_sync_ends_the_poll_confirms_support_and_clears_rejections() {
        for (before, after) in [(Unknown, Yes), (Yes, Yes)] {
            let mut s = situation(before, true, Last::SyncApplied);
            s.rejected_tokens = 1;
            assert_eq!(decide(&s), decision(Step::Done, after, 0, false));
        }
    }

    #[test]
    fn a_first_rejected_token_means_a_full_resync_without_it() {
        for support in [Unknown, Yes] {
            assert_eq!(
                decide(&situation(support, true, Last::TokenRejected)),
                decision(Step::FullQuery, support, 1, true)
            );
        }
    }

    #[test]
    fn a_second_rejected_token_in_a_row_turns_sync_collection_off() {
        let mut s = situation(Yes, true, Last::TokenRejected);
        s.rejected_tokens = 1;
        assert_eq!(decide(&s), decision(Step::FullQuery, No, 2, true));
        s.rejected_tokens = u32::MAX;
        assert_eq!(decide(&s).rejected_tokens, u32::MAX, "no overflow");
    }

    #[test]
    fn a_server_without_sync_collection_gets_a_ctag_check_from_now_on() {
        for support in [Unknown, Yes] {
            let d = decide(&situation(support, true, Last::SyncUnsupported));
            assert_eq!((d.step, d.support), (Step::CtagCheck, No));
            assert_eq!(
                step(situation(d.support, true, Last::Nothing)),
                Step::CtagCheck
            );
        }
    }

    #[test]
    fn a_full_query_ends_the_poll_and_a_missing_token_settles_unknown_support_as_no() {
        let table = [
            (Unknown, false, No),
            (Unknown, true, Unknown),
            (Yes, false, Yes),
            (Yes, true, Yes),
            (No, true, No),
        ];
        for (before, got_token, after) in table {
            let d = decide(&situation(before, false, Last::FullQueried { got_token }));
            assert_eq!(
                (d.step, d.support, d.forget_token),
                (Step::Done, after, false),
                "{before:?} {got_token}"
            );
        }
    }

    #[test]
    fn a_ctag_check_ends_the_poll() {
        assert_eq!(
            decide(&situation(No, false, Last::CtagChecked)),
            decision(Step::Done, No, 0, false)
        );
    }

    /// Runs the loop the sync module runs, with canned replies, and lists the steps taken.
    fn run(mut s: Situation, reply_to_sync: Last, full_token: bool) -> Vec<Step> {
        let mut steps = Vec::new();
        for _ in 0..10 {
            let d = decide(&s);
            s.support = d.support;
            s.rejected_tokens = d.rejected_tokens;
            s.has_token &= !d.forget_token;
            s.last = match d.step {
                Step::Done => return steps,
                Step::FullQuery => {
                    s.has_token = full_token;
                    Last::FullQueried {
                        got_token: full_token,
                    }
                }
                Step::SyncCollection => reply_to_sync,
                Step::CtagCheck => Last::CtagChecked,
            };
            steps.push(d.step);
        }
        panic!("no end after {steps:?}");
    }

    #[test]
    fn every_chain_of_replies_ends_within_two_requests() {
        use Step::*;
        let table = [
            (Last::SyncApplied, vec![SyncCollection]),
            (Last::TokenRejected, vec![SyncCollection, FullQuery]),
            (Last::SyncUnsupported, vec![SyncCollection, CtagCheck]),
        ];
        for (reply, want) in table {
            for support in [Unknown, Yes] {
                assert_eq!(
                    run(situation(support, true, Last::Nothing), reply, true),
                    want
                );
            }
        }
        assert_eq!(
            run(situation(No, true, Last::Nothing), Last::SyncApplied, true),
            [CtagCheck]
        );
    }

    #[test]
    fn sync_replies_are_read_by_status_and_by_the_precondition_body() {
        use SyncReply::*;
        let table = [
            (207, false, Multistatus),
            (207, true, Multistatus),
            (403, false, TokenRejected),
            (409, false, TokenRejected),
            (412, false, TokenRejected),
            (400, false, Unsupported),
            (405, false, Unsupported),
            (415, false, Unsupported),
            (422, false, Unsupported),
            (501, false, Unsupported),
            (400, true, TokenRejected),
            (415, true, TokenRejected),
            (500, true, TokenRejected),
            (500, false, Failed),
            (404, false, Failed),
        ];
        for (status, body, want) in table {
            assert_eq!(classify_sync_reply(status, body), want, "{status} {body}");
        }
    }
}
