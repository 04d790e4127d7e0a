//! `nextstep man`: the manual page (roff, section 1), generated from the clap definition that
//! parses the command line, with every subcommand, its options and its help text.

use clap::{Args, CommandFactory as _};

use super::Cli;
use super::output::Verbatim;

/// Prints the manual page in roff (e.g. `nextstep man > ~/.local/share/man/man1/nextstep.1`).
#[derive(Debug, Args)]
pub struct ManCmd {}

/// The man page, printed as is.
pub type ManPage = Verbatim;

pub fn run(_cmd: ManCmd) -> anyhow::Result<ManPage> {
    let command = Cli::command();
    let mut out = Vec::new();
    let man = clap_mangen::Man::new(command.clone());
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    // One section per command (not clap_mangen's list, which points at a page per command that
    // we do not ship), so `man nextstep` documents each command's own options too.
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        render_command_section(&mut out, &command, sub)?;
    }
    man.render_version_section(&mut out)?;
    Ok(Verbatim(String::from_utf8(out)?))
}

/// A `COMMAND: name` section: its about text, and its arguments as the options section shows them.
fn render_command_section(
    out: &mut Vec<u8>,
    parent: &clap::Command,
    sub: &clap::Command,
) -> std::io::Result<()> {
    let name = format!("{} {}", parent.get_name(), sub.get_name());
    let sub = sub.clone().bin_name(name.clone());
    let man = clap_mangen::Man::new(sub.clone());
    let mut section = Vec::new();
    man.render_synopsis_section(&mut section)?;
    man.render_description_section(&mut section)?;
    man.render_options_section(&mut section)?;
    if sub.has_subcommands() {
        man.render_subcommands_section(&mut section)?;
    }
    // Each rendered piece is a `.SH` section; inside the parent's page it becomes a
    // sub-heading under the command's own heading.
    let text = String::from_utf8_lossy(&section).replace(".SH ", ".SS ");
    out.extend_from_slice(format!(".SH \"COMMAND: {}\"\n", name.to_uppercase()).as_bytes());
    out.extend_from_slice(text.as_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_man_page_names_every_subcommand_and_is_roff() {
        let page = run(ManCmd {}).unwrap().to_string();
        assert!(page.starts_with(".ie") || page.starts_with(".TH"), "{page}");
        assert!(page.contains(".TH nextstep 1"), "{page}");
        for sub in Cli::command().get_subcommands() {
            let heading = format!(
                ".SH \"COMMAND: NEXTSTEP {}\"",
                sub.get_name().to_uppercase()
            );
            assert!(page.contains(&heading), "the page lacks {heading}");
        }
        // A command's own option is documented too.
        assert!(page.contains("\\-\\-next\\-step"), "{page}");
    }
}
