// The overload row of `npm run bench`: webhooks offered at about 3× the capacity measured in the
// same run, from 2,000 connections, against `hookflow serve` with its defaults (load shedding on)
// and, as the reference, with shedding off. Prints goodput (200s per second), p50/p99 of the
// accepted webhooks, the share answered 503, and the probe latency of /healthz on the webhook
// port and on the operations listener (HOOKFLOW_OPS_PORT), measured from a separate process.
// Never an assertion: numbers only. BENCH_OVERLOAD_S sets the duration (default 8).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { ADMIN, ORDER_BODY, ROOT, api, stopProcess } from './harness.mjs';

const DURATION_S = Number(process.env.BENCH_OVERLOAD_S ?? 8);
const CONNECTIONS = 2000;
const KEY = 'bench-shared-key-0123456789';

/** `hookflow serve` with an operations listener; resolves with both URLs. */
function startNode(dataDir, env) {
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'cli', 'main.js'), 'serve'], {
    env: { PATH: process.env.PATH, PORT: '0', HOOKFLOW_OPS_PORT: '0', HOOKFLOW_DATA_DIR: dataDir, HOOKFLOW_ADMIN_TOKEN: ADMIN, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk) => {
      output += chunk.toString();
      const main = /"url":"(http:\/\/[^"]+)"[^\n]*hookflow listening/.exec(output);
      const ops = /"url":"(http:\/\/[^"]+)"[^\n]*operations listener/.exec(output);
      if (main && ops) {
        // Keep draining the output (a full pipe would stall the server) without keeping it.
        child.stdout.off('data', onData);
        child.stderr.off('data', onData);
        child.stdout.resume();
        child.stderr.resume();
        resolve({ child, url: main[1], opsUrl: ops[1] });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${output}`)));
  });
}

function startProbes(urls) {
  const child = spawn(process.execPath, [join(ROOT, 'bench', 'probe-client.mjs'), ...urls], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk.toString()));
  return async () => {
    const done = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await done;
    return JSON.parse(output);
  };
}

const pct = (values, p) => {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] * 10) / 10;
};

/** Load from `connections` connections, at most `rate` req/s overall; latencies kept per status. */
async function offer(url, { connections, rate, duration }) {
  const byStatus = new Map();
  const result = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: ORDER_BODY,
    connections,
    duration,
    timeout: 30,
    ...(rate === undefined ? {} : { overallRate: rate }),
    setupClient: (client) => {
      client.on('response', (status, _bytes, ms) => {
        if (!byStatus.has(status)) byStatus.set(status, []);
        byStatus.get(status).push(ms);
      });
    },
  });
  const ok = byStatus.get(200) ?? [];
  const answered = [...byStatus.values()].reduce((sum, list) => sum + list.length, 0);
  return {
    offered: Math.round((answered + result.errors + result.timeouts) / duration),
    goodput: Math.round(ok.length / duration),
    p50: pct(ok, 50),
    p99: pct(ok, 99),
    shed: answered === 0 ? 0 : (byStatus.get(503)?.length ?? 0) / answered,
    other: [...byStatus.keys()].filter((status) => status !== 200 && status !== 503),
    errors: result.errors + result.timeouts,
  };
}

async function withNode(env, body) {
  const dataDir = mkdtempSync(join(tmpdir(), 'hookflow-bench-overload-'));
  const node = await startNode(dataDir, { HOOKFLOW_WORKER_CONCURRENCY: '0', ...env });
  try {
    await api(node.url, 'POST', '/api/workspaces', { id: 'bench', name: 'Bench' });
    await api(node.url, 'POST', '/api/workspaces/bench/workflows', { id: 'orders', name: 'Orders', trigger: { type: 'webhook', sharedKey: KEY, bodyMemory: 'orderData' } });
    return await body(node, `${node.url}/api/webhook/bench/orders?key=${KEY}`);
  } finally {
    await stopProcess(node.child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function overloadRun(env, rate) {
  return withNode(env, async (node, webhookUrl) => {
    const idleStop = startProbes([`${node.url}/healthz`, `${node.opsUrl}/healthz`]);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const idle = await idleStop();
    const stopProbes = startProbes([`${node.url}/healthz`, `${node.opsUrl}/healthz`]);
    const load = await offer(webhookUrl, { connections: CONNECTIONS, rate, duration: DURATION_S });
    const probes = await stopProbes();
    const main = probes[`${node.url}/healthz`];
    const ops = probes[`${node.opsUrl}/healthz`];
    return {
      ...load,
      idleMain: { p50: pct(idle[`${node.url}/healthz`], 50), p99: pct(idle[`${node.url}/healthz`], 99) },
      main: { p50: pct(main, 50), p99: pct(main, 99), n: main.length },
      ops: { p50: pct(ops, 50), p99: pct(ops, 99), n: ops.length },
    };
  });
}

export async function benchOverload() {
  // Capacity: closed loop at 50 connections, the ingest row's load, on a default node.
  const capacity = await withNode({}, async (_node, webhookUrl) => {
    await offer(webhookUrl, { connections: 50, duration: 2 });
    return (await offer(webhookUrl, { connections: 50, duration: 5 })).goodput;
  });
  const rate = capacity * 3;
  const shedding = await overloadRun({}, rate);
  const unshed = await overloadRun({ HOOKFLOW_SHED_EVENT_LOOP_DELAY_MS: '0', HOOKFLOW_SHED_PENDING_WRITES: '0' }, rate);
  const line = (name, r) =>
    `  ${name.padEnd(24)} offered ${String(r.offered).padStart(6)}/s  goodput ${String(r.goodput).padStart(6)}/s (${(r.goodput / capacity).toFixed(2)}× capacity)  ` +
    `200s p50 ${r.p50} ms p99 ${r.p99} ms  503 ${(r.shed * 100).toFixed(0)}%  other ${JSON.stringify(r.other)} errors ${r.errors}  ` +
    `/healthz webhook port p50 ${r.main.p50} p99 ${r.main.p99} ms (idle p99 ${r.idleMain.p99}), ops port p50 ${r.ops.p50} p99 ${r.ops.p99} ms`;
  console.log(`\noverload: ${CONNECTIONS} connections for ${DURATION_S} s, offered at 3× the capacity measured now (${capacity}/s at 50 connections → ${rate}/s), ${Buffer.byteLength(ORDER_BODY)} B JSON, probes from a separate process every 50 ms`);
  console.log(line('defaults (shedding on)', shedding));
  console.log(line('shedding off', unshed));
  return { capacity, shedding, unshed };
}

if (import.meta.url === `file://${process.argv[1]}`) await benchOverload();
