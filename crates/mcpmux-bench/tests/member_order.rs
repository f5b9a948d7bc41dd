//! The test server's `--member-order unusual` makes the client's fast paths fall back: its
//! responses are not routed by their shape (`jsonrpc::fast_response`) but decoded in full, and
//! every client still gets every call right.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use mcpmux_bench::spec::{CallSpec, Fill, Mode, RunSample, Target, WorkerSpec};
use mcpmux_protocol::{Decoded, Incoming, decode, jsonrpc::fast_response};
use mcpmux_test_server::{MemberOrder, Options};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

const BIN: &str = env!("CARGO_BIN_EXE_mcpmux-bench");

/// The response line the test server writes for one `echo` call, in `order`.
async fn echo_line(order: MemberOrder) -> String {
    let (mut client_w, server_r) = tokio::io::duplex(1 << 16);
    let (server_w, client_r) = tokio::io::duplex(1 << 16);
    let opts = Options {
        member_order: order,
        ..Options::default()
    };
    let server = tokio::spawn(mcpmux_test_server::serve(server_r, server_w, opts));
    let call = r#"{"jsonrpc":"2.0","id":41,"method":"tools/call","params":{"name":"echo","arguments":{"text":"abc"}}}"#;
    client_w
        .write_all(format!("{call}\n").as_bytes())
        .await
        .unwrap();
    drop(client_w);
    let mut lines = tokio::io::BufReader::new(client_r).lines();
    let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    server.await.unwrap().unwrap();
    line
}

#[tokio::test]
async fn an_unusual_member_order_misses_the_shape_routing_but_decodes() {
    let usual = echo_line(MemberOrder::Sorted).await;
    let odd = echo_line(MemberOrder::Unusual).await;
    // The usual order is routed by its shape alone ...
    let (id, range) = fast_response(usual.as_bytes()).unwrap();
    assert_eq!(id, 41);
    // (Sorted keys, or insertion order in a build with serde_json's `preserve_order`.)
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&usual[range]).unwrap(),
        serde_json::json!({"content": [{"type": "text", "text": "abc"}]})
    );
    // ... the unusual one is not: the connection decodes it in full (its fallback path).
    assert!(odd.starts_with(r#"{"id":41,"result":"#), "{odd}");
    assert_eq!(fast_response(odd.as_bytes()), None, "{odd}");
    for line in [&usual, &odd] {
        match decode(line.as_bytes()) {
            Ok(Decoded::Single(Incoming::Response {
                id,
                result: Ok(raw),
            })) => {
                assert_eq!(id.as_u64(), Some(41));
                let v: serde_json::Value = serde_json::from_str(raw.get()).unwrap();
                assert_eq!(v["content"][0]["text"], "abc");
            }
            other => panic!("{line}: {other:?}"),
        }
    }
}

/// Runs `client` as a worker (this crate's binary) for one run of `calls` concurrent echo calls
/// against the test server started with `server_args`; returns its result.
fn one_run(client: &str, server_args: &[&str], calls: usize) -> RunSample {
    let mut args = vec!["test-server".to_owned()];
    args.extend(server_args.iter().map(|a| (*a).to_owned()));
    let spec = WorkerSpec {
        client: client.into(),
        target: Target::Stdio {
            command: BIN.into(),
            args,
        },
        call: CallSpec {
            tool: "echo".into(),
            arguments: serde_json::Map::new(),
            fill: Some(Fill {
                key: "text".into(),
                bytes: 100,
            }),
        },
        mode: Mode::Concurrent,
        calls,
        warmup: 10,
        run_timeout_ms: 30_000,
        headers: Vec::new(),
        protocol_version: None,
    };
    let mut worker = Command::new(BIN)
        .arg("worker")
        .arg(serde_json::to_string(&spec).unwrap())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = worker.stdin.take().unwrap();
    stdin.write_all(b"go\nexit\n").unwrap();
    drop(stdin);
    let out = BufReader::new(worker.stdout.take().unwrap());
    let mut sample = None;
    for line in out.lines() {
        let line = line.unwrap();
        if let Some(json) = line.strip_prefix("@bench result ") {
            sample = Some(serde_json::from_str::<RunSample>(json).unwrap());
        }
        assert!(!line.starts_with("@bench error"), "{client}: {line}");
    }
    assert!(worker.wait().unwrap().success(), "{client}");
    sample.unwrap_or_else(|| panic!("{client}: no result"))
}

#[test]
fn every_rust_client_gets_every_call_right_in_the_unusual_order() {
    for client in mcpmux_bench::RUST_CLIENTS {
        if *client == "rmcp-pooled" {
            continue; // the same client as rmcp on stdio
        }
        let s = one_run(client, &["--member-order", "unusual"], 200);
        assert_eq!((s.ok, s.errors), (200, 0), "{client}: {s:?}");
    }
}
