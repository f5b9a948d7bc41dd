#!/usr/bin/env bash
# Soak test (outside CI): >= 1,000,000 calls through one stdio connection on release builds;
# reports the client's RSS after a 10,000-call warm-up and at the end, and fails unless the end
# is within 10 % of the warm-up ("flat"). See crates/mcpmux/examples/soak.rs.
#
#   scripts/soak.sh                    # 1,000,000 calls, 64 concurrent callers
#   scripts/soak.sh 5000000 256        # CALLS, CONCURRENCY
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

CALLS="${1:-1000000}"
CONCURRENCY="${2:-64}"

echo "==> building (release): mcpmux-test-server, the soak example"
cargo build --release --locked -p mcpmux-test-server --bin mcpmux-test-server
cargo build --release --locked -p mcpmux --example soak

echo "==> soak: $CALLS calls, $CONCURRENCY concurrent, one stdio connection"
echo "    machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
exec target/release/examples/soak target/release/mcpmux-test-server "$CALLS" "$CONCURRENCY"
