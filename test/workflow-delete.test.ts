import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { eventually, startLoopbackServer } from './helpers/loopback.js';

/**
 * Deleted means gone: deleting a workflow removes its runs, events, stats and secrets, and a new
 * workflow created under the same id starts with none of them, at version 1. Real server, real
 * worker, a loopback API the runs call.
 */
let test: TestApp;
let api: Awaited<ReturnType<typeof startLoopbackServer>>;
const WS = 'ws-reborn';

beforeAll(async () => {
  api = await startLoopbackServer((_request, response) => response.end('ok'));
  test = await startTestApp({ env: { HOOKFLOW_WORKER_CONCURRENCY: '2', HOOKFLOW_EGRESS_ALLOWLIST: '127.0.0.0/8' } });
  expect((await test.api('POST', '/api/workspaces', { id: WS, name: 'Shop' })).status).toBe(201);
});
afterAll(async () => {
  await test?.stop();
  await api?.close();
});

const definition = (name: string, sharedKey: string) => ({
  id: 'orders', name, trigger: { type: 'webhook', sharedKey, bodyMemory: 'order' },
  steps: [{ id: 'notify', type: 'http', method: 'POST', url: `${api.url}/notify`, body: '{{order}}' }],
});

async function deliver(sharedKey: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${test.url}/api/webhook/${WS}/orders?key=${sharedKey}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

describe('deleting a workflow', () => {
  it('a workflow re-created under a deleted id shows no old runs, events or stats, and starts at version 1', async () => {
    expect((await test.api('POST', `/api/workspaces/${WS}/workflows`, definition('Orders', 'old-shared-key-1'))).status).toBe(201);
    expect((await test.api('PUT', `/api/workspaces/${WS}/workflows/orders`, definition('Orders v2', 'old-shared-key-1'))).status).toBe(200);
    const first = await deliver('old-shared-key-1', { order: 1 }, { 'idempotency-key': 'delivery-1' });
    expect(first.status).toBe(200);
    const { run_id: oldRun } = (await first.json()) as { run_id: string };
    await eventually(async () => ((await test.api('GET', `/api/workspaces/${WS}/runs/${oldRun}`)).body.status === 'succeeded' ? true : undefined));
    expect((await deliver('wrong-key-000', { order: 2 })).status).toBe(401);

    expect((await test.api('DELETE', `/api/workspaces/${WS}/workflows/orders`)).status).toBe(204);
    expect((await test.api('GET', `/api/workspaces/${WS}/runs/${oldRun}`)).status).toBe(404);

    const reborn = await test.api('POST', `/api/workspaces/${WS}/workflows`, definition('Orders again', 'new-shared-key-2'));
    expect(reborn.status).toBe(201);
    expect(reborn.body).toMatchObject({ id: 'orders', version: 1, name: 'Orders again' });
    expect((await test.api('GET', `/api/workspaces/${WS}/workflows/orders/runs`)).body.items).toEqual([]);
    expect((await test.api('GET', `/api/workspaces/${WS}/workflows/orders/events`)).body.items).toEqual([]);
    expect((await test.api('GET', `/api/workspaces/${WS}/runs/${oldRun}`)).status).toBe(404);
    const stats = await test.api('GET', `/api/workspaces/${WS}/workflows/orders/stats`);
    expect(stats.status).toBe(200);
    expect(JSON.stringify(stats.body)).not.toMatch(/"(accepted|unauthorized|succeeded|total)":[1-9]/);
    // The old key is gone with the old workflow; the old delivery id no longer counts as a repeat.
    expect((await deliver('old-shared-key-1', { order: 3 })).status).toBe(401);
    const again = await deliver('new-shared-key-2', { order: 1 }, { 'idempotency-key': 'delivery-1' });
    expect(await again.json()).toMatchObject({ status: 'accepted', workflow_started: true });
  });

  it('takes its stored test runs and its alert rules (with their state and history) with it', async () => {
    const sharedKey = 'tested-shared-key-3';
    const wf = { ...definition('Tested', sharedKey), id: 'tested' };
    expect((await test.api('POST', `/api/workspaces/${WS}/workflows`, wf)).status).toBe(201);
    const testRun = await test.api('POST', `/api/workspaces/${WS}/workflows/tested/test-runs`, { mode: 'mock', event: { headers: {}, body: { order: 1 } } });
    expect(testRun.status).toBe(200);
    expect((await test.api('GET', `/api/workspaces/${WS}/workflows/tested/test-runs`)).body.items).toHaveLength(1);
    const rule = await test.api('POST', `/api/workspaces/${WS}/alert-rules`, { name: 'tested failing', kind: 'run_failure_rate', workflowId: 'tested' });
    expect(rule.status).toBe(201);
    await test.app.alerts.pass();

    expect((await test.api('DELETE', `/api/workspaces/${WS}/workflows/tested`)).status).toBe(204);
    expect((await test.api('POST', `/api/workspaces/${WS}/workflows`, wf)).status).toBe(201);
    expect((await test.api('GET', `/api/workspaces/${WS}/workflows/tested/test-runs`)).body.items).toEqual([]);
    expect((await test.api('GET', `/api/workspaces/${WS}/test-runs/${testRun.body.id as string}`)).status).toBe(404);
    expect((await test.api('GET', `/api/workspaces/${WS}/alert-rules/${rule.body.id as string}`)).status).toBe(404);
    const alerts = await test.api('GET', `/api/workspaces/${WS}/alerts`);
    expect(JSON.stringify(alerts.body)).not.toContain(rule.body.id as string);
  });
});
