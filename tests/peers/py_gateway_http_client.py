#!/usr/bin/env python3
"""Interop: the official Python SDK client (`mcp` 2.3.0) against `mcpmux serve --http`.

    .peers/venv/bin/python tests/peers/py_gateway_http_client.py URL TOKEN TOOL=JSON_ARGS...

Connects to the gateway's Streamable HTTP endpoint URL with the SDK's own
`streamable_http_client` (TOKEN, if not empty, sent as `Authorization: Bearer TOKEN`),
initializes, lists the tools, calls each TOOL with its JSON arguments, then closes (the SDK
DELETEs the session). Prints one JSON object on stdout: {"protocol", "server",
"tools": [names], "calls": {TOOL: {"is_error", "text", "structured"}}}. Any failure raises
(non-zero exit, traceback on stderr).
"""

import json
import sys

import anyio
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


async def main(url: str, token: str, calls: list[str]) -> None:
    with anyio.fail_after(60):
        await session_run(url, token, calls)


async def session_run(url: str, token: str, calls: list[str]) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else None
    out = {"calls": {}}
    async with create_mcp_http_client(headers=headers) as http:
        async with streamable_http_client(url, http_client=http) as (read, write):
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
