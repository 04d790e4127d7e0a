//! The answer page as the notifiers see it: whether the daemon serves one right now, the address
//! of a meeting's page (with the access token, as `nextstep open` builds it), and the program that
//! opens an address in the browser.
//!
//! What it promises: a [`PageLink`] knows an address only while the daemon's page is being served
//! (the daemon sets it once the page is bound and clears it when the page stops), so with
//! `[web] enabled = false`, or a page that could not start, no notifier offers the page. The
//! address carries the token, so it is never logged; logs name the meeting instead.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use super::Access;
use super::pages::meeting_href;
use crate::model::MeetingId;

/// How long the opener may take: `xdg-open` and `open` hand the address to the browser and exit.
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);

/// The program that opens an address in the user's browser: `xdg-open`, `open` on macOS, or
/// another program (tests give one that records its argument). Started directly, never through a
/// shell, as `argv… URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opener {
    argv: Vec<String>,
}

impl Opener {
    /// `open` on macOS, `xdg-open` elsewhere, found on `PATH`.
    pub fn system() -> Opener {
        let program = if cfg!(target_os = "macos") {
            "open"
        } else {
            "xdg-open"
        };
        Opener {
            argv: vec![program.to_owned()],
        }
    }

    /// `argv` (a program and its first arguments); the address is added as the last argument.
    /// An empty `argv` is the system's opener.
    pub fn program(argv: Vec<String>) -> Opener {
        if argv.is_empty() {
            return Opener::system();
        }
        Opener { argv }
    }

    /// The program's name, for messages.
    pub fn name(&self) -> &str {
        &self.argv[0]
    }

    /// The command that opens `url`: the program, its first arguments, then the address.
    pub fn command(&self, url: &str) -> std::process::Command {
        let mut cmd = std::process::Command::new(&self.argv[0]);
        cmd.args(&self.argv[1..]).arg(url);
        cmd
    }

    /// Opens `url`; the error says what failed (without the address, which holds the token).
    pub async fn open(&self, url: &str) -> Result<(), String> {
        let mut cmd = tokio::process::Command::from(self.command(url));
        cmd.stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true);
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot run `{}`: {e}", self.name()))?;
        match tokio::time::timeout(OPEN_TIMEOUT, child.wait()).await {
            Ok(Ok(status)) if status.success() => Ok(()),
            Ok(Ok(status)) => Err(format!("`{}` failed ({status})", self.name())),
            Ok(Err(e)) => Err(format!("`{}` failed: {e}", self.name())),
            Err(_) => Err(format!(
                "`{}` did not finish within {}s",
                self.name(),
                OPEN_TIMEOUT.as_secs()
            )),
        }
    }
}

/// Whether the daemon's page is served, and where; shared by the daemon (which sets it) and a
/// notifier (which reads it). Cheap to clone; every clone is the same link.
#[derive(Debug, Clone)]
pub struct PageLink {
    access: Arc<RwLock<Option<Access>>>,
    opener: Opener,
}

impl Default for PageLink {
    /// Not served yet; opened with the system's opener.
    fn default() -> Self {
        PageLink::new(Opener::system())
    }
}

impl PageLink {
    /// Not served yet; pages are opened with `opener`.
    pub fn new(opener: Opener) -> PageLink {
        PageLink {
            access: Arc::new(RwLock::new(None)),
            opener,
        }
    }

    /// The page is served at `access` (called by the daemon once the page is bound).
    pub fn serving(&self, access: Access) {
        *self.access.write().unwrap_or_else(|p| p.into_inner()) = Some(access);
    }

    /// The page stopped: notifications stop offering it.
    pub fn stopped(&self) {
        *self.access.write().unwrap_or_else(|p| p.into_inner()) = None;
    }

    pub fn is_serving(&self) -> bool {
        self.access
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    /// The address that opens `meeting`'s page (with the token), while the page is served.
    pub fn meeting_url(&self, meeting: &MeetingId) -> Option<String> {
        self.access
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|a| a.open_url(&meeting_href(&meeting.0)))
    }

    /// The address (with the token) of one of the page's paths, e.g. `/report`, while the page
    /// is served.
    pub fn url(&self, path_and_query: &str) -> Option<String> {
        self.access
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|a| a.open_url(path_and_query))
    }

    /// Opens `meeting`'s page in the browser. `false` (logged) when no page is served or the
    /// opener failed, so the caller can offer another way to answer.
    pub async fn open_meeting(&self, meeting: &MeetingId) -> bool {
        let Some(url) = self.meeting_url(meeting) else {
            tracing::info!(meeting = %meeting, "no answer page is served; cannot open it");
            return false;
        };
        match self.opener.open(&url).await {
            Ok(()) => {
                tracing::info!(meeting = %meeting, "opened the meeting's page in the browser");
                true
            }
            Err(e) => {
                tracing::warn!(meeting = %meeting, "cannot open the meeting's page: {e}; `nextstep open` prints its address");
                false
            }
        }
    }
}

/// Test helpers for notifiers that open the page.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use std::path::{Path, PathBuf};

    /// An opener that writes its arguments (`|`-separated) to the returned file instead of
    /// starting a browser, and a link that uses it, serving a page at 127.0.0.1:7717.
    pub(crate) fn served_link(dir: &Path) -> (PageLink, PathBuf) {
        use std::os::unix::fs::PermissionsExt;
        let prog = dir.join("opener");
        let out = dir.join("opened");
        std::fs::write(
            &prog,
            format!(
                "#!/bin/sh\nIFS='|'; printf '%s' \"$*\" > {}.tmp && mv {0}.tmp {0}\n",
                out.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o755)).unwrap();
        let link = PageLink::new(Opener::program(vec![prog.display().to_string()]));
        link.serving(Access {
            url: "http://127.0.0.1:7717/".into(),
            token: crate::web::Secret::random().unwrap(),
        });
        (link, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_gives_an_address_only_while_the_page_is_served() {
        let link = PageLink::default();
        let meeting = MeetingId("work/u 1&x/single".into());
        assert!(!link.is_serving());
        assert_eq!(link.meeting_url(&meeting), None);
        let dir = tempfile::tempdir().unwrap();
        let (served, _) = testing::served_link(dir.path());
        let a = served.access.read().unwrap().clone().unwrap();
        // A clone is the same link: the daemon sets it, the notifier reads it.
        link.clone().serving(a.clone());
        let url = link.meeting_url(&meeting).unwrap();
        assert_eq!(
            url,
            format!(
                "http://127.0.0.1:7717/meeting?id=work%2Fu+1%26x%2Fsingle&token={}",
                a.token.expose()
            )
        );
        link.stopped();
        assert_eq!(link.meeting_url(&meeting), None);
    }

    #[tokio::test]
    async fn the_opener_gets_the_address_as_its_last_argument() {
        let dir = tempfile::tempdir().unwrap();
        let (served, out) = testing::served_link(dir.path());
        let meeting = MeetingId("work/u1/single".into());
        let mut with_flag = served.opener.argv.clone();
        with_flag.push("--new-tab".into());
        let link = PageLink::new(Opener::program(with_flag));
        assert!(!link.open_meeting(&meeting).await, "nothing served yet");
        assert!(!out.exists());
        link.serving(served.access.read().unwrap().clone().unwrap());
        assert!(link.open_meeting(&meeting).await);
        let opened = std::fs::read_to_string(&out).unwrap();
        assert_eq!(
            opened,
            format!("--new-tab|{}", link.meeting_url(&meeting).unwrap())
        );
        let missing = PageLink::new(Opener::program(vec![
            dir.path().join("nope").display().to_string(),
        ]));
        missing.serving(served.access.read().unwrap().clone().unwrap());
        assert!(!missing.open_meeting(&meeting).await);
    }
}
