// Where the CPU goes: runs a server under load and prints each thread's CPU (from
// /proc/<pid>/task/*/stat, so Linux only) as a share of a core and in µs per webhook, plus the
// load generator's own. The main thread is the one whose id is the process id; the others are,
// in order of creation, V8's platform threads (GC, compilation), the SQLite writer and the
// script threads. A tool for finding costs, not a figure to quote: use `npm run bench` for those.
//
//   node bench/cpu-by-thread.mjs ingest       hookflow, autocannon for BENCH_DURATION_S (default 8) s, no workers
//   node bench/cpu-by-thread.mjs e2e          hookflow, a burst of BENCH_E2E_RUNS (default 6000) one-step script runs
//   node bench/cpu-by-thread.mjs baseline     the reference servers of `npm run bench`, loaded like `ingest`
//   node bench/cpu-by-thread.mjs naive
//   node bench/cpu-by-thread.mjs store-floor
//
// All warm the server up first (2,000 webhooks). It also prints how the main thread spent the
// wall time (on a CPU, runnable but waiting for one, asleep), the whole machine's idle share and
// the bytes the server wrote per webhook. NODE_ARGS passes flags to the server's node, e.g.
// NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" (the profile is written on exit);
// BENCH_CONNECTIONS sets the load's connections (default 50); the caller's HOOKFLOW_* variables
// reach hookflow, to compare settings (e.g. HOOKFLOW_SQLITE_SYNCHRONOUS=NORMAL).
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { finishedRuns } from './end-to-end.mjs';
import { ADMIN, ORDER_BODY, REFERENCE_SERVERS, ROOT, api, startProcess, stopProcess } from './harness.mjs';

const mode = process.argv[2] ?? 'ingest';
if (mode !== 'ingest' && mode !== 'e2e' && !(mode in REFERENCE_SERVERS)) {
  throw new Error(`unknown mode "${mode}": ingest, e2e, ${Object.keys(REFERENCE_SERVERS).join(', ')}`);
}
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

/** Everything read from /proc at the start and the end of the measured load. */
function snapshot(pid) {
  const [onCpuNs, waitingNs, timeslices] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').trim().split(' ').map(Number);
  const io = Object.fromEntries(readFileSync(`/proc/${pid}/io`, 'utf8').trim().split('\n').map((line) => {
    const [name, value] = line.split(': ');
    return [name, Number(value)];
  }));
  // The machine's first line: user nice system idle iowait irq softirq steal …, in ticks.
  const machine = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return { threads: threadTicks(pid), main: { onCpuNs, waitingNs, timeslices }, io, machine, own: process.cpuUsage() };
}

async function waitForRuns(base, expected) {
  const deadline = Date.now() + 120_000;
  while ((await finishedRuns(base)) < expected) {
    if (Date.now() > deadline) throw new Error(`runs did not finish: expected ${expected}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Starts the server to measure and returns it with the URL to load. */
async function startServer(dataDir, nodeArgs) {
  if (mode in REFERENCE_SERVERS) {
    const server = await startProcess([...nodeArgs, REFERENCE_SERVERS[mode]], {}, /"url":"([^"]+)"/);
    return { server, url: `${server.url}/api/webhook/ws/wf` };
  }
  const server = await startProcess(
    [...nodeArgs, join(ROOT, 'dist', 'cli', 'main.js'), 'serve'],
    {
      PORT: '0', HOOKFLOW_DATA_DIR: dataDir, HOOKFLOW_ADMIN_TOKEN: ADMIN, LOG_LEVEL: 'info',
      HOOKFLOW_WORKER_CONCURRENCY: mode === 'e2e' ? (process.env.BENCH_WORKER_CONCURRENCY ?? '32') : '0',
      ...Object.fromEntries(Object.entries(process.env).filter(([name]) => name.startsWith('HOOKFLOW_'))),
    },
    /"url":"(http:\/\/[^"]+)"[^\n]*hookflow listening/,
  );
  await api(server.url, 'POST', '/api/workspaces', { id: 'bench', name: 'Bench' });
  await api(server.url, 'POST', '/api/workspaces/bench/workflows', {
    id: 'flow', name: 'Flow', trigger: { type: 'webhook', sharedKey: KEY, bodyMemory: 'order' },
    steps: [{ id: 'pick', type: 'script', code: 'return memory.load("order").order_id;', output: 'orderId' }],
  });
  return { server, url: `${server.url}/api/webhook/bench/flow?key=${KEY}` };
}

const dataDir = mkdtempSync(join(tmpdir(), 'hookflow-threads-'));
const { server, url } = await startServer(dataDir, (process.env.NODE_ARGS ?? '').split(' ').filter(Boolean));
try {
  const load = { url, method: 'POST', headers: { 'content-type': 'application/json' }, body: ORDER_BODY, connections: Number(process.env.BENCH_CONNECTIONS ?? 50) };
  await autocannon({ ...load, amount: WARM_UP });
  if (mode === 'e2e') await waitForRuns(server.url, WARM_UP);

  const before = snapshot(server.child.pid);
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
  const after = snapshot(server.child.pid);

  const share = (part) => `${String(Math.round(part * 100)).padStart(3)} %`;
  const line = (name, microseconds) =>
    `  ${name.padEnd(22)} ${String(Math.round(microseconds / seconds / 10_000)).padStart(4)} % of a core   ${String(Math.round(microseconds / webhooks)).padStart(5)} µs per webhook`;
  console.log(`${mode}: ${webhooks} webhooks in ${seconds.toFixed(2)} s (${Math.round(webhooks / seconds)}/s${mode === 'e2e' ? ', until every run finished' : ''})`);
  let total = 0;
  for (const [tid, ticks] of after.threads) {
    const used = (ticks - (before.threads.get(tid) ?? 0)) * CLOCK_TICK_US;
    total += used;
    if (used / seconds > 10_000) console.log(line(tid === server.child.pid ? 'main thread' : `thread ${tid}`, used));
  }
  console.log(line('server, all threads', total));
  const own = process.cpuUsage(before.own);
  console.log(line('load generator', own.user + own.system));

  // A main thread that is not on a CPU is either asleep (nothing to do) or runnable and waiting
  // for one; the second is time lost to the other threads (and to waking an idle virtual CPU).
  const onCpu = (after.main.onCpuNs - before.main.onCpuNs) / 1e9 / seconds;
  const waiting = (after.main.waitingNs - before.main.waitingNs) / 1e9 / seconds;
  const sleeps = after.main.timeslices - before.main.timeslices;
  console.log(`  main thread's wall time: on a CPU ${share(onCpu)}, waiting for one ${share(waiting)}, asleep ${share(Math.max(0, 1 - onCpu - waiting))} (${Math.round(sleeps / seconds)} timeslices/s)`);
  const machine = after.machine.map((ticks, i) => ticks - before.machine[i]);
  const machineTotal = machine.reduce((sum, ticks) => sum + ticks, 0);
  console.log(`  whole machine: idle ${share(machine[3] / machineTotal)}, iowait ${share(machine[4] / machineTotal)}, system ${share(machine[2] / machineTotal)}, softirq ${share(machine[6] / machineTotal)}, steal ${share(machine[7] / machineTotal)}`);
  const written = (name) => (after.io[name] - before.io[name]) / webhooks;
  console.log(`  server's writes per webhook: ${written('syscw').toFixed(1)} write calls (the answer's included), ${Math.round(written('write_bytes'))} bytes to storage`);
} finally {
  await stopProcess(server.child);
  rmSync(dataDir, { recursive: true, force: true });
}
