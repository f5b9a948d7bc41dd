//! Dynamic shell completion: `source <(COMPLETE=bash mcpmux)` registers a completion function
//! that calls `mcpmux` on each TAB (clap_complete's [`CompleteEnv`]). Besides subcommands and
//! options, it completes a server argument from the config's server names and a `SERVER.TOOL`
//! argument from the tool names that earlier commands listed ([`crate::name_cache`]). A TAB
//! only reads files: no server is ever started.
//!
//! The config is found as the command would find it: a `--config FILE` and `--from HOST`
//! already typed on the line being completed, else `$MCPMUX_CONFIG` and the default files.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use clap::CommandFactory as _;
use clap_complete::CompleteEnv;
use clap_complete::engine::CompletionCandidate;
use mcpmux_config::{Config, Host};

use crate::args::Cli;

/// Answers a completion request and exits, when `COMPLETE` is set (`COMPLETE=bash mcpmux` prints
/// the registration script; the script's calls get the candidates); otherwise returns at once.
pub fn answer_if_asked() {
    CompleteEnv::with_factory(Cli::command).complete();
}

/// The configured servers whose names start with `current`.
pub fn servers(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(current) = current.to_str() else {
        return Vec::new();
    };
    let Some(config) = config() else {
        return Vec::new();
    };
    config
        .names()
        .filter(|name| name.starts_with(current))
        .map(CompletionCandidate::new)
        .collect()
}

/// The cached `SERVER.TOOL` names (of servers still in the config) that start with `current`.
pub fn tools(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(current) = current.to_str() else {
        return Vec::new();
    };
    let Some(config) = config() else {
        return Vec::new();
    };
    let cached = crate::name_cache::load(config.files());
    let mut out = Vec::new();
    for server in config.names() {
        for tool in cached.get(server).into_iter().flatten() {
            let name = format!("{server}.{tool}");
            if name.starts_with(current) {
                out.push(CompletionCandidate::new(name));
            }
        }
    }
    out
}

/// The config of the command line being completed, if there is one and it reads.
fn config() -> Option<Config> {
    let words: Vec<OsString> = std::env::args_os()
        .skip_while(|w| w != "--")
        .skip(2) // `--` and the program's name
        .collect();
    let (path, from) = config_flags(&words);
    crate::target::find_config(path.as_deref(), from)
        .ok()
        .flatten()
}

/// `--config FILE` and `--from HOST` among `words` (the last of each; none after a lone `--`,
/// where an ad-hoc server's command starts).
fn config_flags(words: &[OsString]) -> (Option<PathBuf>, Option<Host>) {
    let mut path = None;
    let mut from = None;
    let mut words = words.iter();
    while let Some(word) = words.next() {
        let Some(word) = word.to_str() else {
            continue;
        };
        if word == "--" {
            break;
        }
        let (flag, inline) = match word.split_once('=') {
            Some((flag, value)) => (flag, Some(value.to_owned())),
            None => (word, None),
        };
        if flag != "--config" && flag != "--from" {
            continue;
        }
        let mut next = || words.next().map(|v| v.to_string_lossy().into_owned());
        // Bash splits `--config=FILE` into three words at the `=`.
        let value = inline.or_else(|| next().and_then(|v| if v == "=" { next() } else { Some(v) }));
        let Some(value) = value.filter(|v| !v.is_empty()) else {
            continue;
        };
        if flag == "--config" {
            path = Some(Path::new(&value).to_path_buf());
        } else if let Ok(host) = value.parse::<Host>() {
            from = Some(host);
        }
    }
    (path, from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(words: &[&str]) -> (Option<PathBuf>, Option<Host>) {
        let words: Vec<OsString> = words.iter().map(OsString::from).collect();
        config_flags(&words)
    }

    #[test]
    fn the_typed_config_flags_are_found() {
        assert_eq!(flags(&["call", "ec"]), (None, None));
        assert_eq!(
            flags(&["--config", "a.json", "call", "x"]),
            (Some(PathBuf::from("a.json")), None)
        );
        assert_eq!(
            flags(&["tools", "--config=b.json", "--from", "zed", ""]),
            (Some(PathBuf::from("b.json")), Some(Host::Zed))
        );
        // After `--` comes the ad-hoc server's command.
        assert_eq!(
            flags(&["call", "t", "--", "srv", "--config", "c.json"]),
            (None, None)
        );
        assert_eq!(
            flags(&["--config", "=", "d.json", "call"]),
            (Some(PathBuf::from("d.json")), None)
        );
        // A flag still being typed has no value yet.
        assert_eq!(flags(&["--config"]), (None, None));
        assert_eq!(flags(&["--from", "emacs"]), (None, None));
    }
}
