//! The gateway's own errors (what stops it from starting).

use std::fmt;

use crate::names::Prefix;

/// Why the gateway cannot offer the upstreams' tools.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// Two tools would be offered under one name.
    #[error(
        "tool name conflict under --prefix {prefix}: `{name}` is both server `{}`'s tool `{}` and \
         server `{}`'s tool `{}`{}",
        first.0, first.1, second.0, second.1, hint(*prefix)
    )]
    NameConflict {
        /// The offered name both would get.
        name: String,
        /// The first server and its tool name.
        first: (String, String),
        /// The second server and its tool name.
        second: (String, String),
        /// The naming mode in force.
        prefix: Prefix,
    },
    /// The upstreams' tool lists could not be read.
    #[error("cannot list the upstream tools: {0}")]
    List(#[from] mcpmux::Error),
}

fn hint(prefix: Prefix) -> Hint {
    Hint(prefix)
}

struct Hint(Prefix);

impl fmt::Display for Hint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Prefix::Never => f.write_str("; use --prefix auto or always, or exclude one of them"),
            Prefix::Auto | Prefix::Always => {
                f.write_str("; exclude one of them in the config (tools filter)")
            }
        }
    }
}
