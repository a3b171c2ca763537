// npm run bench: hookflow ingest against a bare Fastify baseline, measured in the same run on
// loopback with autocannon (50 connections, ~1 KB JSON). Prints req/s, p50/p99 and the ratio.
// Two more reference servers put the ratio in context (harness.mjs): the naive durable server
// (group commit on the main thread) and the "store floor" (bare Fastify writing through
// hookflow's own store, with none of the ingress checks).
// Set BENCH_DURATION_S / BENCH_CONNECTIONS / BENCH_ROUNDS to change the load. Never an assertion: numbers only.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { ORDER_BODY, REFERENCE_SERVERS, api, startHookflow, startProcess, stopProcess } from './harness.mjs';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 6);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const KEY = 'bench-shared-key-0123456789';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

async function load(url, headers, body = ORDER_BODY) {
  // A short warm-up so JIT and caches settle, then the measured run.
  await autocannon({ url, method: 'POST', headers, body, connections: CONNECTIONS, duration: 2 });
  const result = await autocannon({ url, method: 'POST', headers, body, connections: CONNECTIONS, duration: DURATION_S });
  return {
    reqPerSec: Math.round(result.requests.average),
    p50: result.latency.p50,
    mean: result.latency.average,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

const row = (name, r, base) =>
  `${name.padEnd(34)} ${String(r.reqPerSec).padStart(8)} req/s   p50 ${String(r.p50).padStart(4)} ms   p99 ${String(r.p99).padStart(4)} ms   ratio ${(r.reqPerSec / base.reqPerSec).toFixed(2)}   non-2xx ${r.non2xx}   errors ${r.errors}`;

/** Load on one of the reference servers (harness.mjs), each started fresh. */
async function referenceLoad(name) {
  const reference = await startProcess([REFERENCE_SERVERS[name]], {}, /"url":"([^"]+)"/);
  try {
    return await load(`${reference.url}/api/webhook/ws/wf`, { 'content-type': 'application/json' });
  } finally {
    await stopProcess(reference.child);
  }
}

/** Ingest on a fresh `hookflow serve` (its own data dir), so no run inherits another's database. */
async function ingestOn(trigger, path, headers, env = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'hookflow-bench-'));
  const node = await startHookflow(dataDir, { HOOKFLOW_WORKER_CONCURRENCY: '0', ...env });
  try {
    await api(node.url, 'POST', '/api/workspaces', { id: 'bench', name: 'Bench' });
    await api(node.url, 'POST', '/api/workspaces/bench/workflows', { id: 'orders', name: 'Orders', trigger });
    return await load(`${node.url}/api/webhook/bench/orders${path}`, headers);
  } finally {
    await stopProcess(node.child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const { createHmac } = await import('node:crypto');
const signature = `sha256=${createHmac('sha256', 'bench-github-secret').update(ORDER_BODY).digest('hex')}`;
const sharedKeyLoad = (env) => ingestOn(
  { type: 'webhook', sharedKey: KEY, headerMemory: 'orderHeaders', bodyMemory: 'orderData' },
  `?key=${KEY}`,
  { 'content-type': 'application/json', 'user-agent': 'bench/1.0' },
  env,
);
const signedLoad = () => ingestOn(
  { type: 'webhook', headerMemory: 'orderHeaders', bodyMemory: 'orderData', signature: { scheme: 'github', secret: 'bench-github-secret' } },
  '',
  { 'content-type': 'application/json', 'user-agent': 'bench/1.0', 'x-hub-signature-256': signature },
);

// The same trigger with a trigger.filter that matches every call: the whole filter cost (parse the
// stored body, evaluate the compiled CEL) on top of the same accepted write.
const filteredLoad = () => ingestOn(
  { type: 'webhook', sharedKey: KEY, headerMemory: 'orderHeaders', bodyMemory: 'orderData', filter: 'body.event == "order_completed" && headers["content-type"] == "application/json"' },
  `?key=${KEY}`,
  { 'content-type': 'application/json', 'user-agent': 'bench/1.0' },
);

// Rounds alternate the servers, so a slow patch of this shared machine weighs on all of them
// alike instead of on whichever happened to run then.
// "writer" rows: webhooks committed on the writer thread (HOOKFLOW_SQLITE_INGEST_PATH=writer),
// the design before the main-thread path, kept as a reference.
const rounds = { base: [], naive: [], floorWriter: [], floor: [], ingestWriter: [], ingest: [], signed: [], filter: [] };
for (let round = 0; round < ROUNDS; round++) {
  rounds.base.push(await referenceLoad('baseline'));
  rounds.naive.push(await referenceLoad('naive'));
  rounds.floorWriter.push(await referenceLoad('store-floor-writer'));
  rounds.floor.push(await referenceLoad('store-floor'));
  rounds.ingestWriter.push(await sharedKeyLoad({ HOOKFLOW_SQLITE_INGEST_PATH: 'writer' }));
  rounds.ingest.push(await sharedKeyLoad());
  rounds.signed.push(await signedLoad());
  rounds.filter.push(await filteredLoad());
}
/** Mean throughput over the rounds; latencies from the round with the worst p99 (the honest one). */
const combine = (results) => {
  const worst = results.reduce((a, b) => (b.p99 > a.p99 ? b : a));
  const mean = (pick) => results.reduce((sum, r) => sum + pick(r), 0) / results.length;
  return { ...worst, reqPerSec: Math.round(mean((r) => r.reqPerSec)), mean: mean((r) => r.mean), non2xx: mean((r) => r.non2xx) * results.length, errors: mean((r) => r.errors) * results.length };
};
const base = combine(rounds.base);
const naive = combine(rounds.naive);
const floor = combine(rounds.floor);
const floorWriter = combine(rounds.floorWriter);
const ingestWriter = combine(rounds.ingestWriter);
const ingest = combine(rounds.ingest);
const signed = combine(rounds.signed);
const filter = combine(rounds.filter);

console.log(`\ningest: ${CONNECTIONS} connections, ${ROUNDS} rounds of ${DURATION_S} s each, ${Buffer.byteLength(ORDER_BODY)} B JSON, SQLite synchronous=FULL (or NORMAL + fdatasync before the answer), loopback`);
const ratioIn = (round, name) => (rounds[name][round].reqPerSec / rounds.base[round].reqPerSec).toFixed(2);
for (let round = 0; round < ROUNDS; round++) {
  console.log(
    `  round ${round + 1}: baseline ${rounds.base[round].reqPerSec}, naive ${rounds.naive[round].reqPerSec} (${ratioIn(round, 'naive')}), ` +
      `store floor writer ${rounds.floorWriter[round].reqPerSec} (${ratioIn(round, 'floorWriter')}), main ${rounds.floor[round].reqPerSec} (${ratioIn(round, 'floor')}), ` +
      `shared key writer ${rounds.ingestWriter[round].reqPerSec} (${ratioIn(round, 'ingestWriter')}), main ${rounds.ingest[round].reqPerSec} (${ratioIn(round, 'ingest')}, p99 ${rounds.ingest[round].p99} ms), ` +
      `github signature ${rounds.signed[round].reqPerSec} req/s, with a filter ${rounds.filter[round].reqPerSec} req/s`,
  );
}
const medianRatio = (name) => rounds[name].map((r, i) => r.reqPerSec / rounds.base[i].reqPerSec).sort((a, b) => a - b)[Math.floor(ROUNDS / 2)].toFixed(2);
console.log(`  median of the rounds' ratios to the baseline: shared key ${medianRatio('ingest')} (writer path ${medianRatio('ingestWriter')}), store floor ${medianRatio('floor')} (writer path ${medianRatio('floorWriter')}), naive ${medianRatio('naive')}`);
console.log('mean req/s over the rounds; p50/p99 of the round with the worst p99:');
console.log(row('bare Fastify (baseline)', base, base));
console.log(row('naive group commit, main thread', naive, base));
console.log(row('store floor, writer-thread ingest', floorWriter, base));
console.log(row('store floor: Fastify + our store', floor, base));
console.log(row('hookflow, shared key, writer path', ingestWriter, base));
console.log(row('hookflow ingest (shared key)', ingest, base));
console.log(row('hookflow ingest (github signature)', signed, base));
console.log(row('ingest with a filter (shared key)', filter, base));
// Per round, signed against shared-key mean latency (autocannon's p50 is in whole milliseconds),
// then the median: one slow patch of the machine during one run must not decide the figure.
const overheads = rounds.signed.map((r, i) => (r.mean - rounds.ingest[i].mean) / rounds.ingest[i].mean);
const medianOverhead = [...overheads].sort((a, b) => a - b)[Math.floor(overheads.length / 2)];
console.log(`signature overhead vs shared key, mean latency: ${overheads.map((o) => `${Math.round(o * 100)}%`).join(', ')} by round; median ${Math.round(medianOverhead * 100)}%`);
// Same method for the filter: per round, throughput lost against the shared-key run of that round.
const filterCosts = rounds.filter.map((r, i) => 1 - r.reqPerSec / rounds.ingest[i].reqPerSec);
const medianFilterCost = [...filterCosts].sort((a, b) => a - b)[Math.floor(filterCosts.length / 2)];
console.log(`filter cost vs shared key, throughput: ${filterCosts.map((c) => `${Math.round(c * 100)}%`).join(', ')} by round; median ${Math.round(medianFilterCost * 100)}%`);

if (process.env.BENCH_SKIP_CLUSTER !== '1') {
  const { benchPostgres, benchSharedRateLimits, benchWaitingCallers } = await import('./cluster.mjs');
  await benchPostgres(base.reqPerSec);
  await benchSharedRateLimits(base.reqPerSec);
  await benchWaitingCallers();
}

const { benchExactJson } = await import('./exact-json.mjs');
benchExactJson();

if (process.env.BENCH_SKIP_E2E !== '1') {
  const { benchEndToEnd } = await import('./end-to-end.mjs');
  await benchEndToEnd();
}

if (process.env.BENCH_SKIP_OVERLOAD !== '1') {
  const { benchOverload } = await import('./overload.mjs');
  await benchOverload();
}
