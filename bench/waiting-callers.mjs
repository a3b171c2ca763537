// npm run bench:waiting — what callers waiting for a `result`-mode answer cost everyone else's ingest
// (issue 12: "500 concurrent waiting callers, ingest of other webhooks unaffected within noise").
// One hookflow (SQLite, FULL) with no workers, so the waited-for runs stay queued and their callers
// wait until `timeoutMs`. Each round measures shared-key ingest to another workflow twice, alternating
// which goes first: alone, and while BENCH_WAITERS callers wait. Prints each side's req/s and p50/p99
// and the median with/without ratio. Numbers only; loopback only.
import { mkdtempSync, rmSync } from 'node:fs';
import { request, Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { ORDER_BODY, api, startHookflow, stopProcess } from './harness.mjs';

const WAITERS = Number(process.env.BENCH_WAITERS ?? 500);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 6);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const KEY = 'bench-shared-key-0123456789';

/** Runs queued (no workers here: every run ingested stays queued). */
async function queueDepth(base) {
  const text = await (await fetch(`${base}/metrics`)).text();
  return Number(/^hookflow_queue_depth (\d+)/m.exec(text)?.[1] ?? 0);
}

/** Opens `count` result-mode calls that wait (their runs never start); resolves once all are committed and waiting, with a function that ends them. */
async function openWaiters(base, count) {
  const before = await queueDepth(base);
  const agent = new Agent({ keepAlive: false, maxSockets: count });
  const pending = [];
  const started = [];
  for (let i = 0; i < count; i++) {
    started.push(new Promise((resolve) => {
      const req = request(`${base}/api/webhook/bench/slow?key=${KEY}`, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
      });
      req.on('error', () => {});
      req.end(JSON.stringify({ n: i }));
      pending.push(req);
      // Sent; the server commits it and then holds the answer.
      req.on('finish', resolve);
    }));
  }
  await Promise.all(started);
  // Let the commits land so every caller is in the waiting state, not still being ingested.
  for (let tries = 0; tries < 100 && (await queueDepth(base)) < before + count; tries++) await new Promise((resolve) => setTimeout(resolve, 100));
  return () => {
    for (const req of pending) req.destroy();
    agent.destroy();
  };
}

async function measure(base) {
  const options = { url: `${base}/api/webhook/bench/orders?key=${KEY}`, method: 'POST', headers: { 'content-type': 'application/json' }, body: ORDER_BODY, connections: CONNECTIONS };
  const result = await autocannon({ ...options, duration: DURATION_S });
  return { reqPerSec: Math.round(result.requests.average), p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx };
}

const dataDir = mkdtempSync(join(tmpdir(), 'hookflow-bench-wait-'));
const node = await startHookflow(dataDir, { HOOKFLOW_WORKER_CONCURRENCY: '0' });
const ratios = [];
try {
  await api(node.url, 'POST', '/api/workspaces', { id: 'bench', name: 'Bench' });
  await api(node.url, 'POST', '/api/workspaces/bench/workflows', { id: 'orders', name: 'Orders', trigger: { type: 'webhook', sharedKey: KEY } });
  await api(node.url, 'POST', '/api/workspaces/bench/workflows', {
    id: 'slow', name: 'Waited for', trigger: { type: 'webhook', sharedKey: KEY, response: { mode: 'result', timeoutMs: 60_000 } },
  });
  await autocannon({ url: `${node.url}/api/webhook/bench/orders?key=${KEY}`, method: 'POST', headers: { 'content-type': 'application/json' }, body: ORDER_BODY, connections: CONNECTIONS, duration: 2 });
  for (let round = 0; round < ROUNDS; round++) {
    const sides = round % 2 === 0 ? ['alone', 'waiting'] : ['waiting', 'alone'];
    const results = {};
    for (const side of sides) {
      const close = side === 'waiting' ? await openWaiters(node.url, WAITERS) : () => {};
      try {
        results[side] = await measure(node.url);
      } finally {
        close();
      }
    }
    const ratio = results.waiting.reqPerSec / results.alone.reqPerSec;
    ratios.push(ratio);
    const show = (r) => `${r.reqPerSec} req/s (p50 ${r.p50} ms, p99 ${r.p99} ms, non-2xx ${r.non2xx})`;
    console.log(`round ${round + 1}: alone ${show(results.alone)}   with ${WAITERS} waiting callers ${show(results.waiting)}   ratio ${ratio.toFixed(3)}`);
  }
} finally {
  await stopProcess(node.child);
  rmSync(dataDir, { recursive: true, force: true });
}
const sorted = [...ratios].sort((a, b) => a - b);
console.log(`median req/s with/without ${WAITERS} waiting callers over ${ROUNDS} rounds: ${sorted[Math.floor(sorted.length / 2)].toFixed(3)} (min ${sorted[0].toFixed(3)}, max ${sorted.at(-1).toFixed(3)})`);
