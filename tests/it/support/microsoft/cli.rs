//! The real binary's sign-in against the fake: the `[[calendars]]` table that points at it, and
//! `nextstep auth microsoft` run as a child process while the test plays the person.

use std::time::Duration;

use super::{CLIENT_ID, FakeMicrosoft, ME};
use crate::support::daemon::Home;
use crate::support::provider::{AuthCommand, Ended};

/// The `[[calendars]]` table of a Microsoft calendar `m365` on `fake`, polled every second.
pub fn calendar_table(fake: &FakeMicrosoft, calendars: &[&str]) -> String {
    calendar_table_at(fake, calendars, &fake.api_url(), "5s")
}

/// A home whose config has the [`calendar_table`] of `calendars` on `fake`, its token kept in a
/// file (never the keyring of whoever runs the tests).
pub fn home(fake: &FakeMicrosoft, calendars: &[&str]) -> Home {
    Home::new(ME, |_| calendar_table(fake, calendars)).with_env("NEXTSTEP_KEYRING", "off")
}

/// [`calendar_table`] with Graph at `api_url` (a proxy in front of the fake, say) and this
/// request `timeout`.
pub fn calendar_table_at(
    fake: &FakeMicrosoft,
    calendars: &[&str],
    api_url: &str,
    timeout: &str,
) -> String {
    format!(
        r#"[[calendars]]
name = "m365"
kind = "microsoft"
client_id = {CLIENT_ID:?}
tenant = "contoso.onmicrosoft.com"
calendars = {calendars:?}
authority_url = {authority:?}
api_url = {api_url:?}
poll = "1s"
timeout = {timeout:?}
"#,
        authority = fake.authority_url(),
    )
}

/// What the person at the verification page does with the printed code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Person {
    Approves,
    Declines,
    /// Reads the code and walks away.
    Ignores,
}

/// What `nextstep auth microsoft` did (its exit and output, through `Deref`), and the address
/// and the code of the line it printed.
pub struct CliSignIn {
    pub ended: Ended,
    pub verification_uri: String,
    pub user_code: String,
}

impl std::ops::Deref for CliSignIn {
    type Target = Ended;
    fn deref(&self) -> &Ended {
        &self.ended
    }
}

/// Runs `nextstep auth microsoft --source m365` (with `env`) as a child process, as a person
/// would: reads the printed line, goes to the address, enters the code and approves (or not),
/// and waits for the command to end.
pub async fn sign_in_through_the_cli(
    home: &Home,
    fake: &FakeMicrosoft,
    person: Person,
    env: &[(&str, &str)],
) -> CliSignIn {
    let mut cmd = home.command(&["auth", "microsoft", "--source", "m365"]);
    cmd.envs(env.iter().copied());
    let mut cmd = AuthCommand::spawn(cmd);
    let line = cmd.until("a code", |l| l.contains("enter the code")).await;
    let (before, code) = line.split_once(" and enter the code ").unwrap();
    let uri = before.rsplit_once(" open ").unwrap().1.to_string();
    let code = code.trim().to_string();
    match person {
        Person::Approves => assert_eq!(fake.enter_code(&uri, &code, true).await, 200),
        Person::Declines => assert_eq!(fake.enter_code(&uri, &code, false).await, 200),
        Person::Ignores => {}
    }
    // `auth microsoft` ends within 30 s of the answer.
    let ended = cmd.finish(Duration::from_secs(30)).await;
    CliSignIn {
        ended,
        verification_uri: uri,
        user_code: code,
    }
}
