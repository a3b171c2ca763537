import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';

/**
 * Rate limits shared by every node through Redis (REDIS_URL): two nodes, each with its own SQLite
 * but the same workspace, workflow and key, draw from one bucket. The machines run Redis at
 * 127.0.0.1:6379 (HOOKFLOW_TEST_REDIS_URL overrides); without one the shared cases are skipped.
 */
const REDIS_URL = process.env['HOOKFLOW_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const KEY = 'shared-limit-key-0001';

const redisUp = await new Promise<boolean>((resolve) => {
  const { hostname, port } = new URL(REDIS_URL);
  const socket = connect(Number(port || 6379), hostname);
  socket.setTimeout(1000);
  socket.once('connect', () => { socket.destroy(); resolve(true); });
  socket.once('error', () => resolve(false));
  socket.once('timeout', () => { socket.destroy(); resolve(false); });
});
if (!redisUp) console.warn(`Redis not reachable at ${REDIS_URL}; skipping the shared rate-limit tests`);

const apps: TestApp[] = [];
afterAll(async () => {
  for (const app of apps) await app.stop();
});

/** A node with the workflow `ws/limited` (5 per minute); every node gets the same ids and key. */
async function nodeWith(ws: string, env: Record<string, string> = {}): Promise<TestApp> {
  const app = await startTestApp({ env });
  apps.push(app);
  expect((await app.api('POST', '/api/workspaces', { id: ws, name: 'Limits' })).status).toBe(201);
  const created = await app.api('POST', `/api/workspaces/${ws}/workflows`, { id: 'limited', name: 'Limited', trigger: { type: 'webhook', sharedKey: KEY, rateLimit: { perMinute: 5 } } });
  expect(created.status).toBe(201);
  return app;
}

async function alternate(nodes: TestApp[], ws: string, calls: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < calls; i++) {
    const node = nodes[i % nodes.length] as TestApp;
    const response = await fetch(`${node.url}/api/webhook/${ws}/limited?key=${KEY}`, { method: 'POST', body: '{}' });
    if (response.status === 429) expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    statuses.push(response.status);
  }
  return statuses;
}

describe.skipIf(!redisUp)('rate limits shared through Redis', () => {
  it('a limit of 5/min behind two nodes admits 5, not 10', async () => {
    const ws = `rl-${randomBytes(4).toString('hex')}`;
    const nodes = [await nodeWith(ws, { REDIS_URL }), await nodeWith(ws, { REDIS_URL })];
    const statuses = await alternate(nodes, ws, 10);
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(5);
  });
});

describe('rate limits without shared buckets', () => {
  it('without REDIS_URL each node has its own bucket: two nodes admit 5 each', async () => {
    const ws = `rl-${randomBytes(4).toString('hex')}`;
    const nodes = [await nodeWith(ws), await nodeWith(ws)];
    expect((await alternate(nodes, ws, 10)).filter((s) => s === 200)).toHaveLength(10);
  });

  it('with Redis unreachable, a node falls back to its own bucket and warns: webhooks are neither refused nor stalled', async () => {
    const ws = `rl-${randomBytes(4).toString('hex')}`;
    // A loopback port nothing listens on.
    const node = await nodeWith(ws, { REDIS_URL: 'redis://127.0.0.1:1' });
    const statuses = await alternate([node], ws, 6);
    expect(statuses).toStrictEqual([200, 200, 200, 200, 200, 429]);
    expect(node.logs()).toMatch(/rate limits are per node until it does|limits are per node/);
  });
});
