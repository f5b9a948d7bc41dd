"""The official Python SDK client (`mcp` 2.3.0) as an mcpmux-bench worker.

Run by `mcpmux-bench all` as `.peers/venv/bin/python -u bench/py_client.py SPEC`, where SPEC is
the JSON worker spec of crates/mcpmux-bench/src/spec.rs. Line protocol on stdout/stdin:
`@bench ready`, then per `go` one `@bench result {...}`, until `exit` or end of input.

SDK defaults throughout: `stdio_client` / `streamable_http_client` + `ClientSession`; concurrent
calls are one anyio task each. `list_tools` is called once before the runs so the SDK's
output-schema cache is warm (otherwise N concurrent first calls each send `tools/list`).
"""

import json
import math
import resource
import sys
import time

import anyio
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

PREFIX = "@bench "
MAX_CONTROL_LINES = 100_000


def say(line: str) -> None:
    sys.stdout.write(PREFIX + line + "\n")
    sys.stdout.flush()


def cpu_ns() -> int:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return int((r.ru_utime + r.ru_stime) * 1e9)


def quantile(sorted_values, q):
    """Nearest rank, as the Rust side: sorted[ceil(q*n) - 1]."""
    if not sorted_values:
        return None
    n = len(sorted_values)
    rank = min(max(math.ceil(q * n), 1), n)
    return sorted_values[rank - 1]


def payload(n: int) -> str:
    pattern = "abcdefghijklmnopqrstuvwxyz0123456789"
    return (pattern * (n // len(pattern) + 1))[:n]


def arguments(call) -> dict:
    args = dict(call.get("arguments") or {})
    fill = call.get("fill")
    if fill:
        args[fill["key"]] = payload(int(fill["bytes"]))
    return args


async def run_once(session, spec, args, calls, deadline_s):
    tool = spec["call"]["tool"]
    out = {"ok": 0, "errors": 0, "first_error": None}
    latencies = []

    def fail(msg):
        out["errors"] += 1
        if out["first_error"] is None:
            out["first_error"] = msg

    async def one():
        try:
            r = await session.call_tool(tool, args)
            if r.is_error:
                fail("isError: true")
            else:
                out["ok"] += 1
        except Exception as e:  # noqa: BLE001 - every failure is counted
            fail(f"{type(e).__name__}: {e}")

    start = time.perf_counter_ns()
    with anyio.move_on_after(deadline_s) as scope:
        if spec["mode"] == "sequential":
            for _ in range(calls):
                t = time.perf_counter_ns()
                await one()
                latencies.append(time.perf_counter_ns() - t)
        else:
            async with anyio.create_task_group() as tg:
                for _ in range(calls):
                    tg.start_soon(one)
    wall = time.perf_counter_ns() - start
    if scope.cancelled_caught:
        missing = calls - out["ok"] - out["errors"]
        fail("run timed out")
        out["errors"] += max(missing - 1, 0)
    latencies.sort()
    out["wall_ns"] = wall
    out["p50_ns"] = quantile(latencies, 0.5)
    out["p99_ns"] = quantile(latencies, 0.99)
    return out


async def serve(session, spec):
    await session.initialize()
    await session.list_tools()
    args = arguments(spec["call"])
    timeout_s = spec["run_timeout_ms"] / 1000
    if spec["warmup"] > 0:
        warm = await run_once(session, spec, args, min(spec["warmup"], spec["calls"]), timeout_s)
        if warm["errors"]:
            say("error warm-up: " + str(warm["first_error"]))
            return
    say("ready")
    for _ in range(MAX_CONTROL_LINES):
        line = await anyio.to_thread.run_sync(sys.stdin.readline)
        if not line or line.strip() == "exit":
            break
        if line.strip() != "go":
            continue
        cpu0 = cpu_ns()
        out = await run_once(session, spec, args, spec["calls"], timeout_s)
        out["cpu_ns"] = cpu_ns() - cpu0
        result = {k: v for k, v in out.items() if v is not None}
        say("result " + json.dumps(result))


async def main():
    spec = json.loads(sys.argv[1])
    target = spec["target"]
    if "stdio" in target:
        params = StdioServerParameters(
            command=target["stdio"]["command"], args=target["stdio"].get("args", [])
        )
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as session:
                await serve(session, spec)
    else:
        async with streamable_http_client(target["http"]["url"]) as streams:
            read, write = streams[0], streams[1]
            async with ClientSession(read, write) as session:
                await serve(session, spec)


if __name__ == "__main__":
    try:
        anyio.run(main)
    except Exception as e:  # noqa: BLE001 - reported on the protocol, then exit non-zero
        say(f"error {type(e).__name__}: {e}")
        sys.exit(1)
