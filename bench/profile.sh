#!/usr/bin/env bash
# Profile one Rust client worker on one workload with perf (cpu-clock sampling; this VM has no
# hardware counters), or with callgrind where perf is missing.
#
#   bench/profile.sh CLIENT TRANSPORT WORKLOAD [RUNS]      e.g. bench/profile.sh mcpmux stdio c10k 20
#
# CLIENT: raw | mcpmux | rmcp; TRANSPORT: stdio | http; WORKLOAD: seq | c1k | c10k | sleep10k |
# p10k | p1m. Writes target/mcpmux-bench/profile-CLIENT-TRANSPORT-WORKLOAD.{data,txt} (the report:
# flat self-time, the share per mcpmux component, then inclusive time). Only the worker (client)
# process is sampled, after its warm-up; a stdio server (its child) is not. The HTTP server it
# starts listens on 127.0.0.1 and is stopped and reaped on exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

client="${1:?client}" transport="${2:?transport}" workload="${3:?workload}" runs="${4:-20}"
bin=target/release/mcpmux-bench
cargo build --release -q -p mcpmux-bench
out=target/mcpmux-bench
mkdir -p "$out"
stem="$out/profile-$client-$transport-$workload"

server_pid="" worker_pid="" profiler_pid=""
cleanup() {
    exec 3>&- 2>/dev/null || true
    for pid in $profiler_pid $worker_pid $server_pid; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -f "$stem.port" "$stem.ctl"
}
trap cleanup EXIT

url_args=()
if [[ "$transport" == http ]]; then
    "$bin" test-server --http 127.0.0.1:0 >"$stem.port" 2>/dev/null &
    server_pid=$!
    for _ in $(seq 100); do
        grep -q '^listening on ' "$stem.port" 2>/dev/null && break
        sleep 0.05
    done
    base="$(sed -n 's/^listening on //p' "$stem.port" | head -1)"
    [[ -n "$base" ]] || { echo "the HTTP server did not start" >&2; exit 1; }
    url_args=(--url "$base/mcp")
fi

spec="$("$bin" spec --client "$client" --workload "$workload" "${url_args[@]}")"

# The worker reads its control lines from a fifo; perf attaches once it is ready, so connecting
# and warming up are not in the profile, and only the worker's own threads are sampled.
fifo="$stem.ctl"
rm -f "$fifo"
mkfifo "$fifo"
"$bin" worker "$spec" <"$fifo" >"$stem.out" &
worker_pid=$!
exec 3>"$fifo"
for _ in $(seq 600); do
    grep -q '^@bench \(ready\|error\)' "$stem.out" 2>/dev/null && break
    sleep 0.1
done
grep -q '^@bench ready' "$stem.out" || { cat "$stem.out" >&2; exit 1; }

if perf record -e cpu-clock -o /dev/null -q -- true 2>/dev/null; then
    perf record -e cpu-clock -F 1999 --call-graph dwarf,32768 -p "$worker_pid" -o "$stem.data" -q &
    profiler_pid=$!
    tool=perf
else
    # callgrind cannot attach: fall back to a whole-worker run under callgrind
    tool=callgrind
fi
sleep 0.3
for i in $(seq "$runs"); do
    echo go >&3
    for _ in $(seq 12000); do
        [[ "$(grep -c '^@bench result' "$stem.out")" -ge "$i" ]] && break
        sleep 0.01
    done
done
if [[ "$tool" == perf ]]; then
    kill -INT "$profiler_pid"
    wait "$profiler_pid" || true
    profiler_pid=""
fi
echo exit >&3
exec 3>&-
wait "$worker_pid" || true
worker_pid=""
rm -f "$fifo"

if [[ "$tool" == perf ]]; then
    {
        echo "# perf, cpu-clock, worker (client) process only: $client $transport $workload x$runs"
        grep '^@bench result' "$stem.out"
        perf report -i "$stem.data" --stdio --no-children --sort symbol --percent-limit 0.7 \
            -g none 2>/dev/null
        echo
        echo "# by component (bench/perf_breakdown.py)"
        perf script -i "$stem.data" 2>/dev/null | python3 bench/perf_breakdown.py
        echo
        echo "# inclusive (children)"
        perf report -i "$stem.data" --stdio --children --sort symbol --percent-limit 3 \
            -g none 2>/dev/null
    } >"$stem.txt"
else
    controls() { for _ in $(seq "$runs"); do echo go; done; echo exit; }
    controls | valgrind --tool=callgrind --callgrind-out-file="$stem.data" \
        "$bin" worker "$spec" >/dev/null
    callgrind_annotate "$stem.data" >"$stem.txt"
fi
echo "written: $stem.txt"
