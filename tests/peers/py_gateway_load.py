#!/usr/bin/env python3
"""Interop load: the official Python SDK client (`mcp` 2.3.0) against `mcpmux serve --http`.

    .peers/venv/bin/python tests/peers/py_gateway_load.py SPEC

SPEC is the JSON of tests/peers/ts_gateway_client.mjs, Streamable HTTP only:
{"http": URL, "load": {"tag", "count" or "until_ms", "concurrency", "tools": [{"name", "key",
"expect_prefix"}]}}. Load call i goes to tools[i % len] with {KEY: "TAG-i"}; it is correct when
its text is PREFIX + "TAG-i" and it is not an error. Prints one JSON object on stdout:
{"server", "tools": [names], "load": {"ok", "wrong", "tool_errors", "exceptions", "records":
[[tool, start_ms, end_ms, "ok"|"wrong"|"tool_error"|"exception", text]]}}. A failure outside
the load raises (non-zero exit, traceback on stderr).
"""

import json
import sys
import time

import anyio
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

KINDS = {"ok": "ok", "wrong": "wrong", "tool_error": "tool_errors", "exception": "exceptions"}


def now_ms() -> int:
    return int(time.time() * 1000)


async def main(spec: dict) -> None:
    with anyio.fail_after(120):
        await session_run(spec)


async def run_load(session: ClientSession, load: dict) -> dict:
    out = {"ok": 0, "wrong": 0, "tool_errors": 0, "exceptions": 0, "records": []}
    count = load.get("count", sys.maxsize)
    until = load.get("until_ms")
    tools = load["tools"]
    state = {"next": 0}

    async def worker() -> None:
        while True:
            if state["next"] >= count or (until is not None and now_ms() >= until):
                return
            i = state["next"]
            state["next"] += 1
            tool = tools[i % len(tools)]
            text = f"{load['tag']}-{i}"
            start = now_ms()
            try:
                r = await session.call_tool(tool["name"], {tool["key"]: text})
                got = "".join(c.text for c in r.content if getattr(c, "type", "") == "text")
                if r.is_error:
                    status = "tool_error"
                elif got == tool.get("expect_prefix", "") + text:
                    status = "ok"
                else:
                    status = "wrong"
            except Exception as e:  # noqa: BLE001 - every failure is recorded
                status, got = "exception", repr(e)
            out[KINDS[status]] += 1
            out["records"].append([tool["name"], start, now_ms(), status, got])

    async with anyio.create_task_group() as tg:
        for _ in range(load.get("concurrency", 1)):
            tg.start_soon(worker)
    return out


async def session_run(spec: dict) -> None:
    out = {}
    async with create_mcp_http_client() as http:
        async with streamable_http_client(spec["http"], http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                init = await session.initialize()
                out["server"] = init.server_info.name
                listed = await session.list_tools()
                out["tools"] = [t.name for t in listed.tools]
                out["load"] = await run_load(session, spec["load"])
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    anyio.run(main, json.loads(sys.argv[1]))
