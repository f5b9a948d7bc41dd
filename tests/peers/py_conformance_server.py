#!/usr/bin/env python3
"""The MCP conformance suite's server fixture, built on the official Python SDK (`mcp` 2.3.0).

The gateway's conformance run fronts this server: `mcpmux serve` runs it as an upstream over stdio
and the official conformance *server* suite talks to the gateway. To know that a failure there is
the gateway's, this server passes the suite on its own (scripts/conformance-server-direct.sh).

    .peers/venv/bin/python tests/peers/py_conformance_server.py [stdio] [--no-skills] [--no-tasks]
    .peers/venv/bin/python tests/peers/py_conformance_server.py http --port N [--json-response] [--stateless]

HTTP binds 127.0.0.1 only, endpoint `/mcp`; `--port 0` picks a free port. Once the socket listens,
one line goes to stderr: `py_conformance_server: listening on http://127.0.0.1:PORT/mcp`. HTTP
mode keeps every SSE event in memory (MemoryEventStore) so that streams can be resumed. On stdio
nothing but protocol messages goes to stdout; logs go to stderr.

What it offers is what the scenarios' "Server Implementation Requirements" name (conformance
0.1.16 and 0.2.0-alpha.12, src/scenarios/server/*.ts):
- tools: test_simple_text, test_image_content, test_audio_content, test_embedded_resource,
  test_multiple_content_types, test_tool_with_logging, test_tool_with_progress, test_error_handling,
  test_sampling(prompt), test_elicitation(message), test_elicitation_sep1034_defaults,
  test_elicitation_sep1330_enums, json_schema_2020_12_tool, test_reconnection;
- resources: test://static-text, test://static-binary, test://watched-resource, the template
  test://template/{id}/data; resources/subscribe and resources/unsubscribe (up to 2025-11-25);
  an unknown URI answers -32602 with the URI in `data` (SEP-2164, the SDK's own behaviour);
- prompts: test_simple_prompt, test_prompt_with_arguments(arg1, arg2),
  test_prompt_with_embedded_resource(resourceUri), test_prompt_with_image;
- completion/complete (arg1 of test_prompt_with_arguments, id of the template), logging/setLevel
  (filters this session's later log notifications), ping;
- 2026-07-28 multi-round-trip (SEP-2322): the test_input_required_result_* tools and the prompt
  test_input_required_result_prompt answer `input_required`; requestState is sealed by the SDK
  (AES-GCM), so a tampered one is refused with -32602 before the tool runs;
- 2026-07-28 diagnostics: test_missing_capability, test_streaming_elicitation, test_logging_tool,
  test_trigger_tool_change, test_trigger_prompt_change (server-stateless), test_custom_header
  (an `x-mcp-header` argument, http-custom-header-server-validation);
- extensions, on the SDK's extension seam (mcp/server/extension.py; the SDK implements neither):
  SEP-2640 skills (one skill, skill://greeting-cards: skills/list, skills/get,
  resources/directory/read; `--no-skills` leaves it out) and SEP-2663 tasks (the tools greet,
  slow_compute, failing_job, protocol_error_job, confirm_delete, multi_input, test_tool_with_task;
  tasks/get, tasks/update, tasks/cancel; `--no-tasks` leaves it out).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import socket
import sys
import uuid
import warnings
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Annotated, Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.extension import Extension, MethodBinding, ResourceBinding
from mcp.server.lowlevel import NotificationOptions
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.prompts.base import Prompt, UserMessage
from mcp.server.mcpserver.resources import TextResource
from mcp.server.streamable_http import EventCallback, EventId, EventMessage, EventStore, StreamId
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError
from mcp_types import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    AudioContent,
    CallToolRequestParams,
    CallToolResult,
    ClientCapabilities,
    Completion,
    CompletionArgument,
    CompletionContext,
    CreateMessageRequest,
    CreateMessageRequestParams,
    CreateMessageResult,
    ElicitRequest,
    ElicitRequestFormParams,
    ElicitResult,
    EmbeddedResource,
    EmptyResult,
    ImageContent,
    InputRequiredResult,
    JSONRPCMessage,
    ListRootsRequest,
    ListRootsResult,
    MissingRequiredClientCapabilityErrorData,
    PaginatedRequestParams,
    PromptReference,
    RequestParams,
    ResourceTemplateReference,
    SamplingCapability,
    SamplingMessage,
    SetLevelRequestParams,
    SubscribeRequestParams,
    TextContent,
    TextResourceContents,
    UnsubscribeRequestParams,
)
from mcp_types.jsonrpc import HEADER_MISMATCH, MISSING_REQUIRED_CLIENT_CAPABILITY
from mcp_types.version import is_version_at_least
from pydantic import Field

# Sampling, logging and the in-call elicitation path are deprecated in 2026-07-28; the suite tests them.
warnings.filterwarnings("ignore", category=MCPDeprecationWarning)

HOST = "127.0.0.1"
LOG_LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
MODERN_VERSION = "2026-07-28"
SSE_RETRY_MS = 500  # `retry` of the SSE priming event: how soon a client reconnects to a closed stream

# A 1x1 red PNG and a 1-sample 8 kHz mono 8-bit WAV.
RED_PIXEL_PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)
TINY_WAV = base64.b64encode(
    b"RIFF" + (37).to_bytes(4, "little") + b"WAVEfmt " + (16).to_bytes(4, "little")
    + (1).to_bytes(2, "little") + (1).to_bytes(2, "little") + (8000).to_bytes(4, "little")
    + (8000).to_bytes(4, "little") + (1).to_bytes(2, "little") + (8).to_bytes(2, "little")
    + b"data" + (1).to_bytes(4, "little") + b"\x80"
).decode()

# RFC 5424 severities, as MCP orders them.
SEVERITY = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]

JSON_SCHEMA_2020_12: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "$defs": {
        "address": {
            "$anchor": "addressDef",
            "type": "object",
            "properties": {"street": {"type": "string"}, "city": {"type": "string"}},
        }
    },
    "properties": {
        "name": {"type": "string"},
        "address": {"$ref": "#/$defs/address"},
        "contactMethod": {"type": "string", "enum": ["phone", "email"]},
        "phone": {"type": "string"},
        "email": {"type": "string"},
    },
    "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
    "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
    "then": {"required": ["phone"]},
    "else": {"required": ["email"]},
    "additionalProperties": False,
}

ELICITATION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "username": {"type": "string", "description": "User's response"},
        "email": {"type": "string", "description": "User's email address"},
    },
    "required": ["username", "email"],
}

SEP1034_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "description": "User name", "default": "John Doe"},
        "age": {"type": "integer", "description": "User age", "default": 30},
        "score": {"type": "number", "description": "User score", "default": 95.5},
        "status": {
            "type": "string",
            "description": "User status",
            "enum": ["active", "inactive", "pending"],
            "default": "active",
        },
        "verified": {"type": "boolean", "description": "Verification status", "default": True},
    },
    "required": [],
}

SEP1330_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "untitledSingle": {
            "type": "string",
            "description": "Untitled single-select",
            "enum": ["option1", "option2", "option3"],
        },
        "titledSingle": {
            "type": "string",
            "description": "Titled single-select",
            "oneOf": [
                {"const": "value1", "title": "First Option"},
                {"const": "value2", "title": "Second Option"},
                {"const": "value3", "title": "Third Option"},
            ],
        },
        "legacyEnum": {
            "type": "string",
            "description": "Legacy titled enum (enumNames)",
            "enum": ["opt1", "opt2", "opt3"],
            "enumNames": ["Option One", "Option Two", "Option Three"],
        },
        "untitledMulti": {
            "type": "array",
            "description": "Untitled multi-select",
            "items": {"type": "string", "enum": ["option1", "option2", "option3"]},
        },
        "titledMulti": {
            "type": "array",
            "description": "Titled multi-select",
            "items": {
                "anyOf": [
                    {"const": "value1", "title": "First Choice"},
                    {"const": "value2", "title": "Second Choice"},
                    {"const": "value3", "title": "Third Choice"},
                ]
            },
        },
    },
    "required": [],
}

# SEP-2243: a 2026-07-28 client mirrors this argument into the HTTP header `Mcp-Param-Region`.
REGION_PARAM = Field(
    description="Mirrored in the Mcp-Param-Region header", json_schema_extra={"x-mcp-header": "Region"}
)

COMPLETIONS = {
    ("test_prompt_with_arguments", "arg1"): ["paris", "park", "party", "pasta", "patio"],
    ("test_prompt_with_arguments", "arg2"): ["world", "wonder", "work"],
    ("test://template/{id}/data", "id"): ["1", "2", "3", "42", "123"],
}


def _text(text: str) -> TextContent:
    return TextContent(type="text", text=text)


def _modern(ctx: Context) -> bool:
    version = ctx.protocol_version
    return version is not None and is_version_at_least(version, MODERN_VERSION)


def _form(message: str, properties: dict[str, Any], required: list[str]) -> ElicitRequest:
    schema = {"type": "object", "properties": properties, "required": required}
    return ElicitRequest(params=ElicitRequestFormParams(message=message, requested_schema=schema))


def _sample(text: str, max_tokens: int) -> CreateMessageRequest:
    message = SamplingMessage(role="user", content=_text(text))
    return CreateMessageRequest(params=CreateMessageRequestParams(messages=[message], max_tokens=max_tokens))


def _sampled_text(answer: Any) -> str:
    content = getattr(answer, "content", None)
    blocks = content if isinstance(content, list) else [content]
    return " ".join(b.text for b in blocks if isinstance(b, TextContent))


def _accepted(answer: Any, field: str) -> str | None:
    """The accepted form value `field` of an elicitation answer, if there is one."""
    if isinstance(answer, ElicitResult) and answer.action == "accept" and answer.content:
        value = answer.content.get(field)
        return None if value is None else str(value)
    return None


def _connection_key(session: Any) -> int:
    """One key per client connection. The SDK builds a ServerSession per request, over the connection's
    `Connection` (private), which is what lives as long as the client's session does."""
    return id(getattr(session, "_connection", session))


class Sessions:
    """Per-connection state: the log level set by logging/setLevel and the subscribed URIs.

    Up to 2025-11-25 the SDK sends every log level and leaves filtering to the application's
    logging/setLevel handler (mcp/server/connection.py, allowed_log_levels); on 2026-07-28 the
    request's `_meta` log level gates it and logging/setLevel is gone. This is a test server, so
    entries are never reclaimed.
    """

    def __init__(self) -> None:
        self.levels: dict[int, str] = {}
        self.subscriptions: dict[int, set[str]] = {}

    def should_log(self, session: Any, level: str) -> bool:
        floor = self.levels.get(_connection_key(session), "debug")
        return SEVERITY.index(level) >= SEVERITY.index(floor)


def build_server(log_level: str, skills: bool = True, tasks: bool = True) -> MCPServer:
    extensions: list[Extension] = []
    if skills:
        extensions.append(SkillsExtension())
    if tasks:
        extensions.append(TasksExtension())
    server = MCPServer(
        "py-conformance-server",
        version="1.0.0",
        instructions="The MCP conformance suite's server fixture (Python SDK).",
        log_level=log_level,  # type: ignore[arg-type]
        extensions=extensions,
    )
    if tasks:
        add_task_tools(server)
    sessions = Sessions()
    add_tools(server, sessions)
    add_resources(server, sessions)
    add_prompts(server)
    add_completion(server)
    add_input_required(server)
    add_stateless_diagnostics(server, sessions)
    return server


async def _log(ctx: Context, sessions: Sessions, level: str, text: str) -> None:
    if sessions.should_log(ctx.session, level):
        await ctx.log(level, text, logger_name="conformance")  # type: ignore[arg-type]


def add_tools(server: MCPServer, sessions: Sessions) -> None:
    @server.tool()
    async def test_simple_text() -> CallToolResult:
        """Returns a simple text response."""
        return CallToolResult(content=[_text("This is a simple text response for testing.")])

    @server.tool()
    async def test_image_content() -> CallToolResult:
        """Returns an image (a 1x1 red PNG)."""
        return CallToolResult(content=[ImageContent(type="image", data=RED_PIXEL_PNG, mime_type="image/png")])

    @server.tool()
    async def test_audio_content() -> CallToolResult:
        """Returns audio (a minimal WAV)."""
        return CallToolResult(content=[AudioContent(type="audio", data=TINY_WAV, mime_type="audio/wav")])

    @server.tool()
    async def test_embedded_resource() -> CallToolResult:
        """Returns an embedded text resource."""
        resource = TextResourceContents(
            uri="test://embedded-resource", mime_type="text/plain", text="This is an embedded resource content."
        )
        return CallToolResult(content=[EmbeddedResource(type="resource", resource=resource)])

    @server.tool()
    async def test_multiple_content_types() -> CallToolResult:
        """Returns text, an image and an embedded resource."""
        resource = TextResourceContents(
            uri="test://mixed-content-resource",
            mime_type="application/json",
            text=json.dumps({"test": "data", "value": 123}, separators=(",", ":")),
        )
        return CallToolResult(
            content=[
                _text("Multiple content types test:"),
                ImageContent(type="image", data=RED_PIXEL_PNG, mime_type="image/png"),
                EmbeddedResource(type="resource", resource=resource),
            ]
        )

    @server.tool()
    async def test_tool_with_logging(ctx: Context) -> CallToolResult:
        """Sends three info log notifications while it runs."""
        await _log(ctx, sessions, "info", "Tool execution started")
        await asyncio.sleep(0.05)
        await _log(ctx, sessions, "info", "Tool processing data")
        await asyncio.sleep(0.05)
        await _log(ctx, sessions, "info", "Tool execution completed")
        return CallToolResult(content=[_text("Tool with logging executed successfully")])

    @server.tool()
    async def test_tool_with_progress(ctx: Context) -> CallToolResult:
        """Reports progress 0, 50 and 100 of 100 when the caller sent a progress token."""
        for step, progress in enumerate((0, 50, 100)):
            if step:
                await asyncio.sleep(0.05)
            await ctx.report_progress(progress, 100, f"Completed step {progress} of 100")
        return CallToolResult(content=[_text("Tool with progress executed successfully")])

    @server.tool()
    async def test_error_handling() -> CallToolResult:
        """Always fails (a tool error: isError true)."""
        raise ToolError("This tool intentionally returns an error for testing")

    @server.tool()
    async def test_reconnection(ctx: Context) -> CallToolResult:
        """Closes the response's SSE stream mid-call (SEP-1699); the client resumes with Last-Event-ID."""
        await asyncio.sleep(0.05)
        await ctx.close_sse_stream()
        await asyncio.sleep(0.1)
        return CallToolResult(content=[_text("Reconnection test completed successfully")])

    # On the 2026-07-28 wire a server cannot send requests: the same tools ask with an input
    # request of their result instead (SEP-2322), and read the answer from the retry.
    @server.tool()
    async def test_sampling(prompt: str, ctx: Context) -> CallToolResult | InputRequiredResult:
        """Asks the client's model to answer the prompt (sampling/createMessage, maxTokens 100)."""
        caps = ctx.client_capabilities
        if caps is None or caps.sampling is None:
            raise ToolError("The client does not support sampling (no sampling capability)")
        if _modern(ctx):
            answer = (ctx.input_responses or {}).get("sampling")
            if not isinstance(answer, CreateMessageResult):
                return InputRequiredResult(input_requests={"sampling": _sample(prompt, 100)})
            result = answer
        else:
            result = await ctx.session.create_message(
                messages=[SamplingMessage(role="user", content=_text(prompt))],
                max_tokens=100,
                related_request_id=ctx.request_id,
            )
        return CallToolResult(content=[_text(f"LLM response: {_sampled_text(result)}")])

    async def elicit(
        ctx: Context, message: str, schema: dict[str, Any]
    ) -> ElicitResult | InputRequiredResult:
        caps = ctx.client_capabilities
        if caps is None or caps.elicitation is None:
            raise ToolError("The client does not support elicitation (no elicitation capability)")
        if _modern(ctx):
            answer = (ctx.input_responses or {}).get("elicitation")
            if not isinstance(answer, ElicitResult):
                request = ElicitRequest(params=ElicitRequestFormParams(message=message, requested_schema=schema))
                return InputRequiredResult(input_requests={"elicitation": request})
            return answer
        return await ctx.session.elicit_form(message, schema, related_request_id=ctx.request_id)

    @server.tool()
    async def test_elicitation(message: str, ctx: Context) -> CallToolResult | InputRequiredResult:
        """Asks the user (elicitation/create) for a username and an email address."""
        result = await elicit(ctx, message, ELICITATION_SCHEMA)
        if isinstance(result, InputRequiredResult):
            return result
        content = json.dumps(result.content) if result.content is not None else "null"
        return CallToolResult(content=[_text(f"User response: <action: {result.action}, content: {content}>")])

    @server.tool()
    async def test_elicitation_sep1034_defaults(ctx: Context) -> CallToolResult | InputRequiredResult:
        """Elicits a form whose fields all carry defaults (SEP-1034)."""
        result = await elicit(ctx, "Please review and update the form fields with defaults", SEP1034_SCHEMA)
        if isinstance(result, InputRequiredResult):
            return result
        content = json.dumps(result.content) if result.content is not None else "null"
        return CallToolResult(content=[_text(f"Elicitation completed: action={result.action}, content={content}")])

    @server.tool()
    async def test_elicitation_sep1330_enums(ctx: Context) -> CallToolResult | InputRequiredResult:
        """Elicits a form with the five enum variants (SEP-1330)."""
        result = await elicit(ctx, "Please select options from the enum fields", SEP1330_SCHEMA)
        if isinstance(result, InputRequiredResult):
            return result
        content = json.dumps(result.content) if result.content is not None else "null"
        return CallToolResult(content=[_text(f"Elicitation completed: action={result.action}, content={content}")])

    @server.tool(name="json_schema_2020_12_tool", description="Tool with JSON Schema 2020-12 features")
    async def json_schema_2020_12_tool() -> CallToolResult:
        return CallToolResult(content=[_text("JSON Schema 2020-12 tool called")])

    # The SDK derives inputSchema from the signature; this tool advertises the fixture verbatim.
    tool = server._tool_manager.get_tool("json_schema_2020_12_tool")  # noqa: SLF001
    assert tool is not None
    tool.parameters = JSON_SCHEMA_2020_12


def add_resources(server: MCPServer, sessions: Sessions) -> None:
    @server.resource("test://static-text", name="static-text", mime_type="text/plain")
    def static_text() -> str:
        """A static text resource."""
        return "This is the content of the static text resource."

    @server.resource("test://static-binary", name="static-binary", mime_type="image/png")
    def static_binary() -> bytes:
        """A static binary resource (a 1x1 red PNG)."""
        return base64.b64decode(RED_PIXEL_PNG)

    @server.resource("test://watched-resource", name="watched-resource", mime_type="text/plain")
    def watched_resource() -> str:
        """A resource to subscribe to."""
        return "Watched resource content"

    @server.resource("test://template/{id}/data", name="template-data", mime_type="application/json")
    def template_data(id: str) -> str:
        """Data for an id, substituted into the template."""
        return json.dumps({"id": id, "templateTest": True, "data": f"Data for ID: {id}"}, separators=(",", ":"))

    async def subscribe(ctx: ServerRequestContext[Any], params: SubscribeRequestParams) -> EmptyResult:
        sessions.subscriptions.setdefault(_connection_key(ctx.session), set()).add(str(params.uri))
        return EmptyResult()

    async def unsubscribe(ctx: ServerRequestContext[Any], params: UnsubscribeRequestParams) -> EmptyResult:
        sessions.subscriptions.get(_connection_key(ctx.session), set()).discard(str(params.uri))
        return EmptyResult()

    async def set_level(ctx: ServerRequestContext[Any], params: SetLevelRequestParams) -> EmptyResult:
        sessions.levels[_connection_key(ctx.session)] = params.level
        return EmptyResult()

    lowlevel = server._lowlevel_server  # noqa: SLF001
    # Up to 2025-11-25 the handshake declares `listChanged` from these options, which MCPServer
    # leaves all false; test_trigger_tool_change and test_trigger_prompt_change do send them.
    sdk_options = lowlevel.create_initialization_options

    def init_options(notification_options: NotificationOptions | None = None, *args: Any, **kwargs: Any) -> Any:
        options = notification_options or NotificationOptions(tools_changed=True, prompts_changed=True)
        return sdk_options(options, *args, **kwargs)

    lowlevel.create_initialization_options = init_options  # type: ignore[method-assign]
    lowlevel.add_request_handler("resources/subscribe", SubscribeRequestParams, subscribe)
    lowlevel.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, unsubscribe)
    lowlevel.add_request_handler("logging/setLevel", SetLevelRequestParams, set_level)


def add_prompts(server: MCPServer) -> None:
    @server.prompt()
    def test_simple_prompt() -> list[UserMessage]:
        """A simple prompt without arguments."""
        return [UserMessage("This is a simple prompt for testing.")]

    @server.prompt()
    def test_prompt_with_arguments(arg1: str, arg2: str) -> list[UserMessage]:
        """A prompt with two required arguments, arg1 and arg2."""
        return [UserMessage(f"Prompt with arguments: arg1='{arg1}', arg2='{arg2}'")]

    @server.prompt()
    def test_prompt_with_embedded_resource(resourceUri: str) -> list[UserMessage]:  # noqa: N803 (the wire name)
        """A prompt that embeds the resource named by resourceUri."""
        resource = TextResourceContents(
            uri=resourceUri, mime_type="text/plain", text="Embedded resource content for testing."
        )
        return [
            UserMessage(EmbeddedResource(type="resource", resource=resource)),
            UserMessage("Please process the embedded resource above."),
        ]

    @server.prompt()
    def test_prompt_with_image() -> list[UserMessage]:
        """A prompt with an image (a 1x1 red PNG)."""
        return [
            UserMessage(ImageContent(type="image", data=RED_PIXEL_PNG, mime_type="image/png")),
            UserMessage("Please analyze the image above."),
        ]


def add_completion(server: MCPServer) -> None:
    @server.completion()
    async def complete(
        ref: PromptReference | ResourceTemplateReference,
        argument: CompletionArgument,
        context: CompletionContext | None,
    ) -> Completion | None:
        key = ref.name if isinstance(ref, PromptReference) else ref.uri
        candidates = COMPLETIONS.get((key, argument.name))
        if candidates is None:
            return None
        values = [v for v in candidates if v.startswith(argument.value)]
        return Completion(values=values, total=len(values), has_more=False)


def add_input_required(server: MCPServer) -> None:
    """SEP-2322 multi-round-trip: `input_required` results, and what comes back in `inputResponses`."""

    def name_request(message: str = "What is your name?") -> ElicitRequest:
        return _form(message, {"name": {"type": "string"}}, ["name"])

    @server.tool()
    async def test_input_required_result_elicitation(ctx: Context) -> CallToolResult | InputRequiredResult:
        """Asks the user's name with an input request (elicitation), then greets them."""
        answer = (ctx.input_responses or {}).get("user_name")
        if not isinstance(answer, ElicitResult):
            # First round, or a retry without (or with an unusable) answer: ask again.
            return InputRequiredResult(input_requests={"user_name": name_request()})
        name = _accepted(answer, "name")
        if name is None:
            return CallToolResult(content=[_text(f"Elicitation {answer.action}: no name given")])
        return CallToolResult(content=[_text(f"Hello, {name}!")])

    @server.tool()
    async def test_input_required_result_sampling(ctx: Context) -> CallToolResult | InputRequiredResult:
        """Asks the client's model a question with an input request (sampling), then reports its answer."""
        answer = (ctx.input_responses or {}).get("capital_question")
        if not isinstance(answer, CreateMessageResult):
            return InputRequiredResult(
                input_requests={"capital_question": _sample("What is the capital of France?", 100)}
            )
        return CallToolResult(content=[_text(f"Sampling response: {_sampled_text(answer)}")])

    @server.tool()
    async def test_input_required_result_list_roots(ctx: Context) -> CallToolResult | InputRequiredResult:
        """Asks for the client's roots with an input request (roots/list), then lists them."""
        answer = (ctx.input_responses or {}).get("client_roots")
        if not isinstance(answer, ListRootsResult):
            return InputRequiredResult(input_requests={"client_roots": ListRootsRequest()})
        uris = ", ".join(str(root.uri) for root in answer.roots) or "(none)"
        return CallToolResult(content=[_text(f"Client roots ({len(answer.roots)}): {uris}")])

    @server.tool()
    async def test_input_required_result_request_state(ctx: Context) -> CallToolResult | InputRequiredResult:
        """Asks for a confirmation and carries requestState across the round trip."""
        state = "confirm-round-1"
        answer = (ctx.input_responses or {}).get("confirm")
        if not isinstance(answer, ElicitResult):
            request = _form("Please confirm", {"ok": {"type": "boolean"}}, ["ok"])
            return InputRequiredResult(input_requests={"confirm": request}, request_state=state)
        if ctx.request_state != state:
            raise MCPError(code=INVALID_PARAMS, message="requestState missing or not the one sent")
        return CallToolResult(content=[_text(f"state-ok: confirmation {answer.action}")])

    @server.tool()
    async def test_input_required_result_multiple_inputs(ctx: Context) -> CallToolResult | InputRequiredResult:
        """Asks for a name, a sampled greeting and the client's roots in one round."""
        state = "multiple-inputs-round-1"
        responses = ctx.input_responses or {}
        user = responses.get("user_name")
        greeting = responses.get("greeting")
        roots = responses.get("client_roots")
        complete = (
            isinstance(user, ElicitResult)
            and isinstance(greeting, CreateMessageResult)
            and isinstance(roots, ListRootsResult)
        )
        if not complete:
            return InputRequiredResult(
                input_requests={
                    "user_name": name_request(),
                    "greeting": _sample("Generate a greeting", 50),
                    "client_roots": ListRootsRequest(),
                },
                request_state=state,
            )
        if ctx.request_state != state:
            raise MCPError(code=INVALID_PARAMS, message="requestState missing or not the one sent")
        assert isinstance(roots, ListRootsResult)
        text = (
            f"name={_accepted(user, 'name')}, greeting={_sampled_text(greeting)}, "
            f"roots={[str(r.uri) for r in roots.roots]}"
        )
        return CallToolResult(content=[_text(f"All inputs received: {text}")])

    @server.tool()
    async def test_input_required_result_multi_round(ctx: Context) -> CallToolResult | InputRequiredResult:
        """Two rounds of input requests (name, then colour); requestState carries the first answer."""
        responses = ctx.input_responses or {}
        state = ctx.request_state
        step2 = responses.get("step2")
        if state is not None and state.startswith("round-2:") and isinstance(step2, ElicitResult):
            name = json.loads(state.removeprefix("round-2:"))
            color = _accepted(step2, "color")
            return CallToolResult(content=[_text(f"Completed: name={name}, color={color}")])
        step1 = responses.get("step1")
        if state == "round-1" and isinstance(step1, ElicitResult):
            name = _accepted(step1, "name")
            request = _form(
                "Step 2: What is your favorite color?", {"color": {"type": "string"}}, ["color"]
            )
            return InputRequiredResult(input_requests={"step2": request}, request_state=f"round-2:{json.dumps(name)}")
        return InputRequiredResult(
            input_requests={"step1": name_request("Step 1: What is your name?")}, request_state="round-1"
        )

    @server.tool()
    async def test_input_required_result_tampered_state(ctx: Context) -> CallToolResult | InputRequiredResult:
        """requestState is integrity-protected (the SDK seals it): a tampered one is an error."""
        state = "tamper-check"
        answer = (ctx.input_responses or {}).get("confirm")
        if ctx.request_state is None or not isinstance(answer, ElicitResult):
            request = _form("Please confirm", {"ok": {"type": "boolean"}}, ["ok"])
            return InputRequiredResult(input_requests={"confirm": request}, request_state=state)
        if ctx.request_state != state:
            raise MCPError(code=INVALID_PARAMS, message="requestState failed its integrity check")
        return CallToolResult(content=[_text("state-ok: requestState verified")])

    @server.tool()
    async def test_input_required_result_capabilities(ctx: Context) -> CallToolResult | InputRequiredResult:
        """Asks only for what the client declared it can answer (sampling, elicitation, roots)."""
        caps = ctx.client_capabilities
        responses = ctx.input_responses or {}
        wanted: dict[str, ElicitRequest | CreateMessageRequest | ListRootsRequest] = {}
        if caps is not None and caps.sampling is not None:
            wanted["sample"] = _sample("Say hello", 50)
        if caps is not None and caps.elicitation is not None:
            wanted["user_name"] = name_request()
        if caps is not None and caps.roots is not None:
            wanted["client_roots"] = ListRootsRequest()
        missing = {key: request for key, request in wanted.items() if key not in responses}
        if missing:
            return InputRequiredResult(input_requests=missing)
        return CallToolResult(content=[_text(f"Received inputs for: {', '.join(wanted) or 'nothing'}")])

    @server.prompt()
    async def test_input_required_result_prompt(ctx: Context) -> list[UserMessage] | InputRequiredResult:
        """A prompt that asks the user for context (an input request) before it renders."""
        answer = (ctx.input_responses or {}).get("user_context")
        if not isinstance(answer, ElicitResult):
            request = _form("What context should the prompt use?", {"context": {"type": "string"}}, ["context"])
            return InputRequiredResult(input_requests={"user_context": request})
        context = _accepted(answer, "context") or "(none)"
        return [UserMessage(f"Prompt rendered with context: {context}")]


def add_stateless_diagnostics(server: MCPServer, sessions: Sessions) -> None:
    """The hooks the 2026-07-28 scenarios `server-stateless` and `http-custom-header-server-validation` call."""

    @server.tool()
    async def test_missing_capability(ctx: Context) -> CallToolResult | InputRequiredResult:
        """Needs the client's sampling capability; without it the call fails with -32021."""
        caps = ctx.client_capabilities
        if caps is None or caps.sampling is None:
            data = MissingRequiredClientCapabilityErrorData(
                required_capabilities=ClientCapabilities(sampling=SamplingCapability())
            )
            raise MCPError(
                code=MISSING_REQUIRED_CLIENT_CAPABILITY,
                message="Client did not declare the sampling capability this tool needs",
                data=data.model_dump(by_alias=True, mode="json", exclude_none=True),
            )
        answer = (ctx.input_responses or {}).get("sample")
        if not isinstance(answer, CreateMessageResult):
            return InputRequiredResult(input_requests={"sample": _sample("Say hello", 20)})
        return CallToolResult(content=[_text(f"Sampled: {_sampled_text(answer)}")])

    @server.tool()
    async def test_streaming_elicitation(ctx: Context) -> CallToolResult:
        """Reports progress (when asked) before it answers."""
        for progress in (0, 50, 100):
            await ctx.report_progress(progress, 100)
            await asyncio.sleep(0.02)
        return CallToolResult(content=[_text("Streaming completed")])

    @server.tool()
    async def test_logging_tool(ctx: Context) -> CallToolResult:
        """Sends one info log notification, then answers."""
        await _log(ctx, sessions, "info", "test_logging_tool ran")
        return CallToolResult(content=[_text("Logging completed")])

    async def dynamic_tool() -> str:
        """Appears and disappears with test_trigger_tool_change."""
        return "dynamic"

    def dynamic_prompt() -> str:
        """Appears and disappears with test_trigger_prompt_change."""
        return "dynamic"

    @server.tool()
    async def test_trigger_tool_change(ctx: Context) -> CallToolResult:
        """Adds or removes the tool test_dynamic_tool, then announces the tool list changed."""
        if server._tool_manager.get_tool("test_dynamic_tool") is None:  # noqa: SLF001
            server.add_tool(dynamic_tool, name="test_dynamic_tool")
            change = "added"
        else:
            server.remove_tool("test_dynamic_tool")
            change = "removed"
        if _modern(ctx):
            await ctx.notify_tools_changed()
        else:
            await ctx.session.send_tool_list_changed()
        return CallToolResult(content=[_text(f"test_dynamic_tool {change}")])

    @server.tool()
    async def test_trigger_prompt_change(ctx: Context) -> CallToolResult:
        """Adds or removes the prompt test_dynamic_prompt, then announces the prompt list changed."""
        if any(p.name == "test_dynamic_prompt" for p in await server.list_prompts()):
            server.remove_prompt("test_dynamic_prompt")
            change = "removed"
        else:
            server.add_prompt(Prompt.from_function(dynamic_prompt, name="test_dynamic_prompt"))
            change = "added"
        if _modern(ctx):
            await ctx.notify_prompts_changed()
        else:
            await ctx.session.send_prompt_list_changed()
        return CallToolResult(content=[_text(f"test_dynamic_prompt {change}")])

    @server.tool()
    async def test_custom_header(region: Annotated[str, REGION_PARAM]) -> CallToolResult:
        """Echoes region, an argument the client mirrors into an HTTP header (SEP-2243 x-mcp-header)."""
        return CallToolResult(content=[_text(f"region={region}")])


SKILLS_EXTENSION = "io.modelcontextprotocol/skills"
SKILL_NAME = "greeting-cards"
SKILL_ROOT = f"skill://{SKILL_NAME}"
SKILL_DESCRIPTION = "Write short greeting cards for birthdays and holidays"
# The skill's files: path under the skill -> (MIME type, text).
SKILL_FILES: dict[str, tuple[str, str]] = {
    "SKILL.md": (
        "text/markdown",
        f"---\nname: {SKILL_NAME}\ndescription: {SKILL_DESCRIPTION}\n---\n\n"
        "# Greeting cards\n\nKeep it to three lines. See references/STYLE.md for the house style.\n",
    ),
    "references/STYLE.md": ("text/markdown", "# House style\n\nWarm, brief, no puns.\n"),
}
DIRECTORY_MIME = "inode/directory"


class SkillGetParams(RequestParams):
    uri: str


class DirectoryReadParams(RequestParams):
    uri: str
    cursor: str | None = None


def _skill_entry() -> dict[str, Any]:
    """The skill's entry, as skills/list and skills/get carry it (SEP-2640)."""
    files = []
    for path, (_, text) in SKILL_FILES.items():
        data = text.encode()
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        files.append({"uri": f"{SKILL_ROOT}/{path}", "digest": digest, "size": len(data)})
    return {
        "uri": f"{SKILL_ROOT}/SKILL.md",
        "frontmatter": {"name": SKILL_NAME, "description": SKILL_DESCRIPTION},
        "resources": files,
    }


def _directory_children(uri: str) -> list[dict[str, Any]] | None:
    """The direct children of a directory of the skill, or None when `uri` names no directory."""
    if not uri.startswith(SKILL_ROOT) or (uri != SKILL_ROOT and not uri.startswith(SKILL_ROOT + "/")):
        return None
    prefix = uri.removeprefix(SKILL_ROOT).strip("/")
    prefix = prefix + "/" if prefix else ""
    children: dict[str, dict[str, Any]] = {}
    is_directory = False
    for path, (mime, _) in SKILL_FILES.items():
        if not path.startswith(prefix):
            continue
        is_directory = True
        head, _, rest = path.removeprefix(prefix).partition("/")
        child = f"{SKILL_ROOT}/{prefix}{head}"
        if rest:
            children[child] = {"uri": child, "name": head, "mimeType": DIRECTORY_MIME}
        else:
            children[child] = {"uri": child, "name": head, "mimeType": mime}
    return list(children.values()) if is_directory else None


class SkillsExtension(Extension):
    """SEP-2640 skills, through the SDK's extension API: one skill, `greeting-cards`.

    The SDK has no skills support of its own; it gives the extension seam (SEP-2133): methods
    (`skills/list`, `skills/get`, `resources/directory/read`), resources (the skill's files,
    served by the SDK's resources/read) and the capability under `extensions`.
    """

    identifier = SKILLS_EXTENSION

    def settings(self) -> dict[str, Any]:
        return {"directoryRead": True}

    def resources(self) -> list[ResourceBinding]:
        bindings = []
        for path, (mime, text) in SKILL_FILES.items():
            manifest = path == "SKILL.md"
            resource = TextResource(
                uri=f"{SKILL_ROOT}/{path}",
                name=SKILL_NAME if manifest else path,
                description=SKILL_DESCRIPTION if manifest else f"{SKILL_NAME}: {path}",
                mime_type=mime,
                text=text,
            )
            bindings.append(ResourceBinding(resource))
        return bindings

    def methods(self) -> list[MethodBinding]:
        return [
            MethodBinding("skills/list", PaginatedRequestParams, self.list_skills),
            MethodBinding("skills/get", SkillGetParams, self.get_skill),
            MethodBinding("resources/directory/read", DirectoryReadParams, self.read_directory),
        ]

    async def list_skills(self, ctx: ServerRequestContext[Any], params: PaginatedRequestParams) -> dict[str, Any]:
        return {"skills": [_skill_entry()], **CACHE_FIELDS}

    async def get_skill(self, ctx: ServerRequestContext[Any], params: SkillGetParams) -> dict[str, Any]:
        entry = _skill_entry()
        if params.uri not in (entry["uri"], SKILL_ROOT):
            raise MCPError(code=INVALID_PARAMS, message="Unknown skill", data={"uri": params.uri})
        return {"skill": entry, **CACHE_FIELDS}

    async def read_directory(self, ctx: ServerRequestContext[Any], params: DirectoryReadParams) -> dict[str, Any]:
        children = _directory_children(params.uri.rstrip("/"))
        if children is None:
            raise MCPError(code=INVALID_PARAMS, message="Not a directory", data={"uri": params.uri})
        return {"resources": children, **CACHE_FIELDS}


# SEP-2549 caching hints on the skills results (the SDK's `cache_hints` cover spec methods only).
CACHE_FIELDS: dict[str, Any] = {"ttlMs": 0, "cacheScope": "public"}


TASKS_EXTENSION = "io.modelcontextprotocol/tasks"
TASK_TTL_MS = 600_000
TASK_POLL_MS = 200
TERMINAL = ("completed", "failed", "cancelled")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _tool_result(text: str, is_error: bool = False) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": text}], "isError": is_error}


def _elicit_request(message: str, field: str, kind: str = "string") -> dict[str, Any]:
    schema = {"type": "object", "properties": {field: {"type": kind}}, "required": [field]}
    return {"method": "elicitation/create", "params": {"mode": "form", "message": message, "requestedSchema": schema}}


class TaskRecord:
    """One task: its status, what it asks the client for, and how it ended (SEP-2663)."""

    def __init__(self) -> None:
        self.task_id = uuid.uuid4().hex
        self.status = "working"
        self.created_at = self.updated_at = _now()
        self.result: dict[str, Any] | None = None
        self.error: dict[str, Any] | None = None
        self.input_requests: dict[str, dict[str, Any]] = {}
        self.responses: dict[str, Any] = {}
        self.answered = asyncio.Event()
        self.runner: asyncio.Task[None] | None = None

    def set_status(self, status: str) -> None:
        self.status = status
        self.updated_at = _now()

    def envelope(self) -> dict[str, Any]:
        return {
            "taskId": self.task_id,
            "status": self.status,
            "createdAt": self.created_at,
            "lastUpdatedAt": self.updated_at,
            "ttlMs": TASK_TTL_MS,
            "pollIntervalMs": TASK_POLL_MS,
        }

    def detailed(self) -> dict[str, Any]:
        task = self.envelope()
        if self.status == "input_required":
            task["inputRequests"] = dict(self.input_requests)
        elif self.status == "completed" and self.result is not None:
            task["result"] = self.result
        elif self.status == "failed" and self.error is not None:
            task["error"] = self.error
        return task

    async def ask(self, requests: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """Park in input_required until the client has answered every request (tasks/update)."""
        self.input_requests.update(requests)
        self.answered.clear()
        self.set_status("input_required")
        await self.answered.wait()
        self.set_status("working")
        return {key: self.responses.get(key) for key in requests}

    def answer(self, responses: dict[str, Any]) -> None:
        for key, value in responses.items():
            if key in self.input_requests:
                del self.input_requests[key]
                self.responses[key] = value
        if not self.input_requests:
            self.answered.set()

    async def run(self, body: TaskBody) -> None:
        try:
            result = await body(self)
        except asyncio.CancelledError:
            self.set_status("cancelled")
            return
        except MCPError as err:
            self.error = {"code": err.error.code, "message": err.error.message}
            self.set_status("failed")
            return
        except Exception as err:  # noqa: BLE001 (a task body's crash is the task's protocol error)
            self.error = {"code": INTERNAL_ERROR, "message": f"Task failed: {err}"}
            self.set_status("failed")
            return
        if self.status not in TERMINAL:
            self.result = result
            self.set_status("completed")


def _accepted_value(response: Any, field: str) -> Any:
    if isinstance(response, dict) and response.get("action") == "accept":
        return (response.get("content") or {}).get(field)
    return None


TaskBody = Callable[[TaskRecord], Awaitable[dict[str, Any]]]


def _task_bodies(args: dict[str, Any]) -> dict[str, TaskBody]:
    """What each task-supporting tool does as a task, for these arguments."""

    async def slow_compute(task: TaskRecord) -> dict[str, Any]:
        seconds = float(args.get("seconds", 1))
        await asyncio.sleep(seconds)
        return _tool_result(f"slow_compute {args.get('label', '')} done after {seconds:g} s".replace("  ", " "))

    async def failing_job(task: TaskRecord) -> dict[str, Any]:
        await asyncio.sleep(0.5)
        return _tool_result("failing_job failed, as it always does", is_error=True)

    async def protocol_error_job(task: TaskRecord) -> dict[str, Any]:
        await asyncio.sleep(0.1)
        raise RuntimeError("protocol_error_job crashed, as it always does")

    async def confirm_delete(task: TaskRecord) -> dict[str, Any]:
        target = args.get("path") or args.get("target") or args.get("name") or "the item"
        answers = await task.ask({"confirm": _elicit_request(f"Delete {target}?", "confirm", "boolean")})
        confirmed = bool(_accepted_value(answers["confirm"], "confirm"))
        return _tool_result(f"{target} {'deleted' if confirmed else 'kept'}")

    async def multi_input(task: TaskRecord) -> dict[str, Any]:
        answers = await task.ask(
            {
                "first_name": _elicit_request("Your first name?", "first"),
                "last_name": _elicit_request("Your last name?", "last"),
            }
        )
        first = _accepted_value(answers["first_name"], "first")
        last = _accepted_value(answers["last_name"], "last")
        return _tool_result(f"Hello, {first} {last}!")

    return {
        "slow_compute": slow_compute,
        "failing_job": failing_job,
        "protocol_error_job": protocol_error_job,
        "confirm_delete": confirm_delete,
        "multi_input": multi_input,
    }


# Tools that become tasks (for a client with the extension); the required ones refuse other clients.
TASK_TOOLS = {"slow_compute", "failing_job", "protocol_error_job", "confirm_delete", "multi_input"}
TASK_TOOLS.add("test_tool_with_task")
REQUIRED_TASK_TOOLS = {"failing_job", "test_tool_with_task"}


class TaskIdParams(RequestParams):
    task_id: str


class TaskUpdateParams(RequestParams):
    task_id: str
    input_responses: dict[str, Any] | None = None


def _declared_tasks(ctx: ServerRequestContext[Any]) -> bool:
    """Whether this request may use tasks: a 2026-07-28 request from a client that declared the extension.

    SEP-2663 is 2026-era vocabulary: on an older wire the SDK validates a tools/call result as a
    CallToolResult, so a CreateTaskResult could not be sent there.
    """
    if not is_version_at_least(ctx.protocol_version, MODERN_VERSION):
        return False
    caps = ctx.session.client_capabilities
    return bool(caps and caps.extensions and TASKS_EXTENSION in caps.extensions)


def _missing_tasks_capability() -> MCPError:
    data = MissingRequiredClientCapabilityErrorData(
        required_capabilities=ClientCapabilities(extensions={TASKS_EXTENSION: {}})
    )
    return MCPError(
        code=MISSING_REQUIRED_CLIENT_CAPABILITY,
        message=f"This needs the {TASKS_EXTENSION} extension",
        data=data.model_dump(by_alias=True, mode="json", exclude_none=True),
    )


class TasksExtension(Extension):
    """SEP-2663 tasks, on the SDK's extension seam (the SDK has no tasks of its own; see the notes).

    Task-supporting tools called by a client that declared the extension (for its session or in the
    request's `_meta` client capabilities) answer a CreateTaskResult (`resultType: "task"`, which
    the SDK's runner passes through as an extension result type) and run in the background;
    tasks/get, tasks/update and tasks/cancel serve them. A client without the extension gets the
    tool's synchronous result, or -32021 for a tool that requires a task.
    """

    identifier = TASKS_EXTENSION

    def __init__(self) -> None:
        self.tasks: dict[str, TaskRecord] = {}

    def methods(self) -> list[MethodBinding]:
        modern = frozenset({MODERN_VERSION})  # the SDK answers -32601 on older wires
        return [
            MethodBinding("tasks/get", TaskIdParams, self.get_task, protocol_versions=modern),
            MethodBinding("tasks/update", TaskUpdateParams, self.update_task, protocol_versions=modern),
            MethodBinding("tasks/cancel", TaskIdParams, self.cancel_task, protocol_versions=modern),
        ]

    def start(self, body: TaskBody) -> dict[str, Any]:
        task = TaskRecord()
        self.tasks[task.task_id] = task  # durable before the CreateTaskResult leaves
        task.runner = asyncio.get_running_loop().create_task(task.run(body))
        return {"resultType": "task", **task.envelope()}

    async def intercept_tool_call(
        self, params: CallToolRequestParams, ctx: ServerRequestContext[Any], call_next: CallNext
    ) -> HandlerResult:
        if params.name not in TASK_TOOLS:
            return await call_next(ctx)
        declared = _declared_tasks(ctx)
        if not declared:
            if params.name in REQUIRED_TASK_TOOLS:
                raise _missing_tasks_capability()
            return await call_next(ctx)
        args = params.arguments or {}
        if params.name == "test_tool_with_task":
            # MRTR first (SEP-2322), synchronously; the last round escalates to a task.
            answer = (params.input_responses or {}).get("user_name")
            if not isinstance(answer, ElicitResult):
                request = _form("What is your name?", {"name": {"type": "string"}}, ["name"])
                return InputRequiredResult(input_requests={"user_name": request})
            name = _accepted(answer, "name")

            async def greet_later(task: TaskRecord) -> dict[str, Any]:
                await asyncio.sleep(0.2)
                return _tool_result(f"Hello, {name}! (user_name gathered before the task)")

            return self.start(greet_later)
        return self.start(_task_bodies(args)[params.name])

    def _task(self, ctx: ServerRequestContext[Any], task_id: str) -> TaskRecord:
        if not _declared_tasks(ctx):
            raise _missing_tasks_capability()
        # SEP-2663 routing header: on HTTP, `Mcp-Name` carries the taskId. The SDK's HTTP layer checks
        # Mcp-Name for tools/call, resources/read and prompts/get only, so the tasks methods do it here.
        headers = getattr(ctx.request, "headers", None)
        routed = headers.get("mcp-name") if headers is not None else None
        if routed is not None and routed.strip() != task_id:
            raise MCPError(code=HEADER_MISMATCH, message="Mcp-Name header does not match params.taskId")
        task = self.tasks.get(task_id)
        if task is None:
            raise MCPError(code=INVALID_PARAMS, message="Unknown taskId", data={"taskId": task_id})
        return task

    async def get_task(self, ctx: ServerRequestContext[Any], params: TaskIdParams) -> dict[str, Any]:
        return self._task(ctx, params.task_id).detailed()

    async def update_task(self, ctx: ServerRequestContext[Any], params: TaskUpdateParams) -> dict[str, Any]:
        task = self._task(ctx, params.task_id)
        if task.status == "input_required":
            task.answer(params.input_responses or {})
        return {}

    async def cancel_task(self, ctx: ServerRequestContext[Any], params: TaskIdParams) -> dict[str, Any]:
        task = self._task(ctx, params.task_id)
        if task.status not in TERMINAL:
            task.set_status("cancelled")
            if task.runner is not None:
                task.runner.cancel()
        return {}


def add_task_tools(server: MCPServer) -> None:
    """The tools the tasks-* scenarios name; TasksExtension turns calls of the task-supporting ones into tasks."""

    @server.tool()
    async def greet(name: str) -> CallToolResult:
        """Greets name (synchronous only)."""
        return CallToolResult(content=[_text(f"Hello, {name}!")])

    @server.tool()
    async def slow_compute(seconds: float = 1, label: str = "") -> CallToolResult:
        """Sleeps `seconds` seconds, then answers (a task when the client supports tasks)."""
        await asyncio.sleep(seconds)
        return CallToolResult(content=[_text(f"slow_compute {label} done after {seconds:g} s".replace("  ", " "))])

    @server.tool()
    async def failing_job() -> CallToolResult:
        """Always fails with a tool error (requires a task)."""
        raise ToolError("failing_job failed, as it always does")

    @server.tool()
    async def protocol_error_job() -> CallToolResult:
        """Always fails with a protocol error."""
        raise MCPError(code=INTERNAL_ERROR, message="protocol_error_job crashed, as it always does")

    @server.tool()
    async def confirm_delete(path: str = "the item") -> CallToolResult:
        """Asks the user to confirm a deletion (as a task: parks in input_required)."""
        return CallToolResult(content=[_text(f"{path}: confirmation needs the tasks extension")], is_error=True)

    @server.tool()
    async def multi_input() -> CallToolResult:
        """Asks two questions at once (as a task: two pending input requests)."""
        return CallToolResult(content=[_text("multi_input needs the tasks extension")], is_error=True)

    @server.tool()
    async def test_tool_with_task() -> CallToolResult:
        """Asks the user's name (input_required), then finishes as a task (requires a task)."""
        return CallToolResult(content=[_text("test_tool_with_task needs the tasks extension")], is_error=True)


class MemoryEventStore(EventStore):
    """Every SSE event of every stream, in memory, so that a client can resume a stream (SEP-1699).

    With an event store the SDK starts each POST's SSE stream with a priming event (an id, empty
    data, and `retry`) and replays what the client missed when it reconnects with Last-Event-ID.
    A test server's streams are few and short, so nothing is ever dropped.
    """

    def __init__(self) -> None:
        self.events: list[tuple[StreamId, EventId, JSONRPCMessage | None]] = []
        self.counter = 0

    async def store_event(self, stream_id: StreamId, message: JSONRPCMessage | None) -> EventId:
        self.counter += 1
        event_id = str(self.counter)
        self.events.append((stream_id, event_id, message))
        return event_id

    async def replay_events_after(self, last_event_id: EventId, send_callback: EventCallback) -> StreamId | None:
        index = next((i for i, (_, eid, _) in enumerate(self.events) if eid == last_event_id), None)
        if index is None:
            return None
        stream_id = self.events[index][0]
        for sid, event_id, message in self.events[index + 1 :]:
            if sid == stream_id and message is not None:
                await send_callback(EventMessage(message, event_id))
        return stream_id


def serve_http(app: Any, port: int, log_level: str) -> None:
    import uvicorn

    # Bind ourselves so that --port 0 works and the real port can be announced.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, port))
    sock.listen(128)
    sock.setblocking(False)
    real_port = sock.getsockname()[1]
    print(f"py_conformance_server: listening on http://{HOST}:{real_port}/mcp", file=sys.stderr, flush=True)
    config = uvicorn.Config(
        app, log_level=log_level.lower(), access_log=False, timeout_graceful_shutdown=1, lifespan="on"
    )
    uvicorn.Server(config).run(sockets=[sock])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("transport", nargs="?", default="stdio", choices=["stdio", "http"])
    parser.add_argument("--port", type=int, default=None, help="HTTP port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--json-response", action="store_true", help="http: answer POSTs with JSON, not SSE")
    parser.add_argument("--stateless", action="store_true", help="http: no sessions (Mcp-Session-Id)")
    parser.add_argument("--no-skills", action="store_true", help="leave out the skills extension (SEP-2640)")
    parser.add_argument("--no-tasks", action="store_true", help="leave out the tasks extension (SEP-2663), its tools")
    parser.add_argument("--log-level", default="WARNING", choices=LOG_LEVELS, type=str.upper)
    args = parser.parse_args()

    if args.transport == "stdio":
        if args.port is not None or args.json_response or args.stateless:
            parser.error("--port/--json-response/--stateless need the http transport")
    elif args.port is None:
        parser.error("http needs --port N")

    server = build_server(args.log_level, skills=not args.no_skills, tasks=not args.no_tasks)
    if args.transport == "stdio":
        server.run("stdio")
    else:
        app = server.streamable_http_app(
            host=HOST,
            json_response=args.json_response,
            stateless_http=args.stateless,
            event_store=MemoryEventStore(),
            retry_interval=SSE_RETRY_MS,
        )
        serve_http(app, args.port, args.log_level)


if __name__ == "__main__":
    main()
