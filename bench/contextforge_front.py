"""IBM ContextForge in front of a stdio MCP server, for `mcpmux-bench gateways`.

    contextforge_front.py --state DIR -- COMMAND [ARGS...]

Run with the Python of ContextForge's own venv (scripts/install-gateways.sh). It starts, as its
children (in its process group):

1. `python -m mcpgateway.translate --stdio COMMAND --expose-streamable-http`: ContextForge's
   stdio bridge, the documented way to register a stdio server;
2. `mcpgateway` (uvicorn, one worker) with an SQLite database in DIR, memory cache, auth on;

then, through the REST API with an admin JWT, registers the bridge as a gateway and makes a
virtual server of its tools. It writes the token to DIR/token, prints
`listening on http://127.0.0.1:PORT/servers/ID/mcp` and waits; on SIGTERM/SIGINT it stops both
children. Any failure is printed as `contextforge: ...` on stderr with the exit status 1.
"""

import argparse
import json
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

ADMIN = "admin@example.com"
START_TIMEOUT_S = 80


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fail(msg):
    print(f"contextforge: {msg}", file=sys.stderr, flush=True)
    raise SystemExit(1)


def request(method, url, token, body=None, timeout=30):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            text = resp.read().decode()
            return json.loads(text) if text else None
    except urllib.error.HTTPError as e:
        fail(f"{method} {url}: HTTP {e.code}: {e.read().decode(errors='replace')[:600]}")


def wait_http(url, deadline, procs):
    while True:
        for name, p in procs:
            if p.poll() is not None:
                fail(f"{name} exited with {p.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers (e.g. 401/404/406): listening
        except OSError:
            pass
        if time.monotonic() > deadline:
            fail(f"{url} did not answer in {START_TIMEOUT_S} s")
        time.sleep(0.2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--state", required=True, help="a folder for the database and the token")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    command = [c for c in args.command if c != "--"] if args.command[:1] == ["--"] else args.command
    if not command:
        fail("no upstream command")
    os.makedirs(args.state, exist_ok=True)
    bin_dir = os.path.dirname(sys.executable)
    bridge_port, gw_port = free_port(), free_port()
    secret = secrets.token_hex(32)
    env = dict(os.environ)
    env.update(
        {
            "HOST": "127.0.0.1",
            "PORT": str(gw_port),
            "DATABASE_URL": "sqlite:///" + os.path.join(os.path.abspath(args.state), "cf.db"),
            "JWT_SECRET_KEY": secret,
            "AUTH_ENCRYPTION_SECRET": secrets.token_hex(32),
            "BASIC_AUTH_PASSWORD": secrets.token_hex(16),
            "PLATFORM_ADMIN_EMAIL": ADMIN,
            "PLATFORM_ADMIN_PASSWORD": secrets.token_hex(16) + "Aa1!",
            "CACHE_TYPE": "memory",
            "MCPGATEWAY_UI_ENABLED": "false",
            "MCPGATEWAY_ADMIN_API_ENABLED": "false",
            "SSRF_ALLOW_LOCALHOST": "true",
            "LOG_LEVEL": "WARNING",
            "OBSERVABILITY_ENABLED": "false",
            "PLUGINS_ENABLED": "false",
            # Its defaults cap MCP calls at 100 a minute per client: off, to measure throughput.
            "RATE_LIMITING_ENABLED": "false",
        }
    )
    procs = []

    def stop(*_):
        for _, p in procs:
            if p.poll() is None:
                p.terminate()
        for _, p in procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        bridge = subprocess.Popen(
            [sys.executable, "-m", "mcpgateway.translate", "--stdio", shlex.join(command)]
            + ["--expose-streamable-http", "--host", "127.0.0.1", "--port", str(bridge_port)]
            + ["--logLevel", "warning"],
            env=env,
        )
        procs.append(("mcpgateway.translate", bridge))
        gateway = subprocess.Popen(
            [os.path.join(bin_dir, "mcpgateway"), "--host", "127.0.0.1", "--port", str(gw_port)]
            + ["--log-level", "warning"],
            env=env,
        )
        procs.append(("mcpgateway", gateway))
        deadline = time.monotonic() + START_TIMEOUT_S
        base = f"http://127.0.0.1:{gw_port}"
        wait_http(f"http://127.0.0.1:{bridge_port}/healthz", deadline, procs)
        wait_http(f"{base}/health", deadline, procs)
        token = subprocess.run(
            [sys.executable, "-m", "mcpgateway.utils.create_jwt_token"]
            + ["--username", ADMIN, "--exp", "600", "--secret", secret, "--admin"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip().splitlines()[-1]
        gw = request(
            "POST",
            f"{base}/gateways",
            token,
            {
                "name": "bench",
                "url": f"http://127.0.0.1:{bridge_port}/mcp",
                "transport": "STREAMABLEHTTP",
                "visibility": "public",
            },
        )
        gw_id = gw.get("id") if isinstance(gw, dict) else None
        # Registration may finish in the background (202): wait for the tools to appear.
        while True:
            tools = request("GET", f"{base}/tools?limit=0", token)
            if isinstance(tools, dict):
                tools = tools.get("items") or tools.get("tools") or []
            ids = [
                t["id"]
                for t in tools
                if gw_id is None or t.get("gatewayId", t.get("gateway_id")) == gw_id
            ]
            if ids:
                break
            if time.monotonic() > deadline:
                fail(f"the gateway registered no tools: {json.dumps(gw)[:400]} {json.dumps(tools)[:400]}")
            time.sleep(0.3)
        server = request(
            "POST",
            f"{base}/servers",
            token,
            {"server": {"name": "bench", "associated_tools": ids}, "visibility": "public"},
        )
        server_id = server.get("id") if isinstance(server, dict) else None
        if not server_id:
            fail(f"no virtual server id in {json.dumps(server)[:600]}")
        with open(os.path.join(args.state, "token"), "w") as f:
            f.write(token)
        print(f"listening on {base}/servers/{server_id}/mcp", flush=True)
        while True:
            for name, p in procs:
                if p.poll() is not None:
                    fail(f"{name} exited with {p.returncode}")
            time.sleep(0.5)
    except subprocess.CalledProcessError as e:
        print(f"contextforge: {e.cmd}: {e.stderr}", file=sys.stderr, flush=True)
        stop()
    except SystemExit:
        for _, p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        raise


if __name__ == "__main__":
    main()
