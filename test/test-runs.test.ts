import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { eventually, startLoopbackServer } from './helpers/loopback.js';

/**
 * Test runs on the real server: mock mode replays recorded outputs and sends nothing (the
 * loopback fake counts every request), a draft definition is diffed step by step against a
 * production run, the batch form names the steps a change affects, live mode really calls,
 * and none of it shows among the workflow's runs or in its stats.
 */
let app: TestApp;
let shop: Awaited<ReturnType<typeof startLoopbackServer>>;
let webhookUrl: string;

const definition = () => ({
  id: 'orders', name: 'orders', maxAttempts: 1,
  trigger: { type: 'webhook', bodyMemory: 'order' },
  steps: [
    { id: 'lookup', type: 'http', method: 'POST', url: `${shop.url}/lookup`, headers: { authorization: 'Bearer {{secrets.SHOP}}' }, body: '{{order}}', output: 'lookup' },
    { id: 'decide', type: 'script', output: 'decision', code: 'return memory.load("lookup").body.total > 100 ? "review" : "ship";' },
    { id: 'notify', type: 'http', method: 'POST', url: `${shop.url}/notify`, body: { decision: '{{decision}}' }, output: 'notified' },
  ],
});
/** The change under test: the review threshold moves from 100 to 50. */
const draft = () => {
  const changed = definition();
  changed.steps[1] = { ...changed.steps[1], code: 'return memory.load("lookup").body.total > 50 ? "review" : "ship";' } as (typeof changed.steps)[number];
  return changed;
};

async function production(total: number): Promise<string> {
  const response = await fetch(webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ total }) });
  const { run_id: runId } = (await response.json()) as { run_id: string };
  await eventually(async () => {
    const run = await app.api('GET', `/api/workspaces/shop/runs/${runId}`);
    return run.body.status === 'succeeded' ? true : undefined;
  });
  return runId;
}

beforeAll(async () => {
  shop = await startLoopbackServer((request, response) => {
    response.setHeader('content-type', 'application/json');
    response.setHeader('x-seen', String(request.headers.authorization));
    response.end(request.url === '/lookup' ? request.body : '{"ok":true}');
  });
  app = await startTestApp({ env: { HOOKFLOW_WORKER_CONCURRENCY: '1', HOOKFLOW_EGRESS_ALLOWLIST: '127.0.0.0/8' } });
  expect((await app.api('POST', '/api/workspaces', { id: 'shop', name: 'Shop' })).status).toBe(201);
  expect((await app.api('PUT', '/api/workspaces/shop/secrets/SHOP', { value: 'shop-token-5e1d9a' })).status).toBe(201);
  const created = await app.api('POST', '/api/workspaces/shop/workflows', definition());
  expect(created.status).toBe(201);
  webhookUrl = created.body.webhookUrl;
});

afterAll(async () => {
  await app.stop();
  await shop.close();
});

describe('test runs', () => {
  it('mock mode replays a baseline run, sends nothing, and diffs a draft step by step', async () => {
    const runId = await production(80);
    const run = await app.api('GET', `/api/workspaces/shop/runs/${runId}`);
    const sentBefore = shop.received.length;
    const runsBefore = (await app.api('GET', '/api/workspaces/shop/workflows/orders/runs')).body.items.length;

    const answer = await app.api('POST', '/api/workspaces/shop/workflows/orders/test-runs', {
      mode: 'mock', event: { eventId: run.body.eventId }, baselineRunId: runId, definition: draft(),
    });
    expect(answer.status).toBe(200);
    expect(shop.received.length).toBe(sentBefore);
    expect(answer.body.status).toBe('succeeded');
    const [lookup, decide, notify] = answer.body.steps;
    expect(lookup).toMatchObject({ id: 'lookup', status: 'succeeded', diff: { changed: false, fields: [] } });
    // The rendered input shows the secret by name, never its value.
    expect(lookup.input).toMatchObject({ method: 'POST', headers: { authorization: 'Bearer [secret:SHOP]' }, body: { total: 80 } });
    expect(decide).toMatchObject({ status: 'succeeded', output: 'review', diff: { changed: true, fields: ['output'], baseline: { status: 'succeeded', output: 'ship' } } });
    expect(notify.input.body).toStrictEqual({ decision: 'review' });
    expect(notify.diff.changed).toBe(false);
    expect(JSON.stringify(answer.body)).not.toContain('shop-token-5e1d9a');

    // Not a production run: the runs list and the stats are unchanged.
    expect((await app.api('GET', '/api/workspaces/shop/workflows/orders/runs')).body.items.length).toBe(runsBefore);
    expect((await app.api('GET', '/api/workspaces/shop/workflows/orders/stats')).body.runs.total).toBe(runsBefore);
  });

  it('takes an inline event and stubs; without a recorded output a mocked step fails and later steps do not run', async () => {
    const sentBefore = shop.received.length;
    const stubbed = await app.api('POST', '/api/workspaces/shop/workflows/orders/test-runs', {
      mode: 'mock', event: { headers: { 'Content-Type': 'application/json' }, body: { total: 500 } }, stubs: { lookup: { status: 200, body: { total: 500 } }, notify: { status: 202 } },
    });
    expect(stubbed.status).toBe(200);
    expect(stubbed.body.steps.map((s: { output: unknown }) => s.output)).toStrictEqual([{ status: 200, body: { total: 500 } }, 'review', { status: 202 }]);
    expect(stubbed.body.steps[0]).not.toHaveProperty('diff');

    const unrecorded = await app.api('POST', '/api/workspaces/shop/workflows/orders/test-runs', { mode: 'mock', event: { body: { total: 1 } } });
    expect(unrecorded.body.status).toBe('failed');
    expect(unrecorded.body.steps.map((s: { status: string }) => s.status)).toStrictEqual(['failed', 'not_run', 'not_run']);
    expect(unrecorded.body.steps[0].error).toContain('no recorded output for step "lookup"');
    expect(shop.received.length).toBe(sentBefore);
  });

  it('refuses bad requests with 400 naming the field, and unknown events, runs and workflows with 404', async () => {
    const bad = [
      { mode: 'dry', event: { body: {} } },
      { mode: 'mock' },
      { mode: 'mock', event: { body: {} }, definition: { name: 'x', trigger: { type: 'webhook' }, steps: [{ id: 's', type: 'nope' }] } },
      { mode: 'live', batch: { lastEvents: 5 } },
      { mode: 'mock', batch: { lastEvents: 101 } },
    ];
    for (const body of bad) expect((await app.api('POST', '/api/workspaces/shop/workflows/orders/test-runs', body)).status, JSON.stringify(body)).toBe(400);
    // A draft is checked as a save checks it: a typo is the save's 400, each detail under `definition.`.
    const typo = definition();
    typo.steps[2] = { ...typo.steps[2], body: { decision: '{{decison}}' } } as (typeof typo.steps)[number];
    const refused = await app.api('POST', '/api/workspaces/shop/workflows/orders/test-runs', { mode: 'mock', event: { body: {} }, definition: typo });
    expect(refused.status).toBe(400);
    expect(refused.body.details).toHaveLength(1);
    expect(refused.body.details[0]).toMatch(/^definition\.steps\.2\.body\.decision .*"decison".*did you mean "decision"/);
    // Nested deeper than HOOKFLOW_MAX_JSON_DEPTH: a 400 naming the field, as for a webhook body or a saved definition.
    const deep = JSON.parse('['.repeat(100) + ']'.repeat(100)) as unknown;
    const tooDeep = [
      { mode: 'mock', event: { body: deep } },
      { mode: 'mock', event: { body: {} }, stubs: { lookup: deep } },
      { mode: 'mock', event: { body: {} }, definition: { ...definition(), steps: [{ id: 'x', type: 'http', method: 'POST', url: `${shop.url}/x`, body: deep }] } },
    ];
    for (const body of tooDeep) {
      const answer = await app.api('POST', '/api/workspaces/shop/workflows/orders/test-runs', body);
      expect(answer.status).toBe(400);
      expect(answer.body.details[0]).toMatch(/^(event\.body|stubs\.lookup|definition): nested deeper than 64 levels/);
    }
    expect((await app.api('POST', '/api/workspaces/shop/workflows/orders/test-runs', { mode: 'mock', event: { eventId: 'evt_nope' } })).status).toBe(404);
    expect((await app.api('POST', '/api/workspaces/shop/workflows/orders/test-runs', { mode: 'mock', event: { body: {} }, baselineRunId: 'run_nope' })).status).toBe(404);
    expect((await app.api('POST', '/api/workspaces/shop/workflows/nope/test-runs', { mode: 'mock', event: { body: {} } })).status).toBe(404);
  });

  it('the batch form over 50 stored events names exactly the steps a change affects, and sends nothing', async () => {
    // A workflow of its own, so exactly these 50 events are its newest.
    const created = await app.api('POST', '/api/workspaces/shop/workflows', { ...definition(), id: 'orders50', name: 'orders50' });
    expect(created.status).toBe(201);
    const totals = Array.from({ length: 50 }, (_, i) => i * 5);
    const accepted = await Promise.all(totals.map(async (total) =>
      (await fetch(created.body.webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ total }) })).status));
    expect(accepted).toStrictEqual(totals.map(() => 200));
    await eventually(async () => {
      const runs = await app.api('GET', '/api/workspaces/shop/workflows/orders50/runs?status=succeeded&limit=100');
      return runs.body.items.length === 50 ? true : undefined;
    }, 60_000);

    // The change: the threshold moves from 100 to 50, and `notify` now runs only for a review.
    const changed = { ...draft(), id: 'orders50', name: 'orders50' };
    const steps = changed.steps.map((step) => (step.id === 'notify' ? { ...step, if: 'decision == "review"' } : step));
    const sentBefore = shop.received.length;
    const answer = await app.api('POST', '/api/workspaces/shop/workflows/orders50/test-runs', { mode: 'mock', batch: { lastEvents: 50 }, definition: { ...changed, steps } });
    expect(answer.status).toBe(200);
    expect(shop.received.length).toBe(sentBefore);
    expect(answer.body).toMatchObject({ kind: 'batch', status: 'succeeded', events: 50 });
    // Totals 55..100 now go to review (10 events); totals 0..50 stay "ship", so `notify` is skipped (11 events).
    expect(answer.body.steps).toStrictEqual({
      decide: { outputChanged: 10, startedFailing: 0, skipped: 0, notRun: 0 },
      notify: { outputChanged: 0, startedFailing: 0, skipped: 11, notRun: 0 },
    });
    // One event of those, as a single test run: the skipped step shows its condition and sent nothing.
    const [shipped] = answer.body.items.filter((item: { skipped: string[] }) => item.skipped.length > 0);
    const single = await app.api('POST', '/api/workspaces/shop/workflows/orders50/test-runs', {
      mode: 'mock', event: { eventId: shipped.eventId }, baselineRunId: shipped.baselineRunId, definition: { ...changed, steps },
    });
    expect(single.body.steps[2]).toMatchObject({
      id: 'notify', status: 'skipped', input: null, output: null, condition: { expression: 'decision == "review"', value: false }, diff: { changed: true, fields: ['status', 'output'] },
    });

    const byTotal = new Map<number, { outputChanged: string[]; skipped: string[] }>();
    for (const item of answer.body.items) {
      const event = await app.api('GET', `/api/workspaces/shop/runs/${item.baselineRunId}`);
      byTotal.set(event.body.memory.order.total, item);
    }
    expect([...byTotal.keys()].sort((a, b) => a - b)).toStrictEqual(totals);
    for (const total of totals) {
      expect(byTotal.get(total), String(total)).toMatchObject({
        outputChanged: total > 50 && total <= 100 ? ['decide'] : [], skipped: total <= 50 ? ['notify'] : [], startedFailing: [], notRun: [],
      });
    }
  });

  it('a draft with a credential in clear is run, and answered with the save\'s warning', async () => {
    const leaky = definition();
    leaky.steps[0] = { ...leaky.steps[0], headers: { authorization: 'Bearer literal-token-123' } } as (typeof leaky.steps)[number];
    const answer = await app.api('POST', '/api/workspaces/shop/workflows/orders/test-runs', { mode: 'mock', event: { body: { total: 1 } }, stubs: { lookup: { body: { total: 1 } }, notify: {} }, definition: leaky });
    expect(answer.status).toBe(200);
    expect(answer.body.warnings).toEqual([expect.stringMatching(/^steps\.lookup\.headers\.authorization: looks like a literal credential/)]);
    expect(answer.body.status).toBe('succeeded');
  });

  it('live mode really runs every step', async () => {
    const sentBefore = shop.received.length;
    const answer = await app.api('POST', '/api/workspaces/shop/workflows/orders/test-runs', { mode: 'live', event: { body: { total: 5 } } });
    expect(answer.body.status).toBe('succeeded');
    expect(shop.received.length).toBe(sentBefore + 2);
    expect(shop.received[sentBefore]?.headers.authorization).toBe('Bearer shop-token-5e1d9a');
    expect(answer.body.steps[0].output.headers['x-seen']).toBe('Bearer [secret:SHOP]');
  });
});
