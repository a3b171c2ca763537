import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { exited, startCli, type CliProcess } from './helpers/cli.js';
import { eventually } from './helpers/loopback.js';
import { createTestSchema, describeWithPostgres, type TestSchema } from './helpers/postgres.js';

/**
 * A cluster as the README runs one: 2 `serve` and 2 `worker` processes on one PostgreSQL database,
 * with the same master key and admin token. 5,000 webhooks over both serve nodes, some delivery
 * ids repeated and some sent to both nodes; one worker is killed with SIGKILL midway. Every 200
 * must have exactly one run, and every run must succeed (the killed worker's runs are taken over
 * once their leases expire).
 */
await describeWithPostgres('a two-serve, two-worker cluster under load', () => {
  const ADMIN = 'cluster-load-admin-token-0123';
  const KEY = 'cluster-load-shared-key-01';
  const TOTAL = 5000;
  let schema: TestSchema;
  const dirs: string[] = [];
  const children: ChildProcess[] = [];

  const start = async (command: 'serve' | 'worker', env: Record<string, string> = {}): Promise<CliProcess> => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hookflow-cluster-load-'));
    dirs.push(dataDir);
    const started = await startCli(command, {
      PORT: '0',
      DATABASE_URL: schema.connectionString,
      HOOKFLOW_DATA_DIR: dataDir,
      HOOKFLOW_ADMIN_TOKEN: ADMIN,
      HOOKFLOW_MASTER_KEY: Buffer.alloc(32, 3).toString('base64'),
      HOOKFLOW_LEASE_MS: '2000',
      ...env,
    });
    children.push(started.child);
    return started;
  };

  beforeAll(async () => {
    schema = await createTestSchema();
  });
  afterAll(async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited(child);
    }
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    await schema?.drop();
  });

  it('every 200 has exactly one run and every run succeeds, through a worker killed with SIGKILL', async () => {
    const serveA = await start('serve', { HOOKFLOW_WORKER_CONCURRENCY: '0' });
    const serveB = await start('serve', { HOOKFLOW_WORKER_CONCURRENCY: '0' });
    const admin = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
    expect((await fetch(`${serveA.url}/api/workspaces`, { method: 'POST', headers: admin, body: JSON.stringify({ id: 'load', name: 'Load' }) })).status).toBe(201);
    const created = await fetch(`${serveA.url}/api/workspaces/load/workflows`, {
      method: 'POST', headers: admin,
      body: JSON.stringify({ id: 'orders', name: 'Orders', trigger: { type: 'webhook', sharedKey: KEY, bodyMemory: 'order' }, steps: [{ id: 'total', type: 'script', code: 'return memory.load("order").n * 2;' }] }),
    });
    expect(created.status).toBe(201);
    const workerA = await start('worker', { HOOKFLOW_WORKER_CONCURRENCY: '8' });
    await start('worker', { HOOKFLOW_WORKER_CONCURRENCY: '8' });

    // Delivery i carries id `d-<i>`, except that every 10th repeats the id of the delivery before
    // it, and every 7th goes to both nodes: the second answer of each is a duplicate.
    const firstRunOf = new Map<string, string>();
    const duplicates: { deliveryId: string; runId: string }[] = [];
    let next = 0;
    let killed = false;
    const send = async (url: string, i: number, deliveryId: string): Promise<void> => {
      const response = await fetch(`${url}/api/webhook/load/orders?key=${KEY}`, {
        method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': deliveryId }, body: JSON.stringify({ n: i }),
      });
      expect(response.status).toBe(200);
      const answer = (await response.json()) as { workflow_started: boolean; duplicate?: boolean; run_id: string };
      if (answer.duplicate === true) duplicates.push({ deliveryId, runId: answer.run_id });
      else {
        expect(firstRunOf.has(deliveryId)).toBe(false);
        firstRunOf.set(deliveryId, answer.run_id);
      }
    };
    const lane = async (): Promise<void> => {
      for (;;) {
        const i = next++;
        if (i >= TOTAL) return;
        const deliveryId = i % 10 === 9 ? `d-${i - 1}` : `d-${i}`;
        const node = i % 2 === 0 ? serveA : serveB;
        await send(node.url as string, i, deliveryId);
        if (i % 7 === 0) await send((node === serveA ? serveB : serveA).url as string, i, deliveryId);
        if (!killed && i >= TOTAL / 2) {
          killed = true;
          workerA.child.kill('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: 32 }, lane));
    expect(killed).toBe(true);
    for (const duplicate of duplicates) expect(firstRunOf.get(duplicate.deliveryId)).toBe(duplicate.runId);

    const client = new pg.Client({ connectionString: schema.connectionString });
    await client.connect();
    try {
      const counts = await eventually(async () => {
        const { rows } = await client.query<{ status: string; count: string }>("SELECT status, count(*) FROM runs WHERE workspace_id = 'load' GROUP BY status");
        const byStatus = Object.fromEntries(rows.map((row) => [row.status, Number(row.count)]));
        return (byStatus['queued'] ?? 0) + (byStatus['running'] ?? 0) === 0 ? byStatus : undefined;
      }, 240_000);
      // Exactly one run per accepted delivery id, each answered with its run's id, and all succeeded.
      expect(counts).toStrictEqual({ succeeded: firstRunOf.size });
      const { rows } = await client.query<{ id: string }>("SELECT id FROM runs WHERE workspace_id = 'load'");
      expect(new Set(rows.map((row) => row.id))).toStrictEqual(new Set(firstRunOf.values()));
    } finally {
      await client.end();
    }
  }, 300_000);
});
