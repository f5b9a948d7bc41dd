#!/usr/bin/env python3
"""Third-party MCP peer for interop tests, built on the official Python SDK (`mcp` 2.3.0).

Run it with the venv made by scripts/install-peers.sh:

    .peers/venv/bin/python tests/peers/py_server.py [stdio]
    .peers/venv/bin/python tests/peers/py_server.py sse --port N
    .peers/venv/bin/python tests/peers/py_server.py http --port N [--json-response] [--stateless]

HTTP modes bind 127.0.0.1 only. `--port 0` picks a free port. Once the socket listens, one line
goes to stderr: `py_server: listening on http://127.0.0.1:PORT/sse` (or `/mcp`); requests that
arrive earlier wait in the listen backlog. Endpoints: SSE `GET /sse` + `POST /messages/?session_id=`,
Streamable HTTP `/mcp`. In stdio mode nothing but protocol messages is written to stdout; the SDK's
logs go to stderr (level WARNING unless --log-level says otherwise).

Tools: echo(text) -> text; add(a, b) -> a + b (structured: {"result": sum}); sleep(ms) -> "slept {ms} ms".
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys

from mcp.server.mcpserver import MCPServer

HOST = "127.0.0.1"
LOG_LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


def build_server(log_level: str) -> MCPServer:
    server = MCPServer("py-peer", version="1.0.0", log_level=log_level)  # type: ignore[arg-type]

    # async tools run on the event loop; plain functions would run in worker threads.
    @server.tool()
    async def echo(text: str) -> str:
        """Return the text unchanged."""
        return text

    @server.tool()
    async def add(a: float, b: float) -> float:
        """Return a + b."""
        return a + b

    @server.tool()
    async def sleep(ms: int) -> str:
        """Wait ms milliseconds, then answer."""
        await asyncio.sleep(ms / 1000)
        return f"slept {ms} ms"

    return server


def serve_http(app, port: int, path: str, log_level: str) -> None:
    import uvicorn

    # Bind ourselves so that --port 0 works and the real port can be announced.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, port))
    sock.listen(128)
    sock.setblocking(False)
    real_port = sock.getsockname()[1]
    print(f"py_server: listening on http://{HOST}:{real_port}{path}", file=sys.stderr, flush=True)

    config = uvicorn.Config(
        app,
        log_level=log_level.lower(),
        access_log=False,
        timeout_graceful_shutdown=1,
        lifespan="on",
    )
    uvicorn.Server(config).run(sockets=[sock])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("transport", nargs="?", default="stdio", choices=["stdio", "sse", "http"])
    parser.add_argument("--port", type=int, default=None, help="HTTP port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--json-response", action="store_true", help="http: answer POSTs with JSON, not SSE")
    parser.add_argument("--stateless", action="store_true", help="http: no sessions (Mcp-Session-Id)")
    parser.add_argument("--log-level", default="WARNING", choices=LOG_LEVELS, type=str.upper)
    args = parser.parse_args()

    if args.transport == "stdio":
        if args.port is not None or args.json_response or args.stateless:
            parser.error("--port/--json-response/--stateless need an HTTP transport")
    elif args.port is None:
        parser.error(f"{args.transport} needs --port N")
    if args.transport == "sse" and (args.json_response or args.stateless):
        parser.error("--json-response/--stateless apply to http only")

    server = build_server(args.log_level)
    if args.transport == "stdio":
        server.run("stdio")
    elif args.transport == "sse":
        serve_http(server.sse_app(host=HOST), args.port, "/sse", args.log_level)
    else:
        app = server.streamable_http_app(
            host=HOST, json_response=args.json_response, stateless_http=args.stateless
        )
        serve_http(app, args.port, "/mcp", args.log_level)


if __name__ == "__main__":
    main()
