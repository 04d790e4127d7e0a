//! Config errors, located: every [`ConfigError`] names the file, the line and column, and the key
//! (when they are known) and carries a hint that says how to fix it.
//!
//! [`Ctx`] is what validation holds while it turns raw values into typed ones: the file's name and
//! its text, so a `toml::Spanned` byte range becomes a line and column at the moment an error is
//! made. TOML's own errors (syntax, unknown keys, wrong types) are translated here too, with a
//! hint chosen by what went wrong.

use std::fmt;
use std::ops::Range;

/// A config problem, located. Displayed as `file:line:column: key: problem` followed by a hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub key: Option<String>,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        f.write_str(": ")?;
        if let Some(key) = &self.key {
            write!(f, "{key}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    /// The same error with `hint` as its advice.
    pub(super) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// The file being validated: its name for messages and its text for turning spans into places.
pub(super) struct Ctx<'a> {
    pub(super) file: String,
    pub(super) text: &'a str,
}

impl Ctx<'_> {
    /// An error at the value that starts at `span.start`.
    pub(super) fn at(
        &self,
        span: Range<usize>,
        key: &str,
        message: impl Into<String>,
    ) -> ConfigError {
        let (line, column) = line_col(self.text, span.start);
        ConfigError {
            file: self.file.clone(),
            line: Some(line),
            column: Some(column),
            key: Some(key.to_string()),
            message: message.into(),
            hint: None,
        }
    }

    /// An error about a key as a whole, where no single value is to blame.
    pub(super) fn nowhere(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.file.clone(),
            line: None,
            column: None,
            key: Some(key.to_string()),
            message: message.into(),
            hint: None,
        }
    }

    /// TOML's own error (syntax, unknown key, missing key, wrong type), located and given a hint.
    pub(super) fn toml_error(&self, e: &toml::de::Error) -> ConfigError {
        let (line, column) = match e.span() {
            Some(span) => {
                let (l, c) = line_col(self.text, span.start);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        let message = e.message().trim().to_string();
        let key = e
            .span()
            .and_then(|s| key_at(self.text, s.start))
            .filter(|k| !k.is_empty());
        let hint = if message.contains("unknown field") {
            "remove the key or fix its spelling; `nextstep init --print` shows every key with a comment"
        } else if message.contains("missing field") {
            "add the key; see the config reference in the README"
        } else if message.contains("invalid type") {
            "check the value's type: strings in quotes, lists in [ ], true/false unquoted"
        } else {
            "see the config reference in the README"
        };
        ConfigError {
            file: self.file.clone(),
            line,
            column,
            key,
            message,
            hint: Some(hint.to_string()),
        }
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (u32, u32) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(col).unwrap_or(u32::MAX),
    )
}

/// The key written at the start of the line holding `offset`, for messages on type errors.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = text[start..].lines().next()?;
    let (k, _) = line.split_once('=')?;
    Some(k.trim().trim_matches('"').to_string())
}

#[cfg(test)]
mod tests {
    use super::super::test_support::err;

    #[test]
    fn an_unknown_key_names_file_line_column_and_key() {
        let e = err("[prompts]\nbefore = \"5m\"\nbefor = \"5m\"\n");
        assert_eq!(e.file, "test.toml");
        assert_eq!(e.line, Some(3));
        assert_eq!(e.column, Some(1));
        let shown = e.to_string();
        assert!(shown.contains("befor"), "{shown}");
        assert!(shown.starts_with("test.toml:3:1: "), "{shown}");
        assert!(shown.contains("hint:"), "{shown}");
    }

    #[test]
    fn a_wrong_type_is_located() {
        let e = err("[prompts]\nreask_limit = \"three\"\n");
        assert_eq!(e.line, Some(2));
        assert!(e.to_string().contains("reask_limit"), "{e}");
    }
}
