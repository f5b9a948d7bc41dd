#!/usr/bin/env bash
# Install the pinned cargo tools the checks need into <repo>/.tools (git-ignored), never into
# ~/.cargo/bin: scripts/test.sh runs them from .tools/bin.
# Idempotent: a tool whose installed binary reports the pinned version is skipped.
set -euo pipefail

CARGO_MACHETE_VERSION="0.9.2" # unused-dependency check; builds with Rust 1.95

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
mkdir -p "$TOOLS"

tool() { # <crate> <version> <binary>
    local crate="$1" version="$2" bin="$TOOLS/bin/$3"
    # `--version` prints the version last ("0.9.2" for cargo-machete, "NAME 1.2.3" for others).
    local got=""
    if [[ -x "$bin" ]]; then got="$("$bin" --version 2>/dev/null | head -n 1 || true)"; fi
    if [[ "${got##* }" == "$version" ]]; then
        echo "tool $crate $version: already present"
        return
    fi
    # A target dir of its own (not the workspace's, not $CARGO_TARGET_DIR), removed afterwards.
    local build="$TOOLS/build-$crate"
    CARGO_TARGET_DIR="$build" cargo install "$crate" --version "=$version" --locked \
        --root "$TOOLS" --force --quiet
    rm -rf "$build"
    echo "tool $crate $version: installed in .tools/bin"
}

tool cargo-machete "$CARGO_MACHETE_VERSION" cargo-machete
