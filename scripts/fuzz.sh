#!/usr/bin/env bash
# Bounded fuzzing of the parsers that see peer input: the JSON-RPC decoder (`decode`), the
# newline framer (`framer`) and the SSE parser (`sse`), with cargo-fuzz (libFuzzer).
#
#   scripts/fuzz.sh                  # every target, 20 s each
#   FUZZ_SECONDS=600 scripts/fuzz.sh sse   # one target, longer
#
# For each target: replays the saved crash regressions in fuzz/regressions/<target>/ (if any),
# then fuzzes for FUZZ_SECONDS (default 20) starting from, and adding to, the corpus in
# fuzz/corpus/<target>/ (git-ignored). A crash stops the script with the input's path under
# fuzz/artifacts/<target>/: fix the bug, then copy the input to fuzz/regressions/<target>/
# (committed) so every later run replays it. Prints the executions per target at the end.
#
# Needs a Rust toolchain; RUSTC_BOOTSTRAP=1 lets the stable compiler take the nightly-only
# sanitizer flags cargo-fuzz passes. Uses the pinned cargo-fuzz that scripts/install-tools.sh
# builds once into a versioned cache outside the clone (never into ~/.cargo/bin).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

FUZZ_SECONDS="${FUZZ_SECONDS:-20}"
if ! [[ "$FUZZ_SECONDS" =~ ^[1-9][0-9]*$ ]]; then
    echo "FUZZ_SECONDS must be a positive number of seconds, not '$FUZZ_SECONDS'" >&2
    exit 2
fi
ALL_TARGETS=(decode framer sse)
if [ "$#" -gt 0 ]; then TARGETS=("$@"); else TARGETS=("${ALL_TARGETS[@]}"); fi
for t in "${TARGETS[@]}"; do
    case " ${ALL_TARGETS[*]} " in
        *" $t "*) ;;
        *) echo "unknown fuzz target '$t' (known: ${ALL_TARGETS[*]})" >&2; exit 2 ;;
    esac
done

bash scripts/install-tools.sh cargo-fuzz
export PATH="$PWD/.tools/bin:$PATH" # `cargo fuzz` runs the pinned cargo-fuzz
export RUSTC_BOOTSTRAP=1

echo "==> building fuzz targets: ${TARGETS[*]}"
for t in "${TARGETS[@]}"; do
    cargo fuzz build "$t"
done

declare -A EXECS
for t in "${TARGETS[@]}"; do
    corpus="fuzz/corpus/$t"
    regressions="fuzz/regressions/$t"
    mkdir -p "$corpus" "fuzz/artifacts/$t"
    if [ -d "$regressions" ] && [ -n "$(ls -A "$regressions" 2>/dev/null)" ]; then
        n=$(find "$regressions" -type f | wc -l)
        echo "==> $t: replaying $n saved regression input(s)"
        # Files (not a directory) as arguments: libFuzzer runs each once and exits.
        find "$regressions" -type f -print0 | xargs -0 cargo fuzz run "$t"
    fi
    echo "==> $t: fuzzing for ${FUZZ_SECONDS}s (corpus: $corpus)"
    log=$(mktemp)
    # The time limit is libFuzzer's own; `timeout` is only a backstop if it never stops.
    if ! timeout --kill-after=30 "$((FUZZ_SECONDS + 120))" \
        cargo fuzz run "$t" "$corpus" -- \
        -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
        >"$log" 2>&1; then
        tail -n 60 "$log" >&2
        echo "!! $t: the fuzzer found a failure; the input is in fuzz/artifacts/$t/." >&2
        echo "!! Fix it, then keep the input: cp fuzz/artifacts/$t/<file> $regressions/" >&2
        rm -f "$log"
        exit 1
    fi
    EXECS[$t]=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(grep -E '^#[0-9]+.*(DONE|pulse|NEW)' "$log" | tail -n 1 || true)
    echo "    ${EXECS[$t]:-?} executions; $cov"
    rm -f "$log"
done

echo
echo "fuzzing finished (${FUZZ_SECONDS}s per target):"
for t in "${TARGETS[@]}"; do
    printf '  %-7s %12s executions, corpus %s inputs\n' "$t" "${EXECS[$t]:-?}" \
        "$(find "fuzz/corpus/$t" -type f | wc -l)"
done
