#!/usr/bin/env python3
"""Third-party MCP peer for interop tests, built on the official Python SDK (`mcp` 2.3.0).

Run it with the venv made by scripts/install-peers.sh:

    .peers/venv/bin/python tests/peers/py_server.py [stdio]
    .peers/venv/bin/python tests/peers/py_server.py sse --port N
    .peers/venv/bin/python tests/peers/py_server.py http --port N [--json-response] [--stateless]

Any transport also takes `--features` (the feature set below, off by default so that the plain
server keeps exactly its three tools) and `--caching MODE` (counted lists, below).

HTTP modes bind 127.0.0.1 only. `--port 0` picks a free port. Once the socket listens, one line
goes to stderr: `py_server: listening on http://127.0.0.1:PORT/sse` (or `/mcp`); requests that
arrive earlier wait in the listen backlog. Endpoints: SSE `GET /sse` + `POST /messages/?session_id=`,
Streamable HTTP `/mcp`. In stdio mode nothing but protocol messages is written to stdout; the SDK's
logs go to stderr (level WARNING unless --log-level says otherwise).

Tools: echo(text) -> text; add(a, b) -> a + b (structured: {"result": sum}); sleep(ms) -> "slept {ms} ms".

With --features, for the client-feature interop tests (tests/python_features.rs), each answering on both
protocol generations: up to 2025-11-25 the server sends its own requests to the client
(`sampling/createMessage`, `elicitation/create`) in the middle of the call; on 2026-07-28
(stateless) it answers `input_required` with the same requests embedded, and the client retries.
- resources: `config://app` (static, JSON) and the template `greeting://{name}` ("Hello, {name}!").
- prompts: `review_code(language, code, focus="correctness")`; completion for its `language`
  (prefix match on LANGUAGES) and `focus` (depends on the chosen `language`, from the context),
  and for the `name` variable of `greeting://{name}`.
- summarize(text): asks the client to sample (maxTokens 42, system prompt "Be brief."); returns
  "{model}: {sampled text}" (structured: {"result": ...}). On 2026-07-28 the tool body drives the
  round trip itself and checks that `requestState` came back.
- signup(): elicits a form (SIGNUP_SCHEMA: `name` required, `age`, `newsletter`, `color` and
  `nickname` with defaults); returns the raw answer: structured {"action", "content"}.
- book_table(city): the SDK's resolvers (`Resolve(Elicit)` + `Resolve(Sample)`): a form (guests,
  seating; defaults 2, "indoor") and a sampled pitch, batched into one `input_required` round on
  2026-07-28; returns a structured Booking.
- approve_pitch(city): resolvers in a chain: the sampled pitch goes into the form's message, so
  2026-07-28 needs two `input_required` rounds (sample, then elicit; `requestState` carries the
  first answer); returns {"pitch", "approved", "note"} (form defaults: approved true, note "").
- pick_tool(question): tool-enabled sampling (`tools` = [get_weather], `toolChoice` auto), which
  the SDK sends only to a client that declared `sampling.tools`; returns the stop reason and the
  tool calls the client's model made.
- connect_account(service): URL-mode elicitation (`elicitation/create` with mode "url"). Up to
  2025-11-25 it carries a fresh `elicitationId`, and once the client accepts, the server sends
  `notifications/elicitation/complete` with that id before it answers; on 2026-07-28 it is an
  input request (no `elicitationId` and no completion notification in that version). Returns
  {"action", "elicitation_id", "url", "completed"}.
- prompt interview(role): asks the user's name (a form) before rendering "Interview {name} for
  the {role} role." (a prompt's own `input_required` round trip on 2026-07-28).
- forecast(city): structured output, a nested object (Forecast).
- bad_forecast(): advertises Forecast's outputSchema but returns structuredContent that breaks it
  (the SDK does not check a hand-set schema): for client-side validation.

With --caching MODE, for the caching-hint tests: every `tools/list`, `resources/list` and
`prompts/list` request is counted (a middleware, so each request on the wire counts once), the
resource `stats://list-calls` returns the counts as JSON ({"tools/list": n, ...}), and the tool
touch_lists() sends the three `list_changed` notifications (a session-based client only; it
returns no structured content, so calling it fetches no list). MODE says what list results
carry on 2026-07-28 (the SDK sends no `ttlMs` to an older client, whatever the mode):
- `sdk`: the SDK's default, `ttlMs: 0`;
- `absent`: no `ttlMs` at all (the middleware removes it);
- a number: `ttlMs` of that many milliseconds (the SDK's `cache_hints`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import uuid
import warnings
from typing import Annotated, Any, Literal

from mcp.server.caching import CacheHint
from mcp.server.mcpserver import Context, Elicit, MCPServer, Resolve, Sample, UserMessage
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp_types import (
    CallToolResult,
    Completion,
    CompletionArgument,
    CompletionContext,
    CreateMessageRequest,
    CreateMessageRequestParams,
    CreateMessageResult,
    CreateMessageResultWithTools,
    ElicitRequest,
    ElicitRequestFormParams,
    ElicitRequestURLParams,
    ElicitResult,
    InputRequiredResult,
    PromptReference,
    ResourceTemplateReference,
    SamplingMessage,
    TextContent,
    Tool,
    ToolChoice,
    ToolUseContent,
)
from mcp_types.version import is_version_at_least
from pydantic import BaseModel, Field

# Sampling and the older elicitation path are deprecated in 2026-07-28; they are what we test.
warnings.filterwarnings("ignore", category=MCPDeprecationWarning)

HOST = "127.0.0.1"
LOG_LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
STATELESS_VERSION = "2026-07-28"

LANGUAGES = ["go", "python", "ruby", "rust", "typescript"]
FOCUS = {
    "rust": ["lifetimes", "ownership", "unsafe"],
    "python": ["typing", "async"],
}
NAMES = ["Ada", "Alan", "Barbara", "Grace"]

SIGNUP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "title": "Name"},
        "age": {"type": "integer", "minimum": 0, "default": 30},
        "newsletter": {"type": "boolean", "default": True},
        "color": {"type": "string", "enum": ["red", "green", "blue"], "default": "green"},
        "nickname": {"type": "string", "default": "anon"},
    },
    "required": ["name"],
}


class FormOutcome(BaseModel):
    action: str
    content: dict[str, str | int | float | bool | None] | None = None


class TablePrefs(BaseModel):
    guests: int = Field(default=2, ge=1, le=12)
    seating: Literal["indoor", "outdoor"] = "indoor"


class Booking(BaseModel):
    city: str
    guests: int
    seating: str
    pitch: str
    model: str


class Approval(BaseModel):
    approved: bool = True
    note: str = ""


class ApprovedPitch(BaseModel):
    pitch: str
    approved: bool
    note: str


class UrlOutcome(BaseModel):
    action: str
    elicitation_id: str | None
    url: str
    completed: bool


class ToolCall(BaseModel):
    name: str
    input: dict[str, Any]


class ToolPick(BaseModel):
    stop_reason: str | None
    calls: list[ToolCall]


WEATHER_TOOL = Tool(
    name="get_weather",
    description="The weather in a city",
    input_schema={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


class Temperature(BaseModel):
    value: float
    unit: Literal["C", "F"]


class Forecast(BaseModel):
    city: str
    temperature: Temperature
    conditions: list[str]


def _stateless(ctx: Context) -> bool:
    version = ctx.protocol_version
    return version is not None and is_version_at_least(version, STATELESS_VERSION)


def _ask_table(city: str) -> Elicit[TablePrefs]:
    return Elicit(f"How should we seat you in {city}?", TablePrefs)


def _write_pitch(city: str) -> Sample:
    return Sample(
        [SamplingMessage(role="user", content=TextContent(type="text", text=f"Pitch a dinner in {city}"))],
        max_tokens=20,
    )


LISTS = ("tools/list", "resources/list", "prompts/list")


class ListCounter:
    """Server middleware: counts the list requests and, if told, drops `ttlMs` from their results."""

    def __init__(self, strip_ttl: bool) -> None:
        self.counts = {method: 0 for method in LISTS}
        self.strip_ttl = strip_ttl

    async def __call__(self, ctx: Any, call_next: Any) -> Any:
        counted = ctx.method in self.counts and ctx.request_id is not None
        if counted:
            self.counts[ctx.method] += 1
        result = await call_next(ctx)
        if counted and self.strip_ttl and isinstance(result, dict):
            result = {k: v for k, v in result.items() if k != "ttlMs"}
        return result


def build_server(log_level: str, features: bool = False, caching: str | None = None) -> MCPServer:
    counter = ListCounter(strip_ttl=caching == "absent") if caching is not None else None
    hints = None
    if caching is not None and caching.isdigit():
        hints = {method: CacheHint(ttl_ms=int(caching)) for method in LISTS}
    server = MCPServer(
        "py-peer",
        version="1.0.0",
        log_level=log_level,  # type: ignore[arg-type]
        cache_hints=hints,  # type: ignore[arg-type]
        middleware=[counter] if counter is not None else None,
    )

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

    if features:
        add_features(server)
    if counter is not None:
        add_list_stats(server, counter)
    return server


def add_list_stats(server: MCPServer, counter: ListCounter) -> None:
    """The list counts as a resource, and a tool that announces new lists."""

    @server.resource("stats://list-calls", name="list-calls", mime_type="application/json")
    def list_calls() -> str:
        """How many times each list was served."""
        return json.dumps(counter.counts)

    @server.tool()
    async def touch_lists(ctx: Context) -> CallToolResult:
        """Send tools, resources and prompts `list_changed`."""
        await ctx.session.send_tool_list_changed()
        await ctx.session.send_resource_list_changed()
        await ctx.session.send_prompt_list_changed()
        return CallToolResult(content=[TextContent(type="text", text="touched")])


def _sampled_text(result: CreateMessageResult) -> str:
    return result.content.text if isinstance(result.content, TextContent) else ""


def _pitch_for_approval(pitch: Annotated[CreateMessageResult, Resolve(_write_pitch)]) -> Elicit[Approval]:
    return Elicit(f"Approve this pitch? {_sampled_text(pitch)}", Approval)


def _pick_tool(question: str) -> Sample:
    return Sample(
        [SamplingMessage(role="user", content=TextContent(type="text", text=question))],
        max_tokens=64,
        tools=[WEATHER_TOOL],
        tool_choice=ToolChoice(mode="auto"),
    )


def add_features(server: MCPServer) -> None:
    """Resources, prompts, completion, sampling, elicitation and structured output."""

    @server.resource("config://app", name="app-config", title="App config", mime_type="application/json")
    def app_config() -> str:
        """The application's settings."""
        return json.dumps({"theme": "dark", "retries": 3})

    @server.resource("greeting://{name}", name="greeting", title="Greeting", mime_type="text/plain")
    def greeting(name: str) -> str:
        """A greeting for someone."""
        return f"Hello, {name}!"

    @server.prompt(title="Code review")
    def review_code(language: str, code: str, focus: str = "correctness") -> list[UserMessage]:
        """Review a piece of code."""
        return [
            UserMessage(f"Review this {language} code, focusing on {focus}:"),
            UserMessage(code),
        ]

    @server.completion()
    async def complete(
        ref: PromptReference | ResourceTemplateReference,
        argument: CompletionArgument,
        context: CompletionContext | None,
    ) -> Completion | None:
        chosen = (context.arguments or {}) if context is not None else {}
        if isinstance(ref, PromptReference) and ref.name == "review_code":
            if argument.name == "language":
                values = [v for v in LANGUAGES if v.startswith(argument.value)]
            elif argument.name == "focus":
                values = [v for v in FOCUS.get(chosen.get("language", ""), []) if v.startswith(argument.value)]
            else:
                return None
            return Completion(values=values, total=len(values), has_more=False)
        if isinstance(ref, ResourceTemplateReference) and ref.uri == "greeting://{name}" and argument.name == "name":
            values = [v for v in NAMES if v.lower().startswith(argument.value.lower())]
            return Completion(values=values, total=len(values), has_more=False)
        return None

    @server.tool()
    async def summarize(text: str, ctx: Context) -> str | InputRequiredResult:
        """Ask the client's model for a summary of text."""
        params = CreateMessageRequestParams(
            messages=[SamplingMessage(role="user", content=TextContent(type="text", text=f"Summarize: {text}"))],
            max_tokens=42,
            system_prompt="Be brief.",
        )
        if _stateless(ctx):
            state = f"summarize:{text}"
            answer = (ctx.input_responses or {}).get("summary")
            if answer is None:
                return InputRequiredResult(input_requests={"summary": CreateMessageRequest(params=params)}, request_state=state)
            if ctx.request_state != state:
                raise ToolError(f"requestState not echoed: {ctx.request_state!r}")
            result = CreateMessageResult.model_validate(answer.model_dump(by_alias=True, exclude_none=True))
        else:
            result = await ctx.session.create_message(
                messages=params.messages,
                max_tokens=params.max_tokens,
                system_prompt=params.system_prompt,
                related_request_id=ctx.request_id,
            )
        content = result.content
        if not isinstance(content, TextContent):
            raise ToolError(f"expected text from sampling, got {content.type}")
        return f"{result.model}: {content.text}"

    @server.tool()
    async def signup(ctx: Context) -> FormOutcome | InputRequiredResult:
        """Ask the user for sign-up details; return exactly what came back."""
        message = "Sign up for the newsletter"
        if _stateless(ctx):
            answer = (ctx.input_responses or {}).get("form")
            if answer is None:
                request = ElicitRequest(params=ElicitRequestFormParams(message=message, requested_schema=SIGNUP_SCHEMA))
                return InputRequiredResult(input_requests={"form": request}, request_state="signup")
            if ctx.request_state != "signup":
                raise ToolError(f"requestState not echoed: {ctx.request_state!r}")
            if not isinstance(answer, ElicitResult):
                raise ToolError(f"expected an elicitation answer, got {answer!r}")
            result = answer
        else:
            result = await ctx.session.elicit_form(message, SIGNUP_SCHEMA, related_request_id=ctx.request_id)
        return FormOutcome(action=result.action, content=result.content)

    @server.tool()
    async def book_table(
        city: str,
        prefs: Annotated[TablePrefs, Resolve(_ask_table)],
        pitch: Annotated[CreateMessageResult, Resolve(_write_pitch)],
    ) -> Booking:
        """Book a table: ask the user how, and the client's model for a pitch."""
        text = pitch.content.text if isinstance(pitch.content, TextContent) else ""
        return Booking(city=city, guests=prefs.guests, seating=prefs.seating, pitch=text, model=pitch.model)

    @server.tool()
    async def approve_pitch(
        city: str,
        pitch: Annotated[CreateMessageResult, Resolve(_write_pitch)],
        approval: Annotated[Approval, Resolve(_pitch_for_approval)],
    ) -> ApprovedPitch:
        """Have the client's model write a pitch, then have the user approve it."""
        return ApprovedPitch(pitch=_sampled_text(pitch), approved=approval.approved, note=approval.note)

    @server.tool()
    async def pick_tool(
        question: str, answer: Annotated[CreateMessageResultWithTools, Resolve(_pick_tool)]
    ) -> ToolPick:
        """Ask the client's model which tool it would use."""
        blocks = answer.content if isinstance(answer.content, list) else [answer.content]
        calls = [ToolCall(name=b.name, input=b.input) for b in blocks if isinstance(b, ToolUseContent)]
        return ToolPick(stop_reason=answer.stop_reason, calls=calls)

    @server.tool()
    async def connect_account(service: str, ctx: Context) -> UrlOutcome | InputRequiredResult:
        """Send the user to a URL to connect an account (URL-mode elicitation)."""
        message = f"Connect your {service} account"
        if _stateless(ctx):
            url = f"https://auth.example.com/connect/{service}"
            answer = (ctx.input_responses or {}).get("connect")
            if answer is None:
                request = ElicitRequest(params=ElicitRequestURLParams(message=message, url=url))
                return InputRequiredResult(input_requests={"connect": request}, request_state=f"connect:{service}")
            if ctx.request_state != f"connect:{service}" or not isinstance(answer, ElicitResult):
                raise ToolError(f"bad retry: {ctx.request_state!r}, {answer!r}")
            return UrlOutcome(action=answer.action, elicitation_id=None, url=url, completed=False)
        elicitation_id = uuid.uuid4().hex
        url = f"https://auth.example.com/connect/{service}?elicitation={elicitation_id}"
        result = await ctx.session.elicit_url(message, url, elicitation_id, related_request_id=ctx.request_id)
        completed = result.action == "accept"
        if completed:
            # The out-of-band step is "done" at once; the client hears of it before the answer.
            await ctx.session.send_elicit_complete(elicitation_id, related_request_id=ctx.request_id)
        return UrlOutcome(action=result.action, elicitation_id=elicitation_id, url=url, completed=completed)

    @server.prompt()
    async def interview(role: str, ctx: Context) -> list[UserMessage] | InputRequiredResult:
        """An interview prompt; asks the user's name first."""
        schema: dict[str, Any] = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
        message = f"Who is interviewing for {role}?"
        if _stateless(ctx):
            answer = (ctx.input_responses or {}).get("who")
            if answer is None:
                request = ElicitRequest(params=ElicitRequestFormParams(message=message, requested_schema=schema))
                return InputRequiredResult(input_requests={"who": request}, request_state=f"interview:{role}")
            if ctx.request_state != f"interview:{role}" or not isinstance(answer, ElicitResult):
                raise ValueError("bad retry")
            result = answer
        else:
            result = await ctx.session.elicit_form(message, schema, related_request_id=ctx.request_id)
        name = (result.content or {}).get("name") if result.action == "accept" else None
        return [UserMessage(f"Interview {name or 'nobody'} for the {role} role.")]

    @server.tool()
    async def forecast(city: str) -> Forecast:
        """Tomorrow's weather (made up)."""
        return Forecast(city=city, temperature=Temperature(value=21.5, unit="C"), conditions=["sunny", "breezy"])

    @server.tool()
    async def bad_forecast() -> CallToolResult:
        """Claims Forecast's outputSchema, returns something else."""
        bad = {"city": "Nowhere", "temperature": "warm"}
        return CallToolResult(content=[TextContent(type="text", text=json.dumps(bad))], structured_content=bad)

    # A schema set by hand is advertised but not checked by the SDK (func_metadata.FuncMetadata).
    tool = server._tool_manager.get_tool("bad_forecast")  # noqa: SLF001
    assert tool is not None
    tool.fn_metadata.output_schema = Forecast.model_json_schema()


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
    parser.add_argument("--features", action="store_true", help="add resources, prompts, completion, sampling, elicitation")
    parser.add_argument(
        "--caching", metavar="MODE", help="count list requests; MODE: sdk, absent or a ttlMs (see above)"
    )
    parser.add_argument("--log-level", default="WARNING", choices=LOG_LEVELS, type=str.upper)
    args = parser.parse_args()

    if args.transport == "stdio":
        if args.port is not None or args.json_response or args.stateless:
            parser.error("--port/--json-response/--stateless need an HTTP transport")
    elif args.port is None:
        parser.error(f"{args.transport} needs --port N")
    if args.transport == "sse" and (args.json_response or args.stateless):
        parser.error("--json-response/--stateless apply to http only")

    if args.caching is not None and args.caching not in ("sdk", "absent") and not args.caching.isdigit():
        parser.error("--caching takes sdk, absent or a number of milliseconds")
    server = build_server(args.log_level, args.features, args.caching)
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
