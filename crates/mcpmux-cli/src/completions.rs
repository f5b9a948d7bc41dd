//! `mcpmux completions bash|zsh|fish`.

use std::io;

use clap::CommandFactory;

use crate::args::{Cli, CompletionsArgs, Shell};
use crate::exit::{Code, Outcome};

/// Writes the completion script on stdout.
pub fn run(args: &CompletionsArgs) -> Outcome {
    let shell = match args.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    clap_complete::generate(
        shell,
        &mut Cli::command(),
        "mcpmux",
        &mut io::stdout().lock(),
    );
    Ok(Code::Success)
}
