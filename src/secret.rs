//! Secrets (passwords, client secrets, tokens): where they come from and how they stay out of logs.
//!
//! A [`Secret`] prints as `[redacted]` in `Debug` and has no `Display`, so it cannot reach a log
//! line or an error message by accident. Secrets come from a program's stdout (`*_command`) or an
//! environment variable (`*_env`); the program never writes one into the config.

use std::fmt;
use std::time::Duration;

/// A secret value. Read it with [`Secret::expose`] at the one place it is sent.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Where a secret is read from.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// A program (argv) whose first line of stdout is the secret, e.g. `["pass", "show", "x"]`.
    Command(Vec<String>),
    /// An environment variable.
    Env(String),
    /// Written in the config by the user (allowed for Google's desktop client secret, which Google
    /// itself says is not confidential).
    Literal(Secret),
}

impl fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::Command(argv) => f.debug_tuple("Command").field(argv).finish(),
            SecretSource::Env(name) => f.debug_tuple("Env").field(name).finish(),
            SecretSource::Literal(_) => f.write_str("Literal([redacted])"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("environment variable {0} is not set or not valid UTF-8")]
    EnvMissing(String),
    #[error("cannot run `{program}`: {detail}")]
    Spawn { program: String, detail: String },
    /// The command's stderr is deliberately not included: it may echo the secret.
    #[error("`{program}` exited with {status}; run it by hand to see why")]
    Failed { program: String, status: String },
    #[error("`{program}` printed nothing on stdout")]
    Empty { program: String },
    #[error("`{program}` did not finish within {0:?}", Self::TIMEOUT)]
    Timeout { program: String },
}

impl SecretError {
    const TIMEOUT: Duration = Duration::from_secs(30);
}

impl SecretSource {
    /// Reads the secret. Commands get 30 s (a password manager may ask for a passphrase).
    pub async fn resolve(&self) -> Result<Secret, SecretError> {
        match self {
            SecretSource::Literal(s) => Ok(s.clone()),
            SecretSource::Env(name) => std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty())
                .map(Secret)
                .ok_or_else(|| SecretError::EnvMissing(name.clone())),
            SecretSource::Command(argv) => {
                let program = argv.first().cloned().unwrap_or_default();
                let mut cmd = tokio::process::Command::new(&program);
                cmd.args(&argv[1..])
                    .stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::inherit())
                    .kill_on_drop(true);
                let out = tokio::time::timeout(SecretError::TIMEOUT, cmd.output())
                    .await
                    .map_err(|_| SecretError::Timeout {
                        program: program.clone(),
                    })?
                    .map_err(|e| SecretError::Spawn {
                        program: program.clone(),
                        detail: e.to_string(),
                    })?;
                if !out.status.success() {
                    return Err(SecretError::Failed {
                        program,
                        status: out.status.to_string(),
                    });
                }
                let text = String::from_utf8_lossy(&out.stdout);
                let first = text.lines().next().unwrap_or("").trim_end_matches('\r');
                if first.is_empty() {
                    return Err(SecretError::Empty { program });
                }
                Ok(Secret(first.to_string()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_shows_in_debug_output() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "[redacted]");
        let src = SecretSource::Literal(s);
        assert!(!format!("{src:?}").contains("hunter2"));
    }

    #[tokio::test]
    async fn a_command_secret_is_the_first_line_of_its_stdout() {
        let src = SecretSource::Command(vec!["printf".into(), "s3cret\\nsecond line\\n".into()]);
        assert_eq!(src.resolve().await.unwrap().expose(), "s3cret");
    }

    #[tokio::test]
    async fn a_failing_command_is_named_without_its_output() {
        let src =
            SecretSource::Command(vec!["sh".into(), "-c".into(), "echo leaked; exit 3".into()]);
        let err = src.resolve().await.unwrap_err().to_string();
        assert!(err.contains("`sh` exited"), "{err}");
        assert!(!err.contains("leaked"), "{err}");
    }

    #[tokio::test]
    async fn a_missing_environment_variable_is_named() {
        let src = SecretSource::Env("NEXTSTEP_TEST_SURELY_UNSET_VAR".into());
        let err = src.resolve().await.unwrap_err().to_string();
        assert!(err.contains("NEXTSTEP_TEST_SURELY_UNSET_VAR"), "{err}");
    }
}
