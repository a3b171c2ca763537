// npm run bench:alerts — what built-in alerts cost ingest: the same build of hookflow with an idle
// evaluator (no rules) against one evaluating 200 rules of every kind every second (the most rules
// a workspace may have by default, at 30× the default pace), alternated over BENCH_ROUNDS rounds
// in the same run, same load (50 connections, ~1 KB JSON, shared key, SQLite FULL, no workers:
// the queue grows, so queue-lag and run rules scan real rows). Prints each round's req/s, p50/p99,
// server CPU per request, and the median with/without ratios. Numbers only.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import autocannon from 'autocannon';
import { ADMIN, ORDER_BODY, ROOT, api, stopProcess } from './harness.mjs';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 6);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const RULES = Number(process.env.BENCH_RULES ?? 200);
const KEY = 'bench-shared-key-0123456789';
const KINDS = [
  { kind: 'run_failure_rate', workflowId: 'orders' }, { kind: 'dead_letters', workflowId: null }, { kind: 'invalid_auth', workflowId: 'orders' },
  { kind: 'rate_limited', workflowId: null }, { kind: 'queue_lag', workflowId: 'orders' }, { kind: 'silence', workflowId: 'orders' },
];

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function processCpuSeconds(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^hookflow_process_cpu_seconds_total (\S+)$/m.exec(text)[1]);
}

async function ingest(rules) {
  const dataDir = mkdtempSync(join(tmpdir(), 'hookflow-bench-'));
  const port = await freePort();
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'cli', 'main.js'), 'serve'], {
    env: {
      PATH: process.env.PATH, PORT: String(port), HOOKFLOW_DATA_DIR: dataDir, HOOKFLOW_ADMIN_TOKEN: ADMIN, LOG_LEVEL: 'info',
      HOOKFLOW_WORKER_CONCURRENCY: '0', HOOKFLOW_ALERTS_INTERVAL_MS: '1000', HOOKFLOW_ALERTS_MAX_RULES: String(Math.max(RULES, 1)),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  child.stdout.resume();
  const node = { child, url: `http://127.0.0.1:${port}` };
  for (let tries = 0; ; tries++) {
    if (await fetch(`${node.url}/healthz`).then((r) => r.ok, () => false)) break;
    if (tries > 600) throw new Error('hookflow did not start within a minute');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  try {
    await api(node.url, 'POST', '/api/workspaces', { id: 'bench', name: 'Bench' });
    await api(node.url, 'POST', '/api/workspaces/bench/workflows', { id: 'orders', name: 'Orders', trigger: { type: 'webhook', sharedKey: KEY } });
    for (let i = 0; i < rules; i++) {
      const { kind, workflowId } = KINDS[i % KINDS.length];
      await api(node.url, 'POST', '/api/workspaces/bench/alert-rules', { name: `rule ${i}`, kind, workflowId });
    }
    const options = { url: `${node.url}/api/webhook/bench/orders?key=${KEY}`, method: 'POST', headers: { 'content-type': 'application/json' }, body: ORDER_BODY, connections: CONNECTIONS };
    await autocannon({ ...options, duration: 2 });
    const cpuBefore = await processCpuSeconds(node.url);
    const result = await autocannon({ ...options, duration: DURATION_S });
    const cpuUs = ((await processCpuSeconds(node.url)) - cpuBefore) * 1e6 / result.requests.total;
    return { reqPerSec: Math.round(result.requests.average), p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx, cpuUs };
  } finally {
    await stopProcess(node.child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const ratios = [];
const cpuRatios = [];
const p99Ratios = [];
for (let round = 0; round < ROUNDS; round++) {
  const sides = round % 2 === 0 ? ['without', 'with'] : ['with', 'without'];
  const results = {};
  for (const side of sides) results[side] = await ingest(side === 'with' ? RULES : 0);
  const { without, with: withRules } = results;
  ratios.push(withRules.reqPerSec / without.reqPerSec);
  cpuRatios.push(withRules.cpuUs / without.cpuUs);
  p99Ratios.push(withRules.p99 / without.p99);
  const show = (r) => `${r.reqPerSec} req/s (p50 ${r.p50} ms, p99 ${r.p99} ms, ${r.cpuUs.toFixed(1)} µs CPU/req, non-2xx ${r.non2xx})`;
  console.log(`round ${round + 1}: no rules ${show(without)}   ${RULES} rules ${show(withRules)}   req/s ratio ${(withRules.reqPerSec / without.reqPerSec).toFixed(3)}   CPU/req ratio ${(withRules.cpuUs / without.cpuUs).toFixed(3)}`);
}
const summary = (name, values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return `median ${name} with/without rules over ${ROUNDS} rounds: ${sorted[Math.floor(sorted.length / 2)].toFixed(3)} (min ${sorted[0].toFixed(3)}, max ${sorted.at(-1).toFixed(3)})`;
};
console.log(summary('req/s', ratios));
console.log(summary('p99 latency', p99Ratios));
console.log(summary('CPU per request', cpuRatios));
