//! A finished run of the binary as the command-line tests read it: its stdout and stderr as text,
//! and the check most of them make first, that the run exited 0 (the failure shows its exit
//! status and both streams, so a red test says why the command failed).

use std::process::Output;

/// `o`'s stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `o`'s stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Fails, showing the exit status and both streams, unless the run that gave `o` succeeded.
#[track_caller]
pub fn assert_success(o: &Output) {
    assert!(
        o.status.success(),
        "{}\nstdout: {}\nstderr: {}",
        o.status,
        stdout(o),
        stderr(o)
    );
}

/// `o`, once [`assert_success`] holds for it.
#[track_caller]
pub fn succeeded(o: Output) -> Output {
    assert_success(&o);
    o
}
