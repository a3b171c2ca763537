import { afterAll, beforeAll, expect, it } from 'vitest';
import { createWorkflow, startTestApp, type TestApp } from './helpers/app.js';
import { eventually, startLoopbackServer } from './helpers/loopback.js';
import { createTestSchema, describeWithPostgres, type TestSchema } from './helpers/postgres.js';

/**
 * Scale-out on PostgreSQL: two hookflow nodes share one database. Node A only takes webhooks
 * (no workers), node B only runs workers. Webhooks accepted by A are run by B, idempotency
 * holds across both nodes, and a key rotated on A is honoured by B's ingress at once
 * (B's trigger cache TTL is set to 0 for the test).
 */
await describeWithPostgres('two nodes on PostgreSQL', () => {
  let schema: TestSchema;
  let ingestNode: TestApp;
  let workerNode: TestApp;
  let echo: Awaited<ReturnType<typeof startLoopbackServer>>;

  beforeAll(async () => {
    schema = await createTestSchema();
    echo = await startLoopbackServer((request, response) => {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ got: JSON.parse(request.body || 'null') }));
    });
    const shared = { DATABASE_URL: schema.connectionString, HOOKFLOW_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'), HOOKFLOW_EGRESS_ALLOWLIST: '127.0.0.0/8', HOOKFLOW_TRIGGER_CACHE_TTL_MS: '0' };
    ingestNode = await startTestApp({ env: { ...shared, HOOKFLOW_WORKER_CONCURRENCY: '0' } });
    workerNode = await startTestApp({ env: { ...shared, HOOKFLOW_WORKER_CONCURRENCY: '4' } });
  });
  afterAll(async () => {
    await ingestNode?.stop();
    await workerNode?.stop();
    await echo?.close();
    await schema?.drop();
  });

  it('runs on one node what another accepted, with the request intact', async () => {
    const { workspaceId, workflowId } = await createWorkflow(ingestNode, {
      name: 'CRM sync',
      trigger: { type: 'webhook', sharedKey: 'crm-sync-key-123', headerMemory: 'crmHeaders', bodyMemory: 'contactUpdate' },
      steps: [
        { id: 'score', type: 'script', code: 'const u = memory.load("contactUpdate"); return u.changes.status === "qualified_lead" ? 80 : 10;', output: 'score' },
        { id: 'sync', type: 'http', method: 'POST', url: `${echo.url}/contacts`, body: { contact: '{{contactUpdate.contact_id}}', score: '{{score}}' }, output: 'synced' },
      ],
    });
    const update = { event: 'contact_updated', contact_id: '12345', changes: { email: 'new-email@example.com', status: 'qualified_lead' }, updated_by: 'sales_user' };
    const accepted = await fetch(`${ingestNode.url}/api/webhook/${workspaceId}/${workflowId}?key=crm-sync-key-123`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': 'crm-evt-1' }, body: JSON.stringify(update),
    });
    expect(accepted.status).toBe(200);
    const { run_id } = (await accepted.json()) as { run_id: string };

    // The same delivery sent to the other node is a duplicate of the first run.
    const again = await fetch(`${workerNode.url}/api/webhook/${workspaceId}/${workflowId}?key=crm-sync-key-123`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': 'crm-evt-1' }, body: JSON.stringify(update),
    });
    expect(await again.json()).toEqual({ status: 'accepted', workflow_started: false, duplicate: true, run_id });

    const run = await eventually(async () => {
      const detail = await workerNode.api('GET', `/api/workspaces/${workspaceId}/runs/${run_id}`);
      return detail.body.status === 'succeeded' || detail.body.status === 'failed' ? detail.body : undefined;
    }, 20_000);
    expect(run.status).toBe('succeeded');
    expect(run.memory.contactUpdate).toEqual(update);
    expect(run.memory.score).toBe(80);
    expect(JSON.parse(echo.received.at(-1)!.body)).toEqual({ contact: '12345', score: 80 });
  });

  it('honours a key rotated through the other node', async () => {
    const { workspaceId, workflowId } = await createWorkflow(ingestNode, { name: 'rotating', trigger: { type: 'webhook', sharedKey: 'first-key-123' } });
    const post = (node: TestApp, key: string) => fetch(`${node.url}/api/webhook/${workspaceId}/${workflowId}?key=${key}`, { method: 'POST', body: '{}' }).then((r) => r.status);
    expect(await post(workerNode, 'first-key-123')).toBe(200);
    const rotated = await ingestNode.api('POST', `/api/workspaces/${workspaceId}/workflows/${workflowId}/keys/rotate`, { sharedKey: 'second-key-456', graceSeconds: 0 });
    expect(rotated.status).toBe(200);
    expect(await post(workerNode, 'second-key-456')).toBe(200);
    expect(await post(workerNode, 'first-key-123')).toBe(401);
  });

  it('answers 404 for ids with a NUL or other characters no id has, never 500 (PostgreSQL refuses NUL)', async () => {
    const { workspaceId, workflowId } = await createWorkflow(ingestNode, { name: 'ids', trigger: { type: 'webhook', sharedKey: 'nul-id-key-123' } });
    const webhook = await fetch(`${ingestNode.url}/api/webhook/${workspaceId}%00/${workflowId}?key=nul-id-key-123`, { method: 'POST', body: '{}' });
    expect([webhook.status, await webhook.json()]).toEqual([404, { error: 'Webhook not found' }]);
    for (const path of [`/api/workspaces/${workspaceId}%00`, `/api/workspaces/${workspaceId}/workflows/${workflowId}%00/runs`, `/api/workspaces/${workspaceId}/runs/run%00`]) {
      const answer = await ingestNode.api('GET', path);
      expect([path, answer.status]).toEqual([path, 404]);
    }
  });

  it('records a step error carrying a NUL character (PostgreSQL text cannot hold one) instead of failing on it', async () => {
    const { workspaceId, webhookUrl } = await createWorkflow(ingestNode, {
      name: 'nul-error', maxAttempts: 1, trigger: { type: 'webhook' },
      steps: [{ id: 's1', type: 'script', code: 'throw new Error("bad\\u0000byte")' }],
    });
    const { run_id } = (await (await fetch(webhookUrl, { method: 'POST', body: '{}' })).json()) as { run_id: string };
    const run = await eventually(async () => {
      const detail = await workerNode.api('GET', `/api/workspaces/${workspaceId}/runs/${run_id}`);
      return detail.body.status === 'failed' ? detail.body : undefined;
    }, 20_000);
    expect(run.error).toContain('Script threw: Error: bad\uFFFDbyte');
    expect(run.steps).toMatchObject([{ id: 's1', status: 'failed' }]);
  });
});
