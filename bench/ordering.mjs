// Per-key ordering: runs/s of an unkeyed workflow (the baseline, measured in the same run), of a
// workflow with `concurrency: {key, limit: 1}` over 20 keys, and of the unkeyed workflow again
// while the keyed one has a backlog queued (what ordered claims cost everything else). Each
// burst is BENCH_ORDER_RUNS (default 2000) webhooks, sent 20 at a time (the keyed burst: one
// sender per key, each key's webhooks one after another, so arrival order per key is known),
// run by 8 workers on SQLite; the workflows have no steps, so the claim path is what is timed.
// Rows: runs/s p50 over BENCH_ROUNDS (default 3) alternating rounds, ratio to the baseline, and
// queue lag (accepted → started) p50/p99; then the keyed runs are checked from their stored
// times: per key, started in arrival order and never overlapping.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, startHookflow, stopProcess } from './harness.mjs';

const RUNS = Number(process.env.BENCH_ORDER_RUNS ?? 2000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const KEYS = 20;
const KEY = 'bench-order-key-0123456789';

async function finishedRuns(base) {
  const text = await (await fetch(`${base}/metrics`)).text();
  let total = 0;
  for (const match of text.matchAll(/^hookflow_runs_finished_total\{[^}]*\} (\d+)/gm)) total += Number(match[1]);
  return total;
}

async function waitFinished(base, expected) {
  for (const deadline = Date.now() + 300_000; ;) {
    if ((await finishedRuns(base)) >= expected) return;
    if (Date.now() > deadline) throw new Error('runs did not finish in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function post(url, body) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (response.status !== 200) throw new Error(`webhook → ${response.status}`);
  return (await response.json()).run_id;
}

/** Sends `count` webhooks from `senders` parallel senders; sender s sends the ones with i % senders === s, in order. */
async function burst(url, count, senders, bodyOf) {
  const ids = [];
  await Promise.all(Array.from({ length: senders }, async (_, s) => {
    for (let i = s; i < count; i += senders) ids[i] = await post(url, bodyOf(i, s));
  }));
  return ids;
}

async function runsOf(base, workflow) {
  const runs = [];
  let cursor = null;
  do {
    const page = await api(base, 'GET', `/api/workspaces/bench/workflows/${workflow}/runs?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    runs.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return runs;
}

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

const dataDir = mkdtempSync(join(tmpdir(), 'hookflow-order-bench-'));
const { child, url: base } = await startHookflow(dataDir, { HOOKFLOW_WORKER_CONCURRENCY: '8' });
try {
  await api(base, 'POST', '/api/workspaces', { id: 'bench', name: 'bench' });
  const trigger = { type: 'webhook', sharedKey: KEY, bodyMemory: 'order' };
  await api(base, 'POST', '/api/workspaces/bench/workflows', { id: 'plain', name: 'plain', trigger, steps: [] });
  await api(base, 'POST', '/api/workspaces/bench/workflows', { id: 'keyed', name: 'keyed', trigger, steps: [], concurrency: { key: 'order.order_id', limit: 1 } });
  const plainUrl = `${base}/api/webhook/bench/plain?key=${KEY}`;
  const keyedUrl = `${base}/api/webhook/bench/keyed?key=${KEY}`;
  let expected = 0;
  const results = { unkeyed: [], keyed: [], 'unkeyed beside a keyed backlog': [] };
  const keyedIds = [];
  const timed = async (label, send) => {
    const started = performance.now();
    const count = await send();
    expected += count;
    await waitFinished(base, expected);
    results[label].push(count / ((performance.now() - started) / 1000));
  };
  for (let round = 0; round < ROUNDS; round++) {
    await timed('unkeyed', async () => (await burst(plainUrl, RUNS, 20, (i) => ({ i }))).length);
    await timed('keyed', async () => {
      const ids = await burst(keyedUrl, RUNS, KEYS, (i, s) => ({ order_id: `order-${round}-${s}`, seq: i }));
      keyedIds.push(ids);
      return ids.length;
    });
    await timed('unkeyed beside a keyed backlog', async () => {
      // The keyed backlog: every key's runs queued at once, so most wait behind their key while the unkeyed burst runs.
      const [, plain] = await Promise.all([
        burst(keyedUrl, RUNS, KEYS, (i, s) => ({ order_id: `backlog-${round}-${s}`, seq: i })).then((ids) => keyedIds.push(ids)),
        burst(plainUrl, RUNS, 20, (i) => ({ i })),
      ]);
      return RUNS + plain.length;
    });
  }
  const [plainRuns, keyedRuns] = [await runsOf(base, 'plain'), await runsOf(base, 'keyed')];
  const lag = (runs) => runs.map((r) => Date.parse(r.startedAt) - Date.parse(r.createdAt)).sort((a, b) => a - b);
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const baseline = median(results.unkeyed);
  for (const [label, values] of Object.entries(results)) {
    console.log(`${label.padEnd(34)} ${median(values).toFixed(0).padStart(6)} runs/s p50 of ${values.length}  ×${(median(values) / baseline).toFixed(2)}  (rounds: ${values.map((v) => v.toFixed(0)).join(', ')})`);
  }
  for (const [label, runs] of [['unkeyed', plainRuns], ['keyed', keyedRuns]]) {
    const sorted = lag(runs);
    console.log(`${label.padEnd(34)} queue lag p50 ${quantile(sorted, 0.5)} ms  p99 ${quantile(sorted, 0.99)} ms  (${runs.length} runs)`);
  }
  // Ordering, from the stored times: per key (one sender each, in order), starts follow arrival and never overlap.
  const byId = new Map(keyedRuns.map((run) => [run.id, run]));
  let violations = 0;
  for (const ids of keyedIds) {
    const perKey = new Map();
    ids.forEach((id, i) => {
      const run = byId.get(id);
      const key = run.concurrencyKey;
      perKey.set(key, [...(perKey.get(key) ?? []), { i, run }]);
    });
    for (const list of perKey.values()) {
      list.sort((a, b) => a.i - b.i);
      for (let n = 1; n < list.length; n++) if (Date.parse(list[n].run.startedAt) < Date.parse(list[n - 1].run.finishedAt)) violations++;
    }
  }
  console.log(`keyed runs checked: ${keyedRuns.length} over ${KEYS} keys per burst; started before the previous run of their key finished: ${violations}`);
} finally {
  await stopProcess(child);
  rmSync(dataDir, { recursive: true, force: true });
}
