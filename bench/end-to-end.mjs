// End to end: webhooks/s from POST to `succeeded` for a one-step script workflow, and queue lag
// (accepted → started) p50/p99 at half that rate. Same loopback rules as the ingest bench.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { ORDER_BODY, api, startHookflow, stopProcess } from './harness.mjs';

const KEY = 'bench-e2e-key-0123456789';
const BURST = Number(process.env.BENCH_E2E_RUNS ?? 5000);
const WARM_UP = 2000;
const CONCURRENCY = process.env.BENCH_WORKER_CONCURRENCY ?? '32';

/** Finished runs, from the Prometheus counter (summed over its labels): cheap enough to poll without disturbing the run. */
export async function finishedRuns(base) {
  const text = await (await fetch(`${base}/metrics`)).text();
  let total = 0;
  for (const match of text.matchAll(/^hookflow_runs_finished_total\{[^}]*\} (\d+)/gm)) total += Number(match[1]);
  return total;
}

async function waitUntilFinished(base, expected, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const finished = await finishedRuns(base);
    if (finished >= expected) return;
    if (Date.now() > deadline) throw new Error(`only ${finished}/${expected} runs finished in time`);
    // Not much faster: every poll renders /metrics on the event loop being measured.
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function allRuns(base) {
  const runs = [];
  let cursor = null;
  do {
    const page = await api(base, 'GET', `/api/workspaces/bench/workflows/e2e/runs?limit=500${cursor ? `&cursor=${cursor}` : ''}`);
    runs.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return runs;
}

/**
 * An open-loop stream at an even pace: request i leaves at start + i/rate, whether or not
 * earlier ones were answered (autocannon's `overallRate` instead sends each second's quota as
 * one burst at the start of the second, which measures draining bursts, not a steady stream).
 * Resolves with the number of 200 answers.
 */
async function paced(url, headers, body, rate, seconds) {
  const target = new URL(url);
  const pool = new Pool(target.origin, { connections: 20, pipelining: 1 });
  const total = Math.round(rate * seconds);
  const start = performance.now();
  let sent = 0;
  let accepted = 0;
  const inFlight = new Set();
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate) + 1);
    for (; sent < due; sent++) {
      const call = pool.request({ path: target.pathname + target.search, method: 'POST', headers, body })
        .then(async (response) => { await response.body.dump(); if (response.statusCode === 200) accepted++; })
        .finally(() => inFlight.delete(call));
      inFlight.add(call);
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await Promise.allSettled([...inFlight]);
  await pool.close();
  return accepted;
}

/** A closed-loop burst: `connections` callers, each sending its next call when the last is answered. */
export async function burst(url, headers, body, total, connections = 50) {
  const target = new URL(url);
  const pool = new Pool(target.origin, { connections, pipelining: 1 });
  let sent = 0;
  const caller = async () => {
    while (sent < total) {
      sent++;
      const response = await pool.request({ path: target.pathname + target.search, method: 'POST', headers, body });
      await response.body.dump();
    }
  };
  await Promise.all(Array.from({ length: connections }, caller));
  await pool.close();
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

export async function benchEndToEnd() {
  const dataDir = mkdtempSync(join(tmpdir(), 'hookflow-bench-e2e-'));
  const hookflow = await startHookflow(dataDir, { HOOKFLOW_WORKER_CONCURRENCY: CONCURRENCY });
  const url = `${hookflow.url}/api/webhook/bench/e2e?key=${KEY}`;
  const headers = { 'content-type': 'application/json' };
  try {
    await api(hookflow.url, 'POST', '/api/workspaces', { id: 'bench', name: 'Bench' });
    await api(hookflow.url, 'POST', '/api/workspaces/bench/workflows', {
      id: 'e2e', name: 'E2E', trigger: { type: 'webhook', sharedKey: KEY, bodyMemory: 'order' },
      steps: [{ id: 'pick', type: 'script', code: 'return memory.load("order").order_id;', output: 'orderId' }],
    });

    // A warm-up burst first (not measured), like the ingest bench's: a fresh process runs its
    // first few thousand requests several times slower while the JIT compiles the hot paths.
    await burst(url, headers, ORDER_BODY, WARM_UP);
    await waitUntilFinished(hookflow.url, WARM_UP);

    // 1. Throughput: a burst of webhooks, timed from the first POST until every run finished.
    const started = Date.now();
    await burst(url, headers, ORDER_BODY, BURST);
    const afterIngest = Date.now();
    await waitUntilFinished(hookflow.url, WARM_UP + BURST);
    const seconds = (Date.now() - started) / 1000;
    const runsPerSec = Math.round(BURST / seconds);

    // 2. Lag at half that rate: accepted → started, for every run of a steady stream.
    const rate = Math.max(1, Math.round(runsPerSec / 2));
    const steadySeconds = 10;
    const expected = WARM_UP + BURST + (await paced(url, headers, ORDER_BODY, rate, steadySeconds));
    await waitUntilFinished(hookflow.url, expected);
    const runs = (await allRuns(hookflow.url)).slice(0, expected - WARM_UP - BURST);
    const lags = runs.filter((r) => r.startedAt).map((r) => Date.parse(r.startedAt) - Date.parse(r.createdAt)).sort((a, b) => a - b);
    const notSucceeded = runs.filter((r) => r.status !== 'succeeded');
    const failed = notSucceeded.length;
    const reasons = [...new Set(notSucceeded.map((r) => `${r.status}: ${r.error}`))].slice(0, 3);

    console.log(`\nend to end (one script step, ${CONCURRENCY} workers in the serve process):`);
    console.log(`  burst of ${BURST}: ingest ${Math.round(BURST / ((afterIngest - started) / 1000))} req/s, all runs succeeded after ${seconds.toFixed(2)} s → ${runsPerSec} runs/s`);
    console.log(`  steady ${rate} webhooks/s for ${steadySeconds} s (${lags.length} runs, ${failed} not succeeded): queue lag p50 ${percentile(lags, 50)} ms, p99 ${percentile(lags, 99)} ms, max ${lags.at(-1)} ms`);
    if (reasons.length > 0) console.log(`  not succeeded: ${reasons.join(' | ')}`);
  } finally {
    await stopProcess(hookflow.child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}
