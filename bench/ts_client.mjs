// The official TypeScript SDK client (@modelcontextprotocol/sdk 1.32.2) as an mcpmux-bench worker.
//
// Run by `mcpmux-bench all` as `node bench/ts_client.mjs SPEC` with MCPMUX_BENCH_TS_SDK set to the
// SDK's package folder (.peers/ts-sdk/node_modules/@modelcontextprotocol/sdk). SPEC is the JSON
// worker spec of crates/mcpmux-bench/src/spec.rs. Line protocol on stdout/stdin: `@bench ready`,
// then per `go` one `@bench result {...}`, until `exit` or end of input.
//
// SDK defaults throughout: Client + StdioClientTransport / StreamableHTTPClientTransport;
// concurrent calls are Promise.all over callTool. listTools is called once before the runs.

import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const PREFIX = '@bench ';
const MAX_CONTROL_LINES = 100000;

function say(line) {
  process.stdout.write(PREFIX + line + '\n');
}

function cpuNs() {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

// Nearest rank, as the Rust side: sorted[ceil(q*n) - 1].
function quantile(sorted, q) {
  if (sorted.length === 0) return undefined;
  const n = sorted.length;
  const rank = Math.min(Math.max(Math.ceil(q * n), 1), n);
  return sorted[rank - 1];
}

function payload(n) {
  const pattern = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return pattern.repeat(Math.floor(n / pattern.length) + 1).slice(0, n);
}

function callArguments(call) {
  const args = { ...(call.arguments ?? {}) };
  if (call.fill) args[call.fill.key] = payload(call.fill.bytes);
  return args;
}

async function sdk(path) {
  const root = process.env.MCPMUX_BENCH_TS_SDK;
  if (!root) throw new Error('MCPMUX_BENCH_TS_SDK is not set');
  return import(pathToFileURL(join(root, 'dist/esm', path)).href);
}

async function runOnce(client, spec, args, calls, timeoutMs) {
  const out = { ok: 0, errors: 0, first_error: undefined };
  const latencies = [];
  const fail = (msg) => {
    out.errors += 1;
    if (out.first_error === undefined) out.first_error = msg;
  };
  const one = async () => {
    try {
      const r = await client.callTool({ name: spec.call.tool, arguments: args }, undefined, {
        timeout: timeoutMs,
      });
      if (r.isError) fail('isError: true');
      else out.ok += 1;
    } catch (e) {
      fail(String(e?.message ?? e));
    }
  };
  const start = process.hrtime.bigint();
  if (spec.mode === 'sequential') {
    const deadline = Date.now() + timeoutMs;
    for (let i = 0; i < calls; i++) {
      if (Date.now() > deadline) {
        fail('run timed out');
        out.errors += calls - i - 1;
        break;
      }
      const t = process.hrtime.bigint();
      await one();
      latencies.push(Number(process.hrtime.bigint() - t));
    }
  } else {
    const all = [];
    for (let i = 0; i < calls; i++) all.push(one());
    await Promise.all(all);
  }
  const wall = Number(process.hrtime.bigint() - start);
  latencies.sort((a, b) => a - b);
  return {
    ...out,
    wall_ns: wall,
    p50_ns: quantile(latencies, 0.5),
    p99_ns: quantile(latencies, 0.99),
  };
}

async function main() {
  const spec = JSON.parse(process.argv[2]);
  const { Client } = await sdk('client/index.js');
  const client = new Client({ name: 'mcpmux-bench-ts', version: '0' });
  let transport;
  if (spec.target.stdio) {
    const { StdioClientTransport } = await sdk('client/stdio.js');
    transport = new StdioClientTransport({
      command: spec.target.stdio.command,
      args: spec.target.stdio.args ?? [],
      stderr: 'inherit',
    });
  } else {
    const { StreamableHTTPClientTransport } = await sdk('client/streamableHttp.js');
    transport = new StreamableHTTPClientTransport(new URL(spec.target.http.url));
  }
  await client.connect(transport);
  try {
    await client.listTools();
    const args = callArguments(spec.call);
    const timeoutMs = spec.run_timeout_ms;
    if (spec.warmup > 0) {
      const warm = await runOnce(client, spec, args, Math.min(spec.warmup, spec.calls), timeoutMs);
      if (warm.errors) {
        say('error warm-up: ' + warm.first_error);
        return;
      }
    }
    say('ready');
    const rl = createInterface({ input: process.stdin });
    const lines = rl[Symbol.asyncIterator]();
    for (let n = 0; n < MAX_CONTROL_LINES; n++) {
      const { value, done } = await lines.next();
      if (done || value.trim() === 'exit') break;
      if (value.trim() !== 'go') continue;
      const cpu0 = cpuNs();
      const out = await runOnce(client, spec, args, spec.calls, timeoutMs);
      out.cpu_ns = Math.round(cpuNs() - cpu0);
      say('result ' + JSON.stringify(out));
    }
    rl.close();
  } finally {
    await client.close();
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    say('error ' + String(e?.stack ?? e).split('\n')[0]);
    process.exit(1);
  },
);
