import { afterAll, beforeAll, expect, it } from 'vitest';
import { createWorkflow, startTestApp, TEST_ADMIN_TOKEN, type TestApp } from './helpers/app.js';
import { createTestSchema, describeWithPostgres, type TestSchema } from './helpers/postgres.js';
import { SseReader } from './helpers/sse.js';

/**
 * The console's API on two nodes sharing PostgreSQL: a session opened on one node works on the
 * other and ends on both at once; the live stream on one node shows the webhooks the other node
 * took and the runs it finished.
 */
await describeWithPostgres('console sessions and live streams across nodes on PostgreSQL', () => {
  let schema: TestSchema;
  let nodeA: TestApp;
  let nodeB: TestApp;

  beforeAll(async () => {
    schema = await createTestSchema();
    const shared = { DATABASE_URL: schema.connectionString, HOOKFLOW_MASTER_KEY: Buffer.alloc(32, 9).toString('base64'), HOOKFLOW_STREAM_POLL_MS: '100' };
    nodeA = await startTestApp({ env: { ...shared, HOOKFLOW_WORKER_CONCURRENCY: '2' } });
    nodeB = await startTestApp({ env: { ...shared, HOOKFLOW_WORKER_CONCURRENCY: '0' } });
  });
  afterAll(async () => {
    await nodeA?.stop();
    await nodeB?.stop();
    await schema?.drop();
  });

  it('a session from node A works on node B, and signing out on B ends it on A', async () => {
    const opened = await fetch(`${nodeA.url}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: TEST_ADMIN_TOKEN }) });
    expect(opened.status).toBe(201);
    const cookie = (opened.headers.get('set-cookie') ?? '').split(';', 1)[0] as string;
    const { csrfToken } = (await opened.json()) as { csrfToken: string };
    expect((await fetch(`${nodeB.url}/api/workspaces`, { headers: { cookie } })).status).toBe(200);
    expect((await fetch(`${nodeB.url}/api/session`, { method: 'DELETE', headers: { cookie, 'x-csrf-token': csrfToken } })).status).toBe(204);
    expect((await fetch(`${nodeA.url}/api/workspaces`, { headers: { cookie } })).status).toBe(401);
  });

  it('the stream on node B shows a webhook node A took and the run A\'s workers finished', async () => {
    const { workspaceId, workflowId, webhookUrl } = await createWorkflow(nodeA, {
      name: 'across nodes',
      trigger: { type: 'webhook', sharedKey: 'across-nodes-key-0123', bodyMemory: 'requestBody' },
      steps: [{ id: 'echo', type: 'script', code: 'return memory.load("requestBody").n', output: 'n' }],
    });
    const stream = await SseReader.open(`${nodeB.url}/api/workspaces/${workspaceId}/workflows/${workflowId}/stream`, { authorization: `Bearer ${TEST_ADMIN_TOKEN}` });
    try {
      expect(stream.status).toBe(200);
      const accepted = await fetch(webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":7}' });
      const { run_id: runId } = (await accepted.json()) as { run_id: string };
      expect((await stream.next((m) => m.event === 'event')).data.body).toEqual({ n: 7 });
      await stream.next((m) => m.event === 'run' && m.data.id === runId && m.data.status === 'succeeded');
    } finally {
      stream.close();
    }
  });
});
