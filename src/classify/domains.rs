//! Domains whose addresses say something other than "a person at a company": personal-mail
//! providers (an address there names no company, so it is a customer only when
//! `classify.personal_domains = "customer"`) and the calendar systems' own addresses for rooms,
//! groups and imported calendars (never a person, whatever their `CUTYPE` says).
//!
//! Both are matched with subdomains (`a.gmail.com` counts as `gmail.com`), ASCII
//! case-insensitively, by `classify`.

/// Personal-mail domains: an address there says nothing about a company.
pub const PERSONAL_DOMAINS: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "hotmail.co.uk",
    "live.com",
    "msn.com",
    "yahoo.com",
    "yahoo.co.uk",
    "ymail.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
    "pm.me",
    "gmx.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "mail.com",
    "fastmail.com",
    "zoho.com",
    "yandex.com",
    "yandex.ru",
    "qq.com",
    "163.com",
    "hey.com",
    "tutanota.com",
    "orange.fr",
    "free.fr",
    "t-online.de",
];

/// Addresses that are calendars or groups rather than people, whatever CUTYPE says.
pub const NON_PERSON_DOMAINS: &[&str] = &[
    "resource.calendar.google.com",
    "group.calendar.google.com",
    "group.v.calendar.google.com",
    "import.calendar.google.com",
];
