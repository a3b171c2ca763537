// Idle footprint of `hookflow serve` (issue 13: under 100 MB RSS idle). Prints, for a fresh
// embedded (SQLite) server left alone, its RSS and thread count, as a ratio to a bare `node`
// process idling in the same run (the baseline); then the same after one run of a script step
// (a script thread starts) and once that thread has been idle for HOOKFLOW_SCRIPT_IDLE_MS (it
// stops). Several samples each, p50 and max (p99 of a handful is the max). Linux only (/proc).
//
//   npm run build && node bench/idle-footprint.mjs      BENCH_IDLE_S (default 30) s of idling first
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, startHookflow, startProcess, stopProcess } from './harness.mjs';

const IDLE_S = Number(process.env.BENCH_IDLE_S ?? 30);
const SCRIPT_IDLE_MS = 3000;
const SAMPLES = 5;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function footprint(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
  return { rssMb: rssKb / 1024, threads: readdirSync(`/proc/${pid}/task`).length };
}

async function sample(pid) {
  const samples = [];
  for (let i = 0; i < SAMPLES; i++) {
    samples.push(footprint(pid));
    await sleep(500);
  }
  const rss = samples.map((s) => s.rssMb).sort((a, b) => a - b);
  return { p50: rss[Math.floor(rss.length / 2)], max: rss.at(-1), threads: samples.at(-1).threads };
}

const row = (label, measured, baseline) =>
  console.log(`${label.padEnd(34)} RSS p50 ${measured.p50.toFixed(1).padStart(6)} MB  max ${measured.max.toFixed(1).padStart(6)} MB  threads ${String(measured.threads).padStart(3)}  ×${(measured.p50 / baseline.p50).toFixed(2)} of bare node`);

const bare = await startProcess(['-e', 'console.log(JSON.stringify({url:"bare"})); setInterval(() => {}, 1000);'], {}, /"url":"(bare)"/);
await sleep(IDLE_S * 1000);
const baseline = await sample(bare.child.pid);
await stopProcess(bare.child);

const dataDir = mkdtempSync(join(tmpdir(), 'hookflow-idle-'));
const { child, url } = await startHookflow(dataDir, { LOG_LEVEL: 'info', HOOKFLOW_SCRIPT_IDLE_MS: String(SCRIPT_IDLE_MS) }).catch(async (error) => {
  rmSync(dataDir, { recursive: true, force: true });
  throw error;
});
try {
  await sleep(IDLE_S * 1000);
  row('bare node (baseline)', baseline, baseline);
  row('hookflow serve, idle', await sample(child.pid), baseline);

  await api(url, 'POST', '/api/workspaces', { id: 'idle', name: 'idle' });
  const workflow = await api(url, 'POST', '/api/workspaces/idle/workflows', {
    name: 'one script', trigger: { type: 'webhook', bodyMemory: 'body' },
    steps: [{ id: 'double', type: 'script', code: 'return memory.load("body").n * 2;' }],
  });
  const accepted = await (await fetch(workflow.webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":21}' })).json();
  for (;;) {
    const run = await api(url, 'GET', `/api/workspaces/idle/runs/${accepted.run_id}`);
    if (run.status === 'succeeded' || run.status === 'failed') break;
    await sleep(50);
  }
  row('after one script step', await sample(child.pid), baseline);
  await sleep(SCRIPT_IDLE_MS + 2000);
  row(`script thread idle ${SCRIPT_IDLE_MS / 1000} s`, await sample(child.pid), baseline);
} finally {
  await stopProcess(child);
  rmSync(dataDir, { recursive: true, force: true });
}
