//! OAuth in the CLI: the login flow and store every HTTP server gets, and `mcpmux auth
//! login|status|logout`.

use std::io::{self, IsTerminal, Write as _};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use mcpmux::auth::{
    AuthStatus, BrowserLogin, FileTokenStore, MemoryTokenStore, OAuthConfig, TokenStore,
};
use mcpmux_config::{HttpSpec, OAuthSpec, Transport};

use crate::args::{AuthAction, AuthArgs, GlobalArgs};
use crate::exit::{Code, Failure, Outcome};
use crate::table::Table;

/// Whether a person can log in: stderr (where the login URL is printed) is a terminal. Stdin
/// does not matter (`mcpmux batch < file` on a terminal may log in): the browser answers the
/// login, not the keyboard.
pub fn interactive() -> bool {
    io::stderr().is_terminal()
}

/// The OAuth config for server `name`: the entry's settings, the token store at its default
/// path (`$MCPMUX_TOKEN_STORE`, else `$XDG_STATE_HOME/mcpmux/auth.json`), and the browser
/// login, whose URL is also printed on stderr; a login starts only when `allow_login`.
pub fn config(spec: &OAuthSpec, name: &str, allow_login: bool) -> OAuthConfig {
    let owner = name.to_owned();
    let mut flow = BrowserLogin::new().show_url(move |url| {
        let _ = writeln!(
            io::stderr().lock(),
            "mcpmux: server `{owner}` needs you to log in; opening your browser at:\n  {url}\n\
             mcpmux: (open it by hand if no browser starts; waiting for the login)"
        );
    });
    if let Some(port) = spec.callback_port {
        flow = flow.callback_port(port);
    }
    spec.config()
        .client_name("mcpmux")
        .login(flow)
        .allow_login(allow_login)
        .shared_store(store())
}

/// The token store at its default path; in memory when there is none (no HOME).
fn store() -> Arc<dyn TokenStore> {
    match FileTokenStore::at_default_path() {
        Ok(store) => Arc::new(store),
        Err(e) => {
            tracing::debug!("{e}; tokens are kept in memory only");
            Arc::new(MemoryTokenStore::new())
        }
    }
}

/// OAuth for an HTTP server unless it is off or the entry already authenticates (a bearer
/// token or an `Authorization` header): used only when the server answers 401. A login may
/// start only when `may_log_in` and stderr is a terminal.
pub fn for_http(spec: &HttpSpec, name: &str, may_log_in: bool) -> Option<OAuthConfig> {
    let has_auth = spec.bearer.is_some()
        || spec
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("authorization"));
    (spec.oauth.enabled && !has_auth)
        .then(|| config(&spec.oauth, name, may_log_in && interactive()))
}

/// Runs `mcpmux auth ...`.
pub async fn run(args: AuthArgs, global: &GlobalArgs) -> Outcome {
    match args.action {
        AuthAction::Login { server, url } => login(server, url, global).await,
        AuthAction::Status { server } => status(server, global),
        AuthAction::Logout { server, url } => logout(server, url, global).await,
    }
}

/// The servers an `auth` subcommand is about: `(name, url, oauth)` of `--url URL`, of the one
/// configured server named, or (`all`) of every configured HTTP server.
fn servers(
    global: &GlobalArgs,
    server: Option<String>,
    url: Option<String>,
    all: bool,
) -> Result<Vec<(String, String, OAuthSpec)>, Failure> {
    if let Some(url) = url {
        if server.is_some() {
            return Err(usage("give either SERVER or --url URL, not both"));
        }
        return Ok(vec![(
            crate::target::url_name(&url),
            url,
            OAuthSpec::default(),
        )]);
    }
    let config = crate::target::load_config(global)?;
    let mut inputs = mcpmux_config::Inputs::new(mcpmux_config::TerminalPrompter);
    let names: Vec<String> = match &server {
        Some(n) => vec![n.clone()],
        None if all => config.names().map(str::to_owned).collect(),
        None => return Err(usage("name a server (or give --url URL)")),
    };
    let mut out = Vec::new();
    for name in names {
        let spec = config
            .resolve(&name, &mut inputs)
            .map_err(|e| Failure::new(Code::Config, e))?;
        match spec.transport {
            Transport::Http(h) => out.push((name, h.url.clone(), h.oauth.clone())),
            _ if server.is_some() => {
                return Err(Failure::new(
                    Code::Config,
                    anyhow::anyhow!(
                        "server `{name}` is not an HTTP server: OAuth is for HTTP servers"
                    ),
                ));
            }
            _ => {}
        }
    }
    Ok(out)
}

fn usage(message: &str) -> Failure {
    Failure::new(Code::Usage, anyhow::anyhow!("{message}"))
}

/// The server at `url` with `config`, its HTTP client the one every other command would use:
/// `--ca-cert` and `--http2-prior-knowledge` apply to discovery, registration and tokens too.
fn oauth_server(
    url: &str,
    name: &str,
    config: OAuthConfig,
    global: &GlobalArgs,
) -> Result<mcpmux::Server, Failure> {
    crate::target::with_http_globals(mcpmux::Server::http(url).name(name), global)
        .oauth(config)
        .build()
        .map_err(|e| Failure::new(Code::Usage, e))
}

async fn login(server: Option<String>, url: Option<String>, global: &GlobalArgs) -> Outcome {
    for (name, url, spec) in servers(global, server, url, false)? {
        let server = oauth_server(&url, &name, config(&spec, &name, true), global)?;
        match server.login().await {
            Ok(s) => {
                if global.json {
                    let v = status_json(&name, Some(&s));
                    crate::output::write_json(&mut io::stdout().lock(), &v)
                        .map_err(Failure::output)?;
                } else if global.chatty() {
                    let _ = writeln!(
                        io::stderr().lock(),
                        "mcpmux: logged in to `{name}` (issuer {}, client {}{})",
                        s.issuer,
                        s.client_id,
                        if s.scopes.is_empty() {
                            String::new()
                        } else {
                            format!(", scopes {}", s.scopes.join(" "))
                        }
                    );
                }
            }
            Err(e) => {
                return Err(Failure::new(
                    Code::Auth,
                    anyhow::Error::new(e).context(format!("logging in to `{name}` failed")),
                ));
            }
        }
    }
    Ok(Code::Success)
}

async fn logout(server: Option<String>, url: Option<String>, global: &GlobalArgs) -> Outcome {
    for (name, url, spec) in servers(global, server, url, false)? {
        let server = oauth_server(&url, &name, config(&spec, &name, false), global)?;
        let forgotten = server
            .logout()
            .await
            .map_err(|e| Failure::new(Code::Auth, anyhow::Error::new(e)))?;
        if global.json {
            let v = serde_json::json!({"server": name, "logged_out": forgotten.is_some()});
            crate::output::write_json(&mut io::stdout().lock(), &v).map_err(Failure::output)?;
        } else if global.chatty() {
            let what = if forgotten.is_some() {
                "logged out of"
            } else {
                "no stored login for"
            };
            let _ = writeln!(io::stderr().lock(), "mcpmux: {what} `{name}`");
        }
    }
    Ok(Code::Success)
}

fn status(server: Option<String>, global: &GlobalArgs) -> Outcome {
    let list = servers(global, server, None, true)?;
    let store = store();
    let mut rows = Vec::new();
    for (name, url, _) in &list {
        let s = mcpmux::auth::status(url, store.as_ref())
            .map_err(|e| Failure::new(Code::Auth, anyhow::Error::new(e)))?;
        rows.push((name.clone(), s));
    }
    let mut stdout = io::stdout().lock();
    if global.json {
        let v: Vec<serde_json::Value> = rows
            .iter()
            .map(|(n, s)| status_json(n, s.as_ref()))
            .collect();
        crate::output::write_json(&mut stdout, &serde_json::Value::Array(v))
            .map_err(Failure::output)?;
        return Ok(Code::Success);
    }
    let mut table = Table::new(&[
        ("SERVER", None),
        ("ISSUER", Some(50)),
        ("CLIENT", Some(40)),
        ("SCOPES", Some(40)),
        ("EXPIRES", None),
        ("REFRESHABLE", None),
    ]);
    for (name, s) in &rows {
        table.row(match s {
            Some(s) => vec![
                name.clone(),
                s.issuer.clone(),
                s.client_id.clone(),
                s.scopes.join(" "),
                expiry(s.expires_at),
                if s.refreshable { "yes" } else { "no" }.into(),
            ],
            None => vec![
                name.clone(),
                "-".into(),
                "-".into(),
                "-".into(),
                "not logged in".into(),
                "-".into(),
            ],
        });
    }
    table.write(&mut stdout).map_err(Failure::output)?;
    Ok(Code::Success)
}

/// `auth status --json` / `auth login --json`: the stored fields, never a token.
fn status_json(name: &str, s: Option<&AuthStatus>) -> serde_json::Value {
    match s {
        Some(s) => serde_json::json!({
            "server": name,
            "url": s.server,
            "logged_in": true,
            "issuer": s.issuer,
            "resource": s.resource,
            "client_id": s.client_id,
            "scopes": s.scopes,
            "expires_at": s.expires_at,
            "refreshable": s.refreshable,
        }),
        None => serde_json::json!({"server": name, "logged_in": false}),
    }
}

fn expiry(at: Option<u64>) -> String {
    let Some(at) = at else {
        return "unknown".into();
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    if at <= now {
        "expired".into()
    } else {
        let left = at - now;
        match left {
            0..=119 => format!("in {left} s"),
            120..=7199 => format!("in {} min", left / 60),
            _ => format!("in {} h", left / 3600),
        }
    }
}
