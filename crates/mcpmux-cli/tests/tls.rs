//! HTTPS and HTTP/2 from the command line, against `mcpmux test-server --http` on 127.0.0.1: a
//! CA made at test time is trusted only when given (`--ca-cert FILE` or `SSL_CERT_FILE`),
//! HTTP/2 is negotiated over TLS, and h2c is used on a plain URL only with
//! `--http2-prior-knowledge`. The HTTP version of each request is what the server counted
//! (`GET /http-versions`).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use mcpmux_test_server::test_certs::{TestCertFiles, TestCerts};
use serde_json::Value;

const MCPMUX: &str = env!("CARGO_BIN_EXE_mcpmux");
const LIMIT: Duration = Duration::from_secs(60);

/// A test server process, killed and reaped on drop.
struct TestServer {
    child: Child,
    base: String,
}

impl TestServer {
    fn start(extra: &[&std::ffi::OsStr]) -> TestServer {
        let (child, base) = common::start_http_test_server(extra);
        TestServer { child, base }
    }

    fn https(files: &TestCertFiles) -> TestServer {
        TestServer::start(&[
            "--tls-cert".as_ref(),
            files.cert.as_os_str(),
            "--tls-key".as_ref(),
            files.key.as_os_str(),
        ])
    }

    fn url(&self) -> String {
        format!("{}/mcp", self.base)
    }

    /// `(HTTP/1.x requests, HTTP/2 requests)` the server saw on its MCP routes.
    fn versions(&self, ca: Option<&Path>) -> (u64, u64) {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut builder = reqwest::Client::builder().timeout(LIMIT);
        if let Some(ca) = ca {
            let cert = reqwest::Certificate::from_pem(&std::fs::read(ca).unwrap()).unwrap();
            builder = builder.tls_certs_only([cert]);
        }
        let client = builder.build().unwrap();
        let url = format!("{}/http-versions", self.base);
        let v: Value = runtime
            .block_on(async { client.get(&url).send().await.unwrap().json().await.unwrap() });
        (v["http1"].as_u64().unwrap(), v["http2"].as_u64().unwrap())
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn certs(tag: &str) -> (PathBuf, TestCertFiles) {
    let dir = std::env::temp_dir().join(format!("mcpmux-cli-tls-{tag}-{}", std::process::id()));
    let files = TestCerts::generate().unwrap().write_to(&dir).unwrap();
    (dir, files)
}

/// `mcpmux ARGS` without inherited TLS or log variables (plus `env`), bounded by `timeout`.
fn mcpmux(args: &[&std::ffi::OsStr], env: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new("timeout");
    cmd.args(["-s", "KILL", &LIMIT.as_secs().to_string(), MCPMUX])
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run mcpmux")
}

fn call_echo(url: &str, text: &str, extra: &[&std::ffi::OsStr], env: &[(&str, &Path)]) -> Output {
    let mut args: Vec<&std::ffi::OsStr> = vec!["call".as_ref(), "echo".as_ref(), "--args".as_ref()];
    let json = format!(r#"{{"text":"{text}"}}"#);
    args.push(json.as_ref());
    args.push("--url".as_ref());
    args.push(url.as_ref());
    args.extend_from_slice(extra);
    mcpmux(&args, env)
}

fn ok_stdout(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn https_needs_the_ca_and_then_speaks_http2() {
    let (dir, files) = certs("cli");
    let server = TestServer::https(&files);
    assert!(
        server.base.starts_with("https://127.0.0.1:"),
        "{}",
        server.base
    );
    let url = server.url();

    // (a) Not trusted: a certificate error, no request reached the server.
    let out = call_echo(&url, "x", &[], &[]);
    assert_ne!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("TLS certificate was not accepted") && stderr.contains("--ca-cert"),
        "{stderr}"
    );
    assert_eq!(server.versions(Some(&files.ca)), (0, 0));

    // (b) --ca-cert FILE: tools and a call work, over HTTP/2.
    let ca = ["--ca-cert".as_ref(), files.ca.as_os_str()];
    let mut args: Vec<&std::ffi::OsStr> = vec!["tools".as_ref(), "--url".as_ref(), url.as_ref()];
    args.extend_from_slice(&ca);
    let tools = ok_stdout(&mcpmux(&args, &[]));
    assert!(tools.contains("echo"), "{tools}");
    assert_eq!(
        ok_stdout(&call_echo(&url, "over h2", &ca, &[])),
        "over h2\n"
    );
    let (h1, h2) = server.versions(Some(&files.ca));
    assert!(h1 == 0 && h2 >= 8, "{h1} {h2}");

    // (c) SSL_CERT_FILE pointing at the CA.
    let out = call_echo(&url, "via env", &[], &[("SSL_CERT_FILE", &files.ca)]);
    assert_eq!(ok_stdout(&out), "via env\n");
    let (h1, _) = server.versions(Some(&files.ca));
    assert_eq!(h1, 0);

    // A --ca-cert file without a certificate: a usage error naming it.
    let out = call_echo(
        &url,
        "x",
        &["--ca-cert".as_ref(), files.key.as_os_str()],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("key.pem") && stderr.contains("no CA certificate"),
        "{stderr}"
    );

    drop(server);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn plain_http_is_http1_and_h2c_only_on_request() {
    // (e) Without the opt-in: HTTP/1.1 only.
    let server = TestServer::start(&[]);
    assert_eq!(ok_stdout(&call_echo(&server.url(), "h1", &[], &[])), "h1\n");
    let (h1, h2) = server.versions(None);
    assert!(h1 >= 4 && h2 == 0, "{h1} {h2}");
    drop(server);

    // (d) --http2-prior-knowledge: h2c on the same kind of listener.
    let server = TestServer::start(&[]);
    let out = call_echo(
        &server.url(),
        "h2c",
        &["--http2-prior-knowledge".as_ref()],
        &[],
    );
    assert_eq!(ok_stdout(&out), "h2c\n");
    let (h1, h2) = server.versions(None);
    assert!(h1 == 0 && h2 >= 4, "{h1} {h2}");
}

/// `mcpmux --json bench echo …` against `url` with the raw driver and mcpmux, 50 calls once.
#[cfg(feature = "bench")]
fn bench(url: &str, extra: &[&std::ffi::OsStr]) -> (Output, Value) {
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "--json".as_ref(),
        "bench".as_ref(),
        "echo".as_ref(),
        "--args".as_ref(),
        r#"{"text":"hi"}"#.as_ref(),
        "--calls".as_ref(),
        "50".as_ref(),
        "--runs".as_ref(),
        "1".as_ref(),
        "--quiet-wait".as_ref(),
        "0".as_ref(),
        "--clients".as_ref(),
        "raw,mcpmux".as_ref(),
        "--url".as_ref(),
        url.as_ref(),
    ];
    args.extend_from_slice(extra);
    let out = mcpmux(&args, &[]);
    let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out, report)
}

/// Every cell of a bench report ran its 50 calls without an error.
#[cfg(feature = "bench")]
fn all_calls_ok(out: &Output, report: &Value) {
    let cells = report["cells"].as_array().unwrap_or_else(|| {
        panic!("no report: {}", String::from_utf8_lossy(&out.stderr));
    });
    assert_eq!(cells.len(), 2, "{report}");
    for cell in cells {
        assert!(cell["error"].is_null(), "{cell}");
        for run in cell["runs"].as_array().unwrap() {
            assert_eq!(
                (run["ok"].as_u64(), run["errors"].as_u64()),
                (Some(50), Some(0)),
                "{cell}"
            );
        }
    }
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `mcpmux bench` hands `--ca-cert` and `--http2-prior-knowledge` to its workers: against an
/// https server with a private CA they fail on the certificate without it, and with it every
/// call goes over HTTP/2; on a plain URL `--http2-prior-knowledge` makes them speak h2c.
#[cfg(feature = "bench")]
#[test]
fn bench_workers_take_the_ca_cert_and_http2_prior_knowledge() {
    let (dir, files) = certs("bench");
    let server = TestServer::https(&files);
    let url = server.url();

    let (out, report) = bench(&url, &[]);
    assert_ne!(out.status.code(), Some(0), "{report}");
    let cells = report["cells"].as_array().unwrap();
    assert!(
        cells.iter().all(|c| c["error"].as_str().is_some()),
        "{report}"
    );
    assert_eq!(server.versions(Some(&files.ca)).1, 0);

    let (out, report) = bench(&url, &["--ca-cert".as_ref(), files.ca.as_os_str()]);
    all_calls_ok(&out, &report);
    let (h1, h2) = server.versions(Some(&files.ca));
    assert!(h1 == 0 && h2 >= 100, "{h1} {h2}");

    // Two files (the CA and the server's own chain): joined into one bundle for the workers.
    let (out, report) = bench(
        &url,
        &[
            "--ca-cert".as_ref(),
            files.cert.as_os_str(),
            "--ca-cert".as_ref(),
            files.ca.as_os_str(),
        ],
    );
    all_calls_ok(&out, &report);

    // A file without a certificate: a usage error before any worker starts.
    let (out, _) = bench(&url, &["--ca-cert".as_ref(), files.key.as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no CA certificate"), "{stderr}");
    drop(server);
    std::fs::remove_dir_all(dir).unwrap();

    let server = TestServer::start(&[]);
    let (out, report) = bench(&server.url(), &["--http2-prior-knowledge".as_ref()]);
    all_calls_ok(&out, &report);
    let (h1, h2) = server.versions(None);
    assert!(h1 == 0 && h2 >= 100, "{h1} {h2}");
}

/// `mcpmux auth login|logout` over HTTPS with a private CA: discovery, registration and the
/// token requests go through the same client as every other command, so `--ca-cert` is what
/// lets them in. The test server is its own authorization server (`--http-oauth-ttl`), its
/// authorize endpoint approves at once; the "browser" is a script that follows its redirect to
/// mcpmux's loopback callback, trusting the CA itself.
#[test]
fn auth_login_and_logout_take_the_ca_cert() {
    let (dir, files) = certs("auth");
    let server = TestServer::start(&[
        "--tls-cert".as_ref(),
        files.cert.as_os_str(),
        "--tls-key".as_ref(),
        files.key.as_os_str(),
        "--http-oauth-ttl".as_ref(),
        "600".as_ref(),
    ]);
    let url = server.url();
    let python =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.peers/venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/install-peers.sh",
        python.display()
    );
    let browser = dir.join("browser.sh");
    std::fs::write(
        &browser,
        format!(
            "#!/bin/sh\nexec '{}' -c 'import ssl, sys, urllib.request; \
             urllib.request.urlopen(sys.argv[1], timeout=20, \
             context=ssl.create_default_context(cafile=sys.argv[2])).read()' \"$1\" '{}'\n",
            python.display(),
            files.ca.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&browser, std::fs::Permissions::from_mode(0o755)).unwrap();
    let store = dir.join("auth.json");
    let env = [
        ("HOME", dir.as_path()),
        ("MCPMUX_TOKEN_STORE", store.as_path()),
        ("BROWSER", browser.as_path()),
    ];
    let auth = |verb: &str, extra: &[&std::ffi::OsStr]| {
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "-v".as_ref(),
            "auth".as_ref(),
            verb.as_ref(),
            "--url".as_ref(),
            url.as_ref(),
        ];
        args.extend_from_slice(extra);
        mcpmux(&args, &env)
    };
    let ca = ["--ca-cert".as_ref(), files.ca.as_os_str()];

    // Without the CA: the discovery request is refused on the certificate, nothing stored.
    let out = auth("login", &[]);
    assert_ne!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("certificate"), "{stderr}");
    assert!(!store.exists());

    // With it: logged in, and a call uses the stored token without a new login.
    let out = auth("login", &ca);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("logged in to"), "{stderr}");
    assert!(store.exists());
    let out = mcpmux(
        &[
            "call".as_ref(),
            "echo".as_ref(),
            "--args".as_ref(),
            r#"{"text":"with a token"}"#.as_ref(),
            "--url".as_ref(),
            url.as_ref(),
            "--ca-cert".as_ref(),
            files.ca.as_os_str(),
        ],
        &env,
    );
    assert_eq!(ok_stdout(&out), "with a token\n");

    let out = auth("logout", &ca);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("logged out of"), "{stderr}");
    drop(server);
    std::fs::remove_dir_all(dir).unwrap();
}
