import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { eventually, startLoopbackServer } from './helpers/loopback.js';
import { createTestSchema, describeWithPostgres, type TestSchema } from './helpers/postgres.js';

/**
 * Stored test runs on the real server (real SQLite file): every test run is kept apart from the
 * runs, listed and read back as it was answered, never among the runs or in stats or metrics,
 * bounded per workflow by HOOKFLOW_TEST_RUNS_KEPT, and readable by a viewer. The secret a live
 * test run sends (and the called server echoes) is in no stored byte.
 */
const SECRET = 'stored-test-run-secret-4b7c';
const KEPT = 3;
let app: TestApp;
let echo: Awaited<ReturnType<typeof startLoopbackServer>>;
let webhookUrl: string;
const base = '/api/workspaces/lab/workflows/orders';

beforeAll(async () => {
  // Echoes the authorization header it got: the stored output must still not hold the secret.
  echo = await startLoopbackServer((request, response) => {
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ total: JSON.parse(request.body || '{}').total ?? 0, seen: request.headers.authorization }));
  });
  app = await startTestApp({ env: { HOOKFLOW_WORKER_CONCURRENCY: '1', HOOKFLOW_EGRESS_ALLOWLIST: '127.0.0.0/8', HOOKFLOW_TEST_RUNS_KEPT: String(KEPT) } });
  expect((await app.api('POST', '/api/workspaces', { id: 'lab', name: 'Lab' })).status).toBe(201);
  expect((await app.api('PUT', '/api/workspaces/lab/secrets/TOKEN', { value: SECRET })).status).toBe(201);
  const created = await app.api('POST', '/api/workspaces/lab/workflows', {
    id: 'orders', name: 'orders', maxAttempts: 1,
    trigger: { type: 'webhook', bodyMemory: 'order' },
    steps: [
      { id: 'lookup', type: 'http', method: 'POST', url: `${echo.url}/lookup`, headers: { authorization: 'Bearer {{secrets.TOKEN}}' }, body: '{{order}}', output: 'lookup' },
      { id: 'decide', type: 'script', output: 'decision', code: 'return memory.load("lookup").body.total > 100 ? "review" : "ship";' },
    ],
  });
  expect(created.status).toBe(201);
  webhookUrl = created.body.webhookUrl;
});

afterAll(async () => {
  await app.stop();
  await echo.close();
});

async function metricsOfRuns(): Promise<string[]> {
  const text = await (await fetch(`${app.url}/metrics`)).text();
  return text.split('\n').filter((line) => /^hookflow_(runs_finished_total|steps_total)\b/.test(line));
}

describe('stored test runs', () => {
  it('are listed newest first and read back as answered, and never count among runs, in stats or in metrics', async () => {
    const accepted = await (await fetch(webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"total":80}' })).json() as { run_id: string };
    const run = await eventually(async () => {
      const read = await app.api('GET', `/api/workspaces/lab/runs/${accepted.run_id}`);
      return read.body.status === 'succeeded' ? read.body : undefined;
    });
    const metricsBefore = await metricsOfRuns();
    expect(metricsBefore.length).toBeGreaterThan(0);

    const live = await app.api('POST', `${base}/test-runs`, { mode: 'live', event: { eventId: run.eventId } });
    expect(live.status).toBe(200);
    expect(live.body).toMatchObject({ kind: 'single', mode: 'live', status: 'succeeded', eventId: run.eventId, createdAt: expect.any(String) });
    const draft = await app.api('POST', `${base}/test-runs`, { mode: 'mock', event: { eventId: run.eventId }, baselineRunId: run.id });
    expect(draft.body.steps.map((step: { diff: { changed: boolean } }) => step.diff.changed)).toStrictEqual([false, false]);

    const list = await app.api('GET', `${base}/test-runs`);
    expect(list.status).toBe(200);
    expect(list.body).toStrictEqual({
      items: [
        { id: draft.body.id, kind: 'single', mode: 'mock', workflowId: 'orders', status: 'succeeded', eventId: run.eventId, baselineRunId: run.id, createdAt: draft.body.createdAt },
        { id: live.body.id, kind: 'single', mode: 'live', workflowId: 'orders', status: 'succeeded', eventId: run.eventId, baselineRunId: null, createdAt: live.body.createdAt },
      ],
      nextCursor: null,
    });
    const page = await app.api('GET', `${base}/test-runs?limit=1`);
    expect(page.body.items.map((item: { id: string }) => item.id)).toStrictEqual([draft.body.id]);
    expect((await app.api('GET', `${base}/test-runs?limit=1&cursor=${encodeURIComponent(page.body.nextCursor)}`)).body.items[0].id).toBe(live.body.id);
    for (const answer of [live, draft]) {
      const stored = await app.api('GET', `/api/workspaces/lab/test-runs/${answer.body.id}`);
      expect(stored.status).toBe(200);
      expect(stored.body).toStrictEqual(answer.body);
    }

    // Only the production run counts.
    expect((await app.api('GET', `${base}/runs`)).body.items).toHaveLength(1);
    const stats = await app.api('GET', `${base}/stats`);
    expect(stats.body.runs.total).toBe(1);
    expect(await metricsOfRuns()).toStrictEqual(metricsBefore);

    // The live test run sent the secret and the server echoed it: redacted in the answer, and in no stored byte.
    expect(echo.received.at(-1)?.headers.authorization).toBe(`Bearer ${SECRET}`);
    expect(live.body.steps[0].output.body.seen).toBe('Bearer [secret:TOKEN]');
    for (const file of readdirSync(app.dataDir).filter((name) => name.startsWith('hookflow.db'))) {
      expect(readFileSync(join(app.dataDir, file)).includes(SECRET), file).toBe(false);
    }
  });

  it('stores the batch form too, keeps only the newest HOOKFLOW_TEST_RUNS_KEPT per workflow, and answers 404 for unknown ones', async () => {
    const inline = () => app.api('POST', `${base}/test-runs`, { mode: 'mock', event: { body: { total: 500 } }, stubs: { lookup: { status: 200, body: { total: 500 } } } });
    const first = await inline();
    expect(first.body.status).toBe('succeeded');
    const batch = await app.api('POST', `${base}/test-runs`, { mode: 'mock', batch: { lastEvents: 10 } });
    expect(batch.body).toMatchObject({ kind: 'batch', mode: 'mock', status: 'succeeded', events: 1, id: expect.stringMatching(/^test_/) });
    expect((await app.api('GET', `/api/workspaces/lab/test-runs/${batch.body.id}`)).body).toStrictEqual(batch.body);
    const rest = [await inline(), await inline()];

    const kept = await app.api('GET', `${base}/test-runs`);
    expect(kept.body.items.map((item: { id: string }) => item.id)).toStrictEqual([rest[1]?.body.id, rest[0]?.body.id, batch.body.id]);
    expect(kept.body.items[2]).toMatchObject({ kind: 'batch', eventId: null, baselineRunId: null });
    expect((await app.api('GET', `/api/workspaces/lab/test-runs/${first.body.id}`)).status).toBe(404);
    expect((await app.api('GET', '/api/workspaces/lab/test-runs/test_nope')).status).toBe(404);
    expect((await app.api('GET', '/api/workspaces/lab/workflows/nope/test-runs')).status).toBe(404);
  });

  it('a viewer reads stored test runs but cannot start one', async () => {
    const created = await app.api('POST', '/api/tokens', { name: 'console', role: 'viewer', workspaceId: 'lab' });
    expect(created.status).toBe(201);
    const as = (method: string, path: string, body?: unknown) => fetch(`${app.url}${path}`, {
      method, headers: { authorization: `Bearer ${created.body.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const list = await as('GET', `${base}/test-runs`);
    expect(list.status).toBe(200);
    const [newest] = ((await list.json()) as { items: { id: string }[] }).items;
    expect((await as('GET', `/api/workspaces/lab/test-runs/${newest?.id}`)).status).toBe(200);
    expect((await as('POST', `${base}/test-runs`, { mode: 'mock', event: { body: {} } })).status).toBe(403);
  });
});

await describeWithPostgres('stored test runs on PostgreSQL', () => {
  let schema: TestSchema;
  let nodes: TestApp[] = [];

  beforeAll(async () => {
    schema = await createTestSchema();
    const shared = { DATABASE_URL: schema.connectionString, HOOKFLOW_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'), HOOKFLOW_WORKER_CONCURRENCY: '0', HOOKFLOW_TEST_RUNS_KEPT: '2' };
    nodes = [await startTestApp({ env: shared }), await startTestApp({ env: shared })];
  });
  afterAll(async () => {
    for (const node of nodes) await node.stop();
    await schema?.drop();
  });

  it('a test run made on one node is listed and read on another, the newest HOOKFLOW_TEST_RUNS_KEPT kept', async () => {
    const [a, b] = nodes as [TestApp, TestApp];
    expect((await a.api('POST', '/api/workspaces', { id: 'pg', name: 'PG' })).status).toBe(201);
    const created = await a.api('POST', '/api/workspaces/pg/workflows', {
      id: 'tried', name: 'tried', trigger: { type: 'webhook', bodyMemory: 'order' },
      steps: [{ id: 'decide', type: 'script', output: 'decision', code: 'return memory.load("order").total > 100 ? "review" : "ship";' }],
    });
    expect(created.status).toBe(201);
    const answers = [];
    for (const total of [5, 500, 50]) answers.push((await a.api('POST', '/api/workspaces/pg/workflows/tried/test-runs', { mode: 'mock', event: { body: { total } } })).body);
    expect(answers.map((answer) => answer.steps[0].output)).toStrictEqual(['ship', 'review', 'ship']);

    const list = await b.api('GET', '/api/workspaces/pg/workflows/tried/test-runs');
    expect(list.body.items.map((item: { id: string }) => item.id)).toStrictEqual([answers[2].id, answers[1].id]);
    expect((await b.api('GET', `/api/workspaces/pg/test-runs/${answers[1].id}`)).body).toStrictEqual(answers[1]);
    expect((await b.api('GET', `/api/workspaces/pg/test-runs/${answers[0].id}`)).status).toBe(404);
    expect((await b.api('GET', '/api/workspaces/pg/workflows/tried/runs')).body.items).toEqual([]);
  });
});
