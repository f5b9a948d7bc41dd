//! Parsing tests: configs written by hand after each host's documentation.

use std::time::Duration;

use mcpmux::{HttpMode, ToolFilter};

use super::*;

fn env() -> Env {
    Env::from_vars([
        ("HOME", "/home/ann"),
        ("GH_TOKEN", "gh-123"),
        ("API_KEY", "k-1"),
        ("DOCS_TOKEN", "docs-9"),
        ("TZ_NAME", "UTC"),
    ])
    .workspace("/work/proj")
}

fn inputs() -> Inputs {
    Inputs::new(NoPrompter)
}

fn resolve(text: &str, host: Host, name: &str) -> Result<ServerSpec> {
    Config::parse(text, host, env())?.resolve(name, &mut inputs())
}

fn stdio(spec: &ServerSpec) -> &StdioSpec {
    match &spec.transport {
        Transport::Stdio(s) => s,
        other => panic!("expected stdio, got {other:?}"),
    }
}

fn http(spec: &ServerSpec) -> &HttpSpec {
    match &spec.transport {
        Transport::Http(h) => h,
        other => panic!("expected http, got {other:?}"),
    }
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn claude_desktop_stdio_with_env() {
    // From the Claude Desktop "connect local servers" guide.
    let text = r#"{
      "globalShortcut": "Ctrl+Space",
      "mcpServers": {
        "filesystem": {
          "command": "npx",
          "args": ["-y", "@modelcontextprotocol/server-filesystem", "/Users/username/Desktop"],
          "env": {"DEBUG": "1", "LITERAL": "${API_KEY}"}
        }
      }
    }"#;
    let spec = resolve(text, Host::ClaudeDesktop, "filesystem").unwrap();
    let s = stdio(&spec);
    assert_eq!(s.command, "npx");
    assert_eq!(s.args[2], "/Users/username/Desktop");
    // Claude Desktop expands nothing.
    assert_eq!(
        s.env,
        [
            ("DEBUG".to_owned(), Some("1".to_owned())),
            ("LITERAL".to_owned(), Some("${API_KEY}".to_owned()))
        ]
    );
    assert_eq!(spec.transport_name(), "stdio");
}

#[test]
fn claude_code_mcp_json_with_expansion() {
    let text = r#"{"mcpServers": {
      "api": {"type": "http", "url": "${API_BASE:-https://api.example.com}/mcp",
              "headers": {"Authorization": "Bearer ${API_KEY}"}},
      "legacy": {"type": "sse", "url": "https://old.example.com/sse"},
      "local": {"command": "/usr/bin/srv", "args": ["--tz", "${TZ_NAME}"], "env": {"K": "$API_KEY"}}
    }}"#;
    let api = resolve(text, Host::ClaudeCode, "api").unwrap();
    let h = http(&api);
    assert_eq!(h.url, "https://api.example.com/mcp");
    assert_eq!(h.headers, pairs(&[("Authorization", "Bearer k-1")]));
    assert_eq!(h.mode, HttpMode::Streamable);
    assert_eq!(
        http(&resolve(text, Host::ClaudeCode, "legacy").unwrap()).mode,
        HttpMode::Sse
    );
    let local = resolve(text, Host::ClaudeCode, "local").unwrap();
    assert_eq!(stdio(&local).args, ["--tz", "UTC"]);
    // Bare $VAR is not Claude Code syntax.
    assert_eq!(stdio(&local).env[0].1.as_deref(), Some("$API_KEY"));
}

#[test]
fn claude_code_missing_variable_names_file_server_field_and_variable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".mcp.json");
    std::fs::write(
        &path,
        r#"{"mcpServers": {"api": {"type": "http", "url": "https://x.dev/mcp",
            "headers": {"Authorization": "Bearer ${MISSING_TOKEN}"}}}}"#,
    )
    .unwrap();
    let config = Config::load(&path, None, env()).unwrap();
    let e = config.resolve("api", &mut inputs()).unwrap_err();
    assert_eq!(e.file(), Some(path.as_path()));
    assert_eq!(e.server(), Some("api"));
    assert_eq!(e.field(), Some("headers.Authorization"));
    assert!(e.message().contains("MISSING_TOKEN"), "{e}");
    let shown = e.to_string();
    assert!(
        shown.starts_with(&format!(
            "{}: server `api`: field `headers.Authorization`: ",
            path.display()
        )),
        "{shown}"
    );
}

#[test]
fn claude_code_user_project_and_local_scopes() {
    let home = tempfile::tempdir().unwrap();
    let ws = tempfile::tempdir().unwrap();
    let ws_path = ws.path().to_string_lossy().into_owned();
    std::fs::write(
        home.path().join(".claude.json"),
        format!(
            r#"{{"numStartups": 3,
                "mcpServers": {{"shared": {{"command": "user-shared"}}, "user-only": {{"command": "u"}}}},
                "projects": {{
                  "/elsewhere": {{"mcpServers": {{"shared": {{"command": "wrong"}}}}}},
                  {ws_path:?}: {{"mcpServers": {{"local": {{"command": "l"}}, "both": {{"command": "local-wins"}}}}}}
                }}}}"#
        ),
    )
    .unwrap();
    std::fs::write(
        ws.path().join(".mcp.json"),
        r#"{"mcpServers": {"shared": {"command": "project-shared"}, "both": {"command": "project"}}}"#,
    )
    .unwrap();
    let env = Env::from_vars([("HOME", home.path().to_string_lossy().into_owned())]);
    // From a subfolder, the nearest project entry above it applies (but .mcp.json is only
    // looked for in the workspace itself).
    let from_sub = Config::load_host(
        Host::ClaudeCode,
        env.clone().workspace(ws.path().join("sub/dir")),
    )
    .unwrap();
    assert!(from_sub.entry("local").is_some());
    let config = Config::load_host(Host::ClaudeCode, env.workspace(ws.path())).unwrap();
    let mut names: Vec<&str> = config.names().collect();
    names.sort_unstable();
    assert_eq!(names, ["both", "local", "shared", "user-only"]);
    let command = |n: &str| {
        stdio(&config.resolve(n, &mut inputs()).unwrap())
            .command
            .clone()
    };
    assert_eq!(command("shared"), "project-shared");
    assert_eq!(command("both"), "local-wins");
    assert_eq!(command("user-only"), "u");
}

#[test]
fn cursor_env_interpolation_and_url_auto_transport() {
    // From Cursor's docs: remote servers with headers, ${env:NAME} interpolation.
    let text = r#"{"mcpServers": {
      "github": {"url": "https://api.githubcopilot.com/mcp/", "headers": {"Authorization": "Bearer ${env:GH_TOKEN}"}},
      "local": {"type": "stdio", "command": "${userHome}/bin/srv", "args": ["${workspaceFolder}/data"], "env": {"K": "${env:API_KEY}"}}
    }}"#;
    let gh = resolve(text, Host::Cursor, "github").unwrap();
    assert_eq!(
        http(&gh).headers,
        pairs(&[("Authorization", "Bearer gh-123")])
    );
    assert_eq!(http(&gh).mode, HttpMode::Auto);
    assert_eq!(gh.transport_name(), "http+sse");
    let local = resolve(text, Host::Cursor, "local").unwrap();
    assert_eq!(stdio(&local).command, "/home/ann/bin/srv");
    assert_eq!(stdio(&local).args, ["/work/proj/data"]);
    assert_eq!(stdio(&local).env[0].1.as_deref(), Some("k-1"));
}

#[test]
fn vscode_servers_inputs_and_jsonc() {
    // From VS Code's MCP configuration reference: JSONC, `servers`, `inputs`.
    let text = r#"{
      // Inputs are prompted on first server start.
      "inputs": [
        {"type": "promptString", "id": "perplexity-key", "description": "Perplexity API Key", "password": true},
      ],
      "servers": {
        "Perplexity": {
          "type": "stdio",
          "command": "npx",
          "args": ["-y", "server-perplexity-ask"],
          "env": {"PERPLEXITY_API_KEY": "${input:perplexity-key}", "UNSET_ME": null, "PORT": 8080},
          "envFile": "${workspaceFolder}/.env",
        },
        "fetch": {"type": "stdio", "command": "uvx", "args": ["mcp-server-fetch"], "cwd": "tools"},
        "github": {"type": "http", "url": "https://api.githubcopilot.com/mcp", "headers": {"X-Token": "${env:GH_TOKEN}"}},
        "dev": {"type": "sse", "url": "http://localhost:3000/events", "dev": {"watch": "src/**/*.ts"}},
      },
    }"#;
    let config = Config::parse(text, Host::VsCode, env()).unwrap();
    let mut answered = inputs();
    answered.answer("perplexity-key", "pk-1");
    // envFile is read relative to the workspace; make the workspace a real folder.
    let ws = tempfile::tempdir().unwrap();
    std::fs::write(ws.path().join(".env"), "FROM_FILE=yes\nPORT=1\n").unwrap();
    let config = Config {
        env: config.env.clone().workspace(ws.path()),
        ..config
    };
    let p = config.resolve("Perplexity", &mut answered).unwrap();
    let env = &stdio(&p).env;
    assert!(env.contains(&("FROM_FILE".to_owned(), Some("yes".to_owned()))));
    assert!(env.contains(&("PERPLEXITY_API_KEY".to_owned(), Some("pk-1".to_owned()))));
    assert!(env.contains(&("UNSET_ME".to_owned(), None)));
    // `env` comes after envFile, so PORT=8080 wins when applied in order.
    let ports: Vec<_> = env.iter().filter(|(k, _)| k == "PORT").collect();
    assert_eq!(ports.last().unwrap().1.as_deref(), Some("8080"));
    let fetch = config.resolve("fetch", &mut answered).unwrap();
    assert_eq!(
        stdio(&fetch).cwd.as_deref(),
        Some(ws.path().join("tools").as_path())
    );
    let gh = config.resolve("github", &mut answered).unwrap();
    // VS Code's `http` falls back to SSE.
    assert_eq!(http(&gh).mode, HttpMode::Auto);
    assert_eq!(http(&gh).headers, pairs(&[("X-Token", "gh-123")]));
    assert_eq!(
        http(&config.resolve("dev", &mut answered).unwrap()).mode,
        HttpMode::Sse
    );
}

#[test]
fn vscode_input_without_a_terminal_is_a_clear_error() {
    let text = r#"{"inputs": [{"type": "promptString", "id": "key", "description": "API Key"}],
      "servers": {"s": {"command": "x", "env": {"K": "${input:key}"}}}}"#;
    let e = resolve(text, Host::VsCode, "s").unwrap_err();
    assert_eq!(e.field(), Some("env.K"));
    assert!(e.message().contains("API Key"), "{e}");
    assert!(e.message().contains("input:key"), "{e}");
}

#[test]
fn vscode_settings_json_mcp_key() {
    let text = r#"{"editor.fontSize": 14, "mcp": {"servers": {"s": {"command": "srv"}}}}"#;
    let spec = resolve(text, Host::VsCode, "s").unwrap();
    assert_eq!(stdio(&spec).command, "srv");
}

#[test]
fn windsurf_server_url() {
    // From Windsurf's Cascade MCP docs.
    let text = r#"{"mcpServers": {
      "remote": {"serverUrl": "https://mcp.example.com/mcp", "headers": {"Authorization": "Bearer ${env:API_KEY}"}},
      "events": {"serverUrl": "https://mcp.example.com/sse"},
      "off": {"command": "x", "disabled": true}
    }}"#;
    let config = Config::parse(text, Host::Windsurf, env()).unwrap();
    // Entries are listed by name.
    assert_eq!(config.names().collect::<Vec<_>>(), ["events", "remote"]);
    let r = config.resolve("remote", &mut inputs()).unwrap();
    assert_eq!(http(&r).url, "https://mcp.example.com/mcp");
    assert_eq!(http(&r).headers, pairs(&[("Authorization", "Bearer k-1")]));
    assert_eq!(http(&r).mode, HttpMode::Auto);
    // A /sse path means the legacy transport.
    assert_eq!(
        http(&config.resolve("events", &mut inputs()).unwrap()).mode,
        HttpMode::Sse
    );
}

#[test]
fn connect_timeout_is_read_in_seconds_in_every_json_format() {
    for host in [Host::ClaudeDesktop, Host::Gemini, Host::Zed] {
        let key = if host == Host::Zed {
            "context_servers"
        } else {
            "mcpServers"
        };
        let text = format!(
            r#"{{"{key}": {{"s": {{"command": "srv", "connect_timeout": 2.5}}, "t": {{"command": "srv"}}}}}}"#
        );
        let s = resolve(&text, host, "s").unwrap();
        assert_eq!(
            s.startup_timeout,
            Some(Duration::from_millis(2500)),
            "{host:?}"
        );
        let t = resolve(&text, host, "t").unwrap();
        assert_eq!(t.startup_timeout, None, "{host:?}");
    }
}

#[test]
fn gemini_http_url_filters_and_timeout_in_ms() {
    // From gemini-cli docs/tools/mcp-server.md.
    let text = r#"{
      // settings.json tolerates comments
      "theme": "Default",
      "mcpServers": {
        "httpServer": {"httpUrl": "http://localhost:3000/mcp", "url": "http://ignored/sse", "timeout": 5000,
                       "headers": {"X-Key": "$API_KEY"}},
        "pythonTools": {"command": "python", "args": ["-m", "my_mcp_server", "--port", "8080"],
                        "cwd": "./mcp-servers/python", "env": {"DATABASE_URL": "$DB_CONNECTION_STRING", "API_KEY": "${API_KEY}"},
                        "timeout": 15000, "trust": false,
                        "includeTools": ["safe_tool", "file_reader", "danger"], "excludeTools": ["danger"]}
      }
    }"#;
    let h = resolve(text, Host::Gemini, "httpServer").unwrap();
    assert_eq!(http(&h).url, "http://localhost:3000/mcp");
    assert_eq!(http(&h).mode, HttpMode::Streamable);
    assert_eq!(http(&h).headers, pairs(&[("X-Key", "k-1")]));
    assert_eq!(h.timeout, Some(Duration::from_secs(5)));
    let p = resolve(text, Host::Gemini, "pythonTools").unwrap();
    assert_eq!(p.timeout, Some(Duration::from_secs(15)));
    assert!(p.tools.allows("safe_tool") && !p.tools.allows("danger") && !p.tools.allows("other"));
    assert_eq!(
        p.tools,
        ToolFilter::all()
            .include(["safe_tool", "file_reader", "danger"])
            .exclude(["danger"])
    );
    // Gemini leaves an unset $VAR as it is.
    let var = |k: &str| {
        stdio(&p)
            .env
            .iter()
            .find(|(n, _)| n == k)
            .and_then(|(_, v)| v.clone())
    };
    assert_eq!(
        var("DATABASE_URL").as_deref(),
        Some("$DB_CONNECTION_STRING")
    );
    assert_eq!(var("API_KEY").as_deref(), Some("k-1"));
    assert_eq!(
        stdio(&p).cwd.as_deref(),
        Some(std::path::Path::new("/work/proj/./mcp-servers/python"))
    );
}

#[test]
fn codex_toml() {
    // From openai/codex docs/config.md, [mcp_servers.NAME].
    let text = r#"
model = "o3"

[mcp_servers.docs]
url = "https://developers.example.com/mcp"
bearer_token_env_var = "DOCS_TOKEN"
http_headers = { "X-Team" = "blue" }
env_http_headers = { "X-Key" = "API_KEY", "X-Missing" = "NOT_SET" }
enabled_tools = ["search", "fetch"]
disabled_tools = ["fetch"]
tool_timeout_sec = 30
startup_timeout_sec = 20

[mcp_servers.time]
command = "uvx"
args = ["mcp-server-time", "${NOT_EXPANDED}"]
env = { "TZ" = "UTC" }
env_vars = ["GH_TOKEN", "NOT_SET"]
cwd = "/srv"
startup_timeout_ms = 1500

[mcp_servers.off]
command = "x"
enabled = false
"#;
    let config = Config::parse(text, Host::Codex, env()).unwrap();
    assert_eq!(config.names().collect::<Vec<_>>(), ["docs", "time"]);
    let docs = config.resolve("docs", &mut inputs()).unwrap();
    let h = http(&docs);
    assert_eq!(h.mode, HttpMode::Streamable);
    assert_eq!(h.bearer.as_deref(), Some("docs-9"));
    assert_eq!(h.headers, pairs(&[("X-Team", "blue"), ("X-Key", "k-1")]));
    assert_eq!(docs.timeout, Some(Duration::from_secs(30)));
    assert_eq!(docs.startup_timeout, Some(Duration::from_secs(20)));
    assert!(docs.tools.allows("search") && !docs.tools.allows("fetch"));
    let time = config.resolve("time", &mut inputs()).unwrap();
    let s = stdio(&time);
    assert_eq!(s.args, ["mcp-server-time", "${NOT_EXPANDED}"]);
    assert_eq!(
        s.env,
        [
            ("GH_TOKEN".to_owned(), Some("gh-123".to_owned())),
            ("TZ".to_owned(), Some("UTC".to_owned()))
        ]
    );
    assert_eq!(time.startup_timeout, Some(Duration::from_millis(1500)));
}

#[test]
fn codex_errors() {
    let both = "[mcp_servers.x]\ncommand = \"a\"\nurl = \"http://b\"\n";
    let e = resolve(both, Host::Codex, "x").unwrap_err();
    assert!(e.message().contains("both `command` and `url`"), "{e}");
    let token = "[mcp_servers.x]\nurl = \"http://b\"\nbearer_token_env_var = \"NOPE\"\n";
    let e = resolve(token, Host::Codex, "x").unwrap_err();
    assert_eq!(e.field(), Some("bearer_token_env_var"));
    assert!(e.message().contains("`NOPE`"), "{e}");
    let e = Config::parse("[mcp_servers.x\n", Host::Codex, env()).unwrap_err();
    assert!(e.message().starts_with("invalid TOML"), "{e}");
}

#[test]
fn zed_context_servers() {
    // From Zed's docs/src/ai/mcp.md; timeouts in seconds; the older nested command form.
    let text = r#"{
      "context_servers": {
        "local": {"command": "some-command", "args": ["arg-1"], "env": {}, "timeout": 30},
        "remote": {"url": "https://mcp.example.com/mcp", "headers": {"Authorization": "Bearer x"}},
        "old": {"source": "custom", "command": {"path": "old-srv", "args": ["-v"], "env": {"A": "1"}}},
        "off": {"enabled": false, "command": "x"}
      },
    }"#;
    let config = Config::parse(text, Host::Zed, env()).unwrap();
    assert_eq!(
        config.names().collect::<Vec<_>>(),
        ["local", "old", "remote"]
    );
    let local = config.resolve("local", &mut inputs()).unwrap();
    assert_eq!(local.timeout, Some(Duration::from_secs(30)));
    let old = config.resolve("old", &mut inputs()).unwrap();
    assert_eq!(stdio(&old).command, "old-srv");
    assert_eq!(stdio(&old).args, ["-v"]);
    assert_eq!(
        http(&config.resolve("remote", &mut inputs()).unwrap()).mode,
        HttpMode::Auto
    );
}

#[test]
fn fastmcp_transport_key_and_bare_map() {
    let text = r#"{"weather": {"url": "https://w.example/mcp", "transport": "streamable-http"},
                   "events": {"url": "https://w.example/sse/"}}"#;
    let config = Config::parse(text, Host::Generic, env()).unwrap();
    let w = config.resolve("weather", &mut inputs()).unwrap();
    assert_eq!(http(&w).mode, HttpMode::Streamable);
    let e = config.resolve("events", &mut inputs()).unwrap();
    assert_eq!(http(&e).mode, HttpMode::Sse);
}

#[test]
fn unknown_fields_are_ignored() {
    let text = r#"{"mcpServers": {"s": {"command": "x", "futureField": {"a": [1]}, "trust": true,
       "oauth": {"enabled": true}, "alwaysAllow": ["t"]}}, "somethingElse": 1}"#;
    assert!(resolve(text, Host::Generic, "s").is_ok());
}

#[test]
fn errors_point_at_the_field() {
    let cases = [
        (
            r#"{"mcpServers": {"s": {"command": "x", "args": "not-a-list"}}}"#,
            "args",
            "expected an array",
        ),
        (
            r#"{"mcpServers": {"s": {"command": "x", "args": ["ok", {"no": 1}]}}}"#,
            "args[1]",
            "expected a string",
        ),
        (
            r#"{"mcpServers": {"s": {"command": "x", "env": {"A": [1]}}}}"#,
            "env.A",
            "expected a string",
        ),
        (
            r#"{"mcpServers": {"s": {"type": "websocket", "url": "ws://x"}}}"#,
            "type",
            "unknown transport",
        ),
        (
            r#"{"mcpServers": {"s": {"type": "http"}}}"#,
            "url",
            "needs a `url`",
        ),
        (
            r#"{"mcpServers": {"s": {"command": "x", "timeout": -5}}}"#,
            "timeout",
            "positive",
        ),
        (
            r#"{"mcpServers": {"s": {"command": ""}}}"#,
            "command",
            "needs a command",
        ),
    ];
    for (text, field, msg) in cases {
        let e = resolve(text, Host::Generic, "s").unwrap_err();
        assert_eq!(e.field(), Some(field), "{text}: {e}");
        assert_eq!(e.server(), Some("s"));
        assert!(e.message().contains(msg), "{text}: {e}");
    }
    let e = resolve(r#"{"mcpServers": {"s": {"args": []}}}"#, Host::Generic, "s").unwrap_err();
    assert!(e.message().contains("needs `command`"), "{e}");
}

#[test]
fn bad_names_and_shapes_fail_the_file() {
    let e = Config::parse(
        r#"{"mcpServers": {"a.b": {"command": "x"}}}"#,
        Host::Generic,
        env(),
    )
    .unwrap_err();
    assert_eq!(e.server(), Some("a.b"));
    assert!(e.message().contains("may not contain `.`"), "{e}");
    let e = Config::parse(r#"{"mcpServers": {"s": "x"}}"#, Host::Generic, env()).unwrap_err();
    assert_eq!(e.server(), Some("s"));
    let e = Config::parse(r#"{"mcpServers": []}"#, Host::Generic, env()).unwrap_err();
    assert_eq!(e.field(), Some("mcpServers"));
    let e = Config::parse("{\n  \"mcpServers\": {\"a\" 1}\n}", Host::Generic, env()).unwrap_err();
    assert!(
        e.message().starts_with("invalid JSON at line 2 column"),
        "{e}"
    );
    let e = Config::parse(r#"{"unrelated": true}"#, Host::Generic, env()).unwrap_err();
    assert!(e.message().contains("no server map"), "{e}");
    // A host's settings file without servers is simply empty.
    let c = Config::parse(r#"{"theme": "x"}"#, Host::Gemini, env()).unwrap();
    assert_eq!(c.entries().len(), 0);
}

#[test]
fn unknown_server_lists_the_configured_ones() {
    let c = Config::parse(
        r#"{"mcpServers": {"a": {"command": "x"}}}"#,
        Host::Generic,
        env(),
    )
    .unwrap();
    let e = c.resolve("b", &mut inputs()).unwrap_err();
    assert!(
        e.message().contains("no server named `b` (configured: a)"),
        "{e}"
    );
}

#[test]
fn discover_merges_user_and_project_files_and_honours_mcpmux_config() {
    let home = tempfile::tempdir().unwrap();
    let ws = tempfile::tempdir().unwrap();
    let h = home.path().to_string_lossy().into_owned();
    let env = || Env::from_vars([("HOME", h.as_str())]).workspace(ws.path());
    assert!(Config::discover(env()).unwrap().is_none());
    std::fs::create_dir_all(home.path().join(".config/mcpmux")).unwrap();
    std::fs::write(
        home.path().join(".config/mcpmux/mcp.json"),
        r#"{"mcpServers": {"a": {"command": "user-a"}, "b": {"command": "user-b"}}}"#,
    )
    .unwrap();
    std::fs::write(
        ws.path().join(".mcp.json"),
        r#"{"mcpServers": {"b": {"command": "proj-b"}}}"#,
    )
    .unwrap();
    let c = Config::discover(env()).unwrap().unwrap();
    assert_eq!(c.files().len(), 2);
    assert_eq!(
        stdio(&c.resolve("b", &mut inputs()).unwrap()).command,
        "proj-b"
    );
    assert_eq!(
        stdio(&c.resolve("a", &mut inputs()).unwrap()).command,
        "user-a"
    );

    let other = ws.path().join("other.json");
    std::fs::write(&other, r#"{"mcpServers": {"z": {"command": "z"}}}"#).unwrap();
    let o = other.to_string_lossy().into_owned();
    let env = Env::from_vars([("HOME", h.as_str()), (CONFIG_ENV, o.as_str())]).workspace(ws.path());
    let c = Config::discover(env).unwrap().unwrap();
    assert_eq!(c.names().collect::<Vec<_>>(), ["z"]);
}

#[test]
fn load_host_reports_where_it_looked() {
    let home = tempfile::tempdir().unwrap();
    let env = Env::from_vars([("HOME", home.path().to_string_lossy().into_owned())])
        .workspace(home.path());
    let e = Config::load_host(Host::Cursor, env).unwrap_err();
    assert!(
        e.message()
            .starts_with("no cursor config found (looked for "),
        "{e}"
    );
    assert!(e.message().contains(".cursor/mcp.json"), "{e}");
}

#[test]
fn spec_builds_a_server() {
    let text = r#"{"mcpServers": {"h": {"url": "http://127.0.0.1:1/mcp", "headers": {"X": "y"}},
                                  "s": {"command": "srv", "env": {"A": "1", "B": null}, "cwd": "/tmp"}}}"#;
    let c = Config::parse(text, Host::Generic, env()).unwrap();
    for (name, spec) in c.resolve_all(&mut inputs()) {
        let spec = spec.unwrap();
        assert_eq!(spec.name, name);
        let server = spec.builder().build().unwrap();
        assert_eq!(server.name(), name);
    }
    let bad = Config::parse(
        r#"{"mcpServers": {"h": {"url": "ftp://x"}}}"#,
        Host::Generic,
        env(),
    )
    .unwrap()
    .resolve("h", &mut inputs())
    .unwrap();
    assert!(bad.builder().build().is_err());
}

#[test]
fn debug_output_hides_secrets() {
    let text = r#"{"mcpServers": {"h": {"url": "http://x/mcp", "headers": {"Authorization": "Bearer SECRET1"}},
                                  "s": {"command": "srv", "env": {"TOKEN": "SECRET2"}}}}"#;
    let c = Config::parse(text, Host::Generic, env()).unwrap();
    for (_, spec) in c.resolve_all(&mut inputs()) {
        let shown = format!("{:?}", spec.unwrap());
        assert!(!shown.contains("SECRET"), "{shown}");
    }
}

#[test]
fn host_paths_follow_the_documented_order() {
    let env = Env::from_vars([("HOME", "/h")]).workspace("/w");
    let p = |h: Host| -> Vec<String> {
        h.paths(&env)
            .iter()
            .map(|p| p.display().to_string())
            .collect()
    };
    assert_eq!(
        p(Host::Generic),
        ["/h/.config/mcpmux/mcp.json", "/w/.mcp.json"]
    );
    assert_eq!(p(Host::ClaudeCode), ["/h/.claude.json", "/w/.mcp.json"]);
    assert_eq!(
        p(Host::Cursor),
        ["/h/.cursor/mcp.json", "/w/.cursor/mcp.json"]
    );
    assert_eq!(
        p(Host::Gemini),
        ["/h/.gemini/settings.json", "/w/.gemini/settings.json"]
    );
    assert_eq!(
        p(Host::Codex),
        ["/h/.codex/config.toml", "/w/.codex/config.toml"]
    );
    assert_eq!(
        p(Host::Zed),
        ["/h/.config/zed/settings.json", "/w/.zed/settings.json"]
    );
    assert_eq!(
        p(Host::Windsurf),
        [
            "/h/.codeium/mcp_config.json",
            "/h/.codeium/windsurf/mcp_config.json"
        ]
    );
    if cfg!(target_os = "linux") {
        assert_eq!(
            p(Host::ClaudeDesktop),
            ["/h/.config/Claude/claude_desktop_config.json"]
        );
        assert_eq!(
            p(Host::VsCode),
            [
                "/h/.config/Code/User/settings.json",
                "/h/.config/Code/User/mcp.json",
                "/w/.vscode/settings.json",
                "/w/.vscode/mcp.json"
            ]
        );
    }
}

#[test]
fn oauth_objects_of_the_host_formats() {
    // Claude Code: clientId and callbackPort; a secret from the environment.
    let spec = resolve(
        r#"{"mcpServers": {"linear": {"type": "http", "url": "https://mcp.linear.app/mcp",
            "oauth": {"clientId": "abc", "clientSecret": "${API_KEY}", "callbackPort": 8976}}}}"#,
        Host::ClaudeCode,
        "linear",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let o = &http(&spec).oauth;
    assert!(o.enabled);
    assert_eq!(o.client_id.as_deref(), Some("abc"));
    assert_eq!(o.client_secret.as_deref(), Some("k-1"));
    assert_eq!(o.callback_port, Some(8976));
    assert!(o.resource_parameter);
    assert!(!format!("{o:?}").contains("k-1"), "the secret is redacted");
    // Gemini CLI: scopes as a list; mcpmux's own fields.
    let spec = resolve(
        r#"{"mcpServers": {"g": {"httpUrl": "https://g.example/mcp",
            "oauth": {"enabled": true, "clientId": "c", "scopes": ["a", "b"],
                      "resourceParameter": false, "grant": "client_credentials"}}}}"#,
        Host::Gemini,
        "g",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let o = &http(&spec).oauth;
    assert_eq!(
        o.scopes.as_deref(),
        Some(&["a".to_owned(), "b".to_owned()][..])
    );
    assert!(!o.resource_parameter);
    assert!(o.client_credentials);
    // Off, absent, and wrong.
    let off = resolve(
        r#"{"mcpServers": {"x": {"url": "https://x.example/mcp", "oauth": false}}}"#,
        Host::ClaudeCode,
        "x",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(!http(&off).oauth.enabled);
    let absent = resolve(
        r#"{"mcpServers": {"x": {"url": "https://x.example/mcp", "scope": "ignored"}}}"#,
        Host::ClaudeCode,
        "x",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(http(&absent).oauth.enabled);
    assert_eq!(http(&absent).oauth.client_id, None);
    for bad in [
        r#""oauth": {"callbackPort": 70000}"#,
        r#""oauth": {"grant": "password"}"#,
        r#""oauth": "yes""#,
    ] {
        let text =
            format!(r#"{{"mcpServers": {{"x": {{"url": "https://x.example/mcp", {bad}}}}}}}"#);
        assert!(resolve(&text, Host::ClaudeCode, "x").is_err(), "{bad}");
    }
}
