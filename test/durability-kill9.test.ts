import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { exited, startCli } from './helpers/cli.js';

/**
 * The promise behind every 200: the event and its queued run are committed before the answer.
 * A real `hookflow serve` process is killed with SIGKILL in the middle of a burst of concurrent
 * webhooks; after a restart on the same data dir, every run_id that was answered 200 exists.
 */
const ADMIN = 'durability-admin-token-0123456789';
const TOTAL = 10_000;
const KILL_AFTER_ACCEPTED = 800;

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('durability under kill -9', () => {
  it('keeps every acknowledged webhook across a SIGKILL mid-burst', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hookflow-kill9-'));
    dirs.push(dataDir);
    const env = { PORT: '0', HOOKFLOW_DATA_DIR: dataDir, HOOKFLOW_ADMIN_TOKEN: ADMIN, HOOKFLOW_WORKER_CONCURRENCY: '0' };
    const first = await startCli('serve', env);
    children.push(first.child);
    const admin = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
    expect((await fetch(`${first.url}/api/workspaces`, { method: 'POST', headers: admin, body: JSON.stringify({ id: 'shop', name: 'Shop' }) })).status).toBe(201);
    const created = await fetch(`${first.url}/api/workspaces/shop/workflows`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ id: 'orders', name: 'Orders', trigger: { type: 'webhook', sharedKey: 'shop-integration-key', bodyMemory: 'orderData' } }),
    });
    expect(created.status).toBe(201);

    // One connection per webhook: all of them are in flight at once when the kill lands.
    const dispatcher = new Agent({ connections: TOTAL, pipelining: 1 });
    const acknowledged: string[] = [];
    let killed = false;
    const body = JSON.stringify({ event: 'order_completed', items: Array.from({ length: 10 }, (_, i) => ({ sku: `SKU-${i}`, qty: i })) });
    const sends = Array.from({ length: TOTAL }, async (_, i) => {
      try {
        const response = await fetch(`${first.url}/api/webhook/shop/orders?key=shop-integration-key`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-order': String(i) },
          body,
          // @ts-expect-error undici's dispatcher option is not in the DOM fetch types
          dispatcher,
        });
        if (response.status !== 200) return;
        const answer = (await response.json()) as { run_id: string };
        acknowledged.push(answer.run_id);
        if (!killed && acknowledged.length >= KILL_AFTER_ACCEPTED) {
          killed = true;
          first.child.kill('SIGKILL');
        }
      } catch {
        // Connections cut by the kill: those calls were never acknowledged, so nothing is owed.
      }
    });
    await Promise.all(sends);
    await dispatcher.close();
    expect(killed).toBe(true);
    expect(acknowledged.length).toBeGreaterThanOrEqual(KILL_AFTER_ACCEPTED);
    // The kill landed mid-burst: some calls were never answered.
    expect(acknowledged.length).toBeLessThan(TOTAL);
    await exited(first.child);

    const second = await startCli('serve', env);
    children.push(second.child);
    const missing: string[] = [];
    const notQueued: string[] = [];
    const check = [...acknowledged];
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        for (let runId = check.pop(); runId !== undefined; runId = check.pop()) {
          const response = await fetch(`${second.url}/api/workspaces/shop/runs/${runId}`, { headers: admin });
          if (response.status !== 200) missing.push(runId);
          else if (((await response.json()) as { status: string }).status !== 'queued') notQueued.push(runId);
        }
      }),
    );
    expect(missing).toEqual([]);
    expect(notQueued).toEqual([]);
    second.child.kill('SIGTERM');
  }, 120_000);
});
