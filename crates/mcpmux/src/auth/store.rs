//! Where registrations and tokens live between runs: the [`TokenStore`] trait, the default
//! [`FileTokenStore`] (one JSON file, 0600, written atomically, locked across processes during
//! a refresh) and [`MemoryTokenStore`].

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Seconds since the Unix epoch.
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The environment variable that overrides where [`FileTokenStore::default_path`] points.
pub const TOKEN_STORE_ENV: &str = "MCPMUX_TOKEN_STORE";

/// A client registration with one authorization server (dynamic, pre-registered or a client
/// metadata document URL).
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Registration {
    /// The authorization server's issuer identifier this registration belongs to.
    pub issuer: String,
    /// The client id.
    pub client_id: String,
    /// The client secret, for confidential clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// How the client authenticates at the token endpoint: `none`, `client_secret_basic`,
    /// `client_secret_post` or `private_key_jwt`.
    pub auth_method: String,
    /// The redirect URI registered (authorization servers match it exactly, so its loopback
    /// port is reused on the next login).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// Whether this registration was made by dynamic client registration (and may be replaced
    /// by a new one), rather than configured.
    #[serde(default)]
    pub dynamic: bool,
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "…"))
            .field("auth_method", &self.auth_method)
            .field("redirect_uri", &self.redirect_uri)
            .finish()
    }
}

/// Tokens for one protected resource from one authorization server.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Tokens {
    /// The issuer identifier of the authorization server that issued them.
    pub issuer: String,
    /// The protected resource (RFC 8707) they were issued for.
    pub resource: String,
    /// The client they were issued to.
    pub client_id: String,
    /// The access token. Never logged, never in an error message.
    pub access_token: String,
    /// `Bearer` (or `DPoP`).
    pub token_type: String,
    /// The refresh token, if the server issued one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// When the access token expires, in seconds since the Unix epoch (unknown: `None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// The lifetime the server gave (`expires_in`), to refresh ahead by a tenth of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifetime: Option<u64>,
    /// The scopes requested (or granted, when the server said).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// For a DPoP-bound token (RFC 9449): the private key it is bound to (base64url PKCS#8
    /// DER). Never logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_key: Option<String>,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens")
            .field("issuer", &self.issuer)
            .field("resource", &self.resource)
            .field("client_id", &self.client_id)
            .field("token_type", &self.token_type)
            .field("refreshable", &self.refresh_token.is_some())
            .field("expires_at", &self.expires_at)
            .field("scopes", &self.scopes)
            .field("dpop", &self.dpop_key.is_some())
            .finish_non_exhaustive()
    }
}

/// Which authorization server and resource a server URL used last, so a new process finds its
/// tokens before any request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ServerEntry {
    /// The issuer identifier.
    pub issuer: String,
    /// The protected resource.
    pub resource: String,
}

/// Everything a [`TokenStore`] holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuthDocument {
    /// Registrations, by issuer.
    #[serde(default)]
    pub registrations: BTreeMap<String, Registration>,
    /// Tokens, by [`AuthDocument::key`] (issuer and resource).
    #[serde(default)]
    pub tokens: BTreeMap<String, Tokens>,
    /// The last issuer and resource of each server URL.
    #[serde(default)]
    pub servers: BTreeMap<String, ServerEntry>,
}

impl AuthDocument {
    /// The key of the tokens for `resource` from `issuer`.
    pub fn key(issuer: &str, resource: &str) -> String {
        format!("{issuer} {resource}")
    }

    /// The tokens for `resource` from `issuer`.
    pub fn tokens_for(&self, issuer: &str, resource: &str) -> Option<&Tokens> {
        self.tokens.get(&Self::key(issuer, resource))
    }
}

/// Holds registrations and tokens between runs. Implement it to keep them elsewhere (an OS
/// keyring, a secrets service); [`FileTokenStore`] is the default.
///
/// Calls are rare (a login, a refresh) and small, so they are synchronous.
pub trait TokenStore: Send + Sync + fmt::Debug + 'static {
    /// Reads the whole document (empty when there is none yet).
    fn load(&self) -> Result<AuthDocument>;
    /// Replaces the whole document.
    fn save(&self, document: &AuthDocument) -> Result<()>;
    /// Takes an exclusive lock across processes, held until the returned value is dropped:
    /// taken around every refresh and login so that two processes never both spend a rotating
    /// refresh token. May block (it runs on a blocking thread). The default takes none.
    fn lock(&self) -> Result<StoreLock> {
        Ok(StoreLock(None))
    }
}

/// A held [`TokenStore::lock`]; dropping it releases the lock.
pub struct StoreLock(Option<Box<dyn Send + Sync>>);

impl StoreLock {
    /// A lock held as long as `held` lives.
    pub fn new(held: impl Send + Sync + 'static) -> Self {
        StoreLock(Some(Box::new(held)))
    }
}

impl fmt::Debug for StoreLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("StoreLock").field(&self.0.is_some()).finish()
    }
}

/// A store that lives as long as the process (tests, short-lived tools).
///
/// ```
/// use mcpmux::auth::{MemoryTokenStore, TokenStore};
/// let store = MemoryTokenStore::new();
/// assert!(store.load().unwrap().tokens.is_empty());
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryTokenStore {
    document: Arc<Mutex<AuthDocument>>,
}

impl MemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl TokenStore for MemoryTokenStore {
    fn load(&self) -> Result<AuthDocument> {
        Ok(self
            .document
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone())
    }

    fn save(&self, document: &AuthDocument) -> Result<()> {
        *self.document.lock().unwrap_or_else(PoisonError::into_inner) = document.clone();
        Ok(())
    }
}

/// One JSON file, readable by its owner only (0600, never anything else for a moment: it is
/// written to a new 0600 file and renamed over the old one), locked across processes with
/// `flock` on a `.lock` file beside it.
///
/// ```
/// use mcpmux::auth::{FileTokenStore, TokenStore};
/// let dir = std::env::temp_dir().join(format!("mcpmux-doc-{}", std::process::id()));
/// let store = FileTokenStore::new(dir.join("auth.json"));
/// assert!(store.load().unwrap().tokens.is_empty()); // no file yet: empty
/// store.save(&Default::default()).unwrap();
/// # std::fs::remove_dir_all(dir).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct FileTokenStore {
    path: PathBuf,
}

impl FileTokenStore {
    /// A store in the file `path` (created with its folder on the first save).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileTokenStore { path: path.into() }
    }

    /// `$MCPMUX_TOKEN_STORE`, else `$XDG_STATE_HOME/mcpmux/auth.json`, else
    /// `~/.local/state/mcpmux/auth.json`; `None` when there is no home folder either.
    pub fn default_path() -> Option<PathBuf> {
        if let Some(p) = std::env::var_os(TOKEN_STORE_ENV).filter(|p| !p.is_empty()) {
            return Some(PathBuf::from(p));
        }
        let state = std::env::var_os("XDG_STATE_HOME")
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME")
                    .filter(|p| !p.is_empty())
                    .map(|h| PathBuf::from(h).join(".local/state"))
            })?;
        Some(state.join("mcpmux").join("auth.json"))
    }

    /// The store at [`default_path`](Self::default_path).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when there is no such path.
    pub fn at_default_path() -> Result<Self> {
        Self::default_path().map(Self::new).ok_or_else(|| {
            Error::invalid(format!(
                "no place for the token store: set {TOKEN_STORE_ENV} or HOME"
            ))
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io_error(&self, what: &str, e: std::io::Error) -> Error {
        Error::auth(format!(
            "could not {what} the token store {}: {e}",
            self.path.display()
        ))
    }

    fn create_dir(&self) -> Result<()> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| self.io_error("create the folder of", e))?;
        }
        Ok(())
    }
}

impl TokenStore for FileTokenStore {
    fn load(&self) -> Result<AuthDocument> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                Error::auth(format!(
                    "the token store {} is not readable JSON ({e}): remove it to start over",
                    self.path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(AuthDocument::default()),
            Err(e) => Err(self.io_error("read", e)),
        }
    }

    fn save(&self, document: &AuthDocument) -> Result<()> {
        use std::os::unix::fs::OpenOptionsExt;
        self.create_dir()?;
        let json = serde_json::to_vec_pretty(document)
            .map_err(|e| Error::auth(format!("could not encode the token store: {e}")))?;
        let nonce = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let tmp = self
            .path
            .with_extension(format!("tmp.{}.{nonce}", std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(&json)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &self.path)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            self.io_error("write", e)
        })
    }

    fn lock(&self) -> Result<StoreLock> {
        use nix::fcntl::{Flock, FlockArg};
        use std::os::unix::fs::OpenOptionsExt;
        self.create_dir()?;
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(self.path.with_extension("lock"))
            .map_err(|e| self.io_error("open the lock of", e))?;
        let held = Flock::lock(file, FlockArg::LockExclusive)
            .map_err(|(_, e)| self.io_error("lock", std::io::Error::from(e)))?;
        Ok(StoreLock::new(held))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn tokens() -> Tokens {
        Tokens {
            issuer: "https://as".into(),
            resource: "https://rs/mcp".into(),
            client_id: "c".into(),
            access_token: "SECRET-ACCESS".into(),
            token_type: "Bearer".into(),
            refresh_token: Some("SECRET-REFRESH".into()),
            expires_at: Some(1),
            lifetime: Some(3600),
            scopes: vec!["a".into()],
            dpop_key: Some("SECRET-KEY".into()),
        }
    }

    #[test]
    fn debug_never_shows_secrets() {
        let t = format!("{:?}", tokens());
        assert!(!t.contains("SECRET"), "{t}");
        let r = Registration {
            issuer: "i".into(),
            client_id: "c".into(),
            client_secret: Some("SECRET".into()),
            auth_method: "client_secret_basic".into(),
            redirect_uri: None,
            dynamic: true,
        };
        assert!(!format!("{r:?}").contains("SECRET"));
    }

    #[test]
    fn file_store_round_trips_with_owner_only_permissions() {
        let dir = std::env::temp_dir().join(format!(
            "mcpmux-store-test-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let store = FileTokenStore::new(dir.join("sub/auth.json"));
        let mut doc = store.load().unwrap_or_else(|e| panic!("{e}"));
        let t = tokens();
        doc.tokens
            .insert(AuthDocument::key(&t.issuer, &t.resource), t.clone());
        store.save(&doc).unwrap_or_else(|e| panic!("{e}"));
        store.save(&doc).unwrap_or_else(|e| panic!("{e}")); // replaces
        let back = store.load().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.tokens_for(&t.issuer, &t.resource), Some(&t));
        let mode = std::fs::metadata(store.path())
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0);
        assert_eq!(mode, 0o600);
        let leftovers: Vec<_> = std::fs::read_dir(dir.join("sub"))
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert_eq!(leftovers.len(), 1, "{leftovers:?}");
        let lock = store.lock().unwrap_or_else(|e| panic!("{e}"));
        drop(lock);
        std::fs::write(store.path(), b"{not json").unwrap_or_else(|e| panic!("{e}"));
        assert!(store.load().is_err_and(|e| e.is_auth()));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
