#!/usr/bin/env bash
# The whole test suite, as CI runs it: peers, formatting, lints, tests (incl. interop), doctests,
# and a compile check of the benchmarks. Run from anywhere: `scripts/test.sh`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }

step "installing pinned interop peers into .peers/"
bash scripts/install-peers.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -- -D warnings (this also compiles the benchmarks; they run outside CI)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "layering of the client crate (ARCHITECTURE.md): the checker's self-test, then the check"
python3 scripts/layers.py --self-test
python3 scripts/layers.py

step "tests (cargo-nextest: one process per test, so process checks see only their own children)"
if command -v cargo-nextest >/dev/null 2>&1; then
    cargo nextest run --workspace --locked --no-fail-fast
else
    echo "cargo-nextest not found (install: cargo install cargo-nextest --locked); using cargo test" >&2
    cargo test --workspace --locked --no-fail-fast -- --test-threads=1
fi

step "MCP conformance suite (every non-auth client scenario, strict: no expected failures)"
bash scripts/conformance.sh --self-test
bash scripts/conformance.sh

step "fuzz: bounded run of the decoder, framer and SSE parser targets (FUZZ_SECONDS each, default 20)"
bash scripts/fuzz.sh

step "doctests"
cargo test --workspace --locked --doc
step "cargo doc with warnings as errors (the library crates: no broken or private links)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --exclude mcpmux-cli --no-deps --locked
