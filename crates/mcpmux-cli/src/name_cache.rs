//! The tool names each configured server listed, kept on disk for shell completion
//! ([`crate::complete`]): a TAB reads them instead of starting a server.
//!
//! One JSON file per config — named by a hash of its files' canonical paths — holding
//! `{"config": [FILE...], "servers": {"NAME": ["tool", ...]}}`, under `$MCPMUX_CACHE_DIR`, else
//! `$XDG_CACHE_HOME/mcpmux`, else `~/.cache/mcpmux`. Every command that lists a configured
//! server's tools (`tools`, `call`, `batch`, `servers`) refreshes that server's names. Writes are
//! atomic (a temporary file renamed over the old one); a cache that cannot be read or written
//! is ignored (logged at debug level): it never changes what a command does.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The environment variable that names the cache folder (tests use it).
pub const DIR_ENV: &str = "MCPMUX_CACHE_DIR";

/// A cache file larger than this is not read (it is not one of ours).
const MAX_FILE: u64 = 16 * 1024 * 1024;

/// The contents of one config's cache file.
#[derive(Debug, Default, Serialize, Deserialize)]
struct CacheFile {
    /// The config files it is about (canonical paths), for a person reading it.
    #[serde(default)]
    config: Vec<String>,
    /// Server name to its tool names, sorted.
    #[serde(default)]
    servers: BTreeMap<String, Vec<String>>,
}

/// Records `tools` as the tool names of `server` of the config read from `config` (nothing for
/// an ad-hoc server, whose `config` is empty). Never fails: see the module docs.
pub fn store<I, S>(config: &[PathBuf], server: &str, tools: I)
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    if config.is_empty() {
        return;
    }
    let Some(path) = file_for(config) else {
        return;
    };
    let mut names: Vec<String> = tools
        .into_iter()
        .map(|t| t.as_ref().to_owned())
        .filter(|t| completable(t))
        .collect();
    names.sort();
    names.dedup();
    let mut cache = read(&path).unwrap_or_default();
    if cache.servers.get(server) == Some(&names) {
        return; // unchanged: no write
    }
    cache.config = canonical(config)
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    cache.servers.insert(server.to_owned(), names);
    if let Err(e) = write(&path, &cache) {
        tracing::debug!("cannot write the names cache {}: {e}", path.display());
    }
}

/// The cached tool names of every server of the config read from `config` (empty if none).
pub fn load(config: &[PathBuf]) -> BTreeMap<String, Vec<String>> {
    if config.is_empty() {
        return BTreeMap::new();
    }
    file_for(config)
        .and_then(|p| read(&p))
        .map(|c| c.servers)
        .unwrap_or_default()
}

/// Whether a name can be offered to a shell as one word.
fn completable(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// The cache folder: `$MCPMUX_CACHE_DIR`, `$XDG_CACHE_HOME/mcpmux` or `~/.cache/mcpmux`.
fn dir() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = var(DIR_ENV) {
        return Some(PathBuf::from(dir));
    }
    if let Some(xdg) = var("XDG_CACHE_HOME").map(PathBuf::from)
        && xdg.is_absolute()
    {
        return Some(xdg.join("mcpmux"));
    }
    var("HOME").map(|home| PathBuf::from(home).join(".cache").join("mcpmux"))
}

/// The config files, canonical where they can be (the same config under any spelling).
fn canonical(config: &[PathBuf]) -> Vec<PathBuf> {
    config
        .iter()
        .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()))
        .collect()
}

/// The cache file of the config read from `config`.
fn file_for(config: &[PathBuf]) -> Option<PathBuf> {
    Some(dir()?.join(file_name(&canonical(config))))
}

/// `tools-HASH.json`, HASH being FNV-1a (64 bits) of the paths, each ended by a NUL byte.
fn file_name(paths: &[PathBuf]) -> String {
    use std::os::unix::ffi::OsStrExt as _;
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for path in paths {
        for &b in path.as_os_str().as_bytes().iter().chain(&[0]) {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("tools-{hash:016x}.json")
}

fn read(path: &Path) -> Option<CacheFile> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() > MAX_FILE {
        return None;
    }
    let text = std::fs::read(path).ok()?;
    serde_json::from_slice(&text)
        .map_err(|e| tracing::debug!("ignoring the names cache {}: {e}", path.display()))
        .ok()
}

/// Writes `cache` to a temporary file next to `path`, then renames it over `path`.
fn write(path: &Path, cache: &CacheFile) -> std::io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("no parent folder"))?;
    std::fs::create_dir_all(dir)?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let temp = dir.join(format!(".tools.{}.{nanos}.tmp", std::process::id()));
    let written = (|| {
        let mut file = std::fs::File::create(&temp)?;
        let json = serde_json::to_vec_pretty(cache).map_err(std::io::Error::other)?;
        file.write_all(&json)?;
        file.write_all(b"\n")?;
        std::fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_depend_on_every_path() {
        let a = file_name(&[PathBuf::from("/a/mcp.json")]);
        let b = file_name(&[PathBuf::from("/b/mcp.json")]);
        let ab = file_name(&[PathBuf::from("/a/mcp.json"), PathBuf::from("/b/mcp.json")]);
        assert_ne!(a, b);
        assert_ne!(a, ab);
        assert!(
            a.starts_with("tools-") && a.ends_with(".json") && a.len() == 27,
            "{a}"
        );
        assert_eq!(a, file_name(&[PathBuf::from("/a/mcp.json")]));
    }

    #[test]
    fn writes_replace_the_file_and_round_trip() {
        let dir = std::env::temp_dir().join(format!("mcpmux-name-cache-{}", std::process::id()));
        let path = dir.join("tools-test.json");
        let mut cache = CacheFile::default();
        cache
            .servers
            .insert("s".into(), vec!["a".into(), "b".into()]);
        assert!(write(&path, &cache).is_ok());
        cache.servers.insert("t".into(), vec!["c".into()]);
        assert!(write(&path, &cache).is_ok());
        let back = read(&path).map(|c| c.servers);
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(back, Some(cache.servers));
    }

    #[test]
    fn names_a_shell_cannot_take_are_left_out() {
        assert!(completable("read_file"));
        assert!(!completable("two words"));
        assert!(!completable("bell\u{7}"));
        assert!(!completable(""));
    }
}
