//! The systemd user unit: its text, where it goes, the `systemctl` calls that install, remove and
//! inspect it, and the reading of `systemctl show`. Pure: the steps are carried out by
//! `service::execute`.
//!
//! The unit is rendered from one template, `nextstep.service.in`; `systemd/nextstep.service` in
//! the source tree is that template rendered for a binary installed by `cargo install`, and a
//! test keeps the two equal, so the copy a person installs by hand and the one `service install`
//! writes cannot drift apart.

use std::path::{Path, PathBuf};

use super::{Host, ServiceError, ServiceState, Step};

/// The unit's name, as `systemctl` knows it.
pub const UNIT: &str = "nextstep.service";

const TEMPLATE: &str = include_str!("nextstep.service.in");
const PLACEHOLDER: &str = "@EXEC_START@";

/// The `ExecStart=` of `systemd/nextstep.service`: where `cargo install` puts the binary.
pub const DEFAULT_EXEC_START: &str = "%h/.cargo/bin/nextstep run";

/// The unit with `exec_start` (already in systemd's command-line syntax) as its `ExecStart=`.
pub fn render(exec_start: &str) -> String {
    TEMPLATE.replace(PLACEHOLDER, exec_start)
}

/// `ExecStart=` for `exe` (and `--config config` when one was chosen), each word quoted for
/// systemd so that spaces, quotes, `%` and `$` in a path reach the daemon unchanged.
pub fn exec_start(exe: &Path, config: Option<&Path>) -> Result<String, ServiceError> {
    let mut words = vec![word(exe)?];
    if let Some(c) = config {
        words.push("--config".into());
        words.push(word(c)?);
    }
    words.push("run".into());
    Ok(words.join(" "))
}

/// One word of a systemd command line. systemd expands `%` specifiers everywhere and `$VAR` in
/// arguments, and splits on white space unless quoted; a newline cannot be written at all.
fn word(path: &Path) -> Result<String, ServiceError> {
    let s = path
        .to_str()
        .ok_or_else(|| ServiceError::UnusablePath(path.to_owned()))?;
    if s.contains(['\n', '\r']) {
        return Err(ServiceError::UnusablePath(path.to_owned()));
    }
    let s = s.replace('%', "%%").replace('$', "$$");
    if s.contains([' ', '\t', '"', '\'', '\\', ';']) {
        Ok(format!(
            "\"{}\"",
            s.replace('\\', "\\\\").replace('"', "\\\"")
        ))
    } else {
        Ok(s)
    }
}

/// Where a user unit is looked for first: `$XDG_CONFIG_HOME/systemd/user/`.
pub fn unit_path(host: &Host) -> PathBuf {
    host.config_home.join("systemd/user").join(UNIT)
}

fn systemctl(args: &[&str]) -> Vec<String> {
    std::iter::once("systemctl")
        .chain(std::iter::once("--user"))
        .chain(args.iter().copied())
        .map(String::from)
        .collect()
}

/// Write the unit, make systemd read it, enable and start it. Over an earlier install the
/// daemon is restarted instead, so that the new unit (and binary) take effect at once.
pub fn install(host: &Host, reinstall: bool) -> Result<Vec<Step>, ServiceError> {
    let exec = exec_start(&host.exe, host.config.as_deref())?;
    let start = if reinstall {
        vec![systemctl(&["enable", UNIT]), systemctl(&["restart", UNIT])]
    } else {
        vec![systemctl(&["enable", "--now", UNIT])]
    };
    let mut steps = vec![
        Step::Write {
            path: unit_path(host),
            contents: render(&exec).into_bytes(),
        },
        Step::Run {
            argv: systemctl(&["daemon-reload"]),
            may_fail: false,
        },
    ];
    steps.extend(start.into_iter().map(|argv| Step::Run {
        argv,
        may_fail: false,
    }));
    Ok(steps)
}

/// Stop and disable the unit, remove its file, make systemd forget it.
pub fn uninstall(host: &Host) -> Vec<Step> {
    vec![
        Step::Run {
            argv: systemctl(&["disable", "--now", UNIT]),
            may_fail: true,
        },
        Step::Remove {
            path: unit_path(host),
        },
        Step::Run {
            argv: systemctl(&["daemon-reload"]),
            may_fail: false,
        },
    ]
}

/// The properties `status` reads.
pub const SHOW_PROPERTIES: &str = "LoadState,ActiveState,SubState,MainPID,StatusText";

pub fn show_argv() -> Vec<String> {
    systemctl(&["show", UNIT, &format!("--property={SHOW_PROPERTIES}")])
}

/// The unit's error-level journal lines, newest last.
pub fn journal_argv() -> Vec<String> {
    [
        "journalctl",
        "--user",
        &format!("--unit={UNIT}"),
        "--priority=err",
        "--lines=1",
        "--output=short-iso",
        "--no-pager",
        "--quiet",
    ]
    .map(String::from)
    .to_vec()
}

/// Reads `systemctl show`'s `Key=value` lines.
pub fn parse_show(text: &str) -> ServiceState {
    let mut st = ServiceState::default();
    let (mut active, mut sub) = (None, None);
    for line in text.lines() {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        match k {
            "ActiveState" => active = Some(v.to_owned()),
            "SubState" => sub = Some(v.to_owned()),
            "MainPID" => st.pid = v.parse().ok().filter(|p| *p != 0),
            "StatusText" if !v.is_empty() => st.detail = Some(v.to_owned()),
            _ => {}
        }
    }
    st.running = active.as_deref() == Some("active") || active.as_deref() == Some("reloading");
    st.state = match (active, sub) {
        (Some(a), Some(s)) => Some(format!("{a} ({s})")),
        (a, s) => a.or(s),
    };
    st
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unit_in_the_source_tree_is_the_template_rendered_for_cargo_install() {
        let file = include_str!("../../systemd/nextstep.service");
        assert_eq!(file, render(DEFAULT_EXEC_START));
        assert!(!file.contains(PLACEHOLDER));
    }

    #[test]
    fn the_unit_asks_for_notify_watchdog_reload_and_restart_on_failure() {
        let unit = render("/usr/bin/nextstep run");
        for line in [
            "Type=notify",
            "ExecStart=/usr/bin/nextstep run",
            "ExecReload=/bin/kill -HUP $MAINPID",
            "Restart=on-failure",
            "WatchdogSec=120s",
        ] {
            assert!(unit.lines().any(|l| l == line), "{line} missing:\n{unit}");
        }
    }

    #[test]
    fn paths_with_spaces_quotes_percent_and_dollar_are_quoted_for_systemd() {
        assert_eq!(
            exec_start(Path::new("/usr/bin/nextstep"), None).unwrap(),
            "/usr/bin/nextstep run"
        );
        assert_eq!(
            exec_start(
                Path::new("/home/a b/bin/next\"step"),
                Some(Path::new("/c/100%/$HOME.toml"))
            )
            .unwrap(),
            r#""/home/a b/bin/next\"step" --config /c/100%%/$$HOME.toml run"#
        );
        assert!(matches!(
            exec_start(Path::new("/a\nb"), None),
            Err(ServiceError::UnusablePath(_))
        ));
    }

    #[test]
    fn systemctl_show_is_read_into_running_state_pid_and_status_text() {
        let st = parse_show(
            "LoadState=loaded\nActiveState=active\nSubState=running\nMainPID=4242\nStatusText=next prompt 10:00\n",
        );
        assert!(st.running);
        assert_eq!(st.state.as_deref(), Some("active (running)"));
        assert_eq!(st.pid, Some(4242));
        assert_eq!(st.detail.as_deref(), Some("next prompt 10:00"));
        let dead = parse_show("ActiveState=inactive\nSubState=dead\nMainPID=0\nStatusText=\n");
        assert!(!dead.running);
        assert_eq!(dead.pid, None);
        assert_eq!(dead.detail, None);
    }

    /// `systemd-analyze verify` reads the unit as systemd would and checks that ExecStart= names
    /// an executable; unknown keys are only warnings, so its stderr must be empty too.
    #[test]
    fn the_rendered_unit_passes_systemd_analyze_verify() {
        let dir = tempfile::tempdir().unwrap();
        let bin_dir = dir.path().join("a b");
        std::fs::create_dir(&bin_dir).unwrap();
        let exe = bin_dir.join("nextstep");
        std::fs::copy("/bin/true", &exe).unwrap();
        let unit = dir.path().join(UNIT);
        let exec = exec_start(&exe, Some(Path::new("/etc/x y.toml"))).unwrap();
        std::fs::write(&unit, render(&exec)).unwrap();
        let out = std::process::Command::new("systemd-analyze")
            .args(["verify", "--man=no"])
            .arg(&unit)
            .output()
            .expect("systemd-analyze (Debian package systemd) is needed for this test");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert_eq!(stderr, "", "systemd-analyze warned");
    }
}
