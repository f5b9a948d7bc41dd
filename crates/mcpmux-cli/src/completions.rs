//! `mcpmux completions bash|zsh|fish`.

use std::io::{self, Write as _};

use clap::CommandFactory;

use crate::args::{Cli, CompletionsArgs, Shell};
use crate::exit::{Code, Failure, Outcome};

/// Writes the completion script on stdout.
pub fn run(args: &CompletionsArgs) -> Outcome {
    let shell = match args.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    // Generated into memory first: clap_complete panics when its writer fails, and a reader
    // that closes the pipe early (`| head -1`) is not an error.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "mcpmux", &mut script);
    io::stdout()
        .lock()
        .write_all(&script)
        .map_err(Failure::output)?;
    Ok(Code::Success)
}
