// npm run bench:observe — what per-workflow metrics, stored stats and the webhook log line cost
// ingest: this checkout's hookflow against a build of an earlier commit (BENCH_BEFORE_ROOT, a
// directory holding that commit's dist/ and node_modules/), alternated over BENCH_ROUNDS rounds
// in the same run, same load (50 connections, ~1 KB JSON, shared key, SQLite FULL).
// Prints each round's req/s, p50/p99 and server CPU per request, and the median after/before ratios. Numbers only.
//
//   git archive <commit> | tar -x -C /tmp/hookflow-before && ln -s "$PWD/node_modules" /tmp/hookflow-before/
//   (cd /tmp/hookflow-before && npx tsc -p tsconfig.build.json)
//   BENCH_BEFORE_ROOT=/tmp/hookflow-before npm run bench:observe
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { ADMIN, ORDER_BODY, ROOT, api, stopProcess } from './harness.mjs';

const BEFORE_ROOT = process.env.BENCH_BEFORE_ROOT;
if (BEFORE_ROOT === undefined) throw new Error('set BENCH_BEFORE_ROOT to a build of the commit to compare with (see the comment at the top)');
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 6);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const KEY = 'bench-shared-key-0123456789';

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

/** Log level of each side (default info, as in production); e.g. BENCH_AFTER_LOG_LEVEL=warn isolates the log line's cost. */
const LOG_LEVELS = { before: process.env.BENCH_BEFORE_LOG_LEVEL ?? 'info', after: process.env.BENCH_AFTER_LOG_LEVEL ?? 'info' };

async function ingest(root, logLevel) {
  const dataDir = mkdtempSync(join(tmpdir(), 'hookflow-bench-'));
  // A port chosen here and /healthz polled: at a level above info the "listening" line never shows.
  const port = await freePort();
  const child = spawn(process.execPath, [join(root, 'dist', 'cli', 'main.js'), 'serve'], {
    env: { PATH: process.env.PATH, PORT: String(port), HOOKFLOW_DATA_DIR: dataDir, HOOKFLOW_ADMIN_TOKEN: ADMIN, LOG_LEVEL: logLevel, HOOKFLOW_WORKER_CONCURRENCY: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // Read (and drop) what it logs, as a log collector would.
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
    const options = { url: `${node.url}/api/webhook/bench/orders?key=${KEY}`, method: 'POST', headers: { 'content-type': 'application/json' }, body: ORDER_BODY, connections: CONNECTIONS };
    await autocannon({ ...options, duration: 2 });
    const cpuBefore = await processCpuSeconds(node.url);
    const result = await autocannon({ ...options, duration: DURATION_S });
    // CPU seconds the server process (all its threads) spent per request: steadier than req/s
    // when other work shares the machine, since time spent waiting for a core does not count.
    const cpuUsPerRequest = ((await processCpuSeconds(node.url)) - cpuBefore) * 1e6 / result.requests.total;
    return { reqPerSec: Math.round(result.requests.average), p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx, cpuUs: cpuUsPerRequest };
  } finally {
    await stopProcess(node.child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const ratios = [];
const cpuRatios = [];
for (let round = 0; round < ROUNDS; round++) {
  // Alternate which goes first, so a slow patch of the shared machine weighs on both alike.
  const sides = round % 2 === 0 ? ['before', 'after'] : ['after', 'before'];
  const results = {};
  for (const side of sides) results[side] = await ingest(side === 'before' ? BEFORE_ROOT : ROOT, LOG_LEVELS[side]);
  const { before, after } = results;
  ratios.push(after.reqPerSec / before.reqPerSec);
  cpuRatios.push(after.cpuUs / before.cpuUs);
  const show = (r) => `${r.reqPerSec} req/s (p50 ${r.p50} ms, p99 ${r.p99} ms, ${r.cpuUs.toFixed(1)} µs CPU/req, non-2xx ${r.non2xx})`;
  console.log(`round ${round + 1}: before ${show(before)}   after ${show(after)}   req/s ratio ${(after.reqPerSec / before.reqPerSec).toFixed(3)}   CPU/req ratio ${(after.cpuUs / before.cpuUs).toFixed(3)}`);
}
const summary = (name, values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return `median ${name} after/before over ${ROUNDS} rounds: ${sorted[Math.floor(sorted.length / 2)].toFixed(3)} (min ${sorted[0].toFixed(3)}, max ${sorted.at(-1).toFixed(3)})`;
};
console.log(summary('req/s', ratios));
console.log(summary('CPU per request', cpuRatios));
