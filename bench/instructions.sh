#!/usr/bin/env bash
# Client instructions per call, counted by callgrind: repeatable, unlike timings on a shared
# 2-core VM, so two builds can be compared exactly (BENCHMARKS.md, "What each optimisation
# gained").
#
#   bench/instructions.sh WORKLOAD [MCPMUX_BENCH_BINARY] [CLIENT]
#   e.g. bench/instructions.sh c10k target/release/mcpmux-bench mcpmux
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
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
server_args=()
for arg in ${SERVER_ARGS:-}; do server_args+=("--server-arg=$arg"); done
spec="$("$bin" spec --client "$client" --workload "$workload" --run-timeout-s 600 ${server_args[@]+"${server_args[@]}"})"
calls="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["calls"])' "$spec")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

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
