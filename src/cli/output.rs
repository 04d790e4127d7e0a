//! The one place a command's result reaches stdout: as pretty JSON (`--json`) or as its `Display`
//! text, byte for byte. A reader that went away (`nextstep upcoming | head -1`) is not an error:
//! the command ends quietly with success, as `cat` and `ls` do under a shell that ignores SIGPIPE.

use std::fmt::{self, Display};
use std::io;

use serde::Serialize;

/// Writes `value` to stdout: JSON when `json`, else its text.
pub fn emit<T: Serialize + Display>(value: &T, json: bool) -> anyhow::Result<()> {
    let bytes = if json {
        let mut v = serde_json::to_vec_pretty(value)?;
        v.push(b'\n');
        v
    } else {
        value.to_string().into_bytes()
    };
    quietly(write_all(&mut io::stdout().lock(), &bytes))?;
    Ok(())
}

/// Text a command prints as it is (a completion script, the man page), or as one JSON string.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct Verbatim(pub String);

impl Display for Verbatim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Stdout for text a command writes while it runs (the demo's introduction), with the same rule
/// for a closed stdout: what nobody reads is dropped.
pub struct QuietStdout;

impl io::Write for QuietStdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        quietly(io::stdout().lock().write_all(buf)).map(|()| buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        quietly(io::stdout().lock().flush())
    }
}

fn write_all(out: &mut impl io::Write, bytes: &[u8]) -> io::Result<()> {
    out.write_all(bytes)?;
    out.flush()
}

/// A broken pipe means nobody reads any more: nothing left to do, nothing to report.
fn quietly(result: io::Result<()>) -> io::Result<()> {
    match result {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_pipe_is_quiet_and_other_write_errors_are_not() {
        assert!(quietly(Err(io::Error::from(io::ErrorKind::BrokenPipe))).is_ok());
        assert!(quietly(Err(io::Error::from(io::ErrorKind::StorageFull))).is_err());
        let mut buf = Vec::new();
        write_all(&mut buf, b"a\nb\n").unwrap();
        assert_eq!(buf, b"a\nb\n");
    }
}
