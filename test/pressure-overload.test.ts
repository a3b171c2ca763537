import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_ADMIN_TOKEN } from './helpers/app.js';
import { exited, startCli, type CliProcess } from './helpers/cli.js';
import { eventually } from './helpers/loopback.js';

// 2,000 connections against a `hookflow serve` child with default settings (its own process,
// so the load generator does not share its event loop). Functional assertions only; the
// latencies are printed here and measured in `npm run bench`.

const CONNECTIONS = 2000;
const DURATION_S = 5;

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function serve(env: Record<string, string> = {}): Promise<{ node: CliProcess; url: string; dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'hookflow-overload-'));
  const node = await startCli('serve', { PORT: '0', HOOKFLOW_DATA_DIR: dataDir, HOOKFLOW_ADMIN_TOKEN: TEST_ADMIN_TOKEN, ...env });
  cleanups.push(async () => {
    node.child.kill('SIGKILL');
    await exited(node.child);
    rmSync(dataDir, { recursive: true, force: true });
  });
  return { node, url: node.url as string, dataDir };
}

async function api(url: string, method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(`${method} ${path} → ${response.status} ${await response.text()}`);
  return response.json();
}

/** Probes `path` on a fresh connection every 100 ms until `stop`; returns status and ms of each. */
function probeLoop(url: string, stop: () => boolean): Promise<{ status: number; ms: number }[]> {
  return (async () => {
    const seen: { status: number; ms: number }[] = [];
    while (!stop()) {
      for (const path of ['/healthz', '/readyz']) {
        const started = performance.now();
        try {
          const response = await fetch(`${url}${path}`, { headers: { connection: 'close' }, signal: AbortSignal.timeout(30_000) });
          await response.text();
          seen.push({ status: response.status, ms: performance.now() - started });
        } catch {
          seen.push({ status: 0, ms: performance.now() - started });
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return seen;
  })();
}

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0);
};

describe('2,000 connections against defaults', () => {
  it('answers 200 or 503 with Retry-After, keeps the probes answering, drains, and every 200 has its run', async () => {
    const { url, dataDir } = await serve();
    await api(url, 'POST', '/api/workspaces', { id: 'load', name: 'Load' });
    const created = await api(url, 'POST', '/api/workspaces/load/workflows', { id: 'flood', name: 'Flood', trigger: { type: 'webhook', sharedKey: 'overload-key-0123', bodyMemory: 'body' } });
    expect(created.webhookUrl).toContain('/api/webhook/load/flood');

    const statuses = new Map<number, number>();
    const accepted: string[] = [];
    let unavailableWithoutRetryAfter = 0;
    let loadDone = false;
    const probes = probeLoop(url, () => loadDone);
    const result = await autocannon({
      url,
      connections: CONNECTIONS,
      duration: DURATION_S,
      timeout: 30,
      requests: [
        {
          method: 'POST',
          path: '/api/webhook/load/flood?key=overload-key-0123',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ event: 'flood', note: 'x'.repeat(900) }),
          onResponse: (status: number, body: string, _context: unknown, headers: Record<string, string>) => {
            statuses.set(status, (statuses.get(status) ?? 0) + 1);
            if (status === 200) accepted.push((JSON.parse(body) as { run_id: string }).run_id);
            const retryAfter = Object.entries(headers ?? {}).find(([name]) => name.toLowerCase() === 'retry-after');
            if (status === 503 && retryAfter === undefined) unavailableWithoutRetryAfter += 1;
          },
        },
      ],
    });
    loadDone = true;
    const probed = await probes;

    console.log(
      `2,000 connections, ${DURATION_S} s: statuses ${JSON.stringify(Object.fromEntries(statuses))}, ` +
        `latency p50 ${result.latency.p50} ms p99 ${result.latency.p99} ms (all answers), errors ${result.errors}, timeouts ${result.timeouts}; ` +
        `probes ${probed.length}: p50 ${percentile(probed.map((p) => p.ms), 50)} ms p99 ${percentile(probed.map((p) => p.ms), 99)} ms max ${percentile(probed.map((p) => p.ms), 100)} ms`,
    );

    // Only the contract's two answers under overload, and every 503 says when to come back.
    expect([...statuses.keys()].filter((status) => status !== 200 && status !== 503)).toEqual([]);
    expect(unavailableWithoutRetryAfter).toBe(0);
    expect(accepted.length).toBeGreaterThan(0);
    // The probes were answered throughout (by the process, not refused or timed out).
    expect(probed.length).toBeGreaterThan(0);
    expect(probed.filter((probe) => probe.status !== 200)).toEqual([]);

    // The backlog drains: a new webhook is taken once the flood is over.
    await eventually(async () => {
      const response = await fetch(`${url}/api/webhook/load/flood?key=overload-key-0123`, { method: 'POST', body: '{}' });
      return response.status === 200 ? true : undefined;
    }, 60_000);

    // Every 200 has its run, committed.
    const db = new Database(join(dataDir, 'hookflow.db'), { readonly: true });
    try {
      const stored = new Set((db.prepare('SELECT id FROM runs').all() as { id: string }[]).map((row) => row.id));
      expect(accepted.filter((runId) => !stored.has(runId))).toEqual([]);
    } finally {
      db.close();
    }
  }, 120_000);
});
