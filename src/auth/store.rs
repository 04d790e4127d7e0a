//! Where one source's tokens are kept: the refresh token in the OS keyring when one answers, else in
//! a 0600 file in the data directory; the access token and its expiry always in that file, as a
//! cache that saves a refresh after a restart.
//!
//! The file (`<provider>-<source>.json`) is replaced atomically and never readable by others from
//! the moment it exists. Keyring tools get the token on stdin, never on a command line, so it does
//! not show in `ps`. The keyring account is `<provider>-<source>` under the service `nextstep`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

use super::{AuthError, Provider};
use crate::secret::Secret;

/// The keyring service name under which refresh tokens are kept.
const KEYRING_SERVICE: &str = "nextstep";

/// Where refresh tokens may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenStoreChoice {
    /// The OS keyring when one answers, else the 0600 file. `NEXTSTEP_KEYRING=off` forces the file.
    #[default]
    Auto,
    /// Only the 0600 file in the data directory.
    File,
}

/// Where a refresh token ended up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "where")]
pub enum StoredIn {
    /// The keyring, via this tool (`secret-tool`, `security`).
    Keyring(String),
    File(PathBuf),
}

impl std::fmt::Display for StoredIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoredIn::Keyring(tool) => write!(f, "the OS keyring (via {tool})"),
            StoredIn::File(p) => write!(f, "{} (mode 0600)", p.display()),
        }
    }
}

/// An access token and when it expires (`None`: the server did not say).
pub type AccessToken = (Secret, Option<DateTime<Utc>>);

/// What a store holds for one source.
pub struct Tokens {
    pub refresh: Secret,
    pub access: Option<AccessToken>,
}

/// The token file. Never printed: no Debug.
#[derive(Clone, Default, Serialize, Deserialize)]
struct TokenFile {
    /// `file`, `secret-tool` or `security`: where the refresh token is.
    refresh_token_in: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    access_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    access_expires_at: Option<DateTime<Utc>>,
}

/// The tokens of one source of one provider.
#[derive(Debug, Clone)]
pub struct TokenStore {
    provider: &'static Provider,
    source_name: String,
    path: PathBuf,
    choice: TokenStoreChoice,
}

/// The path of the token file of source `source_name` of the provider whose files start `prefix`.
pub fn token_path(data_dir: &Path, prefix: &str, source_name: &str) -> PathBuf {
    let safe: String = source_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    data_dir.join(format!("{prefix}-{safe}.json"))
}

impl TokenStore {
    pub fn new(
        provider: &'static Provider,
        data_dir: &Path,
        source_name: &str,
        choice: TokenStoreChoice,
    ) -> Self {
        TokenStore {
            provider,
            source_name: source_name.to_string(),
            path: token_path(data_dir, provider.command, source_name),
            choice,
        }
    }

    /// The token file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn provider(&self) -> &'static Provider {
        self.provider
    }

    pub fn source_name(&self) -> &str {
        &self.source_name
    }

    /// The error that says this source has no usable tokens.
    pub fn not_signed_in(&self) -> AuthError {
        AuthError::NotSignedIn {
            provider: self.provider,
            source_name: self.source_name.clone(),
            path: self.path.clone(),
        }
    }

    fn account(&self) -> String {
        format!("{}-{}", self.provider.command, self.source_name)
    }

    /// The stored tokens; `None` when there is no file or the keyring lost the refresh token.
    pub async fn load(&self) -> Result<Option<Tokens>, AuthError> {
        let Some(file) = read_token_file(&self.path, self.provider)? else {
            return Ok(None);
        };
        let refresh = match file.refresh_token_in.as_str() {
            "file" => file.refresh_token.clone().map(Secret::new),
            tool => match keyring_load(tool, &self.account()).await {
                Ok(s) => Some(s),
                Err(why) => {
                    tracing::warn!(source = %self.source_name, tool, %why, "no refresh token in the keyring");
                    None
                }
            },
        };
        Ok(refresh.map(|refresh| Tokens {
            refresh,
            access: file
                .access_token
                .map(|a| (Secret::new(a), file.access_expires_at)),
        }))
    }

    /// Saves a refresh token (keyring first when allowed) and the access token cache.
    pub async fn save(
        &self,
        refresh: &Secret,
        access: Option<(&Secret, Option<DateTime<Utc>>)>,
    ) -> Result<StoredIn, AuthError> {
        let mut file = TokenFile {
            access_token: access.map(|(a, _)| a.expose().to_string()),
            access_expires_at: access.and_then(|(_, e)| e),
            ..TokenFile::default()
        };
        let mut stored = None;
        if let Some(tool) = keyring_tool(self.choice) {
            match keyring_store(tool, self.provider, &self.account(), refresh).await {
                Ok(()) => {
                    file.refresh_token_in = tool.to_string();
                    stored = Some(StoredIn::Keyring(tool.to_string()));
                }
                Err(why) => {
                    tracing::warn!(tool, %why, "the keyring did not take the refresh token; using the token file");
                }
            }
        }
        let stored = match stored {
            Some(s) => s,
            None => {
                file.refresh_token_in = "file".into();
                file.refresh_token = Some(refresh.expose().to_string());
                StoredIn::File(self.path.clone())
            }
        };
        write_token_file(&self.path, &file)?;
        Ok(stored)
    }

    /// Replaces only the cached access token, leaving the refresh token where it is.
    pub fn save_access(
        &self,
        access: &Secret,
        expires: Option<DateTime<Utc>>,
    ) -> Result<(), AuthError> {
        let mut file = read_token_file(&self.path, self.provider)?.unwrap_or_default();
        file.access_token = Some(access.expose().to_string());
        file.access_expires_at = expires;
        write_token_file(&self.path, &file)
    }
}

fn read_token_file(
    path: &Path,
    provider: &'static Provider,
) -> Result<Option<TokenFile>, AuthError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| AuthError::Store {
                action: "read",
                path: path.to_path_buf(),
                // serde_json's message names a line and column, never the content.
                detail: format!(
                    "not a nextstep token file ({e}); run `nextstep auth {}` again",
                    provider.command
                ),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(AuthError::Store {
            action: "read",
            path: path.to_path_buf(),
            detail: e.to_string(),
        }),
    }
}

/// Writes the file atomically (temp file + rename in the same directory), 0600 from creation.
fn write_token_file(path: &Path, file: &TokenFile) -> Result<(), AuthError> {
    let err = |detail: String| AuthError::Store {
        action: "write",
        path: path.to_path_buf(),
        detail,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    crate::fsutil::create_private_dir(dir).map_err(|e| err(e.to_string()))?;
    let body = serde_json::to_vec_pretty(file).map_err(|e| err(e.to_string()))?;
    crate::fsutil::write_atomic_private(path, &body).map_err(|e| err(e.to_string()))
}

/// The keyring tool of this OS, if present.
fn keyring_tool(choice: TokenStoreChoice) -> Option<&'static str> {
    if choice == TokenStoreChoice::File
        || std::env::var("NEXTSTEP_KEYRING").is_ok_and(|v| v == "off" || v == "0")
    {
        return None;
    }
    let tool = if cfg!(target_os = "macos") {
        "security"
    } else {
        "secret-tool"
    };
    let on_path = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()));
    on_path.then_some(tool)
}

async fn run_tool(argv: &[&str], stdin: Option<String>) -> Result<String, String> {
    let mut cmd = tokio::process::Command::new(argv[0]);
    cmd.args(&argv[1..])
        .stdin(if stdin.is_some() {
            std::process::Stdio::piped()
        } else {
            std::process::Stdio::null()
        })
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", argv[0]))?;
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(input.as_bytes())
            .await
            .map_err(|e| format!("cannot write to {}: {e}", argv[0]))?;
        drop(pipe);
    }
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .map_err(|_| format!("{} did not answer within 30 s", argv[0]))?
        .map_err(|e| format!("{} failed: {e}", argv[0]))?;
    if !out.status.success() {
        return Err(format!("{} exited with {}", argv[0], out.status));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_string())
}

/// Characters OAuth refresh tokens are made of; anything else is not sent through `security -i`,
/// whose command line needs quoting.
fn shell_safe(token: &str) -> bool {
    !token.is_empty()
        && token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~+/=".contains(c))
}

async fn keyring_store(
    tool: &str,
    provider: &'static Provider,
    account: &str,
    token: &Secret,
) -> Result<(), String> {
    match tool {
        "secret-tool" => {
            let label = format!("nextstep {} refresh token ({account})", provider.name);
            run_tool(
                &[
                    "secret-tool",
                    "store",
                    "--label",
                    &label,
                    "service",
                    KEYRING_SERVICE,
                    "account",
                    account,
                ],
                Some(token.expose().to_string()),
            )
            .await
            .map(|_| ())
        }
        "security" => {
            if !shell_safe(token.expose()) || !shell_safe(account) {
                return Err("the token has characters `security -i` cannot take".into());
            }
            // `security -i` reads commands from stdin, so the token never shows in `ps`.
            let script = format!(
                "add-generic-password -U -a \"{account}\" -s \"{KEYRING_SERVICE}\" -w \"{}\"\n",
                token.expose()
            );
            run_tool(&["security", "-i"], Some(script))
                .await
                .map(|_| ())
        }
        other => Err(format!("unknown keyring tool {other}")),
    }
}

async fn keyring_load(tool: &str, account: &str) -> Result<Secret, String> {
    let out = match tool {
        "secret-tool" => {
            run_tool(
                &[
                    "secret-tool",
                    "lookup",
                    "service",
                    KEYRING_SERVICE,
                    "account",
                    account,
                ],
                None,
            )
            .await?
        }
        "security" => {
            run_tool(
                &[
                    "security",
                    "find-generic-password",
                    "-a",
                    account,
                    "-s",
                    KEYRING_SERVICE,
                    "-w",
                ],
                None,
            )
            .await?
        }
        other => return Err(format!("unknown keyring tool {other}")),
    };
    if out.is_empty() {
        return Err(format!("{tool} has no token for {account}"));
    }
    Ok(Secret::new(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::tests::TEST_PROVIDER;

    #[test]
    fn the_token_file_is_written_0600_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = token_path(dir.path(), "google", "my work");
        assert!(path.ends_with("google-my_work.json"));
        let f = TokenFile {
            refresh_token_in: "file".into(),
            refresh_token: Some("r".into()),
            ..TokenFile::default()
        };
        write_token_file(&path, &f).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let back = read_token_file(&path, &TEST_PROVIDER).unwrap().unwrap();
        assert_eq!(back.refresh_token.as_deref(), Some("r"));
        // Only the file itself is left: no temp files.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn only_plain_token_characters_go_through_security_dash_i() {
        assert!(shell_safe("1//0gAbC-d_e.f"));
        assert!(!shell_safe("a\" ; rm"));
        assert!(!shell_safe(""));
    }

    #[test]
    fn the_file_store_choice_skips_the_keyring() {
        assert_eq!(keyring_tool(TokenStoreChoice::File), None);
    }

    #[tokio::test]
    async fn a_saved_refresh_token_and_access_cache_load_back_from_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::new(&TEST_PROVIDER, dir.path(), "w", TokenStoreChoice::File);
        assert!(store.path().ends_with("example-w.json"));
        assert!(store.load().await.unwrap().is_none());
        let stored = store
            .save(&Secret::new("r1"), Some((&Secret::new("a1"), None)))
            .await
            .unwrap();
        assert_eq!(stored, StoredIn::File(store.path().to_path_buf()));
        store.save_access(&Secret::new("a2"), None).unwrap();
        let t = store.load().await.unwrap().unwrap();
        assert_eq!(t.refresh.expose(), "r1");
        assert_eq!(t.access.unwrap().0.expose(), "a2");
    }
}
