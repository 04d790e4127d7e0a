//! A private D-Bus session bus per test (or per test binary), started from `tests/session-bus.conf`
//! (no service directories: nothing is ever auto-started, and a call to a name nobody owns fails at
//! once with `ServiceUnknown`).
//!
//! The bus is leashed to the test process: `dbus-daemon --nofork` runs under `sh`, whose stdin is a
//! pipe this process holds. When the test process ends, however it ends (even `kill -9`), the pipe
//! closes, `read` returns, and the shell kills the bus. Dropping [`PrivateBus`] does the same at once.
//!
//! A missing `dbus-daemon` is a failure, never a skip: a test that passes because it did not run
//! proves nothing. Install it with `apt-get install dbus-daemon` (Debian) or your system's package.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The bus config beside the tests; copied from the shared testing notes.
pub const BUS_CONFIG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/session-bus.conf");

/// A running private bus. Dropping it stops the bus.
pub struct PrivateBus {
    address: String,
    shell: Child,
    // Held open: closing it is what tells the leash shell to kill the bus.
    leash: Option<ChildStdin>,
    // Held so dbus-daemon never writes into a closed pipe.
    _stdout: BufReader<ChildStdout>,
}

impl PrivateBus {
    /// Starts a bus and waits (at most 10 s) until it prints its address.
    ///
    /// Panics with instructions when `dbus-daemon` is not installed.
    pub fn start() -> PrivateBus {
        if !on_path("dbus-daemon") {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true");
            panic!(
                "dbus-daemon is not on PATH{}: the notification tests need a private D-Bus. \
                 Install it (Debian/Ubuntu: `apt-get install dbus-daemon`; Fedora: `dnf install dbus-daemon`) \
                 and run the tests again",
                if ci { " on CI" } else { "" }
            );
        }
        // `&` in a non-interactive shell gives the daemon /dev/null as stdin, so only the shell
        // holds our pipe. `exec` is avoided on purpose: the shell must outlive the bus to kill it.
        let script = r#"dbus-daemon --config-file="$1" --nofork --print-address=1 & pid=$!
read _ignored
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
"#;
        let mut shell = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg("sh")
            .arg(BUS_CONFIG)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the leash shell for dbus-daemon: {e}"));
        let leash = shell.stdin.take();
        let stdout = shell.stdout.take().expect("stdout was piped");

        // Read the address on a thread so a wedged daemon cannot hang the test forever.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let res = reader.read_line(&mut line).map(|_| line);
            let _ = tx.send((res, reader));
        });
        let (line, reader) = match rx.recv_timeout(Duration::from_secs(10)) {
            Ok((Ok(line), reader)) => (line, reader),
            Ok((Err(e), _)) => panic!("cannot read dbus-daemon's address: {e}"),
            Err(_) => {
                let _ = shell.kill();
                panic!("dbus-daemon printed no address within 10 s");
            }
        };
        let address = line.trim().to_string();
        assert!(
            address.starts_with("unix:"),
            "dbus-daemon printed `{address}` instead of a bus address (config {BUS_CONFIG})"
        );
        PrivateBus {
            address,
            shell,
            leash,
            _stdout: reader,
        }
    }

    /// The address, for `DBUS_SESSION_BUS_ADDRESS` or `zbus::connection::Builder::address`.
    pub fn address(&self) -> &str {
        &self.address
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        // Closing the pipe makes the shell kill the bus and exit; wait so no zombie is left.
        drop(self.leash.take());
        let _ = self.shell.wait();
    }
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}
