//! WebDAV / CalDAV wire format (pure): request bodies we send and the multistatus answers we read.
//!
//! No I/O here, so every shape is tested on bodies captured from real servers. What it promises:
//! - elements are matched by namespace URI and local name, never by prefix;
//! - entity and character references are decoded (roxmltree);
//! - documents with a DTD are refused (`allow_dtd = false`): no entity expansion attacks;
//! - strings we put into request bodies (sync tokens, hrefs) are XML-escaped;
//! - an href the server wrote is compared as a percent-decoded path resolved against the URL the
//!   answer came from ([`href_key`]), however the server spelt it.

use chrono::{DateTime, Utc};
use url::Url;

/// `DAV:`
pub const DAV: &str = "DAV:";
/// RFC 4791 `urn:ietf:params:xml:ns:caldav`.
pub const CALDAV: &str = "urn:ietf:params:xml:ns:caldav";
/// getctag lives here (a de-facto extension from Apple, served by Radicale, Nextcloud, iCloud…).
pub const CALSERVER: &str = "http://calendarserver.org/ns/";

#[derive(Debug, thiserror::Error)]
pub enum WebDavError {
    #[error("not well-formed XML: {0}")]
    Xml(String),
    #[error("expected a DAV:multistatus document, found <{0}>")]
    NotMultistatus(String),
}

/// The properties this program asks for. A property that the server does not have is `None`
/// (it was in a 404 propstat, or absent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Props {
    /// `DAV:resourcetype` children as (namespace, local name).
    pub resourcetype: Option<Vec<(String, String)>>,
    pub displayname: Option<String>,
    pub getetag: Option<String>,
    pub getctag: Option<String>,
    pub sync_token: Option<String>,
    /// `CALDAV:calendar-data`, the iCalendar text of the object.
    pub calendar_data: Option<String>,
    pub current_user_principal: Option<String>,
    pub calendar_home_set: Option<Vec<String>>,
    /// `CALDAV:supported-calendar-component-set`: component names (`VEVENT`, `VTODO`…).
    pub supported_components: Option<Vec<String>>,
    /// `DAV:supported-report-set`: report names as (namespace, local name).
    pub supported_reports: Option<Vec<(String, String)>>,
}

impl Props {
    pub fn is_calendar(&self) -> bool {
        self.has_type(CALDAV, "calendar")
    }

    pub fn is_collection(&self) -> bool {
        self.has_type(DAV, "collection")
    }

    fn has_type(&self, ns: &str, name: &str) -> bool {
        self.resourcetype
            .as_ref()
            .is_some_and(|t| t.iter().any(|(n, l)| n == ns && l == name))
    }

    /// RFC 4791 §5.2.3: a calendar without the property accepts every component type.
    pub fn holds_events(&self) -> bool {
        self.supported_components
            .as_ref()
            .is_none_or(|c| c.iter().any(|c| c.eq_ignore_ascii_case("VEVENT")))
    }

    /// `Some(true/false)` when the server listed its reports, `None` when it did not say.
    pub fn supports_sync_collection(&self) -> Option<bool> {
        self.supported_reports
            .as_ref()
            .map(|r| r.iter().any(|(n, l)| n == DAV && l == "sync-collection"))
    }

    /// Fills the fields `other` has and `self` lacks (one response may carry several propstats).
    fn merge(&mut self, other: Props) {
        macro_rules! take {
            ($($f:ident),*) => { $( if self.$f.is_none() { self.$f = other.$f; } )* };
        }
        take!(
            resourcetype,
            displayname,
            getetag,
            getctag,
            sync_token,
            calendar_data,
            current_user_principal,
            calendar_home_set,
            supported_components,
            supported_reports
        );
    }
}

/// One `DAV:response`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Response {
    /// As the server wrote it (maybe percent-encoded, maybe a full URL); resolve against the
    /// request URL.
    pub href: String,
    /// The response-level `DAV:status` (sync-collection reports a removed member as 404 here).
    pub status: Option<u16>,
    /// The properties from every propstat with a 2xx status.
    pub props: Props,
}

/// A parsed `DAV:multistatus`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Multistatus {
    pub responses: Vec<Response>,
    /// The top-level `DAV:sync-token` of a sync-collection answer.
    pub sync_token: Option<String>,
}

fn parse_doc(body: &[u8]) -> Result<roxmltree::Document<'_>, WebDavError> {
    let text = std::str::from_utf8(body).map_err(|e| WebDavError::Xml(e.to_string()))?;
    // A UTF-8 byte order mark is legal before the XML declaration; roxmltree does not skip it.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let opts = roxmltree::ParsingOptions {
        allow_dtd: false,
        ..roxmltree::ParsingOptions::default()
    };
    roxmltree::Document::parse_with_options(text, opts).map_err(|e| WebDavError::Xml(e.to_string()))
}

fn is(node: &roxmltree::Node<'_, '_>, ns: &str, name: &str) -> bool {
    node.is_element() && node.tag_name().name() == name && node.tag_name().namespace() == Some(ns)
}

fn child<'a, 'i>(
    node: &roxmltree::Node<'a, 'i>,
    ns: &str,
    name: &str,
) -> Option<roxmltree::Node<'a, 'i>> {
    node.children().find(|c| is(c, ns, name))
}

/// All text below a node, concatenated (CDATA and entity references included, comments not).
fn text_of(node: &roxmltree::Node<'_, '_>) -> String {
    node.descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect()
}

fn trimmed(node: &roxmltree::Node<'_, '_>) -> String {
    text_of(node).trim().to_string()
}

/// `HTTP/1.1 404 Not Found` -> 404.
pub fn parse_status_line(line: &str) -> Option<u16> {
    line.split_whitespace().nth(1)?.parse().ok()
}

fn hrefs_in(node: &roxmltree::Node<'_, '_>) -> Vec<String> {
    node.children()
        .filter(|c| is(c, DAV, "href"))
        .map(|h| trimmed(&h))
        .filter(|h| !h.is_empty())
        .collect()
}

fn element_names(node: &roxmltree::Node<'_, '_>) -> Vec<(String, String)> {
    node.children()
        .filter(|c| c.is_element())
        .map(|c| {
            (
                c.tag_name().namespace().unwrap_or("").to_string(),
                c.tag_name().name().to_string(),
            )
        })
        .collect()
}

fn parse_prop(prop: &roxmltree::Node<'_, '_>) -> Props {
    let mut p = Props::default();
    for el in prop.children().filter(|c| c.is_element()) {
        let ns = el.tag_name().namespace().unwrap_or("");
        match (ns, el.tag_name().name()) {
            (DAV, "resourcetype") => p.resourcetype = Some(element_names(&el)),
            (DAV, "displayname") => p.displayname = Some(trimmed(&el)),
            (DAV, "getetag") => p.getetag = Some(trimmed(&el)),
            (DAV, "sync-token") => p.sync_token = Some(trimmed(&el)),
            (CALSERVER, "getctag") => p.getctag = Some(trimmed(&el)),
            // Not trimmed: the text is the object, line endings and all.
            // QUIRK(any server): CRLF in calendar-data arrives as LF, because XML parsers
            // normalise line ends; the iCalendar reader takes both.
            // https://www.w3.org/TR/xml/#sec-line-ends
            (CALDAV, "calendar-data") => p.calendar_data = Some(text_of(&el)),
            (DAV, "current-user-principal") => {
                p.current_user_principal = hrefs_in(&el).into_iter().next()
            }
            (CALDAV, "calendar-home-set") => p.calendar_home_set = Some(hrefs_in(&el)),
            (CALDAV, "supported-calendar-component-set") => {
                p.supported_components = Some(
                    el.children()
                        .filter(|c| is(c, CALDAV, "comp"))
                        .filter_map(|c| c.attribute("name").map(str::to_string))
                        .collect(),
                )
            }
            (DAV, "supported-report-set") => {
                // <supported-report><report><sync-collection/></report></supported-report>
                p.supported_reports = Some(
                    el.children()
                        .filter(|c| is(c, DAV, "supported-report"))
                        .filter_map(|s| child(&s, DAV, "report"))
                        .flat_map(|r| element_names(&r))
                        .collect(),
                )
            }
            _ => {}
        }
    }
    p
}

/// Parses a `207 Multi-Status` body.
pub fn parse_multistatus(body: &[u8]) -> Result<Multistatus, WebDavError> {
    let doc = parse_doc(body)?;
    let root = doc.root_element();
    if !is(&root, DAV, "multistatus") {
        return Err(WebDavError::NotMultistatus(format!(
            "{}{}",
            root.tag_name()
                .namespace()
                .map(|n| format!("{{{n}}}"))
                .unwrap_or_default(),
            root.tag_name().name()
        )));
    }
    let mut ms = Multistatus {
        sync_token: child(&root, DAV, "sync-token").map(|t| trimmed(&t)),
        ..Multistatus::default()
    };
    for resp in root.children().filter(|c| is(c, DAV, "response")) {
        let Some(href) = child(&resp, DAV, "href").map(|h| trimmed(&h)) else {
            continue;
        };
        let mut r = Response {
            href,
            status: child(&resp, DAV, "status").and_then(|s| parse_status_line(&text_of(&s))),
            props: Props::default(),
        };
        for ps in resp.children().filter(|c| is(c, DAV, "propstat")) {
            let status = child(&ps, DAV, "status")
                .and_then(|s| parse_status_line(&text_of(&s)))
                .unwrap_or(200);
            if !(200..300).contains(&status) {
                continue;
            }
            if let Some(prop) = child(&ps, DAV, "prop") {
                r.props.merge(parse_prop(&prop));
            }
        }
        ms.responses.push(r);
    }
    Ok(ms)
}

impl Multistatus {
    /// The response about `at` itself (servers may spell its href differently: a trailing
    /// slash, a full URL), else the first one.
    pub fn own_response(&self, at: &Url) -> Option<&Response> {
        let target = percent_decode(at.path());
        self.responses
            .iter()
            .find(|r| href_key(at, &r.href).is_some_and(|k| same_path(&k, &target)))
            .or(self.responses.first())
    }
}

/// The percent-decoded path `href` names, resolved against `base` (the URL the answer came
/// from): the key objects are stored under.
pub fn href_key(base: &Url, href: &str) -> Option<String> {
    base.join(href).ok().map(|u| percent_decode(u.path()))
}

/// Whether two decoded paths name the same resource; servers differ on a collection's trailing
/// slash.
pub fn same_path(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// `%XX` sequences decoded (as UTF-8, lossily); a `%` not followed by two hex digits stays.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether an error body (RFC 4918 §16 `DAV:error`) names the `DAV:valid-sync-token`
/// precondition (RFC 6578 §3.2): the token is unknown or expired and a full resync is needed.
pub fn is_invalid_sync_token(body: &[u8]) -> bool {
    parse_doc(body).is_ok_and(|doc| {
        doc.root_element()
            .descendants()
            .any(|n| is(&n, DAV, "valid-sync-token"))
    })
}

/// Escapes text for an XML element body.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

const HEADER: &str = r#"<?xml version="1.0" encoding="utf-8"?>"#;
const NS: &str = r#"xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:cs="http://calendarserver.org/ns/""#;

/// PROPFIND asking where the calendars are: works on a principal, the server root or a
/// calendar, so one request shape serves every discovery step.
pub fn propfind_discovery() -> String {
    format!(
        "{HEADER}<d:propfind {NS}><d:prop>\
         <d:resourcetype/><d:displayname/><d:current-user-principal/><c:calendar-home-set/>\
         <c:supported-calendar-component-set/><d:supported-report-set/>\
         <d:sync-token/><cs:getctag/>\
         </d:prop></d:propfind>"
    )
}

/// PROPFIND Depth 0 on a calendar: the cheap "did anything change" check.
pub fn propfind_change_marks() -> String {
    format!("{HEADER}<d:propfind {NS}><d:prop><d:sync-token/><cs:getctag/></d:prop></d:propfind>")
}

/// PROPFIND Depth 1 listing each object's ETag (servers without sync-collection).
pub fn propfind_etags() -> String {
    format!("{HEADER}<d:propfind {NS}><d:prop><d:getetag/></d:prop></d:propfind>")
}

fn ical_time(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

fn data_prop(with_data: bool) -> &'static str {
    if with_data {
        "<d:prop><d:getetag/><c:calendar-data/></d:prop>"
    } else {
        "<d:prop><d:getetag/></d:prop>"
    }
}

/// RFC 4791 §7.8 calendar-query: every VEVENT object overlapping `[start, end)`. The server
/// decides overlap on the whole series, so a recurring event with any occurrence inside matches.
pub fn calendar_query(start: DateTime<Utc>, end: DateTime<Utc>, with_data: bool) -> String {
    format!(
        "{HEADER}<c:calendar-query {NS}>{}\
         <c:filter><c:comp-filter name=\"VCALENDAR\"><c:comp-filter name=\"VEVENT\">\
         <c:time-range start=\"{}\" end=\"{}\"/>\
         </c:comp-filter></c:comp-filter></c:filter></c:calendar-query>",
        data_prop(with_data),
        ical_time(start),
        ical_time(end)
    )
}

/// RFC 4791 §7.9 calendar-multiget for the given hrefs (as the server wrote them).
pub fn calendar_multiget<'a>(hrefs: impl IntoIterator<Item = &'a str>) -> String {
    let mut body = format!("{HEADER}<c:calendar-multiget {NS}>{}", data_prop(true));
    for h in hrefs {
        body.push_str("<d:href>");
        body.push_str(&escape(h));
        body.push_str("</d:href>");
    }
    body.push_str("</c:calendar-multiget>");
    body
}

/// RFC 6578 §3.2 sync-collection; `token` `None` asks for everything.
pub fn sync_collection(token: Option<&str>, with_data: bool) -> String {
    format!(
        "{HEADER}<d:sync-collection {NS}><d:sync-token>{}</d:sync-token>\
         <d:sync-level>1</d:sync-level>{}</d:sync-collection>",
        escape(token.unwrap_or("")),
        data_prop(with_data)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured from Radicale 3.9.0 (PyPI) on 127.0.0.1 with curl, 2026-11-26: user `alice`, an
    // event calendar `/alice/work%20cal/` named "Work & Sales" and a task list `/alice/tasks/`.

    /// PROPFIND Depth 0 on `/` with [`propfind_discovery`] (after `/.well-known/caldav` answered
    /// `301 Location: /`).
    const RADICALE_ROOT: &str = r#"<?xml version='1.0' encoding='utf-8'?>
<multistatus xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:CS="http://calendarserver.org/ns/"><response><href>/</href><propstat><prop><resourcetype><collection /></resourcetype><current-user-principal><href>/alice/</href></current-user-principal><supported-report-set><supported-report><report><expand-property /></report></supported-report><supported-report><report><principal-search-property-set /></report></supported-report><supported-report><report><principal-property-search /></report></supported-report></supported-report-set></prop><status>HTTP/1.1 200 OK</status></propstat><propstat><prop><displayname /><C:calendar-home-set /><C:supported-calendar-component-set /><sync-token /><CS:getctag /></prop><status>HTTP/1.1 404 Not Found</status></propstat></response></multistatus>"#;

    /// PROPFIND Depth 1 on the calendar home `/alice/` with [`propfind_discovery`].
    const RADICALE_HOME: &str = r#"<?xml version='1.0' encoding='utf-8'?>
<multistatus xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:CS="http://calendarserver.org/ns/"><response><href>/alice/</href><propstat><prop><resourcetype><principal /><collection /></resourcetype><current-user-principal><href>/alice/</href></current-user-principal><C:calendar-home-set><href>/alice/</href></C:calendar-home-set><supported-report-set><supported-report><report><expand-property /></report></supported-report><supported-report><report><principal-search-property-set /></report></supported-report><supported-report><report><principal-property-search /></report></supported-report></supported-report-set></prop><status>HTTP/1.1 200 OK</status></propstat><propstat><prop><displayname /><C:supported-calendar-component-set /><sync-token /><CS:getctag /></prop><status>HTTP/1.1 404 Not Found</status></propstat></response><response><href>/alice/tasks/</href><propstat><prop><resourcetype><C:calendar /><collection /></resourcetype><displayname>Tasks</displayname><current-user-principal><href>/alice/</href></current-user-principal><C:supported-calendar-component-set><C:comp name="VTODO" /></C:supported-calendar-component-set><supported-report-set><supported-report><report><expand-property /></report></supported-report><supported-report><report><principal-search-property-set /></report></supported-report><supported-report><report><principal-property-search /></report></supported-report><supported-report><report><sync-collection /></report></supported-report><supported-report><report><C:calendar-multiget /></report></supported-report><supported-report><report><C:calendar-query /></report></supported-report><supported-report><report><C:free-busy-query /></report></supported-report></supported-report-set><sync-token>http://radicale.org/ns/sync/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855</sync-token><CS:getctag>"e8253faa45e08388c196d20b303665a885a1d78b6f0dcfd2cf9772841f882c3e"</CS:getctag></prop><status>HTTP/1.1 200 OK</status></propstat><propstat><prop><C:calendar-home-set /></prop><status>HTTP/1.1 404 Not Found</status></propstat></response><response><href>/alice/work%20cal/</href><propstat><prop><resourcetype><C:calendar /><collection /></resourcetype><displayname>Work &amp; Sales</displayname><current-user-principal><href>/alice/</href></current-user-principal><C:supported-calendar-component-set><C:comp name="VEVENT" /></C:supported-calendar-component-set><supported-report-set><supported-report><report><expand-property /></report></supported-report><supported-report><report><principal-search-property-set /></report></supported-report><supported-report><report><principal-property-search /></report></supported-report><supported-report><report><sync-collection /></report></supported-report><supported-report><report><C:calendar-multiget /></report></supported-report><supported-report><report><C:calendar-query /></report></supported-report><supported-report><report><C:free-busy-query /></report></supported-report></supported-report-set><sync-token>http://radicale.org/ns/sync/80143a951964018a35a17219f2b2fbc42f19fa6994ba0b893a5892dad65f0dd1</sync-token><CS:getctag>"435df34d6d6011445690930f150e37aa831d91677a32d21717d7411f3ef594a8"</CS:getctag></prop><status>HTTP/1.1 200 OK</status></propstat><propstat><prop><C:calendar-home-set /></prop><status>HTTP/1.1 404 Not Found</status></propstat></response></multistatus>"#;

    /// sync-collection with an empty token, asking for getetag and calendar-data.
    const RADICALE_SYNC_FIRST: &str = r#"<?xml version='1.0' encoding='utf-8'?>
<multistatus xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><sync-token>http://radicale.org/ns/sync/80143a951964018a35a17219f2b2fbc42f19fa6994ba0b893a5892dad65f0dd1</sync-token><response><href>/alice/work%20cal/e1.ics</href><propstat><prop><getetag>"8c799a69b738dfe4fc692600c2986a34ba9f2b6c7afe55471c5f8ca14ebfb046"</getetag><C:calendar-data>BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//t//t//EN
BEGIN:VEVENT
UID:e1
DTSTART:20260105T100000Z
DTEND:20260105T110000Z
DTSTAMP:20260101T000000Z
SUMMARY:Café &amp; &lt;Co&gt;
END:VEVENT
END:VCALENDAR
</C:calendar-data></prop><status>HTTP/1.1 200 OK</status></propstat></response></multistatus>"#;

    /// sync-collection with the previous token after the event was deleted.
    const RADICALE_SYNC_DELETED: &str = r#"<?xml version='1.0' encoding='utf-8'?>
<multistatus xmlns="DAV:"><sync-token>http://radicale.org/ns/sync/b9aaa80e74f7c268f873d2f46067387dceab6822f68f5d08cf28299055940185</sync-token><response><href>/alice/work%20cal/e1.ics</href><status>HTTP/1.1 404 Not Found</status></response></multistatus>"#;

    /// sync-collection with a token the server never issued: `403 Forbidden` and this body.
    const RADICALE_BAD_TOKEN: &str = r#"<?xml version='1.0' encoding='utf-8'?>
<error xmlns="DAV:"><valid-sync-token /></error>"#;

    #[test]
    fn the_server_root_names_the_current_user_principal() {
        let ms = parse_multistatus(RADICALE_ROOT.as_bytes()).unwrap();
        assert_eq!(
            ms.responses[0].props.current_user_principal.as_deref(),
            Some("/alice/")
        );
        assert_eq!(ms.responses[0].props.calendar_home_set, None);
    }

    #[test]
    fn radicale_sync_answers_carry_data_and_removals() {
        let first = parse_multistatus(RADICALE_SYNC_FIRST.as_bytes()).unwrap();
        assert!(first.sync_token.as_deref().unwrap().ends_with("0dd1"));
        let data = first.responses[0].props.calendar_data.as_deref().unwrap();
        assert!(data.contains("SUMMARY:Café & <Co>\n"), "{data}");
        let gone = parse_multistatus(RADICALE_SYNC_DELETED.as_bytes()).unwrap();
        assert_eq!(gone.responses[0].status, Some(404));
        assert_eq!(gone.responses[0].href, "/alice/work%20cal/e1.ics");
        assert!(is_invalid_sync_token(RADICALE_BAD_TOKEN.as_bytes()));
    }

    #[test]
    fn a_calendar_home_lists_calendars_with_names_components_and_reports() {
        let ms = parse_multistatus(RADICALE_HOME.as_bytes()).unwrap();
        assert_eq!(ms.responses.len(), 3);
        let home = &ms.responses[0];
        assert!(!home.props.is_calendar());
        assert_eq!(
            home.props.calendar_home_set.as_deref(),
            Some(&["/alice/".to_string()][..])
        );
        assert_eq!(
            home.props.displayname, None,
            "a 404 propstat is not a value"
        );
        let work = &ms.responses[2];
        assert_eq!(work.href, "/alice/work%20cal/");
        assert!(work.props.is_calendar() && work.props.is_collection());
        assert!(work.props.holds_events());
        assert_eq!(work.props.displayname.as_deref(), Some("Work & Sales"));
        assert_eq!(work.props.supports_sync_collection(), Some(true));
        assert!(
            work.props
                .getctag
                .as_deref()
                .unwrap()
                .starts_with("\"435df")
        );
        assert!(work.props.sync_token.as_deref().unwrap().ends_with("0dd1"));
        assert!(
            !ms.responses[1].props.holds_events(),
            "a VTODO list holds no events"
        );
    }

    #[test]
    fn a_calendar_without_a_component_set_counts_as_holding_events() {
        let p = Props {
            resourcetype: Some(vec![(CALDAV.into(), "calendar".into())]),
            ..Props::default()
        };
        assert!(p.holds_events());
        assert_eq!(p.supports_sync_collection(), None);
    }

    /// RFC 6578 §6.2 (the example response to a follow-up sync-collection), quoted verbatim
    /// apart from the line breaks in the XML prolog.
    const RFC6578_SYNC: &str = r#"<?xml version="1.0" encoding="utf-8" ?>
   <D:multistatus xmlns:D="DAV:">
     <D:response>
       <D:href
   >http://webdav.example.com/home/cyrusdaboo/file.xml</D:href>
       <D:propstat>
         <D:prop>
           <D:getetag>"00001-abcd1"</D:getetag>
         </D:prop>
         <D:status>HTTP/1.1 200 OK</D:status>
       </D:propstat>
     </D:response>
     <D:response>
       <D:href
   >http://webdav.example.com/home/cyrusdaboo/file2.xml</D:href>
       <D:status>HTTP/1.1 404 Not Found</D:status>
     </D:response>
     <D:sync-token>http://example.com/ns/sync/1238</D:sync-token>
   </D:multistatus>"#;

    #[test]
    fn a_sync_collection_answer_separates_changed_and_removed_members() {
        let ms = parse_multistatus(RFC6578_SYNC.as_bytes()).unwrap();
        assert_eq!(
            ms.sync_token.as_deref(),
            Some("http://example.com/ns/sync/1238")
        );
        assert_eq!(ms.responses[0].status, None);
        assert_eq!(
            ms.responses[0].props.getetag.as_deref(),
            Some("\"00001-abcd1\"")
        );
        assert_eq!(
            ms.responses[1].href,
            "http://webdav.example.com/home/cyrusdaboo/file2.xml"
        );
        assert_eq!(ms.responses[1].status, Some(404));
    }

    /// RFC 4791 §7.8.1 style calendar-query answer with entities and CDATA, which must reach the
    /// iCalendar parser decoded. XML turns CRLF into LF (XML 1.0 §2.11); iCalendar parsers take
    /// both.
    #[test]
    fn calendar_data_is_decoded_and_keeps_its_line_breaks() {
        let body = "<?xml version=\"1.0\"?><D:multistatus xmlns:D=\"DAV:\" \
            xmlns:C=\"urn:ietf:params:xml:ns:caldav\"><D:response><D:href>/c/a.ics</D:href>\
            <D:propstat><D:prop><D:getetag>\"e1\"</D:getetag><C:calendar-data>BEGIN:VCALENDAR\r\n\
            SUMMARY:R&amp;D &#xE9;t&#233;\r\n<![CDATA[X-A:<b>]]>\r\nEND:VCALENDAR\r\n</C:calendar-data>\
            </D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>";
        let ms = parse_multistatus(body.as_bytes()).unwrap();
        assert_eq!(
            ms.responses[0].props.calendar_data.as_deref(),
            Some("BEGIN:VCALENDAR\nSUMMARY:R&D été\nX-A:<b>\nEND:VCALENDAR\n")
        );
    }

    #[test]
    fn elements_are_matched_by_namespace_not_by_prefix() {
        // `C:` bound to DAV and `D:` bound to CalDAV: a prefix-matching parser gets this wrong.
        let body = r#"<C:multistatus xmlns:C="DAV:" xmlns:D="urn:ietf:params:xml:ns:caldav"><C:response><C:href>/x/</C:href><C:propstat><C:prop><C:resourcetype><D:calendar/></C:resourcetype><D:calendar-data>hello</D:calendar-data><C:calendar-data>wrong</C:calendar-data></C:prop></C:propstat></C:response></C:multistatus>"#;
        let ms = parse_multistatus(body.as_bytes()).unwrap();
        assert!(ms.responses[0].props.is_calendar());
        assert_eq!(
            ms.responses[0].props.calendar_data.as_deref(),
            Some("hello")
        );
    }

    #[test]
    fn a_document_with_a_dtd_is_refused() {
        let body = r#"<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><D:multistatus xmlns:D="DAV:"><D:sync-token>&b;</D:sync-token></D:multistatus>"#;
        let err = parse_multistatus(body.as_bytes()).unwrap_err();
        assert!(matches!(err, WebDavError::Xml(_)), "{err}");
    }

    #[test]
    fn an_html_page_is_not_a_multistatus() {
        let err = parse_multistatus(b"<html><body>Login</body></html>").unwrap_err();
        assert_eq!(
            err.to_string(),
            "expected a DAV:multistatus document, found <html>"
        );
        assert!(parse_multistatus(b"not xml").is_err());
    }

    /// RFC 6578 §3.2 precondition body; Radicale answers a bad token with 403 and this body.
    #[test]
    fn the_valid_sync_token_precondition_is_recognised() {
        let body = br#"<?xml version="1.0" encoding="utf-8" ?><D:error xmlns:D="DAV:"><D:valid-sync-token/></D:error>"#;
        assert!(is_invalid_sync_token(body));
        assert!(!is_invalid_sync_token(
            b"<D:error xmlns:D=\"DAV:\"><D:need-privileges/></D:error>"
        ));
        assert!(!is_invalid_sync_token(b"Forbidden"));
    }

    #[test]
    fn request_bodies_are_well_formed_and_escape_what_they_carry() {
        let t = DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .unwrap()
            .with_timezone(&Utc);
        for body in [
            propfind_discovery(),
            propfind_change_marks(),
            propfind_etags(),
            calendar_query(t, t, true),
            calendar_multiget(["/a&b/<x>.ics"]),
            sync_collection(Some("tok<&>"), false),
        ] {
            roxmltree::Document::parse(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
        }
        assert!(calendar_query(t, t, false).contains("start=\"20260102T030405Z\""));
        assert!(calendar_multiget(["/a&b/<x>.ics"]).contains("/a&amp;b/&lt;x&gt;.ics"));
        let sync = roxmltree::Document::parse(&sync_collection(Some("tok<&>"), false))
            .unwrap()
            .descendants()
            .find(|n| n.has_tag_name((DAV, "sync-token")))
            .and_then(|n| n.text().map(str::to_string));
        assert_eq!(sync.as_deref(), Some("tok<&>"));
    }

    #[test]
    fn a_byte_order_mark_before_the_document_is_accepted() {
        let body = "\u{feff}<D:multistatus xmlns:D=\"DAV:\"/>";
        assert!(
            parse_multistatus(body.as_bytes())
                .unwrap()
                .responses
                .is_empty()
        );
    }

    #[test]
    fn hrefs_are_compared_decoded_and_resolved() {
        let base = Url::parse("https://dav.example.com/alice/work%20cal/").unwrap();
        assert_eq!(
            href_key(&base, "e%401.ics").unwrap(),
            "/alice/work cal/e@1.ics"
        );
        assert_eq!(
            href_key(&base, "https://dav.example.com/alice/work%20cal/e@1.ics").unwrap(),
            "/alice/work cal/e@1.ics"
        );
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%C3%A9%"), "é%");
    }

    #[test]
    fn a_multistatus_names_its_own_response_however_the_href_is_spelt() {
        let ms = parse_multistatus(RADICALE_HOME.as_bytes()).unwrap();
        let at = Url::parse("http://127.0.0.1:5232/alice/work%20cal").unwrap();
        assert_eq!(ms.own_response(&at).unwrap().href, "/alice/work%20cal/");
        let elsewhere = Url::parse("http://127.0.0.1:5232/bob/").unwrap();
        assert_eq!(ms.own_response(&elsewhere).unwrap().href, "/alice/");
        assert!(Multistatus::default().own_response(&at).is_none());
    }
}
