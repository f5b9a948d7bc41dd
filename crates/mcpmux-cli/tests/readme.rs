//! README's CLI walk-through, run as written against the built binary: the `.mcp.json` of its
//! "Config files" section (the HTTP server's port swapped for an ephemeral one) and every
//! command of the console session after it. Outputs that do not depend on timing are compared
//! exactly; the `servers` and `tools` tables by their rows' names and fixed columns.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const MCPMUX: &str = env!("CARGO_BIN_EXE_mcpmux");

/// Kills the HTTP test server when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn readme() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The fenced block of `lang` that follows the first line containing `after`.
fn block_after(text: &str, after: &str, lang: &str) -> String {
    let start = text
        .find(after)
        .unwrap_or_else(|| panic!("README no longer contains {after:?}"));
    let fence = format!("```{lang}\n");
    let open = start
        + text[start..]
            .find(&fence)
            .unwrap_or_else(|| panic!("no ```{lang} block after {after:?}"))
        + fence.len();
    let close = open + text[open..].find("```").expect("a closed block");
    text[open..close].to_owned()
}

/// One `$ command` of the console block and the lines shown after it.
struct Step {
    command: String,
    output: Vec<String>,
}

fn steps(console: &str) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::new();
    for line in console.lines() {
        if let Some(command) = line.strip_prefix("$ ") {
            // A `# comment` after the command is for the reader.
            let command = command.split("  #").next().unwrap_or(command).trim();
            out.push(Step {
                command: command.to_owned(),
                output: Vec::new(),
            });
        } else if let Some(step) = out.last_mut() {
            step.output.push(line.to_owned());
        }
    }
    out
}

/// Runs `command` with `sh` in `dir`, with the built `mcpmux` first on PATH.
fn run(dir: &Path, bin_dir: &Path, command: &str) -> std::process::Output {
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut child = Command::new("sh")
        .args(["-c", command])
        .current_dir(dir)
        .env("PATH", path)
        .env("HOME", dir)
        .env_remove("MCPMUX_CONFIG")
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run sh");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("`{command}` did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

#[test]
fn the_readme_cli_session_runs_as_written() {
    let text = readme();
    let dir = tempfile::tempdir().expect("a temp dir");
    let bin_dir = PathBuf::from(MCPMUX)
        .parent()
        .expect("the binary's folder")
        .to_path_buf();

    // The HTTP server of the example, on an ephemeral port.
    let (server, base) = common::start_http_test_server::<&str>(&[]);
    let _server = Killed(server);

    let config = block_after(
        &text,
        "A `.mcp.json` with a stdio server and an HTTP server",
        "json",
    )
    .replace("http://127.0.0.1:8931", &base);
    std::fs::write(dir.path().join(".mcp.json"), config).expect("write .mcp.json");

    let console = block_after(
        &text,
        "A `.mcp.json` with a stdio server and an HTTP server",
        "console",
    );
    let steps = steps(&console);
    assert!(
        steps.len() >= 6,
        "the README's session shrank: {} commands",
        steps.len()
    );
    let mut last_status = None;
    for step in &steps {
        if let Some(file) = step.command.strip_prefix("cat ") {
            // The session shows a file's content: create it as shown.
            let content: String = step.output.iter().map(|l| format!("{l}\n")).collect();
            std::fs::write(dir.path().join(file), content).expect("write the input file");
            continue;
        }
        if step.command == "echo $?" {
            let shown = step.output.first().map(String::as_str).unwrap_or("");
            assert_eq!(
                last_status.map(|c: i32| c.to_string()).as_deref(),
                Some(shown)
            );
            continue;
        }
        let out = run(dir.path(), &bin_dir, &step.command);
        last_status = out.status.code();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let what = format!("`{}`\nstdout:\n{stdout}\nstderr:\n{stderr}", step.command);
        let shown_out: Vec<&str> = step
            .output
            .iter()
            .map(String::as_str)
            .filter(|l| !l.starts_with("progress: ") && !l.starts_with("mcpmux: "))
            .collect();
        let shown_err: Vec<&str> = step
            .output
            .iter()
            .map(String::as_str)
            .filter(|l| l.starts_with("progress: ") || l.starts_with("mcpmux: "))
            .collect();
        if step.command.starts_with("mcpmux servers") || step.command.starts_with("mcpmux tools") {
            assert_eq!(out.status.code(), Some(0), "{what}");
            // Tables: every row shown (bar a `...` ellipsis) is there, by its first column;
            // `servers` rows also by transport, status and protocol.
            for row in shown_out.iter().skip(1).filter(|l| **l != "...") {
                let fields: Vec<&str> = row.split_whitespace().collect();
                let wanted = if step.command.starts_with("mcpmux servers") {
                    &fields[..fields.len().min(4)]
                } else {
                    &fields[..1]
                };
                assert!(
                    stdout.lines().any(|l| {
                        let got: Vec<&str> = l.split_whitespace().collect();
                        got.len() >= wanted.len() && &got[..wanted.len()] == wanted
                    }),
                    "row {row:?} missing in {what}"
                );
            }
            continue;
        }
        // Everything else: stdout exactly; stderr lines as shown (a summary's time aside).
        let got_out: Vec<&str> = stdout.lines().collect();
        assert_eq!(got_out, shown_out, "{what}");
        for shown in shown_err {
            let stem = shown.split(" in ").next().unwrap_or(shown);
            assert!(
                stderr.lines().any(|l| l.starts_with(stem)),
                "stderr line {shown:?} missing in {what}"
            );
        }
    }
}
