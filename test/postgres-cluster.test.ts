import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createWorkflow, startTestApp } from './helpers/app.js';
import { exited, startCli, type CliProcess } from './helpers/cli.js';
import { eventually } from './helpers/loopback.js';
import { createTestSchema, describeWithPostgres, type TestSchema } from './helpers/postgres.js';

/**
 * One truth across nodes on PostgreSQL. One master key per cluster: the database records the id of the key its secrets are
 * encrypted under. Nodes started the way the README starts one (no HOOKFLOW_MASTER_KEY, each with
 * its own data dir) used to generate a key each, and the second answered 500 to every webhook.
 */
await describeWithPostgres('the master key across nodes', () => {
  const ADMIN = 'cluster-admin-token-0123456789';
  let schema: TestSchema;
  const dirs: string[] = [];
  const children: ChildProcess[] = [];

  const node = async (env: Record<string, string> = {}): Promise<CliProcess> => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hookflow-cluster-'));
    dirs.push(dataDir);
    const started = await startCli('serve', { PORT: '0', DATABASE_URL: schema.connectionString, HOOKFLOW_DATA_DIR: dataDir, HOOKFLOW_ADMIN_TOKEN: ADMIN, HOOKFLOW_WORKER_CONCURRENCY: '0', ...env });
    children.push(started.child);
    return started;
  };

  beforeAll(async () => {
    schema = await createTestSchema();
  });
  afterAll(async () => {
    for (const child of children) {
      child.kill('SIGTERM');
      await exited(child);
    }
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    await schema?.drop();
  });

  it('a second node that would generate its own key, or has another one, exits 2 naming HOOKFLOW_MASTER_KEY; one with the same key serves', async () => {
    const key = randomBytes(32).toString('base64');
    const first = await node({ HOOKFLOW_MASTER_KEY: key });
    const admin = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
    expect((await fetch(`${first.url}/api/workspaces`, { method: 'POST', headers: admin, body: JSON.stringify({ id: 'shop', name: 'Shop' }) })).status).toBe(201);
    const created = await fetch(`${first.url}/api/workspaces/shop/workflows`, { method: 'POST', headers: admin, body: JSON.stringify({ id: 'orders', name: 'Orders', trigger: { type: 'webhook', sharedKey: 'cluster-shared-key-1' } }) });
    expect(created.status).toBe(201);

    for (const env of [{}, { HOOKFLOW_MASTER_KEY: randomBytes(32).toString('base64') }] as Record<string, string>[]) {
      const refused = await node(env).then(
        () => 'started',
        (error: Error) => error.message,
      );
      expect(refused).toMatch(/exited early \(2\)/);
      expect(refused).toMatch(/HOOKFLOW_MASTER_KEY/);
    }

    const second = await node({ HOOKFLOW_MASTER_KEY: key });
    const answer = await fetch(`${second.url}/api/webhook/shop/orders?key=cluster-shared-key-1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"order":1}' });
    expect(answer.status).toBe(200);
  });

  it('a workflow disabled, or a key rotated, on node A is enforced on node B well within its cache TTL (LISTEN/NOTIFY)', async () => {
    const env = { DATABASE_URL: schema.connectionString, HOOKFLOW_MASTER_KEY: Buffer.alloc(32, 9).toString('base64'), HOOKFLOW_TRIGGER_CACHE_TTL_MS: '600000' };
    const otherSchema = await createTestSchema();
    const a = await startTestApp({ env: { ...env, DATABASE_URL: otherSchema.connectionString } });
    const b = await startTestApp({ env: { ...env, DATABASE_URL: otherSchema.connectionString } });
    try {
      const { workspaceId, workflowId, created } = await createWorkflow(a, { name: 'notify', trigger: { type: 'webhook', sharedKey: 'notify-key-0001' } });
      const post = (key: string) => fetch(`${b.url}/api/webhook/${workspaceId}/${workflowId}?key=${key}`, { method: 'POST', body: '{}' }).then((r) => r.status);
      expect(await post('notify-key-0001')).toBe(200); // B has the trigger cached now, for 10 minutes
      const disabled = await a.api('PUT', `/api/workspaces/${workspaceId}/workflows/${workflowId}`, { ...created, enabled: false });
      expect(disabled.status).toBe(200);
      // The notification arrives within milliseconds (the promise is 1 s); 5 s leaves a loaded machine room
      // and is still far below the 10-minute TTL, so only the notification can make these pass.
      await eventually(async () => ((await post('notify-key-0001')) === 404 ? true : undefined), 5000);
      await a.api('PUT', `/api/workspaces/${workspaceId}/workflows/${workflowId}`, { ...created, enabled: true });
      await eventually(async () => ((await post('notify-key-0001')) === 200 ? true : undefined), 5000);
      const rotated = await a.api('POST', `/api/workspaces/${workspaceId}/workflows/${workflowId}/keys/rotate`, { sharedKey: 'notify-key-0002', graceSeconds: 0 });
      expect(rotated.status).toBe(200);
      await eventually(async () => ((await post('notify-key-0001')) === 401 ? true : undefined), 5000);
      expect(await post('notify-key-0002')).toBe(200);
      await a.api('DELETE', `/api/workspaces/${workspaceId}/workflows/${workflowId}`);
      await eventually(async () => ((await post('notify-key-0002')) === 404 ? true : undefined), 5000);
    } finally {
      await a.stop();
      await b.stop();
      await otherSchema.drop();
    }
  });
});
