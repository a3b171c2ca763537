import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkflow, startTestApp, type TestApp } from './helpers/app.js';
import { eventually, startLoopbackServer } from './helpers/loopback.js';
import { createTestSchema, describeWithPostgres, type TestSchema } from './helpers/postgres.js';

/**
 * Per-key ordering (`concurrency: {key, limit}`) and `maxConcurrentRuns`, enforced by the
 * store's claim: real servers, real workers (8 on SQLite; 4 + 4 on two nodes sharing one
 * PostgreSQL), a loopback API that records which key and sequence number each call carries and
 * how many calls of a key it is serving at once. Every order and overlap is checked twice: as the
 * API saw it, and from the runs' stored start and finish times.
 */

type Loopback = Awaited<ReturnType<typeof startLoopbackServer>>;

/** What the loopback API saw: per key, the sequence numbers in arrival order and the most calls at once. */
class Receiver {
  readonly seen = new Map<string, number[]>();
  readonly maxInFlight = new Map<string, number>();
  private readonly inFlight = new Map<string, number>();
  /** Calls of `poison…` keys, held open until the test answers them. */
  readonly held: ServerResponse[] = [];
  server!: Loopback;

  async start(): Promise<void> {
    this.server = await startLoopbackServer((request, response, index) => {
      const { key, seq } = JSON.parse(request.body) as { key: string; seq: number };
      this.seen.set(key, [...(this.seen.get(key) ?? []), seq]);
      if (key.startsWith('poison')) {
        this.held.push(response);
        return;
      }
      const now = (this.inFlight.get(key) ?? 0) + 1;
      this.inFlight.set(key, now);
      this.maxInFlight.set(key, Math.max(now, this.maxInFlight.get(key) ?? 0));
      // Answer on a later turn (every few calls a few ms later), so runs of one key would overlap if the claim let them.
      setTimeout(() => {
        this.inFlight.set(key, (this.inFlight.get(key) ?? 1) - 1);
        response.setHeader('content-type', 'application/json');
        response.end('{"ok":true}');
      }, index % 3);
    });
  }
}

function orderedDefinition(url: string, extra: Record<string, unknown> = {}) {
  return {
    name: 'order updates', maxAttempts: 1,
    trigger: { type: 'webhook', bodyMemory: 'orderData' },
    concurrency: { key: 'orderData.order_id', limit: 1 },
    steps: [{ id: 'sync', type: 'http', method: 'POST', url: `${url}/orders`, body: { key: '{{orderData.order_id}}', seq: '{{orderData.seq}}' }, timeoutMs: 60_000 }],
    ...extra,
  };
}

async function post(url: string, body: unknown): Promise<string> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(response.status).toBe(200);
  return ((await response.json()) as { run_id: string }).run_id;
}

/** Sends `perKey` webhooks for each key: the keys at once, each key's in sequence (so arrival order is known). */
async function sendOrdered(webhookUrls: string[], keys: string[], perKey: number): Promise<Map<string, string[]>> {
  const runIds = new Map<string, string[]>();
  await Promise.all(keys.map(async (key, k) => {
    const ids: string[] = [];
    for (let seq = 0; seq < perKey; seq++) ids.push(await post(webhookUrls[(k + seq) % webhookUrls.length] as string, { order_id: key, seq }));
    runIds.set(key, ids);
  }));
  return runIds;
}

interface StoredRun { id: string; status: string; startedAt: string; finishedAt: string; concurrencyKey?: string }

async function allRuns(app: TestApp, workspaceId: string, workflowId: string): Promise<StoredRun[]> {
  const runs: StoredRun[] = [];
  let cursor: string | null = null;
  do {
    const page = await app.api('GET', `/api/workspaces/${workspaceId}/workflows/${workflowId}/runs?limit=200${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
    expect(page.status).toBe(200);
    runs.push(...(page.body.items as StoredRun[]));
    cursor = page.body.nextCursor as string | null;
  } while (cursor !== null);
  return runs;
}

/** For every key: the API saw its runs in arrival order, one at a time; the stored times never overlap. */
async function expectOrdered(app: TestApp, workspaceId: string, workflowId: string, receiver: Receiver, sent: Map<string, string[]>, perKey: number) {
  const runs = await eventually(async () => {
    const list = await allRuns(app, workspaceId, workflowId);
    return list.length === sent.size * perKey && list.every((run) => run.status === 'succeeded') ? list : undefined;
  }, 60_000);
  const byId = new Map(runs.map((run) => [run.id, run]));
  for (const [key, ids] of sent) {
    expect(receiver.seen.get(key)).toStrictEqual(Array.from({ length: perKey }, (_, seq) => seq));
    expect(receiver.maxInFlight.get(key)).toBe(1);
    const stored = ids.map((id) => byId.get(id) as StoredRun);
    for (const run of stored) expect(run.concurrencyKey).toBe(key);
    for (let i = 1; i < stored.length; i++) {
      const previous = stored[i - 1] as StoredRun;
      const run = stored[i] as StoredRun;
      expect(Date.parse(run.startedAt)).toBeGreaterThanOrEqual(Date.parse(previous.finishedAt));
    }
  }
}

const KEYS = Array.from({ length: 20 }, (_, i) => `order-${i}`);
const PER_KEY = 10;

describe('per-key ordering on SQLite (8 workers)', () => {
  let app: TestApp;
  const receiver = new Receiver();

  beforeAll(async () => {
    await receiver.start();
    app = await startTestApp({ env: { HOOKFLOW_WORKER_CONCURRENCY: '8', HOOKFLOW_EGRESS_ALLOWLIST: '127.0.0.0/8' } });
  });
  afterAll(async () => {
    for (const response of receiver.held) response.destroy();
    await app?.stop();
    await receiver.server?.close();
  });

  it('runs each key one at a time in arrival order, keys in parallel', async () => {
    const { workspaceId, workflowId, webhookUrl } = await createWorkflow(app, orderedDefinition(receiver.server.url));
    const sent = await sendOrdered([webhookUrl], KEYS, PER_KEY);
    await expectOrdered(app, workspaceId, workflowId, receiver, sent, PER_KEY);
    // Keys did run side by side: with one key at a time overall, no two keys would ever be in flight together.
    expect(new Set(receiver.seen.keys()).size).toBe(KEYS.length);
  });

  it('a run stuck on its key holds only that key; dead-lettering it lets the next one go', async () => {
    // The API keeps the poisoned order's calls waiting until the test answers them.
    const { workspaceId, webhookUrl } = await createWorkflow(app, orderedDefinition(receiver.server.url));
    const head = await post(webhookUrl, { order_id: 'poison', seq: 0 });
    await eventually(async () => (receiver.held.length === 1 ? true : undefined));
    const next = await post(webhookUrl, { order_id: 'poison', seq: 1 });
    const others = await sendOrdered([webhookUrl], ['calm-1', 'calm-2', 'calm-3'], 5);
    for (const ids of others.values()) {
      for (const id of ids) await eventually(async () => ((await app.api('GET', `/api/workspaces/${workspaceId}/runs/${id}`)).body.status === 'succeeded' ? true : undefined));
    }
    const waiting = await app.api('GET', `/api/workspaces/${workspaceId}/runs/${next}`);
    expect(waiting.body).toMatchObject({ status: 'queued', concurrencyKey: 'poison', attempts: 0 });
    expect(receiver.seen.get('poison')).toStrictEqual([0]);

    // The API gives up on the head: a permanent 400 dead-letters it (maxAttempts 1), and its follower runs.
    const response = receiver.held.pop() as ServerResponse;
    response.statusCode = 400;
    response.end('no');
    const dead = await eventually(async () => {
      const run = await app.api('GET', `/api/workspaces/${workspaceId}/runs/${head}`);
      return run.body.status === 'failed' ? run.body : undefined;
    });
    expect(dead.error).toContain('400');
    // The follower is held as well (same key): it was called only after the head was dead.
    await eventually(async () => (receiver.held.length === 1 ? true : undefined));
    expect(receiver.seen.get('poison')).toStrictEqual([0, 1]);
    expect((await app.api('GET', `/api/workspaces/${workspaceId}/runs/${next}`)).body.status).toBe('running');
  });

  it('maxConcurrentRuns caps a workflow\'s runs in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const slow = await startLoopbackServer((_request, response) => {
      inFlight++;
      most = Math.max(most, inFlight);
      setTimeout(() => {
        inFlight--;
        response.end('ok');
      }, 5);
    });
    try {
      const { workspaceId, workflowId, webhookUrl } = await createWorkflow(app, {
        name: 'slow downstream', maxConcurrentRuns: 2,
        trigger: { type: 'webhook', bodyMemory: 'body' },
        steps: [{ id: 'call', type: 'http', method: 'POST', url: `${slow.url}/x`, body: '{{body}}' }],
      });
      await Promise.all(Array.from({ length: 24 }, (_, i) => post(webhookUrl, { i })));
      await eventually(async () => {
        const runs = await allRuns(app, workspaceId, workflowId);
        return runs.length === 24 && runs.every((run) => run.status === 'succeeded') ? true : undefined;
      }, 60_000);
      expect(most).toBe(2);
    } finally {
      await slow.close();
    }
  });

  it('refuses a key expression over variables a run does not start with', async () => {
    const ws = await app.api('POST', '/api/workspaces', { id: 'ws-bad-key', name: 'w' });
    expect(ws.status).toBe(201);
    const created = await app.api('POST', '/api/workspaces/ws-bad-key/workflows', {
      ...orderedDefinition(receiver.server.url), concurrency: { key: 'order.order_id', limit: 1 },
    });
    expect(created.status).toBe(400);
    expect(JSON.stringify(created.body)).toContain('concurrency.key');
  });
});

await describeWithPostgres('per-key ordering across two nodes on PostgreSQL (4 + 4 workers)', () => {
  let schema: TestSchema;
  const nodes: TestApp[] = [];
  const receiver = new Receiver();
  let shared: Record<string, string>;

  beforeAll(async () => {
    schema = await createTestSchema();
    await receiver.start();
    shared = { DATABASE_URL: schema.connectionString, HOOKFLOW_MASTER_KEY: Buffer.alloc(32, 9).toString('base64'), HOOKFLOW_EGRESS_ALLOWLIST: '127.0.0.0/8' };
  });
  afterAll(async () => {
    for (const node of nodes) await node.stop();
    await receiver.server?.close();
    await schema?.drop();
  });

  it('runs each key one at a time in arrival order, whichever node took the webhook or runs it', async () => {
    // Two nodes take the webhooks; two others, started once every key has its whole backlog
    // queued, run them: all ten runs of every key are due at once, on eight workers.
    const intake = [await startTestApp({ env: shared }), await startTestApp({ env: shared })];
    nodes.push(...intake);
    const { workspaceId, workflowId, webhookUrl } = await createWorkflow(intake[0] as TestApp, orderedDefinition(receiver.server.url));
    const sent = await sendOrdered([webhookUrl, webhookUrl.replace((intake[0] as TestApp).url, (intake[1] as TestApp).url)], KEYS, PER_KEY);
    expect(receiver.seen.size).toBe(0);
    for (let i = 0; i < 2; i++) nodes.push(await startTestApp({ env: { ...shared, HOOKFLOW_WORKER_CONCURRENCY: '4' } }));
    await expectOrdered(intake[0] as TestApp, workspaceId, workflowId, receiver, sent, PER_KEY);
  });
});
