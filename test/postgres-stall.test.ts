import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createWorkflow, startTestApp, TEST_ADMIN_TOKEN, type TestApp } from './helpers/app.js';
import { createTestSchema, describeWithPostgres, type TestSchema } from './helpers/postgres.js';
import { startStallingProxy } from './helpers/stalling-proxy.js';

/**
 * A PostgreSQL server that stops answering without closing connections (hung, or a network
 * black hole) must give 503 + Retry-After, never a request that hangs: every query on our side
 * gives up after HOOKFLOW_WRITE_TIMEOUT_MS. Calls are bounded by an abort signal so a hang fails
 * the test instead of holding the suite.
 */
await describeWithPostgres('a stalled PostgreSQL server', () => {
  let schema: TestSchema;
  let proxy: Awaited<ReturnType<typeof startStallingProxy>>;
  let app: TestApp;

  beforeAll(async () => {
    schema = await createTestSchema();
    const url = new URL(schema.connectionString);
    proxy = await startStallingProxy({ host: url.hostname, port: Number(url.port || 5432) });
    url.host = `127.0.0.1:${proxy.port}`;
    app = await startTestApp({
      env: { DATABASE_URL: url.toString(), HOOKFLOW_WRITE_TIMEOUT_MS: '1000', HOOKFLOW_TRIGGER_CACHE_TTL_MS: '0', HOOKFLOW_WORKER_CONCURRENCY: '0' },
    });
  });
  afterAll(async () => {
    proxy?.resume();
    await app?.stop();
    await proxy?.close();
    await schema?.drop();
  });

  it('answers 503 to webhooks and the management API, then recovers', async () => {
    const { workspaceId, webhookUrl } = await createWorkflow(app, { name: 'stall', trigger: { type: 'webhook', sharedKey: 'stall-key-12345' } });
    const post = () => fetch(webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', signal: AbortSignal.timeout(30_000) });
    expect((await post()).status).toBe(200);

    proxy.stall();
    for (const answer of [await post(), await fetch(`${app.url}/api/workspaces/${workspaceId}/workflows`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` }, signal: AbortSignal.timeout(30_000) })]) {
      expect(answer.status).toBe(503);
      expect(answer.headers.get('retry-after')).not.toBeNull();
      expect(await answer.json()).toEqual({ error: 'Service unavailable' });
    }

    proxy.resume();
    expect((await post()).status).toBe(200);
  });

  it('cut for a few seconds under load: only 200 and 503, every 200 stored, recovery without restart', async () => {
    const { workspaceId, workflowId, webhookUrl } = await createWorkflow(app, { name: 'cut', trigger: { type: 'webhook', sharedKey: 'cut-key-123456' } });
    const statuses = new Map<number, number>();
    const accepted: string[] = [];
    let phase: 'before' | 'cut' | 'after' = 'before';
    const acceptedAfter: string[] = [];
    const lane = async (): Promise<void> => {
      while (phase !== 'after' || acceptedAfter.length < 20) {
        const response = await fetch(webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":1}', signal: AbortSignal.timeout(30_000) });
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        const body = (await response.json()) as { run_id?: string };
        if (response.status === 200 && body.run_id !== undefined) (phase === 'after' ? acceptedAfter : accepted).push(body.run_id);
        if (response.status === 503) expect(response.headers.get('retry-after')).not.toBeNull();
      }
    };
    const lanes = Promise.all(Array.from({ length: 8 }, lane));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    phase = 'cut';
    proxy.cut();
    await new Promise((resolve) => setTimeout(resolve, 3000));
    proxy.resume();
    phase = 'after';
    await lanes;
    expect([...statuses.keys()].sort()).toEqual([200, 503]);
    // Every accepted run is in the database, read directly (not through the proxy).
    const direct = new pg.Client({ connectionString: schema.connectionString });
    await direct.connect();
    try {
      const { rows } = await direct.query<{ id: string }>('SELECT id FROM runs WHERE workspace_id = $1 AND workflow_id = $2', [workspaceId, workflowId]);
      const stored = new Set(rows.map((row) => row.id));
      for (const runId of [...accepted, ...acceptedAfter]) expect(stored.has(runId)).toBe(true);
    } finally {
      await direct.end();
    }
  });
});
