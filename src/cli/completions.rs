//! `nextstep completions SHELL`: the shell's completion script, generated from the same clap
//! definition that parses the command line, so the two cannot drift.

use clap::{Args, CommandFactory as _, ValueEnum};

use super::Cli;
use super::output::Verbatim;

/// Prints a completion script for bash, zsh or fish (e.g. `nextstep completions bash >
/// ~/.local/share/bash-completion/completions/nextstep`).
#[derive(Debug, Args)]
pub struct CompletionsCmd {
    #[arg(value_enum)]
    pub shell: CompletionShell,
}

/// The shells we generate for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

/// A completion script, printed as is.
pub type Script = Verbatim;

pub fn run(cmd: CompletionsCmd) -> anyhow::Result<Script> {
    let shell = match cmd.shell {
        CompletionShell::Bash => clap_complete::Shell::Bash,
        CompletionShell::Zsh => clap_complete::Shell::Zsh,
        CompletionShell::Fish => clap_complete::Shell::Fish,
    };
    let mut command = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, "nextstep", &mut out);
    Ok(Verbatim(String::from_utf8(out)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shells_script_completes_every_subcommand() {
        let names: Vec<String> = Cli::command()
            .get_subcommands()
            .map(|c| c.get_name().to_owned())
            .collect();
        assert!(names.len() >= 13, "{names:?}");
        for shell in CompletionShell::value_variants() {
            let script = run(CompletionsCmd { shell: *shell }).unwrap().to_string();
            assert!(!script.is_empty(), "{shell:?}");
            for name in &names {
                assert!(script.contains(name.as_str()), "{shell:?} lacks `{name}`");
            }
        }
    }
}
