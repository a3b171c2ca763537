// Where the CPU goes: runs `hookflow serve` under load and prints each thread's CPU (from
// /proc/<pid>/task/*/stat, so Linux only) as a share of a core and in µs per webhook, plus the
// load generator's own. The main thread is the one whose id is the process id; the others are,
// in order of creation, V8's platform threads (GC, compilation), the SQLite writer and the
// script threads. A tool for finding costs, not a figure to quote: use `npm run bench` for those.
//
//   node bench/cpu-by-thread.mjs ingest     autocannon for BENCH_DURATION_S (default 8) s, no workers
//   node bench/cpu-by-thread.mjs e2e        a burst of BENCH_E2E_RUNS (default 6000) one-step script runs
//
// Both warm the process up first (2,000 webhooks). NODE_ARGS passes flags to the server's node,
// e.g. NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" (the profile is written on exit).
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { ADMIN, ORDER_BODY, ROOT, api, startProcess, stopProcess } from './harness.mjs';

const mode = process.argv[2] === 'e2e' ? 'e2e' : 'ingest';
const KEY = 'bench-threads-key-0123456789';
const WARM_UP = 2000;
const CLOCK_TICK_US = 10_000; // USER_HZ is 100 on Linux

/** CPU ticks (user + system) of every thread of a process, by thread id. */
function threadTicks(pid) {
  const ticks = new Map();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks.set(Number(tid), Number(fields[11]) + Number(fields[12]));
  }
  return ticks;
}

async function finishedRuns(base) {
  const text = await (await fetch(`${base}/metrics`)).text();
  let total = 0;
  for (const match of text.matchAll(/^hookflow_runs_finished_total\{status="\w+"\} (\d+)/gm)) total += Number(match[1]);
  return total;
}

async function waitForRuns(base, expected) {
  const deadline = Date.now() + 120_000;
  while ((await finishedRuns(base)) < expected) {
    if (Date.now() > deadline) throw new Error(`runs did not finish: expected ${expected}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const dataDir = mkdtempSync(join(tmpdir(), 'hookflow-threads-'));
const nodeArgs = (process.env.NODE_ARGS ?? '').split(' ').filter(Boolean);
const server = await startProcess(
  [...nodeArgs, join(ROOT, 'dist', 'cli', 'main.js'), 'serve'],
  { PORT: '0', HOOKFLOW_DATA_DIR: dataDir, HOOKFLOW_ADMIN_TOKEN: ADMIN, LOG_LEVEL: 'info', HOOKFLOW_WORKER_CONCURRENCY: mode === 'e2e' ? (process.env.BENCH_WORKER_CONCURRENCY ?? '32') : '0' },
  /"url":"(http:\/\/[^"]+)"[^\n]*hookflow listening/,
);
try {
  await api(server.url, 'POST', '/api/workspaces', { id: 'bench', name: 'Bench' });
  await api(server.url, 'POST', '/api/workspaces/bench/workflows', {
    id: 'flow', name: 'Flow', trigger: { type: 'webhook', sharedKey: KEY, bodyMemory: 'order' },
    steps: [{ id: 'pick', type: 'script', code: 'return memory.load("order").order_id;', output: 'orderId' }],
  });
  const load = { url: `${server.url}/api/webhook/bench/flow?key=${KEY}`, method: 'POST', headers: { 'content-type': 'application/json' }, body: ORDER_BODY, connections: 50 };
  await autocannon({ ...load, amount: WARM_UP });
  if (mode === 'e2e') await waitForRuns(server.url, WARM_UP);

  const before = threadTicks(server.child.pid);
  const ownBefore = process.cpuUsage();
  const started = performance.now();
  let webhooks;
  if (mode === 'e2e') {
    webhooks = Number(process.env.BENCH_E2E_RUNS ?? 6000);
    await autocannon({ ...load, amount: webhooks });
    await waitForRuns(server.url, WARM_UP + webhooks);
  } else {
    const result = await autocannon({ ...load, duration: Number(process.env.BENCH_DURATION_S ?? 8) });
    webhooks = result.requests.total;
  }
  const seconds = (performance.now() - started) / 1000;
  const after = threadTicks(server.child.pid);
  const own = process.cpuUsage(ownBefore);

  const line = (name, microseconds) =>
    `  ${name.padEnd(22)} ${String(Math.round(microseconds / seconds / 10_000)).padStart(4)} % of a core   ${String(Math.round(microseconds / webhooks)).padStart(5)} µs per webhook`;
  console.log(`${mode}: ${webhooks} webhooks in ${seconds.toFixed(2)} s (${Math.round(webhooks / seconds)}/s${mode === 'e2e' ? ', until every run finished' : ''})`);
  let total = 0;
  for (const [tid, ticks] of after) {
    const used = (ticks - (before.get(tid) ?? 0)) * CLOCK_TICK_US;
    total += used;
    if (used / seconds > 10_000) console.log(line(tid === server.child.pid ? 'main thread' : `thread ${tid}`, used));
  }
  console.log(line('server, all threads', total));
  console.log(line('load generator', own.user + own.system));
} finally {
  await stopProcess(server.child);
  rmSync(dataDir, { recursive: true, force: true });
}
