#!/usr/bin/env bash
# The whole test suite, as CI runs it: peers, formatting, lints, unused dependencies, packaging,
# tests (incl. interop), doctests, and a compile check of the benchmarks.
# Run from anywhere: `scripts/test.sh`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }

step "installing pinned interop peers into .peers/"
bash scripts/install-peers.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -- -D warnings (this also compiles the benchmarks; they run outside CI)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "unused dependencies (cargo-machete, pinned, installed into .tools/ by scripts/install-tools.sh)"
bash scripts/install-tools.sh
.tools/bin/cargo-machete --skip-target-dir

# Verification builds each crate from its .crate file alone, with only its own features, so most
# dependencies compile again (minutes; warm runs reuse them). mcpmux-conformance (publish = false)
# is packed and verified too: cargo package does not refuse it, only cargo publish would.
# --allow-dirty: this checks that the crates pack and build, it is no release.
step "cargo package --workspace (every crate packs and builds from its .crate file alone)"
cargo package --workspace --locked --allow-dirty

step "tests (cargo-nextest: one process per test, so process checks see only their own children)"
if command -v cargo-nextest >/dev/null 2>&1; then
    cargo nextest run --workspace --locked --no-fail-fast
else
    echo "cargo-nextest not found (install: cargo install cargo-nextest --locked); using cargo test" >&2
    cargo test --workspace --locked --no-fail-fast -- --test-threads=1
fi

step "MCP conformance suite (every non-auth client scenario, strict: no expected failures)"
bash scripts/conformance.sh

step "fuzz: bounded run of the decoder, framer and SSE parser targets (FUZZ_SECONDS each, default 20)"
bash scripts/fuzz.sh

step "doctests"
cargo test --workspace --locked --doc
step "cargo doc with warnings as errors (the library crates: no broken or private links)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --exclude mcpmux-cli --no-deps --locked
