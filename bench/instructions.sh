#!/usr/bin/env bash
# Client instructions per call, counted by callgrind: repeatable, unlike timings on a shared
# 2-core VM, so two builds can be compared exactly (BENCHMARKS.md, "What each optimisation
# gained").
#
#   bench/instructions.sh WORKLOAD [MCPMUX_BENCH_BINARY] [CLIENT] [TRANSPORT]
#   e.g. bench/instructions.sh c10k target/release/mcpmux-bench mcpmux
#        bench/instructions.sh seq target/release/mcpmux-bench mcpmux http
#
# TRANSPORT is stdio (the default: the worker spawns the stdio test server), http or h2c: the
# binary's test server is started natively on 127.0.0.1 (`test-server --http`), the worker
# speaks Streamable HTTP to it (each counted run is a fresh session) over HTTP/1.1, or over
# cleartext HTTP/2 with prior knowledge for h2c, and it is stopped at the end.
#
# SERVER_ARGS (environment, space-separated) are appended to the stdio test server's arguments,
# e.g. SERVER_ARGS="--member-order unusual" counts the client against responses whose members
# come in an order its fast paths do not recognise (the fallback path).
#
# Runs the worker twice under callgrind, with 1 and with 3 timed runs of WORKLOAD, and divides
# the difference in instructions by the extra calls: start-up, connecting and warming up cancel
# out. Only the worker (the client) is counted; the server it spawns runs natively. Both workers
# end by themselves (`exit` after the runs), and the server is shut down by the client.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

workload="${1:?workload: seq, c1k, c10k, sleep10k, p10k or p1m}"
bin="${2:-target/release/mcpmux-bench}"
client="${3:-mcpmux}"
transport="${4:-stdio}"
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
server_args=()
for arg in ${SERVER_ARGS:-}; do server_args+=("--server-arg=$arg"); done
work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
url_args=()
case "$transport" in
    stdio) ;;
    http|h2c)
        mkfifo "$work/listen"
        "$bin" test-server --http 127.0.0.1:0 >"$work/listen" 2>"$work/server.err" &
        server_pid=$!
        exec 3<"$work/listen"
        read -r -t 30 line <&3 || { echo "the test server did not start" >&2; cat "$work/server.err" >&2; exit 1; }
        url_args=(--url "${line#listening on }/mcp")
        ;;
    *) echo "transport: stdio, http or h2c" >&2; exit 2 ;;
esac
spec="$("$bin" spec --client "$client" --workload "$workload" --run-timeout-s 600 ${url_args[@]+"${url_args[@]}"} ${server_args[@]+"${server_args[@]}"})"
if [ "$transport" = h2c ]; then
    spec="$(python3 -c 'import json,sys; s=json.loads(sys.argv[1]); s["target"]["http"]["http2_prior_knowledge"]=True; print(json.dumps(s))' "$spec")"
fi
calls="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["calls"])' "$spec")"

count() {
    local runs="$1"
    { for _ in $(seq "$runs"); do echo go; done; echo exit; } |
        timeout 900 valgrind --tool=callgrind --callgrind-out-file="$work/cg.$runs" \
            "$bin" worker "$spec" >"$work/out.$runs" 2>"$work/err.$runs"
    grep -q '^@bench result' "$work/out.$runs" || { cat "$work/out.$runs" "$work/err.$runs" >&2; exit 1; }
    sed -n 's/^summary: //p' "$work/cg.$runs"
}
one="$(count 1)"
three="$(count 3)"
python3 -c 'import sys; a, b, n = map(int, sys.argv[1:]); print(f"{(b - a) / (2 * n):.0f} instructions per call")' \
    "$one" "$three" "$calls"
