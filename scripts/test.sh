#!/usr/bin/env bash
# The whole test suite, as CI runs it: peers, formatting, lints, unused dependencies, packaging,
# tests (incl. interop), doctests, and a compile check of the benchmarks.
# Run from anywhere: `scripts/test.sh`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }

# Incremental compilation only pays off across edits; on a fresh clone it writes gigabytes of
# caches nobody reads again. A developer's own `cargo` commands keep their incremental state.
export CARGO_INCREMENTAL=0

# The free space where the build goes, printed after each step: a run that fills the disk
# should say so where it happens, not as a compiler's I/O error.
disk_free() { df -Pk . | awk 'NR == 2 { printf "%.1f GiB free", $4 / 1048576 }'; }

# cargo-nextest runs each test in a process of its own; the process, descriptor and memory
# checks of the tests rely on that, so there is no fallback to `cargo test`.
NEXTEST_MIN="0.9.100"
NEXTEST_INSTALL="cargo install cargo-nextest --locked"

# require_nextest "$(cargo nextest --version)": fails, saying how to install it, unless that is
# cargo-nextest NEXTEST_MIN or newer.
require_nextest() {
    local out="$1" version
    version="$(sed -n 's/^cargo-nextest \([0-9][0-9]*\.[0-9][0-9]*\.[0-9][0-9]*\).*/\1/p' <<<"$out" | head -n 1)"
    if [[ -z "$version" ]]; then
        echo "cargo-nextest is required (found: ${out:-nothing}); install it: $NEXTEST_INSTALL" >&2
        return 1
    fi
    if [[ "$(printf '%s\n%s\n' "$NEXTEST_MIN" "$version" | sort -V | head -n 1)" != "$NEXTEST_MIN" ]]; then
        echo "cargo-nextest $version is older than $NEXTEST_MIN; update it: $NEXTEST_INSTALL" >&2
        return 1
    fi
}

# --self-test: feeds each check of this script the failure it exists to catch.
if [[ "${1:-}" == "--self-test" ]]; then
    passed=0 failed=0
    expect() { # expect pass|fail DESCRIPTION COMMAND...
        local want="$1" what="$2"; shift 2
        if "$@" 2>/dev/null; then got=pass; else got=fail; fi
        if [[ "$got" == "$want" ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "self-test: $what: expected $want, got $got"; fi
    }
    expect fail "nextest missing" require_nextest ""
    expect fail "nextest unparsable" require_nextest "error: no such command: nextest"
    expect fail "nextest too old" require_nextest "cargo-nextest 0.9.99 (abc 2025-01-01)"
    expect fail "nextest much too old" require_nextest "cargo-nextest 0.8.200"
    expect pass "nextest at the minimum" require_nextest "cargo-nextest $NEXTEST_MIN (abc 2025-06-01)"
    expect pass "nextest newer" require_nextest "cargo-nextest 0.9.143 (60fa45f63 2026-08-04)"
    echo "test.sh self-test: $passed passed, $failed failed"
    [[ $failed -eq 0 ]]
    exit
fi

# Prerequisites: without them nothing else is meaningful, so a failure stops here.
step "this script's own checks (self-test), and cargo-nextest >= $NEXTEST_MIN"
echo "disk: $(disk_free) where the build goes"
bash "${BASH_SOURCE[0]}" --self-test
require_nextest "$(cargo nextest --version 2>/dev/null || true)"

step "installing pinned interop peers into .peers/ and pinned tools (scripts/install-tools.sh)"
bash scripts/install-peers.sh
bash scripts/install-tools.sh

# The checks: each one runs even when an earlier one failed, and counts in the closing line.
passed=0 failed=0 failed_steps=()
run() { # run DESCRIPTION COMMAND...
    local what="$1" start=$SECONDS
    shift
    step "$what"
    if "$@"; then
        passed=$((passed + 1))
        echo "--> ok ($((SECONDS - start)) s; $(disk_free))"
    else
        failed=$((failed + 1))
        failed_steps+=("$what")
        echo "--> FAILED ($((SECONDS - start)) s; $(disk_free)): $what" >&2
    fi
}

layering() { python3 scripts/layers.py --self-test && python3 scripts/layers.py; }
# cargo extracts the crates of its temporary packaging registry under
# $CARGO_HOME/registry/src/-<hash of the registry's path>/ and reuses an extraction that exists:
# a clone at a path packed before (same version) would verify against the old sources. Those
# folders (names starting with `-`; crates.io's do not) hold only such extractions: remove ours.
package() {
    local home="${CARGO_HOME:-$HOME/.cargo}"
    rm -rf "$home"/registry/src/-*/mcpmux-* "$home"/registry/cache/-*/mcpmux-*
    cargo package --workspace --locked --allow-dirty
}
conformance() { bash scripts/conformance.sh --self-test && bash scripts/conformance.sh; }
gateway_conformance() {
    bash scripts/conformance-gateway.sh --self-test && bash scripts/conformance-gateway.sh --jobs 2
}
docs() { RUSTDOCFLAGS="-D warnings" cargo doc --workspace --exclude mcpmux-cli --no-deps --locked; }

run "cargo fmt --check" cargo fmt --all -- --check
run "cargo clippy --all-targets -- -D warnings (this also compiles the benchmarks; they run outside CI)" \
    cargo clippy --workspace --all-targets --locked -- -D warnings
run "layering of the client crate (ARCHITECTURE.md): the checker's self-test, then the check" layering
run "unused dependencies (cargo-machete, pinned, from a versioned cache outside the clone)" \
    .tools/bin/cargo-machete --skip-target-dir
# Verification builds each crate from its .crate file alone, with only its own features, so most
# dependencies compile again (minutes; warm runs reuse them). mcpmux-conformance (publish = false)
# is packed and verified too: cargo package does not refuse it, only cargo publish would.
# --allow-dirty: this checks that the crates pack and build, it is no release.
run "cargo package --workspace (every crate packs and builds from its .crate file alone)" package
run "tests (cargo-nextest: one process per test, so process checks see only their own children)" \
    cargo nextest run --workspace --locked --no-fail-fast
run "MCP conformance suite: the script's self-test, then every client scenario, auth included (strict)" \
    conformance
run "MCP conformance server suites against the gateway (mcpmux serve --http over the Python SDK): self-test, then every scenario" \
    gateway_conformance
run "fuzz: bounded run of the decoder, framer and SSE parser targets (FUZZ_SECONDS each, default 20)" \
    bash scripts/fuzz.sh
run "doctests" cargo test --workspace --locked --doc
run "cargo doc with warnings as errors (the library crates: no broken or private links)" docs

echo
for what in "${failed_steps[@]}"; do echo "failed: $what" >&2; done
echo "steps: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
