//! The real binary's sign-in against the fake: the `[[calendars]]` table that points at it, and
//! `nextstep auth microsoft` run as a child process while the test plays the person.

use std::time::Duration;

use super::{CLIENT_ID, FakeMicrosoft};

/// The `[[calendars]]` table of a Microsoft calendar `m365` on `fake`, polled every second.
pub fn calendar_table(fake: &FakeMicrosoft, calendars: &[&str]) -> String {
    calendar_table_at(fake, calendars, &fake.api_url(), "5s")
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

/// What `nextstep auth microsoft` did.
pub struct CliSignIn {
    pub status: std::process::ExitStatus,
    pub stdout: String,
    pub stderr: String,
    /// The address and the code of the printed line.
    pub verification_uri: String,
    pub user_code: String,
}

/// Runs `nextstep auth microsoft --source m365` (with `env`) as a child process, as a person
/// would: reads the printed line, goes to the address, enters the code and approves (or not),
/// and waits for the command to end.
pub async fn sign_in_through_the_cli(
    home: &crate::support::daemon::Home,
    fake: &FakeMicrosoft,
    person: Person,
    env: &[(&str, &str)],
) -> CliSignIn {
    use tokio::io::AsyncBufReadExt;
    let mut cmd =
        tokio::process::Command::from(home.command(&["auth", "microsoft", "--source", "m365"]));
    let mut child = cmd
        .envs(env.iter().copied())
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stderr_pipe = child.stderr.take().unwrap();
    let stderr_task = tokio::spawn(async move {
        let mut s = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut stderr_pipe, &mut s)
            .await
            .unwrap();
        s
    });
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut stdout = String::new();
    let line = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            stdout.push_str(&line);
            stdout.push('\n');
            if line.contains("enter the code") {
                return line;
            }
        }
        panic!("`auth microsoft` ended without printing a code; stdout:\n{stdout}");
    })
    .await
    .expect("a code within 20 s");
    let (before, code) = line.split_once(" and enter the code ").unwrap();
    let uri = before.rsplit_once(" open ").unwrap().1.to_string();
    let code = code.trim().to_string();
    match person {
        Person::Approves => assert_eq!(fake.enter_code(&uri, &code, true).await, 200),
        Person::Declines => assert_eq!(fake.enter_code(&uri, &code, false).await, 200),
        Person::Ignores => {}
    }
    let (status, rest) = tokio::time::timeout(Duration::from_secs(30), async {
        let mut rest = String::new();
        while let Some(line) = lines.next_line().await.unwrap() {
            rest.push_str(&line);
            rest.push('\n');
        }
        (child.wait().await.unwrap(), rest)
    })
    .await
    .expect("`auth microsoft` ends within 30 s of the answer");
    stdout.push_str(&rest);
    CliSignIn {
        status,
        stdout,
        stderr: stderr_task.await.unwrap(),
        verification_uri: uri,
        user_code: code,
    }
}
