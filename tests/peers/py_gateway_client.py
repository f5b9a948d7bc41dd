#!/usr/bin/env python3
"""Interop: the official Python SDK client (`mcp` 2.3.0) against `mcpmux serve` over stdio.

    .peers/venv/bin/python tests/peers/py_gateway_client.py MCPMUX CONFIG TOOL=JSON_ARGS...

Starts `MCPMUX --config CONFIG serve` as a stdio server with the SDK's own `stdio_client`,
initializes, lists the tools and calls each TOOL with its JSON arguments. Prints one JSON object
on stdout: {"protocol", "server", "tools": [names], "calls": {TOOL: {"is_error", "text",
"structured"}}}. Any failure raises (non-zero exit, traceback on stderr).
"""

import json
import sys

import anyio
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


async def main(mcpmux: str, config: str, calls: list[str]) -> None:
    with anyio.fail_after(60):
        await session_run(mcpmux, config, calls)


async def session_run(mcpmux: str, config: str, calls: list[str]) -> None:
    params = StdioServerParameters(command=mcpmux, args=["--config", config, "serve", "--startup-wait", "60"])
    out = {"calls": {}}
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            out["protocol"] = str(init.protocol_version)
            out["server"] = init.server_info.name
            listed = await session.list_tools()
            out["tools"] = [t.name for t in listed.tools]
            for call in calls:
                name, _, args = call.partition("=")
                r = await session.call_tool(name, json.loads(args or "{}"))
                text = "".join(c.text for c in r.content if getattr(c, "type", "") == "text")
                out["calls"][name] = {
                    "is_error": bool(r.is_error),
                    "text": text,
                    "structured": r.structured_content,
                }
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], sys.argv[2], sys.argv[3:])
