//! The launchd agent on macOS: its property list, where it and its logs go, the `launchctl` calls
//! that load, unload and inspect it, and the reading of `launchctl print`. Pure, and compiled on
//! every system, so that Linux tests check what a Mac would get.
//!
//! The property list is built as a `plist::Value` and written by the plist crate, never by string
//! formatting: a path holding `<` or `&` stays a path.

use std::path::PathBuf;

use plist::{Dictionary, Value};

use super::{Host, ServiceError, ServiceState, Step};

/// The agent's label, and the name of its property list.
pub const LABEL: &str = "com.nextstep.agent";

/// `~/Library/LaunchAgents/<label>.plist`.
pub fn plist_path(host: &Host) -> PathBuf {
    host.home
        .join("Library/LaunchAgents")
        .join(format!("{LABEL}.plist"))
}

/// `~/Library/Logs/nextstep/`, where the daemon's output goes (Console.app shows it).
pub fn log_dir(host: &Host) -> PathBuf {
    host.home.join("Library/Logs/nextstep")
}

/// The file both of the daemon's output streams go to.
pub fn log_file(host: &Host) -> PathBuf {
    log_dir(host).join("nextstep.log")
}

/// The agent's definition: start at login, start again after a failure (not after a clean stop),
/// output to the log file.
pub fn agent(host: &Host) -> Result<Value, ServiceError> {
    let text = |p: &std::path::Path| {
        p.to_str()
            .map(|s| Value::String(s.to_owned()))
            .ok_or_else(|| ServiceError::UnusablePath(p.to_owned()))
    };
    let mut args = vec![text(&host.exe)?];
    if let Some(c) = &host.config {
        args.push(Value::String("--config".into()));
        args.push(text(c)?);
    }
    args.push(Value::String("run".into()));
    let mut keep_alive = Dictionary::new();
    keep_alive.insert("SuccessfulExit".into(), Value::Boolean(false));
    let mut d = Dictionary::new();
    d.insert("Label".into(), Value::String(LABEL.into()));
    d.insert("ProgramArguments".into(), Value::Array(args));
    d.insert("RunAtLoad".into(), Value::Boolean(true));
    d.insert("KeepAlive".into(), Value::Dictionary(keep_alive));
    // Prompts are interactive: no background throttling of timers or I/O.
    d.insert("ProcessType".into(), Value::String("Interactive".into()));
    // Only in a GUI login (not over SSH), where dialogs and notifications can appear.
    d.insert(
        "LimitLoadToSessionType".into(),
        Value::String("Aqua".into()),
    );
    // Like RestartSec= in the systemd unit: a config error does not spin.
    d.insert("ThrottleInterval".into(), Value::Integer(10.into()));
    d.insert("StandardOutPath".into(), text(&log_file(host))?);
    d.insert("StandardErrorPath".into(), text(&log_file(host))?);
    Ok(Value::Dictionary(d))
}

/// The agent as the XML property list launchd reads.
pub fn agent_xml(host: &Host) -> Result<Vec<u8>, ServiceError> {
    let mut out = Vec::new();
    agent(host)?
        .to_writer_xml(&mut out)
        .map_err(|e| ServiceError::Plist(e.to_string()))?;
    out.push(b'\n');
    Ok(out)
}

fn domain(host: &Host) -> String {
    format!("gui/{}", host.uid)
}

fn target(host: &Host) -> String {
    format!("gui/{}/{LABEL}", host.uid)
}

fn launchctl(args: &[&str]) -> Vec<String> {
    std::iter::once("launchctl")
        .chain(args.iter().copied())
        .map(String::from)
        .collect()
}

/// Write the property list and load it into the login session. Over an earlier install the old
/// agent is unloaded first (launchctl refuses to bootstrap a label that is loaded).
pub fn install(host: &Host, reinstall: bool) -> Result<Vec<Step>, ServiceError> {
    let plist = plist_path(host);
    let plist_arg = plist.to_string_lossy().into_owned();
    let mut steps = vec![
        Step::MakeDir {
            path: log_dir(host),
        },
        Step::Write {
            path: plist.clone(),
            contents: agent_xml(host)?,
        },
    ];
    if reinstall {
        steps.push(Step::Run {
            argv: launchctl(&["bootout", &target(host)]),
            may_fail: true,
        });
    }
    steps.push(Step::Run {
        argv: launchctl(&["bootstrap", &domain(host), &plist_arg]),
        may_fail: false,
    });
    Ok(steps)
}

/// Unload the agent (it may not be loaded) and remove its property list. The logs stay.
pub fn uninstall(host: &Host) -> Vec<Step> {
    vec![
        Step::Run {
            argv: launchctl(&["bootout", &target(host)]),
            may_fail: true,
        },
        Step::Remove {
            path: plist_path(host),
        },
    ]
}

pub fn print_argv(host: &Host) -> Vec<String> {
    launchctl(&["print", &target(host)])
}

/// Reads the lines of `launchctl print` that say whether the agent runs: `state = running`,
/// `pid = N`, `last exit code = N`.
pub fn parse_print(text: &str) -> ServiceState {
    let mut st = ServiceState::default();
    for line in text.lines() {
        let Some((k, v)) = line.trim().split_once(" = ") else {
            continue;
        };
        match k {
            "state" if st.state.is_none() => {
                st.running = v == "running";
                st.state = Some(v.to_owned());
            }
            "pid" if st.pid.is_none() => st.pid = v.parse().ok(),
            "last exit code" if st.detail.is_none() => {
                st.detail = Some(format!("last exit code {v}"))
            }
            _ => {}
        }
    }
    st
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn host() -> Host {
        Host {
            home: PathBuf::from("/Users/kim"),
            config_home: PathBuf::from("/Users/kim/.config"),
            exe: PathBuf::from("/Users/kim/bin/<next> & step"),
            uid: 501,
            config: Some(PathBuf::from("/Users/kim/nextstep.toml")),
        }
    }

    #[test]
    fn the_agent_runs_the_binary_at_login_and_again_after_a_failure() {
        let xml = agent_xml(&host()).unwrap();
        let parsed = Value::from_reader_xml(xml.as_slice()).unwrap();
        let d = parsed.as_dictionary().unwrap();
        assert_eq!(d["Label"].as_string(), Some(LABEL));
        let args: Vec<&str> = d["ProgramArguments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_string().unwrap())
            .collect();
        assert_eq!(
            args,
            [
                "/Users/kim/bin/<next> & step",
                "--config",
                "/Users/kim/nextstep.toml",
                "run"
            ]
        );
        assert_eq!(d["RunAtLoad"].as_boolean(), Some(true));
        let keep = d["KeepAlive"].as_dictionary().unwrap();
        assert_eq!(keep["SuccessfulExit"].as_boolean(), Some(false));
        assert_eq!(
            d["StandardErrorPath"].as_string(),
            Some("/Users/kim/Library/Logs/nextstep/nextstep.log")
        );
    }

    /// `launchd/com.nextstep.agent.plist` is the agent for a hand install, with placeholders for
    /// the binary and the home folder; it must say what `service install` writes.
    #[test]
    fn the_agent_in_the_source_tree_is_the_one_install_writes() {
        let file = Value::from_reader_xml(
            include_bytes!("../../launchd/com.nextstep.agent.plist").as_slice(),
        )
        .unwrap();
        let h = Host {
            home: PathBuf::from("__HOME__"),
            exe: PathBuf::from("__NEXTSTEP__"),
            config: None,
            ..host()
        };
        assert_eq!(file, agent(&h).unwrap());
    }

    #[test]
    fn install_loads_into_the_login_session_and_uninstall_boots_out() {
        let h = host();
        let steps = install(&h, false).unwrap();
        let runs: Vec<&Vec<String>> = steps
            .iter()
            .filter_map(|s| match s {
                Step::Run { argv, .. } => Some(argv),
                _ => None,
            })
            .collect();
        assert_eq!(
            runs,
            [&launchctl(&[
                "bootstrap",
                "gui/501",
                "/Users/kim/Library/LaunchAgents/com.nextstep.agent.plist"
            ])]
        );
        assert!(steps.iter().any(|s| matches!(s, Step::Write { path, .. }
            if path == Path::new("/Users/kim/Library/LaunchAgents/com.nextstep.agent.plist"))));
        let again = install(&h, true).unwrap();
        assert!(
            again
                .iter()
                .any(|s| matches!(s, Step::Run { argv, may_fail: true }
            if argv == &launchctl(&["bootout", "gui/501/com.nextstep.agent"])))
        );
        let un = uninstall(&h);
        assert!(matches!(&un[0], Step::Run { argv, may_fail: true }
            if argv == &launchctl(&["bootout", "gui/501/com.nextstep.agent"])));
    }

    #[test]
    fn launchctl_print_is_read_into_state_pid_and_last_exit() {
        let st = parse_print(
            "gui/501/com.nextstep.agent = {\n\tactive count = 1\n\tpath = /x.plist\n\tstate = running\n\n\tprogram = /bin/nextstep\n\tpid = 812\n\tlast exit code = (never exited)\n}\n",
        );
        assert!(st.running);
        assert_eq!(st.state.as_deref(), Some("running"));
        assert_eq!(st.pid, Some(812));
        assert_eq!(st.detail.as_deref(), Some("last exit code (never exited)"));
        let st = parse_print("\tstate = not running\n\tlast exit code = 1\n");
        assert!(!st.running);
        assert_eq!(st.pid, None);
    }
}
