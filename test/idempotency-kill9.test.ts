import type { ChildProcess } from 'node:child_process';
import type { ServerResponse } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exited, startCli } from './helpers/cli.js';
import { eventually, startLoopbackServer } from './helpers/loopback.js';

/**
 * The outgoing Idempotency-Key across a crash: a real `hookflow serve` is killed with SIGKILL
 * while its HTTP step's call is in flight at a loopback API. A second process on the same data
 * dir takes the run over when the lease lapses and calls again with the same key; the run is
 * dead-lettered, resumed, and calls a third time with that key still. A replay sends a new one.
 */
const ADMIN = 'idempotency-admin-token-0123456789';
const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('Idempotency-Key across kill -9, retry, resume and replay', () => {
  it('is the same for every attempt of the step in one run, and new for a replay', async () => {
    const keys: string[] = [];
    let held: ServerResponse | null = null;
    const api = await startLoopbackServer((request, response) => {
      keys.push(String(request.headers['idempotency-key']));
      if (keys.length === 1) {
        held = response; // the first call never gets an answer: its caller is killed meanwhile
        return;
      }
      // The second call (the retry after the crash) fails, dead-lettering the run; later ones succeed.
      response.statusCode = keys.length === 2 ? 503 : 200;
      response.end(keys.length === 2 ? 'down' : 'shipped');
    });
    const dataDir = mkdtempSync(join(tmpdir(), 'hookflow-idem-kill9-'));
    dirs.push(dataDir);
    const env = {
      PORT: '0', HOOKFLOW_DATA_DIR: dataDir, HOOKFLOW_ADMIN_TOKEN: ADMIN, HOOKFLOW_WORKER_CONCURRENCY: '1',
      HOOKFLOW_LEASE_MS: '1000', HOOKFLOW_EGRESS_ALLOWLIST: '127.0.0.0/8', HOOKFLOW_RETRY_BASE_MS: '10',
    };
    try {
      const first = await startCli('serve', env);
      children.push(first.child);
      const call = async (base: string, method: string, path: string, body?: unknown) => {
        const response = await fetch(`${base}${path}`, {
          method, headers: { authorization: `Bearer ${ADMIN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        return { status: response.status, body: (await response.json()) as any };
      };
      expect((await call(first.url as string, 'POST', '/api/workspaces', { id: 'shop', name: 'Shop' })).status).toBe(201);
      const created = await call(first.url as string, 'POST', '/api/workspaces/shop/workflows', {
        id: 'orders', name: 'Orders', maxAttempts: 2,
        trigger: { type: 'webhook', sharedKey: 'shop-integration-key', bodyMemory: 'order' },
        steps: [{ id: 'ship', type: 'http', method: 'POST', url: `${api.url}/ship`, body: '{{order}}' }],
      });
      expect(created.status).toBe(201);
      const accepted = await fetch(`${first.url}/api/webhook/shop/orders?key=shop-integration-key`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"id":"A-1"}' });
      const { run_id: runId } = (await accepted.json()) as { run_id: string };

      await eventually(async () => (held !== null ? true : undefined));
      first.child.kill('SIGKILL');
      await exited(first.child);

      const second = await startCli('serve', env);
      children.push(second.child);
      const base = second.url as string;
      const status = (wanted: string) => eventually(async () => {
        const run = await call(base, 'GET', `/api/workspaces/shop/runs/${runId}`);
        return run.body.status === wanted ? run.body : undefined;
      }, 30_000);
      const dead = await status('failed');
      expect(dead.attempts).toBe(2);
      expect(keys).toHaveLength(2);

      expect((await call(base, 'POST', `/api/workspaces/shop/runs/${runId}/resume`)).status).toBe(200);
      await status('succeeded');
      expect(keys).toHaveLength(3);
      expect(keys[0]).toBe(`${runId}.ship`);
      expect(new Set(keys)).toStrictEqual(new Set([`${runId}.ship`]));

      const replay = await call(base, 'POST', `/api/workspaces/shop/runs/${runId}/replay`);
      expect(replay.status).toBe(201);
      await eventually(async () => (keys.length === 4 ? true : undefined), 30_000);
      expect(keys[3]).toBe(`${replay.body.id}.ship`);
      expect(keys[3]).not.toBe(keys[0]);
    } finally {
      (held as ServerResponse | null)?.destroy();
      await api.close();
    }
  });
});
