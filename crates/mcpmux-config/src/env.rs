//! [`Env`]: where variables, the home folder and the workspace folder come from.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

type Lookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The environment a config is read in: environment variables, the user's home folder and the
/// workspace (project) folder, which holds project config files and is `${workspaceFolder}`.
///
/// ```
/// use mcpmux_config::Env;
/// let env = Env::from_vars([("HOME", "/home/ann"), ("TOKEN", "t")]).workspace("/work/p");
/// assert_eq!(env.var("TOKEN").as_deref(), Some("t"));
/// assert_eq!(env.home().unwrap(), std::path::Path::new("/home/ann"));
/// assert_eq!(env.workspace_dir(), std::path::Path::new("/work/p"));
/// ```
#[derive(Clone)]
pub struct Env {
    lookup: Lookup,
    home: Option<PathBuf>,
    workspace: PathBuf,
}

impl Env {
    /// This process's environment variables and home folder; the workspace is the current
    /// directory.
    pub fn from_process() -> Self {
        Env {
            lookup: Arc::new(|name| std::env::var(name).ok()),
            home: std::env::home_dir(),
            workspace: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
        }
    }

    /// Exactly these variables (for tests and embedding); the home folder is `HOME` (or
    /// `USERPROFILE`), the workspace the current directory.
    pub fn from_vars<K, V>(vars: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        let map: HashMap<String, String> = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        let home = map
            .get("HOME")
            .or_else(|| map.get("USERPROFILE"))
            .map(PathBuf::from);
        Env {
            lookup: Arc::new(move |name| map.get(name).cloned()),
            home,
            workspace: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
        }
    }

    /// Sets the workspace folder.
    #[must_use]
    pub fn workspace(mut self, dir: impl Into<PathBuf>) -> Self {
        self.workspace = dir.into();
        self
    }

    /// Sets the home folder.
    #[must_use]
    pub fn home_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.home = Some(dir.into());
        self
    }

    /// The value of an environment variable (`None` if unset or not Unicode).
    pub fn var(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
    }

    /// The user's home folder.
    pub fn home(&self) -> Option<PathBuf> {
        self.home.clone()
    }

    /// The workspace folder.
    pub fn workspace_dir(&self) -> &Path {
        &self.workspace
    }

    /// The per-user config folder: `$XDG_CONFIG_HOME`, else `~/.config`.
    pub fn config_dir(&self) -> Option<PathBuf> {
        self.var("XDG_CONFIG_HOME")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| self.home.as_ref().map(|h| h.join(".config")))
    }
}

impl Env {
    /// The workspace folder (shorthand used by [`Host::paths`](crate::Host::paths)).
    pub(crate) fn ws(&self) -> &Path {
        &self.workspace
    }
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Env")
            .field("home", &self.home)
            .field("workspace", &self.workspace)
            .finish_non_exhaustive()
    }
}
