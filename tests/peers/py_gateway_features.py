#!/usr/bin/env python3
"""Interop: the official Python SDK client (`mcp` 2.3.0) uses every forwarded feature of
`mcpmux serve` over stdio: resources, templates, prompts, completion, logging, progress,
sampling and elicitation relayed from an upstream to this client.

    .peers/venv/bin/python tests/peers/py_gateway_features.py MCPMUX CONFIG

The gateway's upstreams (from CONFIG, `--prefix always`): `py` = tests/peers/py_server.py
--features, `ts` = `mcpmux test-server`. Prints one JSON object on stdout with what came back
(the Rust test asserts on it). Any failure raises (non-zero exit, traceback on stderr).
"""

import json
import sys

import anyio
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.types import (
    CreateMessageResult,
    ElicitResult,
    PromptReference,
    ResourceTemplateReference,
    TextContent,
)


async def main(mcpmux: str, config: str) -> None:
    with anyio.fail_after(60):
        await run(mcpmux, config)


async def run(mcpmux: str, config: str) -> None:
    out: dict = {"logs": [], "progress": [], "sampled": [], "elicited": []}

    async def sampling(context, params):
        out["sampled"].append(params.messages[0].content.text)
        return CreateMessageResult(
            role="assistant",
            content=TextContent(type="text", text="short"),
            model="gateway-test-model",
            stop_reason="endTurn",
        )

    async def elicitation(context, params):
        out["elicited"].append(params.message)
        return ElicitResult(action="accept", content={"email": "ann@example.com"})

    async def logging(params):
        out["logs"].append({"level": params.level, "data": params.data})

    async def progress(progress, total, message):
        out["progress"].append(progress)

    params = StdioServerParameters(command=mcpmux, args=["--config", config, "serve", "--startup-wait", "60"])
    async with stdio_client(params) as (read, write):
        async with ClientSession(
            read,
            write,
            sampling_callback=sampling,
            elicitation_callback=elicitation,
            logging_callback=logging,
        ) as session:
            init = await session.initialize()
            caps = init.capabilities
            out["capabilities"] = {
                "resources": caps.resources is not None,
                "prompts": caps.prompts is not None,
                "logging": caps.logging is not None,
                "completions": caps.completions is not None,
            }
            out["resources"] = [str(r.uri) for r in (await session.list_resources()).resources]
            out["templates"] = [
                t.uri_template for t in (await session.list_resource_templates()).resource_templates
            ]
            read_config = await session.read_resource("config://app")
            out["config"] = read_config.contents[0].text
            read_greeting = await session.read_resource("greeting://Ann")
            out["greeting"] = read_greeting.contents[0].text
            try:
                await session.read_resource("nowhere://at-all")
                out["unknown_resource"] = "read"
            except Exception as e:  # the SDK raises McpError
                out["unknown_resource"] = str(e)
            out["prompts"] = [p.name for p in (await session.list_prompts()).prompts]
            prompt = await session.get_prompt("py_review_code", {"language": "rust", "code": "fn main() {}"})
            out["prompt"] = [m.content.text for m in prompt.messages]
            done = await session.complete(PromptReference(type="ref/prompt", name="py_review_code"), {"name": "language", "value": "ru"})
            out["complete_prompt"] = done.completion.values
            done = await session.complete(
                ResourceTemplateReference(type="ref/resource", uri="greeting://{name}"), {"name": "name", "value": "a"}
            )
            out["complete_template"] = done.completion.values
            await session.set_logging_level("debug")
            r = await session.call_tool("py_summarize", {"text": "a long text"})
            out["summarize"] = {"is_error": bool(r.is_error), "text": "".join(getattr(c, "text", "") for c in r.content)}
            r = await session.call_tool("py_signup", {})
            out["signup"] = {"is_error": bool(r.is_error), "structured": r.structured_content}
            r = await session.call_tool("ts_progress", {"steps": 3, "ms": 10}, progress_callback=progress)
            out["progress_call"] = {"is_error": bool(r.is_error)}
            r = await session.call_tool("ts_log", {"level": "warning", "message": "from the test server"})
            out["log_call"] = {"is_error": bool(r.is_error)}
            # Let the log notification that came with the call arrive.
            await anyio.sleep(0.2)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], sys.argv[2])
