#!/usr/bin/env bash
# The gateway's instructions per forwarded call, counted by callgrind: repeatable, unlike CPU
# times on a shared 2-core VM, so two builds of `mcpmux serve` can be compared exactly
# (BENCHMARKS.md, "The gateway").
#
#   bench/gateway-instructions.sh [WORKLOAD] [MCPMUX_BINARY] [MCPMUX_BENCH_BINARY]
#   e.g. bench/gateway-instructions.sh c1k target/release/mcpmux target/release/mcpmux-bench
#
# `mcpmux serve --http 127.0.0.1:0 --prefix never` runs under callgrind, fronting the harness's
# stdio test server (which runs natively); the mcpmux Rust worker (natively, pinned to
# 2025-11-25, as in `mcpmux-bench gateways`) makes 1, then, against a fresh gateway, 3 timed
# runs of WORKLOAD after its warm-up. The difference in instructions divided by the extra calls
# is the gateway's cost per call: start-up, connecting and warming up cancel out. Only the
# gateway is counted.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

workload="${1:-c1k}"
mcpmux="${2:-target/release/mcpmux}"
bin="${3:-target/release/mcpmux-bench}"
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
work="$(mktemp -d)"
gateway_pid=""
cleanup() {
    if [ -n "$gateway_pid" ]; then kill "$gateway_pid" 2>/dev/null || true; wait "$gateway_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
python3 -c 'import json,sys; print(json.dumps({"mcpServers": {"test": {"command": sys.argv[1], "args": ["test-server"]}}}))' \
    "$(realpath "$bin")" >"$work/config.json"
calls="$("$bin" spec --client mcpmux --workload "$workload" --url http://127.0.0.1:1/mcp |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["calls"])')"

count() {
    local runs="$1" line="" url spec
    mkfifo "$work/out.$runs"
    valgrind --tool=callgrind --callgrind-out-file="$work/cg.$runs" \
        "$mcpmux" serve --http 127.0.0.1:0 --prefix never --config "$work/config.json" \
        >"$work/out.$runs" 2>&1 &
    gateway_pid=$!
    exec 3<"$work/out.$runs"
    while read -r -t 120 line <&3; do [[ "$line" == "listening on "* ]] && break; done
    [[ "$line" == "listening on "* ]] || { echo "the gateway did not start" >&2; exit 1; }
    cat <&3 >"$work/gateway.log.$runs" &
    url="${line#listening on }"
    spec="$("$bin" spec --client mcpmux --workload "$workload" --run-timeout-s 900 --url "$url" |
        python3 -c 'import json,sys; s = json.load(sys.stdin); s["protocol_version"] = "2025-11-25"; print(json.dumps(s))')"
    { for _ in $(seq "$runs"); do echo go; done; echo exit; } |
        "$bin" worker "$spec" >"$work/worker.$runs" 2>&1
    grep -q '^@bench result' "$work/worker.$runs" || { cat "$work/worker.$runs" >&2; exit 1; }
    # callgrind writes its counts when the gateway ends (SIGTERM: a clean shutdown).
    kill -TERM "$gateway_pid"
    wait "$gateway_pid" 2>/dev/null || true
    gateway_pid=""
    exec 3<&-
    sed -n 's/^summary: //p' "$work/cg.$runs"
}
one="$(count 1)"
three="$(count 3)"
python3 -c 'import sys; a, b, n = map(int, sys.argv[1:]); print(f"{(b - a) / (2 * n):.0f} gateway instructions per call")' \
    "$one" "$three" "$calls"
