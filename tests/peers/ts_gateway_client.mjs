// Interop: the official TypeScript SDK client (@modelcontextprotocol/sdk, pinned in .peers/ts-sdk)
// against `mcpmux serve`, over stdio or Streamable HTTP.
//
//     node tests/peers/ts_gateway_client.mjs SPEC
//
// The SDK is imported from MCPMUX_TS_SDK (the package folder), default
// .peers/ts-sdk/node_modules/@modelcontextprotocol/sdk under the repository root. SPEC is JSON:
//
//     {"stdio": {"command": MCPMUX, "args": [...]}} or {"http": URL},
//     "calls": [{"name": TOOL, "arguments": {...}}],          called one after another
//     "load": {"tag": T, "count": N, "concurrency": C,         optional: N calls, C at a time,
//              "until_ms": EPOCH_MS,                           (or: until this wall-clock time)
//              "tools": [{"name": TOOL, "key": ARG, "expect_prefix": P}]}
//
// Load call i goes to tools[i % len] with arguments {KEY: "T-i"}; its result is correct when
// its text is P + "T-i" and it is not an error. Prints one JSON object on stdout:
// {"protocol", "server", "tools": [names], "calls": [{"name", "is_error", "text"}],
//  "tools_list_changed": [epoch ms of each notifications/tools/list_changed],
//  "load": {"ok", "wrong", "tool_errors", "exceptions", "records": [[tool, start_ms, end_ms,
//  "ok"|"wrong"|"tool_error"|"exception", text]]}}. Any failure outside the load exits non-zero.

import { join } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const SDK =
  process.env.MCPMUX_TS_SDK ?? join(HERE, '../../.peers/ts-sdk/node_modules/@modelcontextprotocol/sdk');
const CALL_TIMEOUT_MS = 60000;

async function sdk(path) {
  return import(pathToFileURL(join(SDK, 'dist/esm', path)).href);
}

function textOf(result) {
  return (result.content ?? [])
    .filter((c) => c.type === 'text')
    .map((c) => c.text)
    .join('');
}

async function load(client, spec) {
  const out = { ok: 0, wrong: 0, tool_errors: 0, exceptions: 0, records: [] };
  const until = spec.until_ms;
  const count = spec.count ?? Number.MAX_SAFE_INTEGER;
  let next = 0;
  const worker = async () => {
    for (;;) {
      if (next >= count || (until !== undefined && Date.now() >= until)) return;
      const i = next++;
      const tool = spec.tools[i % spec.tools.length];
      const text = `${spec.tag}-${i}`;
      const start = Date.now();
      let status;
      let got;
      try {
        const r = await client.callTool(
          { name: tool.name, arguments: { [tool.key]: text } },
          undefined,
          { timeout: CALL_TIMEOUT_MS },
        );
        got = textOf(r);
        if (r.isError) status = 'tool_error';
        else if (got === (tool.expect_prefix ?? '') + text) status = 'ok';
        else status = 'wrong';
      } catch (e) {
        status = 'exception';
        got = String(e?.message ?? e);
      }
      out[{ ok: 'ok', wrong: 'wrong', tool_error: 'tool_errors', exception: 'exceptions' }[status]] += 1;
      out.records.push([tool.name, start, Date.now(), status, got]);
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency ?? 1 }, worker));
  return out;
}

async function main() {
  const spec = JSON.parse(process.argv[2]);
  const { Client } = await sdk('client/index.js');
  const { ToolListChangedNotificationSchema } = await sdk('types.js');
  const client = new Client({ name: 'mcpmux-interop-ts', version: '0' });
  const out = { calls: [], tools_list_changed: [] };
  // Every notifications/tools/list_changed, with its wall-clock time.
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    out.tools_list_changed.push(Date.now());
  });
  let transport;
  if (spec.stdio) {
    const { StdioClientTransport } = await sdk('client/stdio.js');
    transport = new StdioClientTransport({
      command: spec.stdio.command,
      args: spec.stdio.args ?? [],
      stderr: 'inherit',
    });
  } else {
    const { StreamableHTTPClientTransport } = await sdk('client/streamableHttp.js');
    transport = new StreamableHTTPClientTransport(new URL(spec.http));
  }
  await client.connect(transport);
  try {
    out.protocol = transport.protocolVersion ?? null;
    out.server = client.getServerVersion()?.name ?? null;
    const listed = await client.listTools();
    out.tools = listed.tools.map((t) => t.name);
    for (const call of spec.calls ?? []) {
      const r = await client.callTool({ name: call.name, arguments: call.arguments ?? {} }, undefined, {
        timeout: CALL_TIMEOUT_MS,
      });
      out.calls.push({ name: call.name, is_error: Boolean(r.isError), text: textOf(r) });
    }
    if (spec.load) out.load = await load(client, spec.load);
  } finally {
    await client.close();
  }
  // On a pipe, stdout is written asynchronously: exiting before the write's callback would cut
  // the result at the pipe's buffer size (64 KiB).
  await new Promise((resolve, reject) =>
    process.stdout.write(JSON.stringify(out) + '\n', (err) => (err ? reject(err) : resolve())),
  );
}

const watchdog = setTimeout(() => {
  process.stderr.write('ts_gateway_client: no result within 120 s\n');
  process.exit(3);
}, 120000);
watchdog.unref();

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`ts_gateway_client: ${e?.stack ?? e}\n`);
    process.exit(1);
  },
);
