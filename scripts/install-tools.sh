#!/usr/bin/env bash
# Installs the pinned cargo tools the checks need, never into ~/.cargo/bin: each tool version is
# built once into a versioned cache outside the clone ($MCPMUX_TOOLS_CACHE, default
# ${XDG_CACHE_HOME:-~/.cache}/mcpmux-tools/<crate>-<version>), which later clones and CI runs on
# the same machine reuse, and linked into <repo>/.tools/bin (git-ignored), where scripts/test.sh
# runs it from.
# Idempotent: a tool whose cached binary reports the pinned version is only linked.
set -euo pipefail

CARGO_MACHETE_VERSION="0.9.2" # unused-dependency check; builds with Rust 1.95
CARGO_FUZZ_VERSION="0.13.2"   # bounded fuzzing (scripts/fuzz.sh); builds with Rust 1.95

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${MCPMUX_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mcpmux-tools}"
mkdir -p "$ROOT/.tools/bin"

tool() { # <crate> <version> <binary>
    local crate="$1" version="$2" name="$3"
    local root="$CACHE/$crate-$version"
    local bin="$root/bin/$name"
    # `--version` prints the version last ("0.9.2" for cargo-machete, "NAME 1.2.3" for others).
    local got=""
    if [[ -x "$bin" ]]; then got="$("$bin" --version 2>/dev/null | head -n 1 || true)"; fi
    if [[ "${got##* }" == "$version" ]]; then
        echo "tool $crate $version: cached in $root"
    else
        # A target dir of its own (not the workspace's, not $CARGO_TARGET_DIR), removed afterwards.
        local build="$root/build"
        mkdir -p "$root"
        CARGO_TARGET_DIR="$build" cargo install "$crate" --version "=$version" --locked \
            --root "$root" --force --quiet
        rm -rf "$build"
        echo "tool $crate $version: built into $root"
    fi
    ln -sf "$bin" "$ROOT/.tools/bin/$name"
}

# With names: only those tools (e.g. `install-tools.sh cargo-fuzz`); without: all of them.
wanted=("$@")
pick() { [[ ${#wanted[@]} -eq 0 ]] || [[ " ${wanted[*]} " == *" $1 "* ]]; }
if pick cargo-machete; then tool cargo-machete "$CARGO_MACHETE_VERSION" cargo-machete; fi
if pick cargo-fuzz; then tool cargo-fuzz "$CARGO_FUZZ_VERSION" cargo-fuzz; fi
