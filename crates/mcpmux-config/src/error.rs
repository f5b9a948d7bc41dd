//! [`ConfigError`]: what is wrong, and where (file, server entry, field).

use std::fmt;
use std::path::{Path, PathBuf};

/// A configuration problem, pointing at the file, the server entry and the field where it is.
///
/// ```
/// let config = mcpmux_config::parse_str(
///     r#"{"mcpServers": {"fs": {"command": 42}}}"#,
///     mcpmux_config::Host::ClaudeDesktop,
/// )?;
/// let mut inputs = mcpmux_config::Inputs::new(mcpmux_config::NoPrompter);
/// let e = config.resolve("fs", &mut inputs).unwrap_err();
/// assert_eq!(e.server(), Some("fs"));
/// assert_eq!(e.field(), Some("command"));
/// assert!(e.to_string().contains("server `fs`: field `command`"), "{e}");
/// # Ok::<(), mcpmux_config::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    file: Option<PathBuf>,
    server: Option<String>,
    field: Option<String>,
    message: String,
}

impl ConfigError {
    /// A problem described by `message`, not yet located.
    pub(crate) fn new(message: impl Into<String>) -> Self {
        ConfigError {
            file: None,
            server: None,
            field: None,
            message: message.into(),
        }
    }

    /// Sets the file (if not set yet).
    pub(crate) fn in_file(mut self, file: &Path) -> Self {
        if self.file.is_none() {
            self.file = Some(file.to_path_buf());
        }
        self
    }

    /// Sets the server entry (if not set yet).
    pub(crate) fn in_server(mut self, server: &str) -> Self {
        if self.server.is_none() {
            self.server = Some(server.to_owned());
        }
        self
    }

    /// Sets the field (if not set yet).
    pub(crate) fn in_field(mut self, field: &str) -> Self {
        if self.field.is_none() {
            self.field = Some(field.to_owned());
        }
        self
    }

    /// The file the problem is in.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// The server entry the problem is in.
    pub fn server(&self) -> Option<&str> {
        self.server.as_deref()
    }

    /// The field (e.g. `args`, `env.API_KEY`) the problem is in.
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// The problem itself, without its location.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}: ", file.display())?;
        }
        if let Some(server) = &self.server {
            write!(f, "server `{server}`: ")?;
        }
        if let Some(field) = &self.field {
            write!(f, "field `{field}`: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

/// `Result` with [`ConfigError`].
pub type Result<T, E = ConfigError> = std::result::Result<T, E>;
