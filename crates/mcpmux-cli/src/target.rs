//! Which servers a command talks to: the ad-hoc one (`--url`, `-- COMMAND`) or the configured
//! ones, as `mcpmux::Server` handles; and connecting them as one `Toolset`.

use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mcpmux::{ApprovalHook, HttpMode, Server, ServerBuilder, ToolFilter, Toolset};
use mcpmux_config::{Config, ConfigError, Env, Host, Inputs, ServerSpec, TerminalPrompter};

use crate::args::{GlobalArgs, ServerArgs, Transport};
use crate::exit::{Code, Failure};

/// One server to talk to.
#[derive(Debug)]
pub struct Target {
    /// Its name (the config's key; for an ad-hoc server, derived from the command or URL).
    pub name: String,
    /// The handle (nothing runs yet).
    pub server: Server,
    /// Which tools to offer.
    pub filter: ToolFilter,
    /// `stdio`, `http`, `sse` or `http+sse`.
    pub transport: &'static str,
}

/// The servers of a command, and the config entries that could not be resolved.
#[derive(Debug)]
pub struct Targets {
    /// The servers.
    pub servers: Vec<Target>,
    /// Entries whose config is broken: name and error (already naming file, server, field).
    pub broken: Vec<(String, String)>,
    /// Whether the one server is ad-hoc (tool names are then taken verbatim).
    pub ad_hoc: bool,
    /// The config files read (none for an ad-hoc server): the key of the names cache.
    pub config_files: Vec<PathBuf>,
}

impl Targets {
    /// The ad-hoc server of `args`, or the configured servers (only `only`, if given).
    ///
    /// # Errors
    /// Usage errors (exit 2) for contradictory ad-hoc flags; config errors (exit 3) for a missing
    /// or broken config, an unknown server, or, with `--strict`, any broken entry.
    pub fn select(
        global: &GlobalArgs,
        args: &ServerArgs,
        only: Option<&str>,
    ) -> Result<Targets, Failure> {
        Targets::select_with(global, args, only, &Shape::default())
    }

    /// [`select`](Self::select), with the configured servers' handles shaped by `shape`.
    ///
    /// # Errors
    /// As [`select`](Self::select).
    pub fn select_with(
        global: &GlobalArgs,
        args: &ServerArgs,
        only: Option<&str>,
        shape: &Shape<'_>,
    ) -> Result<Targets, Failure> {
        if args.is_given() {
            if let Some(name) = only {
                return Err(usage(format!(
                    "`{name}` names a configured server, but an ad-hoc server was given \
                     (--url or `-- COMMAND`)"
                )));
            }
            return Ok(Targets {
                servers: vec![ad_hoc(global, args)?],
                broken: Vec::new(),
                ad_hoc: true,
                config_files: Vec::new(),
            });
        }
        let config = load_config(global)?;
        let mut inputs = Inputs::new(TerminalPrompter);
        let specs: Vec<(String, Result<ServerSpec, String>)> = match only {
            Some(name) => {
                let spec = config.resolve(name, &mut inputs).map_err(config_failure)?;
                vec![(name.to_owned(), Ok(spec))]
            }
            None => config
                .resolve_all(&mut inputs)
                .into_iter()
                .map(|(n, r)| (n, r.map_err(|e| e.to_string())))
                .collect(),
        };
        let mut servers = Vec::new();
        let mut broken = Vec::new();
        for (name, spec) in specs {
            match spec.and_then(|spec| target(global, &spec, shape)) {
                Ok(t) => servers.push(t),
                Err(e) => broken.push((name, e)),
            }
        }
        if global.strict && !broken.is_empty() {
            let all: Vec<String> = broken.iter().map(|(_, e)| e.clone()).collect();
            return Err(Failure::new(Code::Config, anyhow::anyhow!(all.join("\n"))));
        }
        if servers.is_empty() && broken.is_empty() {
            let files: Vec<String> = config
                .files()
                .iter()
                .map(|f| f.display().to_string())
                .collect();
            return Err(Failure::new(
                Code::Config,
                anyhow::anyhow!("no servers are configured in {}", files.join(", ")),
            ));
        }
        Ok(Targets {
            servers,
            broken,
            ad_hoc: false,
            config_files: config.files().to_vec(),
        })
    }

    /// Reports the broken config entries on stderr; `Code::Config` if there were any.
    pub fn report_broken(&self) -> Code {
        let mut stderr = io::stderr().lock();
        for (_, error) in &self.broken {
            let _ = writeln!(stderr, "mcpmux: {error}");
        }
        if self.broken.is_empty() {
            Code::Success
        } else {
            Code::Config
        }
    }

    /// Connects every server as one toolset (in parallel, with a spinner): a server that fails
    /// is reported later by [`report`], unless `--strict`.
    ///
    /// # Errors
    /// A tool name conflict (exit 3); with `--strict`, a server that fails to start (exit 4).
    pub async fn connect(
        self,
        global: &GlobalArgs,
    ) -> Result<(Toolset, Vec<(String, String)>), Failure> {
        self.connect_full(global, None, None).await
    }

    /// [`connect`](Self::connect), waiting at most `startup_wait` for the servers: one still
    /// starting then joins the toolset once it is up.
    ///
    /// # Errors
    /// As [`connect`](Self::connect).
    pub async fn connect_within(
        self,
        global: &GlobalArgs,
        startup_wait: Option<std::time::Duration>,
    ) -> Result<(Toolset, Vec<(String, String)>), Failure> {
        self.connect_full(global, None, startup_wait).await
    }

    /// [`connect`](Self::connect), with `approval` asked before each call of the toolset.
    ///
    /// # Errors
    /// As [`connect`](Self::connect).
    pub async fn connect_with(
        self,
        global: &GlobalArgs,
        approval: Option<Arc<dyn ApprovalHook>>,
    ) -> Result<(Toolset, Vec<(String, String)>), Failure> {
        self.connect_full(global, approval, None).await
    }

    async fn connect_full(
        self,
        global: &GlobalArgs,
        approval: Option<Arc<dyn ApprovalHook>>,
        startup_wait: Option<std::time::Duration>,
    ) -> Result<(Toolset, Vec<(String, String)>), Failure> {
        let n = self.servers.len();
        let spinner = crate::progress::spinner(
            format!("connecting to {n} server{}", if n == 1 { "" } else { "s" }),
            global.quiet,
        );
        let mut builder = Toolset::builder().strict(global.strict);
        if let Some(wait) = startup_wait {
            builder = builder.startup_wait(wait);
        }
        if let Some(hook) = approval {
            builder = builder.approval(move |request| hook.check(request));
        }
        for t in self.servers {
            builder = builder.server_filtered(t.name, t.server, t.filter);
        }
        let built = builder.build().await;
        spinner.finish_and_clear();
        let toolset = built.map_err(|e| {
            let code = if e.failures().is_empty() {
                Code::Config
            } else if e.failures().iter().all(|(_, f)| f.is_auth()) {
                Code::Auth
            } else {
                Code::Connect
            };
            let hint = e
                .failures()
                .iter()
                .find_map(|(name, f)| crate::exit::auth_hint(f, name));
            Failure::new(code, e).hint(hint)
        })?;
        Ok((toolset, self.broken))
    }
}

/// Reports the servers that failed to start and the broken entries on stderr, and the exit code
/// they call for (`Success` if none).
pub fn report(toolset: &Toolset, broken: &[(String, String)]) -> Code {
    let mut stderr = io::stderr().lock();
    let mut code = Code::Success;
    for (name, error) in toolset.failures() {
        let mut text = crate::exit::chain(&anyhow::Error::new(error.clone()));
        if let Some(hint) = crate::exit::auth_hint(error, name) {
            text.push_str("; ");
            text.push_str(&hint);
        }
        let _ = writeln!(stderr, "mcpmux: server `{name}` is unavailable: {text}");
        code = code.max_with(crate::exit::connect_code(error));
    }
    for (_, error) in broken {
        let _ = writeln!(stderr, "mcpmux: {error}");
        code = Code::Config;
    }
    code
}

/// Reads the config `--config` / `--from` name, or the default one.
///
/// # Errors
/// Exit 3: no config anywhere, or a broken file.
pub fn load_config(global: &GlobalArgs) -> Result<Config, Failure> {
    match find_config(global.config.as_deref(), global.from) {
        Ok(Some(config)) => Ok(config),
        Ok(None) => {
            let env = Env::from_process();
            let looked: Vec<String> = Config::default_paths(&env)
                .iter()
                .map(|p| p.display().to_string())
                .collect();
            Err(Failure::new(
                Code::Config,
                anyhow::anyhow!(
                    "no MCP server config found (looked for {}); use --config FILE, \
                     --from HOST, --url URL or -- COMMAND",
                    looked.join(", ")
                ),
            ))
        }
        Err(e) => Err(config_failure(e)),
    }
}

/// Reads the config file `path` (in `from`'s format), or `from`'s usual files, or the default
/// ones (`$MCPMUX_CONFIG`, then the usual places); `Ok(None)` when there is none. It only reads
/// files (shell completion calls it too).
///
/// # Errors
/// A missing or broken file.
pub fn find_config(path: Option<&Path>, from: Option<Host>) -> Result<Option<Config>, ConfigError> {
    let env = Env::from_process();
    match (path, from) {
        (Some(path), host) => Config::load(path, host, env).map(Some),
        (None, Some(host)) => Config::load_host(host, env).map(Some),
        (None, None) => Config::discover(env),
    }
}

fn config_failure(e: ConfigError) -> Failure {
    Failure::new(Code::Config, e)
}

fn usage(message: String) -> Failure {
    Failure::new(Code::Usage, anyhow::anyhow!(message))
}

/// Changes one server's builder (by the server's name) before it is built.
pub type Customize = dyn Fn(&str, ServerBuilder) -> ServerBuilder + Sync;

/// What a command changes in its configured servers' handles.
#[derive(Default)]
pub struct Shape<'a> {
    /// Never start an interactive OAuth login (a gateway serving other clients): a server that
    /// needs one fails, naming `mcpmux auth login`.
    pub no_login: bool,
    /// Applied to each server's builder (by name) before it is built.
    pub customize: Option<&'a Customize>,
}

/// A configured server's handle, with `--timeout` applied.
fn target(global: &GlobalArgs, spec: &ServerSpec, shape: &Shape<'_>) -> Result<Target, String> {
    let mut builder = spec.builder();
    if let mcpmux_config::Transport::Http(h) = &spec.transport
        && let Some(oauth) = crate::auth::for_http(h, &spec.name, !shape.no_login)
    {
        builder = builder.oauth(oauth);
    }
    if let Some(customize) = shape.customize {
        builder = customize(&spec.name, builder);
    }
    if matches!(spec.transport, mcpmux_config::Transport::Http(_)) {
        builder = with_http_globals(builder, global);
    }
    let server = with_timeout(builder, global).build().map_err(|e| {
        let origin = spec
            .origin
            .file
            .as_ref()
            .map(|f| format!("{}: ", f.display()))
            .unwrap_or_default();
        format!(
            "{origin}server `{}`: {}",
            spec.name,
            crate::exit::chain(&anyhow::Error::new(e))
        )
    })?;
    Ok(Target {
        name: spec.name.clone(),
        server,
        filter: spec.tools.clone(),
        transport: spec.transport_name(),
    })
}

/// Applies the global options that shape every server handle: `--timeout`,
/// `--connect-timeout`, `--protocol-version`.
fn with_timeout(builder: ServerBuilder, global: &GlobalArgs) -> ServerBuilder {
    let builder = match global.timeout {
        Some(t) => builder.request_timeout(t),
        None => builder,
    };
    let builder = match global.connect_timeout {
        Some(t) => builder.connect_timeout(Some(t)),
        None => builder,
    };
    match global.protocol_version {
        Some(v) => builder.protocol_version(v),
        None => builder,
    }
}

/// Applies the global options of HTTP servers: `--ca-cert` (each file read now; `build()`
/// reports a file that cannot be read or holds no certificate), `--http2-prior-knowledge`.
pub(crate) fn with_http_globals(mut builder: ServerBuilder, global: &GlobalArgs) -> ServerBuilder {
    for file in &global.ca_cert {
        builder = builder.ca_cert_file(file);
    }
    if global.http2_prior_knowledge {
        builder = builder.http2_prior_knowledge(true);
    }
    builder
}

/// The ad-hoc server of `--url` or `-- COMMAND`.
fn ad_hoc(global: &GlobalArgs, args: &ServerArgs) -> Result<Target, Failure> {
    let (builder, name, transport) = match (&args.url, args.command.split_first()) {
        (Some(_), Some(_)) => {
            return Err(usage(
                "give either --url URL or `-- COMMAND`, not both".to_owned(),
            ));
        }
        (None, None) => return Err(usage("no server given".to_owned())),
        (None, Some((program, rest))) => {
            if matches!(args.transport, Some(Transport::Http | Transport::Sse)) {
                return Err(usage(
                    "--transport http/sse needs --url URL instead of `-- COMMAND`".to_owned(),
                ));
            }
            if !args.headers.is_empty() {
                return Err(usage("--header applies to --url servers only".to_owned()));
            }
            let name = std::path::Path::new(program)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "server".to_owned());
            let mut b = Server::stdio(program).args(rest);
            for (k, v) in &args.env {
                b = b.env(k, v);
            }
            (b, name, "stdio")
        }
        (Some(url), None) => {
            let (mode, transport) = match args.transport {
                Some(Transport::Stdio) => {
                    return Err(usage(
                        "--transport stdio needs `-- COMMAND` instead of --url".to_owned(),
                    ));
                }
                Some(Transport::Http) => (HttpMode::Streamable, "http"),
                Some(Transport::Sse) => (HttpMode::Sse, "sse"),
                None if path_is_sse(url) => (HttpMode::Sse, "sse"),
                None => (HttpMode::Auto, "http+sse"),
            };
            if !args.env.is_empty() {
                return Err(usage(
                    "--env applies to stdio servers (`-- COMMAND`) only".to_owned(),
                ));
            }
            let mut b = with_http_globals(Server::http(url).http_mode(mode), global);
            for (k, v) in &args.headers {
                b = b.header(k, v);
            }
            if let Some(token) = &args.bearer {
                b = b.bearer_token(token);
            }
            let has_auth = args.bearer.is_some()
                || args
                    .headers
                    .iter()
                    .any(|(k, _)| k.eq_ignore_ascii_case("authorization"));
            if !has_auth {
                b = b.oauth(crate::auth::config(
                    &mcpmux_config::OAuthSpec::default(),
                    &url_name(url),
                    crate::auth::interactive(),
                ));
            }
            (b, url_name(url), transport)
        }
    };
    // Server names may not contain `.` (SERVER.TOOL).
    let name = name.replace('.', "_");
    let server = with_timeout(builder.name(&name), global)
        .build()
        .map_err(|e| Failure::new(Code::Usage, e))?;
    Ok(Target {
        name,
        server,
        filter: ToolFilter::all(),
        transport,
    })
}

/// The name of an ad-hoc HTTP server: its URL's host, `.` replaced by `_` (server names may
/// not contain `.`).
pub fn url_name(url: &str) -> String {
    url.split("://")
        .nth(1)
        .and_then(|rest| rest.split(['/', ':', '?']).next())
        .filter(|h| !h.is_empty())
        .unwrap_or("server")
        .replace('.', "_")
}

/// Whether a URL's path ends in `/sse` (then the legacy transport is meant).
fn path_is_sse(url: &str) -> bool {
    let no_query = url.split(['?', '#']).next().unwrap_or(url);
    no_query.trim_end_matches('/').ends_with("/sse")
}

/// The configured server and tool that `name` means, without starting any server: `SERVER.TOOL`
/// when SERVER is configured, else `SERVER_TOOL` (the prefixed name) by the longest configured
/// server name that prefixes it, else `name` split at the first `.` (an unknown server is then
/// reported by [`Targets::select`]).
///
/// # Errors
/// A usage error when `name` has no `.` and no configured server prefixes it.
pub fn route_configured(global: &GlobalArgs, name: &str) -> Result<(String, String), Failure> {
    let configured: Vec<String> = load_config(global)
        .map(|c| c.names().map(str::to_owned).collect())
        .unwrap_or_default();
    let refs: Vec<&str> = configured.iter().map(String::as_str).collect();
    if let Some((server, tool)) = crate::names::candidates(name, &refs).first() {
        return Ok(((*server).to_owned(), (*tool).to_owned()));
    }
    let (server, tool) = split_target(name, false, "TOOL")?;
    Ok((server.unwrap_or_default().to_owned(), tool.to_owned()))
}

/// `SERVER.NAME` split at the first `.`; for an ad-hoc server, `name` is taken verbatim.
///
/// # Errors
/// A usage error when a configured server is meant but there is no `.`.
pub fn split_target<'a>(
    name: &'a str,
    ad_hoc: bool,
    what: &str,
) -> Result<(Option<&'a str>, &'a str), Failure> {
    if ad_hoc {
        return Ok((None, name));
    }
    match name.split_once('.') {
        Some((server, item)) if !server.is_empty() && !item.is_empty() => Ok((Some(server), item)),
        _ => Err(usage(format!(
            "`{name}`: expected SERVER.{what} for a configured server (or give an ad-hoc \
             server with --url URL or -- COMMAND)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_paths() {
        assert!(path_is_sse("http://h/sse"));
        assert!(path_is_sse("http://h/sse/?x=1"));
        assert!(!path_is_sse("http://h/mcp"));
        assert!(!path_is_sse("http://h/sse2"));
    }

    #[test]
    fn targets_split_at_the_first_dot() {
        assert_eq!(
            split_target("a.b.c", false, "TOOL").ok(),
            Some((Some("a"), "b.c"))
        );
        assert_eq!(split_target("a.b", true, "TOOL").ok(), Some((None, "a.b")));
        assert!(split_target("abc", false, "TOOL").is_err());
        assert!(split_target(".x", false, "TOOL").is_err());
    }
}
