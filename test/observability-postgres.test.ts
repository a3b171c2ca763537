import { afterAll, beforeAll, expect, it } from 'vitest';
import { createWorkflow, startTestApp, type TestApp } from './helpers/app.js';
import { eventually } from './helpers/loopback.js';
import { createTestSchema, describeWithPostgres, type TestSchema } from './helpers/postgres.js';

/**
 * Stats come from the database, not from the node asked: two nodes share one PostgreSQL schema,
 * each takes part of the traffic, and both answer the same totals.
 */
await describeWithPostgres('stats across two nodes on PostgreSQL', () => {
  let schema: TestSchema;
  let nodes: TestApp[] = [];

  beforeAll(async () => {
    schema = await createTestSchema();
    const shared = { DATABASE_URL: schema.connectionString, HOOKFLOW_MASTER_KEY: Buffer.alloc(32, 9).toString('base64'), HOOKFLOW_WORKER_CONCURRENCY: '0', HOOKFLOW_STATS_FLUSH_MS: '100' };
    nodes = [await startTestApp({ env: shared }), await startTestApp({ env: shared })];
  });
  afterAll(async () => {
    for (const node of nodes) await node.stop();
    await schema?.drop();
  });

  it('any node answers the stats of calls every node took', async () => {
    const [a, b] = nodes as [TestApp, TestApp];
    const { workspaceId, workflowId } = await createWorkflow(a, { id: 'shared', name: 'shared', trigger: { type: 'webhook', sharedKey: 'shared-key-0123456789' } });
    const send = async (node: TestApp, key: string) => {
      const response = await fetch(`${node.url}/api/webhook/${workspaceId}/${workflowId}`, { method: 'POST', headers: { 'x-webhook-key': key, 'content-type': 'application/json' }, body: '{}' });
      await response.arrayBuffer();
      return response.status;
    };
    const statuses = [await send(a, 'shared-key-0123456789'), await send(a, 'shared-key-0123456789'), await send(a, 'wrong-key-0000000000'), await send(b, 'shared-key-0123456789')];
    expect(statuses).toStrictEqual([200, 200, 401, 200]);
    for (const node of nodes) {
      const stats = await eventually(async () => {
        const answer = await node.api('GET', `/api/workspaces/${workspaceId}/workflows/${workflowId}/stats`);
        return answer.body.webhooks?.total === 4 ? answer.body : undefined;
      });
      expect(stats.webhooks.byOutcome).toStrictEqual({ accepted: 3, invalid_key: 1 });
      expect(stats.errorRate).toBe(0.25);
      expect(stats.runs.byStatus.queued).toBe(3);
    }
  });
});
